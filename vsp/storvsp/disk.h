/* SPDX-License-Identifier: MIT */
/*
 * A disk's backing image: a raw file or a block device, opened once when the
 * worker starts (so it outlives guest reboots), locked against a second
 * writer the way QEMU does (an OFD lock: write lock when writable, read lock
 * when read-only), with its size and what it can do (O_DIRECT, discard).
 */
#ifndef STORVSP_DISK_H
#define STORVSP_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum disk_cache {
	DISK_CACHE_WRITEBACK, /* page cache; SYNCHRONIZE CACHE does fdatasync */
	DISK_CACHE_NONE,      /* O_DIRECT */
};

struct disk_params {
	const char *path;
	bool readonly;
	enum disk_cache cache;
	const char *serial; /* NULL: the controller makes one up */
};

struct disk {
	int fd;
	char *path;
	uint64_t size; /* bytes */
	bool readonly;
	bool blockdev;
	bool direct;	     /* opened with O_DIRECT */
	uint32_t dio_align;  /* O_DIRECT: offsets, lengths and buffers align to this */
	uint8_t phys_shift;  /* log2(physical block / 512) */
	bool discard;	     /* punching holes / BLKDISCARD works */
	bool discard_zeroes; /* a discarded range reads back as zeros */
	char serial[21];     /* "" when none was given */
};

/*
 * Open, lock and probe. On failure returns a negative errno and err holds one
 * line for the user naming the file and what to do.
 */
int disk_open(const struct disk_params *p, struct disk **out, char *err, size_t errlen);
void disk_close(struct disk *d);

/* A serial the guest can show: 1-20 printable ASCII characters, no spaces or commas. */
bool disk_serial_valid(const char *s);

#endif /* STORVSP_DISK_H */
