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
 * claim to be QEMU.
 *
 * Memory BARs: pci_bus_add assigns each BAR an address the way firmware
 * would (a bump allocator over the window, each BAR aligned to its size) and
 * sets Memory Space Enable.  The guest may move a BAR or turn decoding off
 * (Linux does while it sizes BARs); after every configuration write pci.c
 * recomputes where each BAR decodes and tells the device through bar_moved.
 * A BAR decodes only while memory decoding is on and the whole BAR lies in
 * the window, which is all pci.c claims on the MMIO bus, so a guest cannot
 * aim a device at RAM, the IOAPIC or the LAPIC.
 *
 * Locks, in the order they nest: lock (CONFIG_ADDRESS, config cycles, the
 * slot table), then map (a read-write lock over where BARs decode: MMIO
 * accesses read it, config writes write it), then the devices' own locks
 * inside their hooks and BAR handlers, then intx_lock (a leaf: INTx levels,
 * taken by devices from any thread with their own lock held). */
#include "devices/pci.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"

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
#define CFG_INT_PIN    0x3d
#define CFG_STATUS_LO  0x06    /* the Status byte with INTx and cap-list bits */
#define CFG_CAP_START  0x40    /* capabilities go after the header */

/* I/O, memory, bus master, parity, SERR, INTx disable. */
#define COMMAND_WMASK 0x0547
#define COMMAND_HOST  0x0006   /* memory and bus master */

#define WINDOW_END (LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE)

struct pci_bus {
	pthread_mutex_t lock;
	pthread_rwlock_t map;
	pthread_mutex_t intx_lock;
	uint32_t address;                 /* CONFIG_ADDRESS as latched */
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device host;
	uint64_t next_bar;                /* bump allocator over the window */
	struct irq_line intx[PCI_NR_INTX_LINES];
	bool intx_level[PCI_NR_INTX_LINES];
};

