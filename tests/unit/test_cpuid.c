/* Unit tests for src/arch/x86/cpuid.c: topology and identity leaves, KVM
 * signature leaves, --cpu-features parsing and masking, table capacity, and
 * a check against this host's real KVM_GET_SUPPORTED_CPUID. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define BIT(n) (1u << (n))

/* ---- a fake "supported" table ------------------------------------------- */

static struct kvm_cpuid2 *table_new(uint32_t cap)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + cap * sizeof(t->entries[0]));
	assert_non_null(t);
	t->nent = 0;
	return t;
}

static void add(struct kvm_cpuid2 *t, uint32_t leaf, uint32_t sub, uint32_t flags,
		uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	t->entries[t->nent++] = (struct kvm_cpuid_entry2){
		.function = leaf, .index = sub, .flags = flags,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
}

static void vendor(struct kvm_cpuid2 *t, uint32_t max, const char *v)
{
	uint32_t r[3];
	memcpy(r, v, 12);
	add(t, 0, 0, 0, max, r[0], r[2], r[1]);
}

/* Leaf 1 ECX as a modern Intel host's KVM reports it (OSXSAVE set here on
 * purpose: the builder must clear it). */
#define L1_ECX (BIT(0) | BIT(1) | BIT(3) | BIT(9) | BIT(12) | BIT(13) | BIT(17) | \
		BIT(19) | BIT(20) | BIT(21) | BIT(22) | BIT(23) | BIT(24) | BIT(25) | \
		BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(30))
#define L1_EDX 0x1f8bfbffu /* includes HTT (bit 28) */
#define L7_EBX (BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(9) | BIT(10) | \
		BIT(16) | BIT(17) | BIT(18) | BIT(19) | BIT(20) | BIT(23) | BIT(24) | \
		BIT(28) | BIT(29) | BIT(30) | BIT(31))
#define L7_ECX (BIT(2) | BIT(3) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | BIT(22))
#define L7_EDX (BIT(4) | BIT(10) | BIT(26) | BIT(29))

/* A modern Intel host: leaves 0, 1, 4 (3 caches), 7, 0xB (2 subleaves),
 * 0xD (0, 1, 2, 5), 0x40000000/1, 0x80000000/1/8. */
static struct kvm_cpuid2 *intel_host(uint32_t max_basic, int with_kvm_leaves)
{
	struct kvm_cpuid2 *t = table_new(64);

	vendor(t, max_basic, "GenuineIntel");
	add(t, 1, 0, 0, 0x000906ea, 0x05100800, L1_ECX, L1_EDX);
	add(t, 4, 0, SIG, 0x1c004121, 0x01c0003f, 0x3f, 0);
	add(t, 4, 1, SIG, 0x1c004143, 0x01c0003f, 0x3ff, 0);
	add(t, 4, 2, SIG, 0x1c03c163, 0x03c0003f, 0x2fff, 6);
	add(t, 7, 0, SIG, 0, L7_EBX, L7_ECX, L7_EDX);
	add(t, 0xb, 0, SIG, 1, 2, 0x100, 5);
	add(t, 0xb, 1, SIG, 4, 16, 0x201, 5);
	add(t, 0xd, 0, SIG, 0xe7, 0x988, 0xa88, 0);
	add(t, 0xd, 1, SIG, 0xf, 0x988, 0, 0);
	add(t, 0xd, 2, SIG, 256, 576, 0, 0);
	add(t, 0xd, 5, SIG, 64, 1088, 0, 0);
	if (with_kvm_leaves) {
		add(t, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
		add(t, 0x40000001, 0, 0, 0x01007efb, 0, 0, 0);
	}
	add(t, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(t, 0x80000001, 0, 0, 0, 0, BIT(0) | BIT(5) | BIT(8),
	    BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29));
	add(t, 0x80000008, 0, 0, 0x3027, 0, 0, 0);
	return t;
}

/* An AMD (Zen-like) host: 0x80000008 ECX and 0x8000001E carry host topology. */
static struct kvm_cpuid2 *amd_host(void)
{
	struct kvm_cpuid2 *t = table_new(32);

