/* Unit tests for the virtio-mmio transport, driven the way Linux's
 * virtio_mmio driver drives it, against a fake device that records what
 * the transport asks of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "virtio_mmio_driver.h"

#define FAKE_ID       42
#define FAKE_FEATURES ((1ULL << 3) | (1ULL << 40))
#define FAKE_QUEUES   3
#define FAKE_QMAX     64
#define FAKE_CFG_LEN  10

struct fake {
	struct virtio_dev dev;
	uint8_t config[FAKE_CFG_LEN];
	int notified[FAKE_QUEUES];
	int starts, resets;
	int cfg_writes;
};

static void fake_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = d->priv;

	assert_true(off + len <= FAKE_CFG_LEN);
	memcpy(data, f->config + off, len);
}

static void fake_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			      uint32_t len)
{
	struct fake *f = d->priv;

	assert_true(off + len <= FAKE_CFG_LEN);
	memcpy(f->config + off, data, len);
	f->cfg_writes++;
}

/* Completes every chain on the kicked queue with its writable length. */
static void fake_queue_notify(struct virtio_dev *d, int q)
{
	struct fake *f = d->priv;
	static struct vq_chain c;

	assert_true(q >= 0 && q < FAKE_QUEUES);
	f->notified[q]++;
	while (vq_pop(&d->vq[q], d->mem, &c) > 0)
		virtio_queue_complete(d, q, c.head, (uint32_t)c.in_len);
}

static void fake_start(struct virtio_dev *d)
{
	((struct fake *)d->priv)->starts++;
}

static void fake_reset(struct virtio_dev *d)
{
	((struct fake *)d->priv)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.queue_notify = fake_queue_notify,
	.start = fake_start,
	.reset = fake_reset,
};

struct fixture {
	struct td t;
	struct fake f;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	td_init(&x->t);
	x->f.dev = (struct virtio_dev){
		.name = "fake", .device_id = FAKE_ID, .device_features = FAKE_FEATURES,
		.nr_queues = FAKE_QUEUES, .queue_max = FAKE_QMAX, .config_len = FAKE_CFG_LEN,
		.ops = &fake_ops, .priv = &x->f, .mem = &x->t.gm, .loop = &x->t.el,
	};
	for (int i = 0; i < FAKE_CFG_LEN; i++)
		x->f.config[i] = (uint8_t)(0x10 + i);
	assert_int_equal(virtio_dev_init(&x->f.dev), 0);
	td_attach(&x->t, &x->f.dev);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	td_detach(&x->t);
	virtio_dev_destroy(&x->f.dev);
	td_fini(&x->t);
	free(x);
	return 0;
}

