/* i8254 programmable interval timer and the PIT bits of port 0x61.
 *
 * Nothing ticks.  Each channel remembers when it started counting and how
 * many ticks it had counted before that (ticks survive a gate that pauses
 * channel 2); its count and OUT are computed from the clock whenever the
 * guest looks (the arithmetic is in i8254_count.c).  Only channel 0's
 * interrupt needs a timer: one timerfd on the event loop, armed for the
 * next rising edge of OUT0.
 *
 * Simplifications, all of which guests do not notice (QEMU and KVM make
 * the same ones):
 *  - a count takes effect at once: the chip's extra clock that moves it
 *    from the count register into the counter is not modelled, so mode 0
 *    with count N raises OUT after N ticks, not N+1;
 *  - a new count written while a channel counts restarts it at once, also
 *    in modes 2 and 3 where the chip would finish the current period;
 *  - mode 3 with an odd count reads N, N-2, .. in both halves;
 *  - channels 0 and 1 have their gate tied high, so in modes 1 and 5 they
 *    start counting when the count is written (a real board never triggers
 *    them); channel 2 waits for a rising edge on its gate, as on the chip;
 *  - a BCD digit above 9 in a written count is taken as 9.
 *
 * IRQ 0: a pulse (1 then 0 on the edge-triggered ISA line) at each rising
 * edge of OUT0.  The deadlines are absolute, computed from the time the
 * count was loaded, so periods do not drift; ticks the loop delivers late
 * are dropped, not replayed, so a stalled host gives the guest one late
 * interrupt rather than a burst.  The periodic interrupt is clamped to
 * I8254_MIN_PERIOD_NS, as KVM clamps its PIT to min_timer_period_us, so a
 * guest programming a count of 2 cannot make the host spin at 600 kHz; the
 * count itself still reads at the programmed rate.
 *
 * Locking: one mutex around all state, taken by port I/O (vCPU threads)
 * and the timer (event loop).  irq_line_set() is called with it held; the
 * irq line goes to KVM and never comes back into this device. */
#include "devices/i8254.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "devices/i8254_count.h"

/* KVM's min_timer_period_us default is 200: guests tested on KVM live with
 * at most 5 kHz of PIT interrupts. */
#define I8254_MIN_PERIOD_NS 200000ull

/* Port 0x61: the refresh request toggle flips every 15.085 us on a PC
 * (DRAM refresh, channel 1's usual period); some BIOS-style delay loops
 * count its flips. */
#define REFRESH_NS 15085u

#define OFF_CONTROL 3

#define P61_GATE2    0x01
#define P61_SPEAKER  0x02
#define P61_REFRESH  0x10
#define P61_OUT2     0x20
#define P61_WRITABLE (P61_GATE2 | P61_SPEAKER)

/* Control word (port 0x43). */
#define CW_SC(v)     (((v) >> 6) & 3)       /* 3: read-back command */
#define CW_RW(v)     (((v) >> 4) & 3)       /* 0: counter latch command */
#define CW_MODE(v)   (((v) >> 1) & 7)
#define CW_BCD       0x01

/* Read-back command: bits 1-3 select channels, the others are active low. */
#define RB_NO_COUNT  0x20
#define RB_NO_STATUS 0x10

#define ST_OUT       0x80
#define ST_NULL      0x40

#define RW_LSB  1
#define RW_MSB  2
#define RW_WORD 3

struct pit_channel {
	/* What the control word set. */
	uint8_t mode_bits;       /* 0-7 as written; 6 and 7 act as 2 and 3 */
	uint8_t rw;              /* RW_LSB, RW_MSB or RW_WORD (never 0) */
	bool bcd;

	/* The count and the state of counting. */
	uint32_t n;              /* the period: 1..65536 (10000 in BCD) */
	bool loaded;             /* a whole count written since the control word */
	bool armed;              /* counting: the count and OUT follow the clock */
	bool running;            /* ticks accumulate (armed and not paused) */
	uint64_t start_ns;       /* when the ticks since base_ticks began */
	uint64_t base_ticks;     /* ticks counted before start_ns */
	uint32_t idle_count;     /* what the counter reads when not armed */
	bool idle_out;           /* OUT when not armed */
	bool gate;
	bool null_count;

	/* The guest's byte-wise access state. */
	bool read_msb;           /* RW_WORD: the next read is the MSB */
	bool write_msb;          /* RW_WORD: the next write is the MSB */
	uint8_t write_lsb;
	bool count_latched;
	uint16_t latched;        /* as the guest reads it (BCD encoded if bcd) */
	bool status_latched;
	uint8_t status;
};

