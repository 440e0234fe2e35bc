#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "vmm/config.h"

static void options(void **state)
{
	struct vm_config c;
	char err[256];

	vm_config_defaults(&c);
	assert_int_equal(c.mem_size, VM_DEFAULT_MEMORY);
	assert_int_equal(c.nr_cpus, 1);
	assert_int_equal(vm_config_set_memory(&c, "1G", err, sizeof(err)), 0);
	assert_int_equal(c.mem_size, 1ULL << 30);
	assert_int_equal(vm_config_set_memory(&c, "8M", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too small"));
	assert_int_equal(vm_config_set_memory(&c, "16777217", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_memory(&c, "x", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_cpus(&c, "4", err, sizeof(err)), 0);
	assert_int_equal(c.nr_cpus, 4);
	assert_int_equal(vm_config_set_cpus(&c, "0", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_cpus(&c, "255", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_cpus(&c, "2x", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_cpus(&c, "", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_name(&c, "web-1.prod_a", err, sizeof(err)), 0);
	assert_string_equal(c.name, "web-1.prod_a");
	assert_int_equal(vm_config_set_name(&c, "../x", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_name(&c, "a/b", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_name(&c, "", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_console(&c, "none", err, sizeof(err)), 0);
	assert_int_equal(c.console, CONSOLE_NONE);
	assert_int_equal(vm_config_set_console(&c, "file:/tmp/x", err, sizeof(err)), 0);
	assert_int_equal(c.console, CONSOLE_FILE);
	assert_string_equal(c.console_path, "/tmp/x");
	assert_int_equal(vm_config_set_console(&c, "file:", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_on_reboot(&c, "restart", err, sizeof(err)), 0);
	assert_int_equal(c.on_reboot, REBOOT_RESTART);
	assert_int_equal(vm_config_set_on_reboot(&c, "never", err, sizeof(err)), -1);
}

static void validate(void **state)
{
	struct vm_config c;
	char err[256];

	vm_config_defaults(&c);
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no kernel"));
	c.kernel_path = "/nonexistent";
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), -1);
	c.kernel_path = "/";
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	c.kernel_path = "/proc/self/exe";
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), 0);
	c.mem_size = 1ULL << 50;
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than this host has"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options),
		cmocka_unit_test(validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
