// SPDX-License-Identifier: MIT
/* Opening, locking and probing a disk image (see disk.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk.h"

static int fail(char *err, size_t len, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

bool disk_serial_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 20)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7F || *s == ',')
			return false;
	return true;
}

/* Whole-file OFD lock: shared for readers, exclusive for a writer. */
static int lock_image(int fd, bool readonly)
{
	struct flock fl = {
	    .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};

	return fcntl(fd, F_OFD_SETLK, &fl) ? -errno : 0;
}

static uint8_t shift_of(uint64_t bytes)
{
	uint8_t s = 0;

	while (bytes > 512 && s < 3) { /* up to 4 KiB */
		bytes >>= 1;
		s++;
	}
	return s;
}

static bool device_discard(const struct stat *st)
{
	char path[96], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/discard_max_bytes",
		 major(st->st_rdev), minor(st->st_rdev));
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10) > 0;
}

/* Can O_DIRECT really read here? Some file systems accept the flag, then fail. */
static int probe_direct(struct disk *d)
{
	void *buf;
	int ret = 0;

	if (!d->size)
		return 0;
	if (posix_memalign(&buf, 4096, 4096))
		return -ENOMEM;
	if (pread(d->fd, buf, d->dio_align, 0) < 0)
		ret = -errno;
	free(buf);
	return ret;
}

static int probe(struct disk *d, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(d->fd, &st))
		return fail(err, errlen, -errno, "--disk %s: %s", d->path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		int lbs = 512, pbs = 512;

		d->blockdev = true;
		if (ioctl(d->fd, BLKGETSIZE64, &d->size))
			return fail(err, errlen, -errno,
				    "--disk %s: cannot read the device size: %s", d->path,
				    strerror(errno));
		if (ioctl(d->fd, BLKSSZGET, &lbs) || lbs < 512 || lbs > 4096)
			lbs = 512;
		if (ioctl(d->fd, BLKPBSZGET, &pbs) || pbs < 512)
			pbs = 512;
		d->dio_align = (uint32_t)lbs;
		d->phys_shift = shift_of((uint64_t)pbs);
		d->discard = !d->readonly && device_discard(&st);
		d->discard_zeroes = false; /* BLKDISCARD promises nothing */
	} else if (S_ISREG(st.st_mode)) {
		d->size = (uint64_t)st.st_size;
		d->dio_align = 512;
		d->phys_shift = shift_of((uint64_t)st.st_blksize);
		/* Punching past the end changes nothing and tells whether holes work. */
		d->discard =
		    !d->readonly && !fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					       (off_t)d->size, 4096);
		d->discard_zeroes = d->discard;
	} else {
		return fail(err, errlen, -EINVAL, "--disk %s: not a regular file or a block device",
			    d->path);
	}
	if (d->size < 512)
		return fail(err, errlen, -EINVAL,
			    "--disk %s: the image is empty (%llu bytes); create it first, e.g. "
			    "truncate -s 8G %s",
			    d->path, (unsigned long long)d->size, d->path);
	return 0;
}

int disk_open(const struct disk_params *p, struct disk **out, char *err, size_t errlen)
{
	int flags = (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct disk *d;
	int ret;

	*out = NULL;
	if (p->serial && !disk_serial_valid(p->serial))
		return fail(err, errlen, -EINVAL,
			    "--disk %s: serial must be 1-20 printable characters without spaces "
			    "or commas",
			    p->path);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(p->path))) {
		free(d);
		return fail(err, errlen, -ENOMEM, "--disk %s: out of memory", p->path);
	}
	d->fd = -1;
	d->readonly = p->readonly;
	if (p->serial)
		snprintf(d->serial, sizeof(d->serial), "%s", p->serial);

	d->fd = open(p->path, flags | (p->cache == DISK_CACHE_NONE ? O_DIRECT : 0));
	if (d->fd < 0 && errno == EINVAL && p->cache == DISK_CACHE_NONE) {
		ret = fail(err, errlen, -EINVAL,
			   "--disk %s: cache=none needs O_DIRECT, which this file system refuses "
			   "(tmpfs and 9p do); use cache=writeback",
			   p->path);
		goto out;
	}
	if (d->fd < 0) {
		ret = -errno;
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			fail(err, errlen, ret, "--disk %s: %s%s", p->path, strerror(errno),
			     p->readonly ? "" : " (add ,readonly to use it read-only)");
		else
			fail(err, errlen, ret, "--disk %s: %s", p->path, strerror(errno));
		goto out;
	}
	d->direct = p->cache == DISK_CACHE_NONE;
	ret = lock_image(d->fd, p->readonly);
	if (ret == -EAGAIN || ret == -EACCES) {
		fail(err, errlen, ret,
		     "--disk %s: locked by another process (another VM uses the image%s)", p->path,
		     p->readonly ? " read-write" : "");
		goto out;
	} else if (ret) {
		fail(err, errlen, ret, "--disk %s: cannot lock the image: %s", p->path,
		     strerror(-ret));
		goto out;
	}
	ret = probe(d, err, errlen);
	if (ret)
		goto out;
	if (d->direct && d->dio_align > 512) {
		ret =
		    fail(err, errlen, -EINVAL,
			 "--disk %s: cache=none needs a device with 512-byte sectors (this one has "
			 "%u); use cache=writeback",
			 p->path, d->dio_align);
		goto out;
	}
	if (d->direct) {
		ret = probe_direct(d);
		if (ret) {
			fail(err, errlen, ret,
			     "--disk %s: cache=none needs O_DIRECT, which fails here (%s); use "
			     "cache=writeback",
			     p->path, strerror(-ret));
			goto out;
		}
	}
	*out = d;
	return 0;
out:
	disk_close(d);
	return ret;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd); /* drops the OFD lock */
	free(d->path);
	free(d);
}
