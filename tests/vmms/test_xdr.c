/* Unit tests for vmms' packet framing and XDR layouts, checked byte by byte
 * against the wire format libvirt clients use. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "rpc.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

START_TEST(header_and_string_reply)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 59, VMMS_REPLY, 42, VMMS_OK};
	struct vmms_str_ret r = {.value = "host"};
	ck_assert_int_eq(rpc_encode(&b, &h, (xdrproc_t)xdr_vmms_str_ret, &r), 0);
	/* 4 length + 24 header + 4 string length + 4 bytes */
	ck_assert_uint_eq(b.len, 36);
	ck_assert_uint_eq(be32(b.data), 36);
	ck_assert_uint_eq(be32(b.data + 4), 0x20008086);
	ck_assert_uint_eq(be32(b.data + 12), 59);
	ck_assert_uint_eq(be32(b.data + 16), VMMS_REPLY);
	ck_assert_uint_eq(be32(b.data + 20), 42);
	ck_assert_uint_eq(be32(b.data + 28), 4);
	ck_assert_int_eq(memcmp(b.data + 32, "host", 4), 0);
	struct vmms_header back;
	ck_assert_int_eq(rpc_decode_header(b.data, b.len, &back), 0);
	ck_assert_int_eq(back.proc, 59);
	ck_assert_uint_eq(back.serial, 42);
	struct vmms_str_ret r2 = {0};
	ck_assert_int_eq(rpc_decode_body(b.data, b.len, (xdrproc_t)xdr_vmms_str_ret, &r2), 0);
	ck_assert_str_eq(r2.value, "host");
	xdr_free((xdrproc_t)xdr_vmms_str_ret, (char *)&r2);
	buf_free(&b);
}
END_TEST

START_TEST(domain_info_layout)
{
	/* unsigned char and unsigned short each take 4 bytes on the wire. */
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 16, VMMS_REPLY, 1, VMMS_OK};
	struct vmms_dom_info_ret r = {5, 1024, 512, 2, 7};
	ck_assert_int_eq(rpc_encode(&b, &h, (xdrproc_t)xdr_vmms_dom_info_ret, &r), 0);
	ck_assert_uint_eq(b.len, 28 + 4 + 8 + 8 + 4 + 8);
	ck_assert_uint_eq(be32(b.data + 28), 5);
	ck_assert_uint_eq(be32(b.data + 48), 2);
	buf_free(&b);
}
END_TEST

START_TEST(node_info_layout)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 6, VMMS_REPLY, 1, VMMS_OK};
	struct vmms_node_info_ret r = {.model = "x86_64", .memory = 1, .cpus = 2};
	ck_assert_int_eq(rpc_encode(&b, &h, (xdrproc_t)xdr_vmms_node_info_ret, &r), 0);
	/* char model[32] is 32 four-byte units */
	ck_assert_uint_eq(b.len, 28 + 32 * 4 + 8 + 6 * 4);
	ck_assert_uint_eq(be32(b.data + 28), 'x');
	buf_free(&b);
}
END_TEST

START_TEST(error_body)
{
	struct vmms_buf b = {0};
	struct vmms_header call = {VMMS_PROG, 1, 23, VMMS_CALL, 9, VMMS_OK};
	struct vmms_err e = {0};
	vmms_err_set(&e, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'", "x");
	ck_assert_str_eq(e.msg, "Domain not found: no domain with matching name 'x'");
	ck_assert_int_eq(rpc_encode_error(&b, &call, VMMS_REPLY, &e), 0);
	struct vmms_header h;
	ck_assert_int_eq(rpc_decode_header(b.data, b.len, &h), 0);
	ck_assert_int_eq(h.type, VMMS_REPLY);
	ck_assert_int_eq(h.status, VMMS_ERROR);
	ck_assert_uint_eq(h.serial, 9);
	struct vmms_error back = {0};
	ck_assert_int_eq(rpc_decode_body(b.data, b.len, (xdrproc_t)xdr_vmms_error, &back), 0);
	ck_assert_int_eq(back.code, VIR_ERR_NO_DOMAIN);
	ck_assert_int_eq(back.level, VIR_ERR_ERROR);
	ck_assert_str_eq(*back.message, e.msg);
	ck_assert_ptr_null(back.dom);
	xdr_free((xdrproc_t)xdr_vmms_error, (char *)&back);
	buf_free(&b);
}
END_TEST

START_TEST(decode_rejects_truncated_and_trailing)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 23, VMMS_CALL, 1, VMMS_OK};
	struct vmms_lookup_name_args a = {.name = "guest"};
	ck_assert_int_eq(rpc_encode(&b, &h, (xdrproc_t)xdr_vmms_lookup_name_args, &a), 0);
	struct vmms_lookup_name_args out = {0};
	ck_assert_int_eq(
	    rpc_decode_body(b.data, b.len - 4, (xdrproc_t)xdr_vmms_lookup_name_args, &out), -1);
	uint8_t *big = calloc(1, b.len + 4);
	memcpy(big, b.data, b.len);
	ck_assert_int_eq(
	    rpc_decode_body(big, b.len + 4, (xdrproc_t)xdr_vmms_lookup_name_args, &out), -1);
	ck_assert_int_eq(rpc_decode_header(b.data, 10, &h), -1);
	free(big);
	buf_free(&b);
}
END_TEST

