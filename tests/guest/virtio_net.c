/* landlord test guest: virtio-net (virtio 1.2, 5.1).
 *
 * virtio-net-echo  sends one broadcast frame (ethertype 0x88B5, payload
 *                  "landlord-net-hello" + 100 pattern bytes), then waits
 *                  for a frame of that ethertype whose payload starts with
 *                  "landlord-ping" (other frames, e.g. the host's IPv6
 *                  neighbour discovery, are counted and skipped), and
 *                  sends it back to its sender with "ping" changed to
 *                  "pong".  With mergeable buffers (the default, mrg=1) the
 *                  receive buffers are rxbuf= bytes (default 256), so a
 *                  large frame arrives in several of them: all must be on
 *                  the used ring together, as num_buffers says.
 *
 * Options: mrg=0|1, rxbuf=N (>= 12 with mrg, else >= 1526), rx_ms=N
 * (default 20000), plus the virtio ones (transport=, irq=, event_idx=). */
#include "virtio.h"

#ifndef VIRTIO_ID_NET
#define VIRTIO_ID_NET 1
#endif

#define VNET_F_MAC 5
#define VNET_F_MRG_RXBUF 15
#define VNET_F_STATUS 16
#define VNET_HDR 12
#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QSIZE 16
#define VNET_FRAME_MAX 1514
#define VNET_ETHERTYPE 0x88B5   /* IEEE 802 local experimental */
#define VNET_IGNORE_MAX 256     /* unrelated frames tolerated before giving up */

static const char hello[] = "landlord-net-hello";
static const char ping[] = "landlord-ping";

void test_virtio_net_echo(void);

struct vnet {
    struct vdev d;
    u8 mac[6];
    int mrg;
    u32 rxbuf_len;
    u8 *rxbuf[VQ_SIZE_MAX];     /* by head: the buffer posted there */
    u8 frame[VNET_FRAME_MAX];   /* the frame being reassembled */
};

static void post_rx(struct vnet *n, u8 *p)
{
    struct vbuf v = { (u64)(uintptr_t)p, n->rxbuf_len, 1 };
    int head = vq_add(&n->d.vqs[VNET_RXQ], &v, 1);
    if (head < 0)
        test_fail("receiveq: no free descriptor");
    n->rxbuf[head] = p;
}

/* One frame out: a zeroed header, then the frame, in two descriptors. */
static void send_frame(struct vnet *n, const u8 *frame, u32 len)
{
    u8 *hdr = dma_alloc(VNET_HDR, 16), *buf = dma_alloc(len, 16);
    memcpy(buf, frame, len);
    struct vbuf b[2] = { { (u64)(uintptr_t)hdr, VNET_HDR, 0 }, { (u64)(uintptr_t)buf, len, 0 } };
    u32 used = 1;
    const char *why = "?";
    if (vq_submit_wait(&n->d, &n->d.vqs[VNET_TXQ], b, 2, &used, &why) < 0)
        test_fail("%s transmitq: %s", n->d.where, why);
    if (used != 0)
        test_fail("%s transmitq: used len %u, want 0", n->d.where, used);
}

/* Take the used buffer at head (len bytes), append what it holds after
 * skip bytes to the frame, repost it. */
static void take_rx(struct vnet *n, int head, u32 len, u32 skip, u32 *flen)
{
    u8 *p = head >= 0 && head < VQ_SIZE_MAX ? n->rxbuf[head] : 0;
    if (!p || len > n->rxbuf_len || len < skip)
        test_fail("receiveq: used head %d len %u (buffer %u bytes)", head, len, n->rxbuf_len);
    if (*flen + (len - skip) > sizeof(n->frame))
        test_fail("receiveq: frame longer than %u bytes", (unsigned)sizeof(n->frame));
    memcpy(n->frame + *flen, p + skip, len - skip);
    *flen += len - skip;
    n->rxbuf[head] = 0;
    post_rx(n, p);
}

/* Wait for one frame; returns its length and the buffers it took. */
static u32 recv_frame(struct vnet *n, u32 ms, u32 *nbufs)
{
    struct vq *q = &n->d.vqs[VNET_RXQ];
    const char *why = "?";
    u32 len = 0, flen = 0;
    int head = vq_wait_used(&n->d, q, &len, ms, &why);
    if (head < 0)
        test_fail("%s receiveq: %s", n->d.where, why);
    u8 *first = n->rxbuf[head];
    u16 num = first && len >= VNET_HDR ? *(volatile u16 *)(first + 10) : 0;
    if (num == 0 || num > VNET_QSIZE || (!n->mrg && num != 1))
        test_fail("receiveq: num_buffers %u (len %u, mrg %d)", num, len, n->mrg);
    for (int k = 0; k < 10; k++)
        if (first[k])
            test_fail("receiveq: header byte %d is 0x%x, want 0 (no offloads)", k, first[k]);
    take_rx(n, head, len, VNET_HDR, &flen);
    /* The rest must be on the used ring already: published together. */
    for (u16 k = 1; k < num; k++) {
        head = vq_get_used(q, &len);
        if (head < 0)
            test_fail("receiveq: num_buffers %u but only %u used buffers", num, k);
        take_rx(n, head, len, 0, &flen);
    }
    vq_kick(&n->d, q);
    *nbufs = num;
    return flen;
}

