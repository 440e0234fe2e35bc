/* The CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID, then per-vCPU topology and
 * APIC ids, the hypervisor bit and KVM signature leaves, and the user's
 * feature masks from --cpu-features. */
#ifndef LANDLORD_ARCH_X86_CPUID_H
#define LANDLORD_ARCH_X86_CPUID_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define CPUID_MAX_MASKS 64

/* One feature bit: where it lives and whether the user wants it off or on. */
struct cpuid_feature_req {
	uint32_t leaf, subleaf;
	uint8_t reg;           /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint8_t bit;
	uint8_t enable;        /* 1 = "+name" (must be supported), 0 = "-name" */
	const char *name;
};

struct cpuid_mask {
	int nr;
	struct cpuid_feature_req reqs[CPUID_MAX_MASKS];
};

/* Parse "-xsave,-rdrand,+x2apic" (names as in /proc/cpuinfo).  Returns 0,
 * or -1 with a one-line reason in err. */
int cpuid_parse_features(const char *spec, struct cpuid_mask *mask, char *err, size_t errlen);

/* Entries cpuid_build_vcpu may add beyond the supported table's (0xB and
 * 0x1F levels, the KVM signature leaves). */
#define CPUID_EXTRA_ENTRIES 8

/* Turn the supported table (entries as KVM_GET_SUPPORTED_CPUID returned
 * them) into what vCPU vcpu_index of nr_cpus sees: one socket, nr_cpus
 * cores, one thread per core, APIC id = vcpu_index (create the vCPU with
 * that id).  As with KVM_GET_SUPPORTED_CPUID, out->nent is the capacity on
 * entry (at least supported->nent + CPUID_EXTRA_ENTRIES, else an error) and
 * the count used on return.  supported and out must not overlap.  mask may
 * be NULL.  Returns 0, or -1 with a reason in err (e.g. "+feature" not
 * supported by this host). */
int cpuid_build_vcpu(const struct kvm_cpuid2 *supported, struct kvm_cpuid2 *out,
		     int vcpu_index, int nr_cpus, const struct cpuid_mask *mask,
		     char *err, size_t errlen);

/* Names of all features --cpu-features knows, for --help; NULL-terminated. */
const char *const *cpuid_feature_names(void);

#endif
