/* i8042: idle controller, command byte, no aux port, reset line, the PS/2
 * keyboard (commands, Ctrl+Alt+Del scancodes, queue, IRQ 1), hostile accesses. */
#include "device_io.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- i8042 ---- */


static struct i8042 *kbd_new(struct power_log *log)
{
	struct power_ctl pc = { .request = power_cb, .opaque = log };
	struct i8042 *k = i8042_create(&pc);

	assert_non_null(k);
	return k;
}

static void test_i8042_idle_and_selftest(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);
	uint8_t st;

	(void)state;
	st = in8(i8042_io, k, KBD_CMD);
	assert_int_equal(st & 0x03, 0);      /* no output, input empty */
	assert_int_equal(st & 0x04, 0x04);   /* system flag */

	out8(i8042_io, k, KBD_CMD, 0xaa);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x21, 0x01);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x55);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x01, 0);

	out8(i8042_io, k, KBD_CMD, 0xab);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x00);

	/* Flushing an empty controller ends at once. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x01, 0);
	assert_int_equal(log.reset, 0);
	i8042_destroy(k);
}

static uint8_t kbd_read_ctr(struct i8042 *k)
{
	out8(i8042_io, k, KBD_CMD, 0x20);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x01, 0x01);
	return in8(i8042_io, k, KBD_DATA);
}

static void test_i8042_command_byte(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);
	uint8_t ctr;

	(void)state;
	ctr = kbd_read_ctr(k);
	assert_int_equal(kbd_read_ctr(k), ctr);   /* stable, as Linux checks */
	out8(i8042_io, k, KBD_CMD, 0x60);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x08, 0x08);  /* CMD/DAT */
	out8(i8042_io, k, KBD_DATA, 0x47);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x08, 0x00);
	assert_int_equal(kbd_read_ctr(k), 0x47);

	out8(i8042_io, k, KBD_CMD, 0xa7);
	assert_int_equal(kbd_read_ctr(k) & 0x20, 0x20);
	out8(i8042_io, k, KBD_CMD, 0xa8);
	assert_int_equal(kbd_read_ctr(k) & 0x20, 0x00);
	out8(i8042_io, k, KBD_CMD, 0xad);
	assert_int_equal(kbd_read_ctr(k) & 0x10, 0x10);
	out8(i8042_io, k, KBD_CMD, 0xae);
	assert_int_equal(kbd_read_ctr(k) & 0x10, 0x00);

	/* Internal RAM through 0x61..0x7f / 0x21..0x3f. */
	out8(i8042_io, k, KBD_CMD, 0x7f);
	out8(i8042_io, k, KBD_DATA, 0x99);
	out8(i8042_io, k, KBD_CMD, 0x3f);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x99);

	/* A data byte with no command is for the keyboard: 0xff resets it. */
	out8(i8042_io, k, KBD_DATA, 0xff);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0xfa);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0xaa);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x01, 0);
	assert_int_equal(kbd_read_ctr(k) & 0x10, 0x00);
	/* A command cancels a pending parameter. */
	out8(i8042_io, k, KBD_CMD, 0x60);
	out8(i8042_io, k, KBD_CMD, 0xae);
	out8(i8042_io, k, KBD_DATA, 0x00);
	assert_int_equal(kbd_read_ctr(k), 0x47 & ~0x10);
	assert_int_equal(log.reset, 0);
	i8042_destroy(k);
}

/* i8042_check_aux() in Linux: the AUX loopback must not look like AUX data
 * and the AUX test must fail, so that no AUX port is registered. */
static void test_i8042_no_aux(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);
	uint8_t r;

	(void)state;
	out8(i8042_io, k, KBD_CMD, 0xd3);
	out8(i8042_io, k, KBD_DATA, 0x5a);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x21, 0x01);
	out8(i8042_io, k, KBD_CMD, 0xa9);
	r = in8(i8042_io, k, KBD_DATA);
	assert_true(r != 0 && r != 0xfa && r != 0xff);
	/* 0xd2 echoes as keyboard data; 0xd4 bytes go nowhere */
	out8(i8042_io, k, KBD_CMD, 0xd2);
	out8(i8042_io, k, KBD_DATA, 0x12);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x12);
	out8(i8042_io, k, KBD_CMD, 0xd4);
	out8(i8042_io, k, KBD_DATA, 0xf4);
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x01, 0);
	i8042_destroy(k);
}

