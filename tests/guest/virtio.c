/* landlord test guest: the transport-independent virtio driver (virtio 1.2,
 * chapters 2-3): discovery, initialisation, split virtqueues, interrupts.
 * Everything the device writes is read through volatile pointers. */
#include "virtio.h"

/* ------------------------------------------------------------ DMA memory */

/* Rings and buffers live in RAM at 8-16 MiB, well above the image. */
#define DMA_BASE 0x800000ul
#define DMA_SIZE 0x800000ul

static u64 dma_next;

static void zero_qwords(void *p, u64 bytes)
{
    u64 n = bytes / 8;
    __asm__ volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0ull) : "memory");
}

void *dma_alloc(u64 size, u64 align)
{
    if (!dma_next) {
        if (!e820_is_ram(DMA_BASE, DMA_SIZE))
            test_fail("no e820 RAM at 0x%lx-0x%lx for virtio rings and buffers", DMA_BASE,
                      DMA_BASE + DMA_SIZE);
        dma_next = DMA_BASE;
    }
    if (align < 8)
        align = 8;
    u64 a = (dma_next + align - 1) & ~(align - 1);
    size = (size + 7) & ~7ull;
    if (a + size > DMA_BASE + DMA_SIZE)
        test_fail("out of virtio DMA memory (%lu bytes wanted)", size);
    dma_next = a + size;
    zero_qwords((void *)(uintptr_t)a, size);
    return (void *)(uintptr_t)a;
}

u64 cmdline_u64(const char *key, u64 dflt)
{
    char buf[24];
    u64 v;
    if (!cmdline_get(key, buf, sizeof(buf)))
        return dflt;
    if (!parse_u64(buf, &v))
        test_fail("bad %s=%s on the command line", key, buf);
    return v;
}

/* ------------------------------------------------------------- waiting */

static volatile u32 wd_ticks;
static int wd_on;

static void wd_isr(struct irq_frame *f)
{
    (void)f;
    wd_ticks++;
    lapic_eoi();
}

void vwait_init(void)
{
    if (wd_on)
        return;
    lapic_init();
    u64 hz = lapic_timer_hz_div16();
    u32 count = hz ? (u32)(hz / 100) : 100000u;
    if (count < 100)
        count = 100;
    irq_set_handler(VEC_WATCHDOG, wd_isr);
    lapic_timer_periodic(VEC_WATCHDOG, count);
    wd_on = 1;
}

int vwait(int (*cond)(void *), void *arg, u32 ms)
{
    if (wd_on) {
        u32 start = wd_ticks, limit = ms / 10 + 2;
        for (;;) {
            irq_disable();
            if (cond(arg))
                return 1;
            if (wd_ticks - start > limit)
                return 0;
            irq_enable_and_halt();   /* a device interrupt or the 100 Hz watchdog */
        }
    }
    for (u32 i = 0; i < ms * 20; i++) {
        if (cond(arg))
            return 1;
        udelay(50);
    }
    return cond(arg);
}

/* ----------------------------------------------------------- interrupts */

static struct vdev *irq_devs[VIRTIO_IRQ_DEVS];
static unsigned nr_irq_devs;

static u32 vdev_line(const struct vdev *d) { return d->kind == VT_PCI ? d->intx_line : d->gsi; }

static int on_line(const struct vdev *e, u32 line)
{
    return e->irq_active && (e->irq == VIRQ_INTX || e->irq == VIRQ_LINE) && vdev_line(e) == line;
}

/* Another live device shares d's INTx/MMIO line (so it is routed already,
 * and must stay unmasked). */
static int line_shared(const struct vdev *d)
{
    for (unsigned k = 0; k < nr_irq_devs; k++)
        if (irq_devs[k] != d && on_line(irq_devs[k], vdev_line(d)))
            return 1;
    return 0;
}

/* A level-triggered line (INTx, shared; or an MMIO device's GSI): services
 * ONE device whose status is set, starting after the one served last.  Any
 * other device still asserting keeps the line up, so the IOAPIC delivers
 * again after the EOI: that checks the monitor ORs the devices on a line.
 * Reading (on MMIO: acknowledging) the status drops the device's level. */
