// SPDX-License-Identifier: MIT
/* liburing-backed disk I/O for one data thread (see queue.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "disk.h"
#include "queue.h"

#define ZERO_CHUNK (64u << 10)
#define ZERO_IOVS 16u /* 1 MiB of zeros per write */

static const uint8_t zeros[ZERO_CHUNK] __attribute__((aligned(4096)));

struct queue {
	struct io_uring ring;
	int efd;
	unsigned inflight;     /* ops submitted and not done */
	unsigned unsubmitted;  /* SQEs prepared since the last io_uring_submit */
	struct queue_op *wait; /* ops waiting for a free SQE */
	struct queue_op *done; /* ops finished without the kernel (sync ioctls) */
	struct iovec zero_iov[ZERO_IOVS];
	struct queue_stats stats;
};

int queue_create(unsigned entries, struct queue **out)
{
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = entries * 4};
	struct queue *q = calloc(1, sizeof(*q));
	int ret;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		ret = -errno;
		free(q);
		return ret;
	}
	ret = io_uring_queue_init_params(entries, &q->ring, &p);
	if (ret) {
		close(q->efd);
		free(q);
		return ret;
	}
	ret = io_uring_register_eventfd(&q->ring, q->efd);
	if (ret) {
		io_uring_queue_exit(&q->ring);
		close(q->efd);
		free(q);
		return ret;
	}
	for (unsigned i = 0; i < ZERO_IOVS; i++)
		q->zero_iov[i] = (struct iovec){(void *)zeros, ZERO_CHUNK};
	*out = q;
	return 0;
}

void queue_destroy(struct queue *q)
{
	if (!q)
		return;
	io_uring_queue_exit(&q->ring);
	close(q->efd);
	free(q);
}

int queue_fd(const struct queue *q)
{
	return q->efd;
}

unsigned queue_inflight(const struct queue *q)
{
	return q->inflight;
}

static void kick(struct queue *q)
{
	uint64_t one = 1;

	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* The counter is saturated: it is readable already. */
	}
}

static void finish(struct queue *q, struct queue_op *op, int result)
{
	op->result = result;
	if (op->bounce) {
		if (!result && op->kind == QUEUE_READ) {
			const uint8_t *src = op->bounce;

			for (unsigned i = 0; i < op->niov; i++) {
				memcpy(op->iov[i].iov_base, src, op->iov[i].iov_len);
				src += op->iov[i].iov_len;
			}
		}
		free(op->bounce);
		op->bounce = NULL;
	}
	q->inflight--;
	op->done(op);
}

/* Finish later, from queue_poll, so done never runs inside queue_submit. */
static void finish_later(struct queue *q, struct queue_op *op, int result)
{
	op->result = result;
	op->next = q->done;
	q->done = op;
	kick(q);
}

/* Skip the first n bytes of op's iovecs (after a short transfer). */
static void advance(struct queue_op *op, uint64_t n)
{
	while (n && op->niov) {
		if (n < op->iov->iov_len) {
			op->iov->iov_base = (uint8_t *)op->iov->iov_base + n;
			op->iov->iov_len -= n;
			return;
		}
		n -= op->iov->iov_len;
		op->iov++;
		op->niov--;
	}
}

/* Prepare the next step of op; false when no SQE is free. */
static bool prep(struct queue *q, struct queue_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	int fd = op->disk->fd;
	uint64_t off = op->offset + op->pos, left = op->len - op->pos;

	if (!sqe) {
		io_uring_submit(&q->ring);
		q->stats.submits++;
		q->unsubmitted = 0;
		sqe = io_uring_get_sqe(&q->ring);
		if (!sqe)
			return false;
	}
	switch (op->kind) {
	case QUEUE_READ:
	case QUEUE_WRITE: {
		const struct iovec *iov = op->bounce ? &op->biov : op->iov;
		unsigned niov = op->bounce ? 1 : op->niov;

		if (niov > IOV_MAX)
			niov = IOV_MAX;
		if (op->kind == QUEUE_READ)
			io_uring_prep_readv(sqe, fd, iov, niov, off);
		else
			io_uring_prep_writev2(sqe, fd, iov, niov, off, op->fua ? RWF_DSYNC : 0);
		break;
	}
	case QUEUE_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case QUEUE_DISCARD:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
					left);
		break;
	case QUEUE_ZERO:
		if (op->stage == 0) {
			int mode = op->unmap && op->disk->discard_zeroes ? FALLOC_FL_PUNCH_HOLE
									 : FALLOC_FL_ZERO_RANGE;

			io_uring_prep_fallocate(sqe, fd, mode | FALLOC_FL_KEEP_SIZE, off, left);
		} else {
			/* Fallback: write zeros, up to 1 MiB at a time. The shared
			 * iovecs are never changed; a tail uses op's own. */
			if (left >= ZERO_CHUNK) {
				unsigned n = (unsigned)(left / ZERO_CHUNK);

				io_uring_prep_writev(sqe, fd, q->zero_iov,
						     n < ZERO_IOVS ? n : ZERO_IOVS, off);
			} else {
				op->biov = (struct iovec){(void *)zeros, (size_t)left};
				io_uring_prep_writev(sqe, fd, &op->biov, 1, off);
			}
		}
		break;
	}
	io_uring_sqe_set_data(sqe, op);
	q->unsubmitted++;
	return true;
}

static void start(struct queue *q, struct queue_op *op)
{
	if (!prep(q, op)) {
		struct queue_op **p = &q->wait; /* keep FIFO order */

		op->next = NULL;
		while (*p)
			p = &(*p)->next;
		*p = op;
	}
}

