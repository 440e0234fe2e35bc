/* Unit tests for virtio-blk through a fake transport: the test plays the
 * driver, building rings and chains by hand in guest memory, kicking the
 * queue, and running the event loop until the used ring says the requests
 * are done; then it checks the status bytes and the host file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>

#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "backends/disk.h"
#include "base/bytes.h"
#include "virtio/virtio_blk.h"

#define RAM        (64ULL << 20)
#define QSIZE      256
#define DESC_GPA   0x1000
#define AVAIL_GPA  0x2000
#define USED_GPA   0x3000
#define HDR_GPA    0x10000     /* 32 bytes per request */
#define STATUS_GPA 0x20000     /* 1 byte per request */
#define MISC_GPA   0x30000
#define DATA_GPA   0x100000    /* 1 MiB per request */
#define MiB        (1u << 20)
#define DISK_SIZE  (32u << 20)

struct fake_irq {
	int queue;
	int config;
};

static void fake_signal_queue(struct virtio_dev *d, int q)
{
	((struct fake_irq *)d->transport_priv)->queue++;
}

static void fake_signal_config(struct virtio_dev *d)
{
	((struct fake_irq *)d->transport_priv)->config++;
}

static const struct virtio_transport_ops fake_transport = {
	.signal_queue = fake_signal_queue,
	.signal_config = fake_signal_config,
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct fx {
	struct guest_mem gm;
	struct event_loop loop;
	struct virtio_dev *d;
	struct fake_irq irq;
	char path[64];
	char err[256];
	uint16_t next_desc;
	uint16_t avail_idx;
	uint16_t used_seen;
	/* event-loop wait */
	int timer_fd;
	uint16_t want_used;
	int ticks, max_ticks;
};

static uint8_t *gp(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static uint16_t used_idx(struct fx *f)
{
	return __atomic_load_n((uint16_t *)gp(f, USED_GPA + 2, 2), __ATOMIC_ACQUIRE);
}

static void used_elem(struct fx *f, uint16_t i, uint32_t *id, uint32_t *len)
{
	uint8_t *e = gp(f, USED_GPA + 4 + 8 * (i % QSIZE), 8);

	*id = get_le32(e);
	*len = get_le32(e + 4);
}

static void tick(void *opaque, int fd, uint32_t events)
{
	struct fx *f = opaque;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	f->ticks++;
	if ((uint16_t)(used_idx(f) - f->want_used) < 0x8000 || f->ticks > f->max_ticks)
		el_quit(&f->loop);
}

/* Run the event loop until the used index reaches want (10 s at most). */
static void run_until_used(struct fx *f, uint16_t want)
{
	f->want_used = want;
	f->ticks = 0;
	f->max_ticks = 10000;
	f->loop.quit = false;
	el_run(&f->loop);
	assert_int_equal(used_idx(f), want);
}

/* Run the event loop for about ms milliseconds. */
static void run_for(struct fx *f, int ms)
{
	f->want_used = (uint16_t)(used_idx(f) + 0x8000);
	f->ticks = 0;
	f->max_ticks = ms;
	f->loop.quit = false;
	el_run(&f->loop);
}

/* Set up the device as a driver would, through the core's calls. */
static void driver_init(struct fx *f, bool event_idx)
{
	struct virtio_dev *d = f->d;
	struct virtqueue *vq = &d->vq[0];
	uint64_t feat = virtio_offered_features(d);

	if (!event_idx)
		feat &= ~(1ULL << VIRTIO_F_EVENT_IDX);
	pthread_mutex_lock(&d->lock);
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(d, feat);
	virtio_set_status(d, d->status | VIRTIO_STATUS_FEATURES_OK);
	assert_true(d->status & VIRTIO_STATUS_FEATURES_OK);
	vq->size = QSIZE;
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	assert_int_equal(virtio_queue_enable(d, 0), 0);
	virtio_set_status(d, d->status | VIRTIO_STATUS_DRIVER_OK);
	pthread_mutex_unlock(&d->lock);
	f->next_desc = 0;
	f->avail_idx = 0;
}

static int open_dev(struct fx *f, bool ro, const char *id)
{
	struct virtio_blk_config cfg = { .path = f->path, .read_only = ro, .id = id };

	f->d = virtio_blk_create(&cfg, &f->gm, &f->loop, f->err, sizeof(f->err));
	if (!f->d)
		return -1;
	f->d->transport = &fake_transport;
	f->d->transport_priv = &f->irq;
	driver_init(f, false);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct itimerspec its = { .it_interval.tv_nsec = 1000000, .it_value.tv_nsec = 1000000 };
	int fd;

	assert_int_equal(gm_map(&f->gm, RAM, 3ULL << 30), 0);
	assert_int_equal(el_init(&f->loop), 0);
	f->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	assert_true(f->timer_fd >= 0);
	timerfd_settime(f->timer_fd, 0, &its, NULL);
	assert_int_equal(el_add(&f->loop, f->timer_fd, EPOLLIN, tick, f), 0);
	strcpy(f->path, "/tmp/landlord-vblk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_SIZE), 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_blk_destroy(f->d);
	el_remove(&f->loop, f->timer_fd);
	close(f->timer_fd);
	el_close(&f->loop);
	gm_unmap(&f->gm);
	unlink(f->path);
	free(f);
	return 0;
}

/* Put a chain of n segments on the avail ring (not yet kicked). */
static uint16_t post(struct fx *f, const struct seg *s, int n)
{
	uint16_t head = f->next_desc;

	for (int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSIZE);
		uint8_t *desc = gp(f, DESC_GPA + 16ULL * idx, 16);
		uint16_t flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		put_le64(desc, s[i].gpa);
		put_le32(desc + 8, s[i].len);
		put_le16(desc + 12, flags);
		put_le16(desc + 14, (uint16_t)((idx + 1) % QSIZE));
	}
	f->next_desc = (uint16_t)((head + n) % QSIZE);
	put_le16(gp(f, AVAIL_GPA + 4 + 2ULL * (f->avail_idx % QSIZE), 2), head);
	f->avail_idx++;
	__atomic_store_n((uint16_t *)gp(f, AVAIL_GPA + 2, 2), htole16(f->avail_idx),
			 __ATOMIC_RELEASE);
	return head;
}

/* A request with header #slot, data segments, and status #slot. */
static uint16_t post_req(struct fx *f, int slot, uint32_t type, uint64_t sector,
			 const struct seg *data, int ndata)
{
	struct seg s[8];
	uint8_t *hdr = gp(f, HDR_GPA + 32ULL * slot, 16);
	int n = 0;

	assert_true(ndata <= 6);
	put_le32(hdr, type);
	put_le32(hdr + 4, 0);
	put_le64(hdr + 8, sector);
	s[n++] = (struct seg){ HDR_GPA + 32ULL * slot, 16, false };
	for (int i = 0; i < ndata; i++)
		s[n++] = data[i];
	*gp(f, STATUS_GPA + slot, 1) = 0xee;
	s[n++] = (struct seg){ STATUS_GPA + slot, 1, true };
	return post(f, s, n);
}

static uint8_t status_of(struct fx *f, int slot)
{
	return *gp(f, STATUS_GPA + slot, 1);
}

static void kick(struct fx *f)
{
	virtio_queue_kick(f->d, 0);
}

/* Kick through the notify eventfd, as KVM_IOEVENTFD would. */
static void kick_fd(struct fx *f)
{
	uint64_t one = 1;

	assert_int_equal(write(f->d->notify_fd[0], &one, sizeof(one)), sizeof(one));
}

/* One request start to finish: its status byte. */
static uint8_t one_req(struct fx *f, uint32_t type, uint64_t sector, const struct seg *data,
		       int ndata)
{
	post_req(f, 0, type, sector, data, ndata);
	kick(f);
	run_until_used(f, f->avail_idx);
	return status_of(f, 0);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i >> 9) * 131 + i * 7 + seed);
}

