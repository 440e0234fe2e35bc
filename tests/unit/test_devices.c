/* Unit tests for the small platform devices: i8042, RTC, ACPI PM block and
 * the PCI configuration mechanism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "arch/x86/layout.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/rtc.h"

/* ---- helpers ---- */

struct power_log {
	int off;
	int reset;
	struct acpi_pm *reenter;   /* touched from inside the callback */
};

static void power_cb(void *opaque, enum power_event ev)
{
	struct power_log *p = opaque;

	if (ev == POWER_OFF)
		p->off++;
	else if (ev == POWER_RESET)
		p->reset++;
	if (p->reenter) {
		uint8_t d[2];

		/* Would deadlock if called with the device lock held. */
		acpi_pm_io(p->reenter, 4, d, 2, false);
	}
}

typedef void (*io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		      bool is_write);

static void out8(io_fn fn, void *dev, uint64_t off, uint8_t v)
{
	fn(dev, off, &v, 1, true);
}

static uint8_t in8(io_fn fn, void *dev, uint64_t off)
{
	uint8_t v = 0;

	fn(dev, off, &v, 1, false);
	return v;
}

static void outn(io_fn fn, void *dev, uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fn(dev, off, d, len, true);
}

static uint32_t inn(io_fn fn, void *dev, uint64_t off, uint32_t len)
{
	uint8_t d[4] = { 0 };

	fn(dev, off, d, len, false);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
	       (uint32_t)d[3] << 24;
}

/* Hammer a device with random accesses of every width at offsets in and
 * around its range. */
static void fuzz_device(io_fn fn, void *dev, uint64_t span, unsigned int seed, int n)
{
	uint8_t d[8];

	srand(seed);
	for (int i = 0; i < n; i++) {
		uint64_t off = (uint64_t)rand() % span;
		uint32_t len = (uint32_t)(rand() % 8) + 1;

		if (off + len > span)
			len = (uint32_t)(span - off);
		for (size_t k = 0; k < sizeof(d); k++)
			d[k] = (uint8_t)rand();
		fn(dev, off, d, len, rand() & 1);
	}
}

/* ---- i8042 ---- */

#define KBD_DATA 0
#define KBD_CMD 4

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

/* ---- ACPI PM ---- */

#define PM_STS 0
#define PM_EN 2
#define PM_CNT 4
#define PM_RESET (PORT_ACPI_RESET - PORT_ACPI_PM)
#define SLP_TYP(t) ((uint32_t)(t) << 10)
#define SLP_EN 0x2000

static void test_acpi_pm_registers(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	assert_non_null(pm);
	/* SCI_EN reads 1 however it is read. */
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2), 1);
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 1), 1);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN, 4) >> 16, 1);
	outn(acpi_pm_io, pm, PM_CNT, 0, 2);
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2), 1);

	/* Status is write-1-to-clear and nothing sets it. */
	outn(acpi_pm_io, pm, PM_STS, 0xffff, 2);
	assert_int_equal(inn(acpi_pm_io, pm, PM_STS, 2), 0);

	/* Enable: defined bits only, byte lanes independent. */
	outn(acpi_pm_io, pm, PM_EN, 0xffff, 2);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN, 2), 0x4721);
	outn(acpi_pm_io, pm, PM_EN + 1, 0x00, 1);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN, 2), 0x0021);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN + 1, 1), 0x00);

	/* Reserved bytes read 0; the reset register too. */
	for (uint64_t off = 6; off < PORT_ACPI_PM_LEN; off++)
		assert_int_equal(in8(acpi_pm_io, pm, off), 0);
	for (uint32_t len = 1; len <= 4; len++)
		for (uint64_t off = 0; off + len <= PORT_ACPI_PM_LEN; off++)
			(void)inn(acpi_pm_io, pm, off, len);
	assert_int_equal(log.off + log.reset, 0);
	acpi_pm_destroy(pm);
}

