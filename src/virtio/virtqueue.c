/* Split virtqueues (virtio 1.2, 2.7), device side.
 *
 * The rings live in guest RAM and the driver writes them concurrently from
 * other CPUs, so:
 *  - every ring and buffer is resolved through gm_ptr() on each use (a
 *    range must lie inside one RAM region; the second region above 4 GiB is
 *    a different mapping offset, so nothing is cached as "one mapping");
 *  - every guest-written value is read exactly once into a local before it
 *    is checked and used (no double fetch);
 *  - the ordering follows Linux's virtio_ring / vhost: acquire-load of
 *    avail->idx before the ring entries and descriptors it publishes,
 *    release-store of used->idx after the used elements, and a full fence
 *    between publishing (used idx, avail_event, flags) and reading what the
 *    driver decided from it (flags, used_event, avail idx).
 * All multi-byte fields are little-endian (virtio 1.x). */
#include <endian.h>
#include <string.h>

#include "base/bytes.h"
#include "virtio/virtqueue.h"

#define DESC_SIZE 16u

/* Offsets inside the driver area (avail) and device area (used). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   2
#define AVAIL_RING  4
#define USED_FLAGS  0
#define USED_IDX    2
#define USED_RING   4
#define USED_ELEM   8u

/* One descriptor as read from guest memory, already byte-swapped. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Host views of the three areas of a queue. */
struct rings {
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
};

static uint64_t avail_bytes(uint16_t size) { return 6 + 2 * (uint64_t)size; }
static uint64_t used_bytes(uint16_t size) { return 6 + USED_ELEM * (uint64_t)size; }

static bool size_ok(uint16_t size)
{
	return size != 0 && size <= VQ_MAX_SIZE && (size & (size - 1)) == 0;
}

/* Guest-shared 16-bit fields: single accesses, so a concurrent driver
 * write is seen whole or not at all.  The areas are checked to be aligned
 * (2.7: avail 2, used 4), so these are naturally aligned. */
static uint16_t ld16(const uint8_t *p, int order)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, order));
}

static void st16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)p, htole16(v), order);
}

/* Resolve and check the three areas.  The alignment checks are on the
 * host pointers: that is what the atomic accesses need, and the mapping
 * is page-aligned so it matches the guest-physical alignment (2.7). */
static int rings_get(const struct virtqueue *vq, const struct guest_mem *mem,
		     struct rings *r)
{
	if (!size_ok(vq->size))
		return -1;
	r->desc = gm_ptr(mem, vq->desc_gpa, (uint64_t)vq->size * DESC_SIZE);
	r->avail = gm_ptr(mem, vq->avail_gpa, avail_bytes(vq->size));
	r->used = gm_ptr(mem, vq->used_gpa, used_bytes(vq->size));
	if (!r->desc || !r->avail || !r->used)
		return -1;
	if (((uintptr_t)r->desc & 15) || ((uintptr_t)r->avail & 1) ||
	    ((uintptr_t)r->used & 3))
		return -1;
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->msix_vector = VQ_NO_VECTOR;
}

int vq_validate(const struct virtqueue *vq, const struct guest_mem *mem)
{
	struct rings r;

	return rings_get(vq, mem, &r);
}

/* Copy one descriptor out of guest memory.  The compiler barrier keeps the
 * compiler from re-reading guest memory later instead of the copy, so the
 * value checked is the value used.  No alignment is assumed: indirect
 * tables need not be aligned. */
static void desc_load(const uint8_t *p, struct desc *d)
{
	uint8_t raw[DESC_SIZE];

	memcpy(raw, p, sizeof(raw));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = get_le64(raw);
	d->len = get_le32(raw + 8);
	d->flags = get_le16(raw + 12);
	d->next = get_le16(raw + 14);
}

/* Append one data descriptor to the chain: the buffer must be guest RAM,
 * readable ones come before writable ones, and the total is bounded. */
