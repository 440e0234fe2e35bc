/* guest_mem: the layout around the PCI hole and the range checks that every
 * guest-supplied address goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/guest_mem.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void small_ram_is_one_region(void **state)
{
	struct guest_mem gm;

	assert_int_equal(gm_map(&gm, 64 * MIB, 3 * GIB), 0);
	assert_int_equal(gm.nr_regions, 1);
	assert_int_equal(gm_low_end(&gm), 64 * MIB);
	assert_non_null(gm_ptr(&gm, 0, 64 * MIB));
	assert_non_null(gm_ptr(&gm, 64 * MIB - 1, 1));
	assert_null(gm_ptr(&gm, 64 * MIB - 1, 2));
	assert_null(gm_ptr(&gm, 64 * MIB, 0));
	assert_null(gm_ptr(&gm, UINT64_MAX, 1));
	assert_null(gm_ptr(&gm, 1, UINT64_MAX));
	gm_unmap(&gm);
}

static void large_ram_splits_around_hole(void **state)
{
	struct guest_mem gm;
	uint8_t *low, *high;

	assert_int_equal(gm_map(&gm, 4 * GIB, 3 * GIB), 0);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.regions[0].size, 3 * GIB);
	assert_int_equal(gm.regions[1].gpa, 4 * GIB);
	assert_int_equal(gm.regions[1].size, 1 * GIB);
	assert_null(gm_ptr(&gm, 3 * GIB, 1));              /* the hole */
	assert_null(gm_ptr(&gm, 3 * GIB - 4096, 8192));    /* straddles it */
	low = gm_ptr(&gm, 3 * GIB - 1, 1);
	high = gm_ptr(&gm, 4 * GIB, 1);
	assert_non_null(low);
	assert_ptr_equal(high, low + 1);                   /* one mapping */
	assert_null(gm_ptr(&gm, 5 * GIB, 1));
	assert_null(gm_ptr(&gm, 5 * GIB - 1, 2));
	gm_unmap(&gm);
}

static void read_write_check_ranges(void **state)
{
	struct guest_mem gm;
	uint32_t v = 0x12345678, r = 0;

	assert_int_equal(gm_map(&gm, 16 * MIB, 3 * GIB), 0);
	assert_int_equal(gm_write(&gm, 0x1000, &v, 4), 0);
	assert_int_equal(gm_read(&gm, 0x1000, &r, 4), 0);
	assert_int_equal(r, v);
	assert_int_equal(gm_write(&gm, 16 * MIB - 2, &v, 4), -1);
	assert_int_equal(gm_read(&gm, 16 * MIB - 2, &r, 4), -1);
	gm_unmap(&gm);
}

static void bad_arguments(void **state)
{
	struct guest_mem gm;

	assert_int_equal(gm_map(&gm, 0, 3 * GIB), -1);
	assert_int_equal(gm_map(&gm, 16 * MIB, 5 * GIB), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_ram_is_one_region),
		cmocka_unit_test(large_ram_splits_around_hole),
		cmocka_unit_test(read_write_check_ranges),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
