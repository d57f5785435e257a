/* SPDX-License-Identifier: MIT */
/*
 * A small snprintf for freestanding code: %s %c %d %u %x %% with the l/ll
 * length modifiers and a zero-padded width (%08x). Always terminates buf.
 */
#ifndef VSC_FMT_H
#define VSC_FMT_H

#include <stdarg.h>
#include <stddef.h>

int vsc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int vsc_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* VSC_FMT_H */
