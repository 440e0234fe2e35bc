/* Address buses: a small table of non-overlapping ranges kept sorted by base,
 * so that a lookup is a binary search.  The table is filled before the vCPUs
 * start and only read afterwards, which is why lookups take no lock. */
#include "base/log.h"
#include "devices/bus.h"

#include <stdio.h>
#include <string.h>

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

/* Index of the first range whose base is greater than addr (0..nr). */
static int bus_upper_bound(const struct bus *b, uint64_t addr)
{
	int lo = 0, hi = b->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Last valid address of a range; the caller has checked len >= 1 and that
 * base + len - 1 does not wrap. */
static uint64_t range_last(uint64_t base, uint64_t len)
{
	return base + (len - 1);
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_access_fn fn,
		 void *opaque, const char *name)
{
	const char *what = name ? name : "?";
	int pos;

	if (len == 0 || fn == NULL || base > UINT64_MAX - (len - 1)) {
		log_error("%s bus: bad range for %s (%#llx+%#llx)",
			  b->name, what, (unsigned long long)base,
			  (unsigned long long)len);
		return -1;
	}
	if (b->nr < 0 || b->nr >= BUS_MAX_RANGES) {
		log_error("%s bus: no room for %s", b->name, what);
		return -1;
	}

	/* Ranges are disjoint and sorted, so only the neighbours at the
	 * insertion point can overlap the new one. */
	pos = bus_upper_bound(b, base);
	if (pos > 0) {
		const struct bus_range *prev = &b->ranges[pos - 1];

		if (range_last(prev->base, prev->len) >= base)
			goto overlap;
	}
	if (pos < b->nr && b->ranges[pos].base <= range_last(base, len))
		goto overlap;

	memmove(&b->ranges[pos + 1], &b->ranges[pos],
		(size_t)(b->nr - pos) * sizeof(b->ranges[0]));
	b->ranges[pos] = (struct bus_range){
		.base = base, .len = len, .fn = fn, .opaque = opaque, .name = name,
	};
	b->nr++;
	return 0;

overlap:
	log_error("%s bus: %s (%#llx+%#llx) overlaps a registered range",
		  b->name, what, (unsigned long long)base, (unsigned long long)len);
	return -1;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint32_t len)
{
	const struct bus_range *r;
	int pos;

	if (len == 0 || b->nr <= 0 || b->nr > BUS_MAX_RANGES)
		return NULL;
	pos = bus_upper_bound(b, addr);
	if (pos == 0)
		return NULL;
	r = &b->ranges[pos - 1];
	/* addr >= r->base here.  The whole access must fit: an access that
	 * runs past the end of a range is not the device's to answer.  Written
	 * without addr + len so that nothing can wrap. */
	if (len > r->len || addr - r->base > r->len - len)
		return NULL;
	return r;
}

bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write)
{
	const struct bus_range *r;

	/* KVM never reports other sizes; refuse rather than trust a caller
	 * that does.  With an impossible size there is no buffer size we can
	 * rely on either, so data is left alone. */
	if (len < 1 || len > 8)
		return false;

	r = bus_find(b, addr, len);
	if (r == NULL) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
