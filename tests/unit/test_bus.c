/* Unit tests for the address bus: registration, overlap rejection, lookup
 * at the edges of ranges and of the address space, and dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "devices/bus.h"

struct call {
	int count;
	void *opaque;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t data[8];
};

static void record(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct call *c = opaque;

	c->count++;
	c->opaque = opaque;
	c->offset = offset;
	c->len = len;
	c->is_write = is_write;
	if (is_write) {
		memcpy(c->data, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xa0 + i);
	}
}

static void test_register_sorted(void **state)
{
	struct bus b;
	struct call c = { 0 };

	(void)state;
	bus_init(&b, "pio");
	assert_int_equal(bus_register(&b, 0x3f8, 8, record, &c, "uart"), 0);
	assert_int_equal(bus_register(&b, 0x60, 5, record, &c, "i8042"), 0);
	assert_int_equal(bus_register(&b, 0xcf8, 8, record, &c, "pci"), 0);
	assert_int_equal(bus_register(&b, 0x70, 2, record, &c, "rtc"), 0);
	assert_int_equal(b.nr, 4);
	for (int i = 1; i < b.nr; i++)
		assert_true(b.ranges[i - 1].base < b.ranges[i].base);

	assert_string_equal(bus_find(&b, 0x3f8, 1)->name, "uart");
	assert_string_equal(bus_find(&b, 0x3ff, 1)->name, "uart");
	assert_string_equal(bus_find(&b, 0x64, 1)->name, "i8042");
	assert_string_equal(bus_find(&b, 0x71, 1)->name, "rtc");
	assert_string_equal(bus_find(&b, 0xcfc, 4)->name, "pci");
	assert_null(bus_find(&b, 0x65, 1));
	assert_null(bus_find(&b, 0x5f, 1));
	assert_null(bus_find(&b, 0x0, 1));
	assert_null(bus_find(&b, 0x400, 1));
	assert_null(bus_find(&b, 0xffff, 2));
}

static void test_overlap_rejected(void **state)
{
	struct bus b;
	struct call c = { 0 };

	(void)state;
	bus_init(&b, "pio");
	assert_int_equal(bus_register(&b, 0x100, 0x10, record, &c, "a"), 0);
	/* identical, front overlap, back overlap, containing, contained */
	assert_int_equal(bus_register(&b, 0x100, 0x10, record, &c, "x"), -1);
	assert_int_equal(bus_register(&b, 0xf8, 0x10, record, &c, "x"), -1);
	assert_int_equal(bus_register(&b, 0x10f, 0x10, record, &c, "x"), -1);
	assert_int_equal(bus_register(&b, 0x0, 0x1000, record, &c, "x"), -1);
	assert_int_equal(bus_register(&b, 0x104, 0x2, record, &c, "x"), -1);
	assert_int_equal(bus_register(&b, 0xff, 0x2, record, &c, "x"), -1);
	/* exactly adjacent on both sides is fine */
	assert_int_equal(bus_register(&b, 0xf0, 0x10, record, &c, "below"), 0);
	assert_int_equal(bus_register(&b, 0x110, 0x10, record, &c, "above"), 0);
	assert_int_equal(b.nr, 3);
	assert_string_equal(bus_find(&b, 0xff, 1)->name, "below");
	assert_string_equal(bus_find(&b, 0x100, 1)->name, "a");
	assert_string_equal(bus_find(&b, 0x110, 1)->name, "above");
}

