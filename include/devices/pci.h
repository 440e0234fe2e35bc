/* PCI bus 0 behind a host bridge, configuration mechanism 1 (ports 0xcf8 to
 * 0xcff).  Slot 0 is the host bridge; devices go in slots 1-31.
 *
 * pci.c also plays firmware and chipset for the devices' memory BARs: it
 * assigns each BAR an address in the PCI window (LAYOUT_PCI_MMIO, a bump
 * allocator, naturally aligned), turns on memory decoding, and claims the
 * whole window on the MMIO bus once.  An access there goes to the device
 * whose memory BAR covers it while memory decoding is on, wherever the
 * guest has moved the BAR since.  It routes INTx too: each slot's INTA is
 * one of two shared, level-triggered GSIs (the DSDT's _PRT swizzle), and a
 * line is the OR of the devices on it. */
#ifndef LANDLORD_DEVICES_PCI_H
#define LANDLORD_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "devices/bus.h"
#include "devices/irq.h"

#define PCI_MAX_SLOTS 32
#define PCI_NR_BARS   6
#define PCI_NR_INTX_LINES 2            /* GSI_PCI_INTX_A, GSI_PCI_INTX_B */

/* Configuration header offsets and bits devices use. */
#define PCI_CFG_COMMAND     0x04
#define PCI_CFG_STATUS      0x06
#define PCI_CFG_BAR0        0x10
#define PCI_CFG_SUBSYS_VENDOR 0x2c
#define PCI_CFG_CAP_PTR     0x34
#define PCI_CFG_INT_LINE    0x3c
#define PCI_CFG_INT_PIN     0x3d
#define PCI_CMD_IO          0x0001
#define PCI_CMD_MEMORY      0x0002
#define PCI_CMD_MASTER      0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX     0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAP_ID_VENDOR   0x09
#define PCI_CAP_ID_MSIX     0x11

/* MSI-X capability (PCI 3.0 section 6.8.2), offsets from the capability. */
#define PCI_MSIX_CTRL       2          /* message control, 16 bits */
#define PCI_MSIX_TABLE      4          /* table offset | BIR */
#define PCI_MSIX_PBA        8          /* PBA offset | BIR */
#define PCI_MSIX_CAP_LEN    12
#define PCI_MSIX_CTRL_SIZE  0x07ff     /* table size - 1 */
#define PCI_MSIX_CTRL_MASKALL 0x4000
#define PCI_MSIX_CTRL_ENABLE 0x8000
#define PCI_MSIX_MAX_VECTORS 2048
#define PCI_MSIX_ENTRY_SIZE 16         /* addr lo, addr hi, data, vector control */
#define PCI_MSIX_ENTRY_MASKED 1

/* A BAR address that decodes nothing (see bar_moved). */
#define PCI_BAR_UNMAPPED UINT64_MAX

struct pci_bus;
struct pci_device;

/* An access to a memory BAR: offset from the BAR's start, 1-8 bytes that
 * lie inside the BAR.  Called with no pci.c lock that a device may need
 * (only the bus's decode read lock). */
typedef void (*pci_bar_fn)(struct pci_device *dev, int bar, uint64_t offset,
			   uint8_t *data, uint32_t len, bool is_write);

struct pci_bar {
	uint64_t size;         /* 0: no BAR; else a power of two >= 4 KiB */
	pci_bar_fn access;
};

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

	/* Memory BARs pci.c decodes (set with pci_device_bar). */
	struct pci_bar bars[PCI_NR_BARS];
	/* Optional: BAR bar now decodes at addr (PCI_BAR_UNMAPPED: nowhere,
	 * e.g. memory decoding off or the BAR outside the window); old is
	 * where it did.  Called with the bus lock held, so the device can move
	 * what KVM knows about (ioeventfds) before the next access. */
	void (*bar_moved)(struct pci_device *dev, int bar, uint64_t old, uint64_t addr);

	/* pci.c's own state. */
	struct pci_bus *bus;            /* NULL until added */
	int slot;                       /* 0 until added */
	uint64_t bar_addr[PCI_NR_BARS];  /* where each BAR decodes now */
	uint8_t cap_last;               /* last capability, for chaining */
	uint8_t cap_free;               /* next free config byte for one */
	bool intx_level;                /* the device's INTA (intx_lock) */
	bool intx_disabled;             /* command bit 10 (intx_lock) */
};

/* PCI ids of a device. */
struct pci_ids {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys;
	uint32_t class_code;            /* base class, subclass, prog-if */
	uint8_t revision;
};

/* mmio: the bus to claim the BAR window on (NULL: none; pci_mmio_io still
 * decodes, for tests); intx: the lines for GSI_PCI_INTX_A and _B, in that order,
 * copied; PCI_NR_INTX_LINES of them (NULL: INTx goes nowhere). */
struct pci_bus *pci_bus_create(struct bus *mmio, const struct irq_line *intx);
void pci_bus_destroy(struct pci_bus *pci);
/* Put dev in slot (1..31) or the first free slot when slot < 0, assign its
 * BARs, turn memory decoding on (calling bar_moved for each), and set its
 * Interrupt Line.  Returns the slot number or -1 (slot taken, window
 * full). */
int pci_bus_add(struct pci_bus *pci, struct pci_device *dev, int slot);
/* One more than the highest slot in use (1: none but the host bridge). */
int pci_bus_slots_used(struct pci_bus *pci);
/* Take dev off the bus (its BARs stop decoding, its INTx drops). */
void pci_bus_remove(struct pci_bus *pci, struct pci_device *dev);
/* Register for 8 ports at PORT_PCI_CONFIG. */
void pci_config_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* The handler pci_bus_create registers for the window (exposed for tests
 * and fuzzers): offset from LAYOUT_PCI_MMIO. */
void pci_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* --- building a device, before pci_bus_add --- */
/* A type-0 header with these ids: command writable (I/O, memory, bus
 * master, parity, SERR, INTx disable), Interrupt Pin INTA, Interrupt Line
 * writable. */
void pci_device_init(struct pci_device *dev, const struct pci_ids *ids);
/* A 32-bit non-prefetchable memory BAR of size bytes (power of two,
 * >= 4 KiB).  0, or -1 for a bad size or BAR number. */
int pci_device_bar(struct pci_device *dev, int bar, uint64_t size, pci_bar_fn fn);
/* Append a capability of len bytes (id and next pointer included, len >= 2)
 * to the list: sets Status bit 4 and the 0x34 pointer for the first one.
 * The caller fills the body (cfg and wmask from offset + 2).  Returns the
 * capability's offset, or 0 when it does not fit. */
unsigned int pci_add_cap(struct pci_device *dev, uint8_t id, unsigned int len);
/* An MSI-X capability: nr vectors (1..2048), table and PBA at these BAR
 * offsets (8-byte aligned).  Only Enable and Function Mask are writable.
 * Returns its offset, or 0. */
unsigned int pci_add_msix(struct pci_device *dev, unsigned int nr, int table_bar,
			  uint32_t table_off, int pba_bar, uint32_t pba_off);

/* --- running --- */
/* Set the device's INTA level; the shared GSI follows the OR of every
 * device on it (and the Status register's Interrupt Status bit).  Any
 * thread, any device lock held: takes only a leaf lock. */
void pci_intx_set(struct pci_device *dev, bool level);

#endif
