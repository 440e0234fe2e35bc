/* Unit tests for the 16550A: registers, FIFO, interrupt identification and
 * the interrupt line, and the probe sequences of Linux's 8250 driver. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <cmocka.h>

#include "devices/uart.h"

#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fake_irq {
	int level;
	int calls;
	int rises;
	uint32_t gsi;
};

static void fake_irq_set(void *opaque, uint32_t gsi, int level)
{
	struct fake_irq *f = opaque;

	f->calls++;
	if (level && !f->level)
		f->rises++;
	f->level = level;
	f->gsi = gsi;
}

struct fake_tx {
	uint8_t buf[4096];
	size_t n;
};

static void fake_tx(void *opaque, uint8_t byte)
{
	struct fake_tx *t = opaque;

	if (t->n < sizeof(t->buf))
		t->buf[t->n] = byte;
	t->n++;
}

struct fixture {
	struct fake_irq irq;
	struct fake_tx tx;
	struct irq_line line;
	struct uart *u;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->line = (struct irq_line){ .set = fake_irq_set, .opaque = &f->irq, .gsi = 4 };
	f->u = uart_create(&f->line, fake_tx, &f->tx);
	if (f->u == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart_destroy(f->u);
	free(f);
	return 0;
}

static void wr(struct uart *u, unsigned int reg, uint8_t val)
{
	uart_io(u, reg, &val, 1, true);
}

static uint8_t rd(struct uart *u, unsigned int reg)
{
	uint8_t val = 0;

	uart_io(u, reg, &val, 1, false);
	return val;
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;

	assert_int_equal(rd(u, IER), 0);
	assert_int_equal(rd(u, IIR), 0x01);   /* no interrupt, no FIFO */
	assert_int_equal(rd(u, LCR), 0);
	assert_int_equal(rd(u, MCR), 0);
	assert_int_equal(rd(u, LSR), 0x60);   /* THRE | TEMT */
	assert_int_equal(rd(u, MSR), 0xb0);   /* DCD | DSR | CTS, no deltas */
	assert_int_equal(rd(u, SCR), 0);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(uart_rx_space(u), 1);  /* FIFOs off: one holding byte */
}

static void test_dlab_and_scratch(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;

	wr(u, LCR, 0x83);
	wr(u, 0, 0x01);
	wr(u, 1, 0x02);
	assert_int_equal(rd(u, 0), 0x01);
	assert_int_equal(rd(u, 1), 0x02);
	assert_int_equal(f->tx.n, 0);          /* DLL is not THR */
	wr(u, LCR, 0x03);
	assert_int_equal(rd(u, IER), 0);        /* DLM is not IER */
	assert_int_equal(rd(u, LCR), 0x03);
	wr(u, LCR, 0x80);
	assert_int_equal(rd(u, 0), 0x01);
	assert_int_equal(rd(u, 1), 0x02);
	wr(u, LCR, 0);

	wr(u, SCR, 0xa5);
	assert_int_equal(rd(u, SCR), 0xa5);
	wr(u, IER, 0xff);
	assert_int_equal(rd(u, IER), 0x0f);     /* only four bits exist */
	wr(u, MCR, 0xff);
	assert_int_equal(rd(u, MCR), 0x1f);
	/* LSR and MSR ignore writes. */
	wr(u, MCR, 0);
	wr(u, LSR, 0x00);
	wr(u, MSR, 0x00);
	assert_int_equal(rd(u, LSR) & 0x60, 0x60);
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	const char *msg = "hello";

	for (size_t i = 0; i < strlen(msg); i++) {
		assert_true(rd(u, LSR) & 0x20);
		wr(u, RBR, (uint8_t)msg[i]);
	}
	assert_int_equal(f->tx.n, 5);
	assert_memory_equal(f->tx.buf, msg, 5);
	assert_int_equal(rd(u, LSR), 0x60);
}

