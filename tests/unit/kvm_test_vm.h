/* A tiny real KVM VM for unit tests of the interrupt plumbing: the VM with
 * its irqchip (kvm_create_vm, kvm_create_irqchip), 1 MiB of RAM at 0 and one vCPU in real mode
 * that runs a few bytes of code and halts.  A guest write is the only way
 * to trigger an ioeventfd, and the vCPU's local APIC is where an MSI lands.
 * Tests call tvm_open and skip when it fails (no /dev/kvm). */
#ifndef LANDLORD_TESTS_KVM_TEST_VM_H
#define LANDLORD_TESTS_KVM_TEST_VM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm/kvm.h"

#define TVM_RAM   0x100000ULL
#define TVM_CODE  0x1000ULL

struct tvm {
	struct kvm k;
	int vcpu_fd;
	struct kvm_run *run;
	uint8_t *ram;
};

static inline void tvm_close(struct tvm *t)
{
	if (t->run)
		munmap(t->run, (size_t)t->k.vcpu_mmap_size);
	if (t->vcpu_fd >= 0)
		close(t->vcpu_fd);
	kvm_close(&t->k);
	if (t->ram)
		munmap(t->ram, TVM_RAM);
	memset(t, 0, sizeof(*t));
	t->vcpu_fd = -1;
}

static inline void tvm_alarm(int sig)
{
	(void)sig;
}

static inline int tvm_exec(struct tvm *t, const uint8_t *code, size_t n, uint64_t ds_base,
			   uint64_t rax, uint64_t rbx, uint64_t rdx);
#define TVM_DONE_PORT 0x80
#define TVM_DONE 0

/* 0, or -1 when KVM is not usable here (the caller skips): no /dev/kvm, or
 * a KVM that cannot run a real-mode vCPU (e.g. PVM). */
static inline int tvm_open(struct tvm *t)
{
	static const uint8_t done[] = { 0xe6, TVM_DONE_PORT };
	struct sigaction sa = { .sa_handler = tvm_alarm };   /* no SA_RESTART */

	sigaction(SIGALRM, &sa, NULL);
	memset(t, 0, sizeof(*t));
	t->vcpu_fd = -1;
	if (access("/dev/kvm", R_OK | W_OK) != 0 || kvm_open(&t->k) < 0)
		return -1;
	if (kvm_create_vm(&t->k) < 0)
		goto fail;
	t->ram = mmap(NULL, TVM_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->ram == MAP_FAILED) {
		t->ram = NULL;
		goto fail;
	}
	if (kvm_set_memory(&t->k, 0, 0, TVM_RAM, t->ram) < 0 || kvm_create_irqchip(&t->k) < 0)
		goto fail;
	t->vcpu_fd = ioctl(t->k.vm_fd, KVM_CREATE_VCPU, 0);
	if (t->vcpu_fd < 0)
		goto fail;
	t->run = mmap(NULL, (size_t)t->k.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->vcpu_fd, 0);
	if (t->run == MAP_FAILED) {
		t->run = NULL;
		goto fail;
	}
	if (tvm_exec(t, done, sizeof(done), 0, 0, 0, 0) != TVM_DONE) {
		fprintf(stderr, "(KVM cannot run a real-mode vCPU here: skipping)\n");
		goto fail;
	}
	return 0;
fail:
	tvm_close(t);
	return -1;
}

/* Run code at TVM_CODE in real mode with DS based at ds_base (any 32-bit
 * address: KVM takes segment bases as given) and these registers.  The
 * code ends with "out 0x80, al" (the vCPU cannot stop with HLT: with the
 * in-kernel irqchip KVM keeps a halted vCPU to itself).  Returns TVM_DONE
 * when the code got there without another exit (every access absorbed by
 * KVM, e.g. by an ioeventfd), else the first exit's reason (KVM_EXIT_MMIO,
 * KVM_EXIT_IO), or -1. */
static inline int tvm_exec(struct tvm *t, const uint8_t *code, size_t n, uint64_t ds_base,
			   uint64_t rax, uint64_t rbx, uint64_t rdx)
{
	struct kvm_sregs s;
	struct kvm_regs r = { .rax = rax, .rbx = rbx, .rdx = rdx, .rip = TVM_CODE, .rflags = 2 };
	int first = TVM_DONE;

	memcpy(t->ram + TVM_CODE, code, n);
	if (ioctl(t->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.cs.base = 0;
	s.cs.selector = 0;
	s.ds.base = ds_base;
	s.ds.selector = 0;
	s.ds.limit = 0xffff;
	if (ioctl(t->vcpu_fd, KVM_SET_SREGS, &s) < 0 || ioctl(t->vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -1;
	/* An exit to us is completed by the next KVM_RUN.  A vCPU that never
	 * gets to the end is stopped by SIGALRM, which tvm_open set up to
	 * interrupt KVM_RUN. */
	for (int i = 0; i < 4; i++) {
		struct kvm_run *run = t->run;
		int ret;

		alarm(2);
		ret = ioctl(t->vcpu_fd, KVM_RUN, 0);
		alarm(0);
		if (ret < 0)
			return -1;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == TVM_DONE_PORT)
			return first;
		if (run->exit_reason != KVM_EXIT_MMIO && run->exit_reason != KVM_EXIT_IO)
			return -1;
		if (first == TVM_DONE)
			first = (int)run->exit_reason;
	}
	return -1;
}

/* mov [bx], ax ; out 0x80, al    mov [bx], eax ; ...    out dx, ax ; ... */
static const uint8_t tvm_store16[] = { 0x89, 0x07, 0xe6, TVM_DONE_PORT };
static const uint8_t tvm_store32[] = { 0x66, 0x89, 0x07, 0xe6, TVM_DONE_PORT };
static const uint8_t tvm_out16[] = { 0xef, 0xe6, TVM_DONE_PORT };

#define LAPIC_SVR 0xf0
#define LAPIC_IRR 0x200

/* Software-enable the local APIC so fixed interrupts are accepted (into
 * IRR: with interrupts off in the guest nothing takes them further). */
static inline int tvm_lapic_enable(struct tvm *t)
{
	struct kvm_lapic_state l;

	if (ioctl(t->vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return -1;
	l.regs[LAPIC_SVR + 1] |= 0x01;             /* bit 8: APIC enabled */
	return ioctl(t->vcpu_fd, KVM_SET_LAPIC, &l);
}

static inline bool tvm_irr_now(struct tvm *t, unsigned int vec)
{
	struct kvm_lapic_state l;

	if (ioctl(t->vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return false;
	return (l.regs[LAPIC_IRR + (vec / 32) * 0x10 + (vec % 32) / 8] >> (vec % 8)) & 1;
}

/* Wait up to 200 ms for vector vec to show in the vCPU's IRR: irqfd
 * delivery may take a moment. */
static inline bool tvm_irr_wait(struct tvm *t, unsigned int vec)
{
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < 200; i++) {
		if (tvm_irr_now(t, vec))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static inline uint32_t tvm_ioapic_irr(struct tvm *t)
{
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (ioctl(t->k.vm_fd, KVM_GET_IRQCHIP, &c) < 0)
		return 0;
	return c.chip.ioapic.irr;
}

static inline uint8_t tvm_pic_irr(struct tvm *t, int slave)
{
	struct kvm_irqchip c = { .chip_id = slave ? KVM_IRQCHIP_PIC_SLAVE : KVM_IRQCHIP_PIC_MASTER };

	if (ioctl(t->k.vm_fd, KVM_GET_IRQCHIP, &c) < 0)
		return 0;
	return c.chip.pic.irr;
}

#endif
