/* SPDX-License-Identifier: MIT */
/* vmwp's command line: parsed and validated before anything is created. */
#ifndef VMWP_OPTIONS_H
#define VMWP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <linhv/winhv.h>

#define VMWP_MAX_DISKS 16
#define VMWP_MAX_NICS 8
#define VMWP_MAX_CPUS 64
#define VMWP_MAX_ASSIGNED 8
#define VMWP_MIN_MEMORY (32ULL << 20)
#define VMWP_MAX_MEMORY (1ULL << 40)

enum vmwp_console { VMWP_CONSOLE_STDIO, VMWP_CONSOLE_PTY, VMWP_CONSOLE_UNIX };

/* --rtc-base: what the CMOS RTC reads when the VM starts. */
enum vmwp_rtc_base { VMWP_RTC_UTC, VMWP_RTC_LOCALTIME, VMWP_RTC_DATE };

struct vmwp_disk {
	const char *path;
	bool readonly;
	bool cache_none;    /* cache=none: O_DIRECT; default writeback */
	const char *serial; /* NULL: none given */
};

struct vmwp_nic {
	char tap[16];
	char bridge[16];
	uint8_t mac[6];
	bool has_mac;
	unsigned queues; /* TAP queues = VMBus channels; 0: one per vCPU, up to 8 */
};

struct vmwp_options {
	const char *kernel, *initrd, *cmdline;
	uint64_t memory; /* bytes */
	uint32_t cpus;
	enum vmwp_console console;
	const char *console_path;
	enum winhv_backend backend;
	const char *name, *uuid, *control, *pidfile;
	bool no_reboot;
	enum vmwp_rtc_base rtc_base;
	int64_t rtc_date; /* VMWP_RTC_DATE: seconds since the epoch, UTC */
	struct vmwp_disk disks[VMWP_MAX_DISKS];
	unsigned ndisks;
	struct vmwp_nic nics[VMWP_MAX_NICS];
	unsigned nnics;
	/* --assign-pci: host PCI functions in canonical form "ssss:bb:dd.f". */
	char assigned[VMWP_MAX_ASSIGNED][16];
	unsigned nassigned;
};

/*
 * Sizes: a number with an optional K, M, G or T suffix (binary units, an
 * optional "iB" or "B" after it); a plain number is MiB. Returns 0 or -1.
 */
int vmwp_parse_size(const char *s, uint64_t *out);
/* "52:54:00:12:34:56". Returns 0, -1 when malformed, -2 for a multicast address. */
int vmwp_parse_mac(const char *s, uint8_t mac[6]);
/* 8-4-4-4-12 hex digits. */
bool vmwp_valid_uuid(const char *s);
/* The 16 bytes of a UUID in its text order; 0 or -1. */
int vmwp_uuid_bytes(const char *s, uint8_t out[16]);
/* --disk FILE[,readonly][,serial=S][,cache=none|writeback] and --nic tap=NAME|bridge=BR[,mac=MAC].
 */
int vmwp_parse_disk(char *spec, struct vmwp_disk *out, char *err, size_t errlen);
int vmwp_parse_nic(const char *spec, struct vmwp_nic *out, char *err, size_t errlen);
/*
 * A host PCI address, "SSSS:BB:DD.F" (hex; the segment may be left out for
 * 0000), written to out in canonical form "ssss:bb:dd.f" (lower case, as
 * sysfs names the device). Returns 0 or -1.
 */
int vmwp_parse_pci_address(const char *s, char out[16]);
/*
 * --rtc-base utc|localtime|YYYY-MM-DD[THH:MM:SS] (a UTC date, years 1970-9999).
 * Returns 0 or -1.
 */
int vmwp_parse_rtc_base(const char *s, enum vmwp_rtc_base *base, int64_t *date);
/* The RTC's offset from host UTC (seconds) for a VM started at host time now. */
int64_t vmwp_rtc_offset(const struct vmwp_options *o, time_t now);

/* 0: run; 1: --help was given (usage printed by the caller); -1: err holds one line. */
int vmwp_parse_options(int argc, char **argv, struct vmwp_options *o, char *err, size_t errlen);
extern const char vmwp_usage_text[];

#endif /* VMWP_OPTIONS_H */
