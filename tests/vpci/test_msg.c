// SPDX-License-Identifier: MIT
/*
 * vPCI messages: each guest request parsed from hand-built bytes (offsets as
 * pci-hyperv lays them out, not our structs) and refused when short, long,
 * unknown, of another protocol version or with bad fields; each host answer
 * read back at the offsets the guest driver reads.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "wire_bytes.h"
#include "vpci_msg.h"

#define V11 0x10001u
#define V12 0x10002u
#define V13 0x10003u
#define V14 0x10004u

/* Parse len bytes of m from an exact-size heap copy (ASan sees overreads). */
static int parse(const uint8_t *m, size_t len, uint32_t version, struct vpci_request *req,
		 const char **why)
{
	uint8_t *copy = calloc(1, len ? len : 1);
	int rc;

	memcpy(copy, m, len);
	rc = vpci_parse(copy, len, version, req, why);
	free(copy);
	return rc;
}

/* A valid message must pass at its size and with up to 7 padding bytes,
 * and fail one byte short and past the padding. */
static void check_sizes(const uint8_t *m, size_t size, uint32_t version)
{
	uint8_t big[512] = {0};
	struct vpci_request req;
	const char *why;
	size_t padded = (size + 7) & ~(size_t)7;

	memcpy(big, m, size);
	ck_assert_int_eq(parse(big, size, version, &req, &why), 0);
	ck_assert_int_eq(parse(big, padded, version, &req, &why), 0);
	ck_assert_int_eq(parse(big, size - 1, version, &req, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(parse(big, padded + 1, version, &req, &why), -EINVAL);
	ck_assert_int_eq(parse(big, padded + 8, version, &req, &why), -EINVAL);
}

START_TEST(version_request)
{
	uint8_t m[8];
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490013);
	w32(m + 4, V14);
	ck_assert_int_eq(parse(m, 8, 0, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_VERSION);
	ck_assert_uint_eq(req.u.version, V14);
	check_sizes(m, 8, 0);
	/* Any number is a well-formed offer; whether we speak it is separate. */
	w32(m + 4, 0x20000);
	ck_assert_int_eq(parse(m, 8, 0, &req, &why), 0);
	ck_assert(!vpci_version_supported(req.u.version));
	ck_assert(vpci_version_supported(V11) && vpci_version_supported(V12) &&
		  vpci_version_supported(V13) && vpci_version_supported(V14));
	ck_assert(!vpci_version_supported(0x10000) && !vpci_version_supported(0x10005) &&
		  !vpci_version_supported(0));
}
END_TEST

START_TEST(before_negotiation)
{
	uint8_t m[16] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490007);
	w64(m + 8, 0xfe0000000ull);
	ck_assert_int_eq(parse(m, 16, 0, &req, &why), -EINVAL);
	ck_assert_str_eq(why, "message before version negotiation");
	ck_assert_int_eq(parse(m, 16, V11, &req, &why), 0);
}
END_TEST

START_TEST(d0_entry_exit)
{
	uint8_t m[16] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490007);
	w64(m + 8, 0xfe0002000ull);
	ck_assert_int_eq(parse(m, 16, V13, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_D0_ENTRY);
	ck_assert_uint_eq(req.u.mmio_base, 0xfe0002000ull);
	check_sizes(m, 16, V13);
	w32(m + 4, 1);
	ck_assert_int_eq(parse(m, 16, V13, &req, &why), -EINVAL);
	w32(m + 4, 0);
	w64(m + 8, 0xfe0002010ull);
	ck_assert_int_eq(parse(m, 16, V13, &req, &why), -EINVAL);

	w32(m, 0x42490008);
	ck_assert_int_eq(parse(m, 4, V13, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_D0_EXIT);
	ck_assert_int_eq(parse(m, 8, V13, &req, &why), 0);
	ck_assert_int_eq(parse(m, 12, V13, &req, &why), -EINVAL);
}
END_TEST

START_TEST(query_relations)
{
	uint8_t m[8] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490001);
	ck_assert_int_eq(parse(m, 4, V12, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_QUERY_RELATIONS);
	check_sizes(m, 4, V12);
}
END_TEST

START_TEST(child_messages)
{
	uint8_t m[8];
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490005);
	w32(m + 4, (3u << 5) | 7);
	ck_assert_int_eq(parse(m, 8, V11, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_RESOURCE_REQS);
	ck_assert_uint_eq(req.slot, (3u << 5) | 7);
	check_sizes(m, 8, V11);
	w32(m, 0x42490011);
	ck_assert_int_eq(parse(m, 8, V14, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_RESOURCES_RELEASED);
	w32(m + 4, 0x100);
	ck_assert_int_eq(parse(m, 8, V14, &req, &why), -EINVAL);
	ck_assert_str_eq(why, "reserved slot bits set");
}
END_TEST

START_TEST(resources_assigned)
{
	uint8_t m1[148] = {0}, m2[202] = {0};
	struct vpci_request req;
	const char *why;

	w32(m1, 0x42490010);
	w32(m1 + 4, 2);
	m1[8] = 0xaa; /* the ranges are not checked: Windows guests fill them */
	w32(m1 + 128, 5);
	ck_assert_int_eq(parse(m1, 148, V11, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_RESOURCES_ASSIGNED);
	ck_assert_uint_eq(req.slot, 2);
	ck_assert_uint_eq(req.u.msi_count, 5);
	check_sizes(m1, 148, V11);
	ck_assert_int_eq(parse(m1, 148, V12, &req, &why), -EINVAL);
	ck_assert_str_eq(why, "message not of the negotiated protocol version");
	m1[147] = 1;
	ck_assert_int_eq(parse(m1, 148, V11, &req, &why), -EINVAL);

	w32(m2, 0x42490016);
	w32(m2 + 4, 1);
	w32(m2 + 128, 9);
	ck_assert_int_eq(parse(m2, 202, V12, &req, &why), 0);
	ck_assert_uint_eq(req.slot, 1);
	ck_assert_uint_eq(req.u.msi_count, 9);
	ck_assert_int_eq(parse(m2, 202, V14, &req, &why), 0);
	check_sizes(m2, 202, V13);
	ck_assert_int_eq(parse(m2, 202, V11, &req, &why), -EINVAL);
	m2[201] = 1;
	ck_assert_int_eq(parse(m2, 202, V12, &req, &why), -EINVAL);
}
END_TEST

START_TEST(create_interrupt_v1)
{
	uint8_t m[24] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490014);
	w32(m + 4, 0);
	m[8] = 0x41;	    /* vector */
	m[9] = 0;	    /* fixed */
	w16(m + 10, 4);	    /* vector count */
	w64(m + 16, ~0ull); /* every VP */
	ck_assert_int_eq(parse(m, 24, V11, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_CREATE_INTERRUPT);
	ck_assert_uint_eq(req.u.interrupt.vector, 0x41);
	ck_assert_uint_eq(req.u.interrupt.vector_count, 4);
	ck_assert(req.u.interrupt.vp_mask_valid);
	ck_assert_uint_eq(req.u.interrupt.vp_mask, ~0ull);
	check_sizes(m, 24, V11);
	ck_assert_int_eq(parse(m, 24, V12, &req, &why), -EINVAL);
	w32(m + 12, 1); /* reserved */
	ck_assert_int_eq(parse(m, 24, V11, &req, &why), -EINVAL);
	w32(m + 12, 0);
	w16(m + 10, 0);
	ck_assert_int_eq(parse(m, 24, V11, &req, &why), -EINVAL);
	w16(m + 10, 33);
	ck_assert_int_eq(parse(m, 24, V11, &req, &why), -EINVAL);
	w16(m + 10, 1);
	m[9] = 4; /* NMI */
	ck_assert_int_eq(parse(m, 24, V11, &req, &why), -EINVAL);
	m[9] = 0;
	w64(m + 16, 0);
	ck_assert_int_eq(parse(m, 24, V11, &req, &why), -EINVAL);
}
END_TEST

START_TEST(create_interrupt_v2)
{
	uint8_t m[78] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490017);
	w32(m + 4, 1u << 5);
	m[8] = 0x30;
	w16(m + 10, 1);
	w16(m + 12, 2);	 /* VP count */
	w16(m + 14, 3);	 /* VP 3 */
	w16(m + 16, 17); /* VP 17 */
	ck_assert_int_eq(parse(m, 78, V12, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_CREATE_INTERRUPT);
	ck_assert_uint_eq(req.slot, 1u << 5);
	ck_assert_uint_eq(req.u.interrupt.vector, 0x30);
	ck_assert(!req.u.interrupt.vp_mask_valid);
	ck_assert_uint_eq(req.u.interrupt.vp_count, 2);
	ck_assert_uint_eq(req.u.interrupt.vps[0], 3);
	ck_assert_uint_eq(req.u.interrupt.vps[1], 17);
	check_sizes(m, 78, V13);
	ck_assert_int_eq(parse(m, 78, V11, &req, &why), -EINVAL);
	ck_assert_int_eq(parse(m, 78, V14, &req, &why), -EINVAL);
	w16(m + 12, 33);
	ck_assert_int_eq(parse(m, 78, V12, &req, &why), -EINVAL);
	ck_assert_str_eq(why, "interrupt target count not 1-32");
	w16(m + 12, 0);
	ck_assert_int_eq(parse(m, 78, V12, &req, &why), -EINVAL);
	w16(m + 12, 32);
	ck_assert_int_eq(parse(m, 78, V12, &req, &why), 0);
}
END_TEST

START_TEST(create_interrupt_v3)
{
	uint8_t m[82] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x4249001b);
	w32(m + 4, 4);
	w32(m + 8, 0x2001); /* a 32-bit vector (an ARM LPI) */
	m[12] = 0;
	w16(m + 14, 1);
	w16(m + 16, 1);
	w16(m + 18, 5);
	ck_assert_int_eq(parse(m, 82, V14, &req, &why), 0);
	ck_assert_uint_eq(req.slot, 4);
	ck_assert_uint_eq(req.u.interrupt.vector, 0x2001);
	ck_assert_uint_eq(req.u.interrupt.vector_count, 1);
	ck_assert_uint_eq(req.u.interrupt.vp_count, 1);
	ck_assert_uint_eq(req.u.interrupt.vps[0], 5);
	check_sizes(m, 82, V14);
	ck_assert_int_eq(parse(m, 82, V13, &req, &why), -EINVAL);
	m[13] = 1; /* reserved */
	ck_assert_int_eq(parse(m, 82, V14, &req, &why), -EINVAL);
	m[13] = 0;
	w16(m + 16, 40);
	ck_assert_int_eq(parse(m, 82, V14, &req, &why), -EINVAL);
}
END_TEST

START_TEST(delete_interrupt_and_eject)
{
	uint8_t m[24] = {0}, e[12] = {0};
	struct vpci_request req;
	const char *why;

	w32(m, 0x42490015);
	w32(m + 4, 2);
	w16(m + 10, 1);
	w32(m + 12, 0x4041);
	w64(m + 16, 0xfee00000ull);
	ck_assert_int_eq(parse(m, 24, V13, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_DELETE_INTERRUPT);
	ck_assert_uint_eq(req.u.msi.vector_count, 1);
	ck_assert_uint_eq(req.u.msi.data, 0x4041);
	ck_assert_uint_eq(req.u.msi.address, 0xfee00000ull);
	check_sizes(m, 24, V11);
	w16(m + 8, 1);
	ck_assert_int_eq(parse(m, 24, V13, &req, &why), -EINVAL);

	w32(e, 0x4249000f);
	w32(e + 4, 2);
	w32(e + 8, 0);
	ck_assert_int_eq(parse(e, 12, V14, &req, &why), 0);
	ck_assert_int_eq(req.kind, VPCI_REQ_EJECTION_COMPLETE);
	ck_assert_uint_eq(req.slot, 2);
	check_sizes(e, 12, V14);
}
END_TEST

START_TEST(bad_types)
{
	uint8_t m[256] = {0};
	struct vpci_request req;
	const char *why;

	ck_assert_int_eq(parse(m, 0, V11, &req, &why), -EINVAL);
	ck_assert_int_eq(parse(m, 3, V11, &req, &why), -EINVAL);
	w32(m, 0x12345678);
	ck_assert_int_eq(parse(m, 8, V11, &req, &why), -EINVAL);
	ck_assert_str_eq(why, "unknown message type");
	/* Host-to-guest types coming from the guest. */
	w32(m, 0x42490000);
	ck_assert_int_eq(parse(m, 8, V11, &req, &why), -EINVAL);
	w32(m, 0x42490019);
	ck_assert_int_eq(parse(m, 8, V13, &req, &why), -EINVAL);
	w32(m, 0x4249000b);
	ck_assert_int_eq(parse(m, 8, V13, &req, &why), -EINVAL);
	w32(m, 0x42490012);
	ck_assert_int_eq(parse(m, 8, V13, &req, &why), -EINVAL);
	w32(m, 0x4249001c);
	ck_assert_int_eq(parse(m, 8, V13, &req, &why), -EINVAL);
	/* Known but not served: answered with a failure, not a closed channel. */
	w32(m, 0x42490009);
	ck_assert_int_eq(parse(m, 16, V13, &req, &why), -ENOTSUP);
	w32(m, 0x4249000a);
	ck_assert_int_eq(parse(m, 144, V13, &req, &why), -ENOTSUP);
}
END_TEST

/* A device with a 32-bit BAR0, a 64-bit prefetchable BAR2/3, BAR4 of 4 KiB. */
static struct vpci_device sample(uint8_t dev, uint8_t func)
{
	struct vpci_device d = {
	    .vendor_id = 0x1234,
	    .device_id = 0x11e8,
	    .subsys_vendor_id = 0x1af4,
	    .subsys_id = 0x1100,
	    .revision = 0x10,
	    .prog_if = 0x01,
	    .subclass = 0x02,
	    .base_class = 0x03,
	    .serial = 77,
	    .dev = dev,
	    .func = func,
	    .numa_valid = true,
	    .numa_node = 1,
	};

	d.bars[0].size = 1u << 20;
	d.bars[2].size = 1ull << 33;
	d.bars[2].flags = VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH;
	d.bars[4].size = 4096;
	return d;
}

START_TEST(bar_probe_values)
{
	struct vpci_device d = sample(0, 0);
	uint32_t v[VPCI_NUM_BARS];
	uint8_t out[28];

	vpci_bar_probe_values(&d, v);
	ck_assert_uint_eq(v[0], 0xfff00000u);
	ck_assert_uint_eq(v[1], 0);
	ck_assert_uint_eq(v[2], 0x0000000cu);
	ck_assert_uint_eq(v[3], 0xfffffffeu);
	ck_assert_uint_eq(v[4], 0xfffff000u);
	ck_assert_uint_eq(v[5], 0);
	ck_assert_int_eq(vpci_build_resource_reqs(out, sizeof(out), &d), 28);
	ck_assert_int_eq((int32_t)r32(out), 0);
	for (int i = 0; i < VPCI_NUM_BARS; i++)
		ck_assert_uint_eq(r32(out + 4 + 4 * i), v[i]);
	ck_assert_int_eq(vpci_build_resource_reqs(out, 27, &d), -ENOSPC);
}
END_TEST

START_TEST(device_checks)
{
	struct vpci_device d = sample(0, 0);
	const char *why;
	uint8_t out[28];

	ck_assert_int_eq(vpci_device_check(&d, &why), 0);
	d.bars[3].size = 16; /* the upper half of BAR2 */
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	ck_assert_int_eq(vpci_build_resource_reqs(out, sizeof(out), &d), -EINVAL);
	d = sample(0, 0);
	d.bars[5].size = 4096;
	d.bars[5].flags = VPCI_BAR_MEM64;
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d = sample(0, 0);
	d.bars[0].size = 3000;
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d.bars[0].size = 8;
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d.bars[0].size = 1ull << 32;
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d.bars[0].size = 1ull << 31;
	ck_assert_int_eq(vpci_device_check(&d, &why), 0);
	d.bars[0].flags = 0x1; /* I/O */
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d = sample(32, 0);
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d = sample(0, 8);
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
	d = sample(0, 0);
	d.bars[1].flags = VPCI_BAR_PREFETCH;
	ck_assert_int_eq(vpci_device_check(&d, &why), -EINVAL);
}
END_TEST

START_TEST(bus_relations)
{
	struct vpci_device devs[2] = {sample(0, 0), sample(1, 2)};
	uint8_t out[8 + 2 * 28];
	const uint8_t *f;

	/* 1.1 and 1.2: 20-byte entries. */
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), V12, devs, 2), 8 + 40);
	ck_assert_uint_eq(r32(out), 0x42490000);
	ck_assert_uint_eq(r32(out + 4), 2);
	f = out + 8 + 20;
	ck_assert_uint_eq(r16(f), 0x1234);
	ck_assert_uint_eq(r16(f + 2), 0x11e8);
	ck_assert_uint_eq(f[4], 0x10);
	ck_assert_uint_eq(f[5], 0x01);
	ck_assert_uint_eq(f[6], 0x02);
	ck_assert_uint_eq(f[7], 0x03);
	ck_assert_uint_eq(r16(f + 8), 0x1af4); /* read as config offset 0x2c */
	ck_assert_uint_eq(r16(f + 10), 0x1100);
	ck_assert_uint_eq(r32(f + 12), 1u | (2u << 5));
	ck_assert_uint_eq(r32(f + 16), 77);

	/* 1.3 and 1.4: 28-byte entries with the NUMA hint. */
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), V13, devs, 2), 8 + 56);
	ck_assert_uint_eq(r32(out), 0x42490019);
	ck_assert_uint_eq(r32(out + 4), 2);
	f = out + 8 + 28;
	ck_assert_uint_eq(r16(f), 0x1234);
	ck_assert_uint_eq(r32(f + 12), 1u | (2u << 5));
	ck_assert_uint_eq(r32(f + 16), 77);
	ck_assert_uint_eq(r32(f + 20), 1); /* NUMA affinity flag */
	ck_assert_uint_eq(r16(f + 24), 1);
	ck_assert_uint_eq(r16(f + 26), 0);
	devs[1].numa_valid = false;
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), V14, devs, 2), 8 + 56);
	ck_assert_uint_eq(r32(f + 20), 0);
	ck_assert_uint_eq(r16(f + 24), 0);

	/* An empty bus, no room, a bad version, a doubled slot, a bad device. */
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), V11, devs, 0), 8);
	ck_assert_uint_eq(r32(out + 4), 0);
	ck_assert_int_eq(vpci_build_bus_relations(out, 8 + 55, V13, devs, 2), -ENOSPC);
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), 0x10005, devs, 2), -EINVAL);
	devs[1] = sample(0, 0);
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), V13, devs, 2), -EINVAL);
	devs[1] = sample(0, 1);
	devs[1].bars[0].size = 5;
	ck_assert_int_eq(vpci_build_bus_relations(out, sizeof(out), V13, devs, 2), -EINVAL);
}
END_TEST