static void cfg_put16(uint8_t *p, unsigned int off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void cfg_put32(uint8_t *p, unsigned int off, uint32_t v)
{
	cfg_put16(p, off, (uint16_t)v);
	cfg_put16(p, off + 2, (uint16_t)(v >> 16));
}

static uint16_t cfg_get16(const uint8_t *p, unsigned int off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t cfg_get32(const uint8_t *p, unsigned int off)
{
	return (uint32_t)cfg_get16(p, off) | (uint32_t)cfg_get16(p, off + 2) << 16;
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

/* ---- INTx ---- */

/* Which of the two shared lines the device's pin is wired to: the _PRT
 * swizzle, slot s pin p (0 = INTA) -> line (s + p) & 1. */
static unsigned int intx_line(const struct pci_device *dev)
{
	unsigned int pin = dev->cfg[CFG_INT_PIN];

	return (unsigned int)(dev->slot + (pin >= 1 ? pin - 1 : 0)) & 1;
}

/* Recompute a line from every device on it.  intx_lock held. */
static void intx_update(struct pci_bus *pci, unsigned int line)
{
	bool level = false;

	for (int s = 1; s < PCI_MAX_SLOTS; s++) {
		const struct pci_device *d = pci->slots[s];

		if (d != NULL && d->cfg[CFG_INT_PIN] != 0 && intx_line(d) == line &&
		    d->intx_level && !d->intx_disabled)
			level = true;
	}
	if (level != pci->intx_level[line]) {
		pci->intx_level[line] = level;
		irq_line_set(&pci->intx[line], level);
	}
}

void pci_intx_set(struct pci_device *dev, bool level)
{
	struct pci_bus *pci = dev->bus;

	if (pci == NULL) {
		dev->intx_level = level;
		return;
	}
	pthread_mutex_lock(&pci->intx_lock);
	dev->intx_level = level;
	intx_update(pci, intx_line(dev));
	pthread_mutex_unlock(&pci->intx_lock);
}

/* The guest wrote the command register: follow its INTx Disable bit. */
static void intx_follow_command(struct pci_bus *pci, struct pci_device *dev)
{
	pthread_mutex_lock(&pci->intx_lock);
	dev->intx_disabled = (cfg_get16(dev->cfg, CFG_COMMAND) & PCI_CMD_INTX_DISABLE) != 0;
	intx_update(pci, intx_line(dev));
	pthread_mutex_unlock(&pci->intx_lock);
}

/* ---- BAR decoding ---- */

/* Where BAR i decodes according to the header, or PCI_BAR_UNMAPPED. */
static uint64_t bar_decode(const struct pci_device *dev, int i)
{
	uint64_t size = dev->bars[i].size;
	uint64_t addr = cfg_get32(dev->cfg, PCI_CFG_BAR0 + 4 * (unsigned int)i) & ~0xfull;

	if (size == 0 || !(cfg_get16(dev->cfg, CFG_COMMAND) & PCI_CMD_MEMORY))
		return PCI_BAR_UNMAPPED;
	if (addr < LAYOUT_PCI_MMIO || addr > WINDOW_END || size > WINDOW_END - addr)
		return PCI_BAR_UNMAPPED;
	return addr;
}

/* Bring bar_addr up to date with the header, telling the device about each
 * BAR that moved.  lock and map (write) held. */
static void bars_update(struct pci_device *dev, bool unmap_all)
{
	for (int i = 0; i < PCI_NR_BARS; i++) {
		uint64_t now = unmap_all ? PCI_BAR_UNMAPPED : bar_decode(dev, i);
		uint64_t old = dev->bar_addr[i];

		if (dev->bars[i].size == 0 || now == old)
			continue;
		dev->bar_addr[i] = now;
		if (dev->bar_moved)
			dev->bar_moved(dev, i, old, now);
	}
}

void pci_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *pci = opaque;
	uint64_t addr = LAYOUT_PCI_MMIO + offset;

	if (offset >= LAYOUT_PCI_MMIO_SIZE || len == 0 || len > 8 ||
	    len > LAYOUT_PCI_MMIO_SIZE - offset) {
		if (!is_write && len <= 8)
			memset(data, 0xff, len);
		return;
	}
	pthread_rwlock_rdlock(&pci->map);
	for (int s = 1; s < PCI_MAX_SLOTS; s++) {
		struct pci_device *d = pci->slots[s];

		for (int i = 0; d != NULL && i < PCI_NR_BARS; i++) {
			uint64_t base = d->bar_addr[i], size = d->bars[i].size;

			if (base == PCI_BAR_UNMAPPED || addr < base || addr - base >= size ||
			    len > size - (addr - base) || d->bars[i].access == NULL)
				continue;
			d->bars[i].access(d, i, addr - base, data, len, is_write);
			pthread_rwlock_unlock(&pci->map);
			return;
		}
	}
	pthread_rwlock_unlock(&pci->map);
	if (!is_write)
		memset(data, 0xff, len);
}

/* ---- configuration cycles ---- */

static bool overlaps(unsigned int off, uint32_t len, unsigned int start, unsigned int n)
{
	return off < start + n && start < off + len;
}

static void pci_cfg_write(struct pci_bus *pci, struct pci_device *dev,
			  unsigned int off, const uint8_t *data, uint32_t len)
{
	pthread_rwlock_wrlock(&pci->map);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t m = dev->wmask[off + i];

		dev->cfg[off + i] = (uint8_t)((dev->cfg[off + i] & ~m) | (data[i] & m));
	}
	if (overlaps(off, len, CFG_COMMAND, 2) ||
	    overlaps(off, len, PCI_CFG_BAR0, 4 * PCI_NR_BARS))
		bars_update(dev, false);
	if (dev->cfg_write)
		dev->cfg_write(dev, off, len);
	pthread_rwlock_unlock(&pci->map);
	if (overlaps(off, len, CFG_COMMAND, 2) && dev->slot > 0)
		intx_follow_command(pci, dev);
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
	if (is_write) {
		pci_cfg_write(pci, dev, off, data, len);
		return;
	}
	memcpy(data, &dev->cfg[off], len);
	/* Status bit 3 is live: the device's INTx level. */
	if (off <= CFG_STATUS_LO && off + len > CFG_STATUS_LO && dev->slot > 0) {
		uint8_t *st = &data[CFG_STATUS_LO - off];

		pthread_mutex_lock(&pci->intx_lock);
		*st = (uint8_t)((*st & ~PCI_STATUS_INTX) | (dev->intx_level ? PCI_STATUS_INTX : 0));
		pthread_mutex_unlock(&pci->intx_lock);
	}
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

/* ---- building devices ---- */

void pci_device_init(struct pci_device *dev, const struct pci_ids *ids)
{
	memset(dev, 0, sizeof(*dev));
	cfg_put16(dev->cfg, CFG_VENDOR, ids->vendor);
	cfg_put16(dev->cfg, CFG_DEVICE, ids->device);
	dev->cfg[CFG_REVISION] = ids->revision;
	dev->cfg[CFG_REVISION + 1] = (uint8_t)ids->class_code;
	dev->cfg[CFG_REVISION + 2] = (uint8_t)(ids->class_code >> 8);
	dev->cfg[CFG_REVISION + 3] = (uint8_t)(ids->class_code >> 16);
	dev->cfg[CFG_HEADER] = 0x00;
	cfg_put16(dev->cfg, PCI_CFG_SUBSYS_VENDOR, ids->subsys_vendor);
	cfg_put16(dev->cfg, PCI_CFG_SUBSYS_VENDOR + 2, ids->subsys);
	dev->cfg[CFG_INT_PIN] = 1;               /* INTA */

	cfg_put16(dev->wmask, CFG_COMMAND, COMMAND_WMASK);
	dev->wmask[CFG_CACHE_LINE] = 0xff;
	dev->wmask[CFG_LATENCY] = 0xff;
	dev->wmask[CFG_INT_LINE] = 0xff;
	for (int i = 0; i < PCI_NR_BARS; i++)
		dev->bar_addr[i] = PCI_BAR_UNMAPPED;
	dev->cap_free = CFG_CAP_START;
}

int pci_device_bar(struct pci_device *dev, int bar, uint64_t size, pci_bar_fn fn)
{
	if (bar < 0 || bar >= PCI_NR_BARS || size < 4096 || size > LAYOUT_PCI_MMIO_SIZE ||
	    (size & (size - 1)) != 0 || fn == NULL)
		return -1;
	dev->bars[bar] = (struct pci_bar){ .size = size, .access = fn };
	dev->bar_addr[bar] = PCI_BAR_UNMAPPED;
	/* 32-bit, non-prefetchable memory: flag bits 0, read-only. */
	cfg_put32(dev->cfg, PCI_CFG_BAR0 + 4 * (unsigned int)bar, 0);
	cfg_put32(dev->wmask, PCI_CFG_BAR0 + 4 * (unsigned int)bar, (uint32_t)~(size - 1));
	return 0;
}

unsigned int pci_add_cap(struct pci_device *dev, uint8_t id, unsigned int len)
{
	unsigned int off = dev->cap_free < CFG_CAP_START ? CFG_CAP_START : dev->cap_free;

	off = (off + 3) & ~3u;
	if (len < 2 || len > sizeof(dev->cfg) || off > sizeof(dev->cfg) - len)
		return 0;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	if (dev->cap_last == 0) {
		dev->cfg[PCI_CFG_CAP_PTR] = (uint8_t)off;
		dev->cfg[CFG_STATUS_LO] |= PCI_STATUS_CAP_LIST;
	} else {
		dev->cfg[dev->cap_last + 1] = (uint8_t)off;
	}
	dev->cap_last = (uint8_t)off;
	dev->cap_free = (uint8_t)(off + len < sizeof(dev->cfg) ? off + len : 0xff);
	return off;
}

unsigned int pci_add_msix(struct pci_device *dev, unsigned int nr, int table_bar,
			  uint32_t table_off, int pba_bar, uint32_t pba_off)
{
	unsigned int off;

	if (nr < 1 || nr > PCI_MSIX_MAX_VECTORS || table_bar < 0 || table_bar >= PCI_NR_BARS ||
	    pba_bar < 0 || pba_bar >= PCI_NR_BARS || (table_off & 7) || (pba_off & 7))
		return 0;
	off = pci_add_cap(dev, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN);
	if (off == 0)
		return 0;
	cfg_put16(dev->cfg, off + PCI_MSIX_CTRL, (uint16_t)(nr - 1));
	cfg_put32(dev->cfg, off + PCI_MSIX_TABLE, table_off | (uint32_t)table_bar);
	cfg_put32(dev->cfg, off + PCI_MSIX_PBA, pba_off | (uint32_t)pba_bar);
	cfg_put16(dev->wmask, off + PCI_MSIX_CTRL,
		  PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
	return off;
}

/* ---- the bus ---- */

/* Give each of dev's BARs an address, all or none.  lock held. */
static int bars_assign(struct pci_bus *pci, struct pci_device *dev)
{
	uint64_t next = pci->next_bar, addr[PCI_NR_BARS];

	for (int i = 0; i < PCI_NR_BARS; i++) {
		uint64_t size = dev->bars[i].size;

		if (size == 0)
			continue;
		addr[i] = (next + size - 1) & ~(size - 1);
		if (addr[i] > WINDOW_END || size > WINDOW_END - addr[i])
			return -1;
		next = addr[i] + size;
	}
	for (int i = 0; i < PCI_NR_BARS; i++) {
		unsigned int reg = PCI_CFG_BAR0 + 4 * (unsigned int)i;

		if (dev->bars[i].size == 0)
			continue;
		cfg_put32(dev->cfg, reg, (uint32_t)addr[i] | (cfg_get32(dev->cfg, reg) & 0xf));
		dev->cfg[CFG_COMMAND] |= PCI_CMD_MEMORY;
	}
	pci->next_bar = next;
	return 0;
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
	if (slot > 0 && pci->slots[slot] == NULL && dev->bus == NULL &&
	    bars_assign(pci, dev) == 0) {
		pthread_rwlock_wrlock(&pci->map);
		dev->bus = pci;
		dev->slot = slot;
		if (dev->cfg[CFG_INT_PIN] != 0)
			dev->cfg[CFG_INT_LINE] = (uint8_t)pci->intx[intx_line(dev)].gsi;
		dev->intx_disabled = (cfg_get16(dev->cfg, CFG_COMMAND) & PCI_CMD_INTX_DISABLE) != 0;
		pci->slots[slot] = dev;
		bars_update(dev, false);
		pthread_rwlock_unlock(&pci->map);
		ret = slot;
	}
	pthread_mutex_unlock(&pci->lock);
	return ret;
}

int pci_bus_slots_used(struct pci_bus *pci)
{
	int used = 1;

	pthread_mutex_lock(&pci->lock);
	for (int slot = 1; slot < PCI_MAX_SLOTS; slot++)
		if (pci->slots[slot])
			used = slot + 1;
	pthread_mutex_unlock(&pci->lock);
	return used;
}

void pci_bus_remove(struct pci_bus *pci, struct pci_device *dev)
{
	if (dev == NULL || dev->bus != pci)
		return;
	pthread_mutex_lock(&pci->lock);
	pthread_rwlock_wrlock(&pci->map);
	bars_update(dev, true);
	pthread_mutex_lock(&pci->intx_lock);
	dev->intx_level = false;
	intx_update(pci, intx_line(dev));
	pci->slots[dev->slot] = NULL;
	dev->slot = 0;
	dev->bus = NULL;
	pthread_mutex_unlock(&pci->intx_lock);
	pthread_rwlock_unlock(&pci->map);
	pthread_mutex_unlock(&pci->lock);
}

struct pci_bus *pci_bus_create(struct bus *mmio, const struct irq_line *intx)
{
	struct pci_bus *pci = calloc(1, sizeof(*pci));

	if (pci == NULL)
		return NULL;
	if (pthread_mutex_init(&pci->lock, NULL) != 0)
		goto fail_lock;
	if (pthread_rwlock_init(&pci->map, NULL) != 0)
		goto fail_map;
	if (pthread_mutex_init(&pci->intx_lock, NULL) != 0)
		goto fail_intx;
	pci_host_bridge_init(&pci->host);
	pci->slots[0] = &pci->host;
	pci->next_bar = LAYOUT_PCI_MMIO;
	for (int i = 0; i < PCI_NR_INTX_LINES; i++) {
		if (intx != NULL)
			pci->intx[i] = intx[i];
		else
			pci->intx[i] = (struct irq_line){ .gsi = GSI_PCI_INTX_A + (uint32_t)i };
	}
	if (mmio != NULL && bus_register(mmio, LAYOUT_PCI_MMIO, LAYOUT_PCI_MMIO_SIZE,
					 pci_mmio_io, pci, "PCI window") < 0) {
		pci_bus_destroy(pci);
		return NULL;
	}
	return pci;

fail_intx:
	pthread_rwlock_destroy(&pci->map);
fail_map:
	pthread_mutex_destroy(&pci->lock);
fail_lock:
	free(pci);
	return NULL;
}

void pci_bus_destroy(struct pci_bus *pci)
{
	if (pci == NULL)
		return;
	pthread_mutex_destroy(&pci->intx_lock);
	pthread_rwlock_destroy(&pci->map);
	pthread_mutex_destroy(&pci->lock);
	free(pci);
}
