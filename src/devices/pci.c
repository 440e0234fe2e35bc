/* PCI bus 0 through configuration mechanism 1.
 *
 * 0xcf8 (offset 0) is CONFIG_ADDRESS: enable (bit 31), bus (23:16), device
 * (15:11), function (10:8), dword register (7:2).  0xcfc-0xcff (offsets
 * 4-7) is CONFIG_DATA: a byte or word access at 0xcfd.. reaches that byte of
 * the addressed dword, which is how Linux reads single bytes and words.
 *
 * Only whole-dword accesses to 0xcf8 reach CONFIG_ADDRESS, as on real
 * chipsets, which latch it only on a dword write.  Narrower accesses to
 * 0xcf8-0xcfb belong to other registers on real boards (0xcf9 is the PIIX
 * reset control register, 0xcfa/0xcf8 bytes are mechanism #2); landlord
 * resets through the ACPI reset register instead, so they read all-ones and
 * are ignored.  That also makes Linux's mechanism #2 probe fail, as it
 * should.
 *
 * Only bus 0, function 0 exists.  Everything else reads all-ones (the
 * "no device" answer) and ignores writes.
 *
 * Writes go through the device's wmask, byte by byte: bits set in wmask take
 * the guest's value, the others keep theirs.  That one rule also gives BAR
 * sizing for free: a BAR of size S (a power of two) has wmask ~(S - 1) over
 * its address bits and 0 over its flag bits, so after the guest writes
 * all-ones it reads back ~(S - 1) | flags, and after it writes an address
 * the address is stored with the low bits dropped.  For example a 4 KiB
 * 32-bit memory BAR: cfg = flags (0), wmask = 0xfffff000.  A 16-bit I/O BAR
 * of 32 ports: cfg = 0x1, wmask = 0x0000ffe0.  A 64-bit BAR's upper dword is
 * fully writable for sizes below 4 GiB.
 *
 * The host bridge in slot 0 is Intel's 0x29c0 (82G33/P35 DRAM controller,
 * the one QEMU's q35 machine shows).  Linux identifies a host bridge by
 * class 0x0600 alone; what mattered for the ID was that nothing reacts to
 * it badly.  0x29c0 has no PCI quirk, and the one driver that matches it
 * (intel-agp) finds no integrated graphics and no AGP capability and leaves
 * quietly.  The 440FX's 0x1237 would trigger the Natoma quirk and make
 * intel-agp try to drive a 440FX AGP bridge; Red Hat's 0x1b36:0x0008 would
 * claim to be QEMU. */
#include "devices/pci.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define OFF_ADDRESS 0
#define OFF_DATA    4

#define ADDR_ENABLE   0x80000000u
/* Bits 30:24 are reserved (AMD's extended register bits live there) and
 * 1:0 are always 0 for type 0 cycles: neither is latched. */
#define ADDR_LATCHED  0x80fffffcu

#define HOST_VENDOR   0x8086
#define HOST_DEVICE   0x29c0
#define CLASS_HOST_BRIDGE 0x060000

#define CFG_VENDOR     0x00
#define CFG_DEVICE     0x02
#define CFG_COMMAND    0x04
#define CFG_REVISION   0x08
#define CFG_CACHE_LINE 0x0c
#define CFG_LATENCY    0x0d
#define CFG_HEADER     0x0e
#define CFG_INT_LINE   0x3c

/* I/O, memory, bus master, parity, SERR, INTx disable. */
#define COMMAND_WMASK 0x0547
#define COMMAND_HOST  0x0006   /* memory and bus master */

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t address;                 /* CONFIG_ADDRESS as latched */
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device host;
};