static bool aligned(const struct queue_op *op, uint32_t a)
{
	if (op->offset % a || op->len % a)
		return false;
	for (unsigned i = 0; i < op->niov; i++)
		if ((uintptr_t)op->iov[i].iov_base % a || op->iov[i].iov_len % a)
			return false;
	return true;
}

static int sync_ioctl(const struct queue_op *op)
{
	uint64_t range[2] = {op->offset, op->len};
	unsigned long req = op->kind == QUEUE_DISCARD ? BLKDISCARD : BLKZEROOUT;

	return ioctl(op->disk->fd, req, range) ? -errno : 0;
}

void queue_submit(struct queue *q, struct queue_op *op)
{
	op->pos = 0;
	op->stage = 0;
	op->bounce = NULL;
	op->result = 0;
	op->next = NULL;
	q->inflight++;
	if (!op->len && op->kind != QUEUE_FLUSH) {
		finish_later(q, op, 0);
		return;
	}
	if (op->disk->blockdev && (op->kind == QUEUE_DISCARD || op->kind == QUEUE_ZERO)) {
		finish_later(q, op, sync_ioctl(op));
		return;
	}
	if ((op->kind == QUEUE_READ || op->kind == QUEUE_WRITE) && op->disk->direct &&
	    !aligned(op, op->disk->dio_align)) {
		uint8_t *dst;

		if (posix_memalign(&op->bounce, 4096, op->len)) {
			op->bounce = NULL;
			finish_later(q, op, -ENOMEM);
			return;
		}
		dst = op->bounce;
		if (op->kind == QUEUE_WRITE)
			for (unsigned i = 0; i < op->niov; i++) {
				memcpy(dst, op->iov[i].iov_base, op->iov[i].iov_len);
				dst += op->iov[i].iov_len;
			}
		op->biov = (struct iovec){op->bounce, op->len};
	}
	start(q, op);
}

/* Push prepared SQEs (and waiting ops) to the kernel; true when any went. */
static bool flush_submissions(struct queue *q)
{
	bool progress = false;

	while (q->wait) {
		struct queue_op *op = q->wait;

		q->wait = op->next;
		if (!prep(q, op)) {
			op->next = q->wait;
			q->wait = op;
			break;
		}
		progress = true;
	}
	if (q->unsubmitted) {
		int ret = io_uring_submit(&q->ring);

		q->stats.submits++;
		q->unsubmitted = 0;
		progress |= ret > 0;
	}
	return progress;
}

void queue_flush_submissions(struct queue *q)
{
	flush_submissions(q);
}

/* One CQE for op: finish it, or start its next step. */
static void complete(struct queue *q, struct queue_op *op, int res)
{
	if (res == -EAGAIN || res == -EINTR) {
		start(q, op);
		return;
	}
	switch (op->kind) {
	case QUEUE_READ:
	case QUEUE_WRITE:
		if (res < 0) {
			finish(q, op, res);
			return;
		}
		if (res == 0) { /* end of file: the image shrank under us */
			finish(q, op, -EIO);
			return;
		}
		op->pos += (uint64_t)res;
		if (op->pos >= op->len) {
			finish(q, op, 0);
			return;
		}
		if (op->bounce) {
			op->biov.iov_base = (uint8_t *)op->bounce + op->pos;
			op->biov.iov_len = op->len - op->pos;
		} else {
			advance(op, (uint64_t)res);
		}
		start(q, op);
		return;
	case QUEUE_ZERO:
		if (op->stage == 0 && (res == -EOPNOTSUPP || res == -EINVAL || res == -ENODEV)) {
			op->stage = 1;
			start(q, op);
			return;
		}
		if (op->stage == 1 && res > 0) {
			op->pos += (uint64_t)res;
			if (op->pos < op->len) {
				start(q, op);
				return;
			}
			res = 0;
		} else if (op->stage == 1 && res == 0) {
			res = -EIO;
		}
		finish(q, op, res < 0 ? res : 0);
		return;
	default:
		finish(q, op, res < 0 ? res : 0);
		return;
	}
}

static unsigned reap(struct queue *q)
{
	struct io_uring_cqe *cqes[64];
	unsigned n, total = 0;

	while ((n = io_uring_peek_batch_cqe(&q->ring, cqes, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct queue_op *op = io_uring_cqe_get_data(cqes[i]);
			int res = cqes[i]->res;

			io_uring_cqe_seen(&q->ring, cqes[i]);
			complete(q, op, res);
		}
		total += n;
	}
	while (q->done) {
		struct queue_op *op = q->done;

		q->done = op->next;
		finish(q, op, op->result);
		total++;
	}
	return total;
}

void queue_run(struct queue *q)
{
	/*
	 * A block device often completes inside io_uring_submit: take those
	 * now, so that the batch's one signal covers them. (The eventfd stays
	 * armed: turning it off while reaping races with the kernel's post and
	 * can lose a wake-up.)
	 */
	q->stats.runs++;
	for (;;) {
		unsigned n = reap(q);

		if (!flush_submissions(q) && !n)
			break;
	}
}

void queue_poll(struct queue *q)
{
	uint64_t v;

	if (read(q->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing counted; look anyway. */
	}
	queue_run(q);
}

const struct queue_stats *queue_stats(const struct queue *q)
{
	return &q->stats;
}

void queue_drain(struct queue *q)
{
	while (q->inflight) {
		struct io_uring_cqe *cqe;

		queue_flush_submissions(q);
		if (reap(q))
			continue;
		if (!q->inflight)
			break;
		if (io_uring_wait_cqe(&q->ring, &cqe) < 0 && !q->done)
			continue;
	}
	queue_flush_submissions(q);
}
