/* 16550A UART.
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the
 * tx callback, so THR and the transmitter are always empty (LSR.THRE and
 * LSR.TEMT always read 1) and there is no transmit FIFO to model.  The
 * receive side has the real 16-byte FIFO (1 byte with FIFOs disabled); input
 * is only accepted while there is room, so the host applies back-pressure
 * instead of the guest seeing overruns.  An overrun can still happen in
 * loopback mode, where the guest fills its own FIFO.
 *
 * Why 16 bytes and not more: Linux's 8250 driver sizes the FIFO through
 * loopback on some configurations and would call a 64-byte FIFO a different
 * chip (PORT_U6_16550A).  16 is what a 16550A has.
 *
 * The interrupt line follows PC wiring: the chip's INTR output reaches the
 * interrupt controller only while MCR.OUT2 is set (a tri-state buffer on the
 * board), and loopback mode forces the OUT2 pin inactive, so the line is
 * low in loopback too.  The level is recomputed after every register access
 * and every receive, so a source that became pending while OUT2 was clear
 * raises the line the moment the guest sets OUT2; nothing is lost.
 *
 * Locking: one mutex per UART.  The tx callback and irq_line_set() are both
 * called with it held; neither may call back into this UART. */
#include "devices/uart.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define UART_FIFO_SIZE 16

/* Register offsets. */
#define REG_RBR_THR 0   /* DLL with DLAB */
#define REG_IER     1   /* DLM with DLAB */
#define REG_IIR_FCR 2
#define REG_LCR     3
#define REG_MCR     4
#define REG_LSR     5
#define REG_MSR     6
#define REG_SCR     7

#define IER_ERBFI 0x01  /* received data available */
#define IER_ETBEI 0x02  /* transmitter holding register empty */
#define IER_ELSI  0x04  /* receiver line status */
#define IER_EDSSI 0x08  /* modem status */
#define IER_MASK  0x0f  /* the upper bits do not exist on a 16550A */

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xc0  /* both bits set: a 16550A with working FIFOs */

#define FCR_ENABLE    0x01
#define FCR_CLEAR_RX  0x02
#define FCR_TRIGGER   0xc0

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

struct uart {
	pthread_mutex_t lock;
	struct irq_line irq;
	uart_tx_fn tx;
	void *tx_opaque;

	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t fcr;            /* FCR_ENABLE and FCR_TRIGGER bits as written */
	bool overrun;           /* LSR.OE, cleared by reading LSR */
	bool thre_pending;      /* THRE interrupt latched, see uart_update_thre */
	uint8_t msr_lines;      /* MSR bits 4-7 as last seen */
	uint8_t msr_delta;      /* MSR bits 0-3, cleared by reading MSR */
	uint8_t rbr;            /* last byte read, what an empty RBR returns */

	uint8_t rx[UART_FIFO_SIZE];
	unsigned int rx_head;   /* index of the oldest byte */
	unsigned int rx_count;

	int irq_level;
	counter_t ctr[UART_CTR_NR];   /* written under lock, read without */
};

static unsigned int uart_rx_capacity(const struct uart *u)
{
	return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* Append one byte; false (and the byte lost) when the FIFO is full. */
static bool uart_rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count >= uart_rx_capacity(u))
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	if (u->rx_count > 0) {
		u->rbr = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
		counter_inc(&u->ctr[UART_CTR_READ_COUNT]);
	} else {
		counter_inc(&u->ctr[UART_CTR_MISSED_READ_COUNT]);
	}
	return u->rbr;
}

/* The modem status inputs.  With nothing real behind them we present a
 * terminal that is connected and ready (DCD, DSR, CTS), so that software
 * doing hardware flow control transmits.  In loopback the inputs are wired
 * to the MCR outputs, which is what Linux's probe checks. */
static uint8_t uart_msr_lines(const struct uart *u)
{
	uint8_t m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (uint8_t)(((m & MCR_RTS) ? MSR_CTS : 0) |
			 ((m & MCR_DTR) ? MSR_DSR : 0) |
			 ((m & MCR_OUT1) ? MSR_RI : 0) |
			 ((m & MCR_OUT2) ? MSR_DCD : 0));
}

/* Latch the delta bits for whatever the last MCR write changed. */
static void uart_msr_update(struct uart *u)
{
	uint8_t now = uart_msr_lines(u);
	uint8_t changed = now ^ u->msr_lines;

	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if ((changed & MSR_RI) && !(now & MSR_RI))
		u->msr_delta |= MSR_TERI;   /* trailing edge only */
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	u->msr_lines = now;
}