static void test_acpi_pm_sleep(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	log.reenter = pm;
	/* ACPICA: SLP_TYP first, then SLP_TYP | SLP_EN. */
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(ACPI_S5_SLP_TYP), 2);
	assert_int_equal(log.off, 0);
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2), SLP_TYP(ACPI_S5_SLP_TYP) | 1);
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN, 2);
	assert_int_equal(log.off, 1);
	/* SLP_EN is write-only. */
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2) & SLP_EN, 0);

	/* Other sleep types do nothing. */
	for (uint32_t t = 0; t < 8; t++) {
		if (t == ACPI_S5_SLP_TYP)
			continue;
		outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(t) | SLP_EN, 2);
	}
	assert_int_equal(log.off, 1);
	/* A byte write to the upper half carries both fields. */
	out8(acpi_pm_io, pm, PM_CNT + 1, (uint8_t)((SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN) >> 8));
	assert_int_equal(log.off, 2);
	/* A byte write to the lower half cannot sleep. */
	out8(acpi_pm_io, pm, PM_CNT, 0xff);
	assert_int_equal(log.off, 2);
	/* A dword write at PM1a_EN reaches PM1a_CNT in its upper half. */
	outn(acpi_pm_io, pm, PM_EN, (SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN) << 16, 4);
	assert_int_equal(log.off, 3);
	/* SLP_EN with a stale S5 SLP_TYP but a new one in the same write. */
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(ACPI_S5_SLP_TYP), 2);
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(1) | SLP_EN, 2);
	assert_int_equal(log.off, 3);
	assert_int_equal(log.reset, 0);
	acpi_pm_destroy(pm);
}

static void test_acpi_pm_reset(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	log.reenter = pm;
	out8(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE - 1);
	out8(acpi_pm_io, pm, PM_RESET, 0xff);
	assert_int_equal(log.reset, 0);
	out8(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE);
	assert_int_equal(log.reset, 1);
	outn(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE, 2);
	assert_int_equal(log.reset, 2);
	outn(acpi_pm_io, pm, PM_RESET - 2, (uint32_t)ACPI_RESET_VALUE << 16, 4);
	assert_int_equal(log.reset, 3);
	out8(acpi_pm_io, pm, PM_RESET + 1, ACPI_RESET_VALUE);
	assert_int_equal(log.reset, 3);
	assert_int_equal(log.off, 0);

	fuzz_device(acpi_pm_io, pm, PORT_ACPI_PM_LEN, 3, 200000);
	acpi_pm_destroy(pm);
	/* A NULL power_ctl is allowed: requests go nowhere. */
	pm = acpi_pm_create(NULL);
	out8(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE);
	acpi_pm_destroy(pm);
}

/* ---- PCI ---- */

#define CF8 0
#define CFC 4

static uint32_t cfg_addr(unsigned int bus, unsigned int dev, unsigned int fn,
			 unsigned int reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t pci_rd(struct pci_bus *p, uint32_t addr, unsigned int byte, uint32_t len)
{
	outn(pci_config_io, p, CF8, addr, 4);
	return inn(pci_config_io, p, CFC + byte, len);
}

static void pci_wr(struct pci_bus *p, uint32_t addr, unsigned int byte, uint32_t v,
		   uint32_t len)
{
	outn(pci_config_io, p, CF8, addr, 4);
	outn(pci_config_io, p, CFC + byte, v, len);
}

static void test_pci_address_register(void **state)
{
	struct pci_bus *p = pci_bus_create();
	uint32_t tmp;

	(void)state;
	assert_non_null(p);
	/* Linux's pci_check_type1(). */
	out8(pci_config_io, p, CF8 + 3, 0x01);
	tmp = inn(pci_config_io, p, CF8, 4);
	outn(pci_config_io, p, CF8, 0x80000000u, 4);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80000000u);
	outn(pci_config_io, p, CF8, tmp, 4);
	/* Reserved and low bits are not latched. */
	outn(pci_config_io, p, CF8, 0xffffffffu, 4);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80fffffcu);

	/* Narrow accesses to 0xcf8..0xcfb read all-ones and change nothing;
	 * this is also Linux's pci_check_type2() failing as it should. */
	outn(pci_config_io, p, CF8, 0x80000000u, 4);
	out8(pci_config_io, p, CF8 + 3, 0x00);
	out8(pci_config_io, p, CF8, 0x00);
	out8(pci_config_io, p, CF8 + 2, 0x00);
	assert_int_equal(in8(pci_config_io, p, CF8), 0xff);
	assert_int_equal(in8(pci_config_io, p, CF8 + 2), 0xff);
	assert_int_equal(inn(pci_config_io, p, CF8 + 1, 2), 0xffff);
	outn(pci_config_io, p, CF8, 0x1234, 2);
	outn(pci_config_io, p, CF8 + 2, 0x5678, 2);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80000000u);
	/* Accesses spanning both registers, or 8 wide, are not answered. */
	assert_int_equal(inn(pci_config_io, p, CF8 + 2, 4), 0xffffffffu);
	outn(pci_config_io, p, CF8 + 2, 0, 4);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80000000u);
	uint8_t d8[8];

	memset(d8, 0, sizeof(d8));
	pci_config_io(p, 0, d8, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(d8[i], 0xff);
	pci_bus_destroy(p);
}

