/* A disk image for virtio-blk: a raw file or a block device, opened and
 * locked once, served asynchronously through io_uring.
 *
 * Requests are caller-owned (struct disk_req, no allocation here) and
 * always complete through disk_process(), never inside disk_queue(), so a
 * caller may queue while walking its own state.  The caller watches
 * disk_event_fd() on its event loop and calls disk_process() when it is
 * readable.  Nothing here locks: the caller serialises every call (the
 * device lock).
 *
 * When io_uring cannot be set up (old kernel, seccomp) the same interface
 * runs each request synchronously at queue time and reports it through the
 * eventfd, so callers never see the difference. */
#ifndef LANDLORD_BACKENDS_DISK_H
#define LANDLORD_BACKENDS_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_QUEUE_DEPTH 128   /* io_uring entries; more requests wait in a list */

enum disk_op {
	DISK_READ,
	DISK_WRITE,
	DISK_FLUSH,          /* fdatasync: every write completed before it is durable */
	DISK_DISCARD,        /* contents of the range become unspecified */
	DISK_WRITE_ZEROES,   /* the range reads back as zeroes */
};

struct disk_req;
/* res: bytes moved for READ/WRITE (less than asked = short), 0 for the
 * others, or -errno. */
typedef void (*disk_done_fn)(struct disk_req *r, int64_t res);

struct disk_req {
	/* Filled by the caller. */
	enum disk_op op;
	struct iovec *iov;   /* READ/WRITE; entries are advanced in place on a
	                        short transfer, and must live until done runs */
	int iovcnt;
	uint64_t offset;     /* bytes */
	uint64_t len;        /* DISCARD / WRITE_ZEROES: bytes */
	bool unmap;          /* WRITE_ZEROES: may deallocate the range */
	disk_done_fn done;
	void *opaque;

	/* disk.c's. */
	uint64_t total;      /* bytes asked for (READ/WRITE) */
	uint64_t moved;      /* bytes moved so far */
	int64_t res;
	struct disk_req *next;
};

#define DISK_F_SYNC  1u      /* no io_uring (tests, and hosts that forbid it) */

struct disk;

/* Open and lock path (exclusive; shared when read_only).  NULL with a
 * message "disk PATH: ..." in err on failure. */
struct disk *disk_open(const char *path, bool read_only, unsigned flags,
		       char *err, size_t errlen);
/* Waits for requests still in flight (their callbacks run), then closes. */
void disk_close(struct disk *d);

uint64_t disk_size(const struct disk *d);           /* bytes */
bool disk_read_only(const struct disk *d);
bool disk_can_discard(const struct disk *d);
bool disk_can_write_zeroes(const struct disk *d);
bool disk_can_unmap_zeroes(const struct disk *d);   /* zeroing may punch holes */
bool disk_is_async(const struct disk *d);            /* io_uring in use */

/* Readable when completions are waiting. */
int disk_event_fd(const struct disk *d);

/* Queue a request (the caller checked the range).  Call disk_submit()
 * after a batch to start the queued work. */
void disk_queue(struct disk *d, struct disk_req *r);
void disk_submit(struct disk *d);
/* Run the callbacks of finished requests and start waiting ones.
 * Returns the number completed. */
unsigned disk_process(struct disk *d);
/* Block until every queued request has completed (callbacks run). */
void disk_drain(struct disk *d);
/* Like disk_drain, but requests not started yet are dropped: their
 * callbacks run with -ECANCELED (a device reset). */
void disk_cancel(struct disk *d);
/* Requests queued and not completed yet. */
unsigned disk_busy(const struct disk *d);

#endif
