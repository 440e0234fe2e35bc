/* Unit tests for the disk back-end: opening and locking, reads and writes
 * through io_uring and through the synchronous fallback, flush ordering,
 * discard and write-zeroes, and more requests than the ring holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/disk.h"

#define FILE_SIZE (4u << 20)

struct fx {
	unsigned flags;          /* DISK_F_SYNC or 0 */
	char path[64];
	char err[256];
};

static unsigned mode_async = 0, mode_sync = DISK_F_SYNC;

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	f->flags = *state ? *(unsigned *)*state : 0;
	strcpy(f->path, "/tmp/landlord-disk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, FILE_SIZE), 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

/* Run completions until nothing is busy, failing after 10 s. */
static void wait_idle(struct disk *d)
{
	for (int i = 0; i < 1000 && disk_busy(d) > 0; i++) {
		struct pollfd p = { .fd = disk_event_fd(d), .events = POLLIN };

		assert_true(poll(&p, 1, 10000) == 1);
		disk_process(d);
	}
	assert_int_equal(disk_busy(d), 0);
}

struct done_log {
	int order[512];
	int64_t res[512];
	int n;
};

static void log_done(struct disk_req *r, int64_t res)
{
	struct done_log *l = r->opaque;

	l->res[l->n] = res;
	l->order[l->n++] = r->op;
}

static void queue_one(struct disk *d, struct disk_req *r, enum disk_op op, struct iovec *iov,
		      int iovcnt, uint64_t off, uint64_t len, struct done_log *l)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->iov = iov;
	r->iovcnt = iovcnt;
	r->offset = off;
	r->len = len;
	r->done = log_done;
	r->opaque = l;
	disk_queue(d, r);
}

static struct disk *open_ok(struct fx *f, bool ro)
{
	struct disk *d = disk_open(f->path, ro, f->flags, f->err, sizeof(f->err));

	if (!d)
		fail_msg("%s", f->err);
	assert_int_equal(disk_is_async(d), !(f->flags & DISK_F_SYNC));
	return d;
}

static void test_open_errors(void **state)
{
	struct fx *f = *state;
	char err[256];

	assert_null(disk_open("/nonexistent/disk.img", false, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "disk /nonexistent/disk.img: No such file"));
	assert_null(disk_open("/tmp", false, 0, err, sizeof(err)));
	assert_string_equal(err, "disk /tmp: not a regular file or block device");
	assert_null(disk_open("/tmp", true, 0, err, sizeof(err)));
	assert_string_equal(err, "disk /tmp: not a regular file or block device");
	assert_null(disk_open("/dev/null", true, 0, err, sizeof(err)));
	assert_string_equal(err, "disk /dev/null: not a regular file or block device");
	if (geteuid() != 0) {
		chmod(f->path, 0444);
		assert_null(disk_open(f->path, false, 0, err, sizeof(err)));
		assert_non_null(strstr(err, "Permission denied"));
		chmod(f->path, 0644);
	}
}

static void test_size_and_caps(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, false);
	struct stat st;

	assert_int_equal(disk_size(d), FILE_SIZE);
	assert_false(disk_read_only(d));
	disk_close(d);
	/* The probes past the end must not grow the file. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, FILE_SIZE);
	d = open_ok(f, true);
	assert_true(disk_read_only(d));
	assert_false(disk_can_discard(d));
	assert_false(disk_can_write_zeroes(d));
	disk_close(d);
}

static void test_locks(void **state)
{
	struct fx *f = *state;
	struct disk *a, *b;
	char err[256];

	a = open_ok(f, false);
	/* flock is per open file description: this process conflicts too. */
	assert_null(disk_open(f->path, false, f->flags, err, sizeof(err)));
	assert_string_equal(err + strlen(err) - strlen("is in use by another process"),
			    "is in use by another process");
	assert_null(disk_open(f->path, true, f->flags, err, sizeof(err)));
	disk_close(a);

	a = open_ok(f, true);
	b = open_ok(f, true);   /* readers share */
	assert_null(disk_open(f->path, false, f->flags, err, sizeof(err)));
	disk_close(a);
	disk_close(b);
	a = open_ok(f, false);   /* released on close */
	disk_close(a);
}

