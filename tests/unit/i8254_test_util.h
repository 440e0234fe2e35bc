/* Helpers shared by the i8254 unit tests (test_i8254.c, test_i8254_irq.c):
 * a fake clock, an IRQ 0 log that checks for clean pulses, and accessors
 * for the counters, the status and port 0x61. */
#ifndef LANDLORD_TESTS_I8254_TEST_UTIL_H
#define LANDLORD_TESTS_I8254_TEST_UTIL_H

#include "device_io.h"

#include "devices/i8254.h"

#define CH0  0
#define CH2  2
#define CTRL 3

struct fake_clock {
	uint64_t ns;
};

static inline uint64_t fake_now(void *opaque)
{
	return ((struct fake_clock *)opaque)->ns;
}

/* The first nanosecond at which t ticks have passed. */
static inline uint64_t tick_ns(uint64_t t)
{
	return (t * 1000000000ull + I8254_HZ - 1) / I8254_HZ;
}

struct irq_log {
	int level;
	int pulses;      /* complete 1-then-0 pulses */
	int bad;         /* a level set twice in a row */
};

static inline void irq_cb(void *opaque, uint32_t gsi, int level)
{
	struct irq_log *l = opaque;

	assert_int_equal(gsi, I8254_IRQ);
	if (level == l->level)
		l->bad++;
	if (l->level && !level)
		l->pulses++;
	l->level = level;
}

struct pit_fixture {
	struct fake_clock clk;
	struct irq_log irq;
	struct i8254 *p;
	uint64_t t0;           /* when the last count was written */
};

static inline void pit_new(struct pit_fixture *f)
{
	struct irq_line line = { .set = irq_cb, .opaque = &f->irq, .gsi = I8254_IRQ };

	memset(f, 0, sizeof(*f));
	f->clk.ns = 1000000000ull;   /* not zero: nothing special about 0 */
	f->p = i8254_create(NULL, &line, fake_now, &f->clk);
	assert_non_null(f->p);
}

/* Control word, then a 16-bit count LSB first; counting starts now. */
static inline void pit_program(struct pit_fixture *f, unsigned int ch, uint8_t cw, uint16_t count)
{
	out8(i8254_io, f->p, CTRL, cw);
	out8(i8254_io, f->p, ch, (uint8_t)count);
	out8(i8254_io, f->p, ch, (uint8_t)(count >> 8));
	f->t0 = f->clk.ns;
}

/* t ticks after the count was written. */
static inline void at_tick(struct pit_fixture *f, uint64_t t)
{
	f->clk.ns = f->t0 + tick_ns(t);
}

static inline uint16_t read_word(struct pit_fixture *f, unsigned int ch)
{
	uint16_t lo = in8(i8254_io, f->p, ch);

	return (uint16_t)(lo | in8(i8254_io, f->p, ch) << 8);
}

/* Counter latch command, then the two bytes. */
static inline uint16_t latch_word(struct pit_fixture *f, unsigned int ch)
{
	out8(i8254_io, f->p, CTRL, (uint8_t)(ch << 6));
	return read_word(f, ch);
}

static inline uint8_t status_of(struct pit_fixture *f, unsigned int ch)
{
	out8(i8254_io, f->p, CTRL, (uint8_t)(0xc0 | 0x20 | 2u << ch));   /* status only */
	return in8(i8254_io, f->p, ch);
}

static inline bool out_of(struct pit_fixture *f, unsigned int ch)
{
	return (status_of(f, ch) & 0x80) != 0;
}

static inline uint8_t p61(struct pit_fixture *f)
{
	return in8(i8254_port61_io, f->p, 0);
}

/* The test guest's udelay (tests/guest/irq.c) and Linux's
 * pit_calibrate_tsc: gate 2 on, speaker off, mode 0 through 0xb0, then
 * poll OUT2 in port 0x61 bit 5. */
static inline void start_ch2_oneshot(struct pit_fixture *f, uint16_t count)
{
	uint8_t v = p61(f);

	out8(i8254_port61_io, f->p, 0, (uint8_t)((v & ~0x02) | 0x01));
	out8(i8254_io, f->p, CTRL, 0xb0);
	out8(i8254_io, f->p, CH2, (uint8_t)count);
	out8(i8254_io, f->p, CH2, (uint8_t)(count >> 8));
	f->t0 = f->clk.ns;
}

#endif
