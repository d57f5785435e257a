/* SPDX-License-Identifier: MIT */
/*
 * The loopback backend: a partition with plain memory and no VP execution.
 * The "guest" is code in the same process that drives the partition through
 * the calls below, which stand for what a guest kernel does with MSR writes
 * and hypercalls. Used by unit tests and fuzzers.
 *
 * Guest RAM is whatever the test maps with WinHvMapGpaPages(); the guest's
 * SynIC message (SIMP) and event flag (SIEFP) pages are ordinary guest pages
 * at GPAs the guest picks, as on Hyper-V. All calls are thread-safe, so the
 * guest side may run in its own thread.
 */
#ifndef LINHV_WINHV_LOOPBACK_H
#define LINHV_WINHV_LOOPBACK_H

#include <stdint.h>

#include "winhv.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * HV_X64_MSR_SIMP / HV_X64_MSR_SIEFP: page-aligned GPAs, 0 disables. A page
 * that is not in guest RAM is accepted like on hardware, but nothing is
 * delivered into it. Enabling SIMP delivers queued messages.
 */
int WinHvLoopbackGuestSetSynicPages(struct winhv_partition *partition, uint32_t vp_index,
				    uint64_t simp_gpa, uint64_t siefp_gpa);

/* HV_X64_MSR_SINTx: vector and mask bit. Unmasking delivers queued work. */
int WinHvLoopbackGuestSetSint(struct winhv_partition *partition, uint32_t vp_index, uint32_t sint,
			      uint8_t vector, bool masked);

/* HV_X64_MSR_EOM: the guest consumed a message; deliver queued ones. */
int WinHvLoopbackGuestEom(struct winhv_partition *partition, uint32_t vp_index);

/*
 * HvCallPostMessage from VP vp_index: returns the HV_STATUS the guest sees
 * (HV_STATUS_SUCCESS, INVALID_CONNECTION_ID, INSUFFICIENT_BUFFERS,
 * INVALID_PARAMETER, INVALID_HYPERCALL_INPUT).
 */
int WinHvLoopbackGuestPostMessage(struct winhv_partition *partition, uint32_t vp_index,
				  const struct hv_input_post_message *input);

/* HvCallSignalEvent (fast): HV_STATUS_SUCCESS or INVALID_CONNECTION_ID. */
int WinHvLoopbackGuestSignalEvent(struct winhv_partition *partition, uint32_t vp_index,
				  uint32_t connection_id, uint16_t flag_number);

/*
 * Wait up to timeout_ms (-1: forever, 0: poll) for a SINT interrupt on the VP.
 * Returns 1 and the raised SINTs in *sints (then cleared), 0 on timeout.
 */
int WinHvLoopbackGuestWaitInterrupt(struct winhv_partition *partition, uint32_t vp_index,
				    int timeout_ms, uint32_t *sints);

/* Readable while the VP has a pending SINT interrupt (for poll loops). */
int WinHvLoopbackGuestInterruptFd(struct winhv_partition *partition, uint32_t vp_index);

/* Counters for tests: interrupts raised on the VP, messages queued behind the slot. */
struct winhv_loopback_stats {
	uint64_t interrupts;
	uint64_t messages_delivered;
	uint64_t messages_queued;
	uint64_t posts_refused;
};
int WinHvLoopbackGetStats(struct winhv_partition *partition, uint32_t vp_index,
			  struct winhv_loopback_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* LINHV_WINHV_LOOPBACK_H */
