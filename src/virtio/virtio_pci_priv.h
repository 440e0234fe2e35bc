/* The virtio PCI transport's state, shared by virtio_pci.c (registers,
 * life cycle) and virtio_pci_msix.c (the MSI-X table and its KVM routes).
 * Private to those two files.  Everything after "Under d->lock" is only
 * touched with the device's lock held. */
#ifndef LANDLORD_VIRTIO_VIRTIO_PCI_PRIV_H
#define LANDLORD_VIRTIO_VIRTIO_PCI_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "kvm/kvm.h"
#include "virtio/virtio.h"

#define VPCI_MAX_VECTORS (VIRTIO_MAX_QUEUES + 1)

/* MSI-X table entry dwords. */
enum { MSIX_ADDR_LO, MSIX_ADDR_HI, MSIX_DATA, MSIX_CTRL, MSIX_DWORDS };

struct msix_vec {
	uint32_t entry[MSIX_DWORDS];   /* as the guest wrote it */
	int gsi;                       /* KVM MSI route, or -1 */
	int fd;                        /* its irqfd, or -1 */
	bool dirty;                    /* route behind the entry */
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_dev *d;
	struct kvm *kvm;               /* NULL: no KVM VM */
	struct pci_bus *bus;
	unsigned int msix_cap;         /* config offset of the MSI-X capability */
	unsigned int nr_vectors;

	/* Under d->lock. */
	uint64_t bar;                  /* where BAR 0 decodes now */
	uint32_t notify_len[VIRTIO_MAX_QUEUES];  /* ioeventfd length */
	bool notify_on[VIRTIO_MAX_QUEUES];       /* ioeventfd registered */
	uint32_t dfeat_sel, gfeat_sel;
	uint16_t queue_sel;
	uint16_t msix_config;
	bool msix_enabled, msix_masked;
	bool intx;                     /* INTA as last set */
	uint64_t pba;
	struct msix_vec vec[VPCI_MAX_VECTORS];
};

/* virtio_pci_msix.c */
void vpci_msix_init(struct virtio_pci *vp);
/* The driver assigns vector v: what it reads back (v, or NO_VECTOR). */
uint16_t vpci_msix_assign(struct virtio_pci *vp, uint16_t v);
/* Raise vector v, or mark it pending while masked; NO_VECTOR: nothing. */
void vpci_msix_fire(struct virtio_pci *vp, uint16_t v);
/* Drop every vector's route and irqfd, and what is pending (reset). */
void vpci_msix_release(struct virtio_pci *vp);
/* The guest wrote the capability's Message Control. */
void vpci_msix_control(struct virtio_pci *vp, uint16_t ctrl);
/* Table and PBA accesses, offsets within each. */
void vpci_msix_table(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write);
void vpci_msix_pba(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len);

#endif
