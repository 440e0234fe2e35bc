/* Event counters for the metrics (vmm/metrics.h): 64-bit, monotonic, read
 * from another thread without a lock.
 *
 * Every counter has one writer at a time: a vCPU thread for its own exit
 * counters, or the holder of a device's lock for the device's.  So an
 * increment is a relaxed load and store (plain moves on x86-64), not a
 * locked read-modify-write, and costs no more than an ordinary add; the
 * atomic type only makes the reader's 64-bit load tear-free.  A reader may
 * see a value a few events old, never a torn or decreasing one. */
#ifndef LANDLORD_BASE_COUNTER_H
#define LANDLORD_BASE_COUNTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef _Atomic uint64_t counter_t;

/* Writer side: the caller is the counter's only writer right now. */
static inline void counter_add(counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void counter_inc(counter_t *c)
{
	counter_add(c, 1);
}

/* Reader side: any thread. */
static inline uint64_t counter_get(const counter_t *c)
{
	return atomic_load_explicit((counter_t *)c, memory_order_relaxed);
}

/* out[i] = c[i] for an array of n counters. */
static inline void counters_read(const counter_t *c, uint64_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = counter_get(&c[i]);
}

#endif