static void test_pci_host_bridge(void **state)
{
	struct pci_bus *p = pci_bus_create();
	uint32_t hb = cfg_addr(0, 0, 0, 0);

	(void)state;
	assert_int_equal(pci_rd(p, hb, 0, 4), 0x29c08086u);
	assert_int_equal(pci_rd(p, hb | 0x08, 0, 4) >> 8, 0x060000);
	assert_int_equal(pci_rd(p, hb | 0x0c, 2, 1), 0x00);   /* header type 0 */
	/* Byte and word accesses reach the right bytes of the dword. */
	assert_int_equal(pci_rd(p, hb, 0, 1), 0x86);
	assert_int_equal(pci_rd(p, hb, 1, 1), 0x80);
	assert_int_equal(pci_rd(p, hb, 2, 2), 0x29c0);
	assert_int_equal(pci_rd(p, hb, 3, 1), 0x29);
	assert_int_equal(pci_rd(p, hb | 0x08, 3, 1), 0x06);
	assert_int_equal(pci_rd(p, hb | 0x08, 2, 1), 0x00);

	/* Read-only bits survive writes. */
	pci_wr(p, hb, 0, 0xffffffffu, 4);
	pci_wr(p, hb | 0x08, 0, 0xffffffffu, 4);
	pci_wr(p, hb | 0x10, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, hb, 0, 4), 0x29c08086u);
	assert_int_equal(pci_rd(p, hb | 0x08, 0, 4), 0x06000000u);
	assert_int_equal(pci_rd(p, hb | 0x10, 0, 4), 0);      /* no BARs */
	/* Command: writable bits only; status read-only. */
	pci_wr(p, hb | 0x04, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, hb | 0x04, 0, 4), 0x00000547u);
	pci_wr(p, hb | 0x04, 0, 0x0006, 2);
	assert_int_equal(pci_rd(p, hb | 0x04, 0, 2), 0x0006);
	pci_wr(p, hb | 0x3c, 0, 0x0b, 1);
	assert_int_equal(pci_rd(p, hb | 0x3c, 0, 4), 0x0000000bu);

	/* Enable bit clear: no configuration cycle. */
	assert_int_equal(pci_rd(p, hb & ~0x80000000u, 0, 4), 0xffffffffu);
	pci_bus_destroy(p);
}

static void test_pci_absent(void **state)
{
	struct pci_bus *p = pci_bus_create();

	(void)state;
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			if (dev == 0 && fn == 0)
				continue;
			for (unsigned int reg = 0; reg < 256; reg += 4) {
				uint32_t a = cfg_addr(0, dev, fn, reg);

				assert_int_equal(pci_rd(p, a, 0, 4), 0xffffffffu);
				assert_int_equal(pci_rd(p, a, 1, 1), 0xff);
				assert_int_equal(pci_rd(p, a, 2, 2), 0xffff);
				pci_wr(p, a, 0, 0, 4);
			}
		}
	}
	/* Other buses. */
	assert_int_equal(pci_rd(p, cfg_addr(1, 0, 0, 0), 0, 4), 0xffffffffu);
	assert_int_equal(pci_rd(p, cfg_addr(255, 0, 0, 0), 0, 4), 0xffffffffu);
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 0), 0, 4), 0x29c08086u);
	pci_bus_destroy(p);
}

struct dummy {
	struct pci_device dev;
	int writes;
	uint32_t last_off, last_len;
};