	vendor(t, 0x10, "AuthenticAMD");
	add(t, 1, 0, 0, 0x00a00f11, 0x02100800, L1_ECX & ~BIT(27), 0x178bfbff);
	add(t, 0xb, 0, SIG, 0, 0, 0, 0);
	add(t, 0x80000000, 0, 0, 0x8000001f, 0, 0, 0);
	add(t, 0x80000001, 0, 0, 0, 0, BIT(0) | BIT(22),
	    0x2fd3fbff);  /* mirrors leaf 1 EDX bits, plus syscall/nx/lm... */
	add(t, 0x80000008, 0, 0, 0x3030, 0, 0x0000700f, 0);
	add(t, 0x8000001d, 0, SIG, 0x00004121, 0x01c0003f, 0x3f, 0);
	add(t, 0x8000001d, 1, SIG, 0x00004143, 0x01c0003f, 0x3ff, 0);
	add(t, 0x8000001d, 2, SIG, 0x0003c163, 0x03c0003f, 0x7fff, 1);
	add(t, 0x8000001e, 0, 0, 0, 0, 0, 0);
	return t;
}

/* ---- helpers -------------------------------------------------------------- */

#define ERRLEN 256

static int build(const struct kvm_cpuid2 *sup, int vcpu, int n, const char *spec,
		 struct kvm_cpuid2 **outp, char *err)
{
	struct cpuid_mask mask;
	struct kvm_cpuid2 *out = table_new(sup->nent + CPUID_EXTRA_ENTRIES);

	out->nent = sup->nent + CPUID_EXTRA_ENTRIES;
	err[0] = '\0';
	*outp = out;
	if (cpuid_parse_features(spec, &mask, err, ERRLEN) < 0)
		return -1;
	return cpuid_build_vcpu(sup, out, vcpu, n, &mask, err, ERRLEN);
}

static struct kvm_cpuid2 *build_ok(const struct kvm_cpuid2 *sup, int vcpu, int n,
				   const char *spec)
{
	struct kvm_cpuid2 *out;
	char err[ERRLEN];
	if (build(sup, vcpu, n, spec, &out, err) < 0)
		fail_msg("build failed: %s", err);
	return out;
}

static void build_fails(const struct kvm_cpuid2 *sup, const char *spec, const char *msg)
{
	struct kvm_cpuid2 *out;
	char err[ERRLEN];
	assert_int_equal(build(sup, 0, 2, spec, &out, err), -1);
	if (!strstr(err, msg))
		fail_msg("error '%s' lacks '%s'", err, msg);
	free(out);
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *t, uint32_t leaf,
					  uint32_t sub)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		if (t->entries[i].function == leaf && t->entries[i].index == sub)
			return &t->entries[i];
	}
	return NULL;
}

static const struct kvm_cpuid_entry2 *must(const struct kvm_cpuid2 *t, uint32_t leaf,
					   uint32_t sub)
{
	const struct kvm_cpuid_entry2 *e = get(t, leaf, sub);
	if (!e)
		fail_msg("leaf %#x.%u missing", leaf, sub);
	return e;
}

static int count_leaf(const struct kvm_cpuid2 *t, uint32_t leaf)
{
	int n = 0;
	for (uint32_t i = 0; i < t->nent; i++)
		n += t->entries[i].function == leaf;
	return n;
}