static void host_read(struct fx *f, void *buf, size_t n, off_t off)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

/* ---- tests ---- */

static void test_config_and_features(void **state)
{
	struct fx *f = *state;
	uint8_t c[VIRTIO_BLK_CONFIG_LEN + 8];
	uint64_t feat;

	assert_int_equal(open_dev(f, false, NULL), 0);
	feat = f->d->device_features;
	assert_int_equal(f->d->device_id, VIRTIO_ID_BLOCK);
	assert_true(feat & 1ULL << VIRTIO_BLK_F_FLUSH);
	assert_true(feat & 1ULL << VIRTIO_BLK_F_SEG_MAX);
	assert_true(feat & 1ULL << VIRTIO_BLK_F_BLK_SIZE);
	assert_false(feat & 1ULL << VIRTIO_BLK_F_RO);
	pthread_mutex_lock(&f->d->lock);
	f->d->ops->config_read(f->d, 0, c, sizeof(c));
	pthread_mutex_unlock(&f->d->lock);
	assert_int_equal(get_le64(c + VIRTIO_BLK_CFG_CAPACITY), DISK_SIZE / 512);
	assert_int_equal(get_le32(c + VIRTIO_BLK_CFG_SEG_MAX), QSIZE - 2);
	assert_int_equal(get_le32(c + VIRTIO_BLK_CFG_BLK_SIZE), 512);
	assert_int_equal(c[VIRTIO_BLK_CONFIG_LEN + 1], 0);   /* past the end reads 0 */
	if (feat & 1ULL << VIRTIO_BLK_F_DISCARD) {
		assert_int_equal(get_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG), 1);
		assert_true(get_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS) > 0);
	}
}