static void test_bad_ranges(void **state)
{
	struct bus b;
	struct call c = { 0 };

	(void)state;
	bus_init(&b, "mmio");
	assert_int_equal(bus_register(&b, 0x1000, 0, record, &c, "empty"), -1);
	assert_int_equal(bus_register(&b, UINT64_MAX, 2, record, &c, "wrap"), -1);
	assert_int_equal(bus_register(&b, 2, UINT64_MAX, record, &c, "wrap"), -1);
	assert_int_equal(bus_register(&b, 0x1000, 0x10, NULL, &c, "nofn"), -1);
	assert_int_equal(b.nr, 0);
	/* A range ending exactly at the top of the address space is valid. */
	assert_int_equal(bus_register(&b, UINT64_MAX - 7, 8, record, &c, "top"), 0);
	assert_int_equal(bus_register(&b, UINT64_MAX, 1, record, &c, "x"), -1);
	assert_non_null(bus_find(&b, UINT64_MAX - 3, 4));
	assert_non_null(bus_find(&b, UINT64_MAX, 1));
	assert_null(bus_find(&b, UINT64_MAX, 2));      /* would wrap */
	assert_null(bus_find(&b, UINT64_MAX - 1, 8));
	/* The whole space in one range. */
	bus_init(&b, "mmio");
	assert_int_equal(bus_register(&b, 0, UINT64_MAX, record, &c, "all"), 0);
	assert_non_null(bus_find(&b, UINT64_MAX - 8, 8));
	assert_null(bus_find(&b, UINT64_MAX - 7, 8));  /* last byte is not in it */
}

static void test_table_full(void **state)
{
	struct bus b;
	struct call c = { 0 };

	(void)state;
	bus_init(&b, "pio");
	/* Fill in descending order to exercise insertion at the front. */
	for (int i = BUS_MAX_RANGES - 1; i >= 0; i--)
		assert_int_equal(bus_register(&b, (uint64_t)i * 16, 16, record, &c, "r"), 0);
	assert_int_equal(b.nr, BUS_MAX_RANGES);
	assert_int_equal(bus_register(&b, 0x10000, 1, record, &c, "more"), -1);
	for (int i = 0; i < BUS_MAX_RANGES; i++) {
		assert_int_equal(b.ranges[i].base, (uint64_t)i * 16);
		assert_ptr_equal(bus_find(&b, (uint64_t)i * 16 + 15, 1), &b.ranges[i]);
	}
}

static void test_access_dispatch(void **state)
{
	struct bus b;
	struct call c = { 0 };
	uint8_t data[8];

	(void)state;
	bus_init(&b, "pio");
	assert_int_equal(bus_register(&b, 0x10, 8, record, &c, "dev"), 0);

	memset(data, 0, sizeof(data));
	assert_true(bus_access(&b, 0x14, data, 4, false));
	assert_int_equal(c.count, 1);
	assert_ptr_equal(c.opaque, &c);
	assert_int_equal(c.offset, 4);
	assert_int_equal(c.len, 4);
	assert_false(c.is_write);
	assert_int_equal(data[0], 0xa0);
	assert_int_equal(data[3], 0xa3);

	data[0] = 0x12;
	data[1] = 0x34;
	assert_true(bus_access(&b, 0x10, data, 2, true));
	assert_int_equal(c.count, 2);
	assert_int_equal(c.offset, 0);
	assert_true(c.is_write);
	assert_int_equal(c.data[0], 0x12);
	assert_int_equal(c.data[1], 0x34);

	assert_true(bus_access(&b, 0x10, data, 8, false));
	assert_int_equal(c.len, 8);
}

