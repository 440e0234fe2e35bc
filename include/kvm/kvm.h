/* The KVM system and VM file descriptors: open /dev/kvm, check the API and
 * every capability landlord relies on, create a VM with an in-kernel
 * irqchip, and register guest RAM. */
#ifndef LANDLORD_KVM_KVM_H
#define LANDLORD_KVM_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* MSI routes landlord can hand out: GSI 24 up to 24 + this - 1. */
#define KVM_MSI_ROUTES_MAX 256

struct kvm_msi_route {
	bool used;                     /* allocated */
	bool set;                      /* has a message: in the table */
	uint64_t addr;
	uint32_t data;
};

struct kvm {
	int sys_fd;                    /* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;
	int max_vcpus;
	struct kvm_cpuid2 *supported_cpuid;
	struct kvm_msr_list *msr_list; /* MSRs KVM saves and restores */

	/* Interrupt plumbing (kvm_irq.c), set up with the VM. */
	bool has_irqfd, has_ioeventfd, has_ioeventfd_any_len;
	bool has_irq_routing, has_signal_msi;
	bool irq_ready;                /* irq_lock initialised */
	pthread_mutex_t irq_lock;      /* msi_routes and the KVM table */
	struct kvm_msi_route msi_routes[KVM_MSI_ROUTES_MAX];
};

/* Open /dev/kvm and read what it supports.  0, or -1 with a message that
 * says what is missing. */
int kvm_open(struct kvm *k);
void kvm_close(struct kvm *k);

/* Create the VM: TSS and identity-map pages. */
int kvm_create_vm(struct kvm *k);
/* The in-kernel irqchip (PIC, IOAPIC, LAPICs), no PIT (devices/i8254.h):
 * after the guest memory is in place (see vm.c), before the vCPUs. */
int kvm_create_irqchip(struct kvm *k);
void kvm_destroy_vm(struct kvm *k);

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *host);

/* An irq_line callback (devices/irq.h): drive GSI gsi of the irqchip. */
void kvm_irq_line(void *kvm, uint32_t gsi, int level);

/* True when the MSR is in KVM_GET_MSR_INDEX_LIST. */
int kvm_has_msr(const struct kvm *k, uint32_t index);

#endif
