/* landlord test guest: virtio-vsock (virtio 1.2, 5.10).
 *
 * virtio-vsock  reads guest_cid from config space, posts receive and event
 *               buffers, connects to the host's port 1234 (OP_REQUEST from
 *               port 1025) and, once answered, sends "hello from the guest";
 *               listens on port 52: answers an OP_REQUEST there with
 *               OP_RESPONSE and echoes what arrives with "ping" changed to
 *               "pong".  PASS once the host has replied on 1234 and one
 *               echo went back on 52; then it shuts the 1234 connection
 *               down.  Other requests get an RST; CREDIT_REQUEST gets a
 *               CREDIT_UPDATE.  Every wait is a bounded interrupt wait.
 *
 * Options: rx_ms=N (per wait, default 30000), plus the virtio ones
 * (transport=, irq=, event_idx=). */
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19
#define VS_RXQ 0
#define VS_TXQ 1
#define VS_EVQ 2
#define VS_QSIZE 16
#define VS_RXBUFS 8
#define VS_HDR 44
#define VS_DATA 512                 /* payload room per receive buffer */
#define VS_BUF_ALLOC 4096           /* what we tell the host we can hold */
#define VS_HOST_CID 2
#define VS_LISTEN_PORT 52
#define VS_HOST_PORT 1234
#define VS_LOCAL_PORT 1025

enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE,
       OP_CREDIT_REQUEST };

struct vs_hdr {
    u64 src_cid, dst_cid;
    u32 src_port, dst_port, len;
    u16 type, op;
    u32 flags, buf_alloc, fwd_cnt;
} PACKED;

struct vs_conn {
    int open;
    u32 local, peer;      /* our port, the host's */
    u32 fwd_cnt;          /* bytes taken from the receive ring */
};

struct vsock {
    struct vdev d;
    u64 cid;
    u8 *rxbuf[VQ_SIZE_MAX];    /* by head */
    struct vs_conn out;        /* ours, to port 1234 */
    struct vs_conn in;         /* the host's, to port 52 */
    int connected, replied, echoed;
};

void test_virtio_vsock(void);

static void post_rx(struct vsock *v, u8 *p)
{
    struct vbuf b = { (u64)(uintptr_t)p, VS_HDR + VS_DATA, 1 };
    int head = vq_add(&v->d.vqs[VS_RXQ], &b, 1);
    if (head < 0)
        test_fail("vsock rx: no free descriptor");
    v->rxbuf[head] = p;
}

/* One packet to the host: header and payload in two descriptors. */
static void vs_send(struct vsock *v, const struct vs_conn *c, u16 op, u32 flags,
                    const void *data, u32 len)
{
    struct vs_hdr *h = dma_alloc(sizeof(*h), 16);
    u8 *buf = len ? dma_alloc(len, 16) : 0;
    h->src_cid = v->cid;
    h->dst_cid = VS_HOST_CID;
    h->src_port = c->local;
    h->dst_port = c->peer;
    h->len = len;
    h->type = 1;   /* stream */
    h->op = op;
    h->flags = flags;
    h->buf_alloc = VS_BUF_ALLOC;
    h->fwd_cnt = c->fwd_cnt;
    struct vbuf b[2] = { { (u64)(uintptr_t)h, VS_HDR, 0 }, { (u64)(uintptr_t)buf, len, 0 } };
    if (len)
        memcpy(buf, data, len);
    u32 used = 1;
    const char *why = "?";
    if (vq_submit_wait(&v->d, &v->d.vqs[VS_TXQ], b, len ? 2 : 1, &used, &why) < 0)
        test_fail("%s vsock tx: %s", v->d.where, why);
}

static void on_request(struct vsock *v, const struct vs_hdr *h)
{
    struct vs_conn c = { 1, h->dst_port, h->src_port, 0 };
    if (h->dst_port != VS_LISTEN_PORT || v->in.open) {
        printk("vsock: refused a request for port %u\n", h->dst_port);
        vs_send(v, &c, OP_RST, 0, 0, 0);
        return;
    }
    v->in = c;
    printk("vsock: request from host port %u\n", h->src_port);
    vs_send(v, &v->in, OP_RESPONSE, 0, 0, 0);
}

/* Bytes on the port-52 connection: echo them, ping -> pong. */
static void on_echo_data(struct vsock *v, u8 *p, u32 len)
{
    for (u32 i = 0; i + 4 <= len; i++)
        if (!memcmp(p + i, "ping", 4))
            memcpy(p + i, "pong", 4);
    v->in.fwd_cnt += len;
    vs_send(v, &v->in, OP_RW, 0, p, len);
    printk("vsock_echo=%u bytes\n", len);
    v->echoed = 1;
}

static void on_reply(struct vsock *v, const u8 *p, u32 len)
{
    char s[VS_DATA + 1];
    u32 n = 0;
    for (u32 i = 0; i < len && n < VS_DATA; i++)
        if (p[i] >= 0x20 && p[i] < 0x7f)
            s[n++] = (char)p[i];
    s[n] = 0;
    v->out.fwd_cnt += len;
    printk("vsock_host_reply=%s\n", s);
    v->replied = 1;
}