START_TEST(large_reply_grows)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 14, VMMS_REPLY, 1, VMMS_OK};
	char *big = malloc(300000);
	memset(big, 'a', 299999);
	big[299999] = 0;
	struct vmms_str_ret r = {.value = big};
	ck_assert_int_eq(rpc_encode(&b, &h, (xdrproc_t)xdr_vmms_str_ret, &r), 0);
	ck_assert_uint_eq(be32(b.data), b.len);
	ck_assert_uint_eq(b.len, 28 + 4 + 300000);
	free(big);
	buf_free(&b);
}
END_TEST

/* The callback-style lifecycle event: callback id, then the domain
 * (name, uuid, id), then event and detail. */
START_TEST(event_lifecycle_layout)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 318, VMMS_MESSAGE, 1, VMMS_OK};
	struct vmms_event_cb_lifecycle_msg m = {.callback_id = 7};
	m.msg.dom.name = "vm";
	memset(m.msg.dom.uuid, 0xab, 16);
	m.msg.dom.id = 3;
	m.msg.event = 5;
	m.msg.detail = 1;
	ck_assert_int_eq(rpc_encode(&b, &h, (xdrproc_t)xdr_vmms_event_cb_lifecycle_msg, &m), 0);
	ck_assert_uint_eq(b.len, 28 + 4 + (4 + 4) + 16 + 4 + 4 + 4);
	ck_assert_uint_eq(be32(b.data + 16), VMMS_MESSAGE);
	ck_assert_uint_eq(be32(b.data + 28), 7);
	ck_assert_uint_eq(be32(b.data + 32), 2);
	ck_assert_int_eq(memcmp(b.data + 36, "vm\0\0", 4), 0);
	ck_assert_uint_eq(b.data[40], 0xab);
	ck_assert_uint_eq(be32(b.data + 56), 3);
	ck_assert_uint_eq(be32(b.data + 60), 5);
	ck_assert_uint_eq(be32(b.data + 64), 1);
	buf_free(&b);
}
END_TEST

/* CALLBACK_REGISTER_ANY arguments: event id, then an optional domain. */
START_TEST(event_register_args)
{
	uint8_t pkt[28 + 8] = {0};
	pkt[3] = sizeof(pkt);
	pkt[28 + 3] = 0; /* event id 0 (lifecycle) */
	pkt[32 + 3] = 0; /* no domain */
	struct vmms_event_cb_register_args a = {0};
	ck_assert_int_eq(
	    rpc_decode_body(pkt, sizeof(pkt), (xdrproc_t)xdr_vmms_event_cb_register_args, &a), 0);
	ck_assert_int_eq(a.event_id, 0);
	ck_assert_ptr_null(a.dom);
	xdr_free((xdrproc_t)xdr_vmms_event_cb_register_args, (char *)&a);
}
END_TEST

START_TEST(stream_raw)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_PROG, 1, 201, VMMS_STREAM, 5, VMMS_CONTINUE};
	ck_assert_int_eq(rpc_encode_raw(&b, &h, "abc", 3), 0);
	ck_assert_uint_eq(b.len, 31); /* raw bytes, no XDR padding */
	ck_assert_uint_eq(be32(b.data), 31);
	ck_assert_int_eq(memcmp(b.data + 28, "abc", 3), 0);
	buf_free(&b);
}
END_TEST

TEST_MAIN("vmms_xdr", header_and_string_reply, event_lifecycle_layout, event_register_args,
	  domain_info_layout, node_info_layout, error_body, decode_rejects_truncated_and_trailing,
	  large_reply_grows, stream_raw)
