/* The monotonic clock in nanoseconds: what the timers, deadlines and rate
 * limits of the devices and the event loop count in. */
#ifndef LANDLORD_BASE_CLOCK_H
#define LANDLORD_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ull

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif
