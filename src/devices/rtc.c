/* MC146818 RTC and CMOS RAM.
 *
 * The clock is the host's UTC clock plus an offset: the guest sees
 * time(NULL) + delta, and setting the time only changes delta.  So the clock
 * keeps running with the host's, nothing needs a timer, and a guest that
 * sets a nonsense time cannot disturb anything beyond its own view.
 *
 * Setting the time works as on the chip: with register B's SET bit the
 * clock's registers stop showing the running time and hold what the guest
 * writes; clearing SET loads them (here: turns them into a new delta).  A
 * single field written without SET takes effect at once, relative to the
 * current time.  A set of fields that does not form a valid date (bad BCD,
 * month 13, ...) is dropped and the clock keeps its old offset.
 *
 * No interrupts: register C always reads 0 and the interrupt enables in B
 * are stored but never act.  UIP is always 0, which is allowed since reads
 * are consistent anyway (the whole time is computed per read).
 *
 * The register B mode bits (binary/BCD, 12/24 hour) apply when fields are
 * encoded for a read or decoded at load time, which is why a guest may flip
 * modes at any moment and still read a correct time. */
#include "devices/rtc.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define RTC_NREGS 128

#define REG_SEC     0x00
#define REG_MIN     0x02
#define REG_HOUR    0x04
#define REG_WDAY    0x06
#define REG_MDAY    0x07
#define REG_MON     0x08
#define REG_YEAR    0x09
#define REG_A       0x0a
#define REG_B       0x0b
#define REG_C       0x0c
#define REG_D       0x0d
#define REG_CENTURY 0x32   /* the ACPI FADT names it as the century field */

#define A_UIP     0x80
#define B_SET     0x80
#define B_UIE     0x10
#define B_DM_BIN  0x04
#define B_24H     0x02
#define D_VRT     0x80
#define HOUR_PM   0x80

#define A_DEFAULT 0x26     /* 32.768 kHz time base, 1024 Hz rate */
#define B_DEFAULT B_24H    /* BCD, 24-hour, as PC firmware leaves it */

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[RTC_NREGS];   /* time registers here hold SET-mode values */
	int64_t delta;             /* guest time minus host time, seconds */
};

/* The registers that show the running clock.  The alarm registers 1, 3
 * and 5 sit between them but are plain storage here. */
static bool rtc_is_clock_reg(unsigned int reg)
{
	if (reg == REG_CENTURY)
		return true;
	return reg <= REG_YEAR && reg != 1 && reg != 3 && reg != 5;
}

