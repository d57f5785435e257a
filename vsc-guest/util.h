/* SPDX-License-Identifier: MIT */
/* Freestanding helpers: the library links against no libc. */
#ifndef VSC_UTIL_H
#define VSC_UTIL_H

#include <stddef.h>
#include <stdint.h>

static inline void vsc_memcpy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst; /* volatile: keep the compiler from calling memcpy */
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
}

static inline void vsc_memset(void *dst, int c, size_t n)
{
	volatile uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
}

static inline int vsc_memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

static inline uint32_t vsc_load32(const void *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static inline void vsc_store32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELEASE);
}

static inline void vsc_store16(void *p, uint16_t v)
{
	vsc_memcpy(p, &v, sizeof(v));
}

static inline void vsc_store64(void *p, uint64_t v)
{
	vsc_memcpy(p, &v, sizeof(v));
}

#endif /* VSC_UTIL_H */