struct i8254 {
	pthread_mutex_t lock;
	struct pit_channel ch[3];
	uint8_t port61;          /* P61_WRITABLE bits */

	struct irq_line irq0;
	uint64_t deadline;       /* next rising edge of OUT0, ns; 0: none */
	struct event_loop *loop;
	int timer_fd;            /* -1 without a loop */

	i8254_clock_fn clock;
	void *clock_opaque;
};

/* ---- time ---- */

static uint64_t pit_now(const struct i8254 *p)
{
	return p->clock ? p->clock(p->clock_opaque) : clock_mono_ns();
}

/* ---- one channel ---- */

static unsigned int ch_mode(const struct pit_channel *c)
{
	return c->mode_bits > 5 ? c->mode_bits - 4u : c->mode_bits;
}

static uint32_t ch_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

/* Ticks counted since the count was loaded (or the last retrigger). */
static uint64_t ch_ticks(const struct pit_channel *c, uint64_t now)
{
	/* A test clock may go backwards; time before start counts nothing. */
	if (!c->running || now <= c->start_ns)
		return c->base_ticks;
	return c->base_ticks + i8254_ns_to_ticks(now - c->start_ns);
}

/* When the counter reaches tick t; only for a running channel. */
static uint64_t ch_tick_ns(const struct pit_channel *c, uint64_t t)
{
	return i8254_add_sat(c->start_ns,
			     i8254_ticks_to_ns(t > c->base_ticks ? t - c->base_ticks : 0));
}

/* The counter's value, binary, 0..modulus-1 (0 stands for the modulus). */
static uint32_t ch_count(const struct pit_channel *c, uint64_t now)
{
	if (!c->armed)
		return c->idle_count;
	return i8254_count_at(ch_mode(c), c->n, ch_modulus(c), ch_ticks(c, now));
}

static bool ch_out(const struct pit_channel *c, uint64_t now)
{
	unsigned int mode = ch_mode(c);

	if (!c->armed)
		return c->idle_out;
	/* A low gate holds OUT high in the rate and square wave modes. */
	if ((mode == 2 || mode == 3) && !c->gate)
		return true;
	return i8254_out_at(mode, c->n, ch_ticks(c, now));
}

/* Stop following the clock; the counter keeps reading what it reads now. */
static void ch_freeze(struct pit_channel *c, uint64_t now, bool out)
{
	c->idle_count = ch_count(c, now);
	c->idle_out = out;
	c->armed = false;
	c->running = false;
}

/* Count from zero ticks, now, if the gate lets it. */
static void ch_start(struct pit_channel *c, uint64_t now, bool running)
{
	c->armed = true;
	c->running = running;
	c->start_ns = now;
	c->base_ticks = 0;
}

static bool ch_gate_triggered(unsigned int mode)
{
	return mode == 1 || mode == 5;
}

/* A whole count has been written: load it and (usually) start. */
static void ch_load(struct pit_channel *c, unsigned int idx, uint16_t raw, uint64_t now)
{
	unsigned int mode = ch_mode(c);
	uint32_t n = c->bcd ? i8254_bcd_decode(raw) : raw;

	c->n = n ? n : ch_modulus(c);
	c->loaded = true;
	c->null_count = true;
	if (ch_gate_triggered(mode) && idx == 2) {
		/* Waits for a rising gate; a one-shot in progress is dropped. */
		if (c->armed)
			ch_freeze(c, now, true);
		return;
	}
	/* Modes 0, 2, 3, 4 count while the gate is high; 1 and 5 on
	 * channels 0 and 1 start now (their gate is tied high). */
	ch_start(c, now, c->gate || ch_gate_triggered(mode));
}

static void ch_control(struct pit_channel *c, uint8_t cw, uint64_t now)
{
	ch_freeze(c, now, CW_MODE(cw) != 0);   /* mode 0 starts with OUT low */
	c->mode_bits = (uint8_t)CW_MODE(cw);
	c->rw = (uint8_t)CW_RW(cw);
	c->bcd = (cw & CW_BCD) != 0;
	c->loaded = false;
	c->null_count = true;
	c->read_msb = false;
	c->write_msb = false;
	c->count_latched = false;
	c->status_latched = false;
}

/* As the guest reads it. */
static uint16_t ch_encode(const struct pit_channel *c, uint32_t v)
{
	return c->bcd ? i8254_bcd_encode(v) : (uint16_t)v;
}

/* Latches are not overwritten until read, as on the chip. */
static void ch_latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return;
	c->latched = ch_encode(c, ch_count(c, now));
	c->count_latched = true;
}

