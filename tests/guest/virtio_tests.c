/* landlord test guest: virtio-rng, virtio-console and hostile-driver tests.
 *
 * virtio-rng      64 random bytes, twice; not all zero, not repeated.
 * virtio-console  a line out through port 0's transmitq, a line in through
 *                 its receiveq (printed on the UART as vcon_rx=...), echoed
 *                 back out as hvc_echo=....
 * virtio-hostile  malformed rings, one at a time (breakage_names): the
 *                 device must set NEEDS_RESET, change the config generation
 *                 and raise a config interrupt, then work again after a
 *                 reset. */
#include "virtio.h"

static void hex8(char *out, const u8 *b)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[16] = '\0';
}

/* ------------------------------------------------------------------- rng */

/* Fills buf with n bytes from the device, as many requests as it takes. */
static void rng_read(struct vdev *d, u8 *buf, u32 n)
{
    u32 got = 0;
    for (int tries = 0; got < n && tries < 32; tries++) {
        struct vbuf v = { (u64)(uintptr_t)(buf + got), n - got, 1 };
        u32 len = 0;
        const char *why = "?";
        if (vq_submit_wait(d, &d->vqs[0], &v, 1, &len, &why) < 0)
            test_fail("%s: %s", d->where, why);
        if (len > n - got)
            test_fail("%s: used len %u for a %u-byte buffer", d->where, len, n - got);
        got += len;
    }
    if (got < n)
        test_fail("%s: only %u of %u bytes after 32 requests", d->where, got, n);
}

struct q_wait {
    struct vq *q;
    u32 before;
};

static int used_visible(void *arg)
{
    struct q_wait *w = arg;
    return ((volatile struct vring_used *)w->q->used)->idx != w->q->last_used;
}

static int queue_irq_seen(void *arg)
{
    struct q_wait *w = arg;
    return w->q->irqs != w->before;
}

static int msix_pending(void *arg)
{
    return vpci_msix_pending(arg, 1) == 1;
}

/* MSI-X per-vector masking (PCI 6.8.2.9): a masked vector's message waits
 * in the Pending Bit Array and goes out when the vector is unmasked. */
static void rng_msix_mask_test(struct vdev *d)
{
    struct vq *q = &d->vqs[0];
    u8 *buf = dma_alloc(16, 16);
    struct vbuf v = { (u64)(uintptr_t)buf, 16, 1 };
    struct q_wait w = { q, q->irqs };
    vpci_msix_mask(d, 1, 1);
    if (vq_add(q, &v, 1) < 0)
        test_fail("no free descriptor");
    vq_kick(d, q);
    if (!vwait(used_visible, &w, 5000))
        test_fail("%s: no used buffer while the queue vector is masked", d->where);
    int pending = vwait(msix_pending, d, 1000);
    int leaked = q->irqs != w.before;
    printk("msix_masked: pending=%d delivered_while_masked=%d\n", pending, leaked);
    if (leaked)
        test_fail("%s: a masked MSI-X vector was delivered", d->where);
    if (!pending)
        test_fail("%s: masked MSI-X vector: PBA bit 1 not set (PBA 0x%x)", d->where,
                  d->msix_pba ? mmio_read32(d->msix_pba) : 0);
    vpci_msix_mask(d, 1, 0);
    int delivered = vwait(queue_irq_seen, &w, 1000);
    int still = vpci_msix_pending(d, 1);
    printk("msix_unmasked: delivered=%d pending=%d\n", delivered, still);
    if (!delivered)
        test_fail("%s: the pending MSI-X message was not sent on unmask", d->where);
    if (still)
        test_fail("%s: PBA bit still set after the message went out", d->where);
    if (vq_get_used(q, 0) < 0)
        test_fail("%s: used entry vanished", d->where);
    q->irq_mark = q->irqs;
    q->covered = q->last_used;
}

