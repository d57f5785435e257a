// SPDX-License-Identifier: MIT
/*
 * The hostile guest against the vPCI VSP (vsc/hostile.h), offered when the
 * VM has an assigned device. After the handshake pci-hyperv does (version,
 * bus relations, D0 entry, resource requirements): messages that lie (short,
 * unknown, a slot with reserved bits, interrupt requests for no vectors or
 * too many VPs) must get the channel rescinded; well-formed requests the
 * host cannot grant (a function or a VP that does not exist, an exception
 * vector, a config window in RAM) must get a failure status with the
 * channel still working. With an MMIO-capable platform the config window is
 * probed too: the function's IDs, a slot that does not exist, accesses of
 * every size at the window's end, BAR sizing. The wire format is written out
 * here: this file is freestanding.
 */
#include <stddef.h>

#include <vsc/hostile.h>

#include "hostile_internal.h"
#include "util.h"

static const struct vmbus_guid vpci_guid =
    VMBUS_GUID_INIT(0x44c4f61d, 0x4444, 0x4400, 0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f);

#define MSG_BUS_RELATIONS2 0x42490019u
#define MSG_QUERY_RELATIONS 0x42490001u
#define MSG_RESOURCE_REQS 0x42490005u
#define MSG_D0_ENTRY 0x42490007u
#define MSG_D0_EXIT 0x42490008u
#define MSG_RESOURCES_ASSIGNED2 0x42490016u
#define MSG_QUERY_VERSION 0x42490013u
#define MSG_CREATE_INTERRUPT3 0x4249001Bu
#define VERSION_1_4 0x10004u
#define CONFIG_PAGE 0x1000u
#define STATUS_INVALID_PARAMETER                                                                   \
	((int32_t)0xC000000Du) /* the function's config space, after the slot selector */

enum attack {
	SHORT_D0,
	UNKNOWN_TYPE,
	RESERVED_SLOT,
	NO_VECTORS,
	TOO_MANY_VPS,
	NR_ATTACKS,
};

static const char *const attack_names[NR_ATTACKS] = {
    "vpci: a D0 entry shorter than its message closes the channel",
    "vpci: an unknown message type closes the channel",
    "vpci: a slot with reserved bits set closes the channel",
    "vpci: an interrupt request for no vectors closes the channel",
    "vpci: an interrupt request naming 33 VPs closes the channel",
};

struct vbus {
	struct vsc_channel ch;
	uint64_t tid;
	uint32_t slot; /* the first function's */
	uint32_t ids;  /* its vendor | device << 16 */
	uint32_t probed_bar0;
};

static int send(struct vbus *b, const void *m, uint32_t len, bool completion)
{
	return vsc_channel_send(&b->ch, VMBUS_PKT_DATA_INBAND,
				completion ? VMBUS_PKT_FLAG_COMPLETION_REQUESTED : 0, ++b->tid, m,
				len);
}

/*
 * Wait for the completion of the last request (up to cap bytes of its
 * payload into out) or, with want_type, for a host message of that type.
 * The payload's length, or -1 after the wait limit.
 */
static int wait_msg(struct vsc_hostile *h, struct vbus *b, uint32_t want_type, uint8_t *out,
		    uint32_t cap)
{
	uint8_t buf[512] __attribute__((aligned(8)));
	uint32_t len;

	for (uint32_t k = 0; k < h->bus->wait_limit; k++) {
		const struct vmbus_packet_descriptor *d = (const void *)buf;
		uint32_t at, n;

		if (vsc_channel_recv(&b->ch, buf, sizeof(buf), &len) != VSC_RING_OK) {
			vsc_hostile_pump(h, 1);
			continue;
		}
		at = d->offset8 * 8u;
		if (at > len)
			continue;
		n = len - at;
		if (want_type ? (d->type != VMBUS_PKT_DATA_INBAND || n < 4 ||
				 vsc_load32(buf + at) != want_type)
			      : (d->type != VMBUS_PKT_COMP || d->trans_id != b->tid))
			continue;
		vsc_memcpy(out, buf + at, n < cap ? n : cap);
		return (int)n;
	}
	return -1;
}

