#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/cpu_setup.h"
#include "arch/x86/layout.h"

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

#define MSR_IA32_TSC            0x10
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE_WB          ((1ULL << 11) | 6)  /* MTRRs on, default write-back */

#define APIC_LVT_LINT0          0x350
#define APIC_LVT_LINT1          0x360
#define APIC_MODE_NMI           0x4
#define APIC_MODE_EXTINT        0x7

#define CR0_PE  (1ULL << 0)
#define CR0_ET  (1ULL << 4)
#define CR0_PG  (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static int setup_cpuid(const struct kvm *k, int fd, int index, int nr_cpus,
		       const struct cpuid_mask *mask, char *err, size_t errlen)
{
	uint32_t room = k->supported_cpuid->nent + CPUID_EXTRA_ENTRIES;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + room * sizeof(c->entries[0]));
	int rc = -1;

	if (!c) {
		errf("out of memory");
		return -1;
	}
	c->nent = room;
	if (cpuid_build_vcpu(k->supported_cpuid, c, index, nr_cpus, mask, err, errlen) < 0)
		goto out;
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0) {
		errf("KVM_SET_CPUID2: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

/* Set each MSR that KVM says it supports; one KVM rejects is skipped, since
 * a guest copes with firmware that left an MSR at its reset value. */
static void setup_msrs(const struct kvm *k, int fd)
{
	static const struct { uint32_t index; uint64_t value; } wanted[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} one;

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!kvm_has_msr(k, wanted[i].index))
			continue;
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e[0].index = wanted[i].index;
		one.e[0].data = wanted[i].value;
		(void)ioctl(fd, KVM_SET_MSRS, &one);   /* returns how many it took */
	}
}

static int setup_fpu(int fd, char *err, size_t errlen)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };  /* reset values */

	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0) {
		errf("KVM_SET_FPU: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* LINT0 delivers the PIC's ExtINT and LINT1 NMIs, as firmware leaves them:
 * a kernel that uses the PIC through the local APIC relies on it. */
static int setup_lapic(int fd, char *err, size_t errlen)
{
	struct kvm_lapic_state l;
	uint32_t *lint0, *lint1;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0) {
		errf("KVM_GET_LAPIC: %s", strerror(errno));
		return -1;
	}
	lint0 = (uint32_t *)(l.regs + APIC_LVT_LINT0);
	lint1 = (uint32_t *)(l.regs + APIC_LVT_LINT1);
	*lint0 = (*lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0) {
		errf("KVM_SET_LAPIC: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int x86_vcpu_init(const struct kvm *k, int vcpu_fd, int index, int nr_cpus,
		  const struct cpuid_mask *mask, char *err, size_t errlen)
{
	if (setup_cpuid(k, vcpu_fd, index, nr_cpus, mask, err, errlen) < 0)
		return -1;
	setup_msrs(k, vcpu_fd);
	if (setup_fpu(vcpu_fd, err, errlen) < 0)
		return -1;
	return setup_lapic(vcpu_fd, err, errlen);
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int l, int db)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

static void boot_sregs(struct kvm_sregs *s, const struct boot_info *boot)
{
	struct kvm_segment data;
	int long_mode = boot->mode == BOOT_ENTRY_64;

	if (long_mode)
		flat_segment(&s->cs, BOOT_GDT_CODE64, 0xb, 1, 0);
	else
		flat_segment(&s->cs, BOOT_GDT_CODE32, 0xb, 0, 1);
	flat_segment(&data, BOOT_GDT_DATA, 0x3, 0, 1);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){
		.selector = BOOT_GDT_TSS, .limit = 0x67, .type = 0xb, .present = 1,
	};
	s->gdt.base = LAYOUT_GDT;
	s->gdt.limit = 5 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = CR0_PE | CR0_ET;
	s->cr4 = 0;
	s->efer = 0;
	if (long_mode) {
		s->cr0 |= CR0_PG;
		s->cr3 = LAYOUT_PML4;
		s->cr4 = CR4_PAE;
		s->efer = EFER_LME | EFER_LMA;
	}
}

int x86_vcpu_boot_regs(int vcpu_fd, const struct boot_info *boot, char *err, size_t errlen)
{
	struct kvm_sregs s;
	struct kvm_regs r = { .rflags = 0x2, .rip = boot->entry, .rsp = LAYOUT_BOOT_STACK };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		errf("KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	boot_sregs(&s, boot);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0) {
		errf("KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	if (boot->mode == BOOT_ENTRY_64)
		r.rsi = boot->params;
	else
		r.rbx = boot->params;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0) {
		errf("KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}
