/* A small virtio-mmio driver for the unit tests, doing what Linux's
 * drivers/virtio/virtio_mmio.c does: probe magic/version/id, reset,
 * ACKNOWLEDGE|DRIVER, features in two 32-bit halves, FEATURES_OK, queue
 * setup (QueueSel, QueueReady check, QueueNumMax, QueueNum, Desc/Driver/
 * Device, QueueReady 1), DRIVER_OK, QueueNotify, InterruptStatus/ACK.
 * Rings live in a real guest_mem; accesses go through a real MMIO bus.
 * Include after cmocka.h. */
#ifndef LANDLORD_TESTS_VIRTIO_MMIO_DRIVER_H
#define LANDLORD_TESTS_VIRTIO_MMIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "base/bytes.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "virtio/virtio.h"
#include "virtio/virtio_mmio.h"

#define TD_BASE      LAYOUT_VIRTIO_MMIO
#define TD_GSI       5   /* the first of VIRTIO_MMIO_IRQ_LIST */
#define TD_RAM       (16ULL << 20)
#define TD_HEAP      0x100000ULL

/* Register offsets, as Linux names them (linux/virtio_mmio.h). */
#define R_MAGIC        0x000
#define R_VERSION      0x004
#define R_DEVICE_ID    0x008
#define R_VENDOR_ID    0x00c
#define R_DEV_FEAT     0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT     0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL    0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM    0x038
#define R_QUEUE_READY  0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS   0x060
#define R_INT_ACK      0x064
#define R_STATUS       0x070
#define R_DESC_LO      0x080
#define R_DESC_HI      0x084
#define R_AVAIL_LO     0x090
#define R_AVAIL_HI     0x094
#define R_USED_LO      0x0a0
#define R_USED_HI      0x0a4
#define R_SHM_SEL      0x0ac
#define R_SHM_LEN_LO   0x0b0
#define R_SHM_LEN_HI   0x0b4
#define R_SHM_BASE_LO  0x0b8
#define R_SHM_BASE_HI  0x0bc
#define R_CONFIG_GEN   0x0fc
#define R_CONFIG       0x100

#define TD_MAX_LEVELS 64

/* The fake interrupt line: every level driven, in order. */
struct td_irq {
	int level;
	int calls;
	int rises;
	int levels[TD_MAX_LEVELS];
};

static inline void td_irq_set(void *opaque, uint32_t gsi, int level)
{
	struct td_irq *r = opaque;

	assert_int_equal(gsi, TD_GSI);
	if (level && !r->level)
		r->rises++;
	r->level = level;
	if (r->calls < TD_MAX_LEVELS)
		r->levels[r->calls] = level;
	r->calls++;
}

struct td_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;      /* next avail->idx to publish */
	uint16_t used_seen;      /* used entries consumed */
	uint16_t next_desc;      /* next free descriptor (ring order) */
};

struct td {
	struct guest_mem gm;
	struct event_loop el;
	struct bus bus;
	struct td_irq irq;
	struct irq_line line;
	struct virtio_dev *d;
	struct virtio_mmio *m;
	uint64_t heap;
	struct td_queue q[VIRTIO_MAX_QUEUES];
};

static inline void td_init(struct td *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(gm_map(&t->gm, TD_RAM, LAYOUT_PCI_HOLE), 0);
	assert_int_equal(el_init(&t->el), 0);
	bus_init(&t->bus, "mmio");
	t->line = (struct irq_line){ .set = td_irq_set, .opaque = &t->irq, .gsi = TD_GSI };
	t->heap = TD_HEAP;
}

static inline void td_attach(struct td *t, struct virtio_dev *d)
{
	char err[256] = "";

	assert_non_null(d);
	t->d = d;
	t->m = virtio_mmio_create(d, &t->bus, NULL, TD_BASE, &t->line, err, sizeof(err));
	assert_non_null(t->m);
}

/* The caller destroys the device (after this). */
static inline void td_detach(struct td *t)
{
	virtio_mmio_destroy(t->m);
	t->m = NULL;
}

static inline void td_fini(struct td *t)
{
	el_close(&t->el);
	gm_unmap(&t->gm);
}

/* Guest memory for rings and buffers, zeroed. */
static inline uint64_t td_alloc(struct td *t, uint64_t len, uint64_t align)
{
	uint64_t gpa = (t->heap + align - 1) & ~(align - 1);

	assert_true(gpa + len <= TD_RAM);
	t->heap = gpa + len;
	memset(gm_ptr(&t->gm, gpa, len), 0, len);
	return gpa;
}