static void test_i8042_reset(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);

	(void)state;
	out8(i8042_io, k, KBD_CMD, 0xfe);
	assert_int_equal(log.reset, 1);
	out8(i8042_io, k, KBD_CMD, 0xff);       /* pulses nothing */
	out8(i8042_io, k, KBD_CMD, 0xf1);       /* pulses bits 1-3, not reset */
	assert_int_equal(log.reset, 1);
	out8(i8042_io, k, KBD_CMD, 0xf0);
	assert_int_equal(log.reset, 2);

	/* Output port: A20 on without reset, then reset line low. */
	out8(i8042_io, k, KBD_CMD, 0xd0);
	assert_int_equal(in8(i8042_io, k, KBD_DATA) & 0x03, 0x03);
	out8(i8042_io, k, KBD_CMD, 0xd1);
	out8(i8042_io, k, KBD_DATA, 0xdf);
	assert_int_equal(log.reset, 2);
	out8(i8042_io, k, KBD_CMD, 0xd1);
	out8(i8042_io, k, KBD_DATA, 0xfe);
	assert_int_equal(log.reset, 3);
	/* The line reads released after the reset. */
	out8(i8042_io, k, KBD_CMD, 0xd0);
	assert_int_equal(in8(i8042_io, k, KBD_DATA) & 0x01, 0x01);
	/* 0xfe as plain data is not a reset. */
	out8(i8042_io, k, KBD_DATA, 0xfe);
	assert_int_equal(log.reset, 3);
	/* A 16-bit write at offset 3 puts 0xfe on the command port. */
	outn(i8042_io, k, 3, 0xfe00, 2);
	assert_int_equal(log.reset, 4);
	i8042_destroy(k);
}

static void test_i8042_widths_and_fuzz(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);

	(void)state;
	for (uint64_t off = 1; off <= 3; off++)
		assert_int_equal(in8(i8042_io, k, off), 0xff);
	for (uint32_t len = 1; len <= 5; len++)
		for (uint64_t off = 0; off + len <= 5; off++)
			(void)inn(i8042_io, k, off, len > 4 ? 4 : len);
	fuzz_device(i8042_io, k, 5, 99, 200000);
	/* Still a working controller afterwards. */
	out8(i8042_io, k, KBD_CMD, 0xaa);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x55);
	i8042_destroy(k);
}


/* ---- the keyboard ---- */

struct irq_log {
	int level;
	int rises;       /* rising edges: interrupts for an edge-triggered input */
	int bad_gsi;
};

static void irq_cb(void *opaque, uint32_t gsi, int level)
{
	struct irq_log *l = opaque;

	if (gsi != I8042_IRQ_KBD)
		l->bad_gsi++;
	if (level && !l->level)
		l->rises++;
	l->level = level;
}

static struct i8042 *kbd_new_irq(struct power_log *log, struct irq_log *il)
{
	struct i8042 *k = kbd_new(log);
	struct irq_line line = { .set = irq_cb, .opaque = il, .gsi = I8042_IRQ_KBD };

	i8042_set_irq(k, &line);
	return k;
}

static const uint8_t cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
static const uint8_t cad_set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71,
				    0xf0, 0x11, 0xf0, 0x14 };
static const uint8_t cad_set3[] = { 0x11, 0x19, 0x64, 0xf0, 0x64, 0xf0, 0x19, 0xf0, 0x11 };

static bool kbd_obf(struct i8042 *k)
{
	return (in8(i8042_io, k, KBD_CMD) & 0x01) != 0;
}

/* Read what the controller holds, the way Linux's i8042_flush() does:
 * while OBF, at most 16 bytes.  Returns how many were read. */
static size_t kbd_drain(struct i8042 *k, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (kbd_obf(k)) {
		assert_true(n < 16);
		uint8_t b = in8(i8042_io, k, KBD_DATA);

		if (n < max)
			out[n] = b;
		n++;
	}
	return n;
}

static void expect_bytes(struct i8042 *k, const uint8_t *want, size_t n)
{
	uint8_t got[16];

	assert_true(n <= sizeof(got));
	assert_int_equal(kbd_drain(k, got, sizeof(got)), n);
	assert_memory_equal(got, want, n);
}

