/* The API's configuration before boot on a stub VM (no KVM needed): the
 * PUT/PATCH routes for the boot source, machine, drives, other devices and
 * the logger, called directly, and the --config-file path.  The stub VM is
 * in api_stub_vm.c; the server and the other routes in test_api.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api.h"
#include "base/log.h"
#include "api_stub_vm.h"

/* -------------------------------------------------------------- temp files */

static char tmp_dir[64];

/* A file in tmp_dir holding text; its path in a static buffer (one of 4). */
static const char *tmp_file(const char *name, const char *text)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];
	FILE *f;

	snprintf(p, 128, "%s/%s", tmp_dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static void make_tmp_dir(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/landlord-test-api-cfg-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
}

static void remove_tmp_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
	assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------ configuration before boot */

static void test_boot_source_and_machine(void **state)
{
	struct vm vm;
	const char *k;

	make_tmp_dir();
	stub_init(&vm, VM_STATE_NOT_STARTED);
	k = tmp_file("vmlinux", "kernel");
	expect(&vm, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 400, "no kernel");
	expect(&vm, "PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/k\"}", 400,
	       "/nonexistent/k");
	expect(&vm, "PUT", "/boot-source", "{\"boot_args\": \"x\"}", 400,
	       "missing field \"kernel_image_path\"");
	expectf(&vm, "PUT", "/boot-source", 400, "initrd_path", "{\"kernel_image_path\": \"%s\", "
		"\"initrd_path\": \"/nonexistent/i\"}", k);
	assert_null(vm.cfg.kernel_path);       /* a refused PUT changes nothing */
	expectf(&vm, "PUT", "/boot-source", 204, NULL, "{\"kernel_image_path\": \"%s\", "
		"\"boot_args\": \"console=ttyS0 test=x\"}", k);
	assert_string_equal(vm.cfg.kernel_path, k);
	assert_string_equal(vm.cfg.cmdline, "console=ttyS0 test=x");
	/* Replacing it many times keeps one copy (the rest are freed). */
	for (int i = 0; i < 100; i++)
		expectf(&vm, "PUT", "/boot-source", 204, NULL, "{\"kernel_image_path\": \"%s\"}", k);
	assert_null(vm.cfg.cmdline);

	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}", 204, NULL);
	assert_int_equal(vm.cfg.nr_cpus, 2);
	assert_true(vm.cfg.mem_size == 128ull << 20);
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 2}", 400, "mem_size_mib");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 128}", 400,
	       "vcpu_count");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 9, \"mem_size_mib\": 128}", 400,
	       "from 1 to 8");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 8}", 400,
	       "mem_size_mib");
	expect(&vm, "PUT", "/machine-config",
	       "{\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807}", 400, "mem_size_mib");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, "
	       "\"smt\": true}", 400, "smt");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, "
	       "\"cpu_template\": \"T2\"}", 400, "T2");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, "
	       "\"track_dirty_pages\": true}", 400, "snapshots");
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 64}", 400,
	       "must be an integer");
	expect(&vm, "PATCH", "/machine-config", "{\"mem_size_mib\": 64}", 204, NULL);
	assert_int_equal(vm.cfg.nr_cpus, 2);
	assert_true(vm.cfg.mem_size == 64ull << 20);
	expect(&vm, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64, "
	       "\"smt\": false, \"cpu_template\": \"None\", \"track_dirty_pages\": false, "
	       "\"huge_pages\": \"None\"}", 204, NULL);

	expect(&vm, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204, NULL);
	assert_int_equal(vm.state, VM_STATE_RUNNING);
	expectf(&vm, "PUT", "/boot-source", 400, "before InstanceStart",
		"{\"kernel_image_path\": \"%s\"}", k);
	expect(&vm, "PATCH", "/machine-config", "{\"mem_size_mib\": 32}", 400, "before InstanceStart");
	expect(&vm, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 400, "already running");
	vm_config_free(&vm.cfg);
	remove_tmp_dir();
}

