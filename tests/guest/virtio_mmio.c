/* landlord test guest: the virtio-mmio transport, version 2 (virtio 1.2,
 * 4.2), found through virtio_mmio.device= on the command line as Linux's
 * virtio_mmio.c does. */
#include "virtio.h"

#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_VENDOR_ID 0x00c
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC_LOW 0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MMIO_CONFIG_GENERATION 0x0fc
#define MMIO_CONFIG 0x100

#define MMIO_MAGIC_VALUE 0x74726976u   /* "virt" */

/* "4K", "0x1000", "1M": a size with an optional K/M/G suffix. */
static int parse_size(const char *s, size_t n, u64 *out)
{
    char buf[24];
    u64 mult = 1;
    if (!n || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char last = buf[n - 1];
    if (last == 'K' || last == 'k')
        mult = 1024;
    else if (last == 'M' || last == 'm')
        mult = 1024 * 1024;
    else if (last == 'G' || last == 'g')
        mult = 1024ull * 1024 * 1024;
    if (mult != 1)
        buf[n - 1] = '\0';
    if (!parse_u64(buf, out))
        return 0;
    *out *= mult;
    return 1;
}

static int parse_num(const char *s, size_t n, u64 *out)
{
    char buf[24];
    if (!n || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return parse_u64(buf, out);
}

/* One "SIZE@ADDR:GSI" value (Linux also allows ":GSI:ID"; the id is ignored). */
static int parse_entry(const char *w, size_t n, u64 *addr, u32 *gsi)
{
    size_t at = 0, colon = 0;
    while (at < n && w[at] != '@')
        at++;
    colon = at;
    while (colon < n && w[colon] != ':')
        colon++;
    if (at >= n || colon >= n)
        return 0;
    size_t end = colon + 1;
    while (end < n && w[end] != ':')
        end++;
    u64 size, a, g;
    if (!parse_size(w, at, &size) || !parse_num(w + at + 1, colon - at - 1, &a) ||
        !parse_num(w + colon + 1, end - colon - 1, &g))
        return 0;
    if (size < 0x200 || a >= 0x100000000ull || g > 255)
        return 0;
    *addr = a;
    *gsi = (u32)g;
    return 1;
}

unsigned vmmio_cmdline(u64 *addr, u32 *gsi, unsigned max)
{
    static const char key[] = "virtio_mmio.device=";
    const size_t kl = sizeof(key) - 1;
    const char *s = cmdline();
    unsigned n = 0;
    while (*s && n < max) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *w = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        size_t len = (size_t)(s - w);
        if (len > kl && !strncmp(w, key, kl)) {
            if (parse_entry(w + kl, len - kl, &addr[n], &gsi[n]))
                n++;
            else
                printk("virtio-mmio: cannot parse a virtio_mmio.device= entry\n");
        }
    }
    return n;
}

static u32 rd(struct vdev *d, u32 off) { return mmio_read32(d->base + off); }
static void wr(struct vdev *d, u32 off, u32 v) { mmio_write32(d->base + off, v); }

int vmmio_probe(u64 base, u32 gsi, u32 device_id, struct vdev *d)
{
    u32 magic = mmio_read32(base + MMIO_MAGIC);
    u32 version = mmio_read32(base + MMIO_VERSION);
    u32 id = mmio_read32(base + MMIO_DEVICE_ID);
    if (magic != MMIO_MAGIC_VALUE) {
        printk("virtio-mmio: 0x%lx: magic 0x%x\n", base, magic);
        return 0;
    }
    if (id != device_id)
        return 0;
    if (version != 2) {
        printk("virtio-mmio: 0x%lx: version %u, not 2 (legacy devices are not driven)\n", base,
               version);
        return 0;
    }
    memset(d, 0, sizeof(*d));
    d->kind = VT_MMIO;
    d->device_id = device_id;
    d->base = base;
    d->gsi = gsi;
    d->devcfg = base + MMIO_CONFIG;
    snprintk(d->where, sizeof(d->where), "mmio 0x%lx", base);
    return 1;
}

u8 vmmio_status(struct vdev *d) { return (u8)rd(d, MMIO_STATUS); }
void vmmio_set_status(struct vdev *d, u8 s) { wr(d, MMIO_STATUS, s); }
u32 vmmio_generation(struct vdev *d) { return rd(d, MMIO_CONFIG_GENERATION); }

u64 vmmio_features(struct vdev *d)
{
    wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
    u64 lo = rd(d, MMIO_DEVICE_FEATURES);
    wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
    u64 hi = rd(d, MMIO_DEVICE_FEATURES);
    return lo | (hi << 32);
}

void vmmio_set_features(struct vdev *d, u64 f)
{
    wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, MMIO_DRIVER_FEATURES, (u32)f);
    wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, MMIO_DRIVER_FEATURES, (u32)(f >> 32));
}

int vmmio_queue_setup(struct vdev *d, struct vq *q, u16 qsize, u64 desc, u64 avail, u64 used,
                      const char **why)
{
    wr(d, MMIO_QUEUE_SEL, q->index);
    if (rd(d, MMIO_QUEUE_READY)) {
        *why = "QueueReady reads 1 after a reset";
        return -1;
    }
    u32 max = rd(d, MMIO_QUEUE_NUM_MAX);
    if (!max) {
        *why = "QueueNumMax reads 0: the queue does not exist";
        return -1;
    }
    u16 size = qsize;
    while (size > max)
        size >>= 1;
    q->size = size;
    wr(d, MMIO_QUEUE_NUM, size);
    wr(d, MMIO_QUEUE_DESC_LOW, (u32)desc);
    wr(d, MMIO_QUEUE_DESC_HIGH, (u32)(desc >> 32));
    wr(d, MMIO_QUEUE_DRIVER_LOW, (u32)avail);
    wr(d, MMIO_QUEUE_DRIVER_HIGH, (u32)(avail >> 32));
    wr(d, MMIO_QUEUE_DEVICE_LOW, (u32)used);
    wr(d, MMIO_QUEUE_DEVICE_HIGH, (u32)(used >> 32));
    wr(d, MMIO_QUEUE_READY, 1);
    if (rd(d, MMIO_QUEUE_READY) != 1) {
        *why = "QueueReady does not read back 1";
        return -1;
    }
    q->notify_addr = d->base + MMIO_QUEUE_NOTIFY;
    return 0;
}

u32 vmmio_isr(struct vdev *d)
{
    u32 s = rd(d, MMIO_INTERRUPT_STATUS);
    if (s)
        wr(d, MMIO_INTERRUPT_ACK, s);
    return s;
}