static int chain_add(struct vq_chain *c, const struct guest_mem *mem, const struct desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	uint8_t *host;

	if (c->nr >= VQ_MAX_CHAIN || d->len == 0)
		return -1;
	host = gm_ptr(mem, d->addr, d->len);
	if (!host)
		return -1;
	if (!write && c->nr > c->nr_out)
		return -1;               /* readable after writable (2.7.4.2) */
	/* Each len is < 2^32 and nr <= VQ_MAX_CHAIN, so the sums cannot wrap;
	 * the bound is what the used ring's 32-bit length can describe. */
	if (c->out_len + c->in_len + d->len > UINT32_MAX)
		return -1;
	c->bufs[c->nr++] = (struct vq_buf){ .host = host, .len = d->len, .write = write };
	if (write) {
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

/* Switch the walk to the indirect table described by d (2.7.5.3). */
static int enter_indirect(const struct guest_mem *mem, const struct desc *d,
			  const uint8_t **table, uint32_t *table_size)
{
	if (d->flags & VRING_DESC_F_NEXT)
		return -1;               /* INDIRECT with NEXT (2.7.5.3.1) */
	if (d->len == 0 || d->len % DESC_SIZE || d->len > VQ_MAX_CHAIN * DESC_SIZE)
		return -1;
	*table = gm_ptr(mem, d->addr, d->len);
	if (!*table)
		return -1;
	*table_size = d->len / DESC_SIZE;
	return 0;
}

/* Walk the chain starting at head.  Each table (the ring's, then at most
 * one indirect one) may be visited at most table_size times: any more and
 * the chain loops. */
static int walk_chain(const struct rings *r, uint16_t size, const struct guest_mem *mem,
		      uint16_t head, struct vq_chain *c)
{
	const uint8_t *table = r->desc;
	uint32_t table_size = size, visited = 0, idx = head;
	bool indirect = false;
	struct desc d;

	c->head = head;
	c->nr = c->nr_out = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		if (idx >= table_size || ++visited > table_size)
			return -1;
		desc_load(table + idx * DESC_SIZE, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return -1;       /* nested indirect (2.7.5.3.1) */
			if (enter_indirect(mem, &d, &table, &table_size) < 0)
				return -1;
			indirect = true;
			idx = 0;
			visited = 0;
			continue;
		}
		if (chain_add(c, mem, &d) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

/* The device wants a kick for the next buffer the driver adds: clear
 * NO_NOTIFY, or with EVENT_IDX point avail_event at the next entry.
 * Only stores when the value changes, to keep the line clean. */
static void arm_notify(const struct virtqueue *vq, const struct rings *r)
{
	if (vq->event_idx) {
		uint8_t *ev = r->used + USED_RING + USED_ELEM * vq->size;

		if (ld16(ev, __ATOMIC_RELAXED) != vq->last_avail)
			st16(ev, vq->last_avail, __ATOMIC_RELAXED);
	} else {
		uint16_t f = ld16(r->used + USED_FLAGS, __ATOMIC_RELAXED);

		if (f & VRING_USED_F_NO_NOTIFY)
			st16(r->used + USED_FLAGS, f & ~VRING_USED_F_NO_NOTIFY,
			     __ATOMIC_RELAXED);
	}
}

/* Entries the driver has published and we have not taken, or -1 if the
 * index moved further than the ring holds. */
static int pending(const struct virtqueue *vq, const struct rings *r)
{
	/* Acquire: the ring entries and descriptors the driver wrote before
	 * publishing this index are visible to the reads that follow. */
	uint16_t idx = ld16(r->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->last_avail);

	return n > vq->size ? -1 : n;
}

int vq_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain)
{
	struct rings r;
	uint16_t head;
	int n;

	if (!vq->ready)
		return 0;
	if (rings_get(vq, mem, &r) < 0)
		return -1;
	n = pending(vq, &r);
	if (n == 0) {
		/* Empty: ask for a kick, then look again.  The full fence orders
		 * our store before the re-read; the driver does the mirror
		 * image (store idx, fence, read flags/avail_event), so either it
		 * sees the request or we see its buffer. */
		arm_notify(vq, &r);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		n = pending(vq, &r);
	}
	if (n <= 0)
		return n;
	head = ld16(r.avail + AVAIL_RING + 2 * (vq->last_avail & (vq->size - 1)),
		    __ATOMIC_RELAXED);
	if (walk_chain(&r, vq->size, mem, head, chain) < 0)
		return -1;
	vq->last_avail++;
	return 1;
}

int vq_push(struct virtqueue *vq, const struct guest_mem *mem, uint16_t head, uint32_t len)
{
	struct rings r;
	uint8_t *elem;

	if (rings_get(vq, mem, &r) < 0 || head >= vq->size)
		return -1;
	elem = r.used + USED_RING + USED_ELEM * (vq->used_idx & (vq->size - 1));
	/* The element is not visible to the driver until used->idx moves;
	 * the release store below orders these before it. */
	__atomic_store_n((uint32_t *)elem, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(elem + 4), htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	st16(r.used + USED_IDX, vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

/* 2.7.7.2 / Linux vring_need_event: notify if new_idx passed event since
 * old, all modulo 2^16. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_need_notify(struct virtqueue *vq, const struct guest_mem *mem)
{
	struct rings r;
	uint16_t old, event;
	bool valid;

	/* A ring that vanished cannot be read; interrupting is the safe
	 * answer (a spurious interrupt is harmless, a lost one hangs). */
	if (rings_get(vq, mem, &r) < 0)
		return true;
	/* Order the used->idx store before reading the driver's suppression
	 * state; pairs with the driver's fence after it re-enables
	 * interrupts and before it re-reads used->idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(ld16(r.avail + AVAIL_FLAGS, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = ld16(r.avail + AVAIL_RING + 2 * vq->size, __ATOMIC_RELAXED);
	return need_event(event, vq->used_idx, old);
}

void vq_set_notify(struct virtqueue *vq, const struct guest_mem *mem, bool enable)
{
	struct rings r;

	if (rings_get(vq, mem, &r) < 0)
		return;
	if (enable) {
		arm_notify(vq, &r);
		/* The caller re-checks the ring next (vq_pop); see there. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	} else if (!vq->event_idx) {
		uint16_t f = ld16(r.used + USED_FLAGS, __ATOMIC_RELAXED);

		if (!(f & VRING_USED_F_NO_NOTIFY))
			st16(r.used + USED_FLAGS, f | VRING_USED_F_NO_NOTIFY,
			     __ATOMIC_RELAXED);
	}
	/* With EVENT_IDX, disabling needs no store: avail_event stays where
	 * it was, so once the driver has gone past it, it stops kicking. */
}

/* Copy between a flat buffer and the bufs [first, first+n) of a chain,
 * starting off bytes into them.  to_chain picks the direction. */
static uint64_t chain_copy(const struct vq_buf *bufs, uint16_t n, uint64_t off,
			   uint8_t *flat, uint64_t len, bool to_chain)
{
	uint64_t done = 0;

	for (uint16_t i = 0; i < n && done < len; i++) {
		uint64_t chunk;

		if (off >= bufs[i].len) {
			off -= bufs[i].len;
			continue;
		}
		chunk = bufs[i].len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (to_chain)
			memcpy(bufs[i].host + off, flat + done, chunk);
		else
			memcpy(flat + done, bufs[i].host + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len)
{
	return chain_copy(c->bufs, c->nr_out, off, dst, len, false);
}

uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len)
{
	return chain_copy(c->bufs + c->nr_out, c->nr - c->nr_out, off,
			  (uint8_t *)src, len, true);
}
