/* The CPUID a vCPU sees.
 *
 * Start from KVM_GET_SUPPORTED_CPUID (what this host's KVM can really run),
 * then describe a simple machine: one socket, nr_cpus cores, one thread per
 * core, APIC id == x2APIC id == vCPU index.  Every topology leaf a guest may
 * consult (1, 4, 0xB, 0x1F, 0x80000008, 0x8000001D, 0x8000001E) is rewritten
 * to that one model, because Linux cross-checks them and a host's real
 * topology leaking through would contradict the guest's MP/ACPI tables.
 * Finally the user's --cpu-features masks are applied. */
#include "arch/x86/cpuid.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { EAX, EBX, ECX, EDX };

/* Flags of a feature table entry. */
#define F_MIRROR 0x01 /* leaf 1 EDX bit that AMD duplicates in 0x80000001 EDX */
#define F_SYNTH  0x02 /* set by this file (hypervisor, ht), not by KVM */
#define F_OSBIT  0x04 /* set by the guest OS through CR4; never by us */

#include "cpuid_features.h"

struct cpuid_feature {
	const char *name;     /* as in /proc/cpuinfo where it has one */
	const char *alias;    /* another accepted spelling, or NULL */
	uint32_t leaf;
	uint8_t subleaf, reg, bit, flags;
	uint32_t xcomp;       /* XSAVE components (XCR0 bits) this feature owns */
};

#define FEATURE_ENTRY(n, a, l, s, r, b, f, x) { n, a, l, s, r, b, f, x },
static const struct cpuid_feature features[] = { FEATURE_LIST(FEATURE_ENTRY) };

#define NR_FEATURES (sizeof(features) / sizeof(features[0]))

/* "feature" needs "depends": turning "depends" off turns "feature" off.
 * Mostly Linux's arch/x86/kernel/cpu/cpuid-deps.c restricted to our table,
 * plus the VEX-encoded instructions that need AVX's YMM state. */
static const struct { const char *feature, *depends; } feature_deps[] = {
	{ "fxsr", "fpu" }, { "cmov", "fxsr" }, { "mmx", "fxsr" },
	{ "mmxext", "mmx" }, { "fxsr_opt", "fxsr" }, { "xsave", "fxsr" },
	{ "sse", "fxsr" }, { "sse2", "sse" }, { "sse3", "sse2" },
	{ "ssse3", "sse2" }, { "sse4_1", "sse2" }, { "sse4_2", "sse2" },
	{ "sse4a", "sse2" }, { "pclmulqdq", "sse2" }, { "aes", "sse2" },
	{ "sha_ni", "sse2" }, { "gfni", "sse2" }, { "f16c", "sse2" },
	{ "osxsave", "xsave" }, { "xsaveopt", "xsave" }, { "xsavec", "xsave" },
	{ "xsaves", "xsave" }, { "xgetbv1", "xsave" }, { "avx", "xsave" },
	{ "mpx", "xsave" }, { "pku", "xsave" }, { "ospke", "pku" },
	{ "f16c", "avx" }, { "fma", "avx" }, { "fma4", "avx" }, { "xop", "avx" },
	{ "avx2", "avx" }, { "vaes", "avx" }, { "vpclmulqdq", "avx" },
	{ "avx_vnni", "avx" }, { "avx512f", "avx" },
	{ "avx512dq", "avx512f" }, { "avx512ifma", "avx512f" },
	{ "avx512pf", "avx512f" }, { "avx512er", "avx512f" },
	{ "avx512cd", "avx512f" }, { "avx512bw", "avx512f" },
	{ "avx512vl", "avx512f" }, { "avx512vbmi", "avx512f" },
	{ "avx512_vpopcntdq", "avx512f" }, { "avx512_4vnniw", "avx512f" },
	{ "avx512_4fmaps", "avx512f" }, { "avx512_vbmi2", "avx512vl" },
	{ "avx512_vnni", "avx512vl" }, { "avx512_bitalg", "avx512vl" },
	{ "avx512_vp2intersect", "avx512vl" }, { "avx512_bf16", "avx512vl" },
	{ "avx512_fp16", "avx512bw" }, { "xfd", "xsaves" }, { "xfd", "xgetbv1" },
	{ "amx_tile", "xfd" }, { "amx_bf16", "amx_tile" },
	{ "amx_int8", "amx_tile" }, { "x2apic", "apic" },
	{ "tsc_deadline_timer", "apic" },
};

#define NR_DEPS (sizeof(feature_deps) / sizeof(feature_deps[0]))

/* Hypervisor leaves: "KVMKVMKVM\0\0\0" tells Linux to use KVM's paravirt
 * interfaces; 0x40000001 lists them. */
