/* The i8254's counting arithmetic, internal to src/devices/i8254*.c: what a
 * counter reads and where its OUT is as pure functions of the mode, the
 * period and the ticks counted, and the conversions between nanoseconds
 * and ticks and to and from BCD.  No state, no clock, no lock. */
#ifndef LANDLORD_DEVICES_I8254_COUNT_H
#define LANDLORD_DEVICES_I8254_COUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"   /* NSEC_PER_SEC */

/* Whole ticks in ns nanoseconds. */
uint64_t i8254_ns_to_ticks(uint64_t ns);
/* The first nanosecond by which ticks ticks have passed, saturated. */
uint64_t i8254_ticks_to_ns(uint64_t ticks);
uint64_t i8254_add_sat(uint64_t a, uint64_t b);

/* mode: 0-5 (6 and 7 already taken as 2 and 3); n: the period,
 * 1..modulus; modulus: 65536, or 10000 in BCD; t: ticks counted since the
 * count was loaded.  The counter's value, binary, 0..modulus-1 (0 stands
 * for the modulus). */
uint32_t i8254_count_at(unsigned int mode, uint32_t n, uint32_t modulus, uint64_t t);
/* OUT after t ticks, the gate high. */
bool i8254_out_at(unsigned int mode, uint32_t n, uint64_t t);

/* A written BCD count, binary; a digit above 9 is taken as 9. */
uint32_t i8254_bcd_decode(uint16_t raw);
/* v modulo 10000, BCD encoded. */
uint16_t i8254_bcd_encode(uint32_t v);

#endif