static unsigned int order(unsigned int n)
{
	unsigned int b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

/* ---- identity and topology ------------------------------------------------ */

static void test_leaf1(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);

	for (int v = 0; v < 4; v++) {
		struct kvm_cpuid2 *out = build_ok(sup, v, 4, NULL);
		const struct kvm_cpuid_entry2 *e = must(out, 1, 0);
		assert_int_equal(e->ebx >> 24, v);
		assert_int_equal((e->ebx >> 16) & 0xff, 4);
		assert_int_equal((e->ebx >> 8) & 0xff, 8);    /* CLFLUSH kept */
		assert_true(e->ecx & BIT(31));                 /* hypervisor */
		assert_false(e->ecx & BIT(27));                /* OSXSAVE */
		assert_int_equal(e->ecx & ~(BIT(27) | BIT(31)), L1_ECX & ~BIT(27));
		assert_int_equal(e->edx, L1_EDX);              /* HTT kept */
		assert_int_equal(e->eax, 0x000906ea);
		free(out);
	}
	free(sup);
}

/* Check one vCPU's 0xB/0x1F the way Linux's detect_extended_topology reads it. */
static void check_ext_topology(const struct kvm_cpuid2 *out, uint32_t leaf, int v, int n)
{
	const struct kvm_cpuid_entry2 *smt = must(out, leaf, 0);
	const struct kvm_cpuid_entry2 *core = must(out, leaf, 1);
	const struct kvm_cpuid_entry2 *end = must(out, leaf, 2);

	assert_int_equal(count_leaf(out, leaf), 3);
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);
	assert_int_equal(core->eax, order(n));
	assert_int_equal(core->ebx, n);
	assert_int_equal(core->ecx, 0x201);
	assert_int_equal(end->ebx, 0);
	assert_int_equal(end->ecx, 2);
	for (uint32_t s = 0; s < 3; s++) {
		assert_int_equal(must(out, leaf, s)->edx, v);
		assert_true(must(out, leaf, s)->flags & SIG);
	}
	/* Linux: package = apicid >> pkg shift, core = the bits below it. */
	assert_int_equal((uint32_t)v >> core->eax, 0);
	assert_int_equal(v & ((1u << core->eax) - 1), v);
}

static void test_topology_sizes(void **state)
{
	static const int sizes[] = { 1, 2, 3, 4, 64 };
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int n = sizes[i];
		int vs[2] = { 0, n - 1 };
		for (int j = 0; j < 2; j++) {
			struct kvm_cpuid2 *out = build_ok(sup, vs[j], n, NULL);
			uint32_t ids = 1u << order(n);
			check_ext_topology(out, 0xb, vs[j], n);
			assert_int_equal((must(out, 1, 0)->ebx >> 16) & 0xff, ids);
			assert_int_equal(must(out, 1, 0)->ebx >> 24, vs[j]);
			assert_int_equal(!!(must(out, 1, 0)->edx & BIT(28)), n > 1); /* HTT */
			/* Leaf 4: cores field; L1/L2 per core, L3 per package. */
			for (uint32_t s = 0; s < 3; s++) {
				uint32_t eax = must(out, 4, s)->eax;
				assert_int_equal(eax >> 26, ids - 1);
				assert_int_equal((eax >> 14) & 0xfff, s < 2 ? 0 : ids - 1);
				assert_int_equal(eax & 0x3fff, must(sup, 4, s)->eax & 0x3fff);
			}
			assert_null(get(out, 0x1f, 0));
			free(out);
		}
	}
	free(sup);
}

static void test_leaf_1f(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0x1f, 1);
	add(sup, 0x1f, 0, SIG, 0, 0, 0, 0);
	struct kvm_cpuid2 *out = build_ok(sup, 2, 3, NULL);

	check_ext_topology(out, 0x1f, 2, 3);
	check_ext_topology(out, 0xb, 2, 3);
	free(out);
	free(sup);

	/* Below leaf 0xB's range: no extended topology at all. */
	sup = intel_host(0xa, 1);
	out = build_ok(sup, 1, 2, NULL);
	assert_int_equal(count_leaf(out, 0xb), 0);
	free(out);
	free(sup);
}

