#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "base/log.h"
#include "kvm/kvm.h"
#include "kvm/kvm_irq.h"

/* Capabilities without which landlord cannot run a VM at all. */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS" },
};

static int get_supported_cpuid(struct kvm *k)
{
	/* Start with room for 128 entries and grow on E2BIG, as api.rst says. */
	for (int nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -1;
		c->nent = nent;
		if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			k->supported_cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			log_error_errno("KVM_GET_SUPPORTED_CPUID");
			return -1;
		}
	}
	log_error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
	return -1;
}

static int get_msr_list(struct kvm *k)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	struct kvm_msr_list *l;

	/* The first call fails with E2BIG and tells how many there are. */
	if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		log_error_errno("KVM_GET_MSR_INDEX_LIST");
		return -1;
	}
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return -1;
	l->nmsrs = probe.nmsrs;
	if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		log_error_errno("KVM_GET_MSR_INDEX_LIST");
		free(l);
		return -1;
	}
	k->msr_list = l;
	return 0;
}

static int check_caps(struct kvm *k)
{
	int v = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);

	if (v != KVM_API_VERSION) {
		log_error("/dev/kvm: API version %d, landlord needs %d", v, KVM_API_VERSION);
		return -1;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_error("/dev/kvm lacks %s, which landlord needs", required_caps[i].name);
			return -1;
		}
	}
	k->max_vcpus = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = 4;   /* api.rst: assume 4 when neither is reported */
	k->vcpu_mmap_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		log_error_errno("KVM_GET_VCPU_MMAP_SIZE");
		return -1;
	}
	return 0;
}

int kvm_open(struct kvm *k)
{
	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		if (errno == ENOENT)
			log_error("/dev/kvm does not exist: load the kvm module (kvm_intel or kvm_amd) or enable virtualization in the firmware");
		else if (errno == EACCES || errno == EPERM)
			log_error("/dev/kvm: permission denied: run as root or join the group that owns /dev/kvm (usually 'kvm')");
		else
			log_error_errno("/dev/kvm");
		return -1;
	}
	if (check_caps(k) < 0 || get_supported_cpuid(k) < 0 || get_msr_list(k) < 0) {
		kvm_close(k);
		return -1;
	}
	return 0;
}

void kvm_close(struct kvm *k)
{
	kvm_destroy_vm(k);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	free(k->supported_cpuid);
	free(k->msr_list);
	k->sys_fd = -1;
	k->supported_cpuid = NULL;
	k->msr_list = NULL;
}

int kvm_create_vm(struct kvm *k)
{
	uint64_t identity = LAYOUT_IDENTITY_MAP;

	/* KVM_CREATE_VM may be interrupted (EINTR) by a signal arriving while
	 * it sets up; like any interrupted call it is simply made again. */
	for (int tries = 0; tries < 100; tries++) {
		k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
		if (k->vm_fd >= 0 || errno != EINTR)
			break;
	}
	if (k->vm_fd < 0) {
		log_error_errno("KVM_CREATE_VM");
		return -1;
	}
	/* Intel VMX needs these two pages for real mode; they sit in the top of
	 * the 32-bit hole where no RAM or device lives. */
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0) {
		log_error_errno("KVM_SET_TSS_ADDR");
		return -1;
	}
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		log_error_errno("KVM_SET_IDENTITY_MAP_ADDR");
		return -1;
	}
	return kvm_irq_routing_init(k);
}

int kvm_create_irqchip(struct kvm *k)
{
	/* No in-kernel PIT: landlord's is in user space (devices/i8254.h
	 * says why). */
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_error_errno("KVM_CREATE_IRQCHIP");
		return -1;
	}
	return 0;
}

void kvm_destroy_vm(struct kvm *k)
{
	kvm_irq_routing_free(k);
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	k->vm_fd = -1;
}

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		log_error_errno("KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB at 0x%llx)",
				slot, (unsigned long long)(size >> 20), (unsigned long long)gpa);
		return -1;
	}
	return 0;
}

void kvm_irq_line(void *opaque, uint32_t gsi, int level)
{
	struct kvm *k = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	/* Fails only for a GSI outside the routing table: a wiring bug. */
	if (ioctl(k->vm_fd, KVM_IRQ_LINE_STATUS, &irq) < 0)
		log_error_errno("KVM_IRQ_LINE_STATUS gsi %u", gsi);
}

int kvm_has_msr(const struct kvm *k, uint32_t index)
{
	for (uint32_t i = 0; i < k->msr_list->nmsrs; i++)
		if (k->msr_list->indices[i] == index)
			return 1;
	return 0;
}
