/* Disk images for virtio-blk: see include/backends/disk.h.
 *
 * io_uring: one ring of DISK_QUEUE_DEPTH entries per disk, its completions
 * signalled on an eventfd (io_uring_register_eventfd) that the device
 * watches on the VM's event loop.  At most DISK_QUEUE_DEPTH requests are in
 * the ring at once (so the completion ring, twice as large, cannot
 * overflow); the rest wait in a FIFO and go in as completions free slots.
 *
 * Ordering: a FLUSH is a barrier in that FIFO.  It is not issued until
 * every request queued before it has completed (short transfers resumed
 * included), and nothing queued after it overtakes it in the FIFO.  So
 * every write the guest saw complete before it sent the flush, and every
 * write it merely sent before, is on the file when fdatasync runs.
 *
 * Synchronous mode (no io_uring) runs each request in disk_queue and puts
 * it on a done list; the eventfd is written so completions still arrive
 * through disk_process on the event loop. */
#include "backends/disk.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBE_LEN 4096

struct disk {
	int fd;
	int efd;                 /* completions: io_uring's, or ours in sync mode */
	bool read_only;
	bool blkdev;
	bool async;
	bool can_punch;          /* fallocate PUNCH_HOLE (files) */
	bool can_zero_range;     /* fallocate ZERO_RANGE */
	bool can_blkdiscard;     /* BLKDISCARD (block devices) */
	uint64_t size;
	struct io_uring ring;

	unsigned in_ring;        /* requests with an SQE submitted or prepared */
	unsigned busy;           /* queued and callback not yet run */
	struct disk_req *wait_head, *wait_tail;  /* not in the ring yet */
	struct disk_req *done_head, *done_tail;  /* finished, callback pending */
};

static void list_append(struct disk_req **head, struct disk_req **tail, struct disk_req *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static struct disk_req *list_pop(struct disk_req **head, struct disk_req **tail)
{
	struct disk_req *r = *head;

	if (r) {
		*head = r->next;
		if (!*head)
			*tail = NULL;
		r->next = NULL;
	}
	return r;
}

/* Drop n bytes from the front of an iovec array (a resumed short transfer). */
static void iov_advance(struct disk_req *r, uint64_t n)
{
	while (r->iovcnt > 0 && n >= r->iov[0].iov_len) {
		n -= r->iov[0].iov_len;
		r->iov++;
		r->iovcnt--;
	}
	if (r->iovcnt > 0 && n > 0) {
		r->iov[0].iov_base = (uint8_t *)r->iov[0].iov_base + n;
		r->iov[0].iov_len -= n;
	}
}

static int zero_mode(const struct disk *d, const struct disk_req *r)
{
	if (d->can_punch && (r->unmap || !d->can_zero_range))
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

/* ---- synchronous execution (fallback, and BLKDISCARD) ---- */

static int64_t sync_rw(struct disk *d, struct disk_req *r)
{
	while (r->moved < r->total) {
		ssize_t n = r->op == DISK_READ ?
			preadv(d->fd, r->iov, r->iovcnt, (off_t)(r->offset + r->moved)) :
			pwritev(d->fd, r->iov, r->iovcnt, (off_t)(r->offset + r->moved));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;   /* end of file: short */
		r->moved += (uint64_t)n;
		iov_advance(r, (uint64_t)n);
	}
	return (int64_t)r->moved;
}

static int64_t sync_run(struct disk *d, struct disk_req *r)
{
	uint64_t range[2] = { r->offset, r->len };
	int ret = 0;

	switch (r->op) {
	case DISK_READ:
	case DISK_WRITE:
		return sync_rw(d, r);
	case DISK_FLUSH:
		ret = fdatasync(d->fd);
		break;
	case DISK_DISCARD:
		if (d->blkdev)
			ret = ioctl(d->fd, BLKDISCARD, range);
		else
			ret = fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)r->len);
		break;
	case DISK_WRITE_ZEROES:
		ret = fallocate(d->fd, zero_mode(d, r), (off_t)r->offset, (off_t)r->len);
		break;
	}
	return ret < 0 ? -errno : 0;
}