static void line_isr(struct vdev *d)
{
    static unsigned next;
    u32 line = vdev_line(d);
    for (unsigned i = 0; i < nr_irq_devs; i++) {
        struct vdev *e = irq_devs[(next + i) % nr_irq_devs];
        if (!on_line(e, line))
            continue;
        u32 s = vdev_read_isr(e);
        if (!s)
            continue;
        if (s & 1) {
            /* the status does not say which queue: count it for each */
            e->queue_irqs++;
            for (int q = 0; q < e->nr_vqs; q++)
                e->vqs[q].irqs++;
        }
        if (s & 2)
            e->config_irqs++;
        next = (next + i + 1) % nr_irq_devs;
        return;
    }
}

static void virtio_isr(struct irq_frame *f)
{
    u32 v = (u32)f->vector - VEC_VIRTIO;
    struct vdev *d = v / 4 < nr_irq_devs ? irq_devs[v / 4] : 0;
    if (d && d->irq == VIRQ_MSIX) {
        u32 e = v % 4;   /* 0: config, 1 + q: queue q */
        if (e == 0) {
            d->config_irqs++;
        } else {
            d->queue_irqs++;
            if (e - 1 < (u32)d->nr_vqs)
                d->vqs[e - 1].irqs++;
        }
    } else if (d) {
        line_isr(d);
    }
    lapic_eoi();
}

/* Gives the device its vector block (kept across re-initialisation). */
static void vdev_irq_slot(struct vdev *d)
{
    unsigned k;
    for (k = 0; k < nr_irq_devs; k++)
        if (irq_devs[k] == d)
            break;
    if (k == nr_irq_devs) {
        if (k == VIRTIO_IRQ_DEVS)
            test_fail("more than %u virtio devices", VIRTIO_IRQ_DEVS);
        irq_devs[nr_irq_devs++] = d;
    }
    d->config_vector = (u8)(VEC_VIRTIO + 4 * k);
    for (unsigned i = 0; i < 4; i++)
        irq_set_handler((u8)(d->config_vector + i), virtio_isr);
    for (int q = 0; q < d->nr_vqs; q++)
        d->vqs[q].vector = (u8)(d->config_vector + 1 + q);
}

const char *virq_mode_name(enum virq_mode m)
{
    static const char *const n[] = { "poll", "msix", "intx", "line" };
    return n[m];
}

const char *vdev_kind_name(const struct vdev *d) { return d->kind == VT_PCI ? "pci" : "mmio"; }

enum virq_mode vdev_irq_mode(const struct vdev *d)
{
    char m[8];
    if (!cmdline_get("irq", m, sizeof(m)))
        return d->kind == VT_PCI ? VIRQ_MSIX : VIRQ_LINE;
    if (!strncmp(m, "poll", 5))
        return VIRQ_POLL;
    if (d->kind == VT_MMIO)
        return VIRQ_LINE;   /* msix/intx name PCI mechanisms; MMIO has its line */
    if (!strncmp(m, "msix", 5))
        return VIRQ_MSIX;
    if (!strncmp(m, "intx", 5))
        return VIRQ_INTX;
    test_fail("bad irq=%s (msix, intx or poll)", m);
}

u32 vdev_read_isr(struct vdev *d) { return d->kind == VT_PCI ? vpci_isr(d) : vmmio_isr(d); }

void vdev_irq_off(struct vdev *d)
{
    int shared = line_shared(d);
    d->irq_active = 0;
    if (d->irq == VIRQ_MSIX)
        vpci_irq_off(d);
    else if ((d->irq == VIRQ_INTX || d->irq == VIRQ_LINE) && !shared)
        ioapic_mask_gsi(vdev_line(d));
}

int vdev_route_line(struct vdev *d, u16 mps_flags)
{
    if (line_shared(d))
        return 0;   /* routed by the device that shares it, to its vector */
    return ioapic_route_gsi(vdev_line(d), d->config_vector, lapic_id(), mps_flags, 0);
}

/* ------------------------------------------------------------ discovery */

