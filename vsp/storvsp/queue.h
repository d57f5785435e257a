/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous disk I/O for one data thread: a liburing ring whose
 * completions raise an eventfd (watched by the channel's data thread).
 * Reads and writes go straight between the caller's iovecs (guest memory)
 * and the image; short transfers and -EAGAIN are resubmitted, O_DIRECT
 * misalignment is bounced. Every completion calls op->done from queue_poll()
 * or queue_drain(), never from queue_submit().
 */
#ifndef STORVSP_QUEUE_H
#define STORVSP_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct disk;
struct queue;

enum queue_kind {
	QUEUE_READ,
	QUEUE_WRITE,   /* fua: durable before done (RWF_DSYNC) */
	QUEUE_FLUSH,   /* fdatasync */
	QUEUE_DISCARD, /* punch a hole / BLKDISCARD */
	QUEUE_ZERO,    /* make the range read as zeros; unmap: may deallocate */
};

struct queue_op {
	enum queue_kind kind;
	const struct disk *disk;
	uint64_t offset, len; /* bytes */
	struct iovec *iov;    /* READ/WRITE: len bytes; the queue may modify the array */
	unsigned niov;
	bool fua;
	bool unmap;
	int result; /* 0 or -errno when done runs */
	void (*done)(struct queue_op *op);

	/* Private to the queue. */
	uint64_t pos;
	void *bounce;
	struct iovec biov;
	int stage;
	struct queue_op *next;
};

int queue_create(unsigned entries, struct queue **out);
/* Frees the ring and closes the eventfd; nothing may be in flight. */
void queue_destroy(struct queue *q);
/* The eventfd that becomes readable when completions are waiting. */
int queue_fd(const struct queue *q);
/* Start op (its fields above "Private" set). */
void queue_submit(struct queue *q, struct queue_op *op);
/* Push queued submissions to the kernel (once per batch). */
void queue_flush_submissions(struct queue *q);
/*
 * After a batch of queue_submit calls: submit them with one io_uring_submit
 * and handle every completion that is ready, including those the kernel
 * finished during the submit (op->done runs for finished ops).
 */
void queue_run(struct queue *q);
/* The eventfd was readable: consume it, then queue_run. */
void queue_poll(struct queue *q);
/* Wait until nothing is in flight, running done callbacks. */
void queue_drain(struct queue *q);
unsigned queue_inflight(const struct queue *q);

/* Counters for the channel's close line: what one request costs. */
struct queue_stats {
	uint64_t submits; /* io_uring_submit calls */
	uint64_t runs;	  /* queue_run calls */
};
const struct queue_stats *queue_stats(const struct queue *q);

#endif /* STORVSP_QUEUE_H */
