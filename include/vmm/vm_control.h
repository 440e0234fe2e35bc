/* What the control plane (the API) may ask of a running VM.  Every function
 * is called on the event-loop thread, the thread that owns the VM's life
 * cycle; none blocks for longer than it takes the vCPUs to stop. */
#ifndef LANDLORD_VMM_VM_CONTROL_H
#define LANDLORD_VMM_VM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct vm;

enum vm_run_state {
	VM_STATE_NOT_STARTED,   /* waiting for its configuration (the API) */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
};

#define VM_INFO_MAX_DEVICES 32   /* 16 disks + 8 nets + rng + console + serial fit */

struct vm_device_info {
	char kind[16];        /* "virtio-blk", "virtio-rng", "virtio-console", "serial" */
	char id[24];          /* disk id, or "" */
	char transport[8];    /* "pci", "mmio", "isa" */
	char path[256];       /* disk image, or "" */
	bool read_only;
};

struct vm_info {
	char name[65];
	int pid;
	enum vm_run_state state;
	int nr_cpus;
	uint64_t mem_size;
	double uptime_s;          /* since the VM (this boot) was created */
	const char *kernel_path;
	const char *initrd_path;  /* may be NULL */
	const char *cmdline;      /* as given by the user, may be NULL */
	int nr_devices;
	struct vm_device_info devices[VM_INFO_MAX_DEVICES];
};

void vm_get_info(const struct vm *vm, struct vm_info *out);
/* Stop every vCPU at an instruction boundary / let them run again.  0, or
 * -1 with a reason in err (e.g. already in that state). */
int vm_pause(struct vm *vm, char *err, size_t errlen);
int vm_resume(struct vm *vm, char *err, size_t errlen);
/* End the VM as if it had been powered off by the host: the process exits
 * with status 0 after tearing everything down. */
void vm_stop_hard(struct vm *vm);
/* Ask the guest to shut down: press the ACPI power button.  Returns at
 * once; the VM ends when (if) the guest powers off.  -1 with a reason in
 * err if there is no guest yet. */
int vm_stop_graceful(struct vm *vm, char *err, size_t errlen);
/* InstanceStart: boot the configured VM.  0, or -1 with a reason in err
 * (the VM stays unstarted and may be configured again). */
int vm_start(struct vm *vm, char *err, size_t errlen);
/* The configuration to change, or NULL with a reason in err once the VM has
 * started (Firecracker allows these changes only before InstanceStart). */
struct vm_config *vm_config_before_boot(struct vm *vm, char *err, size_t errlen);
/* The configuration, to read. */
const struct vm_config *vm_get_config(const struct vm *vm);
/* The configuration, for the settings that may change at any time, before
 * or after the start (PUT /logger's and PUT /metrics' paths): not the VM's
 * devices or boot source, which vm_config_before_boot guards. */
struct vm_config *vm_config_any_time(struct vm *vm);
/* The most vCPUs a VM may have on this host. */
int vm_max_vcpus(const struct vm *vm);

/* SendCtrlAltDel: press and release Ctrl+Alt+Del on the guest's PS/2
 * keyboard (i8042, IRQ 1); what follows is up to the guest.  0, or -1 with
 * a reason in err (no guest, paused, stopping, keyboard not listening). */
int vm_send_ctrl_alt_del(struct vm *vm, char *err, size_t errlen);

#endif
