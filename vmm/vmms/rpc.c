/* rpc.c: see rpc.h. */
#include "rpc.h"

#include <stdlib.h>
#include <string.h>

int buf_reserve(struct vmms_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct vmms_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_free(struct vmms_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

uint32_t rpc_packet_len(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_len(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

int rpc_decode_header(const uint8_t *pkt, size_t len, struct vmms_header *h)
{
	if (len < 4 + VMMS_HEADER_LEN)
		return -1;
	XDR x;
	xdrmem_create(&x, (char *)pkt + 4, VMMS_HEADER_LEN, XDR_DECODE);
	memset(h, 0, sizeof(*h));
	bool_t ok = xdr_vmms_header(&x, h);
	xdr_destroy(&x);
	return ok ? 0 : -1;
}

int rpc_decode_body(const uint8_t *pkt, size_t len, xdrproc_t proc, void *obj)
{
	size_t off = 4 + VMMS_HEADER_LEN;
	if (len < off)
		return -1;
	XDR x;
	xdrmem_create(&x, (char *)pkt + off, (u_int)(len - off), XDR_DECODE);
	bool_t ok = proc(&x, obj);
	/* Trailing garbage means the client and we disagree on the layout. */
	if (ok && xdr_getpos(&x) != len - off)
		ok = 0;
	xdr_destroy(&x);
	if (!ok) {
		xdr_free(proc, obj);
		return -1;
	}
	return 0;
}

/* Encodes into the tail of OUT, growing it until the body fits. */
int rpc_encode(struct vmms_buf *out, const struct vmms_header *h, xdrproc_t proc, void *obj)
{
	size_t room = 65536;
	for (;;) {
		if (room > VMMS_PACKET_MAX)
			return -1;
		if (buf_reserve(out, room) < 0)
			return -1;
		uint8_t *start = out->data + out->len;
		XDR x;
		xdrmem_create(&x, (char *)start + 4, (u_int)(room - 4), XDR_ENCODE);
		bool_t ok = xdr_vmms_header(&x, (struct vmms_header *)h);
		if (ok && proc)
			ok = proc(&x, obj);
		size_t n = ok ? xdr_getpos(&x) + 4 : 0;
		xdr_destroy(&x);
		if (ok) {
			put_len(start, (uint32_t)n);
			out->len += n;
			return 0;
		}
		room *= 4; /* body did not fit: retry with more room */
	}
}

int rpc_encode_raw(struct vmms_buf *out, const struct vmms_header *h, const void *data, size_t n)
{
	size_t before = out->len;
	if (rpc_encode(out, h, NULL, NULL) < 0)
		return -1;
	if (buf_append(out, data, n) < 0) {
		out->len = before;
		return -1;
	}
	put_len(out->data + before, (uint32_t)(out->len - before));
	return 0;
}

int rpc_encode_error(struct vmms_buf *out, const struct vmms_header *call, int type,
		     const struct vmms_err *err)
{
	struct vmms_header h = *call;
	h.type = type;
	h.status = VMMS_ERROR;
	char *msg = (char *)(err->code ? err->msg : "internal error: unknown failure");
	struct vmms_error e = {
	    .code = err->code ? err->code : VIR_ERR_INTERNAL_ERROR,
	    .domain = err->domain,
	    .message = &msg,
	    .level = VIR_ERR_ERROR,
	};
	return rpc_encode(out, &h, (xdrproc_t)xdr_vmms_error, &e);
}