/* The highest-priority pending interrupt, as IIR bits 0-3. */
static uint8_t uart_iir_id(const struct uart *u)
{
	if ((u->ier & IER_ELSI) && u->overrun)
		return IIR_RLSI;
	if ((u->ier & IER_ERBFI) && u->rx_count > 0)
		return IIR_RDI;
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRI;
	if ((u->ier & IER_EDSSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

static void uart_update_irq(struct uart *u)
{
	int level = uart_iir_id(u) != IIR_NO_INT &&
		    (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void uart_write_thr(struct uart *u, uint8_t val)
{
	/* Writing THR clears a THRE interrupt... */
	u->thre_pending = false;
	if (u->mcr & MCR_LOOP) {
		if (!uart_rx_push(u, val)) {
			u->overrun = true;
			counter_inc(&u->ctr[UART_CTR_MISSED_WRITE_COUNT]);
		}
	} else if (u->tx) {
		u->tx(u->tx_opaque, val);
		counter_inc(&u->ctr[UART_CTR_WRITE_COUNT]);
	}
	/* ...and since the byte left at once, THR is empty again, which
	 * raises it anew while the guest has it enabled. */
	if (u->ier & IER_ETBEI)
		u->thre_pending = true;
}

/* Enabling ETBEI while THR is empty raises THRE at once.  Linux relies on
 * this twice at startup: it toggles IER.ETBEI to check that THRE is
 * re-asserted (else it assumes a buggy UART and polls), and it starts every
 * transmission by setting ETBEI and waiting for the interrupt. */
static void uart_write_ier(struct uart *u, uint8_t val)
{
	uint8_t old = u->ier;

	u->ier = val & IER_MASK;
	if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI))
		u->thre_pending = true;
	else if (!(u->ier & IER_ETBEI))
		u->thre_pending = false;
}

static void uart_write_fcr(struct uart *u, uint8_t val)
{
	/* Toggling the FIFO enable empties the FIFOs; the other bits only
	 * take effect while FIFOs are (being) enabled. */
	if ((val ^ u->fcr) & FCR_ENABLE)
		uart_rx_clear(u);
	if (!(val & FCR_ENABLE)) {
		u->fcr = 0;
		return;
	}
	if (val & FCR_CLEAR_RX)
		uart_rx_clear(u);
	/* FCR_CLEAR_TX: the transmit side is always empty. */
	u->fcr = val & (FCR_ENABLE | FCR_TRIGGER);
}

static void uart_write_mcr(struct uart *u, uint8_t val)
{
	u->mcr = val & MCR_MASK;
	uart_msr_update(u);
}

static void uart_write(struct uart *u, unsigned int reg, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			u->dll = val;
		else
			uart_write_thr(u, val);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = val;
		else
			uart_write_ier(u, val);
		break;
	case REG_IIR_FCR:
		uart_write_fcr(u, val);
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		uart_write_mcr(u, val);
		break;
	case REG_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR are read-only (LSR writes are a factory test
		 * mode on real parts); ignore. */
		break;
	}
}

static uint8_t uart_read_iir(struct uart *u)
{
	uint8_t id = uart_iir_id(u);

	/* Reading IIR acknowledges THRE when THRE is what it reports. */
	if (id == IIR_THRI)
		u->thre_pending = false;
	/* Bits 4 and 5 stay 0: Linux's probe takes bit 5 for a 16750's
	 * 64-byte FIFO and bit 4 for a National Semiconductor part. */
	return (uint8_t)(id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0));
}

static uint8_t uart_read_lsr(struct uart *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT;

	if (u->rx_count > 0)
		lsr |= LSR_DR;
	if (u->overrun)
		lsr |= LSR_OE;
	u->overrun = false;
	return lsr;
}

static uint8_t uart_read_msr(struct uart *u)
{
	uint8_t msr = (uint8_t)(u->msr_lines | u->msr_delta);

	u->msr_delta = 0;
	return msr;
}

static uint8_t uart_read(struct uart *u, unsigned int reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		return dlab ? u->dll : uart_rx_pop(u);
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR:
		return uart_read_iir(u);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return uart_read_lsr(u);
	case REG_MSR:
		return uart_read_msr(u);
	case REG_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

/* An access wider than a byte is split into byte accesses to consecutive
 * registers, as the ISA bus does for an 8-bit device.  The bus only passes
 * accesses that fit the 8-port range, but offsets are checked anyway. */
void uart_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t reg = offset + i;

		if (offset > REG_SCR || reg > REG_SCR) {  /* also if it wrapped */
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (is_write)
			uart_write(u, (unsigned int)reg, data[i]);
		else
			data[i] = uart_read(u, (unsigned int)reg);
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

/* Room for host input.  None in loopback mode: the receiver is cut off
 * from the outside then, and holding the bytes back loses nothing. */
static size_t uart_rx_room(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return 0;
	return uart_rx_capacity(u) - u->rx_count;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t taken;

	pthread_mutex_lock(&u->lock);
	taken = uart_rx_room(u);
	if (taken > n)
		taken = n;
	for (size_t i = 0; i < taken; i++)
		uart_rx_push(u, buf[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return taken;
}

size_t uart_rx_space(struct uart *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = uart_rx_room(u);
	pthread_mutex_unlock(&u->lock);
	return room;
}

struct uart *uart_create(const struct irq_line *irq, uart_tx_fn tx, void *tx_opaque)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	if (pthread_mutex_init(&u->lock, NULL) != 0) {
		free(u);
		return NULL;
	}
	if (irq)
		u->irq = *irq;
	u->tx = tx;
	u->tx_opaque = tx_opaque;
	/* Reset state: 8N1 is the guest's business; registers start at 0 as
	 * after a master reset, the modem inputs as a ready terminal. */
	u->msr_lines = uart_msr_lines(u);
	irq_line_set(&u->irq, 0);
	return u;
}

void uart_read_counters(const struct uart *u, uint64_t *out)
{
	counters_read(u->ctr, out, UART_CTR_NR);
}

void uart_destroy(struct uart *u)
{
	if (u == NULL)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}
