/* i8254 PIT: counts and OUT in modes 0-5 off a fake clock, latches and
 * read-back, BCD, channel 2's gate through port 0x61 as the test guest's
 * udelay and Linux's TSC calibration drive it, and hostile accesses.
 * IRQ 0 is in test_i8254_irq.c. */
#include "i8254_test_util.h"

/* ---- counting ---- */

static void test_pit_power_on(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	/* Mode 0, LSB/MSB, binary, nothing loaded: OUT low, null count. */
	for (unsigned int ch = 0; ch < 3; ch++)
		assert_int_equal(status_of(&f, ch), 0x40 | 0x30);
	assert_int_equal(p61(&f) & 0x21, 0);   /* gate 2 low, OUT2 low */
	assert_int_equal(in8(i8254_io, f.p, CTRL), 0xff);
	i8254_destroy(f.p);
	i8254_destroy(NULL);
}

static void test_pit_mode0(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x30, 1000);
	assert_int_equal(status_of(&f, CH0), 0x40 | 0x30);   /* OUT low, null */
	at_tick(&f, 1);
	assert_int_equal(status_of(&f, CH0), 0x30);          /* counting */
	at_tick(&f, 100);
	assert_int_equal(latch_word(&f, CH0), 900);
	assert_int_equal(read_word(&f, CH0), 900);           /* unlatched too */
	at_tick(&f, 999);
	assert_int_equal(latch_word(&f, CH0), 1);
	assert_false(out_of(&f, CH0));
	at_tick(&f, 1000);
	assert_int_equal(latch_word(&f, CH0), 0);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 1001);                                    /* wraps, OUT stays */
	assert_int_equal(latch_word(&f, CH0), 0xffff);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 1000 + 65536 + 5);
	assert_int_equal(latch_word(&f, CH0), 0xffff - 4);
	assert_true(out_of(&f, CH0));

	/* A first byte in mode 0 stops the count and drops OUT. */
	out8(i8254_io, f.p, CH0, 0x10);
	assert_false(out_of(&f, CH0));
	f.clk.ns += 1000000;
	assert_int_equal(latch_word(&f, CH0), 0xffff - 4);
	out8(i8254_io, f.p, CH0, 0x00);                       /* 16 */
	f.t0 = f.clk.ns;
	at_tick(&f, 6);
	assert_int_equal(latch_word(&f, CH0), 10);
	i8254_destroy(f.p);
}

static void test_pit_mode2(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x34, 100);
	assert_int_equal(latch_word(&f, CH0), 100);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 50);
	assert_int_equal(latch_word(&f, CH0), 50);
	at_tick(&f, 99);
	assert_int_equal(latch_word(&f, CH0), 1);
	assert_false(out_of(&f, CH0));                        /* the low tick */
	at_tick(&f, 100);
	assert_int_equal(latch_word(&f, CH0), 100);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 250);
	assert_int_equal(latch_word(&f, CH0), 50);
	assert_int_equal(status_of(&f, CH0), 0x80 | 0x30 | 2 << 1);

	/* Mode 6 acts as 2 but reads back as written. */
	pit_program(&f, CH0, 0x3c, 100);
	at_tick(&f, 130);
	assert_int_equal(latch_word(&f, CH0), 70);
	assert_int_equal(status_of(&f, CH0) & 0x0e, 6 << 1);
	i8254_destroy(f.p);
}

static void test_pit_mode3(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x36, 100);
	at_tick(&f, 10);
	assert_int_equal(latch_word(&f, CH0), 80);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 49);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 50);
	assert_int_equal(latch_word(&f, CH0), 100);
	assert_false(out_of(&f, CH0));
	at_tick(&f, 60);
	assert_int_equal(latch_word(&f, CH0), 80);
	assert_false(out_of(&f, CH0));
	at_tick(&f, 100);
	assert_true(out_of(&f, CH0));

	/* Odd: high one tick longer than low. */
	pit_program(&f, CH0, 0x36, 5);
	at_tick(&f, 2);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 3);
	assert_false(out_of(&f, CH0));
	at_tick(&f, 4);
	assert_false(out_of(&f, CH0));
	at_tick(&f, 5);
	assert_true(out_of(&f, CH0));
	i8254_destroy(f.p);
}

static void test_pit_mode4(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x38, 10);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 9);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 10);
	assert_false(out_of(&f, CH0));                        /* one tick low */
	at_tick(&f, 11);
	assert_true(out_of(&f, CH0));
	assert_int_equal(latch_word(&f, CH0), 0xffff);
	i8254_destroy(f.p);
}

