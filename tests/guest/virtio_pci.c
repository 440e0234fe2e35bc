/* landlord test guest: the virtio-pci modern transport (virtio 1.2, 4.1):
 * vendor capabilities, the common configuration structure, notifications,
 * MSI-X and INTx.  Register use follows Linux's virtio_pci_modern_dev.c. */
#include "virtio.h"

/* PCI configuration space through ports 0xCF8/0xCFC (mechanism #1). */
static void pci_cfg_addr(u8 dev, u8 fn, u8 off)
{
    outl(0xCF8, 0x80000000u | ((u32)(dev & 31) << 11) | ((u32)(fn & 7) << 8) | (off & 0xFC));
}

u8 pci_cfg_read8(u8 dev, u8 fn, u8 off)
{
    pci_cfg_addr(dev, fn, off);
    return inb((u16)(0xCFC + (off & 3)));
}

u16 pci_cfg_read16(u8 dev, u8 fn, u8 off)
{
    pci_cfg_addr(dev, fn, off);
    return inw((u16)(0xCFC + (off & 2)));
}

void pci_cfg_write16(u8 dev, u8 fn, u8 off, u16 v)
{
    pci_cfg_addr(dev, fn, off);
    outw((u16)(0xCFC + (off & 2)), v);
}

void pci_cfg_write32(u8 dev, u8 fn, u8 off, u32 v)
{
    pci_cfg_addr(dev, fn, off);
    outl(0xCFC, v);
}

#define PCI_COMMAND 0x04
#define PCI_CMD_MEM (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define PCI_CMD_INTX_DISABLE (1u << 10)
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3C
#define PCI_INT_PIN 0x3D
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

#define MSIX_CTRL_ENABLE (1u << 15)
#define MSIX_CTRL_MASKALL (1u << 14)

/* Common configuration structure (4.1.4.3) */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0C
#define CC_MSIX 0x10
#define CC_NUMQ 0x12
#define CC_STATUS 0x14
#define CC_GENERATION 0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1A
#define CC_Q_ENABLE 0x1C
#define CC_Q_NOFF 0x1E
#define CC_Q_DESC 0x20
#define CC_Q_AVAIL 0x28
#define CC_Q_USED 0x30
#define CC_LEN 0x38
#define NO_VECTOR 0xFFFF

/* Address of a memory BAR as the monitor assigned it; 0 if unusable. */
static u64 bar_addr(struct vdev *d, u8 bar)
{
    if (bar > 5)
        return 0;
    u32 lo = pci_cfg_read32(0, d->slot, d->fn, (u8)(0x10 + 4 * bar));
    if (lo & 1)
        return 0;   /* I/O space: a modern device's structures live in memory */
    u64 a = lo & ~0xFull;
    if (((lo >> 1) & 3) == 2 && bar < 5)
        a |= (u64)pci_cfg_read32(0, d->slot, d->fn, (u8)(0x10 + 4 * (bar + 1))) << 32;
    /* the guest identity-maps 4 GiB; the monitor's window is below that */
    if (a >= 0x100000000ull)
        return 0;
    return a;
}

/* One virtio vendor capability (4.1.4): records the first of each type. */
static int vpci_vendor_cap(struct vdev *d, u8 p, const char **why)
{
    static const char *const names[] = { "?", "common", "notify", "isr", "device" };
    u8 type = pci_cfg_read8(d->slot, d->fn, (u8)(p + 3));
    u8 bar = pci_cfg_read8(d->slot, d->fn, (u8)(p + 4));
    u8 caplen = pci_cfg_read8(d->slot, d->fn, (u8)(p + 2));
    u32 off = pci_cfg_read32(0, d->slot, d->fn, (u8)(p + 8));
    u32 len = pci_cfg_read32(0, d->slot, d->fn, (u8)(p + 12));
    if (type < 1 || type > 4)
        return 0;   /* PCI cfg access, shared memory, vendor-specific: unused */
    if (caplen < 16) {
        *why = "virtio capability shorter than 16 bytes";
        return -1;
    }
    u64 base = bar_addr(d, bar);
    if (!base) {
        printk("virtio: %s: %s cap in BAR %u, which has no memory address\n", d->where,
               names[type], bar);
        *why = "virtio capability in an unassigned or non-memory BAR";
        return -1;
    }
    u64 a = base + off;
    switch (type) {
    case 1:
        if (!d->common) {
            if (len < CC_LEN) {
                *why = "common config capability too short";
                return -1;
            }
            d->common = a;
        }
        break;
    case 2:
        if (!d->notify) {
            if (caplen < 20 || len < 2) {
                *why = "notify capability too short";
                return -1;
            }
            d->notify = a;
            d->notify_mult = pci_cfg_read32(0, d->slot, d->fn, (u8)(p + 16));
        }
        break;
    case 3:
        if (!d->isr)
            d->isr = a;
        break;
    case 4:
        if (!d->devcfg)
            d->devcfg = a;
        break;
    }
    return 0;
}

