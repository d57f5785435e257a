// SPDX-License-Identifier: MIT
/*
 * GPADL assembly and validation (gpadl.h). Linux sends one range with
 * byte_offset 0; the PFN count follows from range_buflen, and PFNs that do
 * not fit in the header come in GPADL_BODY messages of up to 28 each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <linhv/vmbus_proto.h>
#include <linhv/winhv.h>

#include "gpadl.h"
#include "vmbus_vsp.h"

#define PAGE 4096u
#define MAX_PFN ((1ull << 52) - 1)

struct vmbus_gpadl *vmbus_gpadl_find(struct vmbus_gpadls *t, uint32_t handle)
{
	for (struct vmbus_gpadl *g = t->list; g; g = g->next)
		if (g->handle == handle)
			return g;
	return NULL;
}

void vmbus_gpadl_free(struct vmbus_gpadls *t, struct vmbus_gpadl *g)
{
	pthread_mutex_lock(&t->lock);
	for (struct vmbus_gpadl **pp = &t->list; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	t->count--;
	t->total_pages -= g->npages;
	pthread_mutex_unlock(&t->lock);
	free(g->pfns);
	free(g->pages);
	free(g);
}

void vmbus_gpadl_free_all(struct vmbus_gpadls *t)
{
	while (t->list)
		vmbus_gpadl_free(t, t->list);
}

/* All PFNs arrived: translate each page, or fail the whole GPADL. */
static enum vmbus_gpadl_result finish(struct vmbus_gpadls *t, struct winhv_partition *p,
				      struct vmbus_gpadl *g, const char **why)
{
	uint8_t **pages = calloc(g->npages, sizeof(*pages));

	if (!pages) {
		*why = "out of memory";
		goto fail;
	}
	for (uint32_t i = 0; i < g->npages; i++) {
		if (g->pfns[i] > MAX_PFN ||
		    !(pages[i] = WinHvGpaToHva(p, g->pfns[i] * PAGE, PAGE))) {
			*why = "a PFN lies outside guest RAM";
			free(pages);
			goto fail;
		}
	}
	/* Published whole: data threads look for complete GPADLs under the lock. */
	pthread_mutex_lock(&t->lock);
	g->pages = pages;
	pthread_mutex_unlock(&t->lock);
	free(g->pfns);
	g->pfns = NULL;
	return VMBUS_GPADL_CREATED;
fail:
	vmbus_gpadl_free(t, g);
	return VMBUS_GPADL_FAILED;
}

static uint32_t take_pfns(struct vmbus_gpadl *g, const uint8_t *src, uint32_t avail)
{
	uint32_t n = g->npages - g->received;

	if (n > avail)
		n = avail;
	memcpy(&g->pfns[g->received], src, (size_t)n * 8);
	g->received += n;
	return n;
}

enum vmbus_gpadl_result vmbus_gpadl_header(struct vmbus_gpadls *t, struct winhv_partition *p,
					   const uint8_t *msg, uint32_t size, uint32_t *handle,
					   uint32_t *relid, const char **why)
{
	struct vmbus_msg_gpadl_header h;
	struct vmbus_gpa_range range;
	struct vmbus_gpadl *g;
	uint32_t npages, avail;
	const uint32_t fixed = sizeof(h) + sizeof(range);

	if (size < sizeof(h)) {
		*why = "GPADL_HEADER too short";
		return VMBUS_GPADL_DROP;
	}
	memcpy(&h, msg, sizeof(h));
	*handle = h.gpadl;
	*relid = h.child_relid;
	if (vmbus_gpadl_find(t, h.gpadl)) {
		/* Answering would confuse the guest about the existing one. */
		*why = "GPADL handle already in use";
		return VMBUS_GPADL_DROP;
	}
	if (size < fixed) {
		*why = "GPADL_HEADER without a range";
		return VMBUS_GPADL_FAILED;
	}
	memcpy(&range, msg + sizeof(h), sizeof(range));
	/* One range starting at offset 0, as Linux builds them. */
	if (h.rangecount != 1 || range.byte_offset != 0 || range.byte_count == 0 ||
	    h.range_buflen < sizeof(range) + 8 || (h.range_buflen - sizeof(range)) % 8) {
		*why = "unsupported GPADL range layout";
		return VMBUS_GPADL_FAILED;
	}
	npages = (h.range_buflen - (uint32_t)sizeof(range)) / 8;
	if (npages != (range.byte_count + (uint64_t)PAGE - 1) / PAGE) {
		*why = "GPADL byte_count does not match its PFN count";
		return VMBUS_GPADL_FAILED;
	}
	if (npages > VMBUS_GPADL_MAX_PAGES || t->count >= VMBUS_GPADL_MAX_COUNT ||
	    t->total_pages + npages > VMBUS_GPADL_MAX_TOTAL_PAGES) {
		*why = "GPADL limits exceeded";
		return VMBUS_GPADL_FAILED;
	}
	g = calloc(1, sizeof(*g));
	if (!g || !(g->pfns = calloc(npages, sizeof(*g->pfns)))) {
		free(g);
		*why = "out of memory";
		return VMBUS_GPADL_FAILED;
	}
	g->handle = h.gpadl;
	g->child_relid = h.child_relid;
	g->npages = npages;
	g->byte_count = range.byte_count;
	pthread_mutex_lock(&t->lock);
	g->next = t->list;
	t->list = g;
	t->count++;
	t->total_pages += npages;
	pthread_mutex_unlock(&t->lock);
	avail = (size - fixed) / 8;
	take_pfns(g, msg + fixed, avail);
	if (g->received < g->npages)
		return VMBUS_GPADL_MORE;
	return finish(t, p, g, why);
}