static void kbd_send(struct i8042 *k, uint8_t b)
{
	out8(i8042_io, k, KBD_DATA, b);
}

static void kbd_write_ctr(struct i8042 *k, uint8_t ctr)
{
	out8(i8042_io, k, KBD_CMD, 0x60);
	out8(i8042_io, k, KBD_DATA, ctr);
}

static void test_i8042_ctrl_alt_del_set1(void **state)
{
	struct power_log log = { 0 };
	struct irq_log il = { 0 };
	struct i8042 *k = kbd_new_irq(&log, &il);

	(void)state;
	assert_int_equal(il.level, 0);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	/* The first byte is waiting, as keyboard (not AUX) data, IRQ 1 up. */
	assert_int_equal(in8(i8042_io, k, KBD_CMD) & 0x21, 0x01);
	assert_int_equal(il.level, 1);
	assert_int_equal(il.rises, 1);
	/* One rising edge per byte: the line drops on each read. */
	for (size_t i = 0; i < sizeof(cad_set1); i++) {
		assert_true(kbd_obf(k));
		assert_int_equal(il.rises, (int)i + 1);
		assert_int_equal(in8(i8042_io, k, KBD_DATA), cad_set1[i]);
	}
	assert_false(kbd_obf(k));
	assert_int_equal(il.level, 0);
	assert_int_equal(il.rises, (int)sizeof(cad_set1));
	assert_int_equal(il.bad_gsi, 0);
	/* Sent again once read. */
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	expect_bytes(k, cad_set1, sizeof(cad_set1));
	assert_int_equal(log.reset, 0);
	i8042_destroy(k);
}

static void test_i8042_ctrl_alt_del_sets(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);
	const uint8_t ack = 0xfa;
	const uint8_t set2[] = { 0xfa, 0x02 }, set2x[] = { 0xfa, 0x41 };

	(void)state;
	/* Translation on: the keyboard's set 2 reads as set 1. */
	kbd_send(k, 0xf0);
	expect_bytes(k, &ack, 1);
	kbd_send(k, 0x00);
	expect_bytes(k, set2x, 2);
	/* Translation off: raw set 2. */
	kbd_write_ctr(k, 0x01 | 0x04 | 0x20);
	kbd_send(k, 0xf0);
	expect_bytes(k, &ack, 1);
	kbd_send(k, 0x00);
	expect_bytes(k, set2, 2);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	expect_bytes(k, cad_set2, sizeof(cad_set2));
	/* Set 3, then set 1, picked by the guest. */
	kbd_send(k, 0xf0);
	expect_bytes(k, &ack, 1);
	kbd_send(k, 0x03);
	expect_bytes(k, &ack, 1);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	expect_bytes(k, cad_set3, sizeof(cad_set3));
	kbd_send(k, 0xf0);
	expect_bytes(k, &ack, 1);
	kbd_send(k, 0x01);
	expect_bytes(k, &ack, 1);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	expect_bytes(k, cad_set1, sizeof(cad_set1));
	/* 0xf6 (defaults) is set 2 again. */
	kbd_send(k, 0xf6);
	expect_bytes(k, &ack, 1);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	expect_bytes(k, cad_set2, sizeof(cad_set2));
	i8042_destroy(k);
}

