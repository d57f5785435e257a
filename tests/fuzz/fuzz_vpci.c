// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the vPCI message layer without I/O. Guest packets go
 * through vpci_parse() at each protocol version; what passes must hold the
 * invariants the VSP relies on. Device models built from the input go
 * through the builders, and the BAR sizes must come back out of the probe
 * values the way the guest driver reads them.
 *
 * Input: [mode/version selector][bytes]. Selector bit 7 set: the bytes
 * describe a device model; clear: they are one guest packet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vpci_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t versions[] = {0, VPCI_VERSION_1_1, VPCI_VERSION_1_2, VPCI_VERSION_1_3,
				    VPCI_VERSION_1_4};

static void check_request(const struct vpci_request *r)
{
	if (r->slot & VPCI_SLOT_RESERVED_MASK)
		abort();
	if (r->kind == VPCI_REQ_CREATE_INTERRUPT) {
		const struct vpci_interrupt *in = &r->u.interrupt;

		if (in->vector_count < 1 || in->vector_count > 32 || in->delivery_mode > 1)
			abort();
		if (in->vp_mask_valid ? !in->vp_mask
				      : (in->vp_count < 1 || in->vp_count > VPCI_MAX_TARGET_VPS))
			abort();
	}
}

static void fuzz_packet(const uint8_t *data, size_t size, uint32_t version)
{
	struct vpci_request req;
	const char *why;
	uint8_t *pkt;
	uint8_t out[64];
	int rc;

	/* Exact-size copy so ASan sees any read past the end. */
	pkt = malloc(size ? size : 1);
	if (size)
		memcpy(pkt, data, size);
	rc = vpci_parse(pkt, size, version, &req, &why);
	free(pkt);
	if (rc == 0) {
		if (why)
			abort();
		check_request(&req);
		if (req.kind == VPCI_REQ_CREATE_INTERRUPT &&
		    vpci_build_create_int_resp(out, sizeof(out), 0, req.u.interrupt.vector_count,
					       0xfee00000u, req.u.interrupt.vector) != 24)
			abort();
	} else if ((rc != -EINVAL && rc != -ENOTSUP) || !why) {
		abort();
	}
}

/* The size the guest computes from a probe value (before its page rounding). */
static uint64_t size_from_probe(const uint32_t *v, int i)
{
	uint64_t bar = v[i] & ~0xfull;

	bar |= (v[i] & VPCI_BAR_MEM64) ? (uint64_t)v[i + 1] << 32 : 0xffffffff00000000ull;
	return ~bar + 1;
}

static void fuzz_device(const uint8_t *data, size_t size, uint32_t version)
{
	struct vpci_device d = {0};
	uint32_t probe[VPCI_NUM_BARS];
	uint8_t rel[8 + 28], reqs[28];
	const char *why;
	uint8_t b[16 + VPCI_NUM_BARS * 2] = {0};

	memcpy(b, data, size < sizeof(b) ? size : sizeof(b));
	memcpy(&d.vendor_id, b, 2);
	memcpy(&d.device_id, b + 2, 2);
	d.serial = b[4];
	d.dev = b[5];
	d.func = b[6];
	d.numa_valid = b[7] & 1;
	d.numa_node = b[8];
	for (int i = 0; i < VPCI_NUM_BARS; i++) {
		uint8_t shift = b[16 + 2 * i];

		d.bars[i].size = shift ? (shift < 64 ? 1ull << shift : (uint64_t)shift) : 0;
		d.bars[i].flags = b[17 + 2 * i];
	}
	if (vpci_device_check(&d, &why)) {
		if (vpci_build_resource_reqs(reqs, sizeof(reqs), &d) != -EINVAL ||
		    vpci_build_bus_relations(rel, sizeof(rel), VPCI_VERSION_1_4, &d, 1) != -EINVAL)
			abort();
		return;
	}
	if (!version)
		version = VPCI_VERSION_1_1;
	if (vpci_build_bus_relations(rel, sizeof(rel), version, &d, 1) <= 0 ||
	    vpci_build_resource_reqs(reqs, sizeof(reqs), &d) != 28)
		abort();
	memcpy(probe, reqs + 4, sizeof(probe));
	for (int i = 0; i < VPCI_NUM_BARS; i++) {
		if (!d.bars[i].size) {
			if (probe[i])
				abort();
			continue;
		}
		if ((probe[i] & 0xf) != d.bars[i].flags ||
		    size_from_probe(probe, i) != d.bars[i].size)
			abort();
		if (d.bars[i].flags & VPCI_BAR_MEM64)
			i++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t version;

	if (size < 1 || size > 1024)
		return 0;
	version = versions[(data[0] & 0x7f) % 5];
	if (data[0] & 0x80)
		fuzz_device(data + 1, size - 1, version);
	else
		fuzz_packet(data + 1, size - 1, version);
	return 0;
}