enum vmbus_gpadl_result vmbus_gpadl_body(struct vmbus_gpadls *t, struct winhv_partition *p,
					 const uint8_t *msg, uint32_t size, uint32_t *handle,
					 uint32_t *relid, const char **why)
{
	struct vmbus_msg_gpadl_body b;
	struct vmbus_gpadl *g;
	uint32_t avail;

	if (size < sizeof(b) + 8) {
		*why = "GPADL_BODY too short";
		return VMBUS_GPADL_DROP;
	}
	memcpy(&b, msg, sizeof(b));
	*handle = b.gpadl;
	g = vmbus_gpadl_find(t, b.gpadl);
	if (!g || g->pages || g->received == g->npages) {
		*why = "GPADL_BODY for no GPADL under construction";
		return VMBUS_GPADL_DROP;
	}
	*relid = g->child_relid;
	avail = (size - (uint32_t)sizeof(b)) / 8;
	if (avail > g->npages - g->received) {
		*why = "GPADL_BODY carries more PFNs than announced";
		vmbus_gpadl_free(t, g);
		return VMBUS_GPADL_FAILED;
	}
	take_pfns(g, msg + sizeof(b), avail);
	if (g->received < g->npages)
		return VMBUS_GPADL_MORE;
	return finish(t, p, g, why);
}

/* The copy loop shared by GPADLs (on the loop) and views (any thread). */
static int pages_copy(uint8_t *const *pages, uint32_t bytes, uint64_t offset, void *buf,
		      uint32_t len, bool to_guest)
{
	uint8_t *b = buf;

	if (!pages || offset > bytes || len > bytes - offset)
		return -ERANGE;
	while (len) {
		uint32_t po = offset % PAGE, n = PAGE - po;
		uint8_t *page = pages[offset / PAGE];

		if (n > len)
			n = len;
		if (to_guest)
			memcpy(page + po, b, n);
		else
			memcpy(b, page + po, n);
		b += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int vmbus_gpadl_copy(const struct vmbus_gpadl *g, uint64_t offset, void *buf, uint32_t len,
		     bool to_guest)
{
	return pages_copy(g->pages, g->byte_count, offset, buf, len, to_guest);
}

/* ---- Views (vmbus_vsp.h) ---- */

int vmbus_gpadls_view_get(struct vmbus_gpadls *t, uint32_t handle, uint32_t relid,
			  uint32_t primary_relid, struct vmbus_gpadl_view *view)
{
	struct vmbus_gpadl *g;
	int ret = 0;

	memset(view, 0, sizeof(*view));
	pthread_mutex_lock(&t->lock);
	g = vmbus_gpadl_find(t, handle);
	if (!g || !g->pages || (g->child_relid != relid && g->child_relid != primary_relid))
		ret = -ENOENT;
	else if (g->teardown_pending)
		ret = -EBUSY;
	else {
		g->users++;
		view->handle = g->handle;
		view->bytes = g->byte_count;
		view->npages = g->npages;
		view->pages = g->pages;
		view->priv = g;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

bool vmbus_gpadls_view_put(struct vmbus_gpadls *t, struct vmbus_gpadl_view *view)
{
	struct vmbus_gpadl *g = view->priv;
	bool reap;

	if (!g)
		return false;
	pthread_mutex_lock(&t->lock);
	reap = --g->users == 0 && g->teardown_pending;
	pthread_mutex_unlock(&t->lock);
	memset(view, 0, sizeof(*view));
	return reap;
}

int vmbus_gpadl_view_iov(const struct vmbus_gpadl_view *v, uint64_t offset, uint32_t len,
			 struct iovec *iov, uint32_t max)
{
	uint32_t n = 0;

	if (!v->pages || offset > v->bytes || len > v->bytes - offset)
		return -ERANGE;
	while (len) {
		uint32_t po = offset % PAGE, chunk = PAGE - po;
		uint8_t *hva = v->pages[offset / PAGE] + po;

		if (chunk > len)
			chunk = len;
		if (!vmbus_iov_append(iov, &n, max, hva, chunk))
			return -E2BIG;
		offset += chunk;
		len -= chunk;
	}
	return (int)n;
}

int vmbus_gpadl_view_copy(const struct vmbus_gpadl_view *v, uint64_t offset, void *buf,
			  uint32_t len, bool to_guest)
{
	return pages_copy(v->pages, v->bytes, offset, buf, len, to_guest);
}