#define KVM_SIG_LEAF  0x40000000u
#define KVM_FEAT_LEAF 0x40000001u
#define KVM_SIG_EBX   0x4b4d564bu /* "KVMK" */
#define KVM_SIG_ECX   0x564b4d56u /* "VMKV" */
#define KVM_SIG_EDX   0x0000004du /* "M\0\0\0" */

/* Topology level types of leaves 0xB and 0x1F. */
#define LEVEL_SMT  1
#define LEVEL_CORE 2

/* The table under construction: never more than cap entries. */
struct table {
	struct kvm_cpuid_entry2 *e;
	uint32_t n, cap;
};

static int feature_index(const char *name)
{
	for (size_t i = 0; i < NR_FEATURES; i++) {
		if (!strcasecmp(features[i].name, name) ||
		    (features[i].alias && !strcasecmp(features[i].alias, name)))
			return (int)i;
	}
	return -1;
}

static int feature_at(const struct cpuid_feature_req *r)
{
	for (size_t i = 0; i < NR_FEATURES; i++) {
		const struct cpuid_feature *f = &features[i];
		if (f->leaf == r->leaf && f->subleaf == r->subleaf &&
		    f->reg == r->reg && f->bit == r->bit)
			return (int)i;
	}
	return -1;
}

const char *const *cpuid_feature_names(void)
{
#define FEATURE_NAME(n, a, l, s, r, b, f, x) n,
	static const char *const names[] = { FEATURE_LIST(FEATURE_NAME) NULL };
#undef FEATURE_NAME
	return names;
}

/* ---- parsing ------------------------------------------------------------ */

static int add_request(struct cpuid_mask *mask, int idx, bool enable,
		       char *err, size_t errlen)
{
	const struct cpuid_feature *f = &features[idx];

	for (int i = 0; i < mask->nr; i++) {
		struct cpuid_feature_req *r = &mask->reqs[i];
		if (r->name != f->name)
			continue;
		if (r->enable == enable)
			return 0; /* harmless duplicate */
		snprintf(err, errlen, "cpu feature '%s' is both enabled and disabled", f->name);
		return -1;
	}
	if (mask->nr >= CPUID_MAX_MASKS) {
		snprintf(err, errlen, "too many cpu features (at most %d)", CPUID_MAX_MASKS);
		return -1;
	}
	mask->reqs[mask->nr++] = (struct cpuid_feature_req){
		.leaf = f->leaf, .subleaf = f->subleaf, .reg = f->reg,
		.bit = f->bit, .enable = enable, .name = f->name,
	};
	return 0;
}

static int parse_item(const char *item, size_t len, struct cpuid_mask *mask,
		      char *err, size_t errlen)
{
	char name[64];

	if (len == 0) {
		snprintf(err, errlen, "empty item in cpu feature list");
		return -1;
	}
	if (item[0] != '+' && item[0] != '-') {
		snprintf(err, errlen, "cpu feature '%.*s' needs a '+' or '-' prefix (e.g. -%.*s)",
			 (int)len, item, (int)len, item);
		return -1;
	}
	if (len == 1) {
		snprintf(err, errlen, "cpu feature name missing after '%c'", item[0]);
		return -1;
	}
	if (len - 1 >= sizeof(name)) {
		snprintf(err, errlen, "unknown cpu feature '%.*s' (see landlord run --help)",
			 (int)(len - 1), item + 1);
		return -1;
	}
	memcpy(name, item + 1, len - 1);
	name[len - 1] = '\0';
	int idx = feature_index(name);
	if (idx < 0) {
		snprintf(err, errlen, "unknown cpu feature '%s' (see landlord run --help)", name);
		return -1;
	}
	return add_request(mask, idx, item[0] == '+', err, errlen);
}

int cpuid_parse_features(const char *spec, struct cpuid_mask *mask, char *err, size_t errlen)
{
	mask->nr = 0;
	if (!spec || !*spec)
		return 0;
	for (const char *p = spec;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (parse_item(p, len, mask, err, errlen) < 0)
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* ---- table helpers -------------------------------------------------------- */

static bool entry_is(const struct kvm_cpuid_entry2 *e, uint32_t leaf, uint32_t sub)
{
	if (e->function != leaf)
		return false;
	return !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub;
}

static struct kvm_cpuid_entry2 *find(struct table *t, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < t->n; i++) {
		if (entry_is(&t->e[i], leaf, sub))
			return &t->e[i];
	}
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, int reg)
{
	switch (reg) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default:  return &e->edx;
	}
}

