// SPDX-License-Identifier: MIT
/* The test image's platform (hv_platform.h). */
#include <stdarg.h>
#include <stddef.h>

#include <linhv/hvgdk.h>
#include <vsc/fmt.h>

#include "hv_platform.h"

#define PAGE 4096u
#define MSR_GUEST_OS_ID 0x40000000u
#define MSR_HYPERCALL 0x40000001u
#define MSR_TIME_REF_COUNT 0x40000020u
#define MSR_SCONTROL 0x40000080u
#define MSR_SIEFP 0x40000082u
#define MSR_SIMP 0x40000083u
#define MSR_EOM 0x40000084u
#define MSR_SINT0 0x40000090u
#define HV_FAST_CALL (1ull << 16)
#define SINT_VECTOR 0x30 /* never taken: the image polls with interrupts off */

#define COM1 0x3f8
#define SLEEP_CONTROL 0x600 /* vmwp's FADT: SLP_TYP << 2 | SLP_EN */
#define RESET_REG 0xcf9

/* Where alloc_pages hands out memory: above the image, below 64 MiB. */
#define POOL_BASE (16ull << 20)
#define POOL_MAX_PAGES 12288u

static uint8_t hypercall_page[PAGE] __attribute__((aligned(PAGE)));
static struct hv_input_post_message post_input __attribute__((aligned(PAGE)));
static uint8_t page_used[POOL_MAX_PAGES];

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

/* Through the hypercall page the hypervisor filled in (vmcall or vmmcall, ret). */
static uint64_t hypercall(uint64_t control, uint64_t in, uint64_t out)
{
	register uint64_t r8 __asm__("r8") = out;
	uint64_t status;

	__asm__ volatile("call *%[page]"
			 : "=a"(status), "+c"(control), "+d"(in), "+r"(r8)
			 : [page] "r"(hypercall_page)
			 : "cc", "memory", "r9", "r10", "r11");
	return status;
}

/* ---- Console and power ---- */

static void putc_serial(char c)
{
	for (int i = 0; i < 1000 && !(inb(COM1 + 5) & 0x20); i++)
		__builtin_ia32_pause();
	outb(COM1, (uint8_t)c);
}

void hv_print(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsc_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (const char *s = buf; *s; s++)
		putc_serial(*s);
}

void hv_poweroff(void)
{
	outb(SLEEP_CONTROL, 5 << 2 | 0x20);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void hv_reboot(void)
{
	outb(RESET_REG, 0x06);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- vsc_platform ---- */

static void *hv_map(void *ctx, uint64_t gpa, uint64_t len)
{
	struct hv_platform *hp = ctx;

	/* Identity-mapped; anything outside RAM is not ours to touch. */
	if (gpa >= hp->ram_end || len > hp->ram_end - gpa)
		return NULL;
	return (void *)(uintptr_t)gpa;
}

/*
 * Device registers, through the identity map (the boot page tables cover
 * 4 GiB), with one instruction of the exact size so that the host sees
 * the access as the guest made it.
 */
static uint64_t hv_mmio_read(void *ctx, uint64_t gpa, uint32_t size)
{
	volatile void *p = (volatile void *)(uintptr_t)gpa;

	(void)ctx;
	switch (size) {
	case 1:
		return *(volatile uint8_t *)p;
	case 2:
		return *(volatile uint16_t *)p;
	case 4:
		return *(volatile uint32_t *)p;
	default:
		return *(volatile uint64_t *)p;
	}
}

static void hv_mmio_write(void *ctx, uint64_t gpa, uint32_t size, uint64_t val)
{
	volatile void *p = (volatile void *)(uintptr_t)gpa;

	(void)ctx;
	switch (size) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)val;
		break;
	case 4:
		*(volatile uint32_t *)p = (uint32_t)val;
		break;
	default:
		*(volatile uint64_t *)p = val;
		break;
	}
}

static int hv_alloc(void *ctx, uint32_t count, uint64_t *gpa)
{
	struct hv_platform *hp = ctx;
	uint32_t run = 0;

	for (uint32_t i = 0; i < hp->pool_pages && count; i++) {
		run = page_used[i] ? 0 : run + 1;
		if (run == count) {
			uint32_t first = i + 1 - count;
			uint8_t *p = (uint8_t *)(uintptr_t)(hp->pool_base + (uint64_t)first * PAGE);

			for (uint32_t k = 0; k < count; k++)
				page_used[first + k] = 1;
			for (uint64_t k = 0; k < (uint64_t)count * PAGE; k++)
				p[k] = 0;
			*gpa = hp->pool_base + (uint64_t)first * PAGE;
			return 0;
		}
	}
	return -1;
}

static void hv_free(void *ctx, uint64_t gpa, uint32_t count)
{
	struct hv_platform *hp = ctx;
	uint64_t first;

	if (gpa < hp->pool_base)
		return;
	first = (gpa - hp->pool_base) / PAGE;
	if (first + count <= hp->pool_pages)
		for (uint32_t k = 0; k < count; k++)
			page_used[first + k] = 0;
}

