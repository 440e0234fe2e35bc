/* The virtio PCI transport, modern (virtio 1.2, 4.1): a non-transitional
 * function (device id 0x1040 + virtio id, revision 1) with one 32-bit
 * memory BAR that holds every register block, found by the driver through
 * vendor capabilities in configuration space, and MSI-X.
 *
 * BAR 0 (32 KiB), one 4 KiB page per block:
 *	0x0000	common configuration (struct virtio_pci_common_cfg, 56 bytes)
 *	0x1000	ISR status (1 byte; reading clears it)
 *	0x2000	device-specific configuration (config_len bytes; no
 *		capability when the device has none)
 *	0x3000	notifications: queue q at 0x3000 + 4 * q
 *		(queue_notify_off = q, notify_off_multiplier = 4)
 *	0x4000	MSI-X table, nr_queues + 1 entries of 16 bytes
 *	0x5000	MSI-X pending bit array
 *
 * Kicks: each queue's notify address is a KVM ioeventfd on the device's
 * notify eventfd, moved whenever the guest moves the BAR; a kick that still
 * reaches the register handler (no ioeventfd) kicks the queue directly.
 * Interrupts: with MSI-X on, each vector in use has a KVM MSI route and an
 * irqfd; without, the ISR and INTA, shared through pci_intx_set. */
#ifndef LANDLORD_VIRTIO_VIRTIO_PCI_H
#define LANDLORD_VIRTIO_VIRTIO_PCI_H

#include <stddef.h>
#include <stdint.h>

#include "devices/pci.h"
#include "kvm/kvm.h"
#include "virtio/virtio.h"

#define VIRTIO_PCI_VENDOR       0x1af4
#define VIRTIO_PCI_DEVICE_BASE  0x1040
/* BAR 0 layout (the names avoid linux/virtio_pci.h's legacy ones). */
#define VPCI_BAR_SIZE     0x8000
#define VPCI_COMMON       0x0000
#define VPCI_COMMON_LEN   0x38
#define VPCI_ISR          0x1000
#define VPCI_DEVICE_CFG   0x2000
#define VPCI_NOTIFY       0x3000
#define VPCI_NOTIFY_MULT  4
#define VPCI_MSIX_TABLE   0x4000
#define VPCI_MSIX_PBA     0x5000
#define VPCI_BLOCK        0x1000          /* each block's page */

struct virtio_pci;

/* Put device d (through virtio_dev_init already) on pci in the first free
 * slot.  kvm may be NULL or lack a VM (unit tests): kicks then come through
 * the register handler and MSI-X messages go nowhere.  NULL with a message
 * in err on failure (no slot, window full). */
struct virtio_pci *virtio_pci_create(struct virtio_dev *d, struct pci_bus *pci,
				     struct kvm *kvm, char *err, size_t errlen);
/* Take the function off the bus, drop its ioeventfds, irqfds and routes,
 * and free it.  Before virtio_dev_destroy and pci_bus_destroy. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* For tests: the PCI function (slot, config space, BAR address). */
struct pci_device *virtio_pci_function(struct virtio_pci *vp);

#endif