/* What Linux's atkbd sends while probing and running. */
static void test_i8042_keyboard_commands(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);
	const uint8_t ack = 0xfa, resend = 0xfe, echo = 0xee;
	const uint8_t reset[] = { 0xfa, 0xaa };
	const uint8_t id_x[] = { 0xfa, 0xab, 0x41 }, id[] = { 0xfa, 0xab, 0x83 };
	const uint8_t simple[] = { 0xf4, 0xf5, 0xf6, 0xf4 };

	(void)state;
	kbd_send(k, 0xff);
	expect_bytes(k, reset, 2);
	kbd_send(k, 0xf2);
	expect_bytes(k, id_x, 3);
	for (size_t i = 0; i < sizeof(simple); i++) {
		kbd_send(k, simple[i]);
		expect_bytes(k, &ack, 1);
	}
	/* Commands with an argument: each byte acknowledged; the argument is
	 * not taken as a command (0xff here is not a reset). */
	for (uint8_t cmd = 0xed; cmd != 0; cmd = cmd == 0xed ? 0xf3 : 0) {
		kbd_send(k, cmd);
		expect_bytes(k, &ack, 1);
		kbd_send(k, 0xff);
		expect_bytes(k, &ack, 1);
	}
	kbd_send(k, 0xee);
	expect_bytes(k, &echo, 1);
	/* Unknown commands and a bad scancode set: resend. */
	kbd_send(k, 0x00);
	expect_bytes(k, &resend, 1);
	kbd_send(k, 0xfd);
	expect_bytes(k, &resend, 1);
	kbd_send(k, 0xf0);
	expect_bytes(k, &ack, 1);
	kbd_send(k, 0x07);
	expect_bytes(k, &resend, 1);
	/* Untranslated, the ID's second byte is the keyboard's own. */
	kbd_write_ctr(k, 0x01 | 0x04 | 0x20);
	kbd_send(k, 0xf2);
	expect_bytes(k, id, 3);
	/* A new command drops the unread answer to the last one. */
	kbd_send(k, 0xf2);
	kbd_send(k, 0xee);
	{
		const uint8_t want[] = { 0xfa, 0xee };   /* 0xfa was already out */

		expect_bytes(k, want, 2);
	}
	assert_int_equal(log.reset, 0);
	i8042_destroy(k);
}

static void test_i8042_queue_bounds(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);
	uint8_t got[16];

	(void)state;
	/* 8 bytes fit, 16 do not: all or nothing. */
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_FULL);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x1d);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_FULL);
	expect_bytes(k, cad_set1 + 1, sizeof(cad_set1) - 1);
	/* Scanning off: the keyboard sends nothing; on again: it does. */
	kbd_send(k, 0xf5);
	expect_bytes(k, (const uint8_t[]){ 0xfa }, 1);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_DISABLED);
	assert_false(kbd_obf(k));
	kbd_send(k, 0xf4);
	expect_bytes(k, (const uint8_t[]){ 0xfa }, 1);
	/* Everything at once stays within what Linux flushes (16). */
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	kbd_send(k, 0xf2);
	assert_true(kbd_drain(k, got, sizeof(got)) <= 16);
	/* Reset forgets the keys not yet in the output buffer. */
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	kbd_send(k, 0xff);
	{
		const uint8_t want[] = { 0x1d, 0xfa, 0xaa };

		expect_bytes(k, want, 3);
	}
	i8042_destroy(k);
}

/* Keyboard answers go ahead of queued keys; controller answers go ahead
 * of everything and displace no key. */
static void test_i8042_ordering(void **state)
{
	struct power_log log = { 0 };
	struct i8042 *k = kbd_new(&log);

	(void)state;
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	kbd_send(k, 0xf2);
	{
		const uint8_t want[] = { 0x1d, 0xfa, 0xab, 0x41, 0x38, 0xe0, 0x53, 0xe0,
					 0xd3, 0xb8, 0x9d };

		expect_bytes(k, want, sizeof(want));
	}
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	out8(i8042_io, k, KBD_CMD, 0xaa);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x55);
	assert_int_equal(kbd_read_ctr(k), 0x65);
	expect_bytes(k, cad_set1, sizeof(cad_set1));

	/* The keyboard interface disabled (0xad): keys wait, then come. */
	out8(i8042_io, k, KBD_CMD, 0xad);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	assert_false(kbd_obf(k));
	out8(i8042_io, k, KBD_CMD, 0xae);
	expect_bytes(k, cad_set1, sizeof(cad_set1));
	/* The same through the command byte's bit 4. */
	kbd_write_ctr(k, 0x65 | 0x10);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	assert_false(kbd_obf(k));
	kbd_write_ctr(k, 0x65);
	expect_bytes(k, cad_set1, sizeof(cad_set1));
	i8042_destroy(k);
}

