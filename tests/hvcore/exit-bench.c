// SPDX-License-Identifier: MIT
/*
 * Exit-cost microbenchmark: the same guest code on any libwinhv backend.
 *   io     OUT to a port, completed in the root (a round trip to userspace)
 *   cpuid  CPUID, completed by the hypervisor in the kernel
 *   touch  first write to each of N fresh guest pages (nested page faults)
 *   touch-huge  the same over root memory backed by transparent huge pages
 * Prints one line per run: "<kind> <ns per event>".
 *
 *   exit-bench --backend linhv|kvm --kind io|cpuid|touch|touch-huge [--iters N] [--runs R]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <linhv/winhv_emulate.h>

#include "guestlib.h"

static int io_sink(void *ctx, uint16_t port, bool write, uint8_t size, uint32_t *val)
{
	(void)ctx, (void)port, (void)write, (void)size;
	*val = 0;
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define TOUCH_BASE (16ULL << 20)

static int one_run(enum winhv_backend b, const char *kind, long iters, double *ns_per)
{
	struct guest g;
	struct hv_message msg;
	bool huge = !strcmp(kind, "touch-huge");
	bool touch = huge || !strcmp(kind, "touch");
	size_t ram = touch ? TOUCH_BASE + (size_t)iters * 4096 : 4 << 20;
	double t0, t1;
	long events = 0;

	if (guest_create(&g, b, ram, 1)) {
		fprintf(stderr, "exit-bench: %s\n", WinHvLastError());
		return -1;
	}
	/* touch-huge: the root's pages are transparent huge pages (shmem_enabled=advise). */
	if (huge && madvise(g.ram, ram, MADV_HUGEPAGE)) {
		fprintf(stderr, "exit-bench: MADV_HUGEPAGE: %s\n", strerror(errno));
		guest_destroy(&g);
		return -1;
	}
	memset(g.ram, 0, ram); /* populate the root's pages: only the guest side is measured */
	if (!strcmp(kind, "io"))
		guest_load(&g, guest_bench_io_start, guest_bench_io_end);
	else if (!strcmp(kind, "cpuid"))
		guest_load(&g, guest_bench_cpuid_start, guest_bench_cpuid_end);
	else /* touch, touch-huge */
		guest_load(&g, guest_bench_touch_start, guest_bench_touch_end);
	guest_set_mode(&g, 0, MODE_LM64);
	guest_set_reg(&g, 0, HvX64RegisterRcx, iters);
	guest_set_reg(&g, 0, HvX64RegisterRbx, TOUCH_BASE);
	/* Warm up: the code and stack pages fault in before the clock starts. */
	t0 = now_ns();
	for (;;) {
		if (WinHvRunVp(g.vp[0], &msg)) {
			fprintf(stderr, "exit-bench: run: %s\n", WinHvLastError());
			guest_destroy(&g);
			return -1;
		}
		if (msg.header.message_type == HvMessageTypeX64IoPortIntercept) {
			const struct hv_x64_io_port_intercept_message *io = (const void *)msg.payload;

			if (io->port_number == 0x51)
				break; /* the guest is done */
			WinHvEmulateIoPort(g.vp[0], &msg, io_sink, NULL);
			events++;
			continue;
		}
		break;
	}
	t1 = now_ns();
	if (msg.header.message_type != HvMessageTypeX64IoPortIntercept) {
		fprintf(stderr, "exit-bench: unexpected message %#x\n", msg.header.message_type);
		guest_destroy(&g);
		return -1;
	}
	(void)events;
	*ns_per = (t1 - t0) / iters;
	guest_destroy(&g);
	return 0;
}

int main(int argc, char **argv)
{
	enum winhv_backend b = WINHV_BACKEND_LINHV;
	const char *kind = "io";
	long iters = 20000;
	int runs = 5;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--backend")) {
			if (WinHvParseBackend(argv[i + 1], &b)) {
				fprintf(stderr, "exit-bench: unknown backend '%s'\n", argv[i + 1]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--kind")) {
			kind = argv[i + 1];
		} else if (!strcmp(argv[i], "--iters")) {
			iters = atol(argv[i + 1]);
		} else if (!strcmp(argv[i], "--runs")) {
			runs = atoi(argv[i + 1]);
		} else {
			fprintf(stderr,
				"usage: exit-bench --backend B --kind io|cpuid|touch|touch-huge "
				"[--iters N] [--runs R]\n");
			return 2;
		}
	}
	if (strcmp(kind, "io") && strcmp(kind, "cpuid") && strcmp(kind, "touch") &&
	    strcmp(kind, "touch-huge")) {
		fprintf(stderr, "exit-bench: unknown kind '%s'\n", kind);
		return 2;
	}
	if (iters < 1 || iters > 1 << 20 || runs < 1 || runs > 100) {
		fprintf(stderr, "exit-bench: iters must be 1..1048576 and runs 1..100\n");
		return 2;
	}
	for (int r = 0; r < runs; r++) {
		double ns;

		if (one_run(b, kind, iters, &ns))
			return 1;
		printf("%s %.1f\n", kind, ns);
		fflush(stdout);
	}
	return 0;
}
