/* virtio-blk (virtio 1.2, 5.2).
 *
 * A request is a chain: a 16-byte header (type, reserved, sector) in the
 * readable part, data, and a status byte as the last byte of the writable
 * part.  Nothing about framing is assumed (2.6.4): the header and data are
 * byte ranges of the chain, sliced into iovecs that point straight into
 * guest RAM, and the disk moves data between those and the image with no
 * copy.
 *
 * Requests run asynchronously on the disk's io_uring; each holds a slot of
 * a fixed pool (one per queue entry), so a guest cannot make the monitor
 * allocate.  When the pool runs dry the queue is left as it is and resumed
 * after the next completions.  A pass over the ring is bounded; a pass cut
 * short signals the device's own notify eventfd to continue later.
 *
 * Durability: FLUSH is fdatasync through the disk's FIFO, where it waits
 * for everything queued before it (disk.c), and its status byte is written
 * only after fdatasync returned.
 *
 * Reset: requests in flight may still be writing guest RAM (reads), so the
 * reset waits for them; their completions then touch nothing in the guest. */
#include "virtio/virtio_blk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backends/disk.h"
#include "base/bytes.h"

#define BLK_HDR_LEN   16
#define BLK_SEG_LEN   16   /* discard / write-zeroes segment */
#define BLK_ALIGN     8    /* discard granularity, sectors (4 KiB) */

struct virtio_blk;

struct blk_req {
	struct virtio_blk *blk;
	struct disk_req dr;
	uint16_t head;
	uint8_t *status;          /* in guest RAM, checked when popped */
	uint32_t used_len;        /* bytes written to the chain on success */
	uint64_t expect;          /* bytes a read/write must move */
	struct blk_req *next_free;
	struct iovec iov[VIRTIO_BLK_SEG_MAX];
};

struct virtio_blk {
	struct virtio_dev dev;
	struct disk *disk;
	uint64_t capacity;        /* sectors */
	char name[96];
	uint8_t id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CONFIG_LEN];

	/* Under dev.lock. */
	struct blk_req *free_list;
	unsigned in_flight;
	bool quiesce;             /* resetting: completions leave the guest alone */
	bool stalled;             /* pool ran dry with chains maybe waiting */
	struct vq_chain chain;    /* big: not on a stack */
	counter_t ctr[VIRTIO_BLK_CTR_NR];
	struct blk_req pool[VIRTIO_BLK_QUEUE_SIZE];
};

static struct virtio_blk *to_blk(struct virtio_dev *d)
{
	return d->priv;
}

/* ---- completing ---- */

static void finish_now(struct virtio_blk *b, uint16_t head, uint8_t *status,
		       uint8_t val, uint32_t used_len)
{
	*status = val;
	virtio_queue_complete(&b->dev, 0, head, used_len);
}

static void blk_count(struct virtio_blk *b, enum virtio_blk_counter c, uint64_t n)
{
	counter_add(&b->ctr[c], n);
}

/* A request the disk finished (ok: all of it). */
static void count_done(struct virtio_blk *b, const struct blk_req *rq, bool ok)
{
	if (!ok) {
		blk_count(b, VIRTIO_BLK_CTR_EXECUTE_FAILS, 1);
	} else if (rq->dr.op == DISK_READ) {
		blk_count(b, VIRTIO_BLK_CTR_READ_COUNT, 1);
		blk_count(b, VIRTIO_BLK_CTR_READ_BYTES, rq->expect);
	} else if (rq->dr.op == DISK_WRITE) {
		blk_count(b, VIRTIO_BLK_CTR_WRITE_COUNT, 1);
		blk_count(b, VIRTIO_BLK_CTR_WRITE_BYTES, rq->expect);
	}
}

static void put_req(struct virtio_blk *b, struct blk_req *rq)
{
	rq->next_free = b->free_list;
	b->free_list = rq;
	b->in_flight--;
}

/* The disk finished a request (event-loop thread, or a resetting vCPU
 * thread; dev.lock held either way). */
static void blk_done(struct disk_req *dr, int64_t res)
{
	struct blk_req *rq = dr->opaque;
	struct virtio_blk *b = rq->blk;
	bool ok;

	if (dr->op == DISK_READ || dr->op == DISK_WRITE)
		ok = res >= 0 && (uint64_t)res == rq->expect;
	else
		ok = res == 0;
	count_done(b, rq, ok);
	if (!b->quiesce)
		finish_now(b, rq->head, rq->status,
			   ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR,
			   ok ? rq->used_len : 1);
	put_req(b, rq);
}

/* ---- parsing a chain ---- */

/* iovecs for bytes [skip, skip + len) of the chain's readable or writable
 * part (the caller checked they exist).  The count, or -1 when it would
 * take more than VIRTIO_BLK_SEG_MAX (the seg_max we offered). */
