/* libFuzzer target: the --cpu-features parser and the CPUID builder it
 * feeds, on a fixed synthetic supported-CPUID table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kvm_cpuid_entry2 base[] = {
		{ .function = 0, .eax = 0xd },
		{ .function = 1, .ecx = 0x7ffafbff, .edx = 0xbfebfbff },
		{ .function = 7, .ebx = 0x029c6fbf },
		{ .function = 0xd, .index = 0, .eax = 0x7 },
		{ .function = 0xd, .index = 1, .eax = 0xf },
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800 },
	};
	const size_t n = sizeof(base) / sizeof(base[0]);
	struct kvm_cpuid2 *sup = calloc(1, sizeof(*sup) + n * sizeof(base[0]));
	struct kvm_cpuid2 *out = calloc(1, sizeof(*out) + (n + CPUID_EXTRA_ENTRIES) * sizeof(base[0]));
	struct cpuid_mask mask;
	char *spec = malloc(size + 1), err[256];

	if (sup && out && spec) {
		memcpy(spec, data, size);
		spec[size] = 0;
		memset(&mask, 0, sizeof(mask));
		sup->nent = n;
		memcpy(sup->entries, base, sizeof(base));
		out->nent = n + CPUID_EXTRA_ENTRIES;
		if (cpuid_parse_features(spec, &mask, err, sizeof(err)) == 0)
			(void)cpuid_build_vcpu(sup, out, size % 8, 1 + size % 8, &mask, err, sizeof(err));
	}
	free(spec);
	free(sup);
	free(out);
	return 0;
}
