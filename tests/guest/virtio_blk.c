/* landlord test guest: virtio-blk tests (virtio 1.2, 5.2).
 *
 * virtio-blk       writes a pattern to regions of each disk (direct chains,
 *                  a 68 KiB request over many descriptors, an indirect table),
 *                  flushes, reads back through other splits and compares;
 *                  out-of-range and unsupported requests; GET_ID.
 * virtio-blk-ro    a read-only disk: known content reads back, a write ends
 *                  with VIRTIO_BLK_S_IOERR and changes nothing.
 * virtio-blk-read  reads the disk in 1 MiB requests, qd= of them in flight
 *                  (default 1, at most 16), and reports the rate.
 *
 * The pattern (tests/integration/cases_virtio.py computes the same): 64-bit
 * little-endian word i (0..63) of sector s on a disk with seed k is
 *     0x6C616E646C6F7264 ^ (k << 56) ^ (s << 8) ^ i
 * with k = the disk's index in discovery order (0 = first). */
#include "virtio.h"

#define BLK_F_SIZE_MAX 1
#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_BLK_SIZE 6
#define BLK_F_FLUSH 9

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2

#define SECTOR 512u
#define PATTERN_MAGIC 0x6C616E646C6F7264ull
#define RO_SEED 0x52   /* the read-only image's content uses this seed */

struct blk_hdr {
    u32 type;
    u32 reserved;
    u64 sector;
} PACKED;

struct blk {
    struct vdev d;
    u64 capacity;
    u32 seg_max, size_max;
    struct blk_hdr *hdr;
    volatile u8 *status;
    struct vring_desc *itable;
    u8 *buf;
};

static u64 pattern_word(u64 seed, u64 sector, u64 i)
{
    return PATTERN_MAGIC ^ (seed << 56) ^ (sector << 8) ^ i;
}

static void pattern_fill(u64 *w, u64 seed, u64 sector, u64 nsec)
{
    for (u64 s = 0; s < nsec; s++)
        for (u64 i = 0; i < SECTOR / 8; i++)
            *w++ = pattern_word(seed, sector + s, i);
}

/* Returns 1 if it matches; otherwise prints the first difference. */
static int pattern_check(const u64 *w, u64 seed, u64 sector, u64 nsec)
{
    for (u64 s = 0; s < nsec; s++)
        for (u64 i = 0; i < SECTOR / 8; i++) {
            u64 want = pattern_word(seed, sector + s, i), got = *w++;
            if (got != want) {
                printk("blk: sector %lu word %lu: got 0x%lx, want 0x%lx\n", sector + s, i, got,
                       want);
                return 0;
            }
        }
    return 1;
}

static void blk_open(struct blk *b, unsigned nth, u64 want, u16 qsize)
{
    const char *why = "?";
    if (!vdev_find(VIRTIO_ID_BLOCK, nth, &b->d))
        test_fail("no virtio-blk device #%u (PCI 1af4:1042 or virtio_mmio.device=)", nth);
    if (cmdline_u64("event_idx", 1))
        want |= 1ull << VF_EVENT_IDX;
    want |= (1ull << VF_INDIRECT_DESC) | (1ull << BLK_F_SEG_MAX) | (1ull << BLK_F_SIZE_MAX) |
            (1ull << BLK_F_BLK_SIZE) | (1ull << BLK_F_FLUSH) | (1ull << BLK_F_RO);
    if (vdev_init(&b->d, want, 1, qsize, &why) < 0)
        test_fail("%s: %s", b->d.where, why);
    b->capacity = vdev_cfg64(&b->d, 0);
    b->size_max = vdev_has(&b->d, BLK_F_SIZE_MAX) ? vdev_cfg32(&b->d, 8) : 0;
    b->seg_max = vdev_has(&b->d, BLK_F_SEG_MAX) ? vdev_cfg32(&b->d, 12) : 0;
    if (!b->hdr) {
        b->hdr = dma_alloc(sizeof(*b->hdr), 16);
        b->status = dma_alloc(8, 8);
        b->itable = dma_alloc(16 * 16, 16);
    }
    printk("blk%u: %s irq=%s features=0x%lx capacity=%lu seg_max=%u size_max=%u queue=%u\n",
           nth, b->d.where, virq_mode_name(b->d.irq), b->d.features, b->capacity, b->seg_max,
           b->size_max, b->d.vqs[0].size);
}