static void hv_setup_synic(void *ctx, uint64_t simp, uint64_t siefp, uint32_t sint)
{
	(void)ctx;
	if (!simp) {
		wrmsr(MSR_SINT0 + sint, 1u << 16); /* masked */
		wrmsr(MSR_SCONTROL, 0);
		wrmsr(MSR_SIMP, 0);
		wrmsr(MSR_SIEFP, 0);
		return;
	}
	wrmsr(MSR_SIMP, simp | 1);
	wrmsr(MSR_SIEFP, siefp | 1);
	wrmsr(MSR_SINT0 + sint, SINT_VECTOR);
	wrmsr(MSR_SCONTROL, 1);
}

static uint32_t hv_post(void *ctx, uint32_t connection_id, const void *payload, uint32_t size)
{
	const uint8_t *src = payload;
	uint8_t *dst = (uint8_t *)post_input.payload;

	(void)ctx;
	post_input.connection_id = connection_id;
	post_input.reserved = 0;
	post_input.message_type = 1;
	post_input.payload_size = size;
	for (uint32_t i = 0; i < size && i < sizeof(post_input.payload); i++)
		dst[i] = src[i];
	return (uint32_t)hypercall(HvCallPostMessage, (uintptr_t)&post_input, 0) & 0xffff;
}

static uint32_t hv_signal(void *ctx, uint32_t connection_id)
{
	(void)ctx;
	return (uint32_t)hypercall(HvCallSignalEvent | HV_FAST_CALL, connection_id, 0) & 0xffff;
}

static void hv_eom(void *ctx)
{
	(void)ctx;
	wrmsr(MSR_EOM, 0);
}

/* About a millisecond. */
static bool hv_wait(void *ctx)
{
	struct hv_platform *hp = ctx;

	if (hp->ref_counter) {
		uint64_t t0 = rdmsr(MSR_TIME_REF_COUNT);

		while (rdmsr(MSR_TIME_REF_COUNT) - t0 < 10000) /* 100 ns units */
			__builtin_ia32_pause();
	} else {
		for (int i = 0; i < 20000; i++)
			__builtin_ia32_pause();
	}
	return true;
}

static void hv_log(void *ctx, const char *msg)
{
	(void)ctx;
	hv_print("%s\n", msg);
}

/* The end of the e820 RAM region holding 1 MiB, where the image runs. */
static uint64_t ram_end(const uint8_t *bp)
{
	uint8_t n = bp[0x1e8];

	for (uint8_t i = 0; i < n && i < 128; i++) {
		const uint8_t *e = bp + 0x2d0 + i * 20;
		uint64_t addr, size;
		uint32_t type;

		__builtin_memcpy(&addr, e, 8);
		__builtin_memcpy(&size, e + 8, 8);
		__builtin_memcpy(&type, e + 16, 4);
		if (type == 1 && addr <= 0x100000 && addr + size > 0x100000)
			return addr + size;
	}
	return 0;
}

const char *hv_platform_init(struct hv_platform *hp, const uint8_t *boot_params)
{
	uint32_t r[4];

	hp->ram_end = ram_end(boot_params);
	if (hp->ram_end < POOL_BASE + 4 * 1024 * 1024)
		return "less than 20 MiB of RAM at 1 MiB in the e820 table";
	hp->pool_base = POOL_BASE;
	hp->pool_pages = (uint32_t)((hp->ram_end - POOL_BASE) / PAGE);
	if (hp->pool_pages > POOL_MAX_PAGES)
		hp->pool_pages = POOL_MAX_PAGES;
	cpuid(0x40000000, r);
	if (r[0] < 0x40000005 || r[1] != 0x7263694d || r[2] != 0x666f736f || r[3] != 0x76482074)
		return "no \"Microsoft Hv\" CPUID leaves";
	cpuid(0x40000003, r);
	if (!(r[0] & (1u << 5)) || !(r[0] & (1u << 2)))
		return "no hypercall or SynIC MSRs (CPUID 0x40000003.EAX)";
	hp->ref_counter = r[0] & (1u << 1);
	/* An open-source Linux-like guest id; the hypercall page needs any non-zero id. */
	wrmsr(MSR_GUEST_OS_ID, 0x8100000000000000ull | 1);
	wrmsr(MSR_HYPERCALL, (uintptr_t)hypercall_page | 1);
	if (!(rdmsr(MSR_HYPERCALL) & 1))
		return "the hypercall page did not enable";
	hp->plat = (struct vsc_platform){
	    .ctx = hp,
	    .vp_index = 0,
	    .map = hv_map,
	    .alloc_pages = hv_alloc,
	    .free_pages = hv_free,
	    .setup_synic = hv_setup_synic,
	    .post_message = hv_post,
	    .signal_event = hv_signal,
	    .eom = hv_eom,
	    .wait = hv_wait,
	    .log = hv_log,
	    .mmio_read = hv_mmio_read,
	    .mmio_write = hv_mmio_write,
	};
	return NULL;
}
