/* Address buses for port I/O and MMIO exits.  Devices register a range and a
 * handler before the vCPUs start; the table is read-only afterwards, so a
 * lookup needs no lock.  Each device serialises its own state. */
#ifndef LANDLORD_DEVICES_BUS_H
#define LANDLORD_DEVICES_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the range's base; data holds len (1..8) bytes,
 * little-endian.  On a read the handler fills data. */
typedef void (*bus_access_fn)(void *opaque, uint64_t offset, uint8_t *data,
			      uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_access_fn fn;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name;          /* "pio" or "mmio", for messages */
	int nr;
	struct bus_range ranges[BUS_MAX_RANGES];  /* sorted by base */
};

void bus_init(struct bus *b, const char *name);
/* 0, or -1 (with a warning) if the range is empty, overflows, overlaps
 * another range or the table is full. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_access_fn fn,
		 void *opaque, const char *name);
/* The range holding [addr, addr+len), or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint32_t len);
/* Dispatch an access.  Returns false when no device claims it; then a read
 * is filled with all-ones, as on a real bus with nothing behind it. */
bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write);

#endif