static void test_receive_fifo(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	uint8_t in[40];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);

	/* FIFOs off: one byte at a time. */
	assert_int_equal(uart_receive(u, in, sizeof(in)), 1);
	assert_int_equal(uart_receive(u, in, sizeof(in)), 0);
	assert_int_equal(rd(u, LSR), 0x61);
	assert_int_equal(rd(u, RBR), 1);
	assert_int_equal(rd(u, LSR), 0x60);

	wr(u, FCR, 0x01);
	assert_int_equal(uart_rx_space(u), 16);
	assert_int_equal(uart_receive(u, in, sizeof(in)), 16);
	assert_int_equal(uart_rx_space(u), 0);
	assert_int_equal(uart_receive(u, in + 16, 24), 0);
	assert_int_equal(rd(u, LSR) & 0x03, 0x01);  /* DR, never OE from host input */
	for (int i = 0; i < 8; i++)
		assert_int_equal(rd(u, RBR), i + 1);
	assert_int_equal(uart_receive(u, in + 16, 24), 8);  /* wraps around */
	for (int i = 8; i < 24; i++)
		assert_int_equal(rd(u, RBR), i + 1);
	assert_int_equal(rd(u, LSR), 0x60);
	/* An empty RBR repeats the last byte. */
	assert_int_equal(rd(u, RBR), 24);
	assert_int_equal(uart_receive(u, in, 0), 0);

	/* FCR clears: the RX FIFO reset, and toggling the enable. */
	assert_int_equal(uart_receive(u, in, 5), 5);
	wr(u, FCR, 0x03);
	assert_int_equal(rd(u, LSR) & 1, 0);
	assert_int_equal(uart_receive(u, in, 5), 5);
	wr(u, FCR, 0x00);
	assert_int_equal(rd(u, LSR) & 1, 0);
	assert_int_equal(uart_rx_space(u), 1);
	/* FCR bits other than enable are ignored while disabling. */
	assert_int_equal(uart_receive(u, in, 5), 1);
	wr(u, FCR, 0x02);
	assert_int_equal(rd(u, LSR) & 1, 1);
}

static void test_loopback_and_overrun(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;

	wr(u, FCR, 0x07);
	wr(u, MCR, 0x10);
	assert_int_equal(uart_rx_space(u), 0);   /* receiver cut off */
	for (int i = 0; i < 17; i++)
		wr(u, RBR, (uint8_t)i);
	assert_int_equal(f->tx.n, 0);            /* nothing left the UART */
	assert_int_equal(rd(u, LSR), 0x63);      /* DR | OE */
	assert_int_equal(rd(u, LSR), 0x61);      /* OE cleared by the read */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(u, RBR), i);     /* the 17th byte was lost */
	assert_int_equal(rd(u, LSR), 0x60);

	/* Without FIFOs the second byte overruns. */
	wr(u, FCR, 0x00);
	wr(u, RBR, 0xaa);
	wr(u, RBR, 0xbb);
	assert_int_equal(rd(u, LSR), 0x63);
	assert_int_equal(rd(u, RBR), 0xaa);
	wr(u, MCR, 0x00);
	wr(u, RBR, 0xcc);
	assert_int_equal(f->tx.n, 1);
	assert_int_equal(f->tx.buf[0], 0xcc);
}

static void test_modem_status(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;

	/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	wr(u, MCR, 0x10);
	assert_int_equal(rd(u, MSR), 0x0b);  /* all lines fell: DCTS DDSR DDCD */
	assert_int_equal(rd(u, MSR), 0x00);
	wr(u, MCR, 0x11);
	assert_int_equal(rd(u, MSR), 0x22);
	wr(u, MCR, 0x12);
	assert_int_equal(rd(u, MSR), 0x13);
	wr(u, MCR, 0x14);
	assert_int_equal(rd(u, MSR), 0x41);  /* RI rising: no TERI */
	wr(u, MCR, 0x18);
	assert_int_equal(rd(u, MSR), 0x8c);  /* RI falling: TERI; DCD up */
	wr(u, MCR, 0x00);
	assert_int_equal(rd(u, MSR), 0xb3);
}