/* Send m and wait for its completion; its status, or 1 for no answer. */
static int32_t request(struct vsc_hostile *h, struct vbus *b, const void *m, uint32_t len,
		       uint8_t *out, uint32_t cap)
{
	uint8_t tmp[32] __attribute__((aligned(8)));

	if (!out) {
		out = tmp;
		cap = sizeof(tmp);
	}
	if (send(b, m, len, true) != VSC_RING_OK || wait_msg(h, b, 0, out, cap) < 4)
		return 1;
	return (int32_t)vsc_load32(out);
}

static int32_t child_msg(struct vsc_hostile *h, struct vbus *b, uint32_t type, uint32_t slot,
			 uint8_t *out, uint32_t cap)
{
	uint8_t m[8] __attribute__((aligned(8)));

	vsc_store32(m, type);
	vsc_store32(m + 4, slot);
	return request(h, b, m, sizeof(m), out, cap);
}

static int32_t d0_entry(struct vsc_hostile *h, struct vbus *b, uint64_t base)
{
	uint8_t m[16] __attribute__((aligned(8)));

	vsc_memset(m, 0, sizeof(m));
	vsc_store32(m, MSG_D0_ENTRY);
	vsc_store64(m + 8, base);
	return request(h, b, m, sizeof(m), NULL, 0);
}

/* RESOURCES_ASSIGNED2 for the first function, as Linux sends it (ranges 0). */
static int32_t resources_assigned(struct vsc_hostile *h, struct vbus *b)
{
	uint8_t m[202] __attribute__((aligned(8)));

	vsc_memset(m, 0, sizeof(m));
	vsc_store32(m, MSG_RESOURCES_ASSIGNED2);
	vsc_store32(m + 4, b->slot);
	vsc_store32(m + 8 + 6 * 0x14, 1); /* msi_count */
	return request(h, b, m, sizeof(m), NULL, 0);
}

/* CREATE_INTERRUPT3 (1.4) for the first function. */
static int32_t create_int(struct vsc_hostile *h, struct vbus *b, uint32_t vector, uint16_t count,
			  uint16_t vp_count, uint16_t vp)
{
	uint8_t m[82] __attribute__((aligned(8)));

	vsc_memset(m, 0, sizeof(m));
	vsc_store32(m, MSG_CREATE_INTERRUPT3);
	vsc_store32(m + 4, b->slot);
	vsc_store32(m + 8, vector);
	m[13] = 0; /* fixed delivery */
	vsc_store16(m + 14, count);
	vsc_store16(m + 16, vp_count);
	for (uint32_t i = 0; i < vp_count && i < 32; i++)
		vsc_store16(m + 18 + 2 * i, vp);
	return request(h, b, m, sizeof(m), NULL, 0);
}

/*
 * Open the bus as pci-hyperv does up to the BAR probe: version 1.4, the bus
 * relations (one function at least), D0 entry with the window at window (0:
 * stop before it). NULL, or what failed.
 */
static const char *open_vpci(struct vsc_hostile *h, struct vbus *b, uint64_t window)
{
	const struct vsc_offer *o = NULL;
	uint8_t m[8] __attribute__((aligned(8)));
	uint8_t rel[64] __attribute__((aligned(8)));
	uint8_t reqs[28] __attribute__((aligned(8)));

	for (uint32_t n = 0; !o && n < h->bus->wait_limit; n++) {
		o = vsc_vmbus_find_offer(h->bus, &vpci_guid, 0);
		if (!o)
			vsc_hostile_pump(h, 1);
	}
	if (!o)
		return "no vPCI offer";
	if (vsc_channel_open(h->bus, &b->ch, o, 4, 4, 0))
		return "open";
	vsc_store32(m, MSG_QUERY_VERSION);
	vsc_store32(m + 4, VERSION_1_4);
	if (request(h, b, m, sizeof(m), NULL, 0) != 0)
		return "version 1.4 refused";
	vsc_store32(m, MSG_QUERY_RELATIONS);
	vsc_store32(m + 4, 0);
	if (send(b, m, 4, false) != VSC_RING_OK ||
	    wait_msg(h, b, MSG_BUS_RELATIONS2, rel, sizeof(rel)) < 8 + 28)
		return "no bus relations";
	if (vsc_load32(rel + 4) < 1)
		return "no function on the bus";
	b->ids = vsc_load32(rel + 8);
	b->slot = vsc_load32(rel + 8 + 12);
	if (!window)
		return NULL;
	if (d0_entry(h, b, window) != 0)
		return "D0 entry refused";
	if (child_msg(h, b, MSG_RESOURCE_REQS, b->slot, reqs, sizeof(reqs)) != 0)
		return "resource requirements refused";
	b->probed_bar0 = vsc_load32(reqs + 4);
	return NULL;
}