static uint8_t rtc_encode(const struct rtc *r, unsigned int v)
{
	v %= 100;
	if (r->cmos[REG_B] & B_DM_BIN)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* -1 for a byte that is not a valid value in the current mode. */
static int rtc_decode(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_DM_BIN)
		return v;
	if ((v >> 4) > 9 || (v & 0xf) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc_encode_hour(const struct rtc *r, int hour)
{
	int h12;

	if (r->cmos[REG_B] & B_24H)
		return rtc_encode(r, (unsigned int)hour);
	h12 = hour % 12 == 0 ? 12 : hour % 12;
	return (uint8_t)(rtc_encode(r, (unsigned int)h12) |
			 (hour >= 12 ? HOUR_PM : 0));
}

static int rtc_decode_hour(const struct rtc *r, uint8_t v)
{
	int h;

	if (r->cmos[REG_B] & B_24H)
		return rtc_decode(r, v);
	h = rtc_decode(r, v & (uint8_t)~HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + ((v & HOUR_PM) ? 12 : 0);
}

/* The guest's current time, broken down.  Falls back to the host's time if
 * the offset took the clock somewhere gmtime cannot go. */
static void rtc_now(const struct rtc *r, struct tm *tm)
{
	time_t t = time(NULL) + (time_t)r->delta;

	if (gmtime_r(&t, tm) == NULL) {
		t = time(NULL);
		gmtime_r(&t, tm);
	}
}

static uint8_t rtc_clock_field(const struct rtc *r, const struct tm *tm,
			       unsigned int reg)
{
	unsigned int year = (unsigned int)tm->tm_year + 1900;

	switch (reg) {
	case REG_SEC:
		/* 60 (a leap second) would be an invalid value */
		return rtc_encode(r, (unsigned int)(tm->tm_sec > 59 ? 59 : tm->tm_sec));
	case REG_MIN:
		return rtc_encode(r, (unsigned int)tm->tm_min);
	case REG_HOUR:
		return rtc_encode_hour(r, tm->tm_hour);
	case REG_WDAY:
		return rtc_encode(r, (unsigned int)tm->tm_wday + 1);  /* Sunday = 1 */
	case REG_MDAY:
		return rtc_encode(r, (unsigned int)tm->tm_mday);
	case REG_MON:
		return rtc_encode(r, (unsigned int)tm->tm_mon + 1);
	case REG_YEAR:
		return rtc_encode(r, year % 100);
	case REG_CENTURY:
		return rtc_encode(r, year / 100);
	default:
		return r->cmos[reg & (RTC_NREGS - 1)];
	}
}

/* Copy the running time into the clock registers (entering SET mode, or
 * before a single field is changed). */
static void rtc_snapshot(struct rtc *r)
{
	static const uint8_t regs[] = {
		REG_SEC, REG_MIN, REG_HOUR, REG_WDAY, REG_MDAY, REG_MON,
		REG_YEAR, REG_CENTURY,
	};
	struct tm tm;

	rtc_now(r, &tm);
	for (size_t i = 0; i < sizeof(regs); i++)
		r->cmos[regs[i]] = rtc_clock_field(r, &tm, regs[i]);
}

/* Turn the clock registers into a new offset; invalid dates are dropped.
 * The day of the week is derived, never loaded. */
static void rtc_load(struct rtc *r)
{
	int sec = rtc_decode(r, r->cmos[REG_SEC]);
	int min = rtc_decode(r, r->cmos[REG_MIN]);
	int hour = rtc_decode_hour(r, r->cmos[REG_HOUR]);
	int mday = rtc_decode(r, r->cmos[REG_MDAY]);
	int mon = rtc_decode(r, r->cmos[REG_MON]);
	int year = rtc_decode(r, r->cmos[REG_YEAR]);
	int century = rtc_decode(r, r->cmos[REG_CENTURY]);
	struct tm tm = { 0 };
	time_t t;

	if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 ||
	    hour > 23 || mday < 1 || mday > 31 || mon < 1 || mon > 12 ||
	    year < 0 || year > 99 || century < 0 || century > 99)
		return;
	tm.tm_sec = sec;
	tm.tm_min = min;
	tm.tm_hour = hour;
	tm.tm_mday = mday;
	tm.tm_mon = mon - 1;
	tm.tm_year = century * 100 + year - 1900;
	t = timegm(&tm);
	/* timegm normalises 31 February into March; real chips would show
	 * it as is.  Either way the guest asked for nonsense; what matters is
	 * that the result stays a valid time. */
	if (t == (time_t)-1)
		return;
	r->delta = (int64_t)t - (int64_t)time(NULL);
}

static void rtc_write_b(struct rtc *r, uint8_t val)
{
	uint8_t old = r->cmos[REG_B];

	if (val & B_SET)
		val &= (uint8_t)~B_UIE;   /* SET clears UIE on the chip */
	r->cmos[REG_B] = val;
	if ((val & B_SET) && !(old & B_SET))
		rtc_snapshot(r);
	else if (!(val & B_SET) && (old & B_SET))
		rtc_load(r);
}

static void rtc_write_data(struct rtc *r, uint8_t val)
{
	unsigned int reg = r->index;

	if (rtc_is_clock_reg(reg)) {
		if (r->cmos[REG_B] & B_SET) {
			r->cmos[reg] = val;
		} else {
			rtc_snapshot(r);
			r->cmos[reg] = val;
			rtc_load(r);
		}
		return;
	}
	switch (reg) {
	case REG_A:
		r->cmos[REG_A] = val & (uint8_t)~A_UIP;
		break;
	case REG_B:
		rtc_write_b(r, val);
		break;
	case REG_C:
	case REG_D:
		break;    /* read-only */
	default:
		r->cmos[reg] = val;
		break;
	}
}

static uint8_t rtc_read_data(struct rtc *r)
{
	unsigned int reg = r->index;
	struct tm tm;

	if (rtc_is_clock_reg(reg)) {
		if (r->cmos[REG_B] & B_SET)
			return r->cmos[reg];
		rtc_now(r, &tm);
		return rtc_clock_field(r, &tm, reg);
	}
	switch (reg) {
	case REG_C:
		return 0;    /* no interrupt flags: no interrupts are raised */
	case REG_D:
		return D_VRT;
	default:
		return r->cmos[reg];
	}
}

static void rtc_byte(struct rtc *r, uint64_t off, uint8_t *val, bool is_write)
{
	if (off == 0) {
		/* Bit 7 of the index port is the NMI mask on PCs, not part of
		 * the index; NMIs are not gated here. */
		if (is_write)
			r->index = *val & (RTC_NREGS - 1);
		else
			*val = 0xff;   /* write-only port */
	} else if (off == 1) {
		if (is_write)
			rtc_write_data(r, *val);
		else
			*val = rtc_read_data(r);
	} else if (!is_write) {
		*val = 0xff;
	}
}

/* Wider accesses are split into byte accesses, as on the ISA bus. */
void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < len; i++) {
		/* An offset that wraps is outside the range like any other. */
		uint64_t off = offset + i < offset ? UINT64_MAX : offset + i;

		rtc_byte(r, off, &data[i], is_write);
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_set_cmos(struct rtc *r, uint8_t index, uint8_t value)
{
	pthread_mutex_lock(&r->lock);
	r->cmos[index & (RTC_NREGS - 1)] = value;
	pthread_mutex_unlock(&r->lock);
}

struct rtc *rtc_create(void)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return NULL;
	}
	r->cmos[REG_A] = A_DEFAULT;
	r->cmos[REG_B] = B_DEFAULT;
	r->cmos[REG_D] = D_VRT;
	return r;
}

void rtc_destroy(struct rtc *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