static void test_identity(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	assert_int_equal(td_rd(t, R_MAGIC), VIRTIO_MMIO_MAGIC);
	assert_int_equal(td_rd(t, R_VERSION), 2);
	assert_int_equal(td_rd(t, R_DEVICE_ID), FAKE_ID);
	assert_int_equal(td_rd(t, R_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	/* "LNDL" in memory order, as "virt" is for the magic */
	uint8_t v[4];
	put_le32(v, VIRTIO_MMIO_VENDOR);
	assert_memory_equal(v, "LNDL", 4);
	assert_int_equal(td_rd(t, R_STATUS), 0);
	assert_int_equal(td_rd(t, R_INT_STATUS), 0);
	assert_int_equal(td_rd(t, R_CONFIG_GEN), 0);
	/* No shared memory regions: length and base read -1. */
	td_wr(t, R_SHM_SEL, 0);
	assert_int_equal(td_rd(t, R_SHM_LEN_LO), 0xffffffff);
	assert_int_equal(td_rd(t, R_SHM_LEN_HI), 0xffffffff);
	assert_int_equal(td_rd(t, R_SHM_BASE_LO), 0xffffffff);
	assert_int_equal(td_rd(t, R_SHM_BASE_HI), 0xffffffff);
	/* Write-only and legacy registers read 0. */
	assert_int_equal(td_rd(t, R_QUEUE_NOTIFY), 0);
	assert_int_equal(td_rd(t, 0x028), 0);
	assert_int_equal(td_rd(t, 0x040), 0);

	char buf[64];
	virtio_mmio_cmdline(t->m, buf, sizeof(buf));
	assert_string_equal(buf, "virtio_mmio.device=4K@0xd0000000:5");
}

static void test_features(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	uint64_t offered = td_device_features(t);

	assert_int_equal(offered, FAKE_FEATURES | 1ULL << VIRTIO_F_VERSION_1 |
			 1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_F_EVENT_IDX);
	td_wr(t, R_DEV_FEAT_SEL, 2);
	assert_int_equal(td_rd(t, R_DEV_FEAT), 0);
	td_wr(t, R_DEV_FEAT_SEL, 0xffffffff);
	assert_int_equal(td_rd(t, R_DEV_FEAT), 0);

	td_wr(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* Bits not offered are dropped; selector 2+ writes go nowhere. */
	td_driver_features(t, ~0ULL);
	td_wr(t, R_DRV_FEAT_SEL, 5);
	td_wr(t, R_DRV_FEAT, 0);
	assert_int_equal(x->f.dev.driver_features, offered);
	/* The halves are independent. */
	td_wr(t, R_DRV_FEAT_SEL, 0);
	td_wr(t, R_DRV_FEAT, 0);
	assert_int_equal(x->f.dev.driver_features, offered & ~0xffffffffULL);
	td_driver_features(t, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 3);
	td_wr(t, R_STATUS, td_rd(t, R_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* Fixed after FEATURES_OK. */
	td_driver_features(t, 0);
	assert_int_equal(x->f.dev.driver_features, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 3);
}

static void test_features_without_version1_refused(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	td_wr(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	td_driver_features(t, 1ULL << 3);
	td_wr(t, R_STATUS, td_rd(t, R_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	assert_false(td_rd(t, R_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* DRIVER_OK without FEATURES_OK: the device does not start. */
	td_wr(t, R_STATUS, td_rd(t, R_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_false(td_rd(t, R_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(x->f.starts, 0);
}

static void test_queue_setup(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	struct virtqueue *vq = &x->f.dev.vq[1];

	td_probe(t, FAKE_ID, ~0ULL);
	for (int q = 0; q < FAKE_QUEUES; q++) {
		td_wr(t, R_QUEUE_SEL, (uint32_t)q);
		assert_int_equal(td_rd(t, R_QUEUE_NUM_MAX), FAKE_QMAX);
	}
	struct td_queue *tq = td_queue(t, 1, 16);
	assert_true(vq->ready);
	assert_int_equal(vq->size, 16);
	assert_int_equal(vq->desc_gpa, tq->desc);
	assert_int_equal(vq->avail_gpa, tq->avail);
	assert_int_equal(vq->used_gpa, tq->used);
	/* A live queue's layout cannot change. */
	td_wr(t, R_QUEUE_NUM, 8);
	td_queue_addr(t, R_DESC_LO, 0x123000);
	td_queue_addr(t, R_AVAIL_LO, 0x124000);
	td_queue_addr(t, R_USED_LO, 0x125000);
	assert_int_equal(vq->size, 16);
	assert_int_equal(vq->desc_gpa, tq->desc);
	assert_int_equal(vq->avail_gpa, tq->avail);
	assert_int_equal(vq->used_gpa, tq->used);
	/* Other queues are untouched. */
	assert_false(x->f.dev.vq[0].ready);
	/* 64-bit addresses take both halves. */
	td_wr(t, R_QUEUE_SEL, 2);
	td_queue_addr(t, R_DESC_LO, 0x123456789000ULL);
	assert_int_equal(x->f.dev.vq[2].desc_gpa, 0x123456789000ULL);
	/* QueueReady 0 turns it off (vm_del_vq) and back to defaults. */
	td_wr(t, R_QUEUE_SEL, 1);
	td_wr(t, R_QUEUE_READY, 0);
	assert_int_equal(td_rd(t, R_QUEUE_READY), 0);
	assert_false(vq->ready);
	assert_int_equal(vq->size, FAKE_QMAX);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_queue_num_checked(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	struct virtqueue *vq = &x->f.dev.vq[0];
	static const uint32_t bad[] = { 0, 3, 48, FAKE_QMAX * 2, 2048, 0x10000, 0xffffffff };

	td_probe(t, FAKE_ID, ~0ULL);
	td_wr(t, R_QUEUE_SEL, 0);
	td_wr(t, R_QUEUE_NUM, 32);
	assert_int_equal(vq->size, 32);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		td_wr(t, R_QUEUE_NUM, bad[i]);
		assert_int_equal(vq->size, 32);
	}
	td_wr(t, R_QUEUE_NUM, 1);
	assert_int_equal(vq->size, 1);
	td_wr(t, R_QUEUE_NUM, FAKE_QMAX);
	assert_int_equal(vq->size, FAKE_QMAX);
}

static void test_queue_sel_out_of_range(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	static const uint32_t sel[] = { FAKE_QUEUES, VIRTIO_MAX_QUEUES, 1000, 0xffffffff };
	struct virtio_dev before = x->f.dev;

	td_probe(t, FAKE_ID, ~0ULL);
	before = x->f.dev;
	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		td_wr(t, R_QUEUE_SEL, sel[i]);
		assert_int_equal(td_rd(t, R_QUEUE_NUM_MAX), 0);
		assert_int_equal(td_rd(t, R_QUEUE_READY), 0);
		td_wr(t, R_QUEUE_NUM, 4);
		td_queue_addr(t, R_DESC_LO, 0x200000);
		td_queue_addr(t, R_AVAIL_LO, 0x201000);
		td_queue_addr(t, R_USED_LO, 0x202000);
		td_wr(t, R_QUEUE_READY, 1);
		td_wr(t, R_QUEUE_NOTIFY, sel[i]);
		assert_int_equal(td_rd(t, R_QUEUE_READY), 0);
	}
	assert_memory_equal(before.vq, x->f.dev.vq, sizeof(before.vq));
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_bad_ring_needs_reset(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	td_probe(t, FAKE_ID, ~0ULL);
	td_wr(t, R_QUEUE_SEL, 0);
	td_wr(t, R_QUEUE_NUM, 8);
	td_queue_addr(t, R_DESC_LO, TD_RAM - 64);   /* runs off the end of RAM */
	td_queue_addr(t, R_AVAIL_LO, 0x200000);
	td_queue_addr(t, R_USED_LO, 0x201000);
	td_wr(t, R_QUEUE_READY, 1);
	assert_int_equal(td_rd(t, R_QUEUE_READY), 0);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(td_rd(t, R_CONFIG_GEN), 1);
	/* A reset recovers. */
	td_probe(t, FAKE_ID, ~0ULL);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	td_queue(t, 0, 8);
	td_driver_ok(t);
}

static void test_notify_and_interrupt(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	uint16_t head = 0, h = 0;
	uint32_t len = 0;

	td_probe(t, FAKE_ID, ~0ULL);
	td_queue(t, 0, 8);
	td_queue(t, 2, 8);
	td_post1(t, 2, 100, true, &head);
	/* Before DRIVER_OK a kick is dropped. */
	td_kick(t, 2);
	assert_int_equal(x->f.notified[2], 0);
	td_driver_ok(t);
	assert_int_equal(x->f.starts, 1);
	assert_int_equal(t->irq.level, 0);
	/* Out-of-range values do nothing. */
	td_kick(t, FAKE_QUEUES);
	td_kick(t, 0xffff);
	td_kick(t, 1);     /* exists, not enabled */
	assert_int_equal(x->f.notified[1], 0);
	td_kick(t, 2);
	assert_int_equal(x->f.notified[2], 1);
	assert_true(td_used(t, 2, &h, &len));
	assert_int_equal(h, head);
	assert_int_equal(len, 100);
	/* Level interrupt: up while InterruptStatus is set. */
	assert_int_equal(t->irq.level, 1);
	assert_int_equal(td_rd(t, R_INT_STATUS), VIRTIO_ISR_QUEUE);
	/* Acknowledging some other bit keeps it up. */
	td_wr(t, R_INT_ACK, VIRTIO_ISR_CONFIG);
	assert_int_equal(t->irq.level, 1);
	assert_int_equal(td_ack(t), VIRTIO_ISR_QUEUE);
	assert_int_equal(t->irq.level, 0);
	assert_int_equal(td_rd(t, R_INT_STATUS), 0);
	assert_int_equal(t->irq.rises, 1);
	/* Only transitions were driven. */
	assert_int_equal(t->irq.calls, 2);

	/* A second completion, then a reset: the line drops with the status. */
	int resets = x->f.resets;
	td_post1(t, 2, 10, true, NULL);
	td_kick(t, 2);
	assert_int_equal(t->irq.level, 1);
	td_wr(t, R_STATUS, 0);
	assert_int_equal(t->irq.level, 0);
	assert_int_equal(td_rd(t, R_INT_STATUS), 0);
	assert_int_equal(x->f.resets, resets + 1);
	assert_false(x->f.dev.vq[2].ready);
}

/* The eventfd path (what KVM_IOEVENTFD signals) runs on the event loop. */
static void test_notify_eventfd(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	td_probe(t, FAKE_ID, ~0ULL);
	td_queue(t, 0, 8);
	td_driver_ok(t);
	td_post1(t, 0, 10, true, NULL);
	assert_int_equal(eventfd_write(x->f.dev.notify_fd[0], 1), 0);
	td_run_loop(t, 20);
	assert_int_equal(x->f.notified[0], 1);
	assert_true(td_used(t, 0, NULL, NULL));
	assert_int_equal(t->irq.level, 1);
}

static void test_config_space(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	assert_int_equal(td_rdn(t, R_CONFIG, 1), 0x10);
	assert_int_equal(td_rdn(t, R_CONFIG + 1, 1), 0x11);
	assert_int_equal(td_rdn(t, R_CONFIG + 2, 2), 0x1312);
	assert_int_equal(td_rdn(t, R_CONFIG + 4, 4), 0x17161514);
	assert_int_equal(td_rdn(t, R_CONFIG + 2, 8), 0x1918171615141312ULL);
	/* Beyond config_len, partly or wholly: zeros, and writes dropped. */
	assert_int_equal(td_rdn(t, R_CONFIG + 8, 4), 0);
	assert_int_equal(td_rdn(t, R_CONFIG + 9, 2), 0);
	assert_int_equal(td_rdn(t, R_CONFIG + 10, 1), 0);
	assert_int_equal(td_rdn(t, 0xffc, 4), 0);
	assert_int_equal(td_rdn(t, R_CONFIG, 3), 0);     /* odd width */
	td_wrn(t, R_CONFIG + 8, 0xffffffff, 4);
	td_wrn(t, R_CONFIG + 0, 0xffffff, 3);
	td_wrn(t, 0xfff, 0xff, 1);
	assert_int_equal(x->f.cfg_writes, 0);
	td_wrn(t, R_CONFIG + 8, 0xabcd, 2);
	assert_int_equal(x->f.cfg_writes, 1);
	assert_int_equal(td_rdn(t, R_CONFIG + 8, 2), 0xabcd);
}

static void test_odd_register_accesses(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	/* Narrow or unaligned reads of registers read 0. */
	assert_int_equal(td_rdn(t, R_MAGIC, 1), 0);
	assert_int_equal(td_rdn(t, R_MAGIC, 2), 0);
	assert_int_equal(td_rdn(t, R_MAGIC, 8), 0);
	assert_int_equal(td_rdn(t, R_MAGIC + 1, 4), 0);
	assert_int_equal(td_rdn(t, R_DEVICE_ID + 2, 4), 0);
	/* and such writes change nothing. */
	td_wrn(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	td_wrn(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 2);
	td_wrn(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 8);
	td_wrn(t, R_STATUS + 1, VIRTIO_STATUS_ACKNOWLEDGE, 4);
	td_wrn(t, R_STATUS - 2, VIRTIO_STATUS_ACKNOWLEDGE << 16, 4);
	assert_int_equal(td_rd(t, R_STATUS), 0);
	td_wrn(t, R_QUEUE_SEL, 1, 2);
	td_wrn(t, R_QUEUE_NOTIFY, 0, 2);
	td_wrn(t, R_QUEUE_NOTIFY + 1, 0, 4);
	td_wrn(t, R_QUEUE_NOTIFY, 0, 8);
	assert_int_equal(x->f.notified[0], 0);
	/* Read-only registers ignore writes. */
	td_wr(t, R_MAGIC, 0);
	td_wr(t, R_DEVICE_ID, 0);
	td_wr(t, R_INT_STATUS, 3);
	td_wr(t, R_CONFIG_GEN, 7);
	assert_int_equal(td_rd(t, R_MAGIC), VIRTIO_MMIO_MAGIC);
	assert_int_equal(td_rd(t, R_DEVICE_ID), FAKE_ID);
	assert_int_equal(td_rd(t, R_INT_STATUS), 0);
	assert_int_equal(td_rd(t, R_CONFIG_GEN), 0);
	assert_int_equal(t->irq.calls, 0);
	/* Outside the page: the bus says nobody is there. */
	uint8_t d[4];
	assert_false(bus_access(&t->bus, TD_BASE + 0x1000, d, 4, false));
}

static void test_status_out_of_order(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	/* DRIVER_OK straight away, then FEATURES_OK before any features. */
	td_wr(t, R_STATUS, VIRTIO_STATUS_DRIVER_OK);
	assert_false(td_rd(t, R_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	td_wr(t, R_STATUS, VIRTIO_STATUS_FEATURES_OK);
	assert_false(td_rd(t, R_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(x->f.starts, 0);
	/* The driver cannot clear bits except by a reset, nor set NEEDS_RESET. */
	td_wr(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(td_rd(t, R_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	td_wr(t, R_STATUS, VIRTIO_STATUS_DRIVER);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_ACKNOWLEDGE);
	/* A full probe after all that still works. */
	td_probe(t, FAKE_ID, ~0ULL);
	td_queue(t, 0, 4);
	td_driver_ok(t);
	assert_int_equal(x->f.starts, 1);
	/* Setting DRIVER_OK again does not start it twice. */
	td_wr(t, R_STATUS, td_rd(t, R_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(x->f.starts, 1);
}

static void test_reset_clears_selectors(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	td_wr(t, R_QUEUE_SEL, 100);
	td_wr(t, R_DEV_FEAT_SEL, 1);
	td_wr(t, R_STATUS, 0);
	assert_int_equal(td_rd(t, R_QUEUE_NUM_MAX), FAKE_QMAX);
	assert_int_equal(td_rd(t, R_DEV_FEAT), (uint32_t)td_device_features(t));
}

static void test_fuzz(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	for (unsigned int seed = 1; seed <= 20; seed++) {
		td_fuzz(t, seed, 5000);
		/* Whatever happened, a reset brings it back. */
		td_probe(t, FAKE_ID, ~0ULL);
		td_queue(t, 0, 4);
		td_driver_ok(t);
		td_post1(t, 0, 8, true, NULL);
		td_kick(t, 0);
		assert_true(td_used(t, 0, NULL, NULL));
		td_ack(t);
		assert_int_equal(t->irq.level, 0);
		t->heap = TD_HEAP;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_without_version1_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_num_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_sel_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ring_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_and_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_register_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears_selectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
