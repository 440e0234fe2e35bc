/* Unit tests for virtio-console behind the virtio-mmio transport: guest
 * output reaches the tx callback in order, host input lands in the buffers
 * the guest posted, and input with nowhere to go is refused (0 taken). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "virtio/virtio_console.h"
#include "virtio_mmio_driver.h"

#define RXQ 0
#define TXQ 1
#define WANT (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX | \
	      1ULL << VIRTIO_F_INDIRECT_DESC)

struct fixture {
	struct td t;
	uint8_t out[4096];
	size_t out_len;
	int tx_calls;
	const uint8_t *big;        /* output from [big, big + big_len) is only */
	uint64_t big_len, counted; /* counted, not kept */
};

static void tx(void *opaque, const uint8_t *buf, size_t n)
{
	struct fixture *x = opaque;

	if (x->big && buf >= x->big && buf + n <= x->big + x->big_len) {
		x->counted += n;
		return;
	}
	assert_true(x->out_len + n <= sizeof(x->out));
	memcpy(x->out + x->out_len, buf, n);
	x->out_len += n;
	x->tx_calls++;
}

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	char err[256] = "";

	td_init(&x->t);
	x->t.d = virtio_console_create(&x->t.gm, &x->t.el, tx, x, err, sizeof(err));
	assert_non_null(x->t.d);
	td_attach(&x->t, x->t.d);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	td_detach(&x->t);
	virtio_console_destroy(x->t.d);
	td_fini(&x->t);
	free(x);
	return 0;
}

/* What Linux's virtio_console does for one port without multiport. */
static void bring_up(struct td *t)
{
	td_probe(t, VIRTIO_ID_CONSOLE, WANT);
	td_queue(t, RXQ, 16);
	td_queue(t, TXQ, 16);
	td_driver_ok(t);
}

static uint64_t put_str(struct td *t, const char *s)
{
	size_t n = strlen(s);
	uint64_t gpa = td_alloc(t, n, 1);

	memcpy(td_host(t, gpa, n), s, n);
	return gpa;
}

static void test_identity(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	assert_int_equal(td_rd(t, R_DEVICE_ID), VIRTIO_ID_CONSOLE);
	/* No device features: no size, no multiport, no emergency write. */
	assert_int_equal(td_device_features(t) & 0xffffff, 0);
	td_wr(t, R_QUEUE_SEL, 2);
	assert_int_equal(td_rd(t, R_QUEUE_NUM_MAX), 0);
	/* The 12-byte config space reads as zeros. */
	for (int off = 0; off < 12; off += 4)
		assert_int_equal(td_rdn(t, R_CONFIG + off, 4), 0);
	assert_int_equal(td_rdn(t, R_CONFIG + 12, 4), 0);
	td_wrn(t, R_CONFIG + 8, 'x', 4);   /* emerg_wr without the feature */
	assert_int_equal(x->out_len, 0);
}

static void test_output_in_order(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	uint16_t h1, h2, h3, h = 0;
	uint32_t len = 0;

	bring_up(t);
	struct td_buf b1 = { put_str(t, "hel"), 3, false };
	struct td_buf b2[] = { { put_str(t, "lo "), 3, false }, { put_str(t, "wor"), 3, false } };
	struct td_buf b3 = { put_str(t, "ld\n"), 3, false };
	h1 = td_post(t, TXQ, &b1, 1);
	h2 = td_post(t, TXQ, b2, 2);
	h3 = td_post(t, TXQ, &b3, 1);
	td_kick(t, TXQ);
	assert_int_equal(x->out_len, 12);
	assert_memory_equal(x->out, "hello world\n", 12);
	assert_true(td_used(t, TXQ, &h, &len));
	assert_int_equal(h, h1);
	assert_int_equal(len, 0);
	assert_true(td_used(t, TXQ, &h, &len));
	assert_int_equal(h, h2);
	assert_true(td_used(t, TXQ, &h, &len));
	assert_int_equal(h, h3);
	assert_false(td_used(t, TXQ, NULL, NULL));
	assert_int_equal(t->irq.level, 1);
	td_ack(t);

	/* More output after the ring wrapped. */
	for (int i = 0; i < 40; i++) {
		char c[2] = { (char)('a' + i % 26), 0 };
		struct td_buf b = { put_str(t, c), 1, false };

		td_post(t, TXQ, &b, 1);
		td_kick(t, TXQ);
		assert_true(td_used(t, TXQ, NULL, NULL));
	}
	assert_int_equal(x->out_len, 52);
	assert_memory_equal(x->out + 12, "abcdefghijklmnopqrstuvwxyzabcdefghijklmn", 40);
}

