/* Unit tests for virtio-rng behind the virtio-mmio transport: random
 * bytes arrive, the rate limit holds and catches up on its timer, work per
 * kick is bounded, and a hostile ring ends in NEEDS_RESET. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "virtio/virtio_rng.h"
#include "virtio_mmio_driver.h"

/* Linux's virtio-rng negotiates no device features; it gets the ring
 * features, EVENT_IDX included. */
#define WANT (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX | \
	      1ULL << VIRTIO_F_INDIRECT_DESC)

struct fixture {
	struct td t;
};

static struct td *rng_setup(void **state, uint64_t rate)
{
	struct fixture *x = calloc(1, sizeof(*x));
	char err[256] = "";

	td_init(&x->t);
	x->t.d = virtio_rng_create(&x->t.gm, &x->t.el, rate, err, sizeof(err));
	assert_non_null(x->t.d);
	td_attach(&x->t, x->t.d);
	td_probe(&x->t, VIRTIO_ID_RNG, WANT);
	td_queue(&x->t, 0, 64);
	td_driver_ok(&x->t);
	*state = x;
	return &x->t;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	td_detach(&x->t);
	virtio_rng_destroy(x->t.d);
	td_fini(&x->t);
	free(x);
	return 0;
}

static bool all_equal(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_bytes_arrive(void **state)
{
	struct td *t = rng_setup(state, 0);
	uint16_t head = 0, h = 0;
	uint32_t len = 0;
	uint64_t gpa = td_post1(t, 0, 64, true, &head);

	assert_int_equal(td_rd(t, R_QUEUE_NUM_MAX), 256);
	td_kick(t, 0);
	assert_true(td_used(t, 0, &h, &len));
	assert_int_equal(h, head);
	assert_int_equal(len, 64);
	/* 0xee-filled before: 64 random bytes are not all 0xee. */
	assert_false(all_equal(td_host(t, gpa, 64), 64, 0xee));
	assert_int_equal(t->irq.level, 1);
	assert_int_equal(td_ack(t), VIRTIO_ISR_QUEUE);
	assert_int_equal(t->irq.level, 0);

	/* A chain of three writable buffers is filled across all of them,
	 * and a readable header is left alone. */
	uint64_t a = td_alloc(t, 16, 8), b = td_alloc(t, 300, 8), c = td_alloc(t, 5, 8);
	uint64_t r = td_alloc(t, 8, 8);
	memset(td_host(t, r, 8), 0x11, 8);
	struct td_buf bufs[] = { { r, 8, false }, { a, 16, true }, { b, 300, true },
				 { c, 5, true } };
	memset(td_host(t, c, 5), 0xee, 5);
	head = td_post(t, 0, bufs, 4);
	td_kick(t, 0);
	assert_true(td_used(t, 0, &h, &len));
	assert_int_equal(h, head);
	assert_int_equal(len, 321);
	assert_true(all_equal(td_host(t, r, 8), 8, 0x11));
	assert_false(all_equal(td_host(t, c, 5), 5, 0xee) &&
		     all_equal(td_host(t, a, 16), 16, 0));
	assert_false(td_used(t, 0, NULL, NULL));
}

static void test_no_writable_buffer(void **state)
{
	struct td *t = rng_setup(state, 0);
	uint16_t head = 0, h = 0;
	uint32_t len = 0;
	uint64_t gpa = td_post1(t, 0, 32, false, &head);

	td_kick(t, 0);
	assert_true(td_used(t, 0, &h, &len));
	assert_int_equal(h, head);
	assert_int_equal(len, 0);
	assert_true(all_equal(td_host(t, gpa, 32), 32, 0xee));
	/* Not a reason to stop: the next request is served. */
	td_post1(t, 0, 32, true, NULL);
	td_kick(t, 0);
	assert_true(td_used(t, 0, NULL, &len));
	assert_int_equal(len, 32);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_rate_limit(void **state)
{
	struct td *t = rng_setup(state, 1000);
	uint32_t len = 0;

	/* A full bucket holds one second's worth: 1000 of 65536 bytes. */
	td_post1(t, 0, 65536, true, NULL);
	td_kick(t, 0);
	assert_true(td_used(t, 0, NULL, &len));
	assert_int_equal(len, 1000);
	td_ack(t);

	/* The bucket is empty: the next request waits... */
	td_post1(t, 0, 65536, true, NULL);
	td_kick(t, 0);
	td_kick(t, 0);
	assert_false(td_used(t, 0, NULL, NULL));
	assert_int_equal(t->irq.level, 0);
	/* ...for the timer (64 bytes at 1000/s: ~64 ms). */
	td_run_loop(t, 300);
	assert_true(td_used(t, 0, NULL, &len));
	assert_true(len >= 64 && len <= 400);
	assert_int_equal(t->irq.level, 1);
	td_ack(t);

	/* Over a longer stretch the rate holds: ~1000 bytes/s. */
	uint64_t total = 0;
	for (int i = 0; i < 8; i++)
		td_post1(t, 0, 4096, true, NULL);
	td_kick(t, 0);
	td_run_loop(t, 500);
	while (td_used(t, 0, NULL, &len))
		total += len;
	assert_true(total >= 64 && total <= 700);
}

/* Without a limit, one pass still stops after 1 MiB and comes back
 * through its own eventfd, behind other work on the loop. */
static void test_work_bounded(void **state)
{
	struct td *t = rng_setup(state, 0);
	uint32_t len = 0;
	int n = 0;

	for (int i = 0; i < 32; i++)
		td_post1(t, 0, 65536, true, NULL);
	td_kick(t, 0);
	while (td_used(t, 0, NULL, &len)) {
		assert_int_equal(len, 65536);
		n++;
	}
	assert_int_equal(n, 16);
	td_run_loop(t, 50);
	while (td_used(t, 0, NULL, &len))
		n++;
	assert_int_equal(n, 32);
}

static void test_broken_ring(void **state)
{
	struct td *t = rng_setup(state, 0);
	struct td_buf b = { TD_RAM - 16, 64, true };   /* runs past the end of RAM */
	uint32_t gen = td_rd(t, R_CONFIG_GEN);

	td_post(t, 0, &b, 1);
	td_kick(t, 0);
	assert_false(td_used(t, 0, NULL, NULL));
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(td_rd(t, R_CONFIG_GEN), gen + 1);
	assert_int_equal(t->irq.level, 1);
	assert_int_equal(td_ack(t), VIRTIO_ISR_CONFIG);
	assert_int_equal(t->irq.level, 0);
	/* Further kicks do nothing (and say nothing). */
	td_post1(t, 0, 16, true, NULL);
	td_kick(t, 0);
	assert_false(td_used(t, 0, NULL, NULL));
	assert_int_equal(td_rd(t, R_CONFIG_GEN), gen + 1);
	/* Reset and start again: it works. */
	td_probe(t, VIRTIO_ID_RNG, WANT);
	td_queue(t, 0, 8);
	td_driver_ok(t);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	td_post1(t, 0, 16, true, NULL);
	td_kick(t, 0);
	assert_true(td_used(t, 0, NULL, NULL));
}

/* A chain waiting on the bucket when the driver resets is dropped; the
 * timer then finds nothing to do. */
static void test_reset_while_waiting(void **state)
{
	struct td *t = rng_setup(state, 100);
	uint32_t len = 0;

	td_post1(t, 0, 4096, true, NULL);
	td_kick(t, 0);
	assert_true(td_used(t, 0, NULL, &len));
	assert_int_equal(len, 100);
	td_post1(t, 0, 4096, true, NULL);
	td_kick(t, 0);
	assert_false(td_used(t, 0, NULL, NULL));
	td_wr(t, R_STATUS, 0);
	td_run_loop(t, 100);
	/* After a reset the bucket is not refilled for free. */
	td_probe(t, VIRTIO_ID_RNG, WANT);
	td_queue(t, 0, 8);
	td_driver_ok(t);
	td_post1(t, 0, 4096, true, NULL);
	td_kick(t, 0);
	if (td_used(t, 0, NULL, &len))
		assert_true(len < 100);
}

/* Buffers posted and kicked before DRIVER_OK are served at DRIVER_OK. */
static void test_kick_before_driver_ok(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	struct td *t = &x->t;
	char err[256];

	*state = x;
	td_init(t);
	t->d = virtio_rng_create(&t->gm, &t->el, VIRTIO_RNG_DEFAULT_RATE, err, sizeof(err));
	td_attach(t, t->d);
	td_probe(t, VIRTIO_ID_RNG, WANT);
	td_queue(t, 0, 8);
	td_post1(t, 0, 16, true, NULL);
	td_kick(t, 0);
	assert_false(td_used(t, 0, NULL, NULL));
	td_driver_ok(t);
	assert_true(td_used(t, 0, NULL, NULL));
}

static void test_fuzz(void **state)
{
	struct td *t = rng_setup(state, 4096);

	for (unsigned int seed = 1; seed <= 10; seed++) {
		td_fuzz(t, seed, 3000);
		td_run_loop(t, 2);
	}
	td_probe(t, VIRTIO_ID_RNG, WANT);
	td_queue(t, 0, 8);
	td_driver_ok(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bytes_arrive, teardown),
		cmocka_unit_test_teardown(test_no_writable_buffer, teardown),
		cmocka_unit_test_teardown(test_rate_limit, teardown),
		cmocka_unit_test_teardown(test_work_bounded, teardown),
		cmocka_unit_test_teardown(test_broken_ring, teardown),
		cmocka_unit_test_teardown(test_reset_while_waiting, teardown),
		cmocka_unit_test_teardown(test_kick_before_driver_ok, teardown),
		cmocka_unit_test_teardown(test_fuzz, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