static struct kvm_cpuid_entry2 *append(struct table *t, uint32_t leaf, uint32_t sub,
				       uint32_t flags)
{
	if (t->n >= t->cap)
		return NULL;
	struct kvm_cpuid_entry2 *e = &t->e[t->n++];
	*e = (struct kvm_cpuid_entry2){ .function = leaf, .index = sub, .flags = flags };
	return e;
}

static uint32_t max_leaf(struct table *t, uint32_t base)
{
	struct kvm_cpuid_entry2 *e = find(t, base, 0);
	return e ? e->eax : 0;
}

/* AMD and Hygon describe cores in 0x80000008/0x8000001E; Intel does not. */
static bool vendor_is_amd(struct table *t)
{
	struct kvm_cpuid_entry2 *e = find(t, 0, 0);
	char v[12];

	if (!e)
		return false;
	memcpy(v, &e->ebx, 4);
	memcpy(v + 4, &e->edx, 4);
	memcpy(v + 8, &e->ecx, 4);
	return !memcmp(v, "AuthenticAMD", 12) || !memcmp(v, "HygonGenuine", 12);
}

/* Bits needed to number n things: ceil(log2(n)). */
static unsigned int order(unsigned int n)
{
	unsigned int bits = 0;
	while ((1u << bits) < n)
		bits++;
	return bits;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* ---- topology ------------------------------------------------------------- */

struct topo {
	uint32_t apic_id;     /* == vcpu_index */
	uint32_t nr_cpus;
	unsigned int core_bits; /* APIC id bits for the core level */
};

static void set_leaf1(struct table *t, const struct topo *tp)
{
	struct kvm_cpuid_entry2 *e = find(t, 1, 0);
	if (!e)
		return;
	/* EBX: keep brand index and CLFLUSH size; the APIC id field is 8 bits
	 * (x2APIC ids above 255 are in 0xB only). */
	uint32_t ids = min_u32(1u << tp->core_bits, 255);
	e->ebx = (e->ebx & 0xffffu) | (ids << 16) | ((tp->apic_id & 0xff) << 24);
	e->ecx |= 1u << 31;     /* hypervisor */
	e->ecx &= ~(1u << 27);  /* OSXSAVE: the guest sets CR4.OSXSAVE itself */
	if (tp->nr_cpus > 1)
		e->edx |= 1u << 28;  /* HTT: EBX[23:16] is meaningful */
	else
		e->edx &= ~(1u << 28);
}

/* Leaf 4 (Intel) and 0x8000001D (AMD) share the EAX layout: L1/L2 belong to
 * one core (one thread), L3 and beyond to the whole package. */
static void set_cache_leaf(struct table *t, uint32_t leaf, const struct topo *tp)
{
	uint32_t pkg_ids = (1u << tp->core_bits) - 1;

	for (uint32_t i = 0; i < t->n; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function != leaf || !(e->eax & 0x1f))
			continue;
		uint32_t level = (e->eax >> 5) & 7;
		uint32_t sharing = level >= 3 ? min_u32(pkg_ids, 0xfff) : 0;
		e->eax = (e->eax & ~(0xfffu << 14)) | (sharing << 14);
		if (leaf == 4)  /* EAX[31:26]: addressable core ids - 1 */
			e->eax = (e->eax & 0x03ffffffu) | (min_u32(pkg_ids, 63) << 26);
	}
}

static void set_amd_topology(struct table *t, const struct topo *tp)
{
	struct kvm_cpuid_entry2 *e = find(t, 0x80000008, 0);
	if (e) /* ApicIdSize [15:12], NC [7:0] = cores - 1 */
		e->ecx = (e->ecx & ~0xf0ffu) | (min_u32(tp->core_bits, 15) << 12) |
			 min_u32(tp->nr_cpus - 1, 255);
	e = find(t, 0x8000001e, 0);
	if (e) { /* extended APIC id; core id; 1 thread per core; node 0 of 1 */
		e->eax = tp->apic_id;
		e->ebx = tp->apic_id & 0xff;
		e->ecx = 0;
		e->edx = 0;
	}
	/* CmpLegacy: HTT counts cores, not threads (no SMT in our model). */
	e = find(t, 0x80000001, 0);
	if (e && tp->nr_cpus > 1)
		e->ecx |= 1u << 1;
	else if (e)
		e->ecx &= ~(1u << 1);
}

/* Leaf 0xB / 0x1F: SMT level (1 thread per core), core level (all vCPUs),
 * then the terminating invalid level.  EDX is the x2APIC id everywhere. */