static void finish_later(struct disk *d, struct disk_req *r, int64_t res)
{
	uint64_t one = 1;

	r->res = res;
	list_append(&d->done_head, &d->done_tail, r);
	/* Wake the event loop; a full counter (impossible) still reads ready. */
	if (write(d->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_errno("disk eventfd");
}

/* ---- io_uring ---- */

static void prep(struct disk *d, struct io_uring_sqe *sqe, struct disk_req *r)
{
	switch (r->op) {
	case DISK_READ:
		io_uring_prep_readv(sqe, d->fd, r->iov, (unsigned)r->iovcnt,
				    r->offset + r->moved);
		break;
	case DISK_WRITE:
		io_uring_prep_writev(sqe, d->fd, r->iov, (unsigned)r->iovcnt,
				     r->offset + r->moved);
		break;
	case DISK_FLUSH:
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		break;
	case DISK_DISCARD:
		io_uring_prep_fallocate(sqe, d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)r->len);
		break;
	case DISK_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, d->fd, zero_mode(d, r),
					(off_t)r->offset, (off_t)r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
}

static struct io_uring_sqe *get_sqe(struct disk *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe) {
		/* The SQ holds prepared entries: hand them over to make room. */
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	return sqe;
}

/* Move waiting requests into the ring while there is room, stopping at a
 * FLUSH until everything before it has completed. */
static void pump(struct disk *d)
{
	while (d->wait_head && d->in_ring < DISK_QUEUE_DEPTH) {
		struct disk_req *r = d->wait_head;
		struct io_uring_sqe *sqe;

		if (r->op == DISK_FLUSH && d->in_ring > 0)
			return;
		sqe = get_sqe(d);
		if (!sqe)
			return;   /* submission failing; retried on the next call */
		list_pop(&d->wait_head, &d->wait_tail);
		prep(d, sqe, r);
		d->in_ring++;
	}
}

static void run_callback(struct disk *d, struct disk_req *r, int64_t res)
{
	d->busy--;
	r->done(r, res);
}

/* One completion from the ring.  A short read or write is resumed where it
 * stopped (it keeps its place in the ring count, so a FLUSH waits for it);
 * zero bytes or an error ends it. */
static void ring_complete(struct disk *d, struct disk_req *r, int res)
{
	if ((r->op == DISK_READ || r->op == DISK_WRITE) && res > 0) {
		r->moved += (uint64_t)res;
		if (r->moved < r->total) {
			struct io_uring_sqe *sqe = get_sqe(d);

			if (sqe) {
				iov_advance(r, (uint64_t)res);
				prep(d, sqe, r);
				return;
			}
		}
		d->in_ring--;
		run_callback(d, r, (int64_t)r->moved);
		return;
	}
	d->in_ring--;
	if ((r->op == DISK_READ || r->op == DISK_WRITE) && res == 0)
		run_callback(d, r, (int64_t)r->moved);
	else
		run_callback(d, r, res);
}

/* ---- the interface ---- */

void disk_queue(struct disk *d, struct disk_req *r)
{
	r->total = 0;
	r->moved = 0;
	r->res = 0;
	for (int i = 0; i < r->iovcnt && (r->op == DISK_READ || r->op == DISK_WRITE); i++)
		r->total += r->iov[i].iov_len;
	d->busy++;
	if (!d->async || (r->op == DISK_DISCARD && d->blkdev)) {
		/* io_uring has no BLKDISCARD; it runs here, bounded by the
		 * device's max_discard_sectors. */
		finish_later(d, r, sync_run(d, r));
		return;
	}
	list_append(&d->wait_head, &d->wait_tail, r);
	pump(d);
}

void disk_submit(struct disk *d)
{
	if (!d->async)
		return;
	pump(d);
	if (io_uring_sq_ready(&d->ring) > 0)
		io_uring_submit(&d->ring);
}

unsigned disk_process(struct disk *d)
{
	unsigned n = 0;
	uint64_t cnt;
	struct disk_req *r;

	/* Reset the counter first: a completion posted after this read
	 * signals it again, so none is missed. */
	if (read(d->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn_errno("disk eventfd");
	while ((r = list_pop(&d->done_head, &d->done_tail))) {
		run_callback(d, r, r->res);
		n++;
	}
	if (!d->async)
		return n;
	/* Bounded by the ring: at most DISK_QUEUE_DEPTH requests are in it,
	 * and a resumed transfer makes progress each time. */
	for (unsigned i = 0; i < 2 * DISK_QUEUE_DEPTH; i++) {
		struct io_uring_cqe *cqe;
		int res;

		if (io_uring_peek_cqe(&d->ring, &cqe) != 0)
			break;
		r = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&d->ring, cqe);
		ring_complete(d, r, res);
		n++;
	}
	disk_submit(d);
	return n;
}

void disk_drain(struct disk *d)
{
	/* Each pass runs finished callbacks or waits for the ring. */
	while (d->busy > 0) {
		if (!d->done_head) {
			struct io_uring_cqe *cqe;
			int ret;

			if (!d->async)
				break;   /* cannot happen: sync requests finish at once */
			disk_submit(d);
			if (d->in_ring == 0)
				break;   /* waiting ones cannot get an SQE: give up */
			ret = io_uring_wait_cqe(&d->ring, &cqe);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN) {
				log_error("disk: waiting for I/O: %s", strerror(-ret));
				break;
			}
		}
		disk_process(d);
	}
}

void disk_cancel(struct disk *d)
{
	struct disk_req *r;

	while ((r = list_pop(&d->wait_head, &d->wait_tail)))
		run_callback(d, r, -ECANCELED);
	disk_drain(d);
}

unsigned disk_busy(const struct disk *d)
{
	return d->busy;
}

/* ---- opening ---- */

/* Whether a fallocate mode works here, tried past the end of the file with
 * KEEP_SIZE so no data changes.  A block device refuses the range with
 * EINVAL only after it has accepted the mode. */
static bool probe_fallocate(struct disk *d, int mode)
{
	off_t off = (off_t)((d->size + PROBE_LEN - 1) & ~(uint64_t)(PROBE_LEN - 1));

	if (fallocate(d->fd, mode, off, PROBE_LEN) == 0)
		return true;
	return d->blkdev && errno == EINVAL;
}

static bool probe_blkdiscard(struct disk *d)
{
	uint64_t range[2] = { (d->size + 511) & ~511ULL, 512 };

	/* The kernel checks support before the range: past the end gives
	 * EINVAL when the device can discard at all. */
	return ioctl(d->fd, BLKDISCARD, range) < 0 && errno == EINVAL;
}

static void probe_caps(struct disk *d)
{
	if (d->read_only)
		return;
	if (d->blkdev) {
		d->can_blkdiscard = probe_blkdiscard(d);
		d->can_zero_range = probe_fallocate(d, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
		return;
	}
	d->can_punch = probe_fallocate(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	d->can_zero_range = probe_fallocate(d, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	/* ZERO_RANGE may have preallocated the probe's block past the end
	 * (punching there is a no-op on ext4); truncating to the same size
	 * gives it back. */
	if (d->can_zero_range && ftruncate(d->fd, (off_t)d->size) < 0)
		d->can_zero_range = false;
}

static int open_checked(struct disk *d, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int flags = (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	/* O_NONBLOCK: a FIFO must not hang the open; cleared below. */
	d->fd = open(path, flags);
	if (d->fd < 0) {
		if (errno == EISDIR)
			snprintf(err, errlen, "disk %s: not a regular file or block device", path);
		else
			snprintf(err, errlen, "disk %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(d->fd, &st) < 0) {
		snprintf(err, errlen, "disk %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "disk %s: not a regular file or block device", path);
		return -1;
	}
	d->blkdev = S_ISBLK(st.st_mode);
	d->size = (uint64_t)st.st_size;
	if (d->blkdev && ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
		snprintf(err, errlen, "disk %s: size: %s", path, strerror(errno));
		return -1;
	}
	if (fcntl(d->fd, F_SETFL, 0) < 0) {
		snprintf(err, errlen, "disk %s: %s", path, strerror(errno));
		return -1;
	}
	/* flock belongs to the open file description: a second open, even in
	 * this process, conflicts, which is what two disks on one image are. */
	if (flock(d->fd, (d->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "disk %s is in use by another process", path);
		else
			snprintf(err, errlen, "disk %s: lock: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void setup_ring(struct disk *d, const char *path, unsigned flags)
{
	int ret;

	if (flags & DISK_F_SYNC)
		return;
	ret = io_uring_queue_init(DISK_QUEUE_DEPTH, &d->ring, 0);
	if (ret < 0) {
		log_warn("disk %s: io_uring unavailable (%s), "
			 "using synchronous I/O", path, strerror(-ret));
		return;
	}
	ret = io_uring_register_eventfd(&d->ring, d->efd);
	if (ret < 0) {
		log_warn("disk %s: io_uring eventfd: %s, "
			 "using synchronous I/O", path, strerror(-ret));
		io_uring_queue_exit(&d->ring);
		return;
	}
	d->async = true;
}

struct disk *disk_open(const char *path, bool read_only, unsigned flags,
		       char *err, size_t errlen)
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "disk %s: out of memory", path);
		return NULL;
	}
	d->read_only = read_only;
	d->efd = -1;
	if (open_checked(d, path, err, errlen) < 0)
		goto fail;
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0) {
		snprintf(err, errlen, "disk %s: eventfd: %s", path, strerror(errno));
		goto fail;
	}
	probe_caps(d);
	setup_ring(d, path, flags);
	return d;
fail:
	if (d->fd >= 0)
		close(d->fd);
	if (d->efd >= 0)
		close(d->efd);
	free(d);
	return NULL;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	disk_drain(d);
	if (d->async)
		io_uring_queue_exit(&d->ring);
	close(d->efd);
	close(d->fd);   /* drops the lock */
	free(d);
}

uint64_t disk_size(const struct disk *d) { return d->size; }
bool disk_read_only(const struct disk *d) { return d->read_only; }
bool disk_is_async(const struct disk *d) { return d->async; }
int disk_event_fd(const struct disk *d) { return d->efd; }

bool disk_can_discard(const struct disk *d)
{
	return d->blkdev ? d->can_blkdiscard : d->can_punch;
}

bool disk_can_write_zeroes(const struct disk *d)
{
	return d->can_zero_range || d->can_punch;
}

bool disk_can_unmap_zeroes(const struct disk *d)
{
	return d->can_punch;
}
