/* rpc.h: libvirt RPC packet framing and XDR encode/decode helpers.
 *
 * A packet is a 4-byte big-endian total length (itself included), a 24-byte
 * vmms_header, then the XDR body of the call, reply, error or stream data. */
#ifndef VMMS_RPC_H
#define VMMS_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <rpc/rpc.h>

#include "vmms_protocol.h"
#include "err.h"

struct vmms_buf {
	uint8_t *data;
	size_t len, cap;
};

int buf_reserve(struct vmms_buf *b, size_t extra);
int buf_append(struct vmms_buf *b, const void *p, size_t n);
void buf_free(struct vmms_buf *b);

/* Length word of a packet whose first 4 bytes are P. */
uint32_t rpc_packet_len(const uint8_t *p);

/* Decodes the header of a complete packet (length word included). */
int rpc_decode_header(const uint8_t *pkt, size_t len, struct vmms_header *h);

/* Decodes the body that follows the header into OBJ (zeroed first). On
 * success the caller frees OBJ with xdr_free(proc, obj). */
int rpc_decode_body(const uint8_t *pkt, size_t len, xdrproc_t proc, void *obj);

/* Appends one whole packet: header H, then PROC(OBJ) (no body if PROC is NULL). */
int rpc_encode(struct vmms_buf *out, const struct vmms_header *h, xdrproc_t proc, void *obj);

/* Appends a packet whose body is raw bytes (stream data). */
int rpc_encode_raw(struct vmms_buf *out, const struct vmms_header *h, const void *data, size_t n);

/* Appends an error packet for ERR answering the call header CALL; TYPE is
 * VMMS_REPLY for calls and VMMS_STREAM for stream errors. */
int rpc_encode_error(struct vmms_buf *out, const struct vmms_header *call, int type,
		     const struct vmms_err *err);

#endif