static void dummy_cfg_write(struct pci_device *dev, uint32_t offset, uint32_t len)
{
	struct dummy *d = dev->opaque;

	d->writes++;
	d->last_off = offset;
	d->last_len = len;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A device with a 4 KiB 32-bit memory BAR0, a 64-bit prefetchable 16 KiB
 * BAR2/3 and a 32-port I/O BAR4, set up the way pci.c documents. */
static void dummy_init(struct dummy *d)
{
	memset(d, 0, sizeof(*d));
	put32(&d->dev.cfg[0x00], 0x10001af4u);
	put32(&d->dev.cfg[0x08], 0x00ff0000u);
	put32(&d->dev.cfg[0x10], 0x0);
	put32(&d->dev.wmask[0x10], ~(uint32_t)(4096 - 1));
	put32(&d->dev.cfg[0x18], 0x0c);
	put32(&d->dev.wmask[0x18], ~(uint32_t)(16384 - 1));
	put32(&d->dev.wmask[0x1c], 0xffffffffu);
	put32(&d->dev.cfg[0x20], 0x1);
	put32(&d->dev.wmask[0x20], 0x0000ffe0u);
	d->dev.wmask[0x04] = 0x07;
	d->dev.cfg_write = dummy_cfg_write;
	d->dev.opaque = d;
}

static void test_pci_bar_sizing(void **state)
{
	struct pci_bus *p = pci_bus_create();
	struct dummy d;
	uint32_t a;

	(void)state;
	dummy_init(&d);
	assert_int_equal(pci_bus_add(p, &d.dev, 3), 3);
	a = cfg_addr(0, 3, 0, 0);
	assert_int_equal(pci_rd(p, a, 0, 4), 0x10001af4u);

	/* Sizing: write all-ones, read back ~(size - 1) | flags. */
	pci_wr(p, a | 0x10, 0, 0xffffffffu, 4);
	assert_int_equal(d.writes, 1);
	assert_int_equal(d.last_off, 0x10);
	assert_int_equal(d.last_len, 4);
	assert_int_equal(pci_rd(p, a | 0x10, 0, 4), 0xfffff000u);
	pci_wr(p, a | 0x10, 0, 0xfebf1234u, 4);
	assert_int_equal(pci_rd(p, a | 0x10, 0, 4), 0xfebf1000u & 0xfffff000u);
	/* Byte-wise programming lands in the right bytes. */
	pci_wr(p, a | 0x10, 3, 0xc0, 1);
	assert_int_equal(d.last_off, 0x13);
	assert_int_equal(d.last_len, 1);
	assert_int_equal(pci_rd(p, a | 0x10, 0, 4), 0xc0bf1000u);
	pci_wr(p, a | 0x10, 0, 0xff, 1);                     /* flag bits RO */
	assert_int_equal(pci_rd(p, a | 0x10, 0, 1), 0x00);

	/* 64-bit BAR: low dword keeps its flags, high dword all writable. */
	pci_wr(p, a | 0x18, 0, 0xffffffffu, 4);
	pci_wr(p, a | 0x1c, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, a | 0x18, 0, 4), 0xffffc00cu);
	assert_int_equal(pci_rd(p, a | 0x1c, 0, 4), 0xffffffffu);
	/* I/O BAR. */
	pci_wr(p, a | 0x20, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, a | 0x20, 0, 4), 0x0000ffe1u);
	/* Unwritable BAR5 and ROM read 0 after all-ones. */
	pci_wr(p, a | 0x24, 0, 0xffffffffu, 4);
	pci_wr(p, a | 0x30, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, a | 0x24, 0, 4), 0);
	assert_int_equal(pci_rd(p, a | 0x30, 0, 4), 0);
	/* IDs and class are read-only. */
	pci_wr(p, a, 0, 0, 4);
	pci_wr(p, a | 0x08, 0, 0, 4);
	assert_int_equal(pci_rd(p, a, 0, 4), 0x10001af4u);
	assert_int_equal(pci_rd(p, a | 0x08, 0, 4), 0x00ff0000u);
	/* Its other functions stay absent. */
	assert_int_equal(pci_rd(p, cfg_addr(0, 3, 1, 0), 0, 4), 0xffffffffu);
	pci_bus_destroy(p);
}

static void test_pci_bus_add(void **state)
{
	struct pci_bus *p = pci_bus_create();
	struct dummy *d = calloc(PCI_MAX_SLOTS + 1, sizeof(*d));

	(void)state;
	assert_non_null(d);
	for (int i = 0; i <= PCI_MAX_SLOTS; i++)
		dummy_init(&d[i]);
	assert_int_equal(pci_bus_add(p, NULL, 1), -1);
	assert_int_equal(pci_bus_add(p, &d[0].dev, 0), -1);     /* host bridge */
	assert_int_equal(pci_bus_add(p, &d[0].dev, 32), -1);
	assert_int_equal(pci_bus_add(p, &d[0].dev, 1000), -1);
	assert_int_equal(pci_bus_add(p, &d[0].dev, 5), 5);
	assert_int_equal(pci_bus_add(p, &d[1].dev, 5), -1);     /* taken */
	assert_int_equal(pci_bus_add(p, &d[1].dev, -1), 1);
	for (int i = 2; i < PCI_MAX_SLOTS - 1; i++)
		assert_true(pci_bus_add(p, &d[i].dev, -1) > 1);
	assert_int_equal(pci_bus_add(p, &d[PCI_MAX_SLOTS].dev, -1), -1);  /* full */
	for (unsigned int s = 1; s < PCI_MAX_SLOTS; s++)
		assert_int_equal(pci_rd(p, cfg_addr(0, s, 0, 0), 0, 4), 0x10001af4u);
	pci_bus_destroy(p);
	free(d);
}