/* Output kicked through the eventfd (the ioeventfd path). */
static void test_output_event_loop(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	struct td_buf b = { 0, 5, false };

	bring_up(t);
	b.gpa = put_str(t, "hello");
	td_post(t, TXQ, &b, 1);
	assert_int_equal(eventfd_write(t->d->notify_fd[TXQ], 1), 0);
	td_run_loop(t, 20);
	assert_int_equal(x->out_len, 5);
	assert_true(td_used(t, TXQ, NULL, NULL));
}

static void test_input(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	uint16_t h1 = 0, h2 = 0, h = 0;
	uint32_t len = 0;

	bring_up(t);
	uint64_t a = td_post1(t, RXQ, 4, true, &h1);
	uint64_t b = td_post1(t, RXQ, 4, true, &h2);
	/* Posted buffers wait for input; a kick on the receiveq changes nothing. */
	td_kick(t, RXQ);
	assert_false(td_used(t, RXQ, NULL, NULL));
	assert_int_equal(t->irq.level, 0);

	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"abcdef", 6), 6);
	assert_true(td_used(t, RXQ, &h, &len));
	assert_int_equal(h, h1);
	assert_int_equal(len, 4);
	assert_memory_equal(td_host(t, a, 4), "abcd", 4);
	assert_true(td_used(t, RXQ, &h, &len));
	assert_int_equal(h, h2);
	assert_int_equal(len, 2);
	assert_memory_equal(td_host(t, b, 4), "ef\xee\xee", 4);
	assert_int_equal(t->irq.level, 1);
	td_ack(t);

	/* No buffers left: nothing is taken, nothing happens. */
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"gh", 2), 0);
	assert_false(td_used(t, RXQ, NULL, NULL));
	assert_int_equal(t->irq.level, 0);

	/* More input than room: the rest stays with the caller. */
	td_post1(t, RXQ, 3, true, NULL);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"ghijk", 5), 3);
	assert_true(td_used(t, RXQ, NULL, &len));
	assert_int_equal(len, 3);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"jk", 2), 0);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"", 0), 0);
}

static void test_input_not_ready(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	/* Before the driver is there at all. */
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"x", 1), 0);
	td_probe(t, VIRTIO_ID_CONSOLE, WANT);
	td_queue(t, RXQ, 4);
	td_post1(t, RXQ, 8, true, NULL);
	/* Queue set up and a buffer posted, but no DRIVER_OK yet. */
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"x", 1), 0);
	td_queue(t, TXQ, 4);
	td_driver_ok(t);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"x", 1), 1);
	/* After a reset, nothing until the driver is back. */
	td_wr(t, R_STATUS, 0);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"x", 1), 0);
}

/* A receive chain with no writable buffer goes back empty; a malformed
 * receive ring breaks the device. */