static void test_access_unclaimed(void **state)
{
	struct bus b;
	struct call c = { 0 };
	uint8_t data[16];

	(void)state;
	bus_init(&b, "pio");
	assert_int_equal(bus_register(&b, 0x10, 8, record, &c, "dev"), 0);

	for (uint32_t len = 1; len <= 8; len++) {
		memset(data, 0, sizeof(data));
		assert_false(bus_access(&b, 0x100, data, len, false));
		for (uint32_t i = 0; i < len; i++)
			assert_int_equal(data[i], 0xff);
		assert_int_equal(data[len], 0);   /* nothing past len */
	}
	/* Straddling the end or the start of a range is unclaimed. */
	memset(data, 0, sizeof(data));
	assert_false(bus_access(&b, 0x16, data, 4, false));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_false(bus_access(&b, 0x0e, data, 4, false));
	assert_false(bus_access(&b, 0x16, data, 4, true));
	assert_false(bus_access(&b, 0x11, data, 8, false));
	assert_int_equal(c.count, 0);
	/* Exactly the last bytes is claimed. */
	assert_true(bus_access(&b, 0x14, data, 4, false));
	assert_int_equal(c.count, 1);

	/* Sizes other than 1..8 are refused outright; data is untouched. */
	memset(data, 0x5a, sizeof(data));
	assert_false(bus_access(&b, 0x10, data, 0, false));
	assert_false(bus_access(&b, 0x10, data, 9, false));
	assert_false(bus_access(&b, 0x10, data, 16, true));
	assert_false(bus_access(&b, 0x10, data, UINT32_MAX, false));
	for (size_t i = 0; i < sizeof(data); i++)
		assert_int_equal(data[i], 0x5a);
	assert_int_equal(c.count, 1);
	assert_null(bus_find(&b, 0x10, 0));

	/* An empty bus claims nothing. */
	bus_init(&b, "empty");
	assert_false(bus_access(&b, 0, data, 1, false));
	assert_int_equal(data[0], 0xff);
}

/* Reference: linear search over the registered ranges. */
static int linear_find(const struct bus *b, uint64_t addr, uint32_t len)
{
	for (int i = 0; i < b->nr; i++) {
		const struct bus_range *r = &b->ranges[i];

		if (addr >= r->base && len <= r->len && addr - r->base <= r->len - len)
			return i;
	}
	return -1;
}

static bool linear_overlaps(const struct bus *b, uint64_t base, uint64_t len)
{
	for (int i = 0; i < b->nr; i++) {
		const struct bus_range *r = &b->ranges[i];

		if (base <= r->base + (r->len - 1) && r->base <= base + (len - 1))
			return true;
	}
	return false;
}

static uint64_t rnd64(void)
{
	return ((uint64_t)(unsigned int)rand() << 33) ^
	       ((uint64_t)(unsigned int)rand() << 11) ^ (uint64_t)(unsigned int)rand();
}

/* Random registrations and lookups checked against the linear reference.
 * Rejected registrations print warnings, thousands of them, so stderr is
 * silenced meanwhile and mismatches are only counted; the asserts come once
 * stderr is back, so that a failure can be read. */
static int fuzz_round(void)
{
	struct call c = { 0 };
	struct bus b;
	int bad = 0;

	bus_init(&b, "fuzz");
	/* A small address space so that overlaps are common. */
	for (int i = 0; i < 150; i++) {
		uint64_t base = (uint64_t)(rand() % 2048);
		uint64_t len = (uint64_t)(rand() % 64);
		bool expect_ok = len > 0 && b.nr < BUS_MAX_RANGES &&
				 !linear_overlaps(&b, base, len);

		if (bus_register(&b, base, len, record, &c, "f") != (expect_ok ? 0 : -1))
			bad++;
	}
	for (int i = 1; i < b.nr; i++)
		if (b.ranges[i - 1].base + b.ranges[i - 1].len > b.ranges[i].base)
			bad++;
	for (int i = 0; i < 2000; i++) {
		uint64_t addr = (i & 7) ? (uint64_t)(rand() % 2200) : rnd64();
		uint32_t len = (uint32_t)(rand() % 8) + 1;
		const struct bus_range *r = bus_find(&b, addr, len);
		int ref = linear_find(&b, addr, len);

		if (r != (ref < 0 ? NULL : &b.ranges[ref]))
			bad++;
	}
	return bad;
}

static void test_fuzz_against_linear(void **state)
{
	int saved = dup(2);
	int devnull = open("/dev/null", O_WRONLY);
	int bad = 0;

	(void)state;
	assert_true(saved >= 0 && devnull >= 0);
	dup2(devnull, 2);
	close(devnull);
	srand(12345);
	for (int round = 0; round < 200; round++)
		bad += fuzz_round();
	dup2(saved, 2);
	close(saved);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_sorted),
		cmocka_unit_test(test_overlap_rejected),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_access_dispatch),
		cmocka_unit_test(test_access_unclaimed),
		cmocka_unit_test(test_fuzz_against_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
