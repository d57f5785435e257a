// SPDX-License-Identifier: MIT
/*
 * Ring buffer unit tests: the host ring (vmm/vmbus/ring.c) against the
 * guest ring (vsc-guest/ring.c), two independent implementations of the
 * same layout, on plain memory.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <vsc/ring.h>

#include "ring.h"

#define PAGE 4096
#define MAX_PAGES 16

struct rpair {
	uint8_t *mem;
	uint8_t *pages[MAX_PAGES];
	uint32_t npages;
	struct vmbus_hring host;
	struct vsc_ring guest;
};

/* inbound: guest writes, host reads; otherwise host writes, guest reads. */
static void rp_init(struct rpair *rp, uint32_t npages, bool inbound)
{
	rp->mem = aligned_alloc(PAGE, (size_t)npages * PAGE);
	ck_assert_ptr_nonnull(rp->mem);
	rp->npages = npages;
	vsc_ring_init(&rp->guest, rp->mem, npages * PAGE);
	/* The host reads through a page array, as it does for GPADL pages. */
	rp->pages[0] = rp->mem;
	for (uint32_t i = 1; i < npages; i++)
		rp->pages[i] = rp->mem + (size_t)i * PAGE;
	ck_assert_int_eq(vmbus_hring_init(&rp->host, rp->pages, npages, inbound), VMBUS_RING_OK);
}

static void rp_free(struct rpair *rp)
{
	free(rp->mem);
}

static struct vmbus_ring_header *hdr(struct rpair *rp)
{
	return (struct vmbus_ring_header *)rp->mem;
}

START_TEST(guest_to_host_wraps_many_times)
{
	struct rpair rp;
	uint8_t out[1200], in[2048];
	uint32_t len;
	bool sig, more;

	rp_init(&rp, 2, true); /* 4 KiB of data: wraps every ~4 packets */
	for (int i = 0; i < 200; i++) {
		uint32_t n = 8 + (uint32_t)(i * 37) % 1000;

		for (uint32_t k = 0; k < n; k++)
			out[k] = (uint8_t)(i + k);
		ck_assert_int_eq(
		    vsc_ring_write(&rp.guest, VMBUS_PKT_DATA_INBAND, 0, (uint64_t)i, out, n, &sig),
		    VSC_RING_OK);
		/* Host was idle and the ring empty: exactly this write signals. */
		ck_assert(sig);
		vmbus_hring_read_begin(&rp.host);
		ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_OK);
		ck_assert_uint_eq(len, (16 + n + 7) & ~7u);
		ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->trans_id, (uint64_t)i);
		ck_assert_mem_eq(in + 16, out, n);
		ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len),
				 VMBUS_RING_EMPTY);
		ck_assert(!vmbus_hring_read_end(&rp.host, &more));
		ck_assert(!more);
	}
	ck_assert_uint_eq(hdr(&rp)->read_index, hdr(&rp)->write_index);
	rp_free(&rp);
}
END_TEST

START_TEST(interrupt_mask_suppresses_signal)
{
	struct rpair rp;
	uint8_t buf[64] = {1};
	bool sig;

	rp_init(&rp, 2, true);
	vmbus_hring_read_begin(&rp.host); /* host draining: mask set */
	ck_assert_uint_eq(hdr(&rp)->interrupt_mask, 1);
	ck_assert_int_eq(vsc_ring_write(&rp.guest, 6, 0, 1, buf, 8, &sig), VSC_RING_OK);
	ck_assert(!sig);
	rp_free(&rp);
}
END_TEST

START_TEST(second_write_into_nonempty_ring_does_not_signal)
{
	struct rpair rp;
	uint8_t buf[64] = {1}, in[256];
	uint32_t len;
	bool sig, more;

	rp_init(&rp, 2, false); /* host writes */
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 24, &sig),
			 VMBUS_RING_OK);
	ck_assert(sig);
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 24, &sig),
			 VMBUS_RING_OK);
	ck_assert(!sig);
	/* The guest reads both; masking its ring then suppresses the next signal. */
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert(!vsc_ring_read_done(&rp.guest));
	vsc_ring_set_interrupt_mask(&rp.guest, true);
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 24, &sig),
			 VMBUS_RING_OK);
	ck_assert(!sig);
	(void)more;
	rp_free(&rp);
}
END_TEST