/* IIR priorities: line status > received data > THRE > modem status. */
static void test_iir_priorities(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	uint8_t b = 'x';

	wr(u, FCR, 0x01);
	wr(u, MCR, 0x10);
	for (int i = 0; i < 17; i++)
		wr(u, RBR, 0x55);                 /* data and an overrun */
	wr(u, MCR, 0x00);                         /* modem status deltas */
	wr(u, IER, 0x0f);
	assert_int_equal(rd(u, IIR), 0xc6);
	assert_int_equal(rd(u, IIR), 0xc6);       /* reading IIR clears nothing here */
	rd(u, LSR);
	assert_int_equal(rd(u, IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		rd(u, RBR);
	assert_int_equal(rd(u, IIR), 0xc2);
	/* That read acknowledged THRE. */
	assert_int_equal(rd(u, IIR), 0xc0);
	rd(u, MSR);
	assert_int_equal(rd(u, IIR), 0xc1);
	assert_int_equal(uart_receive(u, &b, 1), 1);
	assert_int_equal(rd(u, IIR), 0xc4);
	/* Masked sources do not show. */
	wr(u, IER, 0x00);
	assert_int_equal(rd(u, IIR), 0xc1);
}

/* THRE interrupt semantics Linux relies on (serial8250_do_startup and the
 * transmit path). */
static void test_thre_semantics(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;

	wr(u, MCR, 0x08);                         /* OUT2 */
	wr(u, IER, 0x02);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(rd(u, IIR), 0x02);
	assert_int_equal(f->irq.level, 0);        /* acknowledged by the IIR read */
	assert_int_equal(rd(u, IIR), 0x01);
	/* Re-enabling ETBEI re-asserts it (the UART_BUG_THRE test). */
	wr(u, IER, 0x00);
	wr(u, IER, 0x02);
	assert_int_equal(rd(u, IIR), 0x02);
	/* Writing IER with ETBEI already set does not. */
	wr(u, IER, 0x03);
	assert_int_equal(rd(u, IIR), 0x01);
	/* Writing THR: the byte leaves at once and THR is empty again. */
	wr(u, RBR, 'a');
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(rd(u, IIR), 0x02);
	/* Disabling ETBEI drops a pending THRE. */
	wr(u, RBR, 'b');
	wr(u, IER, 0x01);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(rd(u, IIR), 0x01);
	/* The TXEN test: IER=THRI, LSR shows TEMT, IIR shows an interrupt. */
	wr(u, IER, 0x02);
	assert_int_equal(rd(u, LSR) & 0x40, 0x40);
	assert_int_equal(rd(u, IIR) & 0x01, 0);
	wr(u, IER, 0x00);
}

static void test_irq_out2_gating(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	uint8_t b = 'k';

	wr(u, IER, 0x01);
	assert_int_equal(uart_receive(u, &b, 1), 1);
	assert_int_equal(rd(u, IIR), 0x04);
	assert_int_equal(f->irq.level, 0);   /* OUT2 clear: line gated */
	wr(u, MCR, 0x0b);                    /* DTR RTS OUT2, as Linux sets */
	assert_int_equal(f->irq.level, 1);   /* raised now, not lost */
	assert_int_equal(f->irq.gsi, 4);
	wr(u, MCR, 0x1b);                    /* loopback forces OUT2 off */
	assert_int_equal(f->irq.level, 0);
	wr(u, MCR, 0x0b);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(rd(u, RBR), 'k');
	assert_int_equal(f->irq.level, 0);

	/* The line is only driven on changes. */
	int calls = f->irq.calls;

	for (int i = 0; i < 10; i++)
		rd(u, LSR);
	assert_int_equal(f->irq.calls, calls);
	/* Each new byte after a drain makes a new rising edge. */
	for (int i = 0; i < 5; i++) {
		int rises = f->irq.rises;

		assert_int_equal(uart_receive(u, &b, 1), 1);
		assert_int_equal(f->irq.rises, rises + 1);
		rd(u, RBR);
		assert_int_equal(f->irq.level, 0);
	}
}

/* The existence and type probes of autoconfig() in 8250_port.c, replayed. */
static void test_linux_autoconfig(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	uint8_t scratch, scratch2, scratch3, save_mcr, save_lcr, st1, st2;

	scratch = rd(u, IER);
	wr(u, IER, 0);
	scratch2 = rd(u, IER) & 0x0f;
	wr(u, IER, 0x0f);
	scratch3 = rd(u, IER) & 0x0f;
	wr(u, IER, scratch);
	assert_int_equal(scratch2, 0);
	assert_int_equal(scratch3, 0x0f);

	save_mcr = rd(u, MCR);
	save_lcr = rd(u, LCR);
	wr(u, MCR, 0x10 | 0x0a);
	assert_int_equal(rd(u, MSR) & 0xf0, 0x90);
	wr(u, MCR, save_mcr);

	wr(u, LCR, 0xbf);
	wr(u, 2, 0);                   /* EFR on 16650s, FCR here */
	wr(u, LCR, 0);
	wr(u, FCR, 0x01);
	assert_int_equal(rd(u, IIR) >> 6, 3);   /* 16550A */

	/* autoconfig_16550a with the variant probes enabled */
	wr(u, LCR, 0x80);
	assert_int_not_equal(rd(u, 2), 0);      /* no EFRv1 */
	wr(u, LCR, 0xbf);
	assert_int_not_equal(rd(u, 2), 0);      /* no EFRv2 */
	wr(u, LCR, 0);
	st1 = rd(u, MCR);
	wr(u, LCR, 0xe0);
	st2 = rd(u, 2);
	assert_int_equal((st1 ^ st2) & 0x10, 0);
	wr(u, LCR, 0);
	wr(u, MCR, st1 ^ 0x10);
	wr(u, LCR, 0xe0);
	st2 = rd(u, 2);
	wr(u, LCR, 0);
	wr(u, MCR, st1);
	assert_int_equal((st2 ^ st1) & 0x10, 0);  /* not a NatSemi */
	wr(u, FCR, 0x21);
	st1 = rd(u, IIR) >> 5;
	wr(u, FCR, 0x01);
	wr(u, LCR, 0x80);
	wr(u, FCR, 0x21);
	st2 = rd(u, IIR) >> 5;
	wr(u, FCR, 0x01);
	wr(u, LCR, 0);
	assert_false(st1 == 6 && st2 == 7);       /* not a 16750 */
	wr(u, IER, 0x40);
	assert_int_equal(rd(u, IER) & 0x40, 0);   /* not an XScale */
	wr(u, IER, 0);

	/* size_fifo(): loopback, 256 bytes out, count what comes back. */
	wr(u, FCR, 0x07);
	wr(u, MCR, 0x10);
	wr(u, LCR, 0x80);
	wr(u, 0, 1);
	wr(u, 1, 0);
	wr(u, LCR, 0x03);
	for (int i = 0; i < 256; i++)
		wr(u, RBR, (uint8_t)i);
	int count;

	for (count = 0; (rd(u, LSR) & 0x01) && count < 256; count++)
		rd(u, RBR);
	assert_int_equal(count, 16);
	wr(u, MCR, save_mcr);
	wr(u, LCR, save_lcr);
	assert_int_equal(f->tx.n, 0);
	assert_int_equal(f->irq.level, 0);
}

static void test_all_widths(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	uint8_t data[8];

	for (uint32_t len = 1; len <= 8; len++) {
		for (uint64_t off = 0; off < 12; off++) {
			memset(data, 0, sizeof(data));
			uart_io(u, off, data, len, false);
			for (uint32_t i = 0; i < len; i++)
				if (off + i > 7)
					assert_int_equal(data[i], 0xff);
			memset(data, 0x5a, sizeof(data));
			uart_io(u, off, data, len, true);
		}
	}
	/* Offsets no bus would pass, some wrapping around. */
	static const uint64_t offs[] = { UINT64_MAX, UINT64_MAX - 3, 1ull << 63, 8 };
	size_t sent = f->tx.n;

	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
		memset(data, 0, sizeof(data));
		uart_io(u, offs[o], data, 8, false);
		for (int i = 0; i < 8; i++)
			assert_int_equal(data[i], 0xff);
		memset(data, 0x5a, sizeof(data));
		uart_io(u, offs[o], data, 8, true);
	}
	assert_int_equal(f->tx.n, sent);
	/* A 16-bit read at LCR returns LCR and MCR. */
	wr(u, LCR, 0x03);
	wr(u, MCR, 0x0b);
	uart_io(u, LCR, data, 2, false);
	assert_int_equal(data[0], 0x03);
	assert_int_equal(data[1], 0x0b);
}

static void test_fuzz(void **state)
{
	struct fixture *f = *state;
	struct uart *u = f->u;
	uint8_t data[8], in[32];

	srand(4242);
	for (int i = 0; i < 200000; i++) {
		uint64_t off = (uint64_t)(rand() % 9);
		uint32_t len = (uint32_t)(rand() % 4) + 1;
		int op = rand() % 8;

		for (size_t k = 0; k < sizeof(data); k++)
			data[k] = (uint8_t)rand();
		if (op == 0) {
			size_t n = (size_t)(rand() % 33);
			size_t room = uart_rx_space(u);
			size_t took = uart_receive(u, in, n);

			assert_true(took <= n && took <= room);
		} else {
			uart_io(u, off, data, len, op & 1);
		}
		if ((i & 63) == 0) {
			uint8_t lsr = rd(u, LSR);
			uint8_t iir = rd(u, IIR);

			assert_int_equal(lsr & 0x60, 0x60);
			assert_int_equal(lsr & 0x9c, 0);
			assert_int_equal(iir & 0x30, 0);
			assert_true((iir & 0x0f) <= 6 && (iir & 0x0f) != 3 && (iir & 0x0f) != 5);
			assert_true(uart_rx_space(u) <= 16);
			assert_true(f->irq.level == 0 || f->irq.level == 1);
		}
	}
	/* However it was left, a drained UART with OUT2 and no IER is quiet. */
	wr(u, LCR, 0);
	wr(u, IER, 0);
	wr(u, FCR, 0x07);
	wr(u, MCR, 0x08);
	rd(u, LSR);
	rd(u, MSR);
	assert_int_equal(rd(u, IIR), 0xc1);
	assert_int_equal(f->irq.level, 0);
}

struct race {
	struct uart *u;
	atomic_int stop;
};

static void *rx_thread(void *arg)
{
	struct race *r = arg;
	uint8_t in[7] = "abcdefg";

	while (!atomic_load(&r->stop)) {
		uart_receive(r->u, in, sizeof(in));
		sched_yield();
	}
	return NULL;
}

/* The event loop feeds input while a vCPU reads; run under the sanitizers
 * this catches unlocked state. */
static void test_concurrent_receive(void **state)
{
	struct fixture *f = *state;
	struct race r = { .u = f->u };
	pthread_t t;
	size_t got = 0;

	wr(f->u, FCR, 0x01);
	wr(f->u, IER, 0x01);
	wr(f->u, MCR, 0x08);
	assert_int_equal(pthread_create(&t, NULL, rx_thread, &r), 0);
	/* Until enough bytes went through, or a bounded time passed (a loaded
	 * machine may start the thread late). */
	time_t deadline = time(NULL) + 10;

	for (long i = 0; got < 5000 && (i & 0xfff || time(NULL) < deadline); i++) {
		if (rd(f->u, LSR) & 1) {
			rd(f->u, RBR);
			got++;
		}
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	assert_true(got > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_and_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_and_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modem_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_out2_gating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_receive, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
