/* landlord test guest: virtio-rng, virtio-console and hostile-driver tests.
 *
 * virtio-rng      64 random bytes, twice; not all zero, not repeated.
 * virtio-console  a line out through port 0's transmitq, a line in through
 *                 its receiveq (printed on the UART as vcon_rx=...), echoed
 *                 back out as hvc_echo=....
 * virtio-hostile  malformed rings, one at a time: the device must set
 *                 NEEDS_RESET, change the config generation and raise a
 *                 config interrupt, then work again after a reset. */
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
};

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
                B_COUNT };
static const char *const breakage_names[B_COUNT] = {
    "addr-outside-ram", "len-past-ram-end", "descriptor-loop", "avail-idx-jump",
    "head-out-of-range", "next-out-of-range", "indirect-len-not-multiple-of-16",
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
    hostile_init(h);
    printk("hostile: %s %s irq=%s features=0x%lx queue=%u ram_end=0x%lx\n", dev, h->d.where,
           virq_mode_name(h->d.irq), h->d.features, h->d.vqs[0].size, h->ram_end);
    hostile_good(h, "before any breakage");
    for (int b = 0; b < B_COUNT; b++)
        hostile_one(h, (enum breakage)b);
    printk("hostile_breakages=%u\n", (unsigned)B_COUNT);
    printk("hostile_recovered=%u\n", (unsigned)B_COUNT);
    vdev_irq_off(&h->d);
    test_pass();
}
