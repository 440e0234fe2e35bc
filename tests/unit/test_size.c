#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/size.h"

static void parses_units(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("2g", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("4KiB", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("65536", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("100B", &v), 0);
	assert_int_equal(v, 100);
}

static void rejects_garbage(void **state)
{
	uint64_t v;
	const char *bad[] = { "", "M", "-1M", " 1M", "1.5G", "1X", "1MM", "1Mx",
			      "99999999999999999999", "17179869184G", "0x10M", NULL };

	for (int i = 0; bad[i]; i++)
		assert_int_equal(parse_size(bad[i], &v), -1);
	assert_int_equal(parse_size(NULL, &v), -1);
}

static void formats(void **state)
{
	char b[32];

	format_size(512ULL << 20, b, sizeof(b));
	assert_string_equal(b, "512M");
	format_size(3ULL << 30, b, sizeof(b));
	assert_string_equal(b, "3G");
	format_size(1000, b, sizeof(b));
	assert_string_equal(b, "1000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_units),
		cmocka_unit_test(rejects_garbage),
		cmocka_unit_test(formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
