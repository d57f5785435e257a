// SPDX-License-Identifier: MIT
/*
 * The hostile-guest test image: a freestanding bzImage that vmwp boots like
 * a Linux kernel. It runs the vsc-guest hostile suite (vsc/hostile.h) against
 * the worker's VMBus server and integration services, prints one line per
 * check on COM1, then keeps its ICs answering (heartbeat, KVP) until the host
 * asks for a shutdown through the shutdown IC, and powers off.
 *
 * Output: "GUEST-PASS: name (detail)", "GUEST-FAIL: name (detail)",
 * "GUEST-DONE passed=N failed=M", "GUEST-SHUTDOWN".
 */
#include <vsc/hostile.h>

#include "hv_platform.h"

void image_main(const uint8_t *boot_params);
void image_exception(const uint64_t *frame);
extern const uint64_t image_exc_stubs[32];

/* 64-bit interrupt gates for the exception vectors (head.S). */
static uint64_t idt[32 * 2] __attribute__((aligned(16)));

static void install_idt(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d = {sizeof(idt) - 1, (uintptr_t)idt};
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (int v = 0; v < 32; v++) {
		uint64_t h = image_exc_stubs[v];

		idt[v * 2] = (h & 0xffff) | ((uint64_t)cs << 16) | (0x8eULL << 40) |
			     ((h >> 16 & 0xffff) << 48);
		idt[v * 2 + 1] = h >> 32;
	}
	__asm__ volatile("lidt %0" : : "m"(d));
}

/* frame: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS. */
void image_exception(const uint64_t *frame)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	hv_print("GUEST-FAIL: exception %lu (error %lx) at rip %lx rsp %lx cr2 %lx\n",
		 (unsigned long)frame[0], (unsigned long)frame[1], (unsigned long)frame[2],
		 (unsigned long)frame[5], (unsigned long)cr2);
	hv_poweroff();
}

static struct hv_platform hp;
static struct vsc_vmbus bus;
static struct vsc_hostile hs;
/* What the host's status shows once the attacks are over: KVP still works. */
static const struct vsc_kvp_pair kvp_pool[] = {
    {"FullyQualifiedDomainName", "vsc-hostile-guest"},
    {"OSName", "vsc-guest test image"},
};

/*
 * Options on the kernel command line (boot_params' cmd_line_ptr):
 * hostile.vpci_window=HEX places the vPCI config window (and enables the
 * vPCI attacks), hostile.vps=N is the VM's VP count, hostile.only=vpci runs
 * the vPCI attacks alone after connecting.
 */
static uint64_t parse_num(const char *s, int base)
{
	uint64_t v = 0;

	if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (;; s++) {
		int d = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
						 : 99;

		if (d >= base)
			return v;
		v = v * (uint64_t)base + (uint64_t)d;
	}
}

static bool word_is(const char *w, const char *key, const char **val)
{
	while (*key && *w == *key) {
		w++;
		key++;
	}
	if (*key)
		return false;
	*val = w;
	return true;
}

static void parse_cmdline(const uint8_t *boot_params, struct vsc_hostile *h)
{
	uint32_t ptr;
	const char *c, *v;

	__builtin_memcpy(&ptr, boot_params + 0x228, 4);
	if (!ptr)
		return;
	for (c = (const char *)(uintptr_t)ptr; *c;) {
		while (*c == ' ')
			c++;
		if (word_is(c, "hostile.vpci_window=", &v))
			h->vpci_window = parse_num(v, 16);
		else if (word_is(c, "hostile.vps=", &v))
			h->nr_vps = (uint32_t)parse_num(v, 10);
		else if (word_is(c, "hostile.only=vpci", &v) && (*v == ' ' || !*v))
			h->vpci_only = true;
		while (*c && *c != ' ')
			c++;
	}
}

static void on_result(void *ctx, const char *name, bool ok, const char *detail)
{
	(void)ctx;
	hv_print("GUEST-%s: %s%s%s%s\n", ok ? "PASS" : "FAIL", name, *detail ? " (" : "", detail,
		 *detail ? ")" : "");
}

void image_main(const uint8_t *boot_params)
{
	const char *why;
	struct vsc_ic *sd = &hs.ic[VSC_HOSTILE_SD];

	install_idt();
	hv_print("vsc-guest hostile image\n");
	why = hv_platform_init(&hp, boot_params);
	if (why) {
		hv_print("GUEST-FAIL: platform (%s)\nGUEST-DONE passed=0 failed=1\n", why);
		hv_poweroff();
	}
	hv_print("GUEST-RAM end=%lx\n", (unsigned long)hp.ram_end);
	if (vsc_vmbus_init(&bus, &hp.plat)) {
		hv_print("GUEST-FAIL: SynIC pages\nGUEST-DONE passed=0 failed=1\n");
		hv_poweroff();
	}
	bus.wait_limit = 30000; /* 30 s per answer: the host may be emulated and busy */
	hs.bus = &bus;
	hs.ram_end = hp.ram_end;
	hs.result = on_result;
	hs.kvp_pool = kvp_pool;
	hs.kvp_count = sizeof(kvp_pool) / sizeof(kvp_pool[0]);
	parse_cmdline(boot_params, &hs);
	vsc_hostile_run(&hs);
	hv_print("GUEST-DONE passed=%u failed=%u\n", hs.passed, hs.failed);
	if (!sd->ch.open) {
		hv_print("GUEST-SHUTDOWN no shutdown IC: powering off now\n");
		hv_poweroff();
	}
	/* Serve until the host asks to go. */
	while (!sd->shutdown_requested)
		vsc_hostile_pump(&hs, 100);
	vsc_hostile_pump(&hs, 50); /* let the answer reach the host */
	hv_print("GUEST-SHUTDOWN flags=%x\n", sd->shutdown_flags);
	if (sd->shutdown_flags & IC_SHUTDOWN_FLAG_REBOOT)
		hv_reboot();
	hv_poweroff();
}