static void test_read_write_flush(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, false);
	static uint8_t wbuf[3 * 4096], rbuf[3 * 4096], file[3 * 4096];
	struct iovec wiov[2] = { { wbuf, 4096 }, { wbuf + 4096, 2 * 4096 } };
	struct iovec riov[3] = { { rbuf, 512 }, { rbuf + 512, 8192 }, { rbuf + 8704, 3584 } };
	struct disk_req w, fl, r;
	struct done_log l = { 0 };
	int fd;

	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(i * 7 + 3);
	queue_one(d, &w, DISK_WRITE, wiov, 2, 65536, 0, &l);
	queue_one(d, &fl, DISK_FLUSH, NULL, 0, 0, 0, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.order[0], DISK_WRITE);
	assert_int_equal(l.res[0], sizeof(wbuf));
	assert_int_equal(l.order[1], DISK_FLUSH);
	assert_int_equal(l.res[1], 0);

	fd = open(f->path, O_RDONLY);
	assert_int_equal(pread(fd, file, sizeof(file), 65536), sizeof(file));
	close(fd);
	assert_memory_equal(file, wbuf, sizeof(wbuf));

	queue_one(d, &r, DISK_READ, riov, 3, 65536, 0, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.res[2], sizeof(rbuf));
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));

	/* Past the end: short, not an error. */
	riov[0] = (struct iovec){ rbuf, 4096 };
	queue_one(d, &r, DISK_READ, riov, 1, FILE_SIZE - 1024, 0, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.res[3], 1024);
	disk_close(d);
}

static void test_discard_zeroes(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, false);
	static uint8_t buf[65536], back[65536], zero[65536];
	struct iovec iov = { buf, sizeof(buf) };
	struct disk_req r;
	struct done_log l = { 0 };
	int fd;

	if (!disk_can_write_zeroes(d)) {
		disk_close(d);
		skip();
	}
	memset(buf, 0xa5, sizeof(buf));
	queue_one(d, &r, DISK_WRITE, &iov, 1, 0, 0, &l);
	disk_submit(d);
	wait_idle(d);
	queue_one(d, &r, DISK_WRITE_ZEROES, NULL, 0, 4096, 8192, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.res[1], 0);
	fd = open(f->path, O_RDONLY);
	assert_int_equal(pread(fd, back, sizeof(back), 0), sizeof(back));
	assert_memory_equal(back, buf, 4096);
	assert_memory_equal(back + 4096, zero, 8192);
	assert_memory_equal(back + 12288, buf, 4096);

	if (disk_can_discard(d)) {
		queue_one(d, &r, DISK_DISCARD, NULL, 0, 32768, 32768, &l);
		disk_submit(d);
		wait_idle(d);
		assert_int_equal(l.res[2], 0);
		/* A hole in a file reads as zeroes. */
		assert_int_equal(pread(fd, back, sizeof(back), 0), sizeof(back));
		assert_memory_equal(back + 32768, zero, 32768);
		assert_memory_equal(back + 16384, buf, 16384);
	}
	close(fd);
	disk_close(d);
}

/* More requests than the ring holds, a flush in the middle, then more:
 * the flush completes after everything before it. */
static void test_many_and_barrier(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, false);
	enum { N = 300 };
	static struct disk_req reqs[N + 1];
	static struct iovec iov[N];
	static uint8_t bufs[N][4096];
	static uint8_t back[4096];
	struct done_log *l = calloc(1, sizeof(*l));
	int fd, flush_at = -1;

	for (int i = 0; i < N; i++) {
		memset(bufs[i], i & 0xff, sizeof(bufs[i]));
		iov[i] = (struct iovec){ bufs[i], 4096 };
		queue_one(d, &reqs[i], DISK_WRITE, &iov[i], 1, (uint64_t)i * 4096, 0, l);
		if (i == 200)
			queue_one(d, &reqs[N], DISK_FLUSH, NULL, 0, 0, 0, l);
	}
	assert_int_equal(disk_busy(d), N + 1);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l->n, N + 1);
	for (int i = 0; i < l->n; i++) {
		if (l->order[i] == DISK_FLUSH)
			flush_at = i;
		assert_int_equal(l->res[i], l->order[i] == DISK_FLUSH ? 0 : 4096);
	}
	/* 201 writes were queued before the flush. */
	assert_true(flush_at >= 201);
	fd = open(f->path, O_RDONLY);
	for (int i = 0; i < N; i += 37) {
		assert_int_equal(pread(fd, back, 4096, (off_t)i * 4096), 4096);
		assert_memory_equal(back, bufs[i], 4096);
	}
	close(fd);
	free(l);
	disk_close(d);
}