static void test_drives(void **state)
{
	struct vm vm;
	const char *a, *b;
	struct api_reply r;
	json_t *d;

	make_tmp_dir();
	stub_init(&vm, VM_STATE_NOT_STARTED);
	a = tmp_file("a.img", "a");
	b = tmp_file("b.img", "b");
	expectf(&vm, "PUT", "/drives/data", 204, NULL, "{\"drive_id\": \"data\", \"path_on_host\": "
		"\"%s\", \"is_root_device\": false, \"is_read_only\": true}", a);
	expectf(&vm, "PUT", "/drives/rootfs", 204, NULL, "{\"drive_id\": \"rootfs\", "
		"\"path_on_host\": \"%s\", \"is_root_device\": true, \"cache_type\": \"Unsafe\", "
		"\"io_engine\": \"Sync\"}", b);
	/* The root drive is the first disk (vda), whatever the order of PUTs. */
	assert_int_equal(vm.cfg.nr_disks, 2);
	assert_string_equal(vm.cfg.disks[0].id, "rootfs");
	assert_true(vm.cfg.disks[0].is_root);
	assert_string_equal(vm.cfg.disks[1].id, "data");
	assert_true(vm.cfg.disks[1].read_only);
	expectf(&vm, "PUT", "/drives/other", 400, "already the root device", "{\"drive_id\": "
		"\"other\", \"path_on_host\": \"%s\", \"is_root_device\": true}", a);
	expectf(&vm, "PUT", "/drives/x", 400, "differs", "{\"drive_id\": \"y\", \"path_on_host\": "
		"\"%s\", \"is_root_device\": false}", a);
	expect(&vm, "PUT", "/drives/x", "{\"drive_id\": \"x\", \"path_on_host\": \"/nonexistent\", "
	       "\"is_root_device\": false}", 400, "/nonexistent");
	expectf(&vm, "PUT", "/drives/x", 400, "rate_limiter", "{\"drive_id\": \"x\", "
		"\"path_on_host\": \"%s\", \"is_root_device\": false, \"rate_limiter\": {}}", a);
	expectf(&vm, "PUT", "/drives/x", 400, "cache_type", "{\"drive_id\": \"x\", "
		"\"path_on_host\": \"%s\", \"is_root_device\": false, \"cache_type\": \"Fast\"}", a);
	expectf(&vm, "PUT", "/drives/x", 400, "is_root_device", "{\"drive_id\": \"x\", "
		"\"path_on_host\": \"%s\"}", a);
	expectf(&vm, "PUT", "/drives/a_very_long_drive_id_here", 400, "drive_id",
		"{\"drive_id\": \"a_very_long_drive_id_here\", \"path_on_host\": \"%s\", "
		"\"is_root_device\": false}", a);
	expectf(&vm, "PUT", "/drives/x", 400, "partuuid", "{\"drive_id\": \"x\", "
		"\"path_on_host\": \"%s\", \"is_root_device\": false, \"partuuid\": "
		"\"not-a-uuid\"}", a);
	expectf(&vm, "PUT", "/drives/x", 400, "partuuid", "{\"drive_id\": \"x\", "
		"\"path_on_host\": \"%s\", \"is_root_device\": false, \"partuuid\": "
		"\"0123456789abcdef0123456789abcdef0123456789abcdef\"}", a);
	expect(&vm, "PUT", "/drives/", "{}", 404, NULL);
	expect(&vm, "PUT", "/drives/a/b", "{}", 404, NULL);
	expect(&vm, "GET", "/drives/x", "", 405, "PUT");
	/* Replacing by id keeps the place; the root flag moves with a PUT. */
	expectf(&vm, "PUT", "/drives/data", 204, NULL, "{\"drive_id\": \"data\", \"path_on_host\": "
		"\"%s\", \"is_root_device\": false}", b);
	assert_int_equal(vm.cfg.nr_disks, 2);
	assert_false(vm.cfg.disks[1].read_only);

	r = route(&vm, "GET", "/vm/config", "");
	assert_int_equal(r.status, 200);
	d = json_object_get(r.body, "drives");
	assert_int_equal(json_array_size(d), 2);
	assert_true(json_is_true(json_object_get(json_array_get(d, 0), "is_root_device")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "drive_id")),
			    "data");
	assert_true(json_is_null(json_object_get(r.body, "vsock")));
	json_decref(r.body);

	{
		char cmdline[256];

		vm.cfg.cmdline = "console=ttyS0";
		assert_int_equal(vm_config_boot_cmdline(&vm.cfg, cmdline, sizeof(cmdline)), 0);
		assert_string_equal(cmdline, "console=ttyS0 root=/dev/vda rw");
		assert_int_equal(vm_config_boot_cmdline(&vm.cfg, cmdline, 10), -1);
	}
	expect(&vm, "PATCH", "/drives/data", "{}", 400, "not supported");
	vm_config_free(&vm.cfg);
	remove_tmp_dir();
}