static inline uint8_t *td_host(struct td *t, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&t->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* 32-bit register access through the bus, as readl/writel. */
static inline uint32_t td_rd(struct td *t, uint64_t off)
{
	uint8_t d[4] = { 0 };

	assert_true(bus_access(&t->bus, TD_BASE + off, d, 4, false));
	return get_le32(d);
}

static inline void td_wr(struct td *t, uint64_t off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	assert_true(bus_access(&t->bus, TD_BASE + off, d, 4, true));
}

/* Any width (1..8), for hostile accesses and config space. */
static inline uint64_t td_rdn(struct td *t, uint64_t off, uint32_t len)
{
	uint8_t d[8];

	memset(d, 0xa5, sizeof(d));
	bus_access(&t->bus, TD_BASE + off, d, len, false);
	uint64_t v = 0;
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static inline void td_wrn(struct td *t, uint64_t off, uint64_t v, uint32_t len)
{
	uint8_t d[8];

	for (uint32_t i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_access(&t->bus, TD_BASE + off, d, len, true);
}

static inline uint64_t td_device_features(struct td *t)
{
	uint64_t f;

	td_wr(t, R_DEV_FEAT_SEL, 1);
	f = (uint64_t)td_rd(t, R_DEV_FEAT) << 32;
	td_wr(t, R_DEV_FEAT_SEL, 0);
	return f | td_rd(t, R_DEV_FEAT);
}

static inline void td_driver_features(struct td *t, uint64_t f)
{
	td_wr(t, R_DRV_FEAT_SEL, 1);
	td_wr(t, R_DRV_FEAT, (uint32_t)(f >> 32));
	td_wr(t, R_DRV_FEAT_SEL, 0);
	td_wr(t, R_DRV_FEAT, (uint32_t)f);
}

/* virtio_mmio_probe + virtio_dev_probe up to FEATURES_OK: take what the
 * device offers, masked by want. */
static inline void td_probe(struct td *t, uint32_t device_id, uint64_t want)
{
	uint32_t st;

	assert_int_equal(td_rd(t, R_MAGIC), 0x74726976);
	assert_int_equal(td_rd(t, R_VERSION), 2);
	assert_int_equal(td_rd(t, R_DEVICE_ID), device_id);
	(void)td_rd(t, R_VENDOR_ID);
	td_wr(t, R_STATUS, 0);
	assert_int_equal(td_rd(t, R_STATUS), 0);
	td_wr(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	td_wr(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	td_driver_features(t, td_device_features(t) & want);
	st = td_rd(t, R_STATUS);
	td_wr(t, R_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		memset(&t->q[i], 0, sizeof(t->q[i]));
}

static inline void td_queue_addr(struct td *t, uint64_t lo, uint64_t gpa)
{
	td_wr(t, lo, (uint32_t)gpa);
	td_wr(t, lo + 4, (uint32_t)(gpa >> 32));
}

/* vm_setup_vq: returns the queue. */
static inline struct td_queue *td_queue(struct td *t, int q, uint16_t size)
{
	struct td_queue *tq = &t->q[q];

	td_wr(t, R_QUEUE_SEL, (uint32_t)q);
	assert_int_equal(td_rd(t, R_QUEUE_READY), 0);
	assert_true(td_rd(t, R_QUEUE_NUM_MAX) >= size);
	memset(tq, 0, sizeof(*tq));
	tq->size = size;
	tq->desc = td_alloc(t, 16ULL * size, 4096);
	tq->avail = td_alloc(t, 6 + 2ULL * size, 4096);
	tq->used = td_alloc(t, 6 + 8ULL * size, 4096);
	td_wr(t, R_QUEUE_NUM, size);
	td_queue_addr(t, R_DESC_LO, tq->desc);
	td_queue_addr(t, R_AVAIL_LO, tq->avail);
	td_queue_addr(t, R_USED_LO, tq->used);
	td_wr(t, R_QUEUE_READY, 1);
	assert_int_equal(td_rd(t, R_QUEUE_READY), 1);
	return tq;
}

static inline void td_driver_ok(struct td *t)
{
	td_wr(t, R_STATUS, td_rd(t, R_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

struct td_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Write a chain into the descriptor table and publish it. Returns the head. */
static inline uint16_t td_post(struct td *t, int q, const struct td_buf *b, int n)
{
	struct td_queue *tq = &t->q[q];
	uint8_t *desc = td_host(t, tq->desc, 16ULL * tq->size);
	uint8_t *avail = td_host(t, tq->avail, 6 + 2ULL * tq->size);
	uint16_t head = tq->next_desc;

	assert_true(n >= 1 && n <= tq->size);
	for (int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % tq->size);
		uint16_t next = (uint16_t)((idx + 1) % tq->size);
		uint8_t *e = desc + 16 * idx;

		put_le64(e, b[i].gpa);
		put_le32(e + 8, b[i].len);
		put_le16(e + 12, (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
					    (b[i].write ? VRING_DESC_F_WRITE : 0)));
		put_le16(e + 14, next);
	}
	tq->next_desc = (uint16_t)((head + n) % tq->size);
	put_le16(avail + 4 + 2 * (tq->avail_idx % tq->size), head);
	tq->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	put_le16(avail + 2, tq->avail_idx);
	return head;
}

/* One buffer of len bytes (0xee-filled so writes show), posted alone. */
static inline uint64_t td_post1(struct td *t, int q, uint32_t len, bool write, uint16_t *head)
{
	uint64_t gpa = td_alloc(t, len, 8);
	struct td_buf b = { gpa, len, write };
	uint16_t h;

	memset(td_host(t, gpa, len), 0xee, len);
	h = td_post(t, q, &b, 1);
	if (head)
		*head = h;
	return gpa;
}

static inline void td_kick(struct td *t, int q)
{
	td_wr(t, R_QUEUE_NOTIFY, (uint32_t)q);
}

/* The next used element, if the device has returned one. */
static inline bool td_used(struct td *t, int q, uint16_t *head, uint32_t *len)
{
	struct td_queue *tq = &t->q[q];
	uint8_t *used = td_host(t, tq->used, 6 + 8ULL * tq->size);
	uint8_t *e;

	if (get_le16(used + 2) == tq->used_seen)
		return false;
	e = used + 4 + 8 * (tq->used_seen % tq->size);
	if (head)
		*head = (uint16_t)get_le32(e);
	if (len)
		*len = get_le32(e + 4);
	tq->used_seen++;
	/* As Linux's virtqueue_get_buf with EVENT_IDX: interrupt me for the
	 * next one (used_event, after the avail ring). */
	put_le16(td_host(t, tq->avail, 6 + 2ULL * tq->size) + 4 + 2 * tq->size, tq->used_seen);
	return true;
}

static inline uint16_t td_used_pending(struct td *t, int q)
{
	struct td_queue *tq = &t->q[q];
	uint8_t *used = td_host(t, tq->used, 6 + 8ULL * tq->size);

	return (uint16_t)(get_le16(used + 2) - tq->used_seen);
}

/* vm_interrupt: read InterruptStatus, acknowledge it all. */
static inline uint32_t td_ack(struct td *t)
{
	uint32_t isr = td_rd(t, R_INT_STATUS);

	td_wr(t, R_INT_ACK, isr);
	return isr;
}

/* Run the event loop for ms milliseconds (a timerfd ends it). */
static inline void td_el_quit(void *opaque, int fd, uint32_t events)
{
	el_quit(opaque);
}

static inline void td_run_loop(struct td *t, long ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (ms % 1000) * 1000000L } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(timerfd_settime(fd, 0, &its, NULL), 0);
	assert_int_equal(el_add(&t->el, fd, EPOLLIN, td_el_quit, &t->el), 0);
	t->el.quit = false;
	assert_int_equal(el_run(&t->el), 0);
	el_remove(&t->el, fd);
	close(fd);
	t->el.quit = false;
}

/* Random accesses of every width all over the register page. */
static inline void td_fuzz(struct td *t, unsigned int seed, int n)
{
	srand(seed);
	for (int i = 0; i < n; i++) {
		uint64_t off = (uint64_t)rand() % 0x1000;
		uint32_t len = (uint32_t)(rand() % 8) + 1;
		uint8_t d[8];

		if (off + len > 0x1000)
			len = (uint32_t)(0x1000 - off);
		for (int k = 0; k < 8; k++)
			d[k] = (uint8_t)rand();
		/* Mostly the registers that matter, aligned. */
		if (rand() & 1) {
			off = (uint64_t)(rand() % 0x110) & ~3ULL;
			len = 4;
		}
		bus_access(&t->bus, TD_BASE + off, d, len, rand() & 1);
	}
}

#endif