int vdev_find(u32 device_id, unsigned nth, struct vdev *d)
{
    char t[8];
    int pci = 1, mmio = 1;
    if (cmdline_get("transport", t, sizeof(t))) {
        if (!strncmp(t, "pci", 4))
            mmio = 0;
        else if (!strncmp(t, "mmio", 5))
            pci = 0;
        else
            test_fail("bad transport=%s (pci or mmio)", t);
    }
    unsigned seen = 0;
    const char *why = "?";
    for (u8 slot = 0; pci && slot < 32; slot++) {
        u8 nfn = 1;
        for (u8 fn = 0; fn < nfn; fn++) {
            u32 id = pci_cfg_read32(0, slot, fn, 0);
            if ((id & 0xFFFF) == 0xFFFF)
                continue;
            if (fn == 0 && (pci_cfg_read32(0, slot, 0, 0x0C) & 0x800000u))
                nfn = 8;
            int r = vpci_probe(slot, fn, device_id, d, &why);
            if (r < 0)
                test_fail("%s: %s", d->where, why);
            if (r > 0 && seen++ == nth)
                return 1;
        }
    }
    u64 addr[VMMIO_MAX];
    u32 gsi[VMMIO_MAX];
    unsigned n = mmio ? vmmio_cmdline(addr, gsi, VMMIO_MAX) : 0;
    for (unsigned i = 0; i < n; i++)
        if (vmmio_probe(addr[i], gsi[i], device_id, d) && seen++ == nth)
            return 1;
    return 0;
}

/* ------------------------------------------------------ register access */

u8 vdev_status(struct vdev *d) { return d->kind == VT_PCI ? vpci_status(d) : vmmio_status(d); }

void vdev_set_status(struct vdev *d, u8 s)
{
    if (d->kind == VT_PCI)
        vpci_set_status(d, s);
    else
        vmmio_set_status(d, s);
}

u32 vdev_generation(struct vdev *d)
{
    return d->kind == VT_PCI ? vpci_generation(d) : vmmio_generation(d);
}

static u64 cfg_addr(struct vdev *d, u32 off)
{
    if (!d->devcfg)
        test_fail("%s has no device configuration structure", d->where);
    return d->devcfg + off;
}

u8 vdev_cfg8(struct vdev *d, u32 off) { return mmio_read8(cfg_addr(d, off)); }
u16 vdev_cfg16(struct vdev *d, u32 off) { return mmio_read16(cfg_addr(d, off)); }
u32 vdev_cfg32(struct vdev *d, u32 off) { return mmio_read32(cfg_addr(d, off)); }

u64 vdev_cfg64(struct vdev *d, u32 off)
{
    for (int tries = 0; tries < 16; tries++) {
        u32 g = vdev_generation(d);
        u64 lo = vdev_cfg32(d, off), hi = vdev_cfg32(d, off + 4);
        if (vdev_generation(d) == g)
            return lo | (hi << 32);
    }
    test_fail("%s: config generation never settles", d->where);
}

int vdev_reset(struct vdev *d)
{
    vdev_set_status(d, 0);
    /* 4.1.4.3.2: the driver waits for device_status to read 0 */
    for (int i = 0; i < 10000; i++)
        if (vdev_status(d) == 0)
            return 0;
    return -1;
}

/* ----------------------------------------------------------- virtqueues */

static void vq_init_ring(struct vq *q, u16 index)
{
    /* One page per queue: desc at 0, avail at 1 KiB, used at 2 KiB (64 entries fit). */
    if (!q->desc)
        q->desc = dma_alloc(4096, 4096);
    else
        zero_qwords(q->desc, 4096);
    q->avail = (struct vring_avail *)((u8 *)q->desc + 1024);
    q->used = (struct vring_used *)((u8 *)q->desc + 2048);
    q->index = index;
    q->avail_idx = 0;
    q->last_used = 0;
    q->covered = 0;
    q->irq_mark = 0;
    q->irqs = 0;
    q->quiet = 0;
    q->free_head = 0;
    memset(q->chain_len, 0, sizeof(q->chain_len));
}

static void vq_init_free(struct vq *q)
{
    for (u16 i = 0; i < q->size; i++)
        q->desc[i].next = (u16)(i + 1);
    q->num_free = q->size;
}

static int vdev_setup_queues(struct vdev *d, u16 qsize, const char **why)
{
    for (int i = 0; i < d->nr_vqs; i++) {
        struct vq *q = &d->vqs[i];
        vq_init_ring(q, (u16)i);
        u64 desc = i == 0 && d->bad_desc ? d->bad_desc : (u64)(uintptr_t)q->desc, avail = (u64)(uintptr_t)q->avail,
            used = (u64)(uintptr_t)q->used;
        int r = d->kind == VT_PCI ? vpci_queue_setup(d, q, qsize, desc, avail, used, why)
                                  : vmmio_queue_setup(d, q, qsize, desc, avail, used, why);
        if (r < 0)
            return -1;
        vq_init_free(q);
        q->event_idx_on = d->event_idx;
        if (d->irq == VIRQ_POLL && !d->event_idx)
            q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    }
    return 0;
}

