/* A vCPU's architectural state at power-on: CPUID, MSRs, FPU, local APIC
 * LINT pins, and for the boot vCPU the registers the boot entry expects. */
#ifndef LANDLORD_ARCH_X86_CPU_SETUP_H
#define LANDLORD_ARCH_X86_CPU_SETUP_H

#include <stddef.h>

#include "arch/x86/boot.h"
#include "arch/x86/cpuid.h"
#include "kvm/kvm.h"

/* CPUID, MSRs, FPU and LAPIC for vCPU index of nr_cpus.  0, or -1 with a
 * reason in err. */
int x86_vcpu_init(const struct kvm *k, int vcpu_fd, int index, int nr_cpus,
		  const struct cpuid_mask *mask, char *err, size_t errlen);
/* Registers for the boot vCPU (the others wait for INIT/SIPI in KVM). */
int x86_vcpu_boot_regs(int vcpu_fd, const struct boot_info *boot, char *err, size_t errlen);

#endif
