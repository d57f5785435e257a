/* domxml.h: the libvirt domain XML subset linhv supports, parsed and
 * validated with libxml2 and written back in one canonical form. */
#ifndef VMMS_DOMXML_H
#define VMMS_DOMXML_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define DOM_NAME_MAX 64
#define DOM_MAX_DISKS 16
#define DOM_MAX_NICS 8
#define DOM_MAX_VCPUS 256
#define DOM_MIN_MEMORY_KIB (16 * 1024)
#define DOM_METADATA_MAX 65536 /* bytes of <metadata> kept */

enum dom_action { ACT_DESTROY, ACT_RESTART, ACT_PRESERVE };
enum dom_nic_type { NIC_BRIDGE, NIC_ETHERNET };
/* <clock offset=...>: what the guest's RTC starts at (vmwp --rtc-base). */
enum dom_clock { CLOCK_UTC, CLOCK_LOCALTIME, CLOCK_ABSOLUTE };
#define DOM_CLOCK_START_MAX 253402300799ULL /* 9999-12-31T23:59:59Z */

enum dom_cache { CACHE_DEFAULT, CACHE_NONE, CACHE_WRITEBACK };
#define DOM_DISK_SERIAL_MAX 20 /* what vmwp (and the SCSI serial page) takes */

struct dom_disk {
	char *file;   /* image file or, if BLOCK, block device */
	bool block;   /* <disk type='block'> with <source dev=...> */
	char *target; /* guest device name, e.g. "sda" */
	bool readonly;
	char *serial; /* <serial>, or NULL */
	enum dom_cache cache;
};

struct dom_nic {
	enum dom_nic_type type;
	char *bridge; /* NIC_BRIDGE: host bridge to attach to */
	char *tap;    /* NIC_ETHERNET: existing TAP device; optional for bridges */
	char mac[18]; /* "00:15:5d:xx:xx:xx" */
};

struct dom_def {
	char *name;
	unsigned char uuid[16];
	char *title, *description;
	unsigned long long memory_kib;
	unsigned vcpus;
	char *kernel, *initrd, *cmdline;
	struct dom_disk disks[DOM_MAX_DISKS];
	size_t ndisks;
	struct dom_nic nics[DOM_MAX_NICS];
	size_t nnics;
	bool console;	/* a <serial>/<console type='pty'> was given */
	bool features;	/* <features> with <acpi/> and <apic/>: linhv always has both */
	char *emulator; /* <emulator> as given (vmms checks it names its worker), or NULL */
	char *metadata; /* the children of <metadata>, serialized, or NULL */
	enum dom_action on_poweroff, on_reboot, on_crash;
	enum dom_clock clock;
	unsigned long long clock_start; /* CLOCK_ABSOLUTE: seconds since the epoch, UTC */
};

/* Parses and validates XML. Missing uuid and MAC addresses are generated.
 * On error returns NULL with ERR set (XML_ERROR for malformed or missing
 * data, CONFIG_UNSUPPORTED naming the element or attribute we do not do). */
struct dom_def *dom_def_parse(const char *xml, struct vmms_err *err);

/* The canonical document (malloc'd), ID is the runtime id or -1. */
char *dom_def_format(const struct dom_def *def, int id);

struct dom_def *dom_def_copy(const struct dom_def *def);
void dom_def_free(struct dom_def *def);

/* Helpers shared with the rest of vmms. */
bool dom_name_valid(const char *name);
void uuid_format(const unsigned char uuid[16], char out[37]);
int uuid_parse(const char *s, unsigned char uuid[16]);
const char *dom_action_name(enum dom_action a);

#endif
