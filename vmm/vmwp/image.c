// SPDX-License-Identifier: MIT
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int image_open(struct image *img, const char *path, const char *what, size_t max, char *err,
	       size_t errlen)
{
	struct stat st;
	void *map;

	img->fd = -1;
	img->data = NULL;
	img->len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		snprintf(err, errlen, "%s %s: %s", what, path,
			 !S_ISREG(st.st_mode) ? "not a regular file" : "too large");
		close(fd);
		return -1;
	}
	if (st.st_size) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			snprintf(err, errlen, "cannot map %s %s: %s", what, path, strerror(errno));
			close(fd);
			return -1;
		}
		img->data = map;
	}
	img->fd = fd;
	img->len = (size_t)st.st_size;
	return 0;
}

int image_check(const struct image *img, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (img->fd < 0)
		return 0;
	if (fstat(img->fd, &st) < 0 || (uint64_t)st.st_size != img->len) {
		snprintf(err, errlen, "the %s file changed size since vmwp started", what);
		return -1;
	}
	return 0;
}

void image_drop(const struct image *img)
{
	if (img->data)
		madvise((void *)img->data, img->len, MADV_DONTNEED);
}

void image_close(struct image *img)
{
	if (img->data)
		munmap((void *)img->data, img->len);
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	img->data = NULL;
	img->len = 0;
}
