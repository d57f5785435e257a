// SPDX-License-Identifier: MIT
/* Disk images (open, lock, probe) and the io_uring queue on a temporary file. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "disk.h"
#include "queue.h"

static char path[64];

static void mkimage(const char *dir, off_t size)
{
	int fd;

	snprintf(path, sizeof(path), "%s/storvsp-test-XXXXXX", dir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
}

START_TEST(open_ok)
{
	struct disk_params p = {.cache = DISK_CACHE_WRITEBACK};
	struct disk *d;
	char err[256];

	mkimage("/tmp", 8 << 20);
	p.path = path;
	p.serial = "abc-1";
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(d->size, 8 << 20);
	ck_assert(!d->readonly);
	ck_assert(!d->blockdev);
	ck_assert_str_eq(d->serial, "abc-1");
	ck_assert(d->discard); /* /tmp file systems punch holes */
	ck_assert(d->discard_zeroes);
	disk_close(d);
	unlink(path);
}
END_TEST

START_TEST(open_errors)
{
	struct disk_params p = {.path = "/nonexistent/disk.img"};
	struct disk *d;
	char err[256];

	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/disk.img"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_ptr_null(strchr(err, '\n'));

	p.path = "/tmp";
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EISDIR);
	p.readonly = true;
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file or a block device"));
	p.readonly = false;
	p.path = "/dev/null";
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EINVAL);

	mkimage("/tmp", 0);
	p.path = path;
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	unlink(path);

	mkimage("/tmp", 1 << 20);
	p.serial = "has space";
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "serial"));
	p.serial = "123456789012345678901";
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EINVAL);
	unlink(path);
	ck_assert(disk_serial_valid("12345678901234567890"));
	ck_assert(!disk_serial_valid(""));
	ck_assert(!disk_serial_valid("a,b"));
}
END_TEST

START_TEST(unreadable)
{
	struct disk_params p = {0};
	struct disk *d;
	char err[256];

	if (geteuid() == 0)
		return; /* root reads anything */
	mkimage("/tmp", 1 << 20);
	chmod(path, 0);
	p.path = path;
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EACCES);
	unlink(path);
}
END_TEST

START_TEST(lock_conflicts)
{
	struct disk_params w = {0}, r = {.readonly = true};
	struct disk *a, *b;
	char err[256];

	mkimage("/tmp", 1 << 20);
	w.path = r.path = path;
	ck_assert_int_eq(disk_open(&w, &a, err, sizeof(err)), 0);
	/* a second writer and a reader are refused while a writer holds it */
	ck_assert_int_eq(disk_open(&w, &b, err, sizeof(err)), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(err, "locked by another process"));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_int_eq(disk_open(&r, &b, err, sizeof(err)), -EAGAIN);
	disk_close(a);
	/* readers share; a writer waits for them */
	ck_assert_int_eq(disk_open(&r, &a, err, sizeof(err)), 0);
	ck_assert(a->readonly);
	ck_assert(!a->discard);
	ck_assert_int_eq(disk_open(&r, &b, err, sizeof(err)), 0);
	struct disk *c;
	ck_assert_int_eq(disk_open(&w, &c, err, sizeof(err)), -EAGAIN);
	disk_close(a);
	disk_close(b);
	ck_assert_int_eq(disk_open(&w, &c, err, sizeof(err)), 0);
	disk_close(c);
	unlink(path);
}
END_TEST

START_TEST(direct_on_tmpfs)
{
	struct disk_params p = {.cache = DISK_CACHE_NONE};
	struct disk *d;
	char err[256];

	if (access("/dev/shm", W_OK))
		return;
	mkimage("/dev/shm", 1 << 20);
	p.path = path;
	int fd = open(path, O_RDWR | O_DIRECT);
	if (fd >= 0) { /* tmpfs has O_DIRECT since Linux 6.6 */
		close(fd);
		ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), 0);
		disk_close(d);
		unlink(path);
		return;
	}
	ck_assert_int_eq(disk_open(&p, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "cache=none needs O_DIRECT"));
	ck_assert_ptr_nonnull(strstr(err, "cache=writeback"));
	unlink(path);
}
END_TEST

/* ---- the queue ---- */

static int ndone;

static void on_done(struct queue_op *op)
{
	(void)op;
	ndone++;
}

static void wait_all(struct queue *q)
{
	while (queue_inflight(q)) {
		struct pollfd pfd = {.fd = queue_fd(q), .events = POLLIN};

		ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
		queue_poll(q);
	}
}