static int send_attack(struct vbus *b, enum attack a)
{
	uint8_t m[82] __attribute__((aligned(8)));

	vsc_memset(m, 0, sizeof(m));
	switch (a) {
	case SHORT_D0: /* 8 of its 16 bytes */
		vsc_store32(m, MSG_D0_ENTRY);
		return send(b, m, 8, true);
	case UNKNOWN_TYPE:
		vsc_store32(m, 0x424900F0u);
		return send(b, m, 16, true);
	case RESERVED_SLOT:
		vsc_store32(m, MSG_RESOURCE_REQS);
		vsc_store32(m + 4, b->slot | 0x100u);
		return send(b, m, 8, true);
	case NO_VECTORS:
	case TOO_MANY_VPS:
		vsc_store32(m, MSG_CREATE_INTERRUPT3);
		vsc_store32(m + 4, b->slot);
		vsc_store32(m + 8, 0x40);
		vsc_store16(m + 14, a == NO_VECTORS ? 0 : 1);
		vsc_store16(m + 16, a == NO_VECTORS ? 1 : 33);
		return send(b, m, sizeof(m), true);
	default:
		return VSC_RING_FULL;
	}
}

static void close_vpci(struct vsc_hostile *h, struct vbus *b)
{
	uint8_t m[8] __attribute__((aligned(8)));

	vsc_store32(m, MSG_D0_EXIT);
	vsc_store32(m + 4, 0);
	request(h, b, m, sizeof(m), NULL, 0);
	vsc_channel_close(&b->ch);
}

/* The config window through the platform's MMIO accessors. */
static uint64_t cfg_rd(const struct vsc_platform *p, uint64_t gpa, uint32_t size)
{
	return p->mmio_read(p->ctx, gpa, size);
}