/* Write a pattern (two segments), flush, read it back in three segments,
 * and compare with the host file byte for byte. */
static void test_write_flush_read(void **state)
{
	struct fx *f = *state;
	static uint8_t pat[MiB], back[MiB];
	struct seg w[2] = { { DATA_GPA, 4096, false }, { DATA_GPA + 4096, MiB - 4096, false } };
	struct seg r[3] = { { DATA_GPA + 2 * MiB, 512, true },
			    { DATA_GPA + 3 * MiB, MiB - 1024, true },
			    { DATA_GPA + 5 * MiB, 512, true } };
	uint32_t id, len;

	assert_int_equal(open_dev(f, false, NULL), 0);
	fill_pattern(pat, MiB, 1);
	memcpy(gp(f, DATA_GPA, MiB), pat, MiB);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_OUT, 100, w, 2), VIRTIO_BLK_S_OK);
	used_elem(f, 0, &id, &len);
	assert_int_equal(len, 1);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
	host_read(f, back, MiB, 100 * 512);
	assert_memory_equal(back, pat, MiB);

	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, 100, r, 3), VIRTIO_BLK_S_OK);
	used_elem(f, 2, &id, &len);
	assert_int_equal(len, MiB + 1);
	assert_memory_equal(gp(f, DATA_GPA + 2 * MiB, 512), pat, 512);
	assert_memory_equal(gp(f, DATA_GPA + 3 * MiB, MiB - 1024), pat + 512, MiB - 1024);
	assert_memory_equal(gp(f, DATA_GPA + 5 * MiB, 512), pat + MiB - 512, 512);
	assert_true(f->irq.queue >= 3);
	assert_false(f->d->broken);
}

/* The header and data in one buffer, the status in one with data: no
 * assumption about framing (2.6.4). */