START_TEST(full_ring_and_pending_send_sz)
{
	struct rpair rp;
	uint8_t buf[1000], in[2048];
	uint32_t len, n = 0;
	bool sig;
	int rc;

	memset(buf, 0xab, sizeof(buf));
	rp_init(&rp, 2, false);
	/* Fill: 1000+16 -> 1016 bytes + 8 trailer = 1024; only 3 fit in 4096 (one byte stays free).
	 */
	while ((rc = vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6}, NULL,
				       0, buf, 1000, &sig)) == VMBUS_RING_OK)
		n++;
	ck_assert_int_eq(rc, VMBUS_RING_FULL);
	ck_assert_uint_eq(n, 3);
	/* The blocked writer asked to be told about 1024 free bytes. */
	ck_assert_uint_eq(hdr(&rp)->pending_send_sz, 1024);
	ck_assert(!vmbus_hring_writable(&rp.host));
	/* Reading one packet frees 1024: free goes 1024 -> 2048 > 1024: the reader signals. */
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert(vsc_ring_read_done(&rp.guest));
	ck_assert(vmbus_hring_writable(&rp.host));
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 1000, &sig),
			 VMBUS_RING_OK);
	ck_assert_uint_eq(hdr(&rp)->pending_send_sz, 0); /* cleared once written */
	/* Reading more without a pending writer signals nothing. */
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert(!vsc_ring_read_done(&rp.guest));
	rp_free(&rp);
}
END_TEST

/*
 * The blocked mark outlives other writes: a small packet that still fits
 * after a large one did not must not cancel the large writer's "writable".
 * vmbus_hring_want_space() asks for the signal without a failed write.
 */
START_TEST(blocked_mark_survives_other_writes)
{
	struct rpair rp;
	uint8_t buf[1000], in[2048];
	uint32_t len;
	bool sig;

	memset(buf, 0xcd, sizeof(buf));
	rp_init(&rp, 2, false);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vmbus_hring_write(&rp.host,
						   &(struct vmbus_packet_descriptor){.type = 6},
						   NULL, 0, buf, 1000, &sig),
				 VMBUS_RING_OK);
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 1000, &sig),
			 VMBUS_RING_FULL);
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 8, &sig),
			 VMBUS_RING_OK);
	ck_assert_uint_eq(hdr(&rp)->pending_send_sz, 1024);
	ck_assert(!vmbus_hring_writable(&rp.host));
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert(vsc_ring_read_done(&rp.guest)); /* the guest signals */
	ck_assert(vmbus_hring_writable(&rp.host));
	ck_assert_uint_eq(hdr(&rp)->pending_send_sz, 0);
	ck_assert(!vmbus_hring_writable(&rp.host)); /* reported once */
	/* Asking for more room than there is marks the ring blocked as well. */
	ck_assert(!vmbus_hring_want_space(&rp.host, 3000));
	ck_assert_uint_ge(hdr(&rp)->pending_send_sz, 3000);
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
	ck_assert(vsc_ring_read_done(&rp.guest));
	ck_assert(vmbus_hring_writable(&rp.host));
	ck_assert(vmbus_hring_want_space(&rp.host, 3000));
	rp_free(&rp);
}
END_TEST

START_TEST(host_signals_blocked_guest_writer_once)
{
	struct rpair rp;
	uint8_t buf[1000] = {0}, in[2048];
	uint32_t len;
	bool sig, more;

	rp_init(&rp, 2, true);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vsc_ring_write(&rp.guest, 6, 0, 0, buf, 1000, &sig), VSC_RING_OK);
	ck_assert_int_eq(vsc_ring_write(&rp.guest, 6, 0, 0, buf, 1000, &sig), VSC_RING_FULL);
	vsc_ring_set_pending_send(&rp.guest, 1024);
	vmbus_hring_read_begin(&rp.host);
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_OK);
	ck_assert(vmbus_hring_read_end(&rp.host, &more)); /* 1024 -> 2048 free: signal */
	ck_assert(more);
	vmbus_hring_read_begin(&rp.host);
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_OK);
	ck_assert(!vmbus_hring_read_end(&rp.host, &more)); /* already had room: no signal */
	/* Without the feature bit the host never signals for space. */
	hdr(&rp)->feature_bits = 0;
	vmbus_hring_read_begin(&rp.host);
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_OK);
	ck_assert(!vmbus_hring_read_end(&rp.host, &more));
	rp_free(&rp);
}
END_TEST

