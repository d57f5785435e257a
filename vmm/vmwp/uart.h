/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (COM1): the registers Linux's 8250 driver uses, a 16-byte
 * (reported) FIFO, interrupts gated by MCR.OUT2, loopback mode. Transmission
 * is instantaneous. Not thread-safe: the caller serializes access.
 */
#ifndef VMWP_UART_H
#define VMWP_UART_H

#include <stdbool.h>
#include <stdint.h>

#define UART_RX_FIFO 256

struct uart {
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm, fcr;
	bool thr_ipending; /* THR-empty interrupt waiting to be taken */
	bool irq_level;
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_count;
	void (*tx)(void *ctx, uint8_t byte);
	void (*irq)(void *ctx, bool level);
	void *ctx;
};

void uart_init(struct uart *u, void (*tx)(void *, uint8_t), void (*irq)(void *, bool), void *ctx);
/* offset 0-7 from the base port. */
uint8_t uart_read(struct uart *u, unsigned offset);
void uart_write(struct uart *u, unsigned offset, uint8_t val);
/* Bytes from the console; returns how many fit in the receive FIFO. */
unsigned uart_receive(struct uart *u, const uint8_t *buf, unsigned n);

#endif /* VMWP_UART_H */