static void ch_latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	/* Null count clears once the count has reached the counter, i.e.
	 * once it has counted a tick. */
	if (c->null_count && c->armed && ch_ticks(c, now) >= 1)
		c->null_count = false;
	c->status = (uint8_t)((ch_out(c, now) ? ST_OUT : 0) |
			      (c->null_count ? ST_NULL : 0) |
			      c->rw << 4 | c->mode_bits << 1 | (c->bcd ? CW_BCD : 0));
	c->status_latched = true;
}

static uint8_t ch_read(struct pit_channel *c, uint64_t now)
{
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	v = c->count_latched ? c->latched : ch_encode(c, ch_count(c, now));
	if (c->rw == RW_WORD) {
		msb = c->read_msb;
		c->read_msb = !c->read_msb;
		if (msb)
			c->count_latched = false;
	} else {
		msb = c->rw == RW_MSB;
		c->count_latched = false;
	}
	return (uint8_t)(msb ? v >> 8 : v);
}

/* ---- channel 0's interrupt ---- */

/* The first rising edge of OUT0 after now, in ns; 0: none coming. */
static uint64_t pit_next_edge(const struct pit_channel *c, uint64_t now)
{
	unsigned int mode = ch_mode(c);
	uint64_t t, edge, period;

	if (!c->armed || !c->running)
		return 0;
	t = ch_ticks(c, now);
	switch (mode) {
	case 2:
	case 3:
		/* OUT rises at the end of each period. */
		if (i8254_ticks_to_ns(c->n) < I8254_MIN_PERIOD_NS) {
			period = I8254_MIN_PERIOD_NS;
			edge = now > c->start_ns ? (now - c->start_ns) / period + 1 : 1;
			return i8254_add_sat(c->start_ns, edge * period);
		}
		return ch_tick_ns(c, (t / c->n + 1) * c->n);
	case 0:
	case 1:
		edge = c->n;
		break;
	default:
		edge = c->n + 1u;      /* the end of the low tick */
		break;
	}
	return t < edge ? ch_tick_ns(c, edge) : 0;
}

/* Point the timerfd at p->deadline, relative to the device's clock so that
 * a test clock works too. */
static void pit_arm_timer(struct i8254 *p, uint64_t now)
{
	struct itimerspec its = { 0 };
	uint64_t rel;

	if (p->timer_fd < 0)
		return;
	if (p->deadline) {
		rel = p->deadline > now ? p->deadline - now : 1;  /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(rel / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(rel % NSEC_PER_SEC);
	}
	timerfd_settime(p->timer_fd, 0, &its, NULL);
}

/* Channel 0 was reprogrammed: forget the old deadline, compute the new. */
static void pit_reschedule(struct i8254 *p, uint64_t now)
{
	p->deadline = pit_next_edge(&p->ch[0], now);
	pit_arm_timer(p, now);
}

void i8254_timer_expired(struct i8254 *p)
{
	uint64_t now;

	pthread_mutex_lock(&p->lock);
	now = pit_now(p);
	if (p->deadline && now >= p->deadline) {
		irq_line_set(&p->irq0, 1);
		irq_line_set(&p->irq0, 0);
		/* The next edge after now: the ones missed are dropped. */
		p->deadline = pit_next_edge(&p->ch[0], now);
	}
	pit_arm_timer(p, now);   /* also re-arms after an early wake-up */
	pthread_mutex_unlock(&p->lock);
}

static void pit_timer_fd(void *opaque, int fd, uint32_t events)
{
	struct i8254 *p = opaque;
	uint64_t expirations;

	(void)events;
	/* Only to clear the readiness; how many expirations does not matter
	 * (missed ticks are dropped), and a read that fails because a vCPU
	 * re-armed the timer meanwhile is fine: the deadline check decides. */
	(void)!read(fd, &expirations, sizeof(expirations));
	i8254_timer_expired(p);
}

/* ---- ports ---- */

static void pit_control(struct i8254 *p, uint8_t cw, uint64_t now)
{
	unsigned int sc = CW_SC(cw);

	if (sc == 3) {
		for (unsigned int i = 0; i < 3; i++) {
			if (!(cw & (2u << i)))
				continue;
			/* Status first: it is read first when both are. */
			if (!(cw & RB_NO_STATUS))
				ch_latch_status(&p->ch[i], now);
			if (!(cw & RB_NO_COUNT))
				ch_latch_count(&p->ch[i], now);
		}
		return;
	}
	if (CW_RW(cw) == 0) {
		ch_latch_count(&p->ch[sc], now);
		return;
	}
	ch_control(&p->ch[sc], cw, now);
	if (sc == 0)
		pit_reschedule(p, now);
}

static void pit_write_count(struct i8254 *p, unsigned int idx, uint8_t v, uint64_t now)
{
	struct pit_channel *c = &p->ch[idx];
	uint16_t raw;

	switch (c->rw) {
	case RW_LSB:
		raw = v;
		break;
	case RW_MSB:
		raw = (uint16_t)(v << 8);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
			/* Mode 0 stops counting, OUT low, at the first byte. */
			if (ch_mode(c) == 0) {
				ch_freeze(c, now, false);
				if (idx == 0)
					pit_reschedule(p, now);
			}
			return;
		}
		c->write_msb = false;
		raw = (uint16_t)(c->write_lsb | v << 8);
		break;
	}
	ch_load(c, idx, raw, now);
	if (idx == 0)
		pit_reschedule(p, now);
}