void test_virtio_rng(void)
{
    struct vdev *d = dma_alloc(sizeof(*d), 64);
    const char *why = "?";
    if (!vdev_find(VIRTIO_ID_RNG, 0, d))
        test_fail("no virtio-rng device (PCI 1af4:1044 or virtio_mmio.device=)");
    /* no EVENT_IDX here, unless asked: the flags-based suppression path */
    u64 want = cmdline_u64("event_idx", 0) ? 1ull << VF_EVENT_IDX : 0;
    if (vdev_init(d, want, 1, 16, &why) < 0)
        test_fail("%s: %s", d->where, why);
    printk("rng: %s irq=%s features=0x%lx queue=%u\n", d->where, virq_mode_name(d->irq),
           d->features, d->vqs[0].size);
    u8 *a = dma_alloc(64, 64), *b = dma_alloc(64, 64);
    rng_read(d, a, 64);
    rng_read(d, b, 64);
    int nonzero = 0;
    for (int i = 0; i < 64; i++)
        nonzero |= a[i];
    char hex[17];
    hex8(hex, a);
    printk("rng_bytes=64\n");
    printk("rng_sample=%s\n", hex);
    printk("rng_irqs=%u\n", d->queue_irqs);
    if (!nonzero)
        test_fail("64 bytes, all zero");
    if (!memcmp(a, b, 64))
        test_fail("two reads returned the same 64 bytes");
    if (d->irq != VIRQ_POLL && !d->queue_irqs)
        test_fail("no queue interrupt");
    if (d->irq == VIRQ_MSIX)
        rng_msix_mask_test(d);
    vdev_irq_off(d);
    test_pass();
}

/* --------------------------------------------------------------- console */

#define VCON_RX 0
#define VCON_TX 1
#define VCON_RXBUFS 4
#define VCON_RXLEN 64

static void vcon_write(struct vdev *d, const char *s)
{
    u32 n = (u32)strlen(s);
    char *buf = dma_alloc(n, 8);   /* the device reads it after we return: keep it */
    memcpy(buf, s, n);
    struct vbuf v = { (u64)(uintptr_t)buf, n, 0 };
    u32 len = 0;
    const char *why = "?";
    if (vq_submit_wait(d, &d->vqs[VCON_TX], &v, 1, &len, &why) < 0)
        test_fail("%s transmitq: %s", d->where, why);
}

void test_virtio_console(void)
{
    struct vdev *d = dma_alloc(sizeof(*d), 64);
    const char *why = "?";
    if (!vdev_find(VIRTIO_ID_CONSOLE, 0, d))
        test_fail("no virtio-console device (PCI 1af4:1043 or virtio_mmio.device=)");
    u64 want = cmdline_u64("event_idx", 0) ? 1ull << VF_EVENT_IDX : 0;
    if (vdev_init(d, want, 2, 16, &why) < 0)
        test_fail("%s: %s", d->where, why);
    printk("vcon: %s irq=%s features=0x%lx\n", d->where, virq_mode_name(d->irq), d->features);

    /* receive buffers first, so input that is already waiting has a home */
    struct vq *rx = &d->vqs[VCON_RX];
    u8 *rxbuf[VQ_SIZE_MAX] = { 0 };
    for (int i = 0; i < VCON_RXBUFS; i++) {
        u8 *p = dma_alloc(VCON_RXLEN, 64);
        struct vbuf v = { (u64)(uintptr_t)p, VCON_RXLEN, 1 };
        int head = vq_add(rx, &v, 1);
        if (head < 0)
            test_fail("receiveq: no room");
        rxbuf[head] = p;
    }
    vq_kick(d, rx);

    vcon_write(d, "hvc: hello from the landlord test guest\n");
    printk("vcon_tx=ok\n");

    char line[128];
    unsigned len = 0, chunks = 0;
    int done = 0;
    u32 ms = (u32)cmdline_u64("rx_ms", 20000);
    while (!done) {
        u32 n = 0;
        int head = vq_wait_used(d, rx, &n, ms, &why);
        if (head < 0)
            test_fail("receiveq: %s (%u chars so far)", why, len);
        if (!rxbuf[head] || n > VCON_RXLEN)
            test_fail("receiveq: used head %d len %u", head, n);
        chunks++;
        for (u32 i = 0; i < n && !done; i++) {
            char c = (char)rxbuf[head][i];
            if (c == '\n' || c == '\r')
                done = len > 0;
            else if (len < sizeof(line) - 1)
                line[len++] = c;
        }
        struct vbuf v = { (u64)(uintptr_t)rxbuf[head], VCON_RXLEN, 1 };
        u8 *p = rxbuf[head];
        rxbuf[head] = 0;
        int h2 = vq_add(rx, &v, 1);
        if (h2 < 0)
            test_fail("receiveq: cannot repost a buffer");
        rxbuf[h2] = p;
        vq_kick(d, rx);
    }
    line[len] = '\0';
    printk("vcon_rx=%s\n", line);
    printk("vcon_rx_chunks=%u\n", chunks);
    char echo[160];
    snprintk(echo, sizeof(echo), "hvc_echo=%s\n", line);
    vcon_write(d, echo);
    if (d->irq != VIRQ_POLL && !d->queue_irqs)
        test_fail("no queue interrupt");
    vdev_irq_off(d);
    test_pass();
}