static void test_pit_latch_holds(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x34, 0);                        /* 65536 */
	at_tick(&f, 100);
	out8(i8254_io, f.p, CTRL, 0x00);
	at_tick(&f, 500);
	out8(i8254_io, f.p, CTRL, 0x00);                      /* ignored: unread */
	assert_int_equal(in8(i8254_io, f.p, CH0), (65536 - 100) & 0xff);
	at_tick(&f, 700);
	assert_int_equal(in8(i8254_io, f.p, CH0), (65536 - 100) >> 8);
	/* Released: live again. */
	assert_int_equal(read_word(&f, CH0), 65536 - 700);

	/* LSB-only and MSB-only access. */
	out8(i8254_io, f.p, CTRL, 0x14);                      /* LSB, mode 2 */
	out8(i8254_io, f.p, CH0, 200);
	f.t0 = f.clk.ns;
	at_tick(&f, 50);
	assert_int_equal(in8(i8254_io, f.p, CH0), 150);
	assert_int_equal(in8(i8254_io, f.p, CH0), 150);
	out8(i8254_io, f.p, CTRL, 0x24);                      /* MSB, mode 2 */
	out8(i8254_io, f.p, CH0, 0x02);                       /* 512 */
	f.t0 = f.clk.ns;
	at_tick(&f, 256);
	assert_int_equal(in8(i8254_io, f.p, CH0), 0x01);
	out8(i8254_io, f.p, CTRL, 0x00);
	at_tick(&f, 400);
	assert_int_equal(in8(i8254_io, f.p, CH0), 0x01);
	assert_int_equal(in8(i8254_io, f.p, CH0), 0x00);      /* 112: live */
	i8254_destroy(f.p);
}

static void test_pit_readback(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	out8(i8254_io, f.p, CTRL, 0x34);                      /* ch 0 mode 2 */
	out8(i8254_io, f.p, CTRL, 0xb7);                      /* ch 2 mode 3 BCD */
	assert_int_equal(status_of(&f, CH0), 0x80 | 0x40 | 0x34);
	assert_int_equal(status_of(&f, CH2), 0x80 | 0x40 | 0x37);

	pit_program(&f, CH0, 0x34, 1000);
	at_tick(&f, 10);
	/* Status and count of channels 0 and 2 in one command: status
	 * first, then the count, each channel on its own. */
	out8(i8254_io, f.p, CTRL, 0xc0 | 0x02 | 0x08);
	at_tick(&f, 20);
	assert_int_equal(in8(i8254_io, f.p, CH0), 0x80 | 0x34);   /* null clear */
	assert_int_equal(read_word(&f, CH0), 990);
	assert_int_equal(read_word(&f, CH0), 980);            /* live again */
	assert_int_equal(in8(i8254_io, f.p, CH2), 0x80 | 0x40 | 0x37);

	/* Count only (bit 5 clear, bit 4 set). */
	out8(i8254_io, f.p, CTRL, 0xd0 | 0x02);
	at_tick(&f, 30);
	assert_int_equal(read_word(&f, CH0), 980);
	/* A second status latch before reading is ignored. */
	at_tick(&f, 998);
	out8(i8254_io, f.p, CTRL, 0xe2);
	at_tick(&f, 999);
	out8(i8254_io, f.p, CTRL, 0xe2);
	assert_int_equal(in8(i8254_io, f.p, CH0), 0x80 | 0x34);
	assert_int_equal(status_of(&f, CH0), 0x34);           /* OUT low now */
	/* No channel selected: nothing latched. */
	out8(i8254_io, f.p, CTRL, 0xc0);
	at_tick(&f, 1005);
	assert_int_equal(read_word(&f, CH0), 995);
	i8254_destroy(f.p);
}

static void test_pit_bcd(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x31, 0x1000);                   /* 1000, BCD */
	at_tick(&f, 1);
	assert_int_equal(latch_word(&f, CH0), 0x0999);
	at_tick(&f, 1000);
	assert_int_equal(latch_word(&f, CH0), 0x0000);
	assert_true(out_of(&f, CH0));
	at_tick(&f, 1001);
	assert_int_equal(latch_word(&f, CH0), 0x9999);        /* wraps in BCD */

	/* 0 is 10000 in BCD. */
	pit_program(&f, CH0, 0x35, 0);
	at_tick(&f, 1);
	assert_int_equal(latch_word(&f, CH0), 0x9999);
	at_tick(&f, 10000 + 1234);
	assert_int_equal(latch_word(&f, CH0), 0x8766);
	assert_int_equal(status_of(&f, CH0) & 0x01, 1);

	/* Digits above 9 read as 9. */
	pit_program(&f, CH0, 0x35, 0xffff);
	at_tick(&f, 9);
	assert_int_equal(latch_word(&f, CH0), 0x9990);
	i8254_destroy(f.p);
}

