/* The VM's side of the control API: pause and resume the vCPUs, report
 * what the VM is, and stop it on request. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "virtio/virtio.h"
#include "vmm/vm.h"
#include "vmm/vm_control.h"

#define PARK_TIMEOUT_MS 2000

static void add_device(struct vm_info *out, const char *kind, const char *id,
		       const char *transport, const char *path, bool ro)
{
	struct vm_device_info *d;

	if (out->nr_devices >= VM_INFO_MAX_DEVICES)
		return;
	d = &out->devices[out->nr_devices++];
	snprintf(d->kind, sizeof(d->kind), "%s", kind);
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->transport, sizeof(d->transport), "%s", transport);
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->read_only = ro;
}

static const char *transport_name(enum virtio_transport_kind t)
{
	return t == TRANSPORT_MMIO ? "mmio" : "pci";
}

void vm_get_info(const struct vm *vm, struct vm_info *out)
{
	const struct vm_config *cfg = vm->cfg;
	struct timespec now;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", cfg->name);
	out->pid = (int)getpid();
	out->state = !vm->booted ? VM_STATE_NOT_STARTED :
		     vm->paused ? VM_STATE_PAUSED : VM_STATE_RUNNING;
	out->nr_cpus = cfg->nr_cpus;
	out->mem_size = cfg->mem_size;
	clock_gettime(CLOCK_MONOTONIC, &now);
	out->uptime_s = (double)(now.tv_sec - vm->started.tv_sec) +
			(double)(now.tv_nsec - vm->started.tv_nsec) / 1e9;
	out->kernel_path = cfg->kernel_path;
	out->initrd_path = cfg->initrd_path;
	out->cmdline = cfg->cmdline;
	add_device(out, "serial", "ttyS0", "isa", "", false);
	for (int i = 0; i < cfg->nr_disks; i++)
		add_device(out, "virtio-blk", cfg->disks[i].id,
			   transport_name(vm_config_disk_transport(cfg, i)),
			   cfg->disks[i].path, cfg->disks[i].read_only);
	if (cfg->rng)
		add_device(out, "virtio-rng", "", transport_name(vm_config_rng_transport(cfg)),
			   "", false);
	if (cfg->console_device == CONSOLE_DEVICE_VIRTIO)
		add_device(out, "virtio-console", "hvc0", transport_name(cfg->default_transport),
			   "", false);
	for (int i = 0; i < cfg->nr_nets; i++)
		add_device(out, "virtio-net", cfg->nets[i].id,
			   transport_name(vm_config_net_transport(cfg, i)), cfg->nets[i].tap, false);
	if (cfg->vsock.enabled)
		add_device(out, "virtio-vsock", "vsock", transport_name(vm_config_vsock_transport(cfg)),
			   cfg->vsock.uds_path, false);
}

int vm_pause(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->booted) {
		snprintf(err, errlen, "the VM has not started yet");
		return -1;
	}
	if (vm->paused) {
		snprintf(err, errlen, "the VM is already paused");
		return -1;
	}
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_pause(&vm->vcpus[i]);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_wait_parked(&vm->vcpus[i], PARK_TIMEOUT_MS) < 0) {
			for (int j = 0; j < vm->nr_vcpus; j++)
				vcpu_resume(&vm->vcpus[j]);
			snprintf(err, errlen, "vCPU %d did not stop within %d ms", i,
				 PARK_TIMEOUT_MS);
			return -1;
		}
	}
	vm->paused = true;
	return 0;
}

int vm_resume(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->paused) {
		snprintf(err, errlen, "the VM is not paused");
		return -1;
	}
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_resume(&vm->vcpus[i]);
	vm->paused = false;
	return 0;
}

int vm_stop_graceful(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->booted) {
		snprintf(err, errlen, "the VM has not started: there is no guest to shut down "
			 "(use mode \"hard\")");
		return -1;
	}
	acpi_pm_power_button(vm->acpi_pm);
	return 0;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	if (vm_boot(vm, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "KVM or device set-up failed (the VM's log says what)");
		return -1;
	}
	/* The log's record of what was started (PUT /logger may point it at a file). */
	log_info("%s started through the API: %d vCPU%s, %llu MiB, kernel %s", vm->cfg->name,
		 vm->cfg->nr_cpus, vm->cfg->nr_cpus == 1 ? "" : "s",
		 (unsigned long long)(vm->cfg->mem_size >> 20), vm->cfg->kernel_path);
	return 0;
}

struct vm_config *vm_config_before_boot(struct vm *vm, char *err, size_t errlen)
{
	if (vm->booted) {
		snprintf(err, errlen, "the VM is running: this can only be configured "
			 "before InstanceStart");
		return NULL;
	}
	return vm->cfg;
}

const struct vm_config *vm_get_config(const struct vm *vm)
{
	return vm->cfg;
}

struct vm_config *vm_config_any_time(struct vm *vm)
{
	return vm->cfg;
}

int vm_max_vcpus(const struct vm *vm)
{
	return vm->kvm->max_vcpus < VM_MAX_CPUS ? vm->kvm->max_vcpus : VM_MAX_CPUS;
}

void vm_stop_hard(struct vm *vm)
{
	vm_request_stop(vm, VM_API_STOP);
}

int vm_send_ctrl_alt_del(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->i8042) {
		snprintf(err, errlen, "the VM is not running: there is no keyboard to press keys on");
		return -1;
	}
	if (vm->paused) {
		snprintf(err, errlen, "the VM is paused (resume it first)");
		return -1;
	}
	if (atomic_load(&vm->stop) != VM_RUNNING) {
		snprintf(err, errlen, "the VM is stopping");
		return -1;
	}
	switch (i8042_send_ctrl_alt_del(vm->i8042)) {
	case I8042_KEYS_QUEUED:
		return 0;
	case I8042_KEYS_FULL:
		snprintf(err, errlen, "the guest has not read the keys sent before "
			 "(is its keyboard driver running?)");
		return -1;
	case I8042_KEYS_DISABLED:
		snprintf(err, errlen, "the guest has disabled its keyboard");
		return -1;
	}
	snprintf(err, errlen, "the keyboard refused the keys");
	return -1;
}
