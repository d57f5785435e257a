/* SPDX-License-Identifier: MIT */
/*
 * GPADLs: guest page lists the guest describes with GPADL_HEADER and
 * GPADL_BODY messages and refers to by a handle it picks. Each page is
 * checked against guest RAM once, when the list is complete, and kept as a
 * host pointer from then on.
 */
#ifndef VMBUS_GPADL_H
#define VMBUS_GPADL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct winhv_partition;

/* Limits a guest cannot exceed (messages beyond them fail the GPADL). */
#define VMBUS_GPADL_MAX_PAGES (1u << 18) /* 1 GiB in one GPADL */
#define VMBUS_GPADL_MAX_COUNT 4096
#define VMBUS_GPADL_MAX_TOTAL_PAGES (1u << 22) /* 16 GiB over all GPADLs */

struct vmbus_gpadl {
	uint32_t handle;
	uint32_t child_relid;
	uint32_t npages;   /* pages described */
	uint32_t received; /* PFNs received so far */
	uint32_t byte_count;
	uint64_t *pfns;
	uint8_t **pages; /* host addresses, once complete */
	uint32_t users;	 /* rings and VSP views using it; teardown waits for 0 */
	bool teardown_pending;
	struct vmbus_gpadl *next;
};

/*
 * The list is changed only on the event loop, with lock held; data threads
 * look GPADLs up and take or drop views (users) under lock, so the loop
 * reads the list without it but changes users and teardown_pending with it.
 */
struct vmbus_gpadls {
	pthread_mutex_t lock;
	struct vmbus_gpadl *list;
	uint32_t count;
	uint64_t total_pages;
};

enum vmbus_gpadl_result {
	VMBUS_GPADL_MORE,    /* waiting for GPADL_BODY messages */
	VMBUS_GPADL_CREATED, /* complete and valid: answer GPADL_CREATED ok */
	VMBUS_GPADL_FAILED,  /* answer GPADL_CREATED with an error; already freed */
	VMBUS_GPADL_DROP,    /* malformed beyond answering; log only */
};

/* msg/size: the whole message payload. *handle and *relid identify it for the answer. */
enum vmbus_gpadl_result vmbus_gpadl_header(struct vmbus_gpadls *t, struct winhv_partition *p,
					   const uint8_t *msg, uint32_t size, uint32_t *handle,
					   uint32_t *relid, const char **why);
enum vmbus_gpadl_result vmbus_gpadl_body(struct vmbus_gpadls *t, struct winhv_partition *p,
					 const uint8_t *msg, uint32_t size, uint32_t *handle,
					 uint32_t *relid, const char **why);

struct vmbus_gpadl *vmbus_gpadl_find(struct vmbus_gpadls *t, uint32_t handle);
void vmbus_gpadl_free(struct vmbus_gpadls *t, struct vmbus_gpadl *g);
void vmbus_gpadl_free_all(struct vmbus_gpadls *t);

/* Copy to or from the described memory: 0 or -ERANGE. */
int vmbus_gpadl_copy(const struct vmbus_gpadl *g, uint64_t offset, void *buf, uint32_t len,
		     bool to_guest);

/*
 * Views for VSPs (vmbus_vsp.h), callable from any thread. get: 0, -ENOENT,
 * -EBUSY. put: true when this was the last user of a GPADL whose teardown
 * waits, so the event loop must finish it (vmbus_gpadl_reap).
 */
struct vmbus_gpadl_view;
int vmbus_gpadls_view_get(struct vmbus_gpadls *t, uint32_t handle, uint32_t relid,
			  uint32_t primary_relid, struct vmbus_gpadl_view *view);
bool vmbus_gpadls_view_put(struct vmbus_gpadls *t, struct vmbus_gpadl_view *view);

/*
 * Add [base, base+len) to iov[0..*n), merging it into the last entry when it
 * continues it. false when a new entry would exceed max.
 */
static inline bool vmbus_iov_append(struct iovec *iov, uint32_t *n, uint32_t max, uint8_t *base,
				    size_t len)
{
	if (*n && (uint8_t *)iov[*n - 1].iov_base + iov[*n - 1].iov_len == base) {
		iov[*n - 1].iov_len += len;
		return true;
	}
	if (*n == max)
		return false;
	iov[*n].iov_base = base;
	iov[*n].iov_len = len;
	(*n)++;
	return true;
}

#endif /* VMBUS_GPADL_H */
