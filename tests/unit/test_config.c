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

static void disks(void **state)
{
	struct vm_config c;
	char err[256];
	char a[] = "path=/tmp/a.img", b[] = "path=/tmp/b.img,ro,id=data,transport=mmio";
	char dup[] = "path=/tmp/c.img,id=data", nopath[] = "ro,id=x", badkey[] = "path=/x,size=1";
	char badtp[] = "path=/x,transport=usb", badid[] = "path=/x,id=a/b";
	char longid[] = "path=/x,id=abcdefghijklmnopqrstu";

	vm_config_defaults(&c);
	assert_int_equal(vm_config_add_disk(&c, a, err, sizeof(err)), 0);
	assert_string_equal(c.disks[0].path, "/tmp/a.img");
	assert_string_equal(c.disks[0].id, "vda");
	assert_false(c.disks[0].read_only);
	assert_int_equal(vm_config_disk_transport(&c, 0), TRANSPORT_PCI);
	assert_int_equal(vm_config_add_disk(&c, b, err, sizeof(err)), 0);
	assert_true(c.disks[1].read_only);
	assert_string_equal(c.disks[1].id, "data");
	assert_int_equal(vm_config_disk_transport(&c, 1), TRANSPORT_MMIO);
	assert_int_equal(vm_config_add_disk(&c, dup, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(vm_config_add_disk(&c, nopath, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path"));
	assert_int_equal(vm_config_add_disk(&c, badkey, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "size=1"));
	assert_int_equal(vm_config_add_disk(&c, badtp, err, sizeof(err)), -1);
	assert_int_equal(vm_config_add_disk(&c, badid, err, sizeof(err)), -1);
	assert_int_equal(vm_config_add_disk(&c, longid, err, sizeof(err)), -1);
	assert_int_equal(c.nr_disks, 2);

	assert_int_equal(vm_config_set_transport(&c, "mmio", err, sizeof(err)), 0);
	assert_int_equal(vm_config_disk_transport(&c, 0), TRANSPORT_MMIO);
	assert_int_equal(vm_config_set_transport(&c, "isa", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_rng(&c, NULL, err, sizeof(err)), 0);
	assert_true(c.rng);
	assert_int_equal(vm_config_rng_transport(&c), TRANSPORT_MMIO);
	assert_int_equal(vm_config_set_rng(&c, "pci", err, sizeof(err)), 0);
	assert_int_equal(vm_config_rng_transport(&c), TRANSPORT_PCI);
	assert_int_equal(vm_config_set_rng(&c, "usb", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_console_device(&c, "virtio", err, sizeof(err)), 0);
	assert_int_equal(c.console_device, CONSOLE_DEVICE_VIRTIO);
	assert_int_equal(vm_config_set_console_device(&c, "tty", err, sizeof(err)), -1);
}

static void disk_files(void **state)
{
	struct vm_config c;
	char err[256];
	char missing[] = "path=/nonexistent/disk.img", dir[] = "path=/tmp";

	vm_config_defaults(&c);
	c.kernel_path = "/proc/self/exe";
	assert_int_equal(vm_config_add_disk(&c, missing, err, sizeof(err)), 0);
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	vm_config_defaults(&c);
	c.kernel_path = "/proc/self/exe";
	assert_int_equal(vm_config_add_disk(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(vm_config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file or block device"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options),
		cmocka_unit_test(validate),
		cmocka_unit_test(disks),
		cmocka_unit_test(disk_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