/* A request in flight: what blk_finish checks it against. */
struct blk_pending {
    int head;
    u32 type, len;
    u64 sector;
    int write;
    volatile u8 *status;
};

/* Where a request's header, status byte and indirect table live: the
 * disk's own for one request at a time, or one per request slot of the
 * queue-depth reader. */
struct blk_slot {
    struct blk_hdr *hdr;
    volatile u8 *status;
    struct vring_desc *itable;
};

/* Adds one request to the queue (without notifying the device): header,
 * data split into nseg buffers (split[] or evenly), status byte.  With
 * indirect, the whole chain goes into the slot's indirect table. */
static void blk_post(struct blk *b, const struct blk_slot *s, struct blk_pending *p, u32 type,
                     u64 sector, void *data, u32 len, int nseg, int write, int indirect,
                     const u32 *split)
{
    struct vdev *d = &b->d;
    struct vq *q = &d->vqs[0];
    struct vbuf v[20];
    int n = 0;
    if (nseg > 18)
        test_fail("internal: %d segments", nseg);
    s->hdr->type = type;
    s->hdr->reserved = 0;
    s->hdr->sector = sector;
    *s->status = 0xFF;
    v[n++] = (struct vbuf){ (u64)(uintptr_t)s->hdr, sizeof(*s->hdr), 0 };
    u64 a = (u64)(uintptr_t)data;
    u32 left = len;
    for (int k = 0; k < nseg && left; k++) {
        u32 seg = split ? split[k] : (k + 1 == nseg ? left : len / (u32)nseg);
        if (seg > left)
            seg = left;
        v[n++] = (struct vbuf){ a, seg, !write };
        a += seg;
        left -= seg;
    }
    v[n++] = (struct vbuf){ (u64)(uintptr_t)s->status, 1, 1 };
    int head = indirect ? vq_add_indirect(q, v, n, s->itable) : vq_add(q, v, n);
    if (head < 0)
        test_fail("%s: no room for a %d-descriptor request", d->where, n);
    *p = (struct blk_pending){ head, type, len, sector, write, s->status };
}

/* Queues one request in the disk's own slot and notifies the device.
 * Does not wait. */
static void blk_submit(struct blk *b, struct blk_pending *p, u32 type, u64 sector, void *data,
                       u32 len, int nseg, int write, int indirect, const u32 *split)
{
    const struct blk_slot own = { b->hdr, b->status, b->itable };
    blk_post(b, &own, p, type, sector, data, len, nseg, write, indirect, split);
    vq_kick(&b->d, &b->d.vqs[0]);
}

/* The device returned p's chain with used_len: returns its status byte, or
 * fails the test when the device did not answer properly. */
static u8 blk_finish(struct blk *b, const struct blk_pending *p, u32 used_len)
{
    struct vdev *d = &b->d;
    u8 st = *p->status;
    if (st == 0xFF)
        test_fail("%s: request type %u sector %lu completed without a status byte", d->where,
                  p->type, p->sector);
    /* 2.7.8.1: len is the number of bytes written into the chain */
    u32 want_len = (p->type == BLK_T_IN && st == BLK_S_OK) ? p->len + 1 : 0;
    if (want_len && used_len != want_len)
        test_fail("%s: read of %u bytes: used len %u, want %u", d->where, p->len, used_len,
                  want_len);
    if (!want_len && (used_len < 1 || used_len > (p->write ? 1 : p->len) + 1))
        test_fail("%s: request type %u: used len %u out of range", d->where, p->type, used_len);
    return st;
}

/* Waits for the request (the only one in flight on the disk); returns its
 * status byte. */
static u8 blk_complete(struct blk *b, const struct blk_pending *p)
{
    struct vdev *d = &b->d;
    const char *why = "?";
    u32 used_len = 0;
    int got = vq_wait_used(d, &d->vqs[0], &used_len, 5000, &why);
    if (got < 0)
        test_fail("%s: request type %u sector %lu: %s", d->where, p->type, p->sector, why);
    if (got != p->head)
        test_fail("%s: used head %d, submitted %d", d->where, got, p->head);
    return blk_finish(b, p, used_len);
}

