/* SPDX-License-Identifier: MIT */
/* Shared by the hostile suite's files: one result line per check. */
#ifndef VSC_HOSTILE_INTERNAL_H
#define VSC_HOSTILE_INTERNAL_H

#include <stdbool.h>

#include <vsc/hostile.h>

bool vsc_hostile_report(struct vsc_hostile *h, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define report vsc_hostile_report

#endif /* VSC_HOSTILE_INTERNAL_H */