static void print_mac(const char *key, const u8 *m)
{
    printk("%s=%02x:%02x:%02x:%02x:%02x:%02x\n", key, m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void vnet_init(struct vnet *n)
{
    const char *why = "?";
    if (!vdev_find(VIRTIO_ID_NET, 0, &n->d))
        test_fail("no virtio-net device (PCI 1af4:1041 or virtio_mmio.device=)");
    n->mrg = (int)cmdline_u64("mrg", 1);
    n->rxbuf_len = (u32)cmdline_u64("rxbuf", n->mrg ? 256 : VNET_HDR + VNET_FRAME_MAX);
    if (n->rxbuf_len < VNET_HDR || n->rxbuf_len > 65536 ||
        (!n->mrg && n->rxbuf_len < VNET_HDR + VNET_FRAME_MAX))
        test_fail("bad rxbuf=%u", n->rxbuf_len);
    u64 want = (1ull << VNET_F_MAC) | (1ull << VNET_F_STATUS);
    if (n->mrg)
        want |= 1ull << VNET_F_MRG_RXBUF;
    if (cmdline_u64("event_idx", 1))
        want |= 1ull << VF_EVENT_IDX;
    if (vdev_init(&n->d, want, 2, VNET_QSIZE, &why) < 0)
        test_fail("%s: %s", n->d.where, why);
    if (!vdev_has(&n->d, VNET_F_MAC))
        test_fail("%s: no VIRTIO_NET_F_MAC", n->d.where);
    if (n->mrg && !vdev_has(&n->d, VNET_F_MRG_RXBUF))
        test_fail("%s: no VIRTIO_NET_F_MRG_RXBUF", n->d.where);
    if (n->d.offered & 0x3)
        test_fail("%s: offers checksum offloads (features 0x%lx)", n->d.where, n->d.offered);
    for (int i = 0; i < 6; i++)
        n->mac[i] = vdev_cfg8(&n->d, (u32)i);
    u16 status = vdev_has(&n->d, VNET_F_STATUS) ? vdev_cfg16(&n->d, 6) : 1;
    printk("net: %s irq=%s features=0x%lx mrg=%d rxbuf=%u link=%u\n", n->d.where,
           virq_mode_name(n->d.irq), n->d.features, n->mrg, n->rxbuf_len, status & 1);
    print_mac("net_mac", n->mac);
    if (!(status & 1))
        test_fail("%s: link is down", n->d.where);
    for (int i = 0; i < VNET_QSIZE; i++)
        post_rx(n, dma_alloc(n->rxbuf_len, 16));
    vq_kick(&n->d, &n->d.vqs[VNET_RXQ]);
}

static u32 build_hello(const struct vnet *n, u8 *f)
{
    u32 len = 14;
    memset(f, 0xff, 6);
    memcpy(f + 6, n->mac, 6);
    f[12] = VNET_ETHERTYPE >> 8;
    f[13] = VNET_ETHERTYPE & 0xff;
    memcpy(f + len, hello, sizeof(hello) - 1);
    len += sizeof(hello) - 1;
    for (u32 i = 0; i < 100; i++)
        f[len++] = (u8)(i * 7 + 1);
    return len;
}

static int is_ping(const u8 *f, u32 len)
{
    return len >= 14 + sizeof(ping) - 1 && f[12] == (VNET_ETHERTYPE >> 8) &&
           f[13] == (VNET_ETHERTYPE & 0xff) && !memcmp(f + 14, ping, sizeof(ping) - 1);
}

void test_virtio_net_echo(void)
{
    struct vnet *n = dma_alloc(sizeof(*n), 64);
    u8 *out = dma_alloc(VNET_FRAME_MAX, 16);
    vnet_init(n);

    send_frame(n, out, build_hello(n, out));
    printk("net_tx_hello=ok\n");

    u32 ms = (u32)cmdline_u64("rx_ms", 20000), len = 0, bufs = 0, ignored = 0;
    for (;;) {
        len = recv_frame(n, ms, &bufs);
        if (is_ping(n->frame, len))
            break;
        if (++ignored > VNET_IGNORE_MAX)
            test_fail("%u frames, none a landlord-ping", ignored);
    }
    printk("net_rx: len=%u bufs=%u ignored=%u\n", len, bufs, ignored);
    print_mac("net_rx_src", n->frame + 6);

    /* back to the sender, from us, with the marker changed */
    memcpy(out, n->frame + 6, 6);
    memcpy(out + 6, n->mac, 6);
    memcpy(out + 12, n->frame + 12, len - 12);
    memcpy(out + 14 + 9, "pong", 4);
    send_frame(n, out, len);
    printk("net_echo=sent len=%u\n", len);
    if (n->d.irq != VIRQ_POLL && !n->d.queue_irqs)
        test_fail("no queue interrupt");
    vdev_irq_off(&n->d);
    test_pass();
}