static void test_any_framing(void **state)
{
	struct fx *f = *state;
	static uint8_t pat[4096], back[4096];
	uint8_t *buf = gp(f, DATA_GPA, 16 + 4096);
	struct seg out[2] = { { DATA_GPA, 16 + 4096, false }, { STATUS_GPA, 1, true } };
	struct seg in[2] = { { HDR_GPA, 16, false }, { DATA_GPA + MiB, 4096 + 1, true } };

	assert_int_equal(open_dev(f, false, NULL), 0);
	fill_pattern(pat, sizeof(pat), 9);
	put_le32(buf, VIRTIO_BLK_T_OUT);
	put_le32(buf + 4, 0);
	put_le64(buf + 8, 7);
	memcpy(buf + 16, pat, sizeof(pat));
	post(f, out, 2);
	kick(f);
	run_until_used(f, 1);
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_OK);
	host_read(f, back, sizeof(back), 7 * 512);
	assert_memory_equal(back, pat, sizeof(pat));

	put_le32(gp(f, HDR_GPA, 16), VIRTIO_BLK_T_IN);
	put_le64(gp(f, HDR_GPA + 8, 8), 7);
	post(f, in, 2);
	kick(f);
	run_until_used(f, 2);
	assert_memory_equal(gp(f, DATA_GPA + MiB, 4096), pat, 4096);
	assert_int_equal(*gp(f, DATA_GPA + MiB + 4096, 1), VIRTIO_BLK_S_OK);
}

static void check_id(struct fx *f, const char *id)
{
	uint8_t want[20] = { 0 };
	struct seg s = { MISC_GPA, 20, true };
	uint32_t uid, len;

	memset(gp(f, MISC_GPA, 20), 0xff, 20);
	memcpy(want, id, strlen(id));
	assert_int_equal(one_req(f, VIRTIO_BLK_T_GET_ID, 0, &s, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, MISC_GPA, 20), want, 20);
	used_elem(f, (uint16_t)(f->avail_idx - 1), &uid, &len);
	assert_int_equal(len, 21);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;

	assert_int_equal(open_dev(f, false, "disk-0"), 0);
	check_id(f, "disk-0");
}

static void test_get_id_20(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config cfg = { .path = f->path, .id = "123456789012345678901" };

	/* 21 bytes: refused at creation. */
	assert_null(virtio_blk_create(&cfg, &f->gm, &f->loop, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "longer than 20"));
	assert_int_equal(open_dev(f, false, "12345678901234567890"), 0);
	check_id(f, "12345678901234567890");   /* no NUL */
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	static uint8_t zero[4096], back[4096];
	struct seg d = { DATA_GPA, 4096, false };
	struct seg r = { DATA_GPA, 4096, true };

	assert_int_equal(open_dev(f, true, NULL), 0);
	assert_true(f->d->device_features & 1ULL << VIRTIO_BLK_F_RO);
	assert_false(f->d->device_features & 1ULL << VIRTIO_BLK_F_DISCARD);
	assert_false(f->d->device_features & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	memset(gp(f, DATA_GPA, 4096), 0x5a, 4096);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_OUT, 0, &d, 1), VIRTIO_BLK_S_IOERR);
	host_read(f, back, sizeof(back), 0);
	assert_memory_equal(back, zero, sizeof(zero));
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, 0, &r, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, DATA_GPA, 4096), zero, 4096);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
	assert_false(f->d->broken);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	uint64_t cap = DISK_SIZE / 512;
	struct seg r = { DATA_GPA, 512, true };
	struct seg r2 = { DATA_GPA, 1024, true };
	struct seg odd = { DATA_GPA, 1000, true };
	struct seg w = { DATA_GPA, 512, false };

	assert_int_equal(open_dev(f, false, NULL), 0);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, cap - 1, &r, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, cap, &r, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, cap - 1, &r2, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_OUT, UINT64_MAX, &w, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, &w, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, 0, &odd, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, cap, NULL, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, cap + 1, NULL, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one_req(f, 99, 0, &r, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(one_req(f, 2 /* SCSI cmd, legacy */, 0, NULL, 0), VIRTIO_BLK_S_UNSUPP);
	assert_false(f->d->broken);
}