static int add_ext_topology(struct table *t, uint32_t leaf, const struct topo *tp)
{
	const struct { uint32_t shift, count, type; } lv[3] = {
		{ 0, 1, LEVEL_SMT },
		{ tp->core_bits, tp->nr_cpus, LEVEL_CORE },
		{ 0, 0, 0 },
	};
	for (uint32_t i = 0; i < 3; i++) {
		struct kvm_cpuid_entry2 *e = append(t, leaf, i, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		if (!e)
			return -1;
		e->eax = lv[i].shift;
		e->ebx = lv[i].count;
		e->ecx = (lv[i].type << 8) | i;
		e->edx = tp->apic_id;
	}
	return 0;
}

static int add_kvm_leaves(struct table *t)
{
	struct kvm_cpuid_entry2 *e = find(t, KVM_SIG_LEAF, 0);
	if (!e && !(e = append(t, KVM_SIG_LEAF, 0, 0)))
		return -1;
	e->eax = KVM_FEAT_LEAF;
	e->ebx = KVM_SIG_EBX;
	e->ecx = KVM_SIG_ECX;
	e->edx = KVM_SIG_EDX;
	if (!find(t, KVM_FEAT_LEAF, 0) && !append(t, KVM_FEAT_LEAF, 0, 0))
		return -1;
	return 0;
}

/* ---- masks ---------------------------------------------------------------- */

/* Spread "off" along feature_deps until nothing changes. */
static void close_over_deps(bool *off)
{
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < NR_DEPS; i++) {
			int f = feature_index(feature_deps[i].feature);
			int d = feature_index(feature_deps[i].depends);
			if (f >= 0 && d >= 0 && off[d] && !off[f]) {
				off[f] = true;
				changed = true;
			}
		}
	}
}

static void clear_bit_at(struct table *t, uint32_t leaf, uint32_t sub, int reg, int bit)
{
	struct kvm_cpuid_entry2 *e = find(t, leaf, sub);
	if (e)
		*reg_of(e, reg) &= ~(1u << bit);
}

static void zero_entry(struct kvm_cpuid_entry2 *e)
{
	e->eax = e->ebx = e->ecx = e->edx = 0;
}

/* Drop XSAVE components from 0xD.0's XCR0 mask, with their subleaves, so
 * KVM refuses XSETBV for state the guest was told does not exist. */
static void clear_xcomponents(struct table *t, uint32_t xcomp)
{
	struct kvm_cpuid_entry2 *e0 = find(t, 0xd, 0);
	if (!e0 || !xcomp)
		return;
	e0->eax &= ~xcomp;
	for (uint32_t i = 0; i < t->n; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function == 0xd && e->index >= 2 && e->index < 32 &&
		    (xcomp & (1u << e->index)))
			zero_entry(e);
	}
}

static void clear_feature(struct table *t, const struct cpuid_feature *f)
{
	clear_bit_at(t, f->leaf, f->subleaf, f->reg, f->bit);
	if (f->flags & F_MIRROR)
		clear_bit_at(t, 0x80000001, 0, EDX, f->bit);
	clear_xcomponents(t, f->xcomp);
	if (!strcmp(f->name, "xsave")) {
		/* No XSAVE: leaf 0xD describes nothing. */
		for (uint32_t i = 0; i < t->n; i++) {
			if (t->e[i].function == 0xd)
				zero_entry(&t->e[i]);
		}
	} else if (!strcmp(f->name, "xsaves")) {
		struct kvm_cpuid_entry2 *e = find(t, 0xd, 1);
		if (e)  /* IA32_XSS has nothing to enable without XSAVES */
			e->ecx = e->edx = 0;
	}
}

static bool bit_set(struct table *t, const struct cpuid_feature *f)
{
	struct kvm_cpuid_entry2 *e = find(t, f->leaf, f->subleaf);
	return e && (*reg_of(e, f->reg) & (1u << f->bit));
}

/* "+name" asks that the guest really gets the feature. */
static int check_supported(struct table *t, const struct cpuid_feature *f,
			   char *err, size_t errlen)
{
	if (f->flags & F_OSBIT)
		snprintf(err, errlen, "cpu feature '%s' is set by the guest OS, not by --cpu-features",
			 f->name);
	else if (!bit_set(t, f) && (f->flags & F_SYNTH))
		snprintf(err, errlen, "cpu feature '%s' is set by landlord where it applies", f->name);
	else if (!bit_set(t, f))
		snprintf(err, errlen, "cpu feature '%s' is not supported by this host's KVM", f->name);
	else
		return 0;
	return -1;
}

