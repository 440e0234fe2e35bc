/* libFuzzer target: the API's pre-boot configuration endpoints (api_config.c
 * on api_json.c and config_put.c), driven with arbitrary bodies and ids on a
 * stub VM.  Byte 0 picks the endpoint, byte 1 the {id}; the rest is the body.
 * Several requests per input (split at 0xff bytes) build on one config, and
 * after each the config's invariants must hold: bounded counts, the root
 * drive first and alone, every string owned or NULL.  /logger is left out:
 * it redirects stderr. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "vmm/config.h"
#include "vmm/vm_control.h"

struct vm {
	struct vm_config cfg;
	bool started;
};

struct vm_config *vm_config_before_boot(struct vm *vm, char *err, size_t len)
{
	if (vm->started) {
		snprintf(err, len, "started");
		return NULL;
	}
	return &vm->cfg;
}

const struct vm_config *vm_get_config(const struct vm *vm)
{
	return &vm->cfg;
}

struct vm_config *vm_config_any_time(struct vm *vm)
{
	return &vm->cfg;
}

int vm_max_vcpus(const struct vm *vm)
{
	return 8;
}

typedef void (*route_fn)(struct vm *, const char *, size_t, struct api_reply *);

static const route_fn routes[] = {
	api_put_boot_source, api_put_machine_config, api_patch_machine_config,
	api_put_drive, api_patch_drive, api_put_network_interface, api_put_vsock,
	api_put_entropy, api_get_vm_config, api_get_machine_config,
};

static const char *const ids[] = { "rootfs", "data", "x", "a_very_long_id_here_12345", "eth0" };

static void check(const struct vm_config *cfg)
{
	char cmdline[4096];
	int roots = 0;

	assert(cfg->nr_disks >= 0 && cfg->nr_disks <= VM_MAX_DISKS);
	assert(cfg->nr_nets >= 0 && cfg->nr_nets <= VM_MAX_NETS);
	assert(cfg->nr_cpus >= 1 && cfg->nr_cpus <= 8);
	assert(cfg->mem_size >= VM_MIN_MEMORY);
	for (int i = 0; i < cfg->nr_disks; i++) {
		assert(cfg->disks[i].path && strlen(cfg->disks[i].id) <= DISK_ID_MAX);
		if (cfg->disks[i].is_root) {
			assert(i == 0);
			roots++;
		}
	}
	assert(roots <= 1);
	assert(!cfg->vsock.enabled || (cfg->vsock.guest_cid >= 3 && cfg->vsock.uds_path[0]));
	(void)vm_config_boot_cmdline(cfg, cmdline, sizeof(cmdline));
}

static void one(struct vm *vm, const uint8_t *data, size_t size)
{
	struct api_reply r = { 0 };
	char body[4096];

	if (size < 2)
		return;
	r.id = ids[data[1] % (sizeof(ids) / sizeof(ids[0]))];
	size -= 2;
	if (size >= sizeof(body))
		size = sizeof(body) - 1;
	memcpy(body, data + 2, size);
	body[size] = '\0';
	routes[data[0] % (sizeof(routes) / sizeof(routes[0]))](vm, body, size, &r);
	assert(r.status >= 200 && r.status < 600);
	assert(r.status == 204 || r.body);
	json_decref(r.body);
	check(&vm->cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm vm;
	size_t start = 0;

	memset(&vm, 0, sizeof(vm));
	vm_config_defaults(&vm.cfg);
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == 0xff) {
			one(&vm, data + start, i - start);
			start = i + 1;
		}
	}
	vm_config_free(&vm.cfg);
	return 0;
}