static u8 blk_request(struct blk *b, u32 type, u64 sector, void *data, u32 len, int nseg,
                      int write, int indirect, const u32 *split)
{
    struct blk_pending p;
    blk_submit(b, &p, type, sector, data, len, nseg, write, indirect, split);
    return blk_complete(b, &p);
}

struct region {
    u64 sector, nsec;
    int wseg, windirect;     /* how it is written */
    int rseg, rindirect;     /* and read back */
    const u32 *rsplit;
};

static const u32 split_c_read[] = { 512, 3584, 4096 };

static void blk_pattern_disk(struct blk *b, unsigned k)
{
    struct vdev *d = &b->d;
    if (vdev_has(d, BLK_F_RO))
        test_fail("%s: the device offers VIRTIO_BLK_F_RO", d->where);
    if (!vdev_has(d, BLK_F_FLUSH))
        test_fail("%s: the device does not offer VIRTIO_BLK_F_FLUSH", d->where);
    if (!vdev_has(d, VF_INDIRECT_DESC))
        test_fail("%s: the device does not offer VIRTIO_F_INDIRECT_DESC", d->where);
    if (b->capacity < 1100)
        test_fail("%s: capacity %lu sectors; the test needs at least 1100", d->where,
                  b->capacity);
    int many = 17;   /* 68 KiB in 4 KiB descriptors */
    if (b->seg_max && b->seg_max < (u32)many)
        many = (int)b->seg_max;
    if (b->size_max && b->size_max < 69632u / (u32)many)
        test_fail("%s: size_max %u too small for the test", d->where, b->size_max);
    const struct region regions[] = {
        { 0, 1, 1, 0, 1, 0, 0 },
        { 8, 136, many, 0, 2, 0, 0 },
        { 1000, 16, 2, 1, 3, 1, split_c_read },
        { b->capacity - 1, 1, 1, 0, 1, 1, 0 },
    };
    if (!b->buf)
        b->buf = dma_alloc(136 * SECTOR, 4096);
    for (unsigned r = 0; r < ARRAY_SIZE(regions); r++) {
        const struct region *g = &regions[r];
        u32 len = (u32)(g->nsec * SECTOR);
        pattern_fill((u64 *)b->buf, k, g->sector, g->nsec);
        u8 st = blk_request(b, BLK_T_OUT, g->sector, b->buf, len, g->wseg, 1, g->windirect, 0);
        if (st != BLK_S_OK)
            test_fail("%s: write of %lu sectors at %lu: status %u", d->where, g->nsec, g->sector,
                      st);
    }
    u8 st = blk_request(b, BLK_T_FLUSH, 0, 0, 0, 0, 1, 0, 0);
    if (st != BLK_S_OK)
        test_fail("%s: flush: status %u", d->where, st);
    for (unsigned r = 0; r < ARRAY_SIZE(regions); r++) {
        const struct region *g = &regions[r];
        u32 len = (u32)(g->nsec * SECTOR);
        for (u32 i = 0; i < len / 8; i++)   /* stale data must not pass the compare */
            ((u64 *)b->buf)[i] = 0xEEEEEEEEEEEEEEEEull;
        st = blk_request(b, BLK_T_IN, g->sector, b->buf, len, g->rseg, 0, g->rindirect,
                         g->rsplit);
        if (st != BLK_S_OK)
            test_fail("%s: read of %lu sectors at %lu: status %u", d->where, g->nsec, g->sector,
                      st);
        if (!pattern_check((const u64 *)b->buf, k, g->sector, g->nsec))
            test_fail("%s: sectors %lu+%lu read back differently", d->where, g->sector, g->nsec);
    }
    printk("blk%u_regions=%u\n", k, (unsigned)ARRAY_SIZE(regions));
}