static int mask_indexes(const struct cpuid_mask *mask, int *idx, char *err, size_t errlen)
{
	if (mask->nr < 0 || mask->nr > CPUID_MAX_MASKS) {
		snprintf(err, errlen, "bad cpu feature mask (%d entries)", mask->nr);
		return -1;
	}
	for (int i = 0; i < mask->nr; i++) {
		idx[i] = feature_at(&mask->reqs[i]);
		if (idx[i] < 0) {
			snprintf(err, errlen, "unknown cpu feature '%s' (see landlord run --help)",
				 mask->reqs[i].name ? mask->reqs[i].name : "?");
			return -1;
		}
	}
	return 0;
}

/* Turn off what the user masked and what KVM does not offer, then everything
 * that depends on either, so the guest never sees e.g. AVX without XSAVE or
 * a leaf 0xD describing state it cannot enable. */
static int apply_masks(struct table *t, const struct cpuid_mask *mask, char *err, size_t errlen)
{
	static const struct cpuid_mask none;
	bool off[NR_FEATURES];
	int idx[CPUID_MAX_MASKS];

	if (!mask)
		mask = &none;
	if (mask_indexes(mask, idx, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < NR_FEATURES; i++)
		off[i] = !(features[i].flags & (F_SYNTH | F_OSBIT)) && !bit_set(t, &features[i]);
	for (int i = 0; i < mask->nr; i++) {
		if (!mask->reqs[i].enable)
			off[idx[i]] = true;
		else if (check_supported(t, &features[idx[i]], err, errlen) < 0)
			return -1;
	}
	close_over_deps(off);
	for (size_t i = 0; i < NR_FEATURES; i++) {
		if (off[i])
			clear_feature(t, &features[i]);
	}
	for (int i = 0; i < mask->nr; i++) {
		if (mask->reqs[i].enable && !bit_set(t, &features[idx[i]])) {
			snprintf(err, errlen, "cpu feature '%s' cannot be enabled: a feature it needs is disabled",
				 features[idx[i]].name);
			return -1;
		}
	}
	return 0;
}

/* ---- the whole vCPU ------------------------------------------------------- */

/* Copy the supported entries, leaving out the topology leaves rebuilt whole. */
static void copy_supported(struct table *t, const struct kvm_cpuid2 *supported)
{
	for (uint32_t i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &supported->entries[i];
		if (s->function == 0xb || s->function == 0x1f)
			continue;
		t->e[t->n++] = *s;
	}
}

static int check_args(const struct kvm_cpuid2 *supported, const struct kvm_cpuid2 *out,
		      int vcpu_index, int nr_cpus, char *err, size_t errlen)
{
	if (nr_cpus < 1 || nr_cpus > 0xffff || vcpu_index < 0 || vcpu_index >= nr_cpus) {
		snprintf(err, errlen, "bad vCPU %d of %d", vcpu_index, nr_cpus);
		return -1;
	}
	if (out->nent < supported->nent ||
	    out->nent - supported->nent < CPUID_EXTRA_ENTRIES) {
		snprintf(err, errlen, "CPUID table has room for %u entries, needs %u",
			 out->nent, supported->nent + CPUID_EXTRA_ENTRIES);
		return -1;
	}
	return 0;
}

int cpuid_build_vcpu(const struct kvm_cpuid2 *supported, struct kvm_cpuid2 *out,
		     int vcpu_index, int nr_cpus, const struct cpuid_mask *mask,
		     char *err, size_t errlen)
{
	if (check_args(supported, out, vcpu_index, nr_cpus, err, errlen) < 0)
		return -1;

	struct table t = { out->entries, 0, out->nent };
	const struct topo tp = {
		.apic_id = (uint32_t)vcpu_index,
		.nr_cpus = (uint32_t)nr_cpus,
		.core_bits = order((unsigned int)nr_cpus),
	};

	out->nent = 0;
	copy_supported(&t, supported);
	set_leaf1(&t, &tp);
	set_cache_leaf(&t, 4, &tp);
	if (vendor_is_amd(&t)) {
		set_cache_leaf(&t, 0x8000001d, &tp);
		set_amd_topology(&t, &tp);
	}
	/* KVM reports 0xB/0x1F with no topology; a leaf within the basic range
	 * but absent would read as zeros, so provide each one the range has. */
	uint32_t basic = max_leaf(&t, 0);
	if ((basic >= 0xb && add_ext_topology(&t, 0xb, &tp) < 0) ||
	    (basic >= 0x1f && add_ext_topology(&t, 0x1f, &tp) < 0) ||
	    add_kvm_leaves(&t) < 0) {
		snprintf(err, errlen, "CPUID table full (%u entries)", t.cap);
		return -1;
	}
	if (apply_masks(&t, mask, err, errlen) < 0)
		return -1;
	out->nent = t.n;
	return 0;
}
