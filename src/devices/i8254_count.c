/* i8254 counting arithmetic: see include/devices/i8254_count.h.  The
 * simplifications it makes (mode 3 with an odd count, BCD digits above 9)
 * are listed at the top of i8254.c. */
#include "devices/i8254_count.h"

#include "devices/i8254.h"

/* 128 bits: ns * I8254_HZ overflows 64 bits after 4.3 hours. */
uint64_t i8254_ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * I8254_HZ / NSEC_PER_SEC);
}

uint64_t i8254_ticks_to_ns(uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * NSEC_PER_SEC +
				I8254_HZ - 1) / I8254_HZ;

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

uint64_t i8254_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint32_t i8254_count_at(unsigned int mode, uint32_t n, uint32_t modulus, uint64_t t)
{
	uint64_t ph, hi;

	switch (mode) {
	case 2:
		return (uint32_t)((n - t % n) % modulus);
	case 3:
		/* Down by two, through the high half and then the low half. */
		ph = t % n;
		hi = (n + 1) / 2;
		return (uint32_t)((n - 2 * (ph < hi ? ph : ph - hi)) % modulus);
	default:
		/* Modes 0, 1, 4, 5 count on past zero, wrapping. */
		return (uint32_t)((n + modulus - t % modulus) % modulus);
	}
}

bool i8254_out_at(unsigned int mode, uint32_t n, uint64_t t)
{
	switch (mode) {
	case 0:
	case 1:
		return t >= n;
	case 2:
		/* Low for the last tick of each period (a count of 1 is
		 * illegal in this mode; OUT then just stays high). */
		return n < 2 || t % n != n - 1;
	case 3:
		return t % n < (n + 1) / 2;
	default:
		/* Modes 4 and 5: one tick low when the count runs out. */
		return t != n;
	}
}

uint32_t i8254_bcd_decode(uint16_t raw)
{
	uint32_t n = 0;

	for (int shift = 12; shift >= 0; shift -= 4) {
		uint32_t d = (raw >> shift) & 0xf;

		n = n * 10 + (d > 9 ? 9 : d);
	}
	return n;
}

uint16_t i8254_bcd_encode(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 |
			  (v / 10 % 10) << 4 | (v % 10));
}