static void test_short_header(void **state)
{
	struct fx *f = *state;
	struct seg s[2] = { { HDR_GPA, 8, false }, { STATUS_GPA, 1, true } };

	assert_int_equal(open_dev(f, false, NULL), 0);
	post(f, s, 2);
	kick(f);
	run_until_used(f, 1);
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_IOERR);
	assert_false(f->d->broken);
}

static void test_no_status_byte(void **state)
{
	struct fx *f = *state;
	struct seg d = { DATA_GPA, 512, false };
	struct seg s[2] = { { HDR_GPA, 16, false }, { DATA_GPA, 512, false } };

	assert_int_equal(open_dev(f, false, NULL), 0);
	put_le32(gp(f, HDR_GPA, 16), VIRTIO_BLK_T_OUT);
	post(f, s, 2);
	kick(f);
	assert_true(f->d->broken);
	assert_true(f->d->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->irq.config, 1);
	assert_int_equal(used_idx(f), 0);
	/* A reset brings it back. */
	pthread_mutex_lock(&f->d->lock);
	virtio_set_status(f->d, 0);
	pthread_mutex_unlock(&f->d->lock);
	memset(gp(f, USED_GPA, 4096), 0, 4096);
	memset(gp(f, AVAIL_GPA, 4096), 0, 4096);
	driver_init(f, false);
	assert_false(f->d->broken);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_OUT, 0, &d, 1), VIRTIO_BLK_S_OK);
}

/* 16 requests of 1 MiB in flight at once, kicked through the eventfd, with
 * EVENT_IDX: writes, then reads, then the host file. */
static void test_sixteen_in_flight(void **state)
{
	struct fx *f = *state;
	static uint8_t pat[16 * MiB], back[16 * MiB];

	assert_int_equal(open_dev(f, false, NULL), 0);
	pthread_mutex_lock(&f->d->lock);
	virtio_set_status(f->d, 0);
	pthread_mutex_unlock(&f->d->lock);
	driver_init(f, true);
	fill_pattern(pat, sizeof(pat), 3);
	memcpy(gp(f, DATA_GPA, 16 * MiB), pat, 16 * MiB);
	for (int i = 0; i < 16; i++) {
		struct seg s = { DATA_GPA + (uint64_t)i * MiB, MiB, false };

		post_req(f, i, VIRTIO_BLK_T_OUT, (uint64_t)i * 2048, &s, 1);
	}
	kick_fd(f);
	run_until_used(f, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(status_of(f, i), VIRTIO_BLK_S_OK);
	post_req(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	kick_fd(f);
	run_until_used(f, 17);
	host_read(f, back, sizeof(back), 0);
	assert_memory_equal(back, pat, sizeof(pat));

	memset(gp(f, DATA_GPA, 16 * MiB), 0, 16 * MiB);
	for (int i = 0; i < 16; i++) {
		struct seg s = { DATA_GPA + (uint64_t)i * MiB, MiB, true };

		post_req(f, i, VIRTIO_BLK_T_IN, (uint64_t)i * 2048, &s, 1);
	}
	kick_fd(f);
	run_until_used(f, 33);
	for (int i = 0; i < 16; i++)
		assert_int_equal(status_of(f, i), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, DATA_GPA, 16 * MiB), pat, 16 * MiB);
}

static void test_discard_write_zeroes(void **state)
{
	struct fx *f = *state;
	static uint8_t back[65536], zero[65536];
	struct seg w = { DATA_GPA, 65536, false };
	struct seg sg = { MISC_GPA, 16, false };
	uint8_t *seg = gp(f, MISC_GPA, 16);

	assert_int_equal(open_dev(f, false, NULL), 0);
	if (!(f->d->device_features & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES))
		skip();
	memset(gp(f, DATA_GPA, 65536), 0x77, 65536);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_OUT, 0, &w, 1), VIRTIO_BLK_S_OK);
	put_le64(seg, 8);
	put_le32(seg + 8, 16);
	put_le32(seg + 12, 0);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &sg, 1), VIRTIO_BLK_S_OK);
	host_read(f, back, sizeof(back), 0);
	assert_memory_equal(back + 4096, zero, 8192);
	assert_int_equal(back[4095], 0x77);
	assert_int_equal(back[12288], 0x77);

	put_le64(seg, 64);
	put_le32(seg + 8, 64);
	put_le32(seg + 12, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &sg, 1), VIRTIO_BLK_S_OK);
	host_read(f, back, sizeof(back), 0);
	assert_memory_equal(back + 32768, zero, 32768);
	/* Unknown flag bits, and unmap on a discard, are unsupported. */
	put_le32(seg + 12, 2);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &sg, 1), VIRTIO_BLK_S_UNSUPP);
	if (f->d->device_features & 1ULL << VIRTIO_BLK_F_DISCARD) {
		put_le32(seg + 12, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		assert_int_equal(one_req(f, VIRTIO_BLK_T_DISCARD, 0, &sg, 1), VIRTIO_BLK_S_UNSUPP);
		put_le32(seg + 12, 0);
		assert_int_equal(one_req(f, VIRTIO_BLK_T_DISCARD, 0, &sg, 1), VIRTIO_BLK_S_OK);
	}
	/* Out of range, and two segments where one is allowed. */
	put_le64(seg, DISK_SIZE / 512 - 8);
	put_le32(seg + 8, 16);
	put_le32(seg + 12, 0);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &sg, 1), VIRTIO_BLK_S_IOERR);
	sg.len = 32;
	assert_int_equal(one_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &sg, 1), VIRTIO_BLK_S_IOERR);
}

/* A reset with requests in flight waits for them and writes nothing into
 * the guest afterwards: no status byte, no used entry. */
static void test_reset_in_flight(void **state)
{
	struct fx *f = *state;

	assert_int_equal(open_dev(f, false, NULL), 0);
	for (int i = 0; i < 8; i++) {
		struct seg s = { DATA_GPA + (uint64_t)i * MiB, MiB, i % 2 == 0 };

		post_req(f, i, i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, (uint64_t)i * 2048,
			 &s, 1);
	}
	kick(f);
	pthread_mutex_lock(&f->d->lock);
	virtio_set_status(f->d, 0);
	pthread_mutex_unlock(&f->d->lock);
	/* Let any completion event run: it must find nothing to do. */
	run_for(f, 50);
	assert_int_equal(used_idx(f), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(status_of(f, i), 0xee);
}

/* More chains than the request pool holds at once (one head reused by a
 * hostile driver): the device stalls and resumes, never allocating. */
static void post_same(struct fx *f, uint16_t head, int n)
{
	for (int i = 0; i < n; i++) {
		put_le16(gp(f, AVAIL_GPA + 4 + 2ULL * (f->avail_idx % QSIZE), 2), head);
		f->avail_idx++;
	}
	__atomic_store_n((uint16_t *)gp(f, AVAIL_GPA + 2, 2), htole16(f->avail_idx),
			 __ATOMIC_RELEASE);
}

static void test_pool_exhaustion(void **state)
{
	struct fx *f = *state;
	struct seg s[3] = { { HDR_GPA, 16, false }, { DATA_GPA, 4096, true }, { STATUS_GPA, 1, true } };
	uint16_t head;

	assert_int_equal(open_dev(f, false, NULL), 0);
	put_le32(gp(f, HDR_GPA, 16), VIRTIO_BLK_T_IN);
	head = post(f, s, 3);
	post_same(f, head, QSIZE - 1);
	kick(f);                       /* all popped, none completed yet */
	assert_int_equal(used_idx(f), 0);
	post_same(f, head, QSIZE);
	kick(f);                       /* the pool is empty: nothing taken */
	run_until_used(f, 2 * QSIZE);
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_OK);
	assert_false(f->d->broken);
}

/* A chain through an indirect table: header, nseg data buffers of 512
 * bytes, status.  Returns the status byte. */
