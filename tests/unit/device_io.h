/* Helpers shared by the device unit tests: byte/word accessors through a
 * device's bus handler, a power_ctl that counts requests, a seeded fuzzer. */
#ifndef LANDLORD_TESTS_DEVICE_IO_H
#define LANDLORD_TESTS_DEVICE_IO_H

/* Unit tests for the small platform devices: i8042, RTC, ACPI PM block and
 * the PCI configuration mechanism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <stdbool.h>

#include "arch/x86/layout.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/rtc.h"

#define KBD_DATA 0
#define KBD_CMD 4

/* ---- helpers ---- */

struct power_log {
	int off;
	int reset;
	struct acpi_pm *reenter;   /* touched from inside the callback */
};

static inline void power_cb(void *opaque, enum power_event ev)
{
	struct power_log *p = opaque;

	if (ev == POWER_OFF)
		p->off++;
	else if (ev == POWER_RESET)
		p->reset++;
	if (p->reenter) {
		uint8_t d[2];

		/* Would deadlock if called with the device lock held. */
		acpi_pm_io(p->reenter, 4, d, 2, false);
	}
}

typedef void (*io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		      bool is_write);

static inline void out8(io_fn fn, void *dev, uint64_t off, uint8_t v)
{
	fn(dev, off, &v, 1, true);
}

static inline uint8_t in8(io_fn fn, void *dev, uint64_t off)
{
	uint8_t v = 0;

	fn(dev, off, &v, 1, false);
	return v;
}

static inline void outn(io_fn fn, void *dev, uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fn(dev, off, d, len, true);
}

static inline uint32_t inn(io_fn fn, void *dev, uint64_t off, uint32_t len)
{
	uint8_t d[4] = { 0 };

	fn(dev, off, d, len, false);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
	       (uint32_t)d[3] << 24;
}

/* Hammer a device with random accesses of every width at offsets in and
 * around its range. */
static inline void fuzz_device(io_fn fn, void *dev, uint64_t span, unsigned int seed, int n)
{
	uint8_t d[8];

	srand(seed);
	for (int i = 0; i < n; i++) {
		uint64_t off = (uint64_t)rand() % span;
		uint32_t len = (uint32_t)(rand() % 8) + 1;

		if (off + len > span)
			len = (uint32_t)(span - off);
		for (size_t k = 0; k < sizeof(d); k++)
			d[k] = (uint8_t)rand();
		fn(dev, off, d, len, rand() & 1);
	}
}


#endif