static int vdev_setup_irq(struct vdev *d, const char **why)
{
    vdev_irq_slot(d);
    d->queue_irqs = 0;
    d->config_irqs = 0;
    if (d->irq != VIRQ_POLL)
        vwait_init();
    d->irq_active = 0;
    if (d->kind == VT_PCI) {
        if (vpci_irq_setup(d, why) < 0)
            return -1;
    } else if (d->irq == VIRQ_LINE) {
        (void)vmmio_isr(d);
        /* the monitor's virtio-mmio lines are level-triggered, active-high (MPS flags 0xD) */
        if (vdev_route_line(d, 0xD) < 0) {
            *why = "no IOAPIC serves the virtio-mmio GSI";
            return -1;
        }
    }
    d->irq_active = 1;
    return 0;
}

int vdev_init(struct vdev *d, u64 want, int nqueues, u16 qsize, const char **why)
{
    if (nqueues < 1 || nqueues > 3 || qsize > VQ_SIZE_MAX) {
        *why = "bad queue count or size";
        return -1;
    }
    d->irq = vdev_irq_mode(d);
    if (vdev_reset(d) < 0) {
        *why = "device status does not read 0 after a reset";
        return -1;
    }
    vdev_set_status(d, VS_ACKNOWLEDGE);
    vdev_set_status(d, VS_ACKNOWLEDGE | VS_DRIVER);
    d->offered = d->kind == VT_PCI ? vpci_features(d) : vmmio_features(d);
    if (!((d->offered >> VF_VERSION_1) & 1)) {
        *why = "the device does not offer VIRTIO_F_VERSION_1";
        return -1;
    }
    d->features = d->offered & (want | (1ull << VF_VERSION_1));
    if (d->kind == VT_PCI)
        vpci_set_features(d, d->features);
    else
        vmmio_set_features(d, d->features);
    vdev_set_status(d, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK);
    if (!(vdev_status(d) & VS_FEATURES_OK)) {
        *why = "FEATURES_OK did not stick";
        return -1;
    }
    d->event_idx = vdev_has(d, VF_EVENT_IDX);
    if (d->kind == VT_PCI && vpci_num_queues(d) < (u32)nqueues) {
        *why = "num_queues is smaller than the device type needs";
        return -1;
    }
    d->nr_vqs = nqueues;
    if (vdev_setup_irq(d, why) < 0 || vdev_setup_queues(d, qsize, why) < 0)
        return -1;
    vdev_set_status(d, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
    u8 s = vdev_status(d);
    if (s & (VS_NEEDS_RESET | VS_FAILED) || !(s & VS_DRIVER_OK)) {
        printk("virtio: %s: status 0x%x after DRIVER_OK\n", d->where, s);
        *why = "the device did not accept DRIVER_OK";
        return -1;
    }
    return 0;
}

int vq_add(struct vq *q, const struct vbuf *b, int n)
{
    if (n < 1 || n > q->num_free)
        return -1;
    u16 head = q->free_head, i = head;
    for (int k = 0; k < n; k++) {
        q->desc[i].addr = b[k].addr;
        q->desc[i].len = b[k].len;
        q->desc[i].flags = (u16)((b[k].write ? VRING_DESC_F_WRITE : 0) |
                                 (k + 1 < n ? VRING_DESC_F_NEXT : 0));
        i = q->desc[i].next;   /* the free list is threaded through next */
    }
    q->free_head = i;
    q->num_free = (u16)(q->num_free - n);
    q->chain_len[head] = (u16)n;
    q->avail->ring[q->avail_idx % q->size] = head;
    q->avail_idx++;
    return head;
}

int vq_add_indirect(struct vq *q, const struct vbuf *b, int n, struct vring_desc *table)
{
    for (int k = 0; k < n; k++) {
        table[k].addr = b[k].addr;
        table[k].len = b[k].len;
        table[k].flags = (u16)((b[k].write ? VRING_DESC_F_WRITE : 0) |
                               (k + 1 < n ? VRING_DESC_F_NEXT : 0));
        table[k].next = (u16)(k + 1);
    }
    struct vbuf one = { (u64)(uintptr_t)table, (u32)(16 * n), 0 };
    int head = vq_add(q, &one, 1);
    if (head >= 0)
        q->desc[head].flags = VRING_DESC_F_INDIRECT;
    return head;
}

void vq_notify(struct vdev *d, struct vq *q)
{
    if (d->kind == VT_PCI)
        mmio_write16(q->notify_addr, q->index);
    else
        mmio_write32(q->notify_addr, q->index);
}

void vq_kick(struct vdev *d, struct vq *q)
{
    volatile struct vring_avail *av = q->avail;
    volatile struct vring_used *us = q->used;
    u16 old = av->idx, now = q->avail_idx;
    barrier();   /* ring entries before the index (x86 keeps stores in order) */
    av->idx = now;
    vmb();       /* the index before reading the device's suppression state */
    if (d->event_idx) {
        u16 event = *(volatile u16 *)&us->ring[q->size];
        if ((u16)(now - event - 1) < (u16)(now - old))
            vq_notify(d, q);
    } else if (!(us->flags & VRING_USED_F_NO_NOTIFY)) {
        vq_notify(d, q);
    }
}

int vq_get_used(struct vq *q, u32 *len)
{
    volatile struct vring_used *us = q->used;
    if (us->idx == q->last_used)
        return -1;
    barrier();   /* the index before the entry */
    u32 id = us->ring[q->last_used % q->size].id;
    u32 l = us->ring[q->last_used % q->size].len;
    q->last_used++;
    if (id >= q->size || !q->chain_len[id])
        test_fail("queue %u: the device returned used id %u, which is not in flight", q->index,
                  id);
    u16 n = q->chain_len[id], last = (u16)id;
    for (u16 k = 1; k < n; k++)
        last = q->desc[last].next;
    q->desc[last].next = q->free_head;
    q->free_head = (u16)id;
    q->num_free = (u16)(q->num_free + n);
    q->chain_len[id] = 0;
    if (q->event_idx_on)   /* used_event: the next one, or (quiet) never */
        *(volatile u16 *)&q->avail->ring[q->size] = (u16)(q->last_used - (q->quiet ? 1 : 0));
    if (len)
        *len = l;
    return (int)id;
}

void vq_quiet(struct vdev *d, struct vq *q, int on)
{
    volatile struct vring_avail *av = q->avail;
    q->quiet = on;
    if (q->event_idx_on)
        *(volatile u16 *)&av->ring[q->size] = (u16)(q->last_used - (on ? 1 : 0));
    else
        av->flags = (on || d->irq == VIRQ_POLL) ? VRING_AVAIL_F_NO_INTERRUPT : 0;
    vmb();   /* before the driver looks at the used ring again */
}

struct used_wait {
    struct vdev *d;
    struct vq *q;
};

/* A used entry is there, and (with interrupts) an interrupt announced it:
 * either one arrived since the last wait, or the entry was already visible
 * when the last interrupt had been counted. */
static int used_ready(void *arg)
{
    struct used_wait *w = arg;
    struct vq *q = w->q;
    u16 idx = ((volatile struct vring_used *)q->used)->idx;
    if (idx == q->last_used)
        return 0;
    if (w->d->irq == VIRQ_POLL || (s16)(q->covered - q->last_used) > 0)
        return 1;
    u32 irqs = q->irqs;
    if (irqs == q->irq_mark)
        return 0;
    q->irq_mark = irqs;
    q->covered = ((volatile struct vring_used *)q->used)->idx;
    return 1;
}

int vq_wait_used(struct vdev *d, struct vq *q, u32 *len, u32 ms, const char **why)
{
    struct used_wait w = { d, q };
    if (!vwait(used_ready, &w, ms)) {
        u16 idx = ((volatile struct vring_used *)q->used)->idx;
        *why = idx == q->last_used ? "timed out waiting for a used buffer"
                                   : "a used buffer arrived but no interrupt announced it";
        printk("virtio: %s queue %u: used idx %u, last seen %u, avail idx %u, irqs %u, "
               "status 0x%x\n", d->where, q->index, idx, q->last_used, q->avail_idx,
               d->queue_irqs, vdev_status(d));
        return -1;
    }
    return vq_get_used(q, len);
}

int vq_submit_wait(struct vdev *d, struct vq *q, const struct vbuf *b, int n, u32 *len,
                   const char **why)
{
    int head = vq_add(q, b, n);
    if (head < 0) {
        *why = "no free descriptors";
        return -1;
    }
    vq_kick(d, q);
    int got = vq_wait_used(d, q, len, 5000, why);
    if (got < 0)
        return -1;
    if (got != head) {
        *why = "the used ring returned another chain";
        return -1;
    }
    return 0;
}