/* Requests the device must refuse. */
static void blk_bad_requests(struct blk *b, unsigned k)
{
    struct vdev *d = &b->d;
    u8 st = blk_request(b, BLK_T_IN, b->capacity, b->buf, SECTOR, 1, 0, 0, 0);
    printk("blk%u_oob_read_status=%u\n", k, st);
    if (st != BLK_S_IOERR)
        test_fail("%s: read at sector %lu (= capacity): status %u, want IOERR", d->where,
                  b->capacity, st);
    st = blk_request(b, BLK_T_IN, b->capacity - 1, b->buf, 2 * SECTOR, 1, 0, 0, 0);
    printk("blk%u_straddle_read_status=%u\n", k, st);
    if (st != BLK_S_IOERR)
        test_fail("%s: 2-sector read at capacity-1: status %u, want IOERR", d->where, st);
    st = blk_request(b, 0x7777, 0, b->buf, SECTOR, 1, 0, 0, 0);
    printk("blk%u_unsupp_status=%u\n", k, st);
    if (st != BLK_S_UNSUPP)
        test_fail("%s: request type 0x7777: status %u, want UNSUPP", d->where, st);
    /* sector * 512 wraps past 2^64 to byte 0 / sector 5: a device that
     * multiplies before it checks reads sector 0 or writes sector 5
     * (which the host-side check finds). */
    st = blk_request(b, BLK_T_IN, 1ull << 55, b->buf, SECTOR, 1, 0, 0, 0);
    printk("blk%u_wrap_read_status=%u\n", k, st);
    if (st != BLK_S_IOERR)
        test_fail("%s: read at sector 2^55: status %u, want IOERR", d->where, st);
    pattern_fill((u64 *)b->buf, k, 5, 1);
    st = blk_request(b, BLK_T_OUT, (1ull << 55) + 5, b->buf, SECTOR, 1, 1, 0, 0);
    printk("blk%u_wrap_write_status=%u\n", k, st);
    if (st != BLK_S_IOERR)
        test_fail("%s: write at sector 2^55 + 5: status %u, want IOERR", d->where, st);
    /* GET_ID into 8 bytes: the device must not write past them */
    memset(b->buf, 0xCC, 32);
    st = blk_request(b, BLK_T_GET_ID, 0, b->buf, 8, 1, 0, 0, 0);
    for (int i = 8; i < 32; i++)
        if (b->buf[i] != 0xCC)
            test_fail("%s: GET_ID into an 8-byte buffer wrote byte %d beyond it", d->where, i);
    printk("blk%u_short_get_id_status=%u\n", k, st);
}

static void blk_get_id(struct blk *b, unsigned k, char *id)
{
    memset(b->buf, 0, 64);
    u8 st = blk_request(b, BLK_T_GET_ID, 0, b->buf, 20, 1, 0, 0, 0);
    if (st != BLK_S_OK)
        test_fail("%s: GET_ID: status %u", b->d.where, st);
    for (int i = 0; i < 20; i++) {
        char c = (char)b->buf[i];
        id[i] = (c >= 0x20 && c < 0x7F) || !c ? c : '?';
    }
    id[20] = '\0';
    printk("blk%u_id=%s\n", k, id);
}

static struct blk blks[4];

/* With every disk's interrupts live: one read in flight on each disk at
 * once, so that disks sharing an INTx line raise it together. */
static void blk_all_at_once(unsigned disks)
{
    struct blk_pending p[ARRAY_SIZE(blks)];
    for (unsigned k = 0; k < disks; k++)
        blk_submit(&blks[k], &p[k], BLK_T_IN, 0, blks[k].buf, SECTOR, 1, 0, 0, 0);
    for (unsigned k = 0; k < disks; k++) {
        u8 st = blk_complete(&blks[k], &p[k]);
        if (st != BLK_S_OK || !pattern_check((const u64 *)blks[k].buf, k, 0, 1))
            test_fail("%s: concurrent read of sector 0: status %u", blks[k].d.where, st);
    }
    printk("blk_concurrent=%u\n", disks);
}