int vpci_probe(u8 slot, u8 fn, u32 device_id, struct vdev *d, const char **why)
{
    u32 id = pci_cfg_read32(0, slot, fn, 0);
    if ((id & 0xFFFF) != 0x1AF4 || (id >> 16) != 0x1040 + device_id)
        return 0;
    memset(d, 0, sizeof(*d));
    d->kind = VT_PCI;
    d->device_id = device_id;
    d->slot = slot;
    d->fn = fn;
    snprintk(d->where, sizeof(d->where), "pci 00:%02x.%u", slot, fn);

    u16 cmd = pci_cfg_read16(slot, fn, PCI_COMMAND);
    pci_cfg_write16(slot, fn, PCI_COMMAND, (u16)(cmd | PCI_CMD_MEM | PCI_CMD_MASTER));
    if (!(pci_cfg_read16(slot, fn, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        *why = "virtio-pci device without a capability list";
        return -1;
    }
    u8 p = pci_cfg_read8(slot, fn, PCI_CAP_PTR) & 0xFC;
    for (int n = 0; p >= 0x40 && n < 48; n++) {
        u8 cap = pci_cfg_read8(slot, fn, p);
        if (cap == PCI_CAP_ID_VNDR && vpci_vendor_cap(d, p, why) < 0)
            return -1;
        if (cap == PCI_CAP_ID_MSIX && !d->msix_cap) {
            d->msix_cap = p;
            d->msix_size = (u16)((pci_cfg_read16(slot, fn, (u8)(p + 2)) & 0x7FF) + 1);
            u32 t = pci_cfg_read32(0, slot, fn, (u8)(p + 4));
            u64 b = bar_addr(d, t & 7);
            d->msix_table = b ? b + (t & ~7u) : 0;
            u32 pba = pci_cfg_read32(0, slot, fn, (u8)(p + 8));
            b = bar_addr(d, pba & 7);
            d->msix_pba = b ? b + (pba & ~7u) : 0;
        }
        p = pci_cfg_read8(slot, fn, (u8)(p + 1)) & 0xFC;
    }
    if (!d->common || !d->notify || !d->isr) {
        *why = "virtio-pci device lacks a common, notify or ISR capability";
        return -1;
    }
    d->intx_line = pci_cfg_read8(slot, fn, PCI_INT_LINE);
    d->intx_pin = pci_cfg_read8(slot, fn, PCI_INT_PIN);
    return 1;
}

u8 vpci_status(struct vdev *d) { return mmio_read8(d->common + CC_STATUS); }
void vpci_set_status(struct vdev *d, u8 s) { mmio_write8(d->common + CC_STATUS, s); }
u32 vpci_generation(struct vdev *d) { return mmio_read8(d->common + CC_GENERATION); }
u32 vpci_num_queues(struct vdev *d) { return mmio_read16(d->common + CC_NUMQ); }
u32 vpci_isr(struct vdev *d) { return mmio_read8(d->isr); }

u64 vpci_features(struct vdev *d)
{
    mmio_write32(d->common + CC_DFSELECT, 0);
    u64 lo = mmio_read32(d->common + CC_DF);
    mmio_write32(d->common + CC_DFSELECT, 1);
    u64 hi = mmio_read32(d->common + CC_DF);
    return lo | (hi << 32);
}

void vpci_set_features(struct vdev *d, u64 f)
{
    mmio_write32(d->common + CC_GFSELECT, 0);
    mmio_write32(d->common + CC_GF, (u32)f);
    mmio_write32(d->common + CC_GFSELECT, 1);
    mmio_write32(d->common + CC_GF, (u32)(f >> 32));
}

static void write64(u64 a, u64 v)
{
    mmio_write32(a, (u32)v);
    mmio_write32(a + 4, (u32)(v >> 32));
}

int vpci_queue_setup(struct vdev *d, struct vq *q, u16 qsize, u64 desc, u64 avail, u64 used,
                     const char **why)
{
    u64 c = d->common;
    mmio_write16(c + CC_Q_SELECT, q->index);
    u16 max = mmio_read16(c + CC_Q_SIZE);
    if (!max) {
        *why = "queue_size reads 0: the queue does not exist";
        return -1;
    }
    if (mmio_read16(c + CC_Q_ENABLE)) {
        *why = "queue_enable reads 1 after a reset";
        return -1;
    }
    u16 size = qsize;
    while (size > max)
        size >>= 1;
    q->size = size;
    mmio_write16(c + CC_Q_SIZE, size);
    write64(c + CC_Q_DESC, desc);
    write64(c + CC_Q_AVAIL, avail);
    write64(c + CC_Q_USED, used);
    if (d->irq == VIRQ_MSIX) {
        u16 entry = (u16)(1 + q->index);
        mmio_write16(c + CC_Q_MSIX, entry);
        u16 got = mmio_read16(c + CC_Q_MSIX);
        if (got != entry) {
            printk("virtio: %s: queue %u msix vector %u reads back 0x%x\n", d->where, q->index,
                   entry, got);
            *why = "the device refused a queue MSI-X vector";
            return -1;
        }
    }
    u16 noff = mmio_read16(c + CC_Q_NOFF);
    q->notify_addr = d->notify + (u64)noff * d->notify_mult;
    mmio_write16(c + CC_Q_ENABLE, 1);
    if (mmio_read16(c + CC_Q_ENABLE) != 1) {
        *why = "queue_enable does not read back 1";
        return -1;
    }
    return 0;
}

static void msix_ctrl(struct vdev *d, u16 set, u16 clear)
{
    u16 ctrl = pci_cfg_read16(d->slot, d->fn, (u8)(d->msix_cap + 2));
    pci_cfg_write16(d->slot, d->fn, (u8)(d->msix_cap + 2), (u16)((ctrl | set) & ~clear));
}

/* MSI-X: table entry 0 = config changes, entry 1+q = queue q. */
static int vpci_msix_setup(struct vdev *d, const char **why)
{
    if (!d->msix_cap || !d->msix_table) {
        *why = "no usable MSI-X capability";
        return -1;
    }
    unsigned need = 1 + (unsigned)d->nr_vqs;
    if (d->msix_size < need) {
        *why = "MSI-X table smaller than 1 + number of queues";
        return -1;
    }
    /* Program the entries with the function masked, as Linux does. */
    msix_ctrl(d, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 0);
    u32 addr = 0xFEE00000u | (lapic_id() << 12);
    for (unsigned i = 0; i < need; i++) {
        u64 e = d->msix_table + 16ull * i;
        mmio_write32(e + 0, addr);
        mmio_write32(e + 4, 0);
        mmio_write32(e + 8, (u32)d->config_vector + i);   /* fixed, edge */
        mmio_write32(e + 12, 0);                          /* unmasked */
    }
    msix_ctrl(d, 0, MSIX_CTRL_MASKALL);
    u16 cmd = pci_cfg_read16(d->slot, d->fn, PCI_COMMAND);
    pci_cfg_write16(d->slot, d->fn, PCI_COMMAND, (u16)(cmd | PCI_CMD_INTX_DISABLE));
    mmio_write16(d->common + CC_MSIX, 0);
    u16 got = mmio_read16(d->common + CC_MSIX);
    if (got != 0) {
        printk("virtio: %s: msix_config 0 reads back 0x%x\n", d->where, got);
        *why = "the device refused the config MSI-X vector";
        return -1;
    }
    return 0;
}

/* INTx: the Interrupt Line register holds the GSI (level, shared). */
static int vpci_intx_setup(struct vdev *d, const char **why)
{
    if (d->msix_cap)
        msix_ctrl(d, 0, MSIX_CTRL_ENABLE);
    if (!d->intx_pin || d->intx_line == 0xFF || d->intx_line == 0) {
        printk("virtio: %s: interrupt pin %u line %u\n", d->where, d->intx_pin, d->intx_line);
        *why = "no INTx routing in the Interrupt Pin/Line registers";
        return -1;
    }
    u16 cmd = pci_cfg_read16(d->slot, d->fn, PCI_COMMAND);
    pci_cfg_write16(d->slot, d->fn, PCI_COMMAND, (u16)(cmd & ~PCI_CMD_INTX_DISABLE));
    (void)vpci_isr(d);   /* drop anything stale before the pin is unmasked */
    /* PCI interrupts: level-triggered, active-low (MPS flags 0xF) */
    if (vdev_route_line(d, 0xF) < 0) {
        *why = "no IOAPIC serves the INTx GSI";
        return -1;
    }
    return 0;
}

int vpci_irq_setup(struct vdev *d, const char **why)
{
    if (d->irq == VIRQ_MSIX)
        return vpci_msix_setup(d, why);
    if (d->irq == VIRQ_INTX)
        return vpci_intx_setup(d, why);
    /* polling: no vectors, and neither MSI-X nor a routed pin */
    if (d->msix_cap)
        msix_ctrl(d, 0, MSIX_CTRL_ENABLE);
    mmio_write16(d->common + CC_MSIX, NO_VECTOR);
    return 0;
}

void vpci_irq_off(struct vdev *d)
{
    msix_ctrl(d, MSIX_CTRL_MASKALL, 0);
}

void vpci_msix_mask(struct vdev *d, unsigned entry, int masked)
{
    mmio_write32(d->msix_table + 16ull * entry + 12, masked ? 1 : 0);
}

int vpci_msix_pending(struct vdev *d, unsigned entry)
{
    if (!d->msix_pba)
        return -1;
    return (int)((mmio_read32(d->msix_pba + 4 * (entry / 32)) >> (entry % 32)) & 1);
}