static uint8_t indirect_req(struct fx *f, uint32_t type, int nseg)
{
	uint64_t table = MISC_GPA + 0x1000;
	int n = nseg + 2;
	struct seg top = { table, (uint32_t)(16 * n), false };
	uint16_t head = f->next_desc;
	uint8_t *desc;

	put_le32(gp(f, HDR_GPA, 16), type);
	put_le64(gp(f, HDR_GPA + 8, 8), 0);
	*gp(f, STATUS_GPA, 1) = 0xee;
	for (int i = 0; i < n; i++) {
		uint8_t *e = gp(f, table + 16ULL * i, 16);
		uint64_t gpa = i == 0 ? HDR_GPA : i == n - 1 ? STATUS_GPA :
			       DATA_GPA + 512ULL * (i - 1);
		uint32_t len = i == 0 ? 16 : i == n - 1 ? 1 : 512;
		bool w = i == n - 1 || (i > 0 && type == VIRTIO_BLK_T_IN);

		put_le64(e, gpa);
		put_le32(e + 8, len);
		put_le16(e + 12, (w ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		put_le16(e + 14, (uint16_t)(i + 1));
	}
	post(f, &top, 1);
	desc = gp(f, DESC_GPA + 16ULL * head, 16);
	put_le16(desc + 12, VRING_DESC_F_INDIRECT);
	kick(f);
	run_until_used(f, f->avail_idx);
	return status_of(f, 0);
}

/* seg_max is what we offered: more data segments is an error, not a
 * bigger allocation. */
static void test_seg_max(void **state)
{
	struct fx *f = *state;

	assert_int_equal(open_dev(f, false, NULL), 0);
	assert_int_equal(indirect_req(f, VIRTIO_BLK_T_IN, QSIZE - 2), VIRTIO_BLK_S_OK);
	assert_int_equal(indirect_req(f, VIRTIO_BLK_T_OUT, QSIZE - 2), VIRTIO_BLK_S_OK);
	assert_int_equal(indirect_req(f, VIRTIO_BLK_T_IN, QSIZE - 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(indirect_req(f, VIRTIO_BLK_T_OUT, 600), VIRTIO_BLK_S_IOERR);
	assert_false(f->d->broken);
}

/* A pass takes at most a ring's worth of chains, then continues from the
 * event loop (its own notify eventfd) without another kick. */
static void test_bounded_pass(void **state)
{
	struct fx *f = *state;
	struct seg s[2] = { { HDR_GPA, 16, false }, { STATUS_GPA, 1, true } };
	uint16_t head;

	assert_int_equal(open_dev(f, false, NULL), 0);
	put_le32(gp(f, HDR_GPA, 16), 99);   /* completes at once: UNSUPP */
	head = post(f, s, 2);
	post_same(f, head, QSIZE - 1);
	kick(f);
	assert_int_equal(used_idx(f), QSIZE);
	post_same(f, head, 10);             /* no kick */
	run_until_used(f, QSIZE + 10);
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_UNSUPP);
}

static void test_malformed_ring(void **state)
{
	struct fx *f = *state;
	struct seg d = { DATA_GPA, 512, true };

	assert_int_equal(open_dev(f, false, NULL), 0);
	assert_int_equal(one_req(f, VIRTIO_BLK_T_IN, 0, &d, 1), VIRTIO_BLK_S_OK);
	post_same(f, QSIZE + 5, 1);         /* head out of range */
	kick(f);
	assert_true(f->d->broken);
	assert_int_equal(used_idx(f), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_and_features),
		T(test_write_flush_read),
		T(test_any_framing),
		T(test_get_id),
		T(test_get_id_20),
		T(test_read_only),
		T(test_bad_requests),
		T(test_short_header),
		T(test_no_status_byte),
		T(test_sixteen_in_flight),
		T(test_discard_write_zeroes),
		T(test_reset_in_flight),
		T(test_pool_exhaustion),
		T(test_seg_max),
		T(test_bounded_pass),
		T(test_malformed_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