static void test_amd_topology(void **state)
{
	struct kvm_cpuid2 *sup = amd_host();
	struct kvm_cpuid2 *out = build_ok(sup, 5, 6, NULL);

	uint32_t ecx = must(out, 0x80000008, 0)->ecx;
	assert_int_equal(ecx & 0xff, 5);            /* NC = cores - 1 */
	assert_int_equal((ecx >> 12) & 0xf, 3);     /* ApicIdSize */
	const struct kvm_cpuid_entry2 *e = must(out, 0x8000001e, 0);
	assert_int_equal(e->eax, 5);
	assert_int_equal(e->ebx, 5);                /* core 5, 1 thread */
	assert_int_equal(e->ecx, 0);
	assert_true(must(out, 0x80000001, 0)->ecx & BIT(1));  /* CmpLegacy */
	assert_int_equal((must(out, 0x8000001d, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((must(out, 0x8000001d, 2)->eax >> 14) & 0xfff, 7);
	check_ext_topology(out, 0xb, 5, 6);
	free(out);

	out = build_ok(sup, 0, 1, NULL);
	assert_false(must(out, 0x80000001, 0)->ecx & BIT(1));
	free(out);
	free(sup);
}

/* ---- KVM leaves ------------------------------------------------------------ */

static void check_signature(const struct kvm_cpuid2 *out)
{
	const struct kvm_cpuid_entry2 *e = must(out, 0x40000000, 0);
	char sig[13] = { 0 };

	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_string_equal(sig, "KVMKVMKVM");
	assert_int_equal(e->eax, 0x40000001);
	assert_int_equal(count_leaf(out, 0x40000000), 1);
	assert_int_equal(count_leaf(out, 0x40000001), 1);
}

static void test_kvm_leaves(void **state)
{
	for (int present = 0; present < 2; present++) {
		struct kvm_cpuid2 *sup = intel_host(0xd, present);
		struct kvm_cpuid2 *out = build_ok(sup, 0, 2, NULL);
		check_signature(out);
		assert_int_equal(must(out, 0x40000001, 0)->eax, present ? 0x01007efb : 0);
		/* two 0xB subleaves became three, plus any KVM leaves added */
		assert_int_equal(out->nent, sup->nent + 1 + (present ? 0 : 2));
		free(out);
		free(sup);
	}
}

/* ---- masks ----------------------------------------------------------------- */

static void test_mask_xsave(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);
	struct kvm_cpuid2 *out = build_ok(sup, 0, 2, "-xsave");
	const struct kvm_cpuid_entry2 *l1 = must(out, 1, 0), *l7 = must(out, 7, 0);

	assert_int_equal(l1->ecx & (BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(12)), 0);
	assert_true(l1->ecx & BIT(23));       /* popcnt untouched */
	assert_true(l1->ecx & BIT(30));       /* rdrand untouched */
	assert_int_equal(l7->ebx & (BIT(5) | BIT(16) | BIT(17) | BIT(28) | BIT(30) | BIT(31)), 0);
	assert_true(l7->ebx & BIT(18));       /* rdseed untouched */
	assert_int_equal(l7->ecx & (BIT(3) | BIT(6) | BIT(9) | BIT(10)), 0); /* pku vbmi2 vaes vpclmul */
	assert_true(l7->ecx & BIT(8));        /* gfni only needs sse2 */
	for (uint32_t s = 0; s < 6; s++) {
		const struct kvm_cpuid_entry2 *e = get(out, 0xd, s);
		if (e)
			assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	}
	free(out);
	free(sup);
}

static void test_mask_avx(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);
	struct kvm_cpuid2 *out = build_ok(sup, 0, 2, "-avx");

	assert_int_equal(must(out, 1, 0)->ecx & (BIT(12) | BIT(28) | BIT(29)), 0);
	assert_true(must(out, 1, 0)->ecx & BIT(26));                   /* xsave kept */
	assert_int_equal(must(out, 7, 0)->ebx & (BIT(5) | BIT(16)), 0);
	assert_int_equal(must(out, 0xd, 0)->eax, 0x3);                 /* x87|sse */
	assert_int_equal(must(out, 0xd, 2)->eax, 0);
	assert_int_equal(must(out, 0xd, 5)->eax, 0);
	assert_int_equal(must(out, 0xd, 1)->eax, 0xf);                 /* xsaveopt.. kept */
	free(out);
	free(sup);
}

/* KVM not offering XSAVE (as here, under PVM) takes its dependents and
 * leaf 0xD with it, just as "-xsave" would. */
static void test_unsupported_deps(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);
	sup->entries[1].ecx &= ~BIT(26);
	struct kvm_cpuid2 *out = build_ok(sup, 0, 2, NULL);

	assert_int_equal(must(out, 1, 0)->ecx & (BIT(12) | BIT(28) | BIT(29)), 0);
	assert_int_equal(must(out, 7, 0)->ebx & (BIT(5) | BIT(16)), 0);
	assert_int_equal(must(out, 0xd, 0)->eax, 0);
	assert_int_equal(must(out, 0xd, 2)->ebx, 0);
	free(out);
	build_fails(sup, "+avx", "cpu feature 'avx' cannot be enabled");
	free(sup);
}

