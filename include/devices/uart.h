/* 16550A UART (COM1): 8 registers, 16-byte FIFOs, interrupt on receive,
 * transmit-empty and line status, as Linux's 8250 driver expects. */
#ifndef LANDLORD_DEVICES_UART_H
#define LANDLORD_DEVICES_UART_H

#include <stddef.h>
#include <stdint.h>
#include "base/counter.h"
#include "devices/bus.h"
#include "devices/irq.h"

struct uart;

/* Counters (base/counter.h), named as Firecracker's "uart" metrics:
 * read_count: bytes the guest took from the receive FIFO; write_count:
 * bytes it transmitted; missed_read_count: reads of an empty receive FIFO;
 * missed_write_count: bytes lost to a full FIFO (loopback overrun). */
#define UART_COUNTERS(X) \
	X(READ_COUNT, "read_count") \
	X(WRITE_COUNT, "write_count") \
	X(MISSED_READ_COUNT, "missed_read_count") \
	X(MISSED_WRITE_COUNT, "missed_write_count")

enum uart_counter {
#define UART_CTR_ENUM(id, name) UART_CTR_##id,
	UART_COUNTERS(UART_CTR_ENUM)
#undef UART_CTR_ENUM
	UART_CTR_NR
};

/* tx is called (from a vCPU thread, with the UART's lock held) for every
 * byte the guest transmits. */
typedef void (*uart_tx_fn)(void *opaque, uint8_t byte);

struct uart *uart_create(const struct irq_line *irq, uart_tx_fn tx, void *tx_opaque);
void uart_destroy(struct uart *u);
/* The bus handler; register it for 8 ports with the uart as opaque. */
void uart_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Queue input bytes for the guest (from the event loop).  Returns how many
 * were taken; the rest must be offered again once uart_rx_space() > 0. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n);
size_t uart_rx_space(struct uart *u);
/* out[UART_CTR_NR]: the counters so far; any thread, no lock. */
void uart_read_counters(const struct uart *u, uint64_t *out);

#endif