static int slice_iov(const struct vq_chain *c, bool writable, uint64_t skip,
		     uint64_t len, struct iovec *iov)
{
	uint16_t i = writable ? c->nr_out : 0, end = writable ? c->nr : c->nr_out;
	int n = 0;

	for (; i < end && len > 0; i++) {
		uint64_t bl = c->bufs[i].len, take;

		if (skip >= bl) {
			skip -= bl;
			continue;
		}
		take = bl - skip < len ? bl - skip : len;
		if (n == VIRTIO_BLK_SEG_MAX)
			return -1;
		iov[n].iov_base = c->bufs[i].host + skip;
		iov[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/* The last byte of the writable part, or NULL. */
static uint8_t *status_byte(const struct vq_chain *c)
{
	for (uint16_t i = c->nr; i > c->nr_out; i--)
		if (c->bufs[i - 1].len > 0)
			return c->bufs[i - 1].host + c->bufs[i - 1].len - 1;
	return NULL;
}

/* sector .. sector + count within the disk, without overflowing. */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->capacity && count <= b->capacity - sector;
}

static struct blk_req *get_req(struct virtio_blk *b, uint16_t head, uint8_t *status)
{
	struct blk_req *rq = b->free_list;

	b->free_list = rq->next_free;
	b->in_flight++;
	memset(&rq->dr, 0, sizeof(rq->dr));
	rq->dr.done = blk_done;
	rq->dr.opaque = rq;
	rq->head = head;
	rq->status = status;
	rq->used_len = 1;
	rq->expect = 0;
	return rq;
}

/* IN / OUT: returns a status to complete with now, or -1 when queued. */
static int blk_rw(struct virtio_blk *b, const struct vq_chain *c, uint32_t type,
		  uint64_t sector, uint8_t *status)
{
	bool in = type == VIRTIO_BLK_T_IN;
	uint64_t len = in ? c->in_len - 1 : c->out_len - BLK_HDR_LEN;
	struct blk_req *rq;
	int n;

	if (!in && disk_read_only(b->disk))
		return VIRTIO_BLK_S_IOERR;
	if (len % VIRTIO_BLK_SECTOR || !in_range(b, sector, len / VIRTIO_BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	rq = get_req(b, c->head, status);
	n = slice_iov(c, in, in ? 0 : BLK_HDR_LEN, len, rq->iov);
	if (n < 0) {
		put_req(b, rq);
		return VIRTIO_BLK_S_IOERR;
	}
	rq->dr.op = in ? DISK_READ : DISK_WRITE;
	rq->dr.iov = rq->iov;
	rq->dr.iovcnt = n;
	rq->dr.offset = sector * VIRTIO_BLK_SECTOR;
	rq->expect = len;
	/* The used length counts bytes written to the chain: data + status. */
	rq->used_len = in ? (len < UINT32_MAX ? (uint32_t)len + 1 : UINT32_MAX) : 1;
	disk_queue(b->disk, &rq->dr);
	return -1;
}

/* DISCARD / WRITE_ZEROES with one segment (max_*_seg is 1). */
static int blk_zero(struct virtio_blk *b, const struct vq_chain *c, uint32_t type,
		    uint8_t *status)
{
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	uint8_t seg[BLK_SEG_LEN];
	uint64_t sector;
	uint32_t count, flags;
	struct blk_req *rq;

	if (disk_read_only(b->disk))
		return VIRTIO_BLK_S_IOERR;
	if (discard ? !disk_can_discard(b->disk) : !disk_can_write_zeroes(b->disk))
		return VIRTIO_BLK_S_UNSUPP;
	if (c->out_len - BLK_HDR_LEN != BLK_SEG_LEN ||
	    vq_chain_read(c, BLK_HDR_LEN, seg, BLK_SEG_LEN) != BLK_SEG_LEN)
		return VIRTIO_BLK_S_IOERR;
	sector = get_le64(seg);
	count = get_le32(seg + 8);
	flags = get_le32(seg + 12);
	/* 5.2.6.2: unknown flags, or unmap on a discard, are unsupported. */
	if (discard ? flags != 0 : (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		return VIRTIO_BLK_S_UNSUPP;
	if (count > VIRTIO_BLK_MAX_DISCARD || !in_range(b, sector, count))
		return VIRTIO_BLK_S_IOERR;
	if (count == 0)
		return VIRTIO_BLK_S_OK;
	rq = get_req(b, c->head, status);
	rq->dr.op = discard ? DISK_DISCARD : DISK_WRITE_ZEROES;
	rq->dr.offset = sector * VIRTIO_BLK_SECTOR;
	rq->dr.len = (uint64_t)count * VIRTIO_BLK_SECTOR;
	rq->dr.unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	disk_queue(b->disk, &rq->dr);
	return -1;
}

static int blk_flush(struct virtio_blk *b, const struct vq_chain *c, uint8_t *status)
{
	struct blk_req *rq;

	if (disk_read_only(b->disk))
		return VIRTIO_BLK_S_OK;   /* nothing of ours to make durable */
	rq = get_req(b, c->head, status);
	rq->dr.op = DISK_FLUSH;
	disk_queue(b->disk, &rq->dr);
	return -1;
}

/* One chain; a free pool slot is guaranteed by the caller. */
static void blk_handle(struct virtio_blk *b, const struct vq_chain *c)
{
	uint8_t hdr[BLK_HDR_LEN];
	uint8_t *status = status_byte(c);
	uint32_t type;
	uint64_t sector, n;
	int st;

	if (!status) {
		virtio_mark_broken(&b->dev, "request %u has no status byte",
				   c->head);
		return;
	}
	if (c->out_len < BLK_HDR_LEN || vq_chain_read(c, 0, hdr, BLK_HDR_LEN) != BLK_HDR_LEN) {
		blk_count(b, VIRTIO_BLK_CTR_INVALID_REQS_COUNT, 1);
		finish_now(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = blk_rw(b, c, type, sector, status);
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk_count(b, VIRTIO_BLK_CTR_FLUSH_COUNT, 1);
		st = blk_flush(b, c, status);
		break;
	case VIRTIO_BLK_T_GET_ID:
		/* 20 bytes, NUL-padded; not terminated when the id is 20 long. */
		n = c->in_len - 1 < VIRTIO_BLK_ID_BYTES ? c->in_len - 1 : VIRTIO_BLK_ID_BYTES;
		n = vq_chain_write(c, 0, b->id, n);
		finish_now(b, c->head, status, VIRTIO_BLK_S_OK, (uint32_t)n + 1);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_count(b, type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_CTR_DISCARD_COUNT :
			 VIRTIO_BLK_CTR_WRITE_ZEROES_COUNT, 1);
		st = blk_zero(b, c, type, status);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (st > VIRTIO_BLK_S_OK)
		blk_count(b, VIRTIO_BLK_CTR_INVALID_REQS_COUNT, 1);
	if (st >= 0)
		finish_now(b, c->head, status, (uint8_t)st, 1);
}

/* ---- the queue ---- */

static void blk_process(struct virtio_blk *b)
{
	struct virtio_dev *d = &b->dev;
	struct virtqueue *vq = &d->vq[0];
	unsigned budget = vq->size;
	uint64_t one = 1;

	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || d->broken || !vq->ready || b->quiesce)
		return;
	/* No kicks while we are looking anyway. */
	vq_set_notify(vq, d->mem, false);
	for (unsigned n = 0;; n++) {
		int r;

		if (!b->free_list) {
			/* Completions will bring us back; until then kicks
			 * would only wake us for nothing. */
			b->stalled = true;
			blk_count(b, VIRTIO_BLK_CTR_IO_ENGINE_THROTTLED_EVENTS, 1);
			break;
		}
		if (n == budget) {
			if (write(d->notify_fd[0], &one, sizeof(one)) < 0)
				vq_set_notify(vq, d->mem, true);
			break;
		}
		/* An empty ring re-arms kicks and looks again (vq_pop). */
		r = vq_pop(vq, d->mem, &b->chain);
		if (r == 0) {
			if (n == 0)
				blk_count(b, VIRTIO_BLK_CTR_NO_AVAIL_BUFFER, 1);
			break;
		}
		if (r < 0) {
			virtio_mark_broken(d, "malformed request queue");
			break;
		}
		blk_handle(b, &b->chain);
		if (d->broken)
			break;
	}
	disk_submit(b->disk);
}

static void blk_queue_notify(struct virtio_dev *d, int q)
{
	if (q == 0)
		blk_process(to_blk(d));
}

/* The disk's completion eventfd (event-loop thread). */
static void blk_disk_event(void *opaque, int fd, uint32_t events)
{
	struct virtio_blk *b = opaque;

	pthread_mutex_lock(&b->dev.lock);
	disk_process(b->disk);
	if (b->stalled && b->free_list) {
		b->stalled = false;
		blk_process(b);
	}
	pthread_mutex_unlock(&b->dev.lock);
}

/* Drop requests the disk has not started and wait for the others; the
 * guest's buffers and rings are left alone from here on. */
static void blk_quiesce(struct virtio_blk *b)
{
	b->quiesce = true;
	disk_cancel(b->disk);
	b->quiesce = false;
	b->stalled = false;
}

static void blk_reset(struct virtio_dev *d)
{
	blk_quiesce(to_blk(d));
}

static void blk_start(struct virtio_dev *d)
{
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct virtio_blk *b = to_blk(d);

	virtio_config_copy(b->config, sizeof(b->config), off, data, len);
}

static void blk_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			     uint32_t len)
{
	/* Only writeback is writable, and CONFIG_WCE is not offered. */
	blk_count(to_blk(d), VIRTIO_BLK_CTR_CFG_FAILS, 1);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_notify = blk_queue_notify,
	.start = blk_start,
	.reset = blk_reset,
};

/* ---- construction ---- */

static void blk_fill_config(struct virtio_blk *b)
{
	uint8_t *c = b->config;
	struct virtio_dev *d = &b->dev;

	put_le64(c + VIRTIO_BLK_CFG_CAPACITY, b->capacity);
	put_le32(c + VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX);
	put_le32(c + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
	put_le32(c + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
	put_le16(c + VIRTIO_BLK_CFG_NUM_QUEUES, 1);
	d->device_features = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
			     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;
	if (disk_read_only(b->disk)) {
		d->device_features |= 1ULL << VIRTIO_BLK_F_RO;
		return;
	}
	if (disk_can_discard(b->disk)) {
		d->device_features |= 1ULL << VIRTIO_BLK_F_DISCARD;
		put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DISCARD);
		put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
		put_le32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, BLK_ALIGN);
	}
	if (disk_can_write_zeroes(b->disk)) {
		d->device_features |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
		put_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, VIRTIO_BLK_MAX_DISCARD);
		put_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
		c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = disk_can_unmap_zeroes(b->disk);
	}
}

struct virtio_dev *virtio_blk_create(const struct virtio_blk_config *cfg,
				     const struct guest_mem *mem, struct event_loop *loop,
				     char *err, size_t errlen)
{
	struct virtio_blk *b;
	struct virtio_dev *d;

	if (cfg->id && strlen(cfg->id) > VIRTIO_BLK_ID_BYTES) {
		snprintf(err, errlen, "disk %s: id \"%s\" is longer than %d bytes",
			 cfg->path, cfg->id, VIRTIO_BLK_ID_BYTES);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "disk %s: out of memory", cfg->path);
		return NULL;
	}
	b->disk = disk_open(cfg->path, cfg->read_only, 0, err, errlen);
	if (!b->disk) {
		free(b);
		return NULL;
	}
	if (cfg->id)
		memcpy(b->id, cfg->id, strlen(cfg->id));
	snprintf(b->name, sizeof(b->name), "virtio-blk %s", cfg->id ? cfg->id : cfg->path);
	b->capacity = disk_size(b->disk) / VIRTIO_BLK_SECTOR;
	for (int i = VIRTIO_BLK_QUEUE_SIZE - 1; i >= 0; i--) {
		b->pool[i].blk = b;
		b->pool[i].next_free = b->free_list;
		b->free_list = &b->pool[i];
	}

	d = &b->dev;
	d->name = b->name;
	d->device_id = VIRTIO_ID_BLOCK;
	d->nr_queues = 1;
	d->queue_max = VIRTIO_BLK_QUEUE_SIZE;
	d->config_len = VIRTIO_BLK_CONFIG_LEN;
	d->ops = &blk_ops;
	d->priv = b;
	d->mem = mem;
	d->loop = loop;
	blk_fill_config(b);
	if (virtio_dev_init(d) < 0) {
		snprintf(err, errlen, "disk %s: %s", cfg->path, strerror(errno));
		goto fail;
	}
	/* No loop (unit tests of the config alone): no completions either. */
	if (loop && el_add(loop, disk_event_fd(b->disk), EPOLLIN, blk_disk_event, b) < 0) {
		snprintf(err, errlen, "disk %s: event loop: %s", cfg->path, strerror(errno));
		virtio_dev_destroy(d);
		goto fail;
	}
	return d;
fail:
	disk_close(b->disk);
	free(b);
	return NULL;
}

void virtio_blk_read_counters(const struct virtio_dev *d, uint64_t *out)
{
	const struct virtio_blk *b = d->priv;

	counters_read(b->ctr, out, VIRTIO_BLK_CTR_NR);
}

void virtio_blk_destroy(struct virtio_dev *d)
{
	struct virtio_blk *b;

	if (!d)
		return;
	b = to_blk(d);
	pthread_mutex_lock(&d->lock);
	blk_quiesce(b);
	pthread_mutex_unlock(&d->lock);
	if (d->loop)
		el_remove(d->loop, disk_event_fd(b->disk));
	virtio_dev_destroy(d);
	disk_close(b->disk);
	free(b);
}