static void test_mask_single_bits(void **state)
{
	/* MACHINE.md's clearcpuid numbers (word*32+bit of cpufeatures.h). */
	static const struct { const char *name; uint32_t leaf; int reg; int bit; } m[] = {
		{ "popcnt", 1, 2, 151 - 128 }, { "erms", 7, 1, 297 - 288 },
		{ "fsrm", 7, 3, 580 - 576 }, { "rdrand", 1, 2, 158 - 128 },
		{ "rdseed", 7, 1, 306 - 288 }, { "cx16", 1, 2, 141 - 128 },
		{ "smap", 7, 1, 308 - 288 },
	};
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		char spec[32];
		snprintf(spec, sizeof(spec), "-%s", m[i].name);
		struct kvm_cpuid2 *out = build_ok(sup, 0, 2, spec);
		struct kvm_cpuid2 *ref = build_ok(sup, 0, 2, NULL);
		const struct kvm_cpuid_entry2 *a = must(out, m[i].leaf, 0);
		const struct kvm_cpuid_entry2 *b = must(ref, m[i].leaf, 0);
		const uint32_t ra[4] = { a->eax, a->ebx, a->ecx, a->edx };
		const uint32_t rb[4] = { b->eax, b->ebx, b->ecx, b->edx };
		assert_true(rb[m[i].reg] & BIT(m[i].bit));
		assert_int_equal(ra[m[i].reg], rb[m[i].reg] & ~BIT(m[i].bit));
		assert_int_equal(out->nent, ref->nent);
		free(out);
		free(ref);
	}
	free(sup);
}

static void test_mask_mirror(void **state)
{
	struct kvm_cpuid2 *sup = amd_host();
	struct kvm_cpuid2 *out = build_ok(sup, 0, 2, "-mmx,-pni");

	assert_false(must(out, 1, 0)->edx & BIT(23));
	assert_false(must(out, 0x80000001, 0)->edx & BIT(23));
	assert_false(must(out, 0x80000001, 0)->edx & BIT(22));   /* mmxext */
	assert_false(must(out, 1, 0)->ecx & BIT(0));             /* pni alias */
	free(out);
	free(sup);
}

static void test_mask_enable(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);
	struct kvm_cpuid2 *out = build_ok(sup, 0, 2, "+x2apic,+hypervisor,-rdrand,-rdrand");

	assert_true(must(out, 1, 0)->ecx & BIT(21));
	free(out);
	build_fails(sup, "+waitpkg", "cpu feature 'waitpkg' is not supported by this host's KVM");
	build_fails(sup, "+osxsave", "set by the guest OS");
	build_fails(sup, "-xsave,+avx", "cpu feature 'avx' cannot be enabled");
	free(sup);
}

/* ---- parsing --------------------------------------------------------------- */

static void parse_fails(const char *spec, const char *msg)
{
	struct cpuid_mask mask;
	char err[ERRLEN] = "";
	assert_int_equal(cpuid_parse_features(spec, &mask, err, sizeof(err)), -1);
	if (!strstr(err, msg))
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, msg);
}

