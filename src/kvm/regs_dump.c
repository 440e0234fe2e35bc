/* What a person needs to see when a guest dies: why, where, and the state
 * of the vCPU, on one screen. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "kvm/vcpu.h"

const char *kvm_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO", [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN (triple fault)",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "unrecognised";
}

static void dump_exit(const struct vcpu *v, FILE *f)
{
	const struct kvm_run *r = v->run;

	fprintf(f, "landlord: vCPU %d stopped: KVM exit %u %s", v->id, r->exit_reason,
		kvm_exit_name(r->exit_reason));
	if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		fprintf(f, ", suberror %u%s", r->internal.suberror,
			r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			" (instruction emulation failed)" : "");
		for (uint32_t i = 0; i < r->internal.ndata && i < 16; i++)
			fprintf(f, "%s%#llx", i ? " " : ", data ",
				(unsigned long long)r->internal.data[i]);
	} else if (r->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		fprintf(f, ", hardware reason %#llx",
			(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	}
	fputc('\n', f);
}

static void dump_seg(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f, "%-3s %04x base %016llx limit %08x type %x dpl %u l %u db %u p %u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->dpl, s->l, s->db, s->present);
}

static void dump_regs(const struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "landlord: vCPU %d: registers unavailable\n", v->id);
		return;
	}
	fprintf(f, "RIP %016llx RSP %016llx RFLAGS %08llx\n",
		r.rip, r.rsp, r.rflags);
	fprintf(f, "RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
		r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(f, "RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
		r.rsi, r.rdi, r.rbp, r.r8);
	fprintf(f, "R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
		r.r9, r.r10, r.r11, r.r12);
	fprintf(f, "R13 %016llx R14 %016llx R15 %016llx\n", r.r13, r.r14, r.r15);
	fprintf(f, "CR0 %016llx CR2 %016llx CR3 %016llx CR4 %016llx\n",
		s.cr0, s.cr2, s.cr3, s.cr4);
	fprintf(f, "EFER %016llx APIC_BASE %016llx\n", s.efer, s.apic_base);
	dump_seg(f, "CS", &s.cs);
	dump_seg(f, "SS", &s.ss);
	dump_seg(f, "DS", &s.ds);
	dump_seg(f, "TR", &s.tr);
	fprintf(f, "GDT base %016llx limit %04x  IDT base %016llx limit %04x\n",
		(unsigned long long)s.gdt.base, s.gdt.limit,
		(unsigned long long)s.idt.base, s.idt.limit);
}

void vcpu_dump(const struct vcpu *v, FILE *f)
{
	dump_exit(v, f);
	dump_regs(v, f);
	fflush(f);
}
