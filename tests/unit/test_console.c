/* Unit tests for the console's ring and its attached client: history
 * replay, the wake-up protocol, drop-oldest for a client that does not read,
 * one client at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/console.h"

static void test_ring_basic(void **state)
{
	uint8_t buf[16], out[32];
	struct console_ring r = { .buf = buf, .size = sizeof(buf) };
	uint64_t pos = 0, dropped = 0;

	console_ring_put(&r, (const uint8_t *)"hello", 5);
	assert_int_equal(console_ring_peek(&r, &pos, out, sizeof(out), &dropped), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(pos, 0);            /* peek does not consume */
	pos = 3;
	assert_int_equal(console_ring_peek(&r, &pos, out, 1, &dropped), 1);
	assert_int_equal(out[0], 'l');
	assert_int_equal(dropped, 0);
}

static void test_ring_wrap_and_drop(void **state)
{
	uint8_t buf[16], out[32];
	struct console_ring r = { .buf = buf, .size = sizeof(buf) };
	uint64_t pos = 0, dropped = 0;
	const char *abc = "abcdefghijklmnopqrstuvwxyz";

	console_ring_put(&r, (const uint8_t *)abc, 10);
	console_ring_put(&r, (const uint8_t *)abc + 10, 10);   /* wraps */
	assert_int_equal(r.head, 20);
	/* The reader at 0 lost the 4 oldest bytes. */
	assert_int_equal(console_ring_peek(&r, &pos, out, sizeof(out), &dropped), 16);
	assert_int_equal(pos, 4);
	assert_int_equal(dropped, 4);
	assert_memory_equal(out, abc + 4, 16);
	/* More than the ring in one put: only the last 16 stay. */
	console_ring_put(&r, (const uint8_t *)abc, 26);
	pos = 20;
	assert_int_equal(console_ring_peek(&r, &pos, out, sizeof(out), &dropped), 16);
	assert_int_equal(dropped, 4 + 10);
	assert_memory_equal(out, abc + 10, 16);
	/* A position past the head (hostile or stale) reads nothing. */
	pos = 1000;
	assert_int_equal(console_ring_peek(&r, &pos, out, sizeof(out), &dropped), 0);
}

struct fixture {
	struct console c;
	int peer;           /* the client's end */
	int fd;             /* the console's end */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(console_open(&f->c, CONSOLE_NONE, NULL), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	f->fd = sv[0];
	f->peer = sv[1];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	console_close(&f->c);
	close(f->peer);
	free(f);
	return 0;
}

static size_t drain(int fd, uint8_t *out, size_t max)
{
	size_t got = 0;
	ssize_t n;

	while (got < max && (n = read(fd, out + got, max - got)) > 0)
		got += (size_t)n;
	return got;
}

static bool wake_readable(struct console *c)
{
	struct pollfd p = { .fd = c->wake_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void test_history_then_live(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[CONSOLE_HISTORY + 100], out[CONSOLE_HISTORY + 200];

	memset(big, 'x', sizeof(big));
	memcpy(big + sizeof(big) - 4, "END\n", 4);
	console_write(&f->c, big, sizeof(big));
	assert_false(wake_readable(&f->c));      /* nobody attached */
	assert_int_equal(console_attach(&f->c, f->fd, NULL, 0), 0);
	assert_int_equal(console_client_flush(&f->c), 0);
	/* The last CONSOLE_HISTORY bytes only. */
	assert_int_equal(drain(f->peer, out, sizeof(out)), CONSOLE_HISTORY);
	assert_memory_equal(out + CONSOLE_HISTORY - 4, "END\n", 4);

	/* Live output: one wake per batch, until the loop drains it. */
	console_tx(&f->c, 'a');
	console_tx(&f->c, 'b');
	assert_true(wake_readable(&f->c));
	console_take_wake(&f->c);
	assert_false(wake_readable(&f->c));
	console_tx(&f->c, 'c');
	assert_false(wake_readable(&f->c));      /* still pending */
	assert_int_equal(console_client_flush(&f->c), 0);
	assert_int_equal(drain(f->peer, out, sizeof(out)), 3);
	assert_memory_equal(out, "abc", 3);
	console_tx(&f->c, 'd');
	assert_true(wake_readable(&f->c));       /* drained: wakes again */
}

static void test_slow_client_drops_oldest(void **state)
{
	struct fixture *f = *state;
	static uint8_t chunk[4096], out[CONSOLE_RING_SIZE * 2];
	uint64_t total = 0;
	size_t got;

	assert_int_equal(console_attach(&f->c, f->fd, NULL, 0), 0);
	/* The client does not read: the flush stops when its socket is full,
	 * never blocks, and the ring goes on filling. */
	for (int i = 0; i < (int)(CONSOLE_RING_SIZE * 4 / sizeof(chunk)); i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		console_write(&f->c, chunk, sizeof(chunk));
		total += sizeof(chunk);
		assert_in_range(console_client_flush(&f->c), 0, 1);
	}
	assert_int_equal(console_client_flush(&f->c), 1);
	/* Now it reads: what the socket held, then the newest ring's worth. */
	got = 0;
	for (int i = 0; i < 1000 && console_client_flush(&f->c) != 0; i++)
		got += drain(f->peer, out + got, sizeof(out) - got);
	got += drain(f->peer, out + got, sizeof(out) - got);
	assert_int_equal(got + f->c.client.dropped, total);
	assert_true(f->c.client.dropped > 0);
	assert_int_equal(f->c.dropped_total, f->c.client.dropped);
	/* The last byte is the newest output. */
	assert_int_equal(out[got - 1], 'a' + (CONSOLE_RING_SIZE * 4 / sizeof(chunk) - 1) % 26);
}

static void test_one_client(void **state)
{
	struct fixture *f = *state;
	int sv[2];

	assert_int_equal(console_attach(&f->c, f->fd, (const uint8_t *)"hi", 2), 0);
	assert_int_equal(f->c.client.pre_len, 2);
	assert_memory_equal(f->c.client.pre, "hi", 2);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(console_attach(&f->c, sv[0], NULL, 0), -EBUSY);
	close(sv[0]);
	close(sv[1]);
	/* A client that is gone: flush says so, detach frees the place. */
	close(f->peer);
	f->peer = -1;
	console_tx(&f->c, 'x');
	assert_int_equal(console_client_flush(&f->c), -1);
	console_detach(&f->c);
	assert_int_equal(f->c.client.fd, -1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(console_attach(&f->c, sv[0], NULL, 0), 0);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_basic),
		cmocka_unit_test(test_ring_wrap_and_drop),
		cmocka_unit_test_setup_teardown(test_history_then_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_drops_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_client, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