void test_virtio_blk(void)
{
    unsigned disks = (unsigned)cmdline_u64("disks", 1);
    if (disks < 1 || disks > ARRAY_SIZE(blks))
        test_fail("disks=%u: 1 to %u", disks, (unsigned)ARRAY_SIZE(blks));
    /* all disks first, so that their interrupts are live together */
    for (unsigned k = 0; k < disks; k++)
        blk_open(&blks[k], k, 0, 32);
    char id0[21] = "";
    for (unsigned k = 0; k < disks; k++) {
        struct blk *b = &blks[k];
        char id[21];
        blk_pattern_disk(b, k);
        blk_bad_requests(b, k);
        blk_get_id(b, k, id);
        if (!k)
            memcpy(id0, id, sizeof(id0));
    }
    blk_all_at_once(disks);
    for (unsigned k = 0; k < disks; k++) {
        struct blk *b = &blks[k];
        printk("blk%u_irqs=%u\n", k, b->d.queue_irqs);
        if (b->d.irq != VIRQ_POLL && !b->d.queue_irqs)
            test_fail("%s: no queue interrupt", b->d.where);
        vdev_irq_off(&b->d);
    }
    printk("blk_capacity=%lu\n", blks[0].capacity);
    printk("blk_id=%s\n", id0);
    test_pass();
}

void test_virtio_blk_ro(void)
{
    struct blk *b = &blks[0];
    blk_open(b, 0, 0, 32);
    struct vdev *d = &b->d;
    if (!vdev_has(d, BLK_F_RO))
        test_fail("%s: the device does not offer VIRTIO_BLK_F_RO", d->where);
    printk("ro_feature=1\n");
    b->buf = dma_alloc(8 * SECTOR, 4096);
    u8 st = blk_request(b, BLK_T_IN, 0, b->buf, 8 * SECTOR, 1, 0, 0, 0);
    if (st != BLK_S_OK || !pattern_check((const u64 *)b->buf, RO_SEED, 0, 8))
        test_fail("%s: sectors 0-7 do not hold the image's content (status %u)", d->where, st);
    printk("ro_read_ok=1\n");
    memset(b->buf, 0xA5, SECTOR);
    st = blk_request(b, BLK_T_OUT, 0, b->buf, SECTOR, 1, 1, 0, 0);
    printk("ro_write_status=%u\n", st);
    if (st != BLK_S_IOERR)
        test_fail("%s: write to a read-only disk: status %u, want IOERR (1)", d->where, st);
    st = blk_request(b, BLK_T_IN, 0, b->buf, SECTOR, 1, 0, 0, 0);
    if (st != BLK_S_OK || !pattern_check((const u64 *)b->buf, RO_SEED, 0, 1))
        test_fail("%s: sector 0 changed after the refused write", d->where);
    printk("ro_unchanged=1\n");
    vdev_irq_off(d);
    test_pass();
}


#define READ_CHUNK (1u << 20)
#define READ_QD_MAX 16
/* The reader's data buffers: qd MiB from 16 MiB up (past the DMA area of
 * virtio.c, inside the identity map), checked against e820. */
#define READ_BUF_BASE 0x1000000ul

/* One 1 MiB read the reader keeps in flight. */
struct read_slot {
    struct blk_slot s;
    u8 *buf;
    struct blk_pending p;
    u64 mib;      /* which MiB of the disk it reads */
    int busy;
};

static void read_post(struct blk *b, struct read_slot *r, u64 mib, int nseg, int indirect)
{
    r->mib = mib;
    r->busy = 1;
    blk_post(b, &r->s, &r->p, BLK_T_IN, mib * (READ_CHUNK / SECTOR), r->buf, READ_CHUNK, nseg,
             0, indirect, 0);
}

/* The first word of each 4 KiB block must be MAGIC ^ block number; with
 * verify=first only the request's first block is looked at.  Each check is
 * a few instructions; 256 of them per MiB bounded the reader when it ran at
 * CPL 0 on a host that emulates guest kernel code (~1.5 MIPS), hence
 * verify=first, which still proves each request read its own MiB.  At
 * CPL 3 (run_user, the default) both cost next to nothing. */
static void read_check(struct blk *b, const struct read_slot *r, u64 blocks)
{
    for (u64 blk = 0; blk < blocks; blk++) {
        u64 n = r->mib * (READ_CHUNK / 4096) + blk;
        u64 want = PATTERN_MAGIC ^ n, got = *(const u64 *)(r->buf + blk * 4096);
        if (got != want)
            test_fail("%s: 4 KiB block %lu: 0x%lx, want 0x%lx", b->d.where, n, got, want);
    }
}