static void test_i8042_irq_enable(void **state)
{
	struct power_log log = { 0 };
	struct irq_log il = { 0 };
	struct i8042 *k = kbd_new_irq(&log, &il);

	(void)state;
	/* Keyboard interrupt off: polled, no edges. */
	kbd_write_ctr(k, 0x64);
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	assert_true(kbd_obf(k));
	assert_int_equal(il.rises, 0);
	/* Turned on with a byte waiting: the line rises at once. */
	kbd_write_ctr(k, 0x65);
	assert_int_equal(il.rises, 1);
	expect_bytes(k, cad_set1, sizeof(cad_set1));
	assert_int_equal(il.rises, (int)sizeof(cad_set1));
	assert_int_equal(il.level, 0);
	/* Controller answers are keyboard data too (as on a real 8042). */
	out8(i8042_io, k, KBD_CMD, 0xaa);
	assert_int_equal(il.level, 1);
	(void)in8(i8042_io, k, KBD_DATA);
	assert_int_equal(il.level, 0);
	/* Keyboard answers raise it as well. */
	kbd_send(k, 0xee);
	assert_int_equal(il.level, 1);
	(void)in8(i8042_io, k, KBD_DATA);
	assert_int_equal(il.level, 0);
	assert_int_equal(il.bad_gsi, 0);
	i8042_destroy(k);
}

/* Random guest accesses with keys arriving: never more than 16 bytes to
 * flush, the line low whenever the buffer is empty, still working after. */
static void test_i8042_hostile_keyboard(void **state)
{
	struct power_log log = { 0 };
	struct irq_log il = { 0 };
	struct i8042 *k = kbd_new_irq(&log, &il);
	uint8_t got[16];

	(void)state;
	for (unsigned int round = 0; round < 2000; round++) {
		fuzz_device(i8042_io, k, 5, round, 50);
		(void)i8042_send_ctrl_alt_del(k);
		assert_true(kbd_drain(k, got, sizeof(got)) <= 16);
		assert_int_equal(il.level, 0);
	}
	assert_int_equal(il.bad_gsi, 0);
	/* A controller put back in order works as before. */
	kbd_write_ctr(k, 0x65);
	for (int i = 0; i < 2; i++) {
		/* The first 0xff may be the argument of a command. */
		kbd_send(k, 0xff);
		kbd_drain(k, got, sizeof(got));
	}
	kbd_send(k, 0xf4);
	kbd_drain(k, got, sizeof(got));
	assert_int_equal(i8042_send_ctrl_alt_del(k), I8042_KEYS_QUEUED);
	expect_bytes(k, cad_set1, sizeof(cad_set1));
	i8042_destroy(k);
}

struct race {
	struct i8042 *k;
	atomic_int stop;
};

static void *race_sender(void *opaque)
{
	struct race *r = opaque;

	while (!atomic_load(&r->stop))
		(void)i8042_send_ctrl_alt_del(r->k);
	return NULL;
}

/* Keys from the event loop while a vCPU reads: every byte read is one of
 * the sequence's, and the controller's own answers are never lost. */
static void test_i8042_threads(void **state)
{
	struct power_log log = { 0 };
	struct race r = { .k = kbd_new(&log) };
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, race_sender, &r), 0);
	for (int i = 0; i < 20000; i++) {
		if (in8(i8042_io, r.k, KBD_CMD) & 0x01) {
			uint8_t b = in8(i8042_io, r.k, KBD_DATA);

			assert_non_null(memchr(cad_set1, b, sizeof(cad_set1)));
		}
		if (i % 100 == 0) {
			out8(i8042_io, r.k, KBD_CMD, 0xaa);
			assert_int_equal(in8(i8042_io, r.k, KBD_DATA), 0x55);
		}
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	i8042_destroy(r.k);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_idle_and_selftest),
		cmocka_unit_test(test_i8042_command_byte),
		cmocka_unit_test(test_i8042_no_aux),
		cmocka_unit_test(test_i8042_reset),
		cmocka_unit_test(test_i8042_widths_and_fuzz),
		cmocka_unit_test(test_i8042_ctrl_alt_del_set1),
		cmocka_unit_test(test_i8042_ctrl_alt_del_sets),
		cmocka_unit_test(test_i8042_keyboard_commands),
		cmocka_unit_test(test_i8042_queue_bounds),
		cmocka_unit_test(test_i8042_ordering),
		cmocka_unit_test(test_i8042_irq_enable),
		cmocka_unit_test(test_i8042_hostile_keyboard),
		cmocka_unit_test(test_i8042_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
