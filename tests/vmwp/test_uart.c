// SPDX-License-Identifier: MIT
/* 16550 registers as Linux's 8250 driver probes and uses them, plus hostile writes. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "uart.h"

static uint8_t out[64];
static int nout, edges;
static bool level;

static void tx(void *ctx, uint8_t b)
{
	(void)ctx;
	if (nout < 64)
		out[nout++] = b;
}

static void irq(void *ctx, bool l)
{
	(void)ctx;
	if (l && !level)
		edges++;
	level = l;
}

static void setup(struct uart *u)
{
	nout = edges = 0;
	level = false;
	uart_init(u, tx, irq, NULL);
}

START_TEST(probe)
{
	struct uart u;

	setup(&u);
	uart_write(&u, 7, 0xa5);
	ck_assert_uint_eq(uart_read(&u, 7), 0xa5); /* scratch */
	uart_write(&u, 4, 0x10 | 0x0a);		   /* loopback, RTS, OUT2 */
	ck_assert_uint_eq(uart_read(&u, 6) & 0xf0, 0x90);
	uart_write(&u, 4, 0);
	uart_write(&u, 2, 0x01); /* FIFO on: 16550A */
	ck_assert_uint_eq(uart_read(&u, 2) & 0xc0, 0xc0);
	uart_write(&u, 3, 0x80); /* DLAB */
	uart_write(&u, 0, 0x01);
	uart_write(&u, 1, 0x00);
	ck_assert_uint_eq(uart_read(&u, 0), 0x01);
	uart_write(&u, 3, 0x03);
	ck_assert_uint_eq(uart_read(&u, 5) & 0x60, 0x60); /* THRE, TEMT */
}
END_TEST

START_TEST(tx_and_thre_interrupt)
{
	struct uart u;

	setup(&u);
	uart_write(&u, 4, 0x08); /* OUT2 */
	uart_write(&u, 1, 0x02); /* THRI */
	ck_assert(level);
	ck_assert_uint_eq(uart_read(&u, 2) & 0x0f, 0x02);
	ck_assert(!level); /* reading IIR took it */
	uart_write(&u, 0, 'A');
	uart_write(&u, 0, 'B');
	ck_assert_int_eq(nout, 2);
	ck_assert_int_eq(out[0], 'A');
	ck_assert_int_eq(edges, 3); /* one per byte: the line drops and rises */
	uart_write(&u, 1, 0);
	ck_assert(!level);
	ck_assert_uint_eq(uart_read(&u, 2) & 0x0f, 0x01);
}
END_TEST

START_TEST(rx)
{
	struct uart u;
	uint8_t in[300];

	setup(&u);
	for (int i = 0; i < 300; i++)
		in[i] = (uint8_t)i;
	uart_write(&u, 4, 0x08);
	uart_write(&u, 1, 0x01); /* RDI */
	ck_assert_uint_eq(uart_receive(&u, in, 300), UART_RX_FIFO);
	ck_assert(level);
	ck_assert_uint_eq(uart_read(&u, 2) & 0x0f, 0x04);
	ck_assert_uint_eq(uart_read(&u, 5) & 1, 1);
	for (int i = 0; i < UART_RX_FIFO; i++)
		ck_assert_uint_eq(uart_read(&u, 0), (uint8_t)i);
	ck_assert_uint_eq(uart_read(&u, 5) & 1, 0);
	ck_assert(!level);
	ck_assert_uint_eq(uart_read(&u, 0), 0); /* empty RBR */
}
END_TEST

START_TEST(hostile)
{
	struct uart u;

	setup(&u);
	for (unsigned r = 0; r < 64; r++)
		for (unsigned v = 0; v < 256; v += 7) {
			uart_write(&u, r, (uint8_t)v);
			(void)uart_read(&u, r);
		}
	ck_assert_uint_le(u.rx_count, UART_RX_FIFO);
	ck_assert_uint_eq(u.ier & 0xf0, 0);
	ck_assert_uint_eq(u.mcr & 0xe0, 0);
	/* Loopback: bytes come back, nothing leaves. */
	setup(&u);
	uart_write(&u, 4, 0x10);
	uart_write(&u, 0, 'x');
	ck_assert_int_eq(nout, 0);
	ck_assert_uint_eq(uart_read(&u, 0), 'x');
}
END_TEST

TEST_MAIN("vmwp-uart", probe, tx_and_thre_interrupt, rx, hostile)
