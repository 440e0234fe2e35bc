/* A VM's configuration: everything `landlord run` (and later the API) can
 * set, validated before any KVM work starts. */
#ifndef LANDLORD_VMM_CONFIG_H
#define LANDLORD_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpuid.h"
#include "backends/console.h"

enum virtio_transport_kind {
	TRANSPORT_PCI,
	TRANSPORT_MMIO,
};

enum console_device {
	CONSOLE_DEVICE_SERIAL,   /* the UART is the console */
	CONSOLE_DEVICE_VIRTIO,   /* a virtio-console port is (guest: console=hvc0) */
};

#define VM_MAX_DISKS     16
#define DISK_ID_MAX      20      /* virtio-blk's GET_ID string */

struct disk_config {
	const char *path;
	bool read_only;
	char id[DISK_ID_MAX + 1];
	enum virtio_transport_kind transport;
	bool transport_set;      /* else the VM's default */
};

enum reboot_action {
	REBOOT_EXIT,
	REBOOT_RESTART,
};

#define VM_MIN_MEMORY   (16ULL << 20)
#define VM_DEFAULT_MEMORY (256ULL << 20)
#define VM_NAME_MAX     64
#define VM_MAX_CPUS     254    /* xAPIC ids 0..253; 254 is the IOAPIC, 255 broadcast */

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;
	const char *cmdline;
	uint64_t mem_size;
	int nr_cpus;
	char name[VM_NAME_MAX + 1];
	enum console_mode console;
	const char *console_path;
	struct cpuid_mask cpu_mask;
	enum reboot_action on_reboot;

	struct disk_config disks[VM_MAX_DISKS];   /* the first is the guest's vda */
	int nr_disks;
	bool rng;
	enum virtio_transport_kind rng_transport;
	bool rng_transport_set;
	enum console_device console_device;
	enum virtio_transport_kind default_transport;
	const char *api_sock;    /* NULL: <runtime dir>/<name>.sock */
};

void vm_config_defaults(struct vm_config *cfg);

/* Parsers for single options: 0, or -1 with a reason in err. */
int vm_config_set_memory(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_cpus(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_name(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_console(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_on_reboot(struct vm_config *cfg, const char *s, char *err, size_t errlen);
/* --disk path=FILE[,ro][,id=NAME][,transport=pci|mmio]: s is kept, not copied. */
int vm_config_add_disk(struct vm_config *cfg, char *s, char *err, size_t errlen);
/* --rng, --rng=pci|mmio (s may be NULL) */
int vm_config_set_rng(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_console_device(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_transport(struct vm_config *cfg, const char *s, char *err, size_t errlen);
/* The transport a disk or the rng uses after defaults are applied. */
enum virtio_transport_kind vm_config_disk_transport(const struct vm_config *cfg, int i);
enum virtio_transport_kind vm_config_rng_transport(const struct vm_config *cfg);

/* Whole-config checks that need no KVM: files readable, memory within what
 * the host has.  0, or -1 with a reason in err. */
int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen);
int vm_config_validate_virtio(const struct vm_config *cfg, char *err, size_t errlen);

#endif