/* disk_drain and disk_close wait for what is in flight. */
static void test_drain(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, false);
	static struct disk_req reqs[64];
	static struct iovec iov[64];
	static uint8_t buf[64][8192];
	struct done_log l = { 0 };

	for (int i = 0; i < 64; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		queue_one(d, &reqs[i], i % 2 ? DISK_READ : DISK_WRITE, &iov[i], 1,
			  (uint64_t)i * 8192, 0, &l);
	}
	disk_submit(d);
	disk_drain(d);
	assert_int_equal(disk_busy(d), 0);
	assert_int_equal(l.n, 64);
	queue_one(d, &reqs[0], DISK_FLUSH, NULL, 0, 0, 0, &l);
	disk_close(d);   /* runs the flush's callback first */
	assert_int_equal(l.n, 65);
}

/* disk_cancel drops what has not reached the ring, waits for the rest. */
static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, false);
	enum { N = 300 };
	static struct disk_req reqs[N];
	static struct iovec iov[N];
	static uint8_t buf[4096];
	struct done_log *l = calloc(1, sizeof(*l));
	int ok = 0, cancelled = 0;

	for (int i = 0; i < N; i++) {
		iov[i] = (struct iovec){ buf, sizeof(buf) };
		queue_one(d, &reqs[i], DISK_READ, &iov[i], 1, (uint64_t)i * 4096, 0, l);
	}
	disk_cancel(d);
	assert_int_equal(disk_busy(d), 0);
	assert_int_equal(l->n, N);
	for (int i = 0; i < N; i++) {
		ok += l->res[i] == 4096;
		cancelled += l->res[i] == -ECANCELED;
	}
	assert_int_equal(ok + cancelled, N);
	if (disk_is_async(d))
		assert_int_equal(cancelled, N - DISK_QUEUE_DEPTH);
	free(l);
	disk_close(d);
}

static void test_read_only_write_fails(void **state)
{
	struct fx *f = *state;
	struct disk *d = open_ok(f, true);
	static uint8_t buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct disk_req r;
	struct done_log l = { 0 };

	queue_one(d, &r, DISK_WRITE, &iov, 1, 0, 0, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.res[0], -EBADF);
	disk_close(d);
}

/* A block device named by LANDLORD_TEST_BLOCKDEV (e.g. a loop device the
 * test may overwrite); skipped without one. */
static void test_block_device(void **state)
{
	const char *dev = getenv("LANDLORD_TEST_BLOCKDEV");
	static uint8_t buf[65536], back[65536], zero[65536];
	struct iovec iov = { buf, sizeof(buf) }, riov = { back, sizeof(back) };
	struct disk_req r;
	struct done_log l = { 0 };
	struct disk *d;
	char err[256];

	if (!dev)
		skip();
	d = disk_open(dev, false, *(unsigned *)*state, err, sizeof(err));
	if (!d)
		fail_msg("%s", err);
	assert_true(disk_size(d) >= sizeof(buf));
	memset(buf, 0x3c, sizeof(buf));
	queue_one(d, &r, DISK_WRITE, &iov, 1, 0, 0, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.res[0], sizeof(buf));
	if (disk_can_write_zeroes(d)) {
		queue_one(d, &r, DISK_WRITE_ZEROES, NULL, 0, 4096, 4096, &l);
		disk_submit(d);
		wait_idle(d);
		assert_int_equal(l.res[l.n - 1], 0);
	}
	if (disk_can_discard(d)) {
		queue_one(d, &r, DISK_DISCARD, NULL, 0, 32768, 32768, &l);
		disk_submit(d);
		wait_idle(d);
		assert_int_equal(l.res[l.n - 1], 0);
	}
	queue_one(d, &r, DISK_FLUSH, NULL, 0, 0, 0, &l);
	queue_one(d, &r, DISK_READ, &riov, 1, 0, 0, &l);
	disk_submit(d);
	wait_idle(d);
	assert_int_equal(l.res[l.n - 1], sizeof(back));
	assert_memory_equal(back, buf, 4096);
	if (disk_can_write_zeroes(d))
		assert_memory_equal(back + 4096, zero, 4096);
	assert_memory_equal(back + 8192, buf, 8192);
	disk_close(d);
}

#define BOTH(fn) \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &mode_async), \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &mode_sync)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_open_errors),
		BOTH(test_size_and_caps),
		BOTH(test_locks),
		BOTH(test_read_write_flush),
		BOTH(test_discard_zeroes),
		BOTH(test_many_and_barrier),
		BOTH(test_drain),
		BOTH(test_cancel),
		BOTH(test_read_only_write_fails),
		BOTH(test_block_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
