// SPDX-License-Identifier: MIT
/* 16550A register model. Every guest write is masked to the bits the chip has. */
#include <string.h>

#include "uart.h"

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LCR_DLAB 0x80

static uint8_t pending_iir(const struct uart *u)
{
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

static void update_irq(struct uart *u)
{
	bool level = pending_iir(u) != IIR_NONE && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->irq)
			u->irq(u->ctx, level);
	}
}

/* Modem status: in loopback the outputs come back as inputs; otherwise a cable that is always
 * ready. */
static uint8_t modem_lines(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return (uint8_t)(((u->mcr & MCR_RTS) ? 0x10 : 0) | ((u->mcr & MCR_DTR) ? 0x20 : 0) |
				 ((u->mcr & MCR_OUT1) ? 0x40 : 0) |
				 ((u->mcr & MCR_OUT2) ? 0x80 : 0));
	return 0xb0; /* CTS, DSR, DCD */
}

void uart_init(struct uart *u, void (*tx)(void *, uint8_t), void (*irq)(void *, bool), void *ctx)
{
	memset(u, 0, sizeof(*u));
	u->tx = tx;
	u->irq = irq;
	u->ctx = ctx;
	u->dll = 0x0c; /* 9600 baud */
	u->msr = modem_lines(u);
}

static void rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_count == UART_RX_FIFO)
		return; /* overrun: dropped */
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = b;
	u->rx_count++;
}

unsigned uart_receive(struct uart *u, const uint8_t *buf, unsigned n)
{
	unsigned done = 0;

	if (u->mcr & MCR_LOOP)
		return n; /* the line is disconnected in loopback */
	while (done < n && u->rx_count < UART_RX_FIFO)
		rx_push(u, buf[done++]);
	update_irq(u);
	return done;
}

uint8_t uart_read(struct uart *u, unsigned off)
{
	uint8_t v = 0xff;

	switch (off & 7) {
	case 0:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		v = 0;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
			u->rx_count--;
		}
		update_irq(u);
		return v;
	case 1:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case 2:
		v = pending_iir(u);
		if (v == IIR_THRI)
			u->thr_ipending = false; /* reading IIR takes the THRE interrupt */
		update_irq(u);
		return (uint8_t)(v | ((u->fcr & 1) ? 0xc0 : 0));
	case 3:
		return u->lcr;
	case 4:
		return u->mcr;
	case 5:
		return (uint8_t)(LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0));
	case 6: {
		uint8_t lines = modem_lines(u);

		v = (uint8_t)((lines & 0xf0) | (u->msr & 0x0f));
		u->msr = lines; /* reading clears the delta bits */
		update_irq(u);
		return v;
	}
	default:
		return u->scr;
	}
}

void uart_write(struct uart *u, unsigned off, uint8_t val)
{
	switch (off & 7) {
	case 0:
		if (u->lcr & LCR_DLAB) {
			u->dll = val;
			return;
		}
		/* The byte leaves at once: THRE drops and comes back (an edge for the IOAPIC). */
		u->thr_ipending = false;
		update_irq(u);
		if (u->mcr & MCR_LOOP)
			rx_push(u, val);
		else if (u->tx)
			u->tx(u->ctx, val);
		u->thr_ipending = true;
		update_irq(u);
		return;
	case 1:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			return;
		}
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thr_ipending = true; /* THR is always empty */
		u->ier = val & 0x0f;
		update_irq(u);
		return;
	case 2:
		if (val & 0x02) {
			u->rx_count = 0;
			u->rx_head = 0;
		}
		u->fcr = val & 0xc9;
		update_irq(u);
		return;
	case 3:
		u->lcr = val;
		return;
	case 4: {
		uint8_t old = modem_lines(u);

		u->mcr = val & 0x1f;
		uint8_t now = modem_lines(u);
		/* Delta bits for CTS, DSR, DCD; trailing edge of RI. */
		u->msr = (uint8_t)((now & 0xf0) | (u->msr & 0x0f) | (((old ^ now) >> 4) & 0x0b) |
				   (((old & ~now) >> 4) & 0x04));
		update_irq(u);
		return;
	}
	case 5:
	case 6:
		return; /* LSR and MSR are read-only */
	default:
		u->scr = val;
		return;
	}
}
