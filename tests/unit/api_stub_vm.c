/* The stub VM of the API unit tests (the functions of vm_control.h; see
 * api_stub_vm.h) and their request helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api.h"
#include "api_stub_vm.h"

void stub_init(struct vm *vm, enum vm_run_state state)
{
	memset(vm, 0, sizeof(*vm));
	vm->state = state;
	vm_config_defaults(&vm->cfg);
	snprintf(vm->cfg.name, sizeof(vm->cfg.name), "stub");
	vm->cfg.nr_cpus = 3;
	vm->cfg.mem_size = 96ull << 20;
	if (state != VM_STATE_NOT_STARTED) {
		vm->cfg.kernel_path = "/k/vmlinux";
		vm->cfg.cmdline = "console=ttyS0";
		vm->cfg.nr_disks = 2;
		vm->cfg.disks[0] = (struct disk_config){ .path = "/d/root.img", .id = "root",
							 .is_root = true };
		vm->cfg.disks[1] = (struct disk_config){ .path = "/d/data.img", .id = "data",
							 .read_only = true,
							 .transport = TRANSPORT_MMIO,
							 .transport_set = true };
	}
}

void vm_get_info(const struct vm *vm, struct vm_info *out)
{
	memset(out, 0, sizeof(*out));
	strcpy(out->name, "stub");
	out->pid = 1234;
	out->state = vm->state;
	out->nr_cpus = vm->cfg.nr_cpus;
	out->mem_size = vm->cfg.mem_size;
	out->uptime_s = 2.5;
	out->kernel_path = vm->cfg.kernel_path;
	out->cmdline = vm->cfg.cmdline;
	out->nr_devices = 3;
	strcpy(out->devices[0].kind, "virtio-blk");
	strcpy(out->devices[0].id, "root");
	strcpy(out->devices[0].transport, "pci");
	strcpy(out->devices[0].path, "/d/root.img");
	out->devices[1] = out->devices[0];
	strcpy(out->devices[1].id, "data");
	strcpy(out->devices[1].transport, "mmio");
	out->devices[1].read_only = true;
	strcpy(out->devices[2].kind, "serial");
	strcpy(out->devices[2].transport, "isa");
}

int vm_pause(struct vm *vm, char *err, size_t len)
{
	if (vm->state == VM_STATE_PAUSED) {
		snprintf(err, len, "the VM is already paused");
		return -1;
	}
	vm->state = VM_STATE_PAUSED;
	return 0;
}

int vm_resume(struct vm *vm, char *err, size_t len)
{
	if (vm->state == VM_STATE_RUNNING) {
		snprintf(err, len, "the VM is not paused");
		return -1;
	}
	vm->state = VM_STATE_RUNNING;
	return 0;
}

int vm_stop_graceful(struct vm *vm, char *err, size_t len)
{
	vm->buttons++;
	return 0;
}

void vm_stop_hard(struct vm *vm)
{
	vm->stops++;
	el_quit(&vm->loop);
}

int vm_send_ctrl_alt_del(struct vm *vm, char *err, size_t len)
{
	vm->ctrl_alt_dels++;
	return 0;
}

int vm_start(struct vm *vm, char *err, size_t len)
{
	if (vm->state != VM_STATE_NOT_STARTED) {
		snprintf(err, len, "the VM is already running");
		return -1;
	}
	if (vm_config_validate(&vm->cfg, err, len) < 0)
		return -1;
	vm->state = VM_STATE_RUNNING;
	return 0;
}

struct vm_config *vm_config_before_boot(struct vm *vm, char *err, size_t len)
{
	if (vm->state != VM_STATE_NOT_STARTED) {
		snprintf(err, len, "the VM is running: this can only be configured "
			 "before InstanceStart");
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

/* ------------------------------------------------------- request helpers */

struct api_reply route(struct vm *vm, const char *method, const char *url, const char *body)
{
	struct api_reply r = { 0 };

	api_route(vm, method, url, body, strlen(body), &r);
	return r;
}

/* The reply's status is want, and its fault_message (if want >= 400)
 * contains fault. */
void expect(struct vm *vm, const char *method, const char *url, const char *body,
	    unsigned want, const char *fault)
{
	struct api_reply r = route(vm, method, url, body);

	if (r.status != want)
		fail_msg("%s %s %s: status %u, want %u", method, url, body, r.status, want);
	if (want >= 400) {
		const char *msg = json_string_value(json_object_get(r.body, "fault_message"));

		assert_non_null(msg);
		if (fault && !strstr(msg, fault))
			fail_msg("%s %s %s: \"%s\" lacks \"%s\"", method, url, body, msg, fault);
	} else if (want == 204) {
		assert_null(r.body);
	}
	json_decref(r.body);
}

/* PUT url with a body made by printf. */
void expectf(struct vm *vm, const char *method, const char *url, unsigned want,
	     const char *fault, const char *fmt, ...)
{
	char body[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	expect(vm, method, url, body, want, fault);
}
