/* SPDX-License-Identifier: MIT */
/* Little-endian field access at byte offsets, for building and reading vPCI packets in tests. */
#ifndef TESTS_VPCI_WIRE_BYTES_H
#define TESTS_VPCI_WIRE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void w16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static inline void w32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void w64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline uint16_t r16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t r32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t r64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

#endif