static void test_parse(void **state)
{
	struct cpuid_mask mask;
	char err[ERRLEN];

	assert_int_equal(cpuid_parse_features(NULL, &mask, err, sizeof(err)), 0);
	assert_int_equal(mask.nr, 0);
	assert_int_equal(cpuid_parse_features("-xsave,-XSAVE,+x2apic,-sse3,-pni", &mask,
					      err, sizeof(err)), 0);
	assert_int_equal(mask.nr, 3);
	assert_string_equal(mask.reqs[0].name, "xsave");
	assert_int_equal(mask.reqs[0].leaf, 1);
	assert_int_equal(mask.reqs[0].reg, 2);
	assert_int_equal(mask.reqs[0].bit, 26);
	assert_int_equal(mask.reqs[1].enable, 1);

	static const char *const bad[][2] = {
		{ "-bogus", "unknown cpu feature 'bogus' (see landlord run --help)" },
		{ "-xsave,+xsave", "cpu feature 'xsave' is both enabled and disabled" },
		{ "-xsave,,-rdrand", "empty item" }, { "-xsave,", "empty item" },
		{ ",-xsave", "empty item" }, { "xsave", "needs a '+' or '-' prefix" },
		{ "-", "name missing" }, { "-avx,+", "name missing" },
		{ "- xsave", "unknown cpu feature ' xsave'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_fails(bad[i][0], bad[i][1]);
}

static void test_parse_too_many(void **state)
{
	const char *const *names = cpuid_feature_names();
	char spec[4096] = "";
	struct cpuid_mask mask;
	char err[ERRLEN];

	for (int i = 0; i < CPUID_MAX_MASKS; i++) {
		assert_non_null(names[i]);
		strcat(spec, i ? ",-" : "-");
		strcat(spec, names[i]);
	}
	assert_int_equal(cpuid_parse_features(spec, &mask, err, sizeof(err)), 0);
	assert_int_equal(mask.nr, CPUID_MAX_MASKS);
	strcat(spec, ",-");
	strcat(spec, names[CPUID_MAX_MASKS]);
	parse_fails(spec, "too many cpu features");
}

static void test_feature_names(void **state)
{
	static const char *const required[] = {
		"fpu", "sse2", "ht", "sse3", "popcnt", "xsave", "osxsave", "hypervisor",
		"fsgsbase", "avx512vl", "rdpid", "fsrm", "md_clear", "arch_capabilities",
		"xsaves", "lahf_lm", "abm", "3dnowprefetch", "syscall", "lm", "invtsc",
	};
	const char *const *names = cpuid_feature_names();
	size_t n = 0;

	for (; names[n]; n++) {
		char spec[64], err[ERRLEN];
		struct cpuid_mask mask;
		snprintf(spec, sizeof(spec), "-%s", names[n]);
		assert_int_equal(cpuid_parse_features(spec, &mask, err, sizeof(err)), 0);
		assert_string_equal(mask.reqs[0].name, names[n]);   /* no duplicates */
	}
	assert_true(n > CPUID_MAX_MASKS);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		size_t j = 0;
		while (names[j] && strcmp(names[j], required[i]))
			j++;
		if (!names[j])
			fail_msg("feature %s missing", required[i]);
	}
}

/* ---- capacity and arguments ------------------------------------------------ */

static void test_capacity(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0x1f, 0);
	add(sup, 0x1f, 0, SIG, 0, 0, 0, 0);
	struct kvm_cpuid2 *out = table_new(sup->nent + CPUID_EXTRA_ENTRIES);
	char err[ERRLEN];

	out->nent = sup->nent + CPUID_EXTRA_ENTRIES - 1;
	assert_int_equal(cpuid_build_vcpu(sup, out, 0, 2, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "room"));
	out->nent = sup->nent + CPUID_EXTRA_ENTRIES;
	assert_int_equal(cpuid_build_vcpu(sup, out, 0, 2, NULL, err, sizeof(err)), 0);
	assert_true(out->nent <= sup->nent + CPUID_EXTRA_ENTRIES);
	free(out);
	free(sup);
}