START_TEST(corrupt_indices_and_descriptors)
{
	struct rpair rp;
	uint8_t buf[64] = {0}, in[4096];
	uint32_t len;
	bool sig;
	struct vmbus_packet_descriptor *d;

	rp_init(&rp, 3, true);
	hdr(&rp)->write_index = 8192; /* == size: out of bounds */
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_CORRUPT);
	hdr(&rp)->write_index = 12; /* not 8-aligned */
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_CORRUPT);
	hdr(&rp)->write_index = 8; /* less than a descriptor and trailer */
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_CORRUPT);
	hdr(&rp)->write_index = 0;
	ck_assert_int_eq(vsc_ring_write(&rp.guest, 6, 0, 0, buf, 40, &sig), VSC_RING_OK);
	d = (struct vmbus_packet_descriptor *)(rp.mem + PAGE);
	d->len8 = 200; /* longer than what was published */
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_CORRUPT);
	d->len8 = 7;
	d->offset8 = 1; /* inside the descriptor */
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_CORRUPT);
	d->offset8 = 8; /* past the packet end */
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_CORRUPT);
	d->offset8 = 2;
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, 32, &len), VMBUS_RING_TOO_LARGE);
	ck_assert_int_eq(vmbus_hring_read(&rp.host, in, sizeof(in), &len), VMBUS_RING_OK);
	ck_assert_uint_eq(len, 56);
	rp_free(&rp);
	/* Outbound: the guest's read index out of bounds. */
	rp_init(&rp, 2, false);
	hdr(&rp)->read_index = 4096;
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, buf, 8, &sig),
			 VMBUS_RING_CORRUPT);
	ck_assert_uint_eq(vmbus_hring_write_space(&rp.host), 0);
	/* A packet that can never fit. */
	hdr(&rp)->read_index = 0;
	ck_assert_int_eq(vmbus_hring_write(&rp.host, &(struct vmbus_packet_descriptor){.type = 6},
					   NULL, 0, in, 4096, &sig),
			 VMBUS_RING_TOO_LARGE);
	rp_free(&rp);
	/* Indices bad from the start: init refuses. */
	{
		uint8_t *mem = aligned_alloc(PAGE, 2 * PAGE);
		uint8_t *pages[2] = {mem, mem + PAGE};
		struct vmbus_hring r;

		memset(mem, 0, 2 * PAGE);
		((struct vmbus_ring_header *)mem)->read_index = 5000;
		ck_assert_int_eq(vmbus_hring_init(&r, pages, 2, true), VMBUS_RING_CORRUPT);
		ck_assert_int_eq(vmbus_hring_init(&r, pages, 1, true), VMBUS_RING_CORRUPT);
		free(mem);
	}
}
END_TEST

START_TEST(host_to_guest_integrity_with_header)
{
	struct rpair rp;
	uint8_t hdr8[16], data[777], in[2048];
	uint32_t len;
	bool sig;

	rp_init(&rp, 3, false);
	for (int i = 0; i < 100; i++) {
		memset(hdr8, i, sizeof(hdr8));
		for (uint32_t k = 0; k < sizeof(data); k++)
			data[k] = (uint8_t)(k ^ (uint32_t)i);
		ck_assert_int_eq(
		    vmbus_hring_write(&rp.host,
				      &(struct vmbus_packet_descriptor){.type = 7, .trans_id = 9},
				      hdr8, sizeof(hdr8), data, sizeof(data), &sig),
		    VMBUS_RING_OK);
		ck_assert_int_eq(vsc_ring_read(&rp.guest, in, sizeof(in), &len), VSC_RING_OK);
		ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->offset8, 4);
		ck_assert_mem_eq(in + 16, hdr8, sizeof(hdr8));
		ck_assert_mem_eq(in + 32, data, sizeof(data));
		vsc_ring_read_done(&rp.guest);
	}
	rp_free(&rp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmbus-ring");
	TCase *tc = tcase_create("ring");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, guest_to_host_wraps_many_times);
	tcase_add_test(tc, interrupt_mask_suppresses_signal);
	tcase_add_test(tc, second_write_into_nonempty_ring_does_not_signal);
	tcase_add_test(tc, full_ring_and_pending_send_sz);
	tcase_add_test(tc, blocked_mark_survives_other_writes);
	tcase_add_test(tc, host_signals_blocked_guest_writer_once);
	tcase_add_test(tc, corrupt_indices_and_descriptors);
	tcase_add_test(tc, host_to_guest_integrity_with_header);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
