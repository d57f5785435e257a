/* SPDX-License-Identifier: MIT */
/*
 * Where COM1 goes: stdio, a pty (its path printed on stderr), or a Unix
 * socket (one client at a time, a new one takes over; it first gets the last
 * 16 KiB of output). Output is thread-safe (VP threads write it).
 */
#ifndef VMWP_CONSOLE_H
#define VMWP_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "options.h"

struct console;

typedef void (*console_input_fn)(void *ctx, const uint8_t *buf, unsigned n);

int console_open(struct evloop *loop, enum vmwp_console kind, const char *path,
		 console_input_fn input, void *ctx, struct console **out, char *err, size_t errlen);
void console_output(struct console *c, uint8_t byte);
/* Closes the client and removes the socket file. */
void console_close(struct console *c);

#endif /* VMWP_CONSOLE_H */
