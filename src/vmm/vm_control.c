/* The VM's side of the control API: pause and resume the vCPUs, report
 * what the VM is, and stop it on request. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
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
	out->state = vm->paused ? VM_STATE_PAUSED : VM_STATE_RUNNING;
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
}

int vm_pause(struct vm *vm, char *err, size_t errlen)
{
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

void vm_stop_graceful(struct vm *vm)
{
	acpi_pm_power_button(vm->acpi_pm);
}

void vm_stop_hard(struct vm *vm)
{
	vm_request_stop(vm, VM_API_STOP);
}