/* ---- channel 2 and port 0x61 ---- */

static void test_pit_guest_udelay(void **state)
{
	struct pit_fixture f;
	uint16_t count = (uint16_t)(50000ull * I8254_HZ / 1000000);   /* 50 ms */

	(void)state;
	pit_new(&f);
	out8(i8254_port61_io, f.p, 0, 0x02);                  /* speaker on */
	for (int round = 0; round < 3; round++) {
		start_ch2_oneshot(&f, count);
		assert_int_equal(p61(&f) & 0x23, 0x01);       /* gate, no OUT2 */
		at_tick(&f, count / 2);
		assert_int_equal(p61(&f) & 0x20, 0);
		at_tick(&f, count - 1u);
		assert_int_equal(p61(&f) & 0x20, 0);
		at_tick(&f, count);
		assert_int_equal(p61(&f) & 0x20, 0x20);
		f.clk.ns += 12345;
	}
	/* Linux's 10 ms calibration latch, and a chunk of 1 tick. */
	start_ch2_oneshot(&f, 11931);
	at_tick(&f, 11930);
	assert_int_equal(p61(&f) & 0x20, 0);
	at_tick(&f, 11931);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	start_ch2_oneshot(&f, 1);
	assert_int_equal(p61(&f) & 0x20, 0);
	at_tick(&f, 1);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	i8254_destroy(f.p);
}

/* quick_pit_calibrate: 0xffff in mode 0, the MSB read (LSB then MSB, no
 * latch) falls by one every 256 ticks. */
static void test_pit_quick_calibrate(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	start_ch2_oneshot(&f, 0xffff);
	for (unsigned int i = 0; i < 200; i++) {
		at_tick(&f, 256u * i + 3);
		(void)in8(i8254_io, f.p, CH2);
		assert_int_equal(in8(i8254_io, f.p, CH2), 0xff - i);
	}
	i8254_destroy(f.p);
}

static void test_pit_gate2(void **state)
{
	struct pit_fixture f;

	(void)state;
	pit_new(&f);
	/* Loaded with the gate low: mode 0 waits. */
	out8(i8254_io, f.p, CTRL, 0xb0);
	out8(i8254_io, f.p, CH2, 0xe8);
	out8(i8254_io, f.p, CH2, 0x03);                       /* 1000 */
	f.clk.ns += 5000000;
	assert_int_equal(latch_word(&f, CH2), 1000);
	out8(i8254_port61_io, f.p, 0, 0x01);
	f.t0 = f.clk.ns;
	at_tick(&f, 300);
	assert_int_equal(latch_word(&f, CH2), 700);
	/* Gate low pauses; high resumes where it stopped. */
	out8(i8254_port61_io, f.p, 0, 0x00);
	at_tick(&f, 5000);
	assert_int_equal(latch_word(&f, CH2), 700);
	assert_int_equal(p61(&f) & 0x21, 0);
	out8(i8254_port61_io, f.p, 0, 0x01);
	f.t0 = f.clk.ns;
	at_tick(&f, 699);
	assert_int_equal(p61(&f) & 0x20, 0);
	at_tick(&f, 700);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	/* Writing the same gate again is no edge. */
	out8(i8254_port61_io, f.p, 0, 0x01);
	assert_int_equal(p61(&f) & 0x20, 0x20);

	/* Mode 2: gate low holds OUT high; rising reloads the count. */
	pit_program(&f, CH2, 0xb4, 100);
	at_tick(&f, 99);
	assert_int_equal(p61(&f) & 0x20, 0);
	out8(i8254_port61_io, f.p, 0, 0x00);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	at_tick(&f, 150);
	assert_int_equal(latch_word(&f, CH2), 1);
	out8(i8254_port61_io, f.p, 0, 0x01);
	f.t0 = f.clk.ns;
	at_tick(&f, 10);
	assert_int_equal(latch_word(&f, CH2), 90);

	/* Mode 1: waits for a rising edge, then low for the count. */
	out8(i8254_port61_io, f.p, 0, 0x00);
	pit_program(&f, CH2, 0xb2, 50);
	at_tick(&f, 100);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	out8(i8254_port61_io, f.p, 0, 0x01);
	f.t0 = f.clk.ns;
	assert_int_equal(p61(&f) & 0x20, 0);
	at_tick(&f, 20);
	assert_int_equal(latch_word(&f, CH2), 30);
	out8(i8254_port61_io, f.p, 0, 0x00);                  /* runs on */
	at_tick(&f, 50);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	out8(i8254_port61_io, f.p, 0, 0x01);                  /* retrigger */
	f.t0 = f.clk.ns;
	assert_int_equal(p61(&f) & 0x20, 0);
	at_tick(&f, 50);
	assert_int_equal(p61(&f) & 0x20, 0x20);

	/* Mode 5: a one-tick low pulse after the trigger. */
	pit_program(&f, CH2, 0xba, 10);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	out8(i8254_port61_io, f.p, 0, 0x00);
	out8(i8254_port61_io, f.p, 0, 0x01);
	f.t0 = f.clk.ns;
	at_tick(&f, 10);
	assert_int_equal(p61(&f) & 0x20, 0);
	at_tick(&f, 11);
	assert_int_equal(p61(&f) & 0x20, 0x20);
	i8254_destroy(f.p);
}