static void cfg_put16(uint8_t *p, unsigned int off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void pci_host_bridge_init(struct pci_device *d)
{
	memset(d, 0, sizeof(*d));
	cfg_put16(d->cfg, CFG_VENDOR, HOST_VENDOR);
	cfg_put16(d->cfg, CFG_DEVICE, HOST_DEVICE);
	cfg_put16(d->cfg, CFG_COMMAND, COMMAND_HOST);
	/* revision 0, then class code: prog-if, subclass, base class */
	d->cfg[CFG_REVISION + 1] = (uint8_t)CLASS_HOST_BRIDGE;
	d->cfg[CFG_REVISION + 2] = (uint8_t)(CLASS_HOST_BRIDGE >> 8);
	d->cfg[CFG_REVISION + 3] = (uint8_t)(CLASS_HOST_BRIDGE >> 16);
	d->cfg[CFG_HEADER] = 0x00;        /* type 0, single function */

	cfg_put16(d->wmask, CFG_COMMAND, COMMAND_WMASK);
	d->wmask[CFG_CACHE_LINE] = 0xff;
	d->wmask[CFG_LATENCY] = 0xff;
	d->wmask[CFG_INT_LINE] = 0xff;
}

/* The device CONFIG_ADDRESS selects, or NULL when there is none. */
static struct pci_device *pci_selected(const struct pci_bus *pci)
{
	uint32_t a = pci->address;
	unsigned int bus = (a >> 16) & 0xff;
	unsigned int slot = (a >> 11) & 0x1f;
	unsigned int fn = (a >> 8) & 0x7;

	if (!(a & ADDR_ENABLE) || bus != 0 || fn != 0)
		return NULL;
	return pci->slots[slot];
}

static void pci_cfg_write(struct pci_device *dev, unsigned int off,
			  const uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint8_t m = dev->wmask[off + i];

		dev->cfg[off + i] = (uint8_t)((dev->cfg[off + i] & ~m) | (data[i] & m));
	}
	if (dev->cfg_write)
		dev->cfg_write(dev, off, len);
}

/* byte: 0..3 within CONFIG_DATA; byte + len <= 4, checked by the caller. */
static void pci_data_access(struct pci_bus *pci, unsigned int byte,
			    uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_device *dev = pci_selected(pci);
	unsigned int off = (pci->address & 0xfc) + byte;   /* <= 255 */

	if (dev == NULL) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		pci_cfg_write(dev, off, data, len);
	else
		memcpy(data, &dev->cfg[off], len);
}

static void pci_address_access(struct pci_bus *pci, uint8_t *data, bool is_write)
{
	if (is_write) {
		pci->address = ((uint32_t)data[0] | (uint32_t)data[1] << 8 |
				(uint32_t)data[2] << 16 | (uint32_t)data[3] << 24) &
			       ADDR_LATCHED;
	} else {
		data[0] = (uint8_t)pci->address;
		data[1] = (uint8_t)(pci->address >> 8);
		data[2] = (uint8_t)(pci->address >> 16);
		data[3] = (uint8_t)(pci->address >> 24);
	}
}

void pci_config_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *pci = opaque;

	pthread_mutex_lock(&pci->lock);
	if (offset == OFF_ADDRESS && len == 4) {
		pci_address_access(pci, data, is_write);
	} else if (offset >= OFF_DATA && offset < OFF_DATA + 4 && len >= 1 &&
		   len <= OFF_DATA + 4 - offset) {
		pci_data_access(pci, (unsigned int)(offset - OFF_DATA), data, len,
				is_write);
	} else if (!is_write) {
		/* A partial CONFIG_ADDRESS access, or one that spans both
		 * registers or leaves the range: nothing answers. */
		memset(data, 0xff, len);
	}
	pthread_mutex_unlock(&pci->lock);
}

int pci_bus_add(struct pci_bus *pci, struct pci_device *dev, int slot)
{
	int ret = -1;

	if (dev == NULL || slot == 0 || slot >= PCI_MAX_SLOTS)
		return -1;
	pthread_mutex_lock(&pci->lock);
	if (slot < 0) {
		for (int s = 1; s < PCI_MAX_SLOTS; s++) {
			if (pci->slots[s] == NULL) {
				slot = s;
				break;
			}
		}
	}
	if (slot > 0 && pci->slots[slot] == NULL) {
		pci->slots[slot] = dev;
		ret = slot;
	}
	pthread_mutex_unlock(&pci->lock);
	return ret;
}

struct pci_bus *pci_bus_create(void)
{
	struct pci_bus *pci = calloc(1, sizeof(*pci));

	if (pci == NULL)
		return NULL;
	if (pthread_mutex_init(&pci->lock, NULL) != 0) {
		free(pci);
		return NULL;
	}
	pci_host_bridge_init(&pci->host);
	pci->slots[0] = &pci->host;
	return pci;
}

void pci_bus_destroy(struct pci_bus *pci)
{
	if (pci == NULL)
		return;
	pthread_mutex_destroy(&pci->lock);
	free(pci);
}
