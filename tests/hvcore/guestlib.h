/* SPDX-License-Identifier: MIT */
/*
 * Helpers for running the freestanding guests of guests.S through libwinhv:
 * a partition with memfd-backed RAM, loading a blob at 0x1000, and putting a
 * VP into real, 32-bit protected or 64-bit long mode.
 */
#ifndef HVCORE_GUESTLIB_H
#define HVCORE_GUESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <linhv/winhv.h>

#define GUEST_LOAD 0x1000
#define GUEST_GDT 0x7000
#define GUEST_IDT 0x8000
#define GUEST_PML4 0x10000 /* 0x10000-0x12fff: PML4, PDPT, PD (identity 1 GiB) */

struct guest {
	struct winhv_partition *part;
	struct winhv_vp *vp[4];
	uint8_t *ram;
	size_t ram_size;
	int memfd;
};

enum guest_mode { MODE_REAL, MODE_PM32, MODE_LM64 };

#define BLOB(name)                                                                                 \
	extern const uint8_t guest_##name##_start[], guest_##name##_end[]
BLOB(real);
BLOB(pm32);
BLOB(lm64);
BLOB(bar);
BLOB(ioports);
BLOB(irq);
BLOB(fpu);
BLOB(tf);
BLOB(smp);
BLOB(iso);
BLOB(spin);
BLOB(bench_io);
BLOB(bench_cpuid);
BLOB(bench_touch);
BLOB(pageout);
BLOB(churn);
BLOB(hv);
BLOB(sipi_bsp);
BLOB(sipi_ap);
BLOB(bp);
extern const uint8_t guest_bp_handler[], guest_bp_after[];
BLOB(hard);
extern const uint8_t guest_hard_exc1[], guest_hard_exc6[], guest_hard_exc13[], guest_hard_exc14[],
    guest_hard_exc17[], guest_hard_db_count[];
extern const uint8_t guest_hard_xcr[], guest_hard_len[], guest_hard_len_hcall[], guest_hard_cr4[],
    guest_hard_pkru[], guest_hard_tscaux[], guest_hard_dr[], guest_hard_tf[],
    guest_hard_exit_loop[], guest_hard_timer[], guest_hard_pio_loop[];
extern const uint8_t guest_hv_sint_handler[], guest_hv_timer_handler[];
extern const uint8_t guest_irq_handler[];
BLOB(devirq);
extern const uint8_t guest_devirq_h20[], guest_devirq_h50[], guest_devirq_h60[], guest_devirq_h70[];
extern const uint8_t guest_fpu_handler[];

int guest_create(struct guest *g, enum winhv_backend backend, size_t ram_size, int nvps);
int guest_create_flags(struct guest *g, enum winhv_backend backend, size_t ram_size, int nvps,
		       uint32_t flags);
void guest_destroy(struct guest *g);
void guest_load(struct guest *g, const uint8_t *start, const uint8_t *end);
int guest_set_mode(struct guest *g, int vp, enum guest_mode mode);
int guest_set_reg(struct guest *g, int vp, uint32_t name, uint64_t value);
uint64_t guest_get_reg(struct guest *g, int vp, uint32_t name);
/* A 64-bit interrupt gate (selector 0x08) for vec at handler, inside the blob loaded from start. */
void guest_set_gate(struct guest *g, int vec, const uint8_t *start, const uint8_t *handler);
/* Point the VP's IDTR at the 256-entry table at GUEST_IDT. */
void guest_load_idt(struct guest *g, int vp);

#endif