/* --------------------------------------------------------------- hostile */

struct hostile {
    struct vdev d;
    int blk;               /* 1: virtio-blk, 0: virtio-rng */
    u8 *hdr, *data, *status;
    u64 ram_end;           /* end of the highest RAM entry below 4 GiB */
    struct vring_desc *itab;   /* room for a long indirect table */
};

#define LONG_TABLE 1100   /* > VQ_MAX_CHAIN (1024) and > any queue size */

/* A good chain at descriptors 0.. (blk: header, 512-byte data, status;
 * rng: one 16-byte buffer); returns how many descriptors it used. */
static int good_chain(struct hostile *h, struct vring_desc *t)
{
    if (h->blk) {
        u32 *hd = (u32 *)h->hdr;
        hd[0] = 0;   /* VIRTIO_BLK_T_IN, sector 0 */
        hd[1] = 0;
        *(u64 *)(h->hdr + 8) = 0;
        *h->status = 0xFF;
        t[0] = (struct vring_desc){ (u64)(uintptr_t)h->hdr, 16, VRING_DESC_F_NEXT, 1 };
        t[1] = (struct vring_desc){ (u64)(uintptr_t)h->data, 512,
                                    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
        t[2] = (struct vring_desc){ (u64)(uintptr_t)h->status, 1, VRING_DESC_F_WRITE, 0 };
        return 3;
    }
    t[0] = (struct vring_desc){ (u64)(uintptr_t)h->data, 16, VRING_DESC_F_WRITE, 0 };
    return 1;
}

static void post_head(struct vq *q, u16 head)
{
    q->avail->ring[q->avail_idx % q->size] = head;
    q->avail_idx++;
    barrier();
    ((volatile struct vring_avail *)q->avail)->idx = q->avail_idx;
    vmb();
}

enum breakage { B_OOB, B_PAST_RAM, B_LOOP, B_IDX_JUMP, B_BAD_HEAD, B_BAD_NEXT, B_BAD_INDIRECT,
                B_WRITE_BEFORE_READ, B_NESTED_INDIRECT, B_INDIRECT_TOO_LONG,
                B_INDIRECT_OUTSIDE_RAM, B_COUNT };
static const char *const breakage_names[B_COUNT] = {
    "addr-outside-ram", "len-past-ram-end", "descriptor-loop", "avail-idx-jump",
    "head-out-of-range", "next-out-of-range", "indirect-len-not-multiple-of-16",
    "readable-after-writable", "nested-indirect", "indirect-chain-too-long",
    "indirect-table-outside-ram",
};

static void post_breakage(struct hostile *h, enum breakage b)
{
    struct vq *q = &h->d.vqs[0];
    struct vring_desc *t = q->desc;
    int n = good_chain(h, t);
    int data = h->blk ? 1 : 0;
    switch (b) {
    case B_OOB:
        t[data].addr = 1ull << 44;
        break;
    case B_PAST_RAM:
        t[data].addr = h->ram_end - 256;   /* 512 bytes: half of them beyond RAM */
        t[data].len = 512;
        break;
    case B_LOOP:
        t[n - 1].flags |= VRING_DESC_F_NEXT;
        t[n - 1].next = 0;
        break;
    case B_IDX_JUMP:
        q->avail_idx = (u16)(q->avail_idx + q->size + 1);
        ((volatile struct vring_avail *)q->avail)->idx = q->avail_idx;
        vmb();
        return;
    case B_BAD_HEAD:
        post_head(q, (u16)(q->size + 5));
        return;
    case B_BAD_NEXT:
        t[0].flags |= VRING_DESC_F_NEXT;
        t[0].next = (u16)(q->size + 7);
        break;
    case B_BAD_INDIRECT:
        t[4] = (struct vring_desc){ (u64)(uintptr_t)t, 24, VRING_DESC_F_INDIRECT, 0 };
        post_head(q, 4);
        return;
    case B_WRITE_BEFORE_READ:
        /* the last (writable) buffer goes on to a readable one */
        t[n - 1].flags |= VRING_DESC_F_NEXT;
        t[n - 1].next = (u16)n;
        t[n] = (struct vring_desc){ (u64)(uintptr_t)h->data, 16, 0, 0 };
        break;
    case B_NESTED_INDIRECT: {
        struct vring_desc *it = h->itab;
        good_chain(h, it + 2);
        it[0] = (struct vring_desc){ (u64)(uintptr_t)(it + 2), 16, VRING_DESC_F_INDIRECT, 0 };
        t[4] = (struct vring_desc){ (u64)(uintptr_t)it, 16, VRING_DESC_F_INDIRECT, 0 };
        post_head(q, 4);
        return;
    }
    case B_INDIRECT_TOO_LONG: {
        struct vring_desc *it = h->itab;
        for (u16 k = 0; k < LONG_TABLE; k++)
            it[k] = (struct vring_desc){ (u64)(uintptr_t)h->data, 1,
                                         (u16)(VRING_DESC_F_WRITE |
                                               (k + 1 < LONG_TABLE ? VRING_DESC_F_NEXT : 0)),
                                         (u16)(k + 1) };
        t[4] = (struct vring_desc){ (u64)(uintptr_t)it, 16 * LONG_TABLE, VRING_DESC_F_INDIRECT,
                                    0 };
        post_head(q, 4);
        return;
    }
    case B_INDIRECT_OUTSIDE_RAM:
        t[4] = (struct vring_desc){ 1ull << 44, 48, VRING_DESC_F_INDIRECT, 0 };
        post_head(q, 4);
        return;
    default:
        break;
    }
    post_head(q, 0);
}

static int needs_reset(void *arg)
{
    return (vdev_status(arg) & VS_NEEDS_RESET) != 0;
}

struct cfg_wait {
    struct vdev *d;
    u32 before;
};

static int config_irq_seen(void *arg)
{
    struct cfg_wait *w = arg;
    return w->d->config_irqs != w->before;
}

static void hostile_init(struct hostile *h)
{
    const char *why = "?";
    u64 want = (1ull << VF_EVENT_IDX) | (1ull << VF_INDIRECT_DESC);
    if (vdev_init(&h->d, want, 1, 16, &why) < 0)
        test_fail("%s: %s", h->d.where, why);
}

/* A good request must complete normally. */
static void hostile_good(struct hostile *h, const char *when)
{
    struct vq *q = &h->d.vqs[0];
    int n = good_chain(h, q->desc);
    q->chain_len[0] = (u16)n;   /* descriptors 0..n-1, in flight */
    q->num_free = (u16)(q->num_free - n);
    q->free_head = (u16)n;
    post_head(q, 0);
    vq_notify(&h->d, q);
    const char *why = "?";
    u32 len = 0;
    int head = vq_wait_used(&h->d, q, &len, 5000, &why);
    if (head != 0)
        test_fail("%s: good request %s: %s", h->d.where, when, head < 0 ? why : "wrong head");
    if (h->blk && *h->status != 0)
        test_fail("%s: good read %s: status %u", h->d.where, when, *h->status);
    if (!h->blk && (len == 0 || len > 16))
        test_fail("%s: good rng request %s: used len %u", h->d.where, when, len);
}

static void hostile_one(struct hostile *h, enum breakage b)
{
    struct vdev *d = &h->d;
    u32 gen0 = vdev_generation(d);
    struct cfg_wait wait = { d, d->config_irqs };
    post_breakage(h, b);
    vq_notify(d, &d->vqs[0]);
    if (!vwait(needs_reset, d, 3000))
        test_fail("%s: %s: status 0x%x, NEEDS_RESET not set", d->where, breakage_names[b],
                  vdev_status(d));
    u8 st = vdev_status(d);
    u32 gen1 = vdev_generation(d);
    int cfg_irq;
    if (d->irq == VIRQ_POLL)
        cfg_irq = (vdev_read_isr(d) & 2) != 0;
    else
        cfg_irq = vwait(config_irq_seen, &wait, 2000);
    printk("hostile_case=%s status=0x%x generation=%u->%u config_irq=%d\n", breakage_names[b],
           st, gen0, gen1, cfg_irq);
    if (gen1 == gen0)
        test_fail("%s: %s: config generation did not change", d->where, breakage_names[b]);
    if (!cfg_irq)
        test_fail("%s: %s: no config-change interrupt (%s)", d->where, breakage_names[b],
                  d->irq == VIRQ_POLL ? "ISR bit 1 clear" : "no config vector interrupt");
    hostile_init(h);
    hostile_good(h, "after the reset");
}

/* Rings that are not in RAM, found when the queue is enabled (or at
 * DRIVER_OK) rather than by the ring walker. */
static void hostile_bad_ring(struct hostile *h)
{
    struct vdev *d = &h->d;
    const char *why = "?";
    u32 gen0 = vdev_generation(d);
    d->bad_desc = 1ull << 44;
    int r = vdev_init(d, 1ull << VF_EVENT_IDX, 1, 16, &why);
    d->bad_desc = 0;
    u8 st = vdev_status(d);
    u32 gen1 = vdev_generation(d);
    printk("hostile_case=ring-outside-ram status=0x%x generation=%u->%u init=%s\n", st, gen0,
           gen1, r < 0 ? why : "ok");
    if (!(st & VS_NEEDS_RESET))
        test_fail("%s: descriptor table at 2^44: status 0x%x, NEEDS_RESET not set", d->where, st);
    if (gen1 == gen0)
        test_fail("%s: ring-outside-ram: config generation did not change", d->where);
    hostile_init(h);
    hostile_good(h, "after the bad ring");
}

/* A driver that does not accept VIRTIO_F_VERSION_1: a modern-only device
 * must refuse FEATURES_OK (virtio 1.2, 3.1.1 and 6.1). */
static void hostile_no_version_1(struct hostile *h)
{
    struct vdev *d = &h->d;
    if (vdev_reset(d) < 0)
        test_fail("%s: status does not read 0 after a reset", d->where);
    vdev_set_status(d, VS_ACKNOWLEDGE);
    vdev_set_status(d, VS_ACKNOWLEDGE | VS_DRIVER);
    if (d->kind == VT_PCI)
        vpci_set_features(d, 0);
    else
        vmmio_set_features(d, 0);
    vdev_set_status(d, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK);
    u8 st = vdev_status(d);
    printk("hostile_no_version_1_status=0x%x\n", st);
    if (st & VS_FEATURES_OK)
        test_fail("%s: FEATURES_OK accepted without VIRTIO_F_VERSION_1", d->where);
    hostile_init(h);
    hostile_good(h, "after refused features");
}

void test_virtio_hostile(void)
{
    struct hostile *h = dma_alloc(sizeof(*h), 64);
    char dev[8] = "blk";
    cmdline_get("dev", dev, sizeof(dev));
    h->blk = !strncmp(dev, "blk", 4);
    if (!h->blk && strncmp(dev, "rng", 4))
        test_fail("bad dev=%s (blk or rng)", dev);
    if (!vdev_find(h->blk ? VIRTIO_ID_BLOCK : VIRTIO_ID_RNG, 0, &h->d))
        test_fail("no virtio-%s device", dev);
    for (unsigned i = 0; i < e820_count(); i++) {
        const struct e820_entry *e = e820_get(i);
        u64 end = e->addr + e->size;
        if (e->type == 1 && e->addr < 0x100000000ull && end > h->ram_end)
            h->ram_end = end > 0x100000000ull ? 0x100000000ull : end;
    }
    h->hdr = dma_alloc(16, 16);
    h->data = dma_alloc(512, 512);
    h->status = dma_alloc(8, 8);
    h->itab = dma_alloc(16 * LONG_TABLE, 16);
    hostile_init(h);
    printk("hostile: %s %s irq=%s features=0x%lx queue=%u ram_end=0x%lx\n", dev, h->d.where,
           virq_mode_name(h->d.irq), h->d.features, h->d.vqs[0].size, h->ram_end);
    hostile_good(h, "before any breakage");
    hostile_no_version_1(h);
    for (int b = 0; b < B_COUNT; b++)
        hostile_one(h, (enum breakage)b);
    hostile_bad_ring(h);
    printk("hostile_breakages=%u\n", (unsigned)B_COUNT + 1);
    printk("hostile_recovered=%u\n", (unsigned)B_COUNT + 1);
    vdev_irq_off(&h->d);
    test_pass();
}
