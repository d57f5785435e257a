/* SPDX-License-Identifier: MIT */
/* A boot file (kernel or initrd) mapped read-only from the page cache instead
 * of copied to the heap, so an idle worker does not carry a private copy of a
 * kernel it loaded once. Loading faults the pages in; image_drop() gives them
 * back to the page cache until the next (re)boot reads them again.
 */
#ifndef VMWP_IMAGE_H
#define VMWP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct image {
	int fd;
	const uint8_t *data; /* NULL when len is 0 */
	size_t len;
};

/* Opens and maps PATH ("what" names it in errors: "kernel", "initrd"). */
int image_open(struct image *img, const char *path, const char *what, size_t max, char *err,
	       size_t errlen);
/* Before reading the mapping again: refuses a file whose size changed since
 * image_open (reading past a shrunk file's end would raise SIGBUS). */
int image_check(const struct image *img, const char *what, char *err, size_t errlen);
/* Drops the worker's resident pages of the mapping (the page cache keeps them). */
void image_drop(const struct image *img);
void image_close(struct image *img);

#endif
