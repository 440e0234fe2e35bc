/* i8042: idle controller, command byte, no aux port, reset line, hostile accesses. */
#include "device_io.h"

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

	/* A data byte with no command is for the absent keyboard: dropped. */
	out8(i8042_io, k, KBD_DATA, 0xff);
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


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_idle_and_selftest),
		cmocka_unit_test(test_i8042_command_byte),
		cmocka_unit_test(test_i8042_no_aux),
		cmocka_unit_test(test_i8042_reset),
		cmocka_unit_test(test_i8042_widths_and_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
