/* dispatch_impl.h: what the procedure tables share (dispatch.c and the
 * per-area tables such as dispatch_storage.c); not for the rest of vmms. */
#ifndef VMMS_DISPATCH_IMPL_H
#define VMMS_DISPATCH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "err.h"
#include "rpc.h"

struct call {
	struct client *c;
	const struct vmms_header *h;
	struct vmms_err err;
	bool no_reply; /* the handler already answered */
};

typedef int (*handler_fn)(struct call *k, void *args, void *ret);

enum { P_MUTATES = 1, P_BEFORE_OPEN = 2 };

struct proc_desc {
	int proc;
	const char *api; /* public API name, for read-only denials */
	xdrproc_t args_x;
	size_t args_size;
	xdrproc_t ret_x;
	size_t ret_size;
	handler_fn fn;
	unsigned flags;
};

#define X(t) (xdrproc_t) xdr_##t, sizeof(struct t)
#define NONE NULL, 0

static inline int set_str(char **out, const char *s)
{
	*out = strdup(s ? s : "");
	return *out ? 0 : -1;
}

static inline int no_flags(struct call *k, unsigned flags, unsigned allowed)
{
	if (flags & ~allowed)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG, "unsupported flags (0x%x)",
				    flags & ~allowed);
	return 0;
}

/* The storage pool procedures (dispatch_storage.c). */
extern const struct proc_desc storage_procs[];
extern const size_t storage_nprocs;

#endif