static void test_bad_args(void **state)
{
	struct kvm_cpuid2 *sup = intel_host(0xd, 1);
	struct kvm_cpuid2 *out;
	char err[ERRLEN];

	assert_int_equal(build(sup, 2, 2, NULL, &out, err), -1);
	free(out);
	assert_int_equal(build(sup, -1, 2, NULL, &out, err), -1);
	free(out);
	assert_int_equal(build(sup, 0, 0, NULL, &out, err), -1);
	free(out);
	free(sup);
}

/* ---- this host's KVM ------------------------------------------------------- */

static struct kvm_cpuid2 *host_supported(int kvm)
{
	for (uint32_t cap = 64; cap <= 4096; cap *= 2) {
		struct kvm_cpuid2 *t = table_new(cap);
		t->nent = cap;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, t) == 0)
			return t;
		free(t);
		if (errno != E2BIG)
			break;
	}
	return NULL;
}

static void print_host_bits(const struct kvm_cpuid2 *sup)
{
	const struct kvm_cpuid_entry2 *e = get(sup, 1, 0);
	if (!e)
		return;
	print_message("host KVM leaf 1: ecx=%#010x edx=%#010x xsave=%d popcnt=%d rdrand=%d "
		      "cx16=%d x2apic=%d\n", e->ecx, e->edx, !!(e->ecx & BIT(26)),
		      !!(e->ecx & BIT(23)), !!(e->ecx & BIT(30)), !!(e->ecx & BIT(13)),
		      !!(e->ecx & BIT(21)));
	print_message("host KVM: max basic leaf %#x, %u entries\n", must(sup, 0, 0)->eax, sup->nent);
}

/* Hand the table to a real vCPU: KVM_SET_CPUID2 is the authority. */
static void set_on_vcpu(int vm, int id, const struct kvm_cpuid2 *t)
{
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, id);
	assert_true(vcpu >= 0);
	if (ioctl(vcpu, KVM_SET_CPUID2, t) < 0)
		fail_msg("KVM_SET_CPUID2 vCPU %d: %s", id, strerror(errno));
	close(vcpu);
}

static void test_real_host(void **state)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		skip();
	struct kvm_cpuid2 *sup = host_supported(kvm);
	assert_non_null(sup);
	print_host_bits(sup);

	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	assert_true(vm >= 0);
	for (int v = 0; v < 2; v++) {
		struct kvm_cpuid2 *out = build_ok(sup, v, 2, v ? "-xsave,-rdrand,-popcnt,-cx16" : NULL);
		const struct kvm_cpuid_entry2 *e = must(out, 1, 0);
		assert_int_equal(e->ebx >> 24, v);
		assert_true(e->ecx & BIT(31));
		assert_true(e->edx & BIT(28));
		check_signature(out);
		if (must(out, 0, 0)->eax >= 0xb)
			check_ext_topology(out, 0xb, v, 2);
		if (v)
			assert_int_equal(e->ecx & (BIT(26) | BIT(30) | BIT(23) | BIT(13)), 0);
		if (!(e->ecx & BIT(26)) && get(out, 0xd, 0))
			assert_int_equal(must(out, 0xd, 0)->eax, 0);
		set_on_vcpu(vm, v, out);
		free(out);
	}
	close(vm);
	free(sup);
	close(kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1),
		cmocka_unit_test(test_topology_sizes),
		cmocka_unit_test(test_leaf_1f),
		cmocka_unit_test(test_amd_topology),
		cmocka_unit_test(test_kvm_leaves),
		cmocka_unit_test(test_mask_xsave),
		cmocka_unit_test(test_mask_avx),
		cmocka_unit_test(test_unsupported_deps),
		cmocka_unit_test(test_mask_single_bits),
		cmocka_unit_test(test_mask_mirror),
		cmocka_unit_test(test_mask_enable),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_feature_names),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_real_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
