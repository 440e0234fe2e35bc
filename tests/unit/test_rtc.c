/* MC146818 RTC: host time, status registers, 12-hour and BCD modes, setting the time. */
#include "device_io.h"

/* ---- RTC ---- */

static uint8_t cmos_read(struct rtc *r, uint8_t idx)
{
	out8(rtc_io, r, 0, idx);
	return in8(rtc_io, r, 1);
}

static void cmos_write(struct rtc *r, uint8_t idx, uint8_t v)
{
	out8(rtc_io, r, 0, idx);
	out8(rtc_io, r, 1, v);
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static bool valid_bcd(uint8_t v)
{
	return (v >> 4) <= 9 && (v & 0xf) <= 9;
}

struct rtc_time {
	int sec, min, hour, wday, mday, mon, year, century;
};

/* All clock fields, re-read until the seconds did not change meanwhile. */
static void rtc_read_time(struct rtc *r, struct rtc_time *t, bool binary)
{
	uint8_t raw[8], s2;
	static const uint8_t regs[8] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };

	do {
		for (int i = 0; i < 8; i++)
			raw[i] = cmos_read(r, regs[i]);
		s2 = cmos_read(r, 0);
	} while (s2 != raw[0]);
	if (!binary)
		for (int i = 0; i < 8; i++)
			assert_true(valid_bcd(raw[i]) || (i == 2 && valid_bcd(raw[i] & 0x7f)));
	t->sec = binary ? raw[0] : bcd(raw[0]);
	t->min = binary ? raw[1] : bcd(raw[1]);
	t->hour = raw[2];
	t->wday = binary ? raw[3] : bcd(raw[3]);
	t->mday = binary ? raw[4] : bcd(raw[4]);
	t->mon = binary ? raw[5] : bcd(raw[5]);
	t->year = binary ? raw[6] : bcd(raw[6]);
	t->century = binary ? raw[7] : bcd(raw[7]);
}

static void test_rtc_host_time(void **state)
{
	struct rtc *r = rtc_create();
	struct rtc_time t;
	struct tm tm;
	time_t now;

	(void)state;
	assert_non_null(r);
	do {
		now = time(NULL);
		rtc_read_time(r, &t, false);
	} while (time(NULL) != now);
	gmtime_r(&now, &tm);
	assert_int_equal(t.sec, tm.tm_sec);
	assert_int_equal(t.min, tm.tm_min);
	assert_int_equal(bcd((uint8_t)t.hour), tm.tm_hour);
	assert_int_equal(t.wday, tm.tm_wday + 1);
	assert_int_equal(t.mday, tm.tm_mday);
	assert_int_equal(t.mon, tm.tm_mon + 1);
	assert_int_equal(t.year, (tm.tm_year + 1900) % 100);
	assert_int_equal(t.century, (tm.tm_year + 1900) / 100);

	/* Binary mode. */
	cmos_write(r, 0x0b, 0x06);
	do {
		now = time(NULL);
		rtc_read_time(r, &t, true);
	} while (time(NULL) != now);
	gmtime_r(&now, &tm);
	assert_int_equal(t.sec, tm.tm_sec);
	assert_int_equal(t.hour, tm.tm_hour);
	assert_int_equal(t.year, (tm.tm_year + 1900) % 100);
	rtc_destroy(r);
}