static struct vs_conn *conn_of(struct vsock *v, const struct vs_hdr *h)
{
    if (v->out.open && h->dst_port == v->out.local && h->src_port == v->out.peer)
        return &v->out;
    if (v->in.open && h->dst_port == v->in.local && h->src_port == v->in.peer)
        return &v->in;
    return 0;
}

static void on_packet(struct vsock *v, const struct vs_hdr *h, u8 *data)
{
    if (h->src_cid != VS_HOST_CID || h->dst_cid != v->cid || h->type != 1)
        test_fail("vsock: packet from cid %lu to %lu type %u", h->src_cid, h->dst_cid,
                  h->type);
    if (h->op == OP_REQUEST) {
        on_request(v, h);
        return;
    }
    struct vs_conn *c = conn_of(v, h);
    if (!c)
        test_fail("vsock: op %u for no connection (%u -> %u)", h->op, h->src_port,
                  h->dst_port);
    if (c == &v->out && !v->connected && h->op != OP_RESPONSE)
        test_fail("vsock: the host answered our request with op %u (is %s_%u listening?)",
                  h->op, "uds_path", VS_HOST_PORT);
    switch (h->op) {
    case OP_RESPONSE:
        v->connected = 1;
        printk("vsock: connected to host port %u\n", VS_HOST_PORT);
        vs_send(v, c, OP_RW, 0, "hello from the guest", 20);
        break;
    case OP_RW:
        if (c == &v->in)
            on_echo_data(v, data, h->len);
        else
            on_reply(v, data, h->len);
        break;
    case OP_CREDIT_REQUEST:
        vs_send(v, c, OP_CREDIT_UPDATE, 0, 0, 0);
        break;
    case OP_SHUTDOWN:
        vs_send(v, c, OP_RST, 0, 0, 0);
        c->open = 0;
        break;
    case OP_RST:
        c->open = 0;
        break;
    case OP_CREDIT_UPDATE:
        break;
    default:
        test_fail("vsock: unknown op %u", h->op);
    }
}

/* Wait for one packet, handle it, give its buffer back. */
static void rx_one(struct vsock *v, u32 ms)
{
    struct vq *q = &v->d.vqs[VS_RXQ];
    const char *why = "?";
    u32 len = 0;
    int head = vq_wait_used(&v->d, q, &len, ms, &why);
    if (head < 0)
        test_fail("%s vsock rx: %s (connected=%d replied=%d echoed=%d)", v->d.where, why,
                  v->connected, v->replied, v->echoed);
    u8 *p = v->rxbuf[head];
    struct vs_hdr h;
    if (!p || len < VS_HDR || len > VS_HDR + VS_DATA)
        test_fail("vsock rx: used head %d len %u", head, len);
    memcpy(&h, p, sizeof(h));
    if (h.len != len - VS_HDR)
        test_fail("vsock rx: header len %u, used len %u", h.len, len);
    on_packet(v, &h, p + VS_HDR);
    v->rxbuf[head] = 0;
    post_rx(v, p);
    vq_kick(&v->d, q);
}

static void vsock_init(struct vsock *v)
{
    const char *why = "?";
    if (!vdev_find(VIRTIO_ID_VSOCK, 0, &v->d))
        test_fail("no virtio-vsock device (PCI 1af4:1053 or virtio_mmio.device=)");
    u64 want = cmdline_u64("event_idx", 1) ? 1ull << VF_EVENT_IDX : 0;
    if (vdev_init(&v->d, want, 3, VS_QSIZE, &why) < 0)
        test_fail("%s: %s", v->d.where, why);
    v->cid = vdev_cfg64(&v->d, 0);
    printk("vsock: %s irq=%s features=0x%lx\n", v->d.where, virq_mode_name(v->d.irq),
           v->d.features);
    printk("vsock_cid=%lu\n", v->cid);
    if (v->cid < 3 || v->cid >= 0xffffffffull)
        test_fail("vsock: guest_cid %lu", v->cid);
    for (int i = 0; i < VS_RXBUFS; i++)
        post_rx(v, dma_alloc(VS_HDR + VS_DATA, 16));
    vq_kick(&v->d, &v->d.vqs[VS_RXQ]);
    /* The event queue only needs buffers to be there. */
    for (int i = 0; i < 4; i++) {
        struct vbuf b = { (u64)(uintptr_t)dma_alloc(8, 8), 8, 1 };
        if (vq_add(&v->d.vqs[VS_EVQ], &b, 1) < 0)
            test_fail("vsock event queue: no free descriptor");
    }
    vq_kick(&v->d, &v->d.vqs[VS_EVQ]);
}

void test_virtio_vsock(void)
{
    struct vsock *v = dma_alloc(sizeof(*v), 64);
    u32 ms = (u32)cmdline_u64("rx_ms", 30000);
    vsock_init(v);

    v->out = (struct vs_conn){ 1, VS_LOCAL_PORT, VS_HOST_PORT, 0 };
    vs_send(v, &v->out, OP_REQUEST, 0, 0, 0);
    while (!v->replied || !v->echoed)
        rx_one(v, ms);
    /* Done: close ours (the host sees EOF; landlord answers with an RST). */
    vs_send(v, &v->out, OP_SHUTDOWN, 3, 0, 0);
    printk("vsock_done=1\n");
    if (v->d.irq != VIRQ_POLL && !v->d.queue_irqs)
        test_fail("no queue interrupt");
    vdev_irq_off(&v->d);
    test_pass();
}