/* The reader's hot loop, for run_user: everything it needs, and what it did. */
struct read_run {
    struct blk *b;
    struct read_slot *slots;
    u64 qd, mib, verify_blocks;
    int nseg, indirect;
    u64 wait_ticks;   /* TSC ticks to wait for a completion before failing */
    u64 done;
    u64 t_kick, t_wait;   /* TSC ticks spent notifying and waiting (stats=1) */
};

/* Polls queue q for a used entry: its head, or -1 after wait_ticks of the
 * TSC.  The TSC is read every 256 polls only (RDTSC may trap). */
static int read_poll(struct vq *q, u32 *len, u64 wait_ticks)
{
    u64 t0 = rdtsc();
    for (u32 n = 1;; n++) {
        int head = vq_get_used(q, len);
        if (head >= 0)
            return head;
        if (!(n & 255) && rdtsc() - t0 > wait_ticks)
            return vq_get_used(q, len);
        cpu_relax();
    }
}

/* Keeps qd 1 MiB reads in flight until mib of them completed: qd requests
 * are queued and the device notified once, then each completion (in
 * whatever order the device returns them) is checked, its data verified,
 * and its slot refilled with the next MiB straight away.  Polls the used
 * ring (the queue is quiet: no interrupts).  Runs at CPL 3 through run_user
 * (cpl=3, the default) or directly (cpl=0); fails the test itself. */
static u64 read_loop(void *arg)
{
    struct read_run *rr = arg;
    struct blk *b = rr->b;
    struct vdev *d = &b->d;
    struct vq *q = &d->vqs[0];
    u64 next = 0, done = 0;
    for (u64 k = 0; k < rr->qd && next < rr->mib; k++)
        read_post(b, &rr->slots[k], next++, rr->nseg, rr->indirect);
    vq_kick(d, q);
    while (done < rr->mib) {
        u32 used_len = 0;
        u64 tp = rdtsc();
        int head = read_poll(q, &used_len, rr->wait_ticks);
        rr->t_wait += rdtsc() - tp;
        if (head < 0) {
            printk("virtio: %s queue %u: used idx %u, last seen %u, avail idx %u\n", d->where,
                   q->index, ((volatile struct vring_used *)q->used)->idx, q->last_used,
                   q->avail_idx);
            test_fail("%s: waiting for 1 MiB reads (%lu of %lu done): timed out waiting for a "
                      "used buffer", d->where, done, rr->mib);
        }
        struct read_slot *r = 0;
        for (u64 k = 0; k < rr->qd && !r; k++)
            if (rr->slots[k].busy && rr->slots[k].p.head == head)
                r = &rr->slots[k];
        if (!r)
            test_fail("%s: used head %d is none of the reads in flight", d->where, head);
        u8 st = blk_finish(b, &r->p, used_len);
        if (st != BLK_S_OK)
            test_fail("%s: 1 MiB read at MiB %lu: status %u", d->where, r->mib, st);
        read_check(b, r, rr->verify_blocks);
        r->busy = 0;
        done++;
        if (next < rr->mib) {
            read_post(b, r, next++, rr->nseg, rr->indirect);
            u64 tk = rdtsc();
            vq_kick(d, q);
            rr->t_kick += rdtsc() - tk;
        }
    }
    rr->done = done;
    return done;
}

/* Reads mib= MiB (default: the whole disk, at most 256) in 1 MiB requests,
 * verify=all (default) or first blocks of each checked (read_check),
 * keeping qd= of them (default 1, at most 16) in flight (read_loop).
 * Set-up runs at CPL 0; the loop at CPL 3 (cpl=3, the default), where a
 * host that emulates guest kernel code (KVM's PVM backend) runs it
 * natively; cpl=0 keeps it at CPL 0 for comparison. */