START_TEST(simple_answers)
{
	uint8_t out[24];

	/* A status is 8 bytes: the guest drops completions of 4. */
	ck_assert_int_eq(vpci_build_status(out, sizeof(out), VPCI_STATUS_REVISION_MISMATCH), 8);
	ck_assert_uint_eq(r32(out), 0xc0000059u);
	ck_assert_uint_eq(r32(out + 4), 0);
	ck_assert_int_eq(vpci_build_status(out, 7, 0), -ENOSPC);

	memset(out, 0xff, sizeof(out));
	ck_assert_int_eq(vpci_build_create_int_resp(out, sizeof(out), 0, 4, 0xfee01000ull, 0x4061),
			 24);
	ck_assert_int_eq((int32_t)r32(out), 0);
	ck_assert_uint_eq(r32(out + 4), 0);
	ck_assert_uint_eq(r16(out + 8), 0);
	ck_assert_uint_eq(r16(out + 10), 4);
	ck_assert_uint_eq(r32(out + 12), 0x4061);
	ck_assert_uint_eq(r64(out + 16), 0xfee01000ull);
	ck_assert_int_eq(vpci_build_create_int_resp(out, sizeof(out),
						    VPCI_STATUS_INSUFFICIENT_RESOURCES, 4, 1, 2),
			 24);
	ck_assert_uint_eq(r32(out), 0xc000009au);
	ck_assert_uint_eq(r64(out + 16), 0);
	ck_assert_int_eq(vpci_build_create_int_resp(out, 23, 0, 1, 1, 1), -ENOSPC);

	ck_assert_int_eq(vpci_build_eject(out, sizeof(out), 3u << 5), 8);
	ck_assert_uint_eq(r32(out), 0x4249000b);
	ck_assert_uint_eq(r32(out + 4), 3u << 5);
	ck_assert_int_eq(vpci_build_eject(out, sizeof(out), 0x100), -EINVAL);
}
END_TEST

TEST_MAIN("vpci-msg", version_request, before_negotiation, d0_entry_exit, query_relations,
	  child_messages, resources_assigned, create_interrupt_v1, create_interrupt_v2,
	  create_interrupt_v3, delete_interrupt_and_eject, bad_types, bar_probe_values,
	  device_checks, bus_relations, simple_answers)
