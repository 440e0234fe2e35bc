/* i8254 PIT: channel 0's IRQ 0 off a fake clock (periodic, one-shot,
 * reprogramming, the minimum period), and one run on a real event loop. */
#include "i8254_test_util.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/event_loop.h"

/* ---- IRQ 0 ---- */

static void test_pit_irq_periodic(void **state)
{
	struct pit_fixture f;
	uint16_t n = 11932;                                   /* ~10 ms */

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x34, n);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 0);
	for (int k = 1; k <= 5; k++) {
		at_tick(&f, (uint64_t)k * n - 1);
		i8254_timer_expired(f.p);
		assert_int_equal(f.irq.pulses, k - 1);
		at_tick(&f, (uint64_t)k * n);
		i8254_timer_expired(f.p);
		assert_int_equal(f.irq.pulses, k);
		i8254_timer_expired(f.p);                     /* once per edge */
		assert_int_equal(f.irq.pulses, k);
	}
	/* Late by several periods: one pulse, the rest dropped, and the
	 * next deadline stays on the grid. */
	at_tick(&f, 10ull * n + 7);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 6);
	at_tick(&f, 11ull * n - 1);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 6);
	at_tick(&f, 11ull * n);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 7);

	/* Mode 3 too. */
	pit_program(&f, CH0, 0x36, n);
	for (int k = 1; k <= 3; k++) {
		at_tick(&f, (uint64_t)k * n);
		i8254_timer_expired(f.p);
	}
	assert_int_equal(f.irq.pulses, 10);
	assert_int_equal(f.irq.bad, 0);
	assert_int_equal(f.irq.level, 0);
	i8254_destroy(f.p);
}

static void test_pit_irq_oneshot(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x30, 1000);
	at_tick(&f, 999);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 0);
	at_tick(&f, 1000);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 1);
	for (int i = 1; i <= 4; i++) {
		at_tick(&f, 1000 + 65536ull * i);
		i8254_timer_expired(f.p);
	}
	assert_int_equal(f.irq.pulses, 1);

	/* Mode 4: on the end of the low tick. */
	pit_program(&f, CH0, 0x38, 100);
	at_tick(&f, 100);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 1);
	at_tick(&f, 101);
	i8254_timer_expired(f.p);
	at_tick(&f, 500);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 2);

	/* Linux's shutdown: mode 0 with count 0 fires once, 65536 later. */
	pit_program(&f, CH0, 0x30, 0);
	at_tick(&f, 65535);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 2);
	at_tick(&f, 65536);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 3);
	assert_int_equal(f.irq.bad, 0);
	i8254_destroy(f.p);
}

static void test_pit_irq_reprogram(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	/* A control word alone cancels. */
	pit_program(&f, CH0, 0x34, 1000);
	at_tick(&f, 500);
	out8(i8254_io, f.p, CTRL, 0x30);
	at_tick(&f, 5000);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 0);

	/* A new count restarts the one-shot. */
	pit_program(&f, CH0, 0x30, 1000);
	at_tick(&f, 900);
	uint64_t t_re = f.clk.ns;
	out8(i8254_io, f.p, CH0, 0xe8);
	out8(i8254_io, f.p, CH0, 0x03);
	at_tick(&f, 1000);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 0);
	f.clk.ns = t_re + tick_ns(1000);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 1);

	/* The first byte of a mode 0 count cancels too. */
	pit_program(&f, CH0, 0x30, 1000);
	out8(i8254_io, f.p, CH0, 0x10);
	at_tick(&f, 2000);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 1);

	/* Channel 2 never touches IRQ 0. */
	start_ch2_oneshot(&f, 10);
	at_tick(&f, 100);
	i8254_timer_expired(f.p);
	assert_int_equal(f.irq.pulses, 1);
	i8254_destroy(f.p);
}

static void test_pit_irq_min_period(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x34, 2);                        /* 1.7 us */
	for (int i = 1; i <= 100; i++) {                      /* 1 ms, 10 us steps */
		f.clk.ns = f.t0 + (uint64_t)i * 10000;
		i8254_timer_expired(f.p);
	}
	assert_int_equal(f.irq.pulses, 5);                    /* 200 us apart */
	/* The counter itself still runs at the programmed rate. */
	at_tick(&f, 1001);
	assert_int_equal(latch_word(&f, CH0), 1);
	i8254_destroy(f.p);
}

/* ---- a real event loop ---- */

struct loop_run {
	struct event_loop el;
};

static void stop_cb(void *opaque, int fd, uint32_t events)
{
	struct loop_run *r = opaque;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	el_quit(&r->el);
}

static void test_pit_event_loop(void **state)
{
	struct loop_run r;
	struct irq_log log = { 0 };
	struct irq_line line = { .set = irq_cb, .opaque = &log, .gsi = I8254_IRQ };
	struct itimerspec stop = { .it_value = { .tv_nsec = 20000000 } };   /* 20 ms */
	struct i8254 *p;
	int fd;

	(void)state;
	assert_int_equal(el_init(&r.el), 0);
	p = i8254_create(&r.el, &line, NULL, NULL);
	assert_non_null(p);
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(el_add(&r.el, fd, EPOLLIN, stop_cb, &r), 0);

	out8(i8254_io, p, CTRL, 0x34);                        /* ~1 ms, mode 2 */
	out8(i8254_io, p, CH0, 1193 & 0xff);
	out8(i8254_io, p, CH0, 1193 >> 8);
	assert_int_equal(timerfd_settime(fd, 0, &stop, NULL), 0);
	el_run(&r.el);

	/* 20 expected; a loaded host drops some, never adds. */
	assert_true(log.pulses >= 5 && log.pulses <= 25);
	assert_int_equal(log.bad, 0);
	el_remove(&r.el, fd);
	close(fd);
	i8254_destroy(p);
	el_close(&r.el);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pit_irq_periodic),
		cmocka_unit_test(test_pit_irq_oneshot),
		cmocka_unit_test(test_pit_irq_reprogram),
		cmocka_unit_test(test_pit_irq_min_period),
		cmocka_unit_test(test_pit_event_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