void test_virtio_blk_read(void)
{
    struct blk *b = &blks[0];
    blk_open(b, 0, 0, VQ_SIZE_MAX);
    struct vdev *d = &b->d;
    struct vq *q = &d->vqs[0];
    u64 disk_mib = b->capacity / 2048;
    u64 mib = cmdline_u64("mib", disk_mib < 256 ? disk_mib : 256);
    if (!mib || mib > disk_mib)
        test_fail("mib=%lu but the disk has %lu MiB", mib, disk_mib);
    char vbuf[8];
    u64 verify_blocks = READ_CHUNK / 4096;
    if (cmdline_get("verify", vbuf, sizeof(vbuf))) {
        if (strncmp(vbuf, "first", sizeof(vbuf)) == 0)
            verify_blocks = 1;
        else if (strncmp(vbuf, "all", sizeof(vbuf)) != 0)
            test_fail("verify=%s: all or first", vbuf);
    }
    u64 qd = cmdline_u64("qd", 1);
    if (qd < 1 || qd > READ_QD_MAX)
        test_fail("qd=%lu: 1 to %u", qd, READ_QD_MAX);
    u64 cpl = cmdline_u64("cpl", 3);
    if (cpl != 0 && cpl != 3)
        test_fail("cpl=%lu: 0 or 3", cpl);
    int nseg = 1;
    if (b->size_max)
        nseg = (int)((READ_CHUNK + b->size_max - 1) / b->size_max);
    if (nseg > 16 || (b->seg_max && (u32)nseg > b->seg_max))
        test_fail("%s: size_max %u / seg_max %u cannot carry 1 MiB requests", d->where,
                  b->size_max, b->seg_max);
    /* Direct chains when qd of them fit in the ring; else one indirect
     * descriptor each. */
    int indirect = 0;
    if (qd * (u64)(nseg + 2) > q->size) {
        if (!vdev_has(d, VF_INDIRECT_DESC) || qd > q->size)
            test_fail("%s: a %u-entry queue cannot hold %lu requests of %d descriptors", d->where,
                      q->size, qd, nseg + 2);
        indirect = 1;
    }
    if (!e820_is_ram(READ_BUF_BASE, qd * READ_CHUNK))
        test_fail("no RAM at 0x%lx-0x%lx for %lu 1 MiB buffers", READ_BUF_BASE,
                  READ_BUF_BASE + qd * READ_CHUNK, qd);
    struct read_slot slots[READ_QD_MAX];
    for (u64 k = 0; k < qd; k++) {
        slots[k].s.hdr = dma_alloc(sizeof(struct blk_hdr), 16);
        slots[k].s.status = dma_alloc(8, 8);
        slots[k].s.itable = dma_alloc(16 * (u64)(nseg + 2), 16);
        slots[k].buf = (u8 *)(uintptr_t)(READ_BUF_BASE + k * READ_CHUNK);
        slots[k].busy = 0;
        for (u32 blk = 0; blk < READ_CHUNK / 4096; blk++)   /* the words read_check reads */
            *(u64 *)(slots[k].buf + blk * 4096) = 0xEEEEEEEEEEEEEEEEull;
    }
    printk("read_qd=%lu (%s chains of %d descriptors, queue %u)\n", qd,
           indirect ? "indirect" : "direct", nseg + 2, q->size);

    u64 tsc_hz = tsc_hz_pit();
    /* 5 s per completion (20e9 ticks, 5 s at 4 GHz, if the TSC could not be timed) */
    struct read_run rr = { b, slots, qd, mib, verify_blocks, nseg, indirect,
                           tsc_hz ? 5 * tsc_hz : 20000000000ull, 0, 0, 0 };
    irq_disable();
    vq_quiet(d, q, 1);   /* polled: no interrupts while the loop runs */
    u64 start = rdtsc();
    u64 done = cpl == 3 ? run_user(read_loop, &rr) : read_loop(&rr);
    u64 ticks = rdtsc() - start;
    if (done != mib || rr.done != mib)
        test_fail("the read loop returned %lu (%lu), want %lu", done, rr.done, mib);
    u64 us = tsc_hz ? ticks / (tsc_hz / 1000000 ? tsc_hz / 1000000 : 1) : 0;
    printk("read_cpl=%lu\n", cpl);
    printk("read_mib=%lu\n", mib);
    printk("read_us=%lu (tsc %lu Hz)\n", us, tsc_hz);
    if (us)
        printk("read_mib_per_s=%lu\n", mib * 1000000 / us);
    if (cmdline_u64("stats", 0) && tsc_hz >= 1000000)   /* where the loop's time went */
        printk("read_wait_us=%lu read_kick_us=%lu\n", rr.t_wait / (tsc_hz / 1000000),
               rr.t_kick / (tsc_hz / 1000000));
    vq_quiet(d, q, 0);
    vdev_irq_off(d);
    test_pass();
}