static void test_rtc_status_registers(void **state)
{
	struct rtc *r = rtc_create();

	(void)state;
	assert_int_equal(cmos_read(r, 0x0a), 0x26);
	assert_int_equal(cmos_read(r, 0x0b), 0x02);
	assert_int_equal(cmos_read(r, 0x0c), 0x00);
	assert_int_equal(cmos_read(r, 0x0d), 0x80);
	cmos_write(r, 0x0a, 0xff);
	assert_int_equal(cmos_read(r, 0x0a), 0x7f);   /* UIP stays 0 */
	cmos_write(r, 0x0c, 0xff);
	cmos_write(r, 0x0d, 0x00);
	assert_int_equal(cmos_read(r, 0x0c), 0x00);
	assert_int_equal(cmos_read(r, 0x0d), 0x80);
	/* The NMI-disable bit is not part of the index. */
	out8(rtc_io, r, 0, 0x8d);
	assert_int_equal(in8(rtc_io, r, 1), 0x80);
	assert_int_equal(in8(rtc_io, r, 0), 0xff);     /* index is write-only */

	/* CMOS RAM, alarms included; clock and status registers excluded. */
	for (int i = 0; i < 128; i++) {
		if (i <= 0x0d && !(i == 1 || i == 3 || i == 5))
			continue;
		if (i == 0x32)
			continue;
		cmos_write(r, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	}
	for (int i = 0; i < 128; i++) {
		if (i <= 0x0d && !(i == 1 || i == 3 || i == 5))
			continue;
		if (i == 0x32)
			continue;
		assert_int_equal(cmos_read(r, (uint8_t)i), i ^ 0x5a);
	}
	rtc_set_cmos(r, 0x34, 0x12);
	rtc_set_cmos(r, 0xb5, 0x34);                  /* index masked to 0x35 */
	assert_int_equal(cmos_read(r, 0x34), 0x12);
	assert_int_equal(cmos_read(r, 0x35), 0x34);
	/* A 16-bit write at the index port: index, then data. */
	outn(rtc_io, r, 0, 0xab40, 2);
	assert_int_equal(cmos_read(r, 0x40), 0xab);
	rtc_destroy(r);
}

static void test_rtc_12_hour(void **state)
{
	struct rtc *r = rtc_create();

	(void)state;
	/* Set 23:30 (BCD, 24h), then read in 12h modes. */
	cmos_write(r, 0x0b, 0x82);
	cmos_write(r, 0x04, 0x23);
	cmos_write(r, 0x02, 0x30);
	cmos_write(r, 0x0b, 0x02);
	assert_int_equal(cmos_read(r, 0x04), 0x23);
	cmos_write(r, 0x0b, 0x00);                    /* BCD, 12h */
	assert_int_equal(cmos_read(r, 0x04), 0x91);   /* 11 PM */
	cmos_write(r, 0x0b, 0x04);                    /* binary, 12h */
	assert_int_equal(cmos_read(r, 0x04), 0x8b);
	/* Midnight and noon written in 12-hour mode.  As on the chip, values
	 * are loaded in the mode of the write that clears SET. */
	cmos_write(r, 0x0b, 0x80);
	cmos_write(r, 0x04, 0x12);                    /* 12 AM = 00 */
	cmos_write(r, 0x0b, 0x00);
	cmos_write(r, 0x0b, 0x02);
	assert_int_equal(cmos_read(r, 0x04), 0x00);
	cmos_write(r, 0x0b, 0x80);
	cmos_write(r, 0x04, 0x92);                    /* 12 PM = 12 */
	cmos_write(r, 0x0b, 0x00);
	cmos_write(r, 0x0b, 0x02);
	assert_int_equal(cmos_read(r, 0x04), 0x12);
	/* Hour 0 or 13 is not a 12-hour value: dropped. */
	cmos_write(r, 0x0b, 0x00);
	cmos_write(r, 0x04, 0x00);
	cmos_write(r, 0x04, 0x13);
	cmos_write(r, 0x0b, 0x02);
	assert_int_equal(cmos_read(r, 0x04), 0x12);
	rtc_destroy(r);
}

static void test_rtc_set_time(void **state)
{
	struct rtc *r = rtc_create();
	struct rtc_time t;

	(void)state;
	cmos_write(r, 0x0b, 0x82 | 0x10);             /* SET (UIE gets cleared) */
	assert_int_equal(cmos_read(r, 0x0b), 0x82);
	cmos_write(r, 0x00, 0x06);
	cmos_write(r, 0x02, 0x05);
	cmos_write(r, 0x04, 0x04);
	cmos_write(r, 0x07, 0x03);
	cmos_write(r, 0x08, 0x02);
	cmos_write(r, 0x09, 0x01);
	cmos_write(r, 0x32, 0x20);
	/* While SET, reads show what was written. */
	assert_int_equal(cmos_read(r, 0x00), 0x06);
	assert_int_equal(cmos_read(r, 0x09), 0x01);
	cmos_write(r, 0x0b, 0x02);
	rtc_read_time(r, &t, false);
	assert_true(t.sec >= 6 && t.sec <= 9);        /* the clock runs on */
	assert_int_equal(t.min, 5);
	assert_int_equal(bcd((uint8_t)t.hour), 4);
	assert_int_equal(t.mday, 3);
	assert_int_equal(t.mon, 2);
	assert_int_equal(t.year, 1);
	assert_int_equal(t.century, 20);
	assert_int_equal(t.wday, 7);                  /* 2001-02-03: Saturday */

	/* One field without SET takes effect at once. */
	cmos_write(r, 0x09, 0x99);
	cmos_write(r, 0x32, 0x19);
	rtc_read_time(r, &t, false);
	assert_int_equal(t.year, 99);
	assert_int_equal(t.century, 19);
	assert_int_equal(t.mon, 2);

	/* Invalid dates are dropped: the clock keeps its time. */
	cmos_write(r, 0x08, 0x13);                    /* month 13 */
	cmos_write(r, 0x08, 0x1a);                    /* not BCD */
	cmos_write(r, 0x0b, 0x82);
	cmos_write(r, 0x07, 0x00);                    /* day 0 */
	cmos_write(r, 0x0b, 0x02);
	rtc_read_time(r, &t, false);
	assert_int_equal(t.year, 99);
	assert_int_equal(t.mon, 2);
	assert_int_equal(t.mday, 3);
	rtc_destroy(r);
}

static void test_rtc_fuzz(void **state)
{
	struct rtc *r = rtc_create();
	struct rtc_time t;

	(void)state;
	fuzz_device(rtc_io, r, 2, 7, 300000);
	/* Whatever the guest did, in BCD mode the clock reads valid BCD. */
	cmos_write(r, 0x0b, 0x02);
	rtc_read_time(r, &t, false);
	assert_true(t.sec <= 59 && t.min <= 59 && t.mon >= 1 && t.mon <= 12);
	assert_true(t.mday >= 1 && t.mday <= 31 && t.wday >= 1 && t.wday <= 7);
	rtc_destroy(r);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtc_host_time),
		cmocka_unit_test(test_rtc_status_registers),
		cmocka_unit_test(test_rtc_12_hour),
		cmocka_unit_test(test_rtc_set_time),
		cmocka_unit_test(test_rtc_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