static void test_input_hostile(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	uint32_t len = 0;

	bring_up(t);
	td_post1(t, RXQ, 4, false, NULL);
	td_post1(t, RXQ, 4, true, NULL);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"abc", 3), 3);
	assert_true(td_used(t, RXQ, NULL, &len));
	assert_int_equal(len, 0);
	assert_true(td_used(t, RXQ, NULL, &len));
	assert_int_equal(len, 3);
	assert_int_equal(td_ack(t), VIRTIO_ISR_QUEUE);

	struct td_buf bad = { 0xfffff000ULL, 16, true };   /* not RAM */
	td_post(t, RXQ, &bad, 1);
	assert_int_equal(virtio_console_input(t->d, (const uint8_t *)"abc", 3), 0);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(td_rd(t, R_CONFIG_GEN), 1);
	assert_int_equal(td_ack(t), VIRTIO_ISR_CONFIG);
	/* Output stops too until the reset. */
	struct td_buf b = { put_str(t, "zz"), 2, false };
	td_post(t, TXQ, &b, 1);
	td_kick(t, TXQ);
	assert_int_equal(x->out_len, 0);
	bring_up(t);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_output_hostile(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	uint8_t *desc;

	bring_up(t);
	/* A descriptor that points to itself: a loop. */
	struct td_buf b[] = { { put_str(t, "ab"), 2, false }, { put_str(t, "cd"), 2, false } };
	uint16_t head = td_post(t, TXQ, b, 2);
	desc = td_host(t, t->q[TXQ].desc, 16 * 16);
	put_le16(desc + 16 * (head + 1) + 12, VRING_DESC_F_NEXT);
	put_le16(desc + 16 * (head + 1) + 14, head);
	td_kick(t, TXQ);
	assert_int_equal(x->out_len, 0);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* One chain naming the same 8 MiB of guest memory 16 times (128 MiB of
 * output) must not hold the event loop for all of it: a pass sends a
 * bounded part, signals its own eventfd, and the next passes go on from
 * where it stopped; the chain completes once, after the last byte, and
 * the chain behind it follows in order. */
static void test_output_bounded_per_pass(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;
	const uint32_t big = 8u << 20;
	struct td_buf b[16];
	uint64_t gpa, count = 0;
	uint16_t h1, h2, h = 0;
	int passes = 0;

	bring_up(t);
	gpa = td_alloc(t, big, 4096);
	x->big = td_host(t, gpa, big);
	x->big_len = big;
	for (int i = 0; i < 15; i++)
		b[i] = (struct td_buf){ gpa, big, false };
	h1 = td_post(t, TXQ, b, 15);
	b[0] = (struct td_buf){ put_str(t, "next"), 4, false };
	h2 = td_post(t, TXQ, b, 1);
	td_kick(t, TXQ);
	assert_true(x->counted > 0);
	assert_true(x->counted <= 1u << 20);
	assert_false(td_used(t, TXQ, NULL, NULL));
	/* The pass asked for another through the queue's notify eventfd. */
	assert_int_equal(eventfd_read(t->d->notify_fd[TXQ], &count), 0);
	assert_true(count > 0);

	while (x->counted < 15ULL * big && passes++ < 100000)
		td_kick(t, TXQ);
	assert_int_equal(x->counted, 15ULL * big);
	assert_true(passes > 1);
	td_kick(t, TXQ);
	assert_true(td_used(t, TXQ, &h, NULL));
	assert_int_equal(h, h1);
	assert_true(td_used(t, TXQ, &h, NULL));
	assert_int_equal(h, h2);
	assert_int_equal(x->out_len, 4);
	assert_memory_equal(x->out, "next", 4);
	assert_int_equal(x->counted, 15ULL * big);
}

static void test_fuzz(void **state)
{
	struct fixture *x = *state;
	struct td *t = &x->t;

	bring_up(t);
	for (unsigned int seed = 1; seed <= 10; seed++) {
		td_fuzz(t, seed, 3000);
		virtio_console_input(t->d, (const uint8_t *)"fuzz", 4);
		td_run_loop(t, 1);
	}
	bring_up(t);
	x->out_len = 0;
	struct td_buf b = { put_str(t, "ok"), 2, false };
	td_post(t, TXQ, &b, 1);
	td_kick(t, TXQ);
	assert_int_equal(x->out_len, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_event_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_not_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_bounded_per_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