static void test_pit_port61_bits(void **state)
{
	struct pit_fixture f;
	bool seen[2] = { false, false };

	(void)state;
	pit_new(&f);
	out8(i8254_port61_io, f.p, 0, 0xff);
	assert_int_equal(p61(&f) & ~0x30, 0x03);
	out8(i8254_port61_io, f.p, 0, 0x02);
	assert_int_equal(p61(&f) & ~0x30, 0x02);
	/* The refresh toggle flips with time. */
	for (int i = 0; i < 8; i++) {
		f.clk.ns += 15085;
		seen[(p61(&f) >> 4) & 1] = true;
	}
	assert_true(seen[0] && seen[1]);
	i8254_destroy(f.p);
}

/* ---- hostile guests ---- */

static void test_pit_hostile(void **state)
{
	struct pit_fixture f;
	uint8_t buf[8];

	(void)state;
	pit_new(&f);
	pit_program(&f, CH0, 0x34, 1000);
	/* Out of range: reads 0xff, writes do nothing. */
	for (uint64_t off = 4; off < 64; off++) {
		assert_int_equal(in8(i8254_io, f.p, off), 0xff);
		out8(i8254_io, f.p, off, 0x30);
	}
	assert_int_equal(in8(i8254_io, f.p, UINT64_MAX), 0xff);
	memset(buf, 0, sizeof(buf));
	i8254_io(f.p, UINT64_MAX - 1, buf, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0xff);
	memset(buf, 0, sizeof(buf));
	i8254_port61_io(f.p, 0, buf, 8, false);
	for (int i = 1; i < 8; i++)
		assert_int_equal(buf[i], 0xff);
	i8254_port61_io(f.p, 5, buf, 1, false);
	assert_int_equal(buf[0], 0xff);
	memset(buf, 0xff, sizeof(buf));
	i8254_port61_io(f.p, 1, buf, 8, true);                /* no gate edge */
	assert_int_equal(p61(&f) & 0x01, 0);
	at_tick(&f, 10);
	assert_int_equal(latch_word(&f, CH0), 990);           /* untouched */

	/* Every control word and a bad count in each, every width. */
	for (unsigned int cw = 0; cw < 256; cw++) {
		for (uint32_t len = 1; len <= 8; len++) {
			memset(buf, (int)cw, sizeof(buf));
			i8254_io(f.p, CTRL, buf, 1, true);
			i8254_io(f.p, cw & 3, buf, len, true);
			f.clk.ns += 777 * len;
			i8254_io(f.p, cw & 3, buf, len, false);
			i8254_timer_expired(f.p);
			i8254_port61_io(f.p, 0, buf, len, cw & 1);
		}
	}
	/* The clock going backwards counts nothing, breaks nothing. */
	pit_program(&f, CH0, 0x34, 100);
	f.clk.ns -= 1000000;
	assert_int_equal(latch_word(&f, CH0), 100);
	i8254_timer_expired(f.p);
	fuzz_device(i8254_io, f.p, 8, 1234, 20000);
	fuzz_device(i8254_port61_io, f.p, 2, 5678, 2000);
	for (int i = 0; i < 100; i++) {
		f.clk.ns += 100000;
		i8254_timer_expired(f.p);
	}
	assert_int_equal(f.irq.bad, 0);
	i8254_destroy(f.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pit_power_on),
		cmocka_unit_test(test_pit_mode0),
		cmocka_unit_test(test_pit_mode2),
		cmocka_unit_test(test_pit_mode3),
		cmocka_unit_test(test_pit_mode4),
		cmocka_unit_test(test_pit_latch_holds),
		cmocka_unit_test(test_pit_readback),
		cmocka_unit_test(test_pit_bcd),
		cmocka_unit_test(test_pit_guest_udelay),
		cmocka_unit_test(test_pit_quick_calibrate),
		cmocka_unit_test(test_pit_gate2),
		cmocka_unit_test(test_pit_port61_bits),
		cmocka_unit_test(test_pit_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