static void queue_io(enum disk_cache cache, size_t misalign)
{
	struct disk_params p = {.cache = cache};
	struct disk *d;
	struct queue *q;
	char err[256];
	uint8_t *buf, *back;
	struct iovec iov[3], riov[2];
	struct queue_op w = {0}, r = {0}, f = {0}, z = {0}, x = {0};
	struct stat st;

	mkimage("/var/tmp", 4 << 20);
	p.path = path;
	if (disk_open(&p, &d, err, sizeof(err))) {
		unlink(path);
		ck_assert_int_eq(cache, DISK_CACHE_NONE); /* only O_DIRECT may be missing */
		return;
	}
	ck_assert_int_eq(queue_create(64, &q), 0);
	ck_assert_int_eq(posix_memalign((void **)&buf, 4096, 3 * 65536 + 4096), 0);
	ck_assert_int_eq(posix_memalign((void **)&back, 4096, 3 * 65536 + 4096), 0);
	for (size_t i = 0; i < 3 * 65536 + 4096; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	/* a 3-segment write, FUA, then a 2-segment read of the same range */
	iov[0] = (struct iovec){buf + misalign, 512};
	iov[1] = (struct iovec){buf + 4096, 65536};
	iov[2] = (struct iovec){buf + 69632, 65536 - 512};
	w = (struct queue_op){.kind = QUEUE_WRITE,
			      .disk = d,
			      .offset = 1 << 20,
			      .len = 131072,
			      .iov = iov,
			      .niov = 3,
			      .fua = true,
			      .done = on_done};
	ndone = 0;
	queue_submit(q, &w);
	queue_flush_submissions(q);
	wait_all(q);
	ck_assert_int_eq(ndone, 1);
	ck_assert_int_eq(w.result, 0);

	memset(back, 0, 131072);
	riov[0] = (struct iovec){back, 1000 + 24};
	riov[1] = (struct iovec){back + 2048, 131072 - 1024};
	r = (struct queue_op){.kind = QUEUE_READ,
			      .disk = d,
			      .offset = 1 << 20,
			      .len = 131072,
			      .iov = riov,
			      .niov = 2,
			      .done = on_done};
	f = (struct queue_op){.kind = QUEUE_FLUSH, .disk = d, .done = on_done};
	queue_submit(q, &r);
	queue_submit(q, &f);
	queue_flush_submissions(q);
	wait_all(q);
	ck_assert_int_eq(ndone, 3);
	ck_assert_int_eq(r.result, 0);
	ck_assert_int_eq(f.result, 0);
	ck_assert(!memcmp(back, buf + misalign, 512));
	ck_assert(!memcmp(back + 512, buf + 4096, 512));
	ck_assert(!memcmp(back + 2560, buf + 4096 + 1024, 1024));

	/* discard and zeroing punch holes: the blocks drop and read back as zeros */
	ck_assert_int_eq(fstat(d->fd, &st), 0);
	blkcnt_t before = st.st_blocks;
	x = (struct queue_op){
	    .kind = QUEUE_DISCARD, .disk = d, .offset = 1 << 20, .len = 65536, .done = on_done};
	z = (struct queue_op){.kind = QUEUE_ZERO,
			      .disk = d,
			      .offset = (1 << 20) + 65536,
			      .len = 65536,
			      .unmap = false,
			      .done = on_done};
	queue_submit(q, &x);
	queue_submit(q, &z);
	queue_flush_submissions(q);
	wait_all(q);
	ck_assert_int_eq(x.result, 0);
	ck_assert_int_eq(z.result, 0);
	ck_assert_int_eq(fstat(d->fd, &st), 0);
	ck_assert_int_lt(st.st_blocks, before);
	memset(back, 0xAA, 131072);
	riov[0] = (struct iovec){back, 131072};
	r = (struct queue_op){.kind = QUEUE_READ,
			      .disk = d,
			      .offset = 1 << 20,
			      .len = 131072,
			      .iov = riov,
			      .niov = 1,
			      .done = on_done};
	queue_submit(q, &r);
	queue_flush_submissions(q);
	queue_drain(q);
	ck_assert_int_eq(r.result, 0);
	for (int i = 0; i < 131072; i++)
		ck_assert_int_eq(back[i], 0);

	/* past the end of the file: an error, not a hang */
	riov[0] = (struct iovec){back, 4096};
	r = (struct queue_op){.kind = QUEUE_READ,
			      .disk = d,
			      .offset = 8 << 20,
			      .len = 4096,
			      .iov = riov,
			      .niov = 1,
			      .done = on_done};
	queue_submit(q, &r);
	queue_flush_submissions(q);
	queue_drain(q);
	ck_assert_int_eq(r.result, -EIO);

	/* many in flight at once, more than the ring holds */
	static struct queue_op many[300];
	static struct iovec miov[300];
	ndone = 0;
	for (int i = 0; i < 300; i++) {
		miov[i] = (struct iovec){back + (i % 16) * 4096, 4096};
		many[i] = (struct queue_op){.kind = QUEUE_READ,
					    .disk = d,
					    .offset = (uint64_t)i * 4096,
					    .len = 4096,
					    .iov = &miov[i],
					    .niov = 1,
					    .done = on_done};
		queue_submit(q, &many[i]);
	}
	queue_flush_submissions(q);
	queue_drain(q);
	ck_assert_int_eq(ndone, 300);
	ck_assert_uint_eq(queue_inflight(q), 0);

	queue_destroy(q);
	disk_close(d);
	free(buf);
	free(back);
	unlink(path);
}

START_TEST(queue_writeback)
{
	queue_io(DISK_CACHE_WRITEBACK, 0);
}
END_TEST

START_TEST(queue_direct_bounce)
{
	queue_io(DISK_CACHE_NONE, 200); /* a misaligned guest buffer gets bounced */
}
END_TEST

START_TEST(queue_direct_aligned)
{
	queue_io(DISK_CACHE_NONE, 0);
}
END_TEST

TEST_MAIN("disk", open_ok, open_errors, unreadable, lock_conflicts, direct_on_tmpfs,
	  queue_writeback, queue_direct_bounce, queue_direct_aligned)
