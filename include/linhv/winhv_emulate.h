/* SPDX-License-Identifier: MIT */
/*
 * Completing intercepts in the root: port I/O (including string and rep
 * forms) and MMIO (the mov family), as every worker needs to. The device
 * model is a callback; these helpers do the instruction-level work and set
 * the VP's registers (including RIP) so that the next WinHvRunVp() resumes
 * after the instruction.
 */
#ifndef LINHV_WINHV_EMULATE_H
#define LINHV_WINHV_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "winhv.h"

/* Return 0 on success; a negative value stops emulation. */
typedef int (*winhv_io_fn)(void *ctx, uint16_t port, bool write, uint8_t size, uint32_t *val);
typedef int (*winhv_mmio_fn)(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val);

/* Translate a guest linear address with the VP's current paging mode. */
int WinHvTranslateGva(struct winhv_vp *vp, uint64_t gva, bool write, uint64_t *gpa);

/* msg: an HvMessageTypeX64IoPortIntercept message from WinHvRunVp(). */
int WinHvEmulateIoPort(struct winhv_vp *vp, const struct hv_message *msg, winhv_io_fn fn,
		       void *ctx);

/*
 * msg: an HvMessageTypeUnmappedGpa or HvMessageTypeGpaIntercept message.
 * Returns -ENOTSUP for an instruction the decoder does not know.
 */
int WinHvEmulateMmio(struct winhv_vp *vp, const struct hv_message *msg, winhv_mmio_fn fn,
		     void *ctx);

/* Decoded MMIO access (exposed for unit tests and fuzzing). */
struct winhv_mmio_insn {
	uint8_t length; /* bytes */
	uint8_t size; /* access size: 1, 2, 4 or 8 */
	bool write;
	bool has_imm;
	uint64_t imm; /* value for immediate stores */
	int reg; /* GPR index 0-15, or 16-19 for AH/CH/DH/BH */
	enum { WINHV_MMIO_MOV, WINHV_MMIO_MOVZX, WINHV_MMIO_MOVSX } kind;
};
int WinHvDecodeMmio(const uint8_t *bytes, int n, bool long_mode, bool default32,
		    struct winhv_mmio_insn *out);

#endif /* LINHV_WINHV_EMULATE_H */
