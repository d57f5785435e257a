/* SPDX-License-Identifier: MIT */
/* Checking one vstor packet from the guest (pure, for the VSP and the fuzzer). */
#ifndef STORVSP_VSTOR_H
#define STORVSP_VSTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <linhv/vstor_proto.h>

/* The versions we accept (Linux offers 6.2, 6.0, 5.1; older guests 4.2, 2.0). */
bool vstor_version_supported(uint16_t version);
/* Bytes of a vstor packet at version (0: not negotiated, the short form). */
uint32_t vstor_packet_size(uint16_t version);
uint16_t vstor_srb_size(uint16_t version);

/*
 * Copy the guest's packet (len bytes) into out, zero-filled, and check what
 * every later step relies on: a known operation, a size that fits, and for
 * EXECUTE_SRB an honest SRB length, a CDB length of 1-16 and a known
 * direction. 0, or -EINVAL with *why (the guest broke the protocol).
 */
int vstor_parse(const uint8_t *data, uint32_t len, uint16_t version, struct vstor_packet *out,
		const char **why);

#endif /* STORVSP_VSTOR_H */
