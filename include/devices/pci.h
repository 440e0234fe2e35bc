/* PCI bus 0 behind a host bridge, configuration mechanism 1 (ports 0xcf8 to
 * 0xcff).  Slot 0 is the host bridge; later issues add devices to free slots. */
#ifndef LANDLORD_DEVICES_PCI_H
#define LANDLORD_DEVICES_PCI_H

#include <stdint.h>
#include "devices/bus.h"

#define PCI_MAX_SLOTS 32

struct pci_bus;

/* A function on the bus.  cfg holds the 256-byte configuration header as the
 * guest sees it; the handlers may be NULL for a plain read-only/writable
 * header handled by pci.c itself. */
struct pci_device {
	uint8_t cfg[256];
	/* Optional hooks called with the bus lock held, after pci.c applied the
	 * generic write-mask logic. */
	void (*cfg_write)(struct pci_device *dev, uint32_t offset, uint32_t len);
	void *opaque;
	uint8_t wmask[256];   /* bits the guest may change */
};

struct pci_bus *pci_bus_create(void);
void pci_bus_destroy(struct pci_bus *pci);
/* Put dev in slot (1..31) or the first free slot when slot < 0.  Returns the
 * slot number or -1. */
int pci_bus_add(struct pci_bus *pci, struct pci_device *dev, int slot);
/* Register for 8 ports at PORT_PCI_CONFIG. */
void pci_config_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