static void test_other_devices_and_logger(void **state)
{
	struct vm vm;
	const char *log;
	char buf[256] = "", want[256];
	int saved = dup(STDERR_FILENO), line;
	struct log_settings ls;
	FILE *f;

	make_tmp_dir();
	stub_init(&vm, VM_STATE_NOT_STARTED);
	expect(&vm, "PUT", "/entropy", "{}", 204, NULL);
	assert_true(vm.cfg.rng);
	expect(&vm, "PUT", "/entropy", "{\"rate_limiter\": {}}", 400, "rate_limiter");
	expect(&vm, "PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}", 400,
	       "cid");
	expect(&vm, "PUT", "/vsock", "{\"guest_cid\": -5, \"uds_path\": \"/tmp/v.sock\"}", 400,
	       "guest_cid");
	assert_false(vm.cfg.vsock.enabled);
	expect(&vm, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\", "
	       "\"vsock_id\": \"vsock0\"}", 204, NULL);
	assert_true(vm.cfg.vsock.enabled);
	assert_int_equal(vm.cfg.vsock.guest_cid, 3);
	assert_string_equal(vm.cfg.vsock.uds_path, "/tmp/v.sock");
	expect(&vm, "PUT", "/vsock", "{\"guest_cid\": \"3\", \"uds_path\": \"/tmp/v.sock\"}", 400,
	       "guest_cid");
	expect(&vm, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\", "
	       "\"host_dev_name\": \"tap0\"}", 400, "differs");
	expect(&vm, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", "
	       "\"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:AC:10:00:02\"}", 204, NULL);
	expect(&vm, "PUT", "/network-interfaces/eth1", "{\"iface_id\": \"eth1\", "
	       "\"host_dev_name\": \"tap1\"}", 204, NULL);
	assert_int_equal(vm.cfg.nr_nets, 2);
	/* The same id again replaces it, in its place. */
	expect(&vm, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", "
	       "\"host_dev_name\": \"tap9\"}", 204, NULL);
	assert_int_equal(vm.cfg.nr_nets, 2);
	assert_string_equal(vm.cfg.nets[0].tap, "tap9");
	assert_string_equal(vm.cfg.nets[1].tap, "tap1");
	assert_false(vm.cfg.nets[0].mac_set);
	/* A refused replacement leaves the old one. */
	expect(&vm, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", "
	       "\"host_dev_name\": \"tap8\", \"guest_mac\": \"01:00:00:00:00:01\"}", 400, "mac");
	expect(&vm, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", "
	       "\"host_dev_name\": \"tap1\"}", 400, "tap1");
	assert_int_equal(vm.cfg.nr_nets, 2);
	assert_string_equal(vm.cfg.nets[0].tap, "tap9");
	expect(&vm, "PUT", "/network-interfaces/eth2", "{\"iface_id\": \"eth2\", "
	       "\"host_dev_name\": \"tap2\", \"rx_rate_limiter\": {}}", 400, "rx_rate_limiter");
	expect(&vm, "PUT", "/network-interfaces/eth2", "{\"iface_id\": \"eth2\", "
	       "\"host_dev_name\": \"a/b\"}", 400, NULL);
	{
		struct api_reply r = route(&vm, "GET", "/vm/config", "");
		json_t *n = json_object_get(r.body, "network-interfaces");

		assert_int_equal(json_array_size(n), 2);
		assert_string_equal(json_string_value(json_object_get(json_array_get(n, 0),
								      "host_dev_name")), "tap9");
		json_decref(r.body);
	}

	log = tmp_file("log", "");
	expect(&vm, "PUT", "/logger", "{\"level\": \"Loud\", \"log_path\": \"/tmp/x\"}", 400, "Loud");
	/* Without log_path only the level and the format change. */
	expect(&vm, "PUT", "/logger", "{\"level\": \"Error\"}", 204, NULL);
	log_get(&ls);
	assert_int_equal(ls.level, LOG_LEVEL_ERROR);
	assert_null(vm.cfg.log_path);
	/* A refused request changes nothing. */
	expect(&vm, "PUT", "/logger", "{\"log_path\": \"/nonexistent/dir/log\", \"level\": "
	       "\"Trace\"}", 400, "/nonexistent");
	expectf(&vm, "PUT", "/logger", 400, "module", "{\"log_path\": \"%s\", \"module\": \"m\"}", log);
	log_get(&ls);
	assert_int_equal(ls.level, LOG_LEVEL_ERROR);
	expectf(&vm, "PUT", "/logger", 204, NULL, "{\"log_path\": \"%s\", \"level\": \"debug\", "
		"\"show_level\": true, \"show_log_origin\": true}", log);
	line = __LINE__ + 1;
	log_warn("to the log");
	log_debug("debug too");
	log_trace("not at Debug");
	/* Off: nothing; the flags it does not name stay. */
	expectf(&vm, "PUT", "/logger", 204, NULL, "{\"log_path\": \"%s\", \"level\": \"Off\"}",
		log);
	log_error("not when Off");
	log_get(&ls);
	assert_true(ls.show_level && ls.show_origin);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_set(&(struct log_settings){ .level = LOG_LEVEL_INFO });
	f = fopen(log, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	snprintf(want, sizeof(want), "landlord: [WARN:tests/unit/test_api_config.c:%d] to the log\n", line);
	assert_string_equal(buf, want);
	assert_non_null(fgets(buf, sizeof(buf), f));
	snprintf(want, sizeof(want), "landlord: [DEBUG:tests/unit/test_api_config.c:%d] debug too\n",
		 line + 1);
	assert_string_equal(buf, want);
	assert_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(vm.cfg.log_path, log);
	vm_config_free(&vm.cfg);
	remove_tmp_dir();
}

static void expect_config_file(struct vm *vm, const char *json, const char *fault)
{
	char err[512] = "";
	const char *path = tmp_file("config.json", json);
	int rc = api_apply_config_file(vm, path, err, sizeof(err));

	if (!fault) {
		if (rc != 0)
			fail_msg("%s: %s", json, err);
		return;
	}
	if (rc == 0 || !strstr(err, fault))
		fail_msg("%s: \"%s\" lacks \"%s\"", json, err, fault);
}

static void test_config_file(void **state)
{
	struct vm vm;
	char json[1024];
	const char *k, *disk;

	make_tmp_dir();
	stub_init(&vm, VM_STATE_NOT_STARTED);
	k = tmp_file("vmlinux", "kernel");
	disk = tmp_file("disk.img", "disk");
	snprintf(json, sizeof(json), "{\"boot-source\": {\"kernel_image_path\": \"%s\", "
		 "\"boot_args\": \"console=ttyS0\"}, \"drives\": [{\"drive_id\": \"rootfs\", "
		 "\"path_on_host\": \"%s\", \"is_root_device\": true, \"is_read_only\": false}], "
		 "\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024}, "
		 "\"network-interfaces\": [], \"balloon\": null, \"entropy\": {}}", k, disk);
	/* json is in a static slot of tmp_file: copy before the next call. */
	expect_config_file(&vm, json, NULL);
	assert_string_equal(vm.cfg.kernel_path, k);
	assert_int_equal(vm.cfg.nr_cpus, 2);
	assert_true(vm.cfg.mem_size == 1024ull << 20);
	assert_int_equal(vm.cfg.nr_disks, 1);
	assert_true(vm.cfg.disks[0].is_root);
	assert_true(vm.cfg.rng);

	expect_config_file(&vm, "{\"boot-source\": {}, \"x\": 1}", "unknown section \"x\"");
	expect_config_file(&vm, "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}",
			   "no \"boot-source\"");
	expect_config_file(&vm, "{\"drives\": {}}", "must be an array");
	expect_config_file(&vm, "{\"drives\": [{\"path_on_host\": \"x\"}]}", "\"drives\"[0]");
	expect_config_file(&vm, "{\"balloon\": {\"amount_mib\": 1}}", "balloon");
	expect_config_file(&vm, "{\"boot-source\": 1}", "must be an object");
	expect_config_file(&vm, "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent\"}}",
			   "\"boot-source\": ");
	expect_config_file(&vm, "[1, 2]", "JSON object");
	expect_config_file(&vm, "{\"boot-source\": ", "line 1");
	expect_config_file(&vm, "{\"a\": 1, \"a\": 2}", "duplicate");
	{
		char err[256], path[128];
		FILE *f;

		assert_int_equal(api_apply_config_file(&vm, "/nonexistent.json", err,
						       sizeof(err)), -1);
		assert_non_null(strstr(err, "No such file"));
		/* Larger than 1 MiB: refused before it is parsed. */
		snprintf(path, sizeof(path), "%s/big.json", tmp_dir);
		f = fopen(path, "w");
		assert_non_null(f);
		fputc('{', f);
		for (int i = 0; i < (1 << 20); i++)
			fputc(' ', f);
		fputc('}', f);
		fclose(f);
		assert_int_equal(api_apply_config_file(&vm, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "larger than"));
	}
	vm_config_free(&vm.cfg);
	remove_tmp_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_source_and_machine),
		cmocka_unit_test(test_drives),
		cmocka_unit_test(test_other_devices_and_logger),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