static void config_window(struct vsc_hostile *h, struct vbus *b, uint64_t win)
{
	const struct vsc_platform *p = h->bus->plat;
	static const uint32_t offs[] = {0xFF8, 0xFFC, 0xFFD, 0xFFE, 0xFFF};
	uint32_t ids, none, sized;

	p->mmio_write(p->ctx, win, 4, b->slot);
	ids = (uint32_t)cfg_rd(p, win + CONFIG_PAGE, 4);
	report(h, "vpci config: the function's IDs read through the window", ids == b->ids,
	       "%x, bus relations said %x", ids, b->ids);

	p->mmio_write(p->ctx, win, 4, 0x1f); /* device 31: not on this bus */
	none = (uint32_t)cfg_rd(p, win + CONFIG_PAGE, 4);
	report(h, "vpci config: a slot that does not exist reads all ones", none == 0xffffffffu,
	       "%x", none);

	/* Every size at the window's end, reads and writes: nothing breaks. */
	p->mmio_write(p->ctx, win, 4, b->slot);
	for (uint32_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (uint32_t size = 1; size <= 8; size *= 2) {
			(void)cfg_rd(p, win + CONFIG_PAGE + offs[i], size);
			p->mmio_write(p->ctx, win + CONFIG_PAGE + offs[i], size, ~0ull);
		}
	p->mmio_write(p->ctx, win + 2, 2, 0xffff); /* half a selector */
	p->mmio_write(p->ctx, win, 4, b->slot);
	ids = (uint32_t)cfg_rd(p, win + CONFIG_PAGE, 4);
	report(h, "vpci config: accesses of every size at the window's end are harmless",
	       ids == b->ids, "IDs read %x afterwards", ids);

	/* BAR sizing as the PCI core does it: the probe value the host gave. */
	p->mmio_write(p->ctx, win + CONFIG_PAGE + 0x10, 4, 0xffffffffu);
	sized = (uint32_t)cfg_rd(p, win + CONFIG_PAGE + 0x10, 4);
	p->mmio_write(p->ctx, win + CONFIG_PAGE + 0x10, 4, 0);
	report(h, "vpci config: BAR 0 sized through the window as the host probed it",
	       sized == b->probed_bar0, "%x, probe %x", sized, b->probed_bar0);
}

void vsc_hostile_vpci(struct vsc_hostile *h)
{
	uint64_t window = h->vpci_window;
	uint32_t nr_vps = h->nr_vps ? h->nr_vps : 1;
	const struct vsc_platform *p = h->bus->plat;
	struct vbus b;
	const char *bad = NULL;
	int32_t st;

	if (!window || !vsc_vmbus_find_offer(h->bus, &vpci_guid, 0))
		return; /* no assigned device: nothing to attack */

	/* Requests the host cannot grant: a failure status, the channel lives on. */
	vsc_memset(&b, 0, sizeof(b));
	bad = open_vpci(h, &b, 0);
	if (bad)
		return (void)report(h, "vpci: open and handshake", false, "failed: %s", bad);
	st = d0_entry(h, &b, 0x100000);
	report(h, "vpci: a config window in RAM is refused", st < 0 && st != 1, "status %x",
	       (uint32_t)st);
	st = d0_entry(h, &b, window);
	report(h, "vpci: a config window in the VMBus MMIO range is taken", st == 0, "status %x",
	       (uint32_t)st);
	st = resources_assigned(h, &b);
	report(h, "vpci: resources assigned for the function", st == 0, "status %x", (uint32_t)st);
	st = child_msg(h, &b, MSG_RESOURCE_REQS, (b.slot + 1) & 0x1f, NULL, 0);
	report(h, "vpci: resource requirements of a function that does not exist: failure",
	       st < 0 && st != 1, "status %x", (uint32_t)st);
	st = create_int(h, &b, 0x40, 1, 1, (uint16_t)(nr_vps + 7));
	report(h, "vpci: an interrupt for a VP that does not exist: invalid parameter",
	       st == STATUS_INVALID_PARAMETER, "status %x", (uint32_t)st);
	st = create_int(h, &b, 2, 1, 1, 0);
	report(h, "vpci: an interrupt at exception vector 2: invalid parameter",
	       st == STATUS_INVALID_PARAMETER, "status %x", (uint32_t)st);
	if (p->mmio_read && p->mmio_write) {
		uint8_t reqs[28] __attribute__((aligned(8)));

		/* The probe values the sizing check compares with. */
		if (child_msg(h, &b, MSG_RESOURCE_REQS, b.slot, reqs, sizeof(reqs)) == 0)
			b.probed_bar0 = vsc_load32(reqs + 4);
		config_window(h, &b, window);
	}
	close_vpci(h, &b);

	for (int a = 0; a < NR_ATTACKS; a++) {
		vsc_memset(&b, 0, sizeof(b));
		bad = open_vpci(h, &b, window);
		if (!bad && send_attack(&b, (enum attack)a) != VSC_RING_OK)
			bad = "sending the attack";
		if (!bad)
			bad = vsc_hostile_expect_reoffer(h, &b.ch, &vpci_guid);
		report(h, attack_names[a], !bad, bad ? "failed: %s" : NULL, bad);
		if (bad)
			break;
		h->bus->nr_pending = 0;
	}
	if (!bad) {
		vsc_memset(&b, 0, sizeof(b));
		bad = open_vpci(h, &b, window);
		if (!bad)
			close_vpci(h, &b);
	}
	report(h, "vpci: the bus is offered again and answers after the attacks", !bad,
	       bad ? "failed: %s" : NULL, bad);
}
