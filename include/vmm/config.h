/* A VM's configuration: everything `landlord run` (and later the API) can
 * set, validated before any KVM work starts. */
#ifndef LANDLORD_VMM_CONFIG_H
#define LANDLORD_VMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpuid.h"
#include "backends/console.h"

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
};

void vm_config_defaults(struct vm_config *cfg);

/* Parsers for single options: 0, or -1 with a reason in err. */
int vm_config_set_memory(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_cpus(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_name(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_console(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_on_reboot(struct vm_config *cfg, const char *s, char *err, size_t errlen);

/* Whole-config checks that need no KVM: files readable, memory within what
 * the host has.  0, or -1 with a reason in err. */
int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen);

#endif