static void pit_byte(struct i8254 *p, uint64_t off, uint8_t *val, bool is_write, uint64_t now)
{
	if (off > OFF_CONTROL) {
		if (!is_write)
			*val = 0xff;
	} else if (off == OFF_CONTROL) {
		if (is_write)
			pit_control(p, *val, now);
		else
			*val = 0xff;     /* the control word is write-only */
	} else if (is_write) {
		pit_write_count(p, (unsigned int)off, *val, now);
	} else {
		*val = ch_read(&p->ch[off], now);
	}
}

/* Wider accesses are split into byte accesses, as on the ISA bus. */
void i8254_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8254 *p = opaque;
	uint64_t now;

	pthread_mutex_lock(&p->lock);
	now = pit_now(p);
	for (uint32_t i = 0; i < len; i++) {
		/* An offset that wraps is outside the range like any other. */
		uint64_t off = offset + i < offset ? UINT64_MAX : offset + i;

		pit_byte(p, off, &data[i], is_write, now);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Channel 2's gate moved. */
static void pit_gate2(struct i8254 *p, bool gate, uint64_t now)
{
	struct pit_channel *c = &p->ch[2];
	unsigned int mode = ch_mode(c);

	if (gate == c->gate)
		return;
	if (!gate) {
		/* Modes 0, 2, 3, 4 pause; 1 and 5 run on regardless. */
		if (!ch_gate_triggered(mode) && c->running) {
			c->base_ticks = ch_ticks(c, now);
			c->running = false;
		}
		c->gate = false;
		return;
	}
	c->gate = true;
	if (!c->loaded)
		return;
	if (ch_gate_triggered(mode) || mode == 2 || mode == 3) {
		/* A rising edge (re)starts these with the whole count. */
		ch_start(c, now, true);
	} else if (c->armed) {
		c->start_ns = now;     /* modes 0 and 4 resume */
		c->running = true;
	}
}

static uint8_t port61_read(struct i8254 *p, uint64_t now)
{
	uint8_t v = p->port61 & P61_WRITABLE;

	if ((now / REFRESH_NS) & 1)
		v |= P61_REFRESH;
	if (ch_out(&p->ch[2], now))
		v |= P61_OUT2;
	return v;
}

void i8254_port61_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8254 *p = opaque;
	uint64_t now;

	pthread_mutex_lock(&p->lock);
	now = pit_now(p);
	for (uint32_t i = 0; i < len; i++) {
		if (offset != 0 || i != 0) {
			if (!is_write)
				data[i] = 0xff;
		} else if (is_write) {
			p->port61 = data[i] & P61_WRITABLE;
			pit_gate2(p, (data[i] & P61_GATE2) != 0, now);
		} else {
			data[i] = port61_read(p, now);
		}
	}
	pthread_mutex_unlock(&p->lock);
}

/* ---- life cycle ---- */

struct i8254 *i8254_create(struct event_loop *loop, const struct irq_line *irq0,
			   i8254_clock_fn clock, void *clock_opaque)
{
	struct i8254 *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NULL;
	}
	if (irq0)
		p->irq0 = *irq0;
	p->clock = clock;
	p->clock_opaque = clock_opaque;
	p->timer_fd = -1;
	/* Power-on state: as firmware would find it, every channel in mode 0
	 * (OUT low), LSB/MSB access, nothing loaded, gate 2 low. */
	for (unsigned int i = 0; i < 3; i++) {
		p->ch[i].rw = RW_WORD;
		p->ch[i].gate = i != 2;
		p->ch[i].n = 65536;
		p->ch[i].null_count = true;
	}
	if (loop) {
		p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (p->timer_fd < 0)
			goto fail;
		if (el_add(loop, p->timer_fd, EPOLLIN, pit_timer_fd, p) < 0)
			goto fail;
		p->loop = loop;
	}
	return p;

fail:
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

void i8254_destroy(struct i8254 *p)
{
	if (p == NULL)
		return;
	if (p->loop)
		el_remove(p->loop, p->timer_fd);
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
