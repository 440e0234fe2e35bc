/* The --cpu-features table, private to cpuid.c.  Bit positions are the
 * architectural ones; they match the word/bit numbers of Linux's
 * arch/x86/include/asm/cpufeatures.h (word 0 = 1.EDX, 4 = 1.ECX, 9 = 7.0.EBX,
 * 16 = 7.0.ECX, 18 = 7.0.EDX, 10 = 0xD.1.EAX, 1 = 0x80000001.EDX,
 * 6 = 0x80000001.ECX), e.g. clearcpuid=151 (4*32+23) is popcnt. */
#ifndef LANDLORD_ARCH_X86_CPUID_FEATURES_H
#define LANDLORD_ARCH_X86_CPUID_FEATURES_H

/* The feature table, as an X-macro so that the lookup table and the
 * NULL-terminated name list for --help come from one list:
 * X(name, alias, leaf, subleaf, reg, bit, flags, xcomp). */
#define FEATURE_LIST(X) \
	/* Leaf 1 EDX */ \
	X("fpu", NULL, 1, 0, EDX, 0, F_MIRROR, 0) \
	X("vme", NULL, 1, 0, EDX, 1, F_MIRROR, 0) \
	X("de", NULL, 1, 0, EDX, 2, F_MIRROR, 0) \
	X("pse", NULL, 1, 0, EDX, 3, F_MIRROR, 0) \
	X("tsc", NULL, 1, 0, EDX, 4, F_MIRROR, 0) \
	X("msr", NULL, 1, 0, EDX, 5, F_MIRROR, 0) \
	X("pae", NULL, 1, 0, EDX, 6, F_MIRROR, 0) \
	X("mce", NULL, 1, 0, EDX, 7, F_MIRROR, 0) \
	X("cx8", NULL, 1, 0, EDX, 8, F_MIRROR, 0) \
	X("apic", NULL, 1, 0, EDX, 9, F_MIRROR, 0) \
	X("sep", NULL, 1, 0, EDX, 11, 0, 0) \
	X("mtrr", NULL, 1, 0, EDX, 12, F_MIRROR, 0) \
	X("pge", NULL, 1, 0, EDX, 13, F_MIRROR, 0) \
	X("mca", NULL, 1, 0, EDX, 14, F_MIRROR, 0) \
	X("cmov", NULL, 1, 0, EDX, 15, F_MIRROR, 0) \
	X("pat", NULL, 1, 0, EDX, 16, F_MIRROR, 0) \
	X("pse36", NULL, 1, 0, EDX, 17, F_MIRROR, 0) \
	X("clflush", NULL, 1, 0, EDX, 19, 0, 0) \
	X("mmx", NULL, 1, 0, EDX, 23, F_MIRROR, 0) \
	X("fxsr", NULL, 1, 0, EDX, 24, F_MIRROR, 0) \
	X("sse", NULL, 1, 0, EDX, 25, 0, 0) \
	X("sse2", NULL, 1, 0, EDX, 26, 0, 0) \
	X("ht", NULL, 1, 0, EDX, 28, F_SYNTH, 0) \
	/* Leaf 1 ECX */ \
	X("sse3", "pni", 1, 0, ECX, 0, 0, 0) \
	X("pclmulqdq", NULL, 1, 0, ECX, 1, 0, 0) \
	X("monitor", NULL, 1, 0, ECX, 3, 0, 0) \
	X("vmx", NULL, 1, 0, ECX, 5, 0, 0) \
	X("ssse3", NULL, 1, 0, ECX, 9, 0, 0) \
	X("fma", NULL, 1, 0, ECX, 12, 0, 0) \
	X("cx16", NULL, 1, 0, ECX, 13, 0, 0) \
	X("pdcm", NULL, 1, 0, ECX, 15, 0, 0) \
	X("pcid", NULL, 1, 0, ECX, 17, 0, 0) \
	X("sse4_1", NULL, 1, 0, ECX, 19, 0, 0) \
	X("sse4_2", NULL, 1, 0, ECX, 20, 0, 0) \
	X("x2apic", NULL, 1, 0, ECX, 21, 0, 0) \
	X("movbe", NULL, 1, 0, ECX, 22, 0, 0) \
	X("popcnt", NULL, 1, 0, ECX, 23, 0, 0) \
	X("tsc_deadline_timer", NULL, 1, 0, ECX, 24, 0, 0) \
	X("aes", NULL, 1, 0, ECX, 25, 0, 0) \
	X("xsave", NULL, 1, 0, ECX, 26, 0, 0) \
	X("osxsave", NULL, 1, 0, ECX, 27, F_OSBIT, 0) \
	X("avx", NULL, 1, 0, ECX, 28, 0, 1u << 2) \
	X("f16c", NULL, 1, 0, ECX, 29, 0, 0) \
	X("rdrand", NULL, 1, 0, ECX, 30, 0, 0) \
	X("hypervisor", NULL, 1, 0, ECX, 31, F_SYNTH, 0) \
	/* Leaf 7.0 EBX */ \
	X("fsgsbase", NULL, 7, 0, EBX, 0, 0, 0) \
	X("tsc_adjust", NULL, 7, 0, EBX, 1, 0, 0) \
	X("bmi1", NULL, 7, 0, EBX, 3, 0, 0) \
	X("hle", NULL, 7, 0, EBX, 4, 0, 0) \
	X("avx2", NULL, 7, 0, EBX, 5, 0, 0) \
	X("smep", NULL, 7, 0, EBX, 7, 0, 0) \
	X("bmi2", NULL, 7, 0, EBX, 8, 0, 0) \
	X("erms", NULL, 7, 0, EBX, 9, 0, 0) \
	X("invpcid", NULL, 7, 0, EBX, 10, 0, 0) \
	X("rtm", NULL, 7, 0, EBX, 11, 0, 0) \
	X("mpx", NULL, 7, 0, EBX, 14, 0, 3u << 3) \
	X("avx512f", NULL, 7, 0, EBX, 16, 0, 7u << 5) \
	X("avx512dq", NULL, 7, 0, EBX, 17, 0, 0) \
	X("rdseed", NULL, 7, 0, EBX, 18, 0, 0) \
	X("adx", NULL, 7, 0, EBX, 19, 0, 0) \
	X("smap", NULL, 7, 0, EBX, 20, 0, 0) \
	X("avx512ifma", NULL, 7, 0, EBX, 21, 0, 0) \
	X("clflushopt", NULL, 7, 0, EBX, 23, 0, 0) \
	X("clwb", NULL, 7, 0, EBX, 24, 0, 0) \
	X("avx512pf", NULL, 7, 0, EBX, 26, 0, 0) \
	X("avx512er", NULL, 7, 0, EBX, 27, 0, 0) \
	X("avx512cd", NULL, 7, 0, EBX, 28, 0, 0) \
	X("sha_ni", NULL, 7, 0, EBX, 29, 0, 0) \
	X("avx512bw", NULL, 7, 0, EBX, 30, 0, 0) \
	X("avx512vl", NULL, 7, 0, EBX, 31, 0, 0) \
	/* Leaf 7.0 ECX */ \
	X("avx512vbmi", NULL, 7, 0, ECX, 1, 0, 0) \
	X("umip", NULL, 7, 0, ECX, 2, 0, 0) \
	X("pku", NULL, 7, 0, ECX, 3, 0, 1u << 9) \
	X("ospke", NULL, 7, 0, ECX, 4, F_OSBIT, 0) \
	X("waitpkg", NULL, 7, 0, ECX, 5, 0, 0) \
	X("avx512_vbmi2", NULL, 7, 0, ECX, 6, 0, 0) \
	X("gfni", NULL, 7, 0, ECX, 8, 0, 0) \
	X("vaes", NULL, 7, 0, ECX, 9, 0, 0) \
	X("vpclmulqdq", NULL, 7, 0, ECX, 10, 0, 0) \
	X("avx512_vnni", NULL, 7, 0, ECX, 11, 0, 0) \
	X("avx512_bitalg", NULL, 7, 0, ECX, 12, 0, 0) \
	X("avx512_vpopcntdq", NULL, 7, 0, ECX, 14, 0, 0) \
	X("la57", NULL, 7, 0, ECX, 16, 0, 0) \
	X("rdpid", NULL, 7, 0, ECX, 22, 0, 0) \
	X("movdiri", NULL, 7, 0, ECX, 27, 0, 0) \
	X("movdir64b", NULL, 7, 0, ECX, 28, 0, 0) \
	/* Leaf 7.0 EDX */ \
	X("avx512_4vnniw", NULL, 7, 0, EDX, 2, 0, 0) \
	X("avx512_4fmaps", NULL, 7, 0, EDX, 3, 0, 0) \
	X("fsrm", NULL, 7, 0, EDX, 4, 0, 0) \
	X("avx512_vp2intersect", NULL, 7, 0, EDX, 8, 0, 0) \
	X("md_clear", NULL, 7, 0, EDX, 10, 0, 0) \
	X("serialize", NULL, 7, 0, EDX, 14, 0, 0) \
	X("amx_bf16", NULL, 7, 0, EDX, 22, 0, 0) \
	X("avx512_fp16", NULL, 7, 0, EDX, 23, 0, 0) \
	X("amx_tile", NULL, 7, 0, EDX, 24, 0, 3u << 17) \
	X("amx_int8", NULL, 7, 0, EDX, 25, 0, 0) \
	X("spec_ctrl", NULL, 7, 0, EDX, 26, 0, 0) \
	X("stibp", NULL, 7, 0, EDX, 27, 0, 0) \
	X("flush_l1d", NULL, 7, 0, EDX, 28, 0, 0) \
	X("arch_capabilities", NULL, 7, 0, EDX, 29, 0, 0) \
	X("ssbd", NULL, 7, 0, EDX, 31, 0, 0) \
	/* Leaf 7.1 EAX */ \
	X("avx_vnni", NULL, 7, 1, EAX, 4, 0, 0) \
	X("avx512_bf16", NULL, 7, 1, EAX, 5, 0, 0) \
	/* Leaf 0xD.1 EAX */ \
	X("xsaveopt", NULL, 0xd, 1, EAX, 0, 0, 0) \
	X("xsavec", NULL, 0xd, 1, EAX, 1, 0, 0) \
	X("xgetbv1", NULL, 0xd, 1, EAX, 2, 0, 0) \
	X("xsaves", NULL, 0xd, 1, EAX, 3, 0, 0) \
	X("xfd", NULL, 0xd, 1, EAX, 4, 0, 0) \
	/* Leaf 0x80000001 ECX */ \
	X("lahf_lm", NULL, 0x80000001, 0, ECX, 0, 0, 0) \
	X("cmp_legacy", NULL, 0x80000001, 0, ECX, 1, 0, 0) \
	X("svm", NULL, 0x80000001, 0, ECX, 2, 0, 0) \
	X("abm", "lzcnt", 0x80000001, 0, ECX, 5, 0, 0) \
	X("sse4a", NULL, 0x80000001, 0, ECX, 6, 0, 0) \
	X("misalignsse", NULL, 0x80000001, 0, ECX, 7, 0, 0) \
	X("3dnowprefetch", NULL, 0x80000001, 0, ECX, 8, 0, 0) \
	X("xop", NULL, 0x80000001, 0, ECX, 11, 0, 0) \
	X("fma4", NULL, 0x80000001, 0, ECX, 16, 0, 0) \
	X("tbm", NULL, 0x80000001, 0, ECX, 21, 0, 0) \
	X("topoext", NULL, 0x80000001, 0, ECX, 22, 0, 0) \
	/* Leaf 0x80000001 EDX */ \
	X("syscall", NULL, 0x80000001, 0, EDX, 11, 0, 0) \
	X("nx", NULL, 0x80000001, 0, EDX, 20, 0, 0) \
	X("mmxext", NULL, 0x80000001, 0, EDX, 22, 0, 0) \
	X("fxsr_opt", NULL, 0x80000001, 0, EDX, 25, 0, 0) \
	X("pdpe1gb", NULL, 0x80000001, 0, EDX, 26, 0, 0) \
	X("rdtscp", NULL, 0x80000001, 0, EDX, 27, 0, 0) \
	X("lm", NULL, 0x80000001, 0, EDX, 29, 0, 0) \
	/* Leaf 0x80000007 EDX: invariant TSC */ \
	X("invtsc", NULL, 0x80000007, 0, EDX, 8, 0, 0)

#endif