static void test_pci_fuzz(void **state)
{
	struct pci_bus *p = pci_bus_create();
	struct dummy d;
	uint8_t buf[8];

	(void)state;
	dummy_init(&d);
	assert_int_equal(pci_bus_add(p, &d.dev, 1), 1);
	srand(31337);
	for (int i = 0; i < 300000; i++) {
		uint64_t off = (uint64_t)(rand() % 8);
		uint32_t len = (uint32_t)(rand() % 4) + 1;

		if (off + len > 8)
			len = (uint32_t)(8 - off);
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)rand();
		/* Bias CONFIG_ADDRESS towards bus 0, slots 0 and 1. */
		if ((i & 3) == 0) {
			uint32_t a = (uint32_t)rand() | 0x80000000u;

			if (rand() & 1)
				a &= 0x80000ffcu;
			outn(pci_config_io, p, CF8, a, 4);
			continue;
		}
		pci_config_io(p, off, buf, len, rand() & 1);
	}
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 0), 0, 4), 0x29c08086u);
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 8), 0, 4), 0x06000000u);
	assert_int_equal(pci_rd(p, cfg_addr(0, 1, 0, 0), 0, 4), 0x10001af4u);
	assert_int_equal(pci_rd(p, cfg_addr(0, 1, 0, 0x10), 0, 4) & 0xfff, 0);
	pci_bus_destroy(p);
}

/* Handlers called directly with offsets no bus would pass, including ones
 * where offset + len wraps: reads are all-ones, writes do nothing. */
static void test_hostile_offsets(void **state)
{
	static const uint64_t offs[] = {
		UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 6, 1ull << 63, 0x100, 0x10000,
	};
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct i8042 *k = i8042_create(&pc);
	struct rtc *r = rtc_create();
	struct acpi_pm *pm = acpi_pm_create(&pc);
	struct pci_bus *p = pci_bus_create();
	io_fn fns[4] = { i8042_io, rtc_io, acpi_pm_io, pci_config_io };
	void *devs[4] = { k, r, pm, p };
	uint8_t d[8];

	(void)state;
	for (int n = 0; n < 4; n++) {
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			for (uint32_t len = 1; len <= 8; len++) {
				memset(d, 0, sizeof(d));
				fns[n](devs[n], offs[o], d, len, false);
				for (uint32_t i = 0; i < len; i++)
					assert_int_equal(d[i], 0xff);
				/* 0xfe / 0x0f / S5|SLP_EN everywhere */
				memset(d, n == 2 ? 0x34 : 0xfe, sizeof(d));
				fns[n](devs[n], offs[o], d, len, true);
				memset(d, 0x0f, sizeof(d));
				fns[n](devs[n], offs[o], d, len, true);
			}
		}
	}
	assert_int_equal(log.off + log.reset, 0);
	out8(i8042_io, k, KBD_CMD, 0xaa);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x55);
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 0), 0, 4), 0x29c08086u);
	i8042_destroy(k);
	rtc_destroy(r);
	acpi_pm_destroy(pm);
	pci_bus_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_idle_and_selftest),
		cmocka_unit_test(test_i8042_command_byte),
		cmocka_unit_test(test_i8042_no_aux),
		cmocka_unit_test(test_i8042_reset),
		cmocka_unit_test(test_i8042_widths_and_fuzz),
		cmocka_unit_test(test_rtc_host_time),
		cmocka_unit_test(test_rtc_status_registers),
		cmocka_unit_test(test_rtc_12_hour),
		cmocka_unit_test(test_rtc_set_time),
		cmocka_unit_test(test_rtc_fuzz),
		cmocka_unit_test(test_acpi_pm_registers),
		cmocka_unit_test(test_acpi_pm_sleep),
		cmocka_unit_test(test_acpi_pm_reset),
		cmocka_unit_test(test_pci_address_register),
		cmocka_unit_test(test_pci_host_bridge),
		cmocka_unit_test(test_pci_absent),
		cmocka_unit_test(test_pci_bar_sizing),
		cmocka_unit_test(test_pci_bus_add),
		cmocka_unit_test(test_pci_fuzz),
		cmocka_unit_test(test_hostile_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
