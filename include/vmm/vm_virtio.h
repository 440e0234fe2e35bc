/* The VM's virtio devices: each created from the configuration, put on its
 * transport (PCI or MMIO), and torn down in reverse. */
#ifndef LANDLORD_VMM_VM_VIRTIO_H
#define LANDLORD_VMM_VM_VIRTIO_H

#include <stddef.h>

#include "arch/x86/layout.h"
#include "devices/irq.h"
#include "vmm/config.h"

struct virtio_dev;
struct vm;

#define VM_MAX_VIRTIO (VM_MAX_DISKS + VM_MAX_NETS + 3)   /* + rng, console, vsock */

struct vm_virtio_dev {
	struct virtio_dev *dev;
	void (*destroy)(struct virtio_dev *d);
	enum virtio_transport_kind transport;
	void *tp;            /* struct virtio_pci or struct virtio_mmio */
	int mmio_index;      /* -1 for PCI */
};

struct vm_virtio {
	struct vm_virtio_dev devs[VM_MAX_VIRTIO];
	int nr;
	int nr_mmio;
	struct irq_line mmio_irq[VIRTIO_MMIO_MAX];
	struct virtio_dev *console;   /* the virtio console, when it is the console */
};

int vm_virtio_create(struct vm *vm);
void vm_virtio_destroy(struct vm *vm);
/* The guest's command line: the user's, then one virtio_mmio.device= per
 * MMIO device so the guest finds them.  0, or -1 if it does not fit. */
int vm_virtio_cmdline(const struct vm *vm, char *buf, size_t len);

#endif
