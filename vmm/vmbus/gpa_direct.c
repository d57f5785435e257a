// SPDX-License-Identifier: MIT
/*
 * GPA-direct packets (type 9): the guest names the pages of a transfer by
 * PFN, and the VSP moves data straight between them and its backend. The
 * range list is read from the packet copy the ring code made (so the guest
 * cannot change it under us), checked once, and turned into host iovecs.
 */
#include <errno.h>
#include <string.h>

#include <linhv/vmbus_proto.h>
#include <linhv/winhv.h>

#include "vmbus_internal.h"

#define PAGE 4096u
#define MAX_PFN ((1ull << 52) - 1)

static int bad(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

int vmbus_gpa_direct_parse(struct winhv_partition *p, const uint8_t *raw, uint32_t raw_len,
			   struct vmbus_gpa_direct *out, const char **why)
{
	struct vmbus_gpa_direct_header h;
	uint32_t at, end, pages = 0;

	*why = NULL;
	out->nranges = 0;
	out->bytes = 0;
	out->niov = 0;
	if (raw_len < sizeof(h))
		return bad(why, "GPA-direct packet shorter than its header");
	memcpy(&h, raw, sizeof(h));
	if (h.d.type != VMBUS_PKT_DATA_USING_GPA_DIRECT)
		return bad(why, "not a GPA-direct packet");
	end = h.d.offset8 * 8u;
	if (end > raw_len || end < sizeof(h))
		return bad(why, "GPA-direct data offset out of bounds");
	if (h.range_cnt == 0)
		return bad(why, "GPA-direct packet without ranges");
	at = sizeof(h);
	for (uint32_t r = 0; r < h.range_cnt; r++) {
		uint32_t len, off, n;

		if (end - at < 8)
			return bad(why, "GPA-direct range list overruns the packet");
		memcpy(&len, raw + at, 4);
		memcpy(&off, raw + at + 4, 4);
		at += 8;
		if (len == 0)
			return bad(why, "GPA-direct range of zero bytes");
		if (off >= PAGE)
			return bad(why, "GPA-direct range offset beyond its first page");
		n = (uint32_t)(((uint64_t)off + len + PAGE - 1) / PAGE);
		if (n > VMBUS_GPA_DIRECT_MAX_PAGES - pages)
			return -E2BIG;
		if ((end - at) / 8 < n)
			return bad(why, "GPA-direct PFN list overruns the packet");
		for (uint32_t i = 0; i < n; i++, at += 8) {
			uint64_t pfn;
			uint32_t po = i ? 0 : off, chunk = PAGE - po;
			uint8_t *hva;

			memcpy(&pfn, raw + at, 8);
			if (chunk > len)
				chunk = len;
			if (pfn > MAX_PFN || !(hva = WinHvGpaToHva(p, pfn * PAGE, PAGE)))
				return bad(why, "GPA-direct page outside guest RAM");
			hva += po;
			/* n pages were counted against the cap above: this cannot fail. */
			vmbus_iov_append(out->iov, &out->niov, VMBUS_GPA_DIRECT_MAX_PAGES, hva,
					 chunk);
			len -= chunk;
			out->bytes += chunk;
		}
		pages += n;
		out->nranges++;
	}
	return 0;
}

int vmbus_packet_gpa_direct(struct vmbus_channel *chan, const struct vmbus_packet *pkt,
			    struct vmbus_gpa_direct *out, const char **why)
{
	return vmbus_gpa_direct_parse(chan->server->partition, pkt->raw, pkt->raw_len, out, why);
}
