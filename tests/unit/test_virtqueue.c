/* virtqueue: the split-ring walker against rings built by hand in a real
 * guest_mem with two regions (8 MiB below the hole, 8 MiB at 4 GiB), as a
 * hostile driver could lay them out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/bytes.h"
#include "base/guest_mem.h"
#include "virtio/virtqueue.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

#define DESC   0x10000ULL
#define AVAIL  0x20000ULL
#define USED   0x30000ULL
#define ITABLE 0x40000ULL     /* indirect tables */
#define DATA   0x100000ULL
#define HIGH   (4 * GIB)      /* second region */

struct env {
	struct guest_mem gm;
	struct virtqueue vq;
	struct vq_chain chain;
	uint16_t avail_idx;   /* the driver's next avail index */
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || gm_map(&e->gm, 16 * MIB, 8 * MIB) < 0)
		return -1;
	vq_reset(&e->vq);
	e->vq.size = 16;
	e->vq.desc_gpa = DESC;
	e->vq.avail_gpa = AVAIL;
	e->vq.used_gpa = USED;
	e->vq.ready = true;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	gm_unmap(&e->gm);
	free(e);
	return 0;
}

static uint8_t *p(struct env *e, uint64_t gpa, uint64_t len)
{
	uint8_t *h = gm_ptr(&e->gm, gpa, len);

	assert_non_null(h);
	return h;
}

/* Write descriptor i of the table at table_gpa. */
static void desc(struct env *e, uint64_t table_gpa, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = p(e, table_gpa + 16ULL * i, 16);

	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

static void set_avail_idx(struct env *e, uint16_t idx)
{
	put_le16(p(e, e->vq.avail_gpa + 2, 2), idx);
}

/* Make head available, as the driver does: ring entry, then index. */
static void post(struct env *e, uint16_t head)
{
	put_le16(p(e, e->vq.avail_gpa + 4 + 2 * (e->avail_idx % e->vq.size), 2), head);
	set_avail_idx(e, ++e->avail_idx);
}

static uint16_t used_flags(struct env *e) { return get_le16(p(e, e->vq.used_gpa, 2)); }
static uint16_t used_idx(struct env *e) { return get_le16(p(e, e->vq.used_gpa + 2, 2)); }
static uint16_t avail_event(struct env *e)
{
	return get_le16(p(e, e->vq.used_gpa + 4 + 8ULL * e->vq.size, 2));
}

static void set_used_event(struct env *e, uint16_t v)
{
	put_le16(p(e, e->vq.avail_gpa + 4 + 2ULL * e->vq.size, 2), v);
}

static int pop(struct env *e) { return vq_pop(&e->vq, &e->gm, &e->chain); }

/* --- good chains --- */

static void direct_chain(void **state)
{
	struct env *e = *state;
	struct vq_chain *c = &e->chain;

	desc(e, DESC, 3, DATA, 100, VRING_DESC_F_NEXT, 7);
	desc(e, DESC, 7, DATA + 0x1000, 50, VRING_DESC_F_NEXT, 1);
	desc(e, DESC, 1, DATA + 0x2000, 200, VRING_DESC_F_WRITE, 0);
	assert_int_equal(vq_validate(&e->vq, &e->gm), 0);
	assert_int_equal(pop(e), 0);
	post(e, 3);
	assert_int_equal(pop(e), 1);
	assert_int_equal(c->head, 3);
	assert_int_equal(c->nr, 3);
	assert_int_equal(c->nr_out, 2);
	assert_int_equal(c->out_len, 150);
	assert_int_equal(c->in_len, 200);
	assert_ptr_equal(c->bufs[0].host, p(e, DATA, 100));
	assert_ptr_equal(c->bufs[2].host, p(e, DATA + 0x2000, 200));
	assert_false(c->bufs[1].write);
	assert_true(c->bufs[2].write);
	assert_int_equal(e->vq.last_avail, 1);
	assert_int_equal(pop(e), 0);
}

static void single_writable_and_readonly(void **state)
{
	struct env *e = *state;

	desc(e, DESC, 0, DATA, 8, VRING_DESC_F_WRITE, 0);
	desc(e, DESC, 1, DATA, 8, 0, 0);
	post(e, 0);
	post(e, 1);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.nr_out, 0);
	assert_int_equal(e->chain.in_len, 8);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.nr_out, 1);
	assert_int_equal(e->chain.in_len, 0);
}

static void indirect_chain(void **state)
{
	struct env *e = *state;
	struct vq_chain *c = &e->chain;

	desc(e, DESC, 5, ITABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	desc(e, ITABLE, 2, DATA + 0x100, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(e, ITABLE, 1, DATA + 0x200, 64, VRING_DESC_F_WRITE, 0);
	post(e, 5);
	assert_int_equal(pop(e), 1);
	assert_int_equal(c->head, 5);
	assert_int_equal(c->nr, 3);
	assert_int_equal(c->nr_out, 1);
	assert_int_equal(c->out_len, 16);
	assert_int_equal(c->in_len, 96);
	assert_ptr_equal(c->bufs[2].host, p(e, DATA + 0x200, 64));
}

/* Direct descriptors then an indirect one as the last (vhost accepts it). */
static void direct_then_indirect(void **state)
{
	struct env *e = *state;

	desc(e, DESC, 0, DATA, 10, VRING_DESC_F_NEXT, 1);
	desc(e, DESC, 1, ITABLE, 16, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA + 0x100, 20, VRING_DESC_F_WRITE, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.nr, 2);
	assert_int_equal(e->chain.out_len, 10);
	assert_int_equal(e->chain.in_len, 20);
}

/* Rings, tables and buffers in the region above 4 GiB, and a chain with
 * buffers in both regions. */
static void second_region(void **state)
{
	struct env *e = *state;
	struct vq_chain *c = &e->chain;

	e->vq.desc_gpa = HIGH + DESC;
	e->vq.avail_gpa = HIGH + AVAIL;
	e->vq.used_gpa = HIGH + USED;
	assert_int_equal(vq_validate(&e->vq, &e->gm), 0);
	desc(e, HIGH + DESC, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	desc(e, HIGH + DESC, 1, HIGH + 8 * MIB - 16, 16, VRING_DESC_F_NEXT, 2);
	desc(e, HIGH + DESC, 2, HIGH + ITABLE, 16, VRING_DESC_F_INDIRECT, 0);
	desc(e, HIGH + ITABLE, 0, HIGH + DATA, 100, VRING_DESC_F_WRITE, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(c->nr, 3);
	assert_ptr_equal(c->bufs[0].host, p(e, DATA, 4));
	assert_ptr_equal(c->bufs[1].host, p(e, HIGH + 8 * MIB - 16, 16));
	assert_ptr_equal(c->bufs[2].host, p(e, HIGH + DATA, 100));
	assert_int_equal(vq_push(&e->vq, &e->gm, 0, 100), 0);
	assert_int_equal(used_idx(e), 1);
	assert_int_equal(get_le32(p(e, HIGH + USED + 4, 4)), 0);
	assert_int_equal(get_le32(p(e, HIGH + USED + 8, 4)), 100);
}

static void buffer_across_regions(void **state)
{
	struct env *e = *state;

	/* Ends of both regions, one byte too far: each buffer must lie in
	 * one region, and the hole is not RAM. */
	desc(e, DESC, 0, 8 * MIB - 8, 9, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	desc(e, DESC, 0, HIGH + 8 * MIB - 8, 9, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	desc(e, DESC, 0, HIGH - 4, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
}

/* --- out of range and malformed --- */

static void rings_out_of_range(void **state)
{
	struct env *e = *state;

	e->vq.desc_gpa = 8 * MIB - 16 * 16 + 16;          /* last desc outside */
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	e->vq.desc_gpa = DESC;
	e->vq.avail_gpa = HIGH + 8 * MIB - (6 + 2 * 16) + 2;
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	e->vq.avail_gpa = AVAIL;
	e->vq.used_gpa = 8 * MIB - 132;                   /* avail_event outside */
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	assert_int_equal(vq_push(&e->vq, &e->gm, 0, 0), -1);
	e->vq.used_gpa = UINT64_MAX - 4;
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	e->vq.used_gpa = 3 * GIB;                         /* the hole */
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	e->vq.used_gpa = 8 * MIB - 136;                   /* fits (134 bytes) */
	assert_int_equal(vq_validate(&e->vq, &e->gm), 0);
}

static void rings_misaligned(void **state)
{
	struct env *e = *state;

	e->vq.desc_gpa = DESC + 8;
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	e->vq.desc_gpa = DESC;
	e->vq.avail_gpa = AVAIL + 1;
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
	e->vq.avail_gpa = AVAIL + 2;
	assert_int_equal(vq_validate(&e->vq, &e->gm), 0);
	e->vq.used_gpa = USED + 2;
	assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
}

static void queue_sizes(void **state)
{
	struct env *e = *state;
	static const uint16_t bad[] = { 0, 3, 12, 1000, 2048, 32768, 65535 };
	static const uint16_t good[] = { 1, 2, 256, 1024 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e->vq.size = bad[i];
		assert_int_equal(vq_validate(&e->vq, &e->gm), -1);
		assert_int_equal(vq_push(&e->vq, &e->gm, 0, 0), -1);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		e->vq.size = good[i];
		assert_int_equal(vq_validate(&e->vq, &e->gm), 0);
	}
	/* size 1: one descriptor, wraps every time */
	e->vq.size = 1;
	desc(e, DESC, 0, DATA, 1, 0, 0);
	for (int i = 0; i < 3; i++) {
		post(e, 0);
		assert_int_equal(pop(e), 1);
		assert_int_equal(vq_push(&e->vq, &e->gm, 0, 0), 0);
	}
	assert_int_equal(used_idx(e), 3);
}

static void buffer_out_of_range(void **state)
{
	struct env *e = *state;
	static const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ 16 * MIB, 1 }, { 8 * MIB, 1 }, { UINT64_MAX, 1 },
		{ UINT64_MAX - 7, 16 }, { DATA, 0 }, { HIGH + 8 * MIB, 1 },
		{ 0, 0xffffffff },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		desc(e, DESC, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
		desc(e, DESC, 1, bad[i].addr, bad[i].len, 0, 0);
		post(e, 0);
		assert_int_equal(pop(e), -1);
		assert_int_equal(e->vq.last_avail, e->avail_idx - 1);
		e->vq.last_avail = e->avail_idx;    /* skip it, as after a reset */
	}
}

static void bad_head_and_next(void **state)
{
	struct env *e = *state;

	post(e, 16);                                  /* head == size */
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	desc(e, DESC, 0, DATA, 8, VRING_DESC_F_NEXT, 0xffff);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	/* next beyond an indirect table's end */
	desc(e, DESC, 0, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 8, VRING_DESC_F_NEXT, 2);
	post(e, 0);
	assert_int_equal(pop(e), -1);
}

static void indirect_table_checks(void **state)
{
	struct env *e = *state;
	static const struct { uint64_t addr; uint32_t len; uint16_t flags; } bad[] = {
		{ ITABLE, 0, 0 },                          /* empty */
		{ ITABLE, 24, 0 },                         /* not a multiple of 16 */
		{ ITABLE, (VQ_MAX_CHAIN + 1) * 16, 0 },    /* too long */
		{ 8 * MIB - 16, 32, 0 },                   /* outside RAM */
		{ UINT64_MAX - 15, 16, 0 },
		{ ITABLE, 16, VRING_DESC_F_NEXT },         /* INDIRECT with NEXT */
	};

	desc(e, ITABLE, 0, DATA, 8, 0, 0);
	desc(e, ITABLE, 1, DATA, 8, 0, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		desc(e, DESC, 0, bad[i].addr, bad[i].len,
		     VRING_DESC_F_INDIRECT | bad[i].flags, 1);
		desc(e, DESC, 1, DATA, 8, 0, 0);
		post(e, 0);
		assert_int_equal(pop(e), -1);
		e->vq.last_avail = e->avail_idx;
	}
	/* the largest table is fine */
	for (uint16_t i = 0; i < VQ_MAX_CHAIN; i++)
		desc(e, ITABLE, i, DATA, 8, i + 1 < VQ_MAX_CHAIN ? VRING_DESC_F_NEXT : 0, i + 1);
	desc(e, DESC, 0, ITABLE, VQ_MAX_CHAIN * 16, VRING_DESC_F_INDIRECT, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.nr, VQ_MAX_CHAIN);
}

static void nested_indirect(void **state)
{
	struct env *e = *state;

	desc(e, DESC, 0, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	desc(e, ITABLE, 1, ITABLE + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE + 0x1000, 0, DATA, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
}

static void loops(void **state)
{
	struct env *e = *state;

	/* self loop */
	desc(e, DESC, 4, DATA, 8, VRING_DESC_F_NEXT, 4);
	post(e, 4);
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	/* 0 -> 1 -> 2 -> 0 */
	desc(e, DESC, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	desc(e, DESC, 1, DATA, 8, VRING_DESC_F_NEXT, 2);
	desc(e, DESC, 2, DATA, 8, VRING_DESC_F_NEXT, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	/* inside an indirect table: 0 -> 1 -> 0 */
	desc(e, DESC, 0, ITABLE, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	desc(e, ITABLE, 1, DATA, 8, VRING_DESC_F_NEXT, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	e->vq.last_avail = e->avail_idx;
	/* a chain through all 16 descriptors is not a loop */
	for (uint16_t i = 0; i < 16; i++)
		desc(e, DESC, i, DATA, 8, i < 15 ? VRING_DESC_F_NEXT : 0, i + 1);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.nr, 16);
}

static void chain_too_long(void **state)
{
	struct env *e = *state;

	/* 1023 direct + an indirect table of 2: 1025 buffers */
	e->vq.size = 1024;
	for (uint16_t i = 0; i < 1023; i++)
		desc(e, DESC, i, DATA, 8, VRING_DESC_F_NEXT, i + 1);
	desc(e, DESC, 1023, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	desc(e, ITABLE, 1, DATA, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	/* with a table of one it is exactly VQ_MAX_CHAIN */
	e->vq.last_avail = e->avail_idx;
	desc(e, DESC, 1023, ITABLE, 16, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.nr, VQ_MAX_CHAIN);
}

/* 1024 views of one 5 MiB buffer add up to more than the used ring's
 * 32-bit length can describe. */
static void total_length_overflow(void **state)
{
	struct env *e = *state;

	for (uint16_t i = 0; i < VQ_MAX_CHAIN; i++)
		desc(e, ITABLE, i, 2 * MIB, 5 * MIB,
		     VRING_DESC_F_WRITE | (i + 1 < VQ_MAX_CHAIN ? VRING_DESC_F_NEXT : 0), i + 1);
	desc(e, DESC, 0, ITABLE, VQ_MAX_CHAIN * 16, VRING_DESC_F_INDIRECT, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	/* 819 of them (4095 MiB) still fit */
	e->vq.last_avail = e->avail_idx;
	desc(e, ITABLE, 818, 2 * MIB, 5 * MIB, VRING_DESC_F_WRITE, 0);
	desc(e, DESC, 0, ITABLE, 819 * 16, VRING_DESC_F_INDIRECT, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.in_len, 819 * 5 * MIB);
}

static void read_after_write(void **state)
{
	struct env *e = *state;

	desc(e, DESC, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	desc(e, DESC, 1, DATA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(e, DESC, 2, DATA, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
	/* the same inside an indirect table */
	e->vq.last_avail = e->avail_idx;
	desc(e, DESC, 0, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	desc(e, ITABLE, 0, DATA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(e, ITABLE, 1, DATA, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), -1);
}

static void avail_index_jump(void **state)
{
	struct env *e = *state;

	for (uint16_t i = 0; i < 16; i++)
		desc(e, DESC, i, DATA, 8, 0, 0);
	set_avail_idx(e, 17);
	assert_int_equal(pop(e), -1);
	set_avail_idx(e, 0xffff);                     /* "behind" is a jump too */
	assert_int_equal(pop(e), -1);
	/* exactly size entries ahead is a full ring */
	for (uint16_t i = 0; i < 16; i++)
		post(e, i);
	for (uint16_t i = 0; i < 16; i++) {
		assert_int_equal(pop(e), 1);
		assert_int_equal(e->chain.head, i);
	}
	assert_int_equal(pop(e), 0);
}

static void avail_index_wraps(void **state)
{
	struct env *e = *state;

	desc(e, DESC, 0, DATA, 8, 0, 0);
	e->vq.last_avail = e->avail_idx = 65534;
	e->vq.used_idx = 65534;
	set_avail_idx(e, 65534);
	for (int i = 0; i < 4; i++) {
		post(e, 0);
		assert_int_equal(pop(e), 1);
		assert_int_equal(vq_push(&e->vq, &e->gm, 0, 8), 0);
	}
	assert_int_equal(e->vq.last_avail, 2);
	assert_int_equal(used_idx(e), 2);
	assert_int_equal(pop(e), 0);
}

static void not_ready_is_empty(void **state)
{
	struct env *e = *state;

	desc(e, DESC, 0, DATA, 8, 0, 0);
	post(e, 0);
	e->vq.ready = false;
	assert_int_equal(pop(e), 0);
	e->vq.ready = true;
	assert_int_equal(pop(e), 1);
}

/* --- used ring and notifications --- */

static void push_fills_used_ring(void **state)
{
	struct env *e = *state;

	for (uint16_t i = 0; i < 20; i++)
		assert_int_equal(vq_push(&e->vq, &e->gm, i % 16, 1000 + i), 0);
	assert_int_equal(used_idx(e), 20);
	/* slot 3 was written last by push 19 (19 % 16 == 3) */
	assert_int_equal(get_le32(p(e, USED + 4 + 8 * 3, 4)), 19 % 16);
	assert_int_equal(get_le32(p(e, USED + 4 + 8 * 3 + 4, 4)), 1019);
	assert_int_equal(vq_push(&e->vq, &e->gm, 16, 0), -1);   /* head >= size */
	assert_int_equal(used_idx(e), 20);
}

static void no_interrupt_flag(void **state)
{
	struct env *e = *state;

	assert_int_equal(vq_push(&e->vq, &e->gm, 0, 0), 0);
	assert_true(vq_need_notify(&e->vq, &e->gm));
	put_le16(p(e, AVAIL, 2), VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(vq_push(&e->vq, &e->gm, 0, 0), 0);
	assert_false(vq_need_notify(&e->vq, &e->gm));
	put_le16(p(e, AVAIL, 2), 0);
	assert_true(vq_need_notify(&e->vq, &e->gm));
}

static void event_idx_notify(void **state)
{
	struct env *e = *state;

	e->vq.event_idx = true;
	/* The flag is ignored with EVENT_IDX; the first notification after
	 * enabling always goes out. */
	put_le16(p(e, AVAIL, 2), VRING_AVAIL_F_NO_INTERRUPT);
	set_used_event(e, 100);
	assert_int_equal(vq_push(&e->vq, &e->gm, 0, 0), 0);
	assert_true(vq_need_notify(&e->vq, &e->gm));
	/* used 1 -> 3, driver wants an interrupt once entry 2 is used (idx
	 * passes 2, i.e. becomes 3) */
	set_used_event(e, 2);
	vq_push(&e->vq, &e->gm, 0, 0);
	assert_false(vq_need_notify(&e->vq, &e->gm));    /* 1 -> 2: not yet */
	vq_push(&e->vq, &e->gm, 0, 0);
	assert_true(vq_need_notify(&e->vq, &e->gm));     /* 2 -> 3 */
	vq_push(&e->vq, &e->gm, 0, 0);
	assert_false(vq_need_notify(&e->vq, &e->gm));    /* 3 -> 4: stale event */
	/* several pushes in one batch that step over the event */
	set_used_event(e, 5);
	for (int i = 0; i < 4; i++)
		vq_push(&e->vq, &e->gm, 0, 0);
	assert_true(vq_need_notify(&e->vq, &e->gm));     /* 4 -> 8 covers 5 */
	/* nothing new pushed: no notification */
	set_used_event(e, 7);
	assert_false(vq_need_notify(&e->vq, &e->gm));
}

static void event_idx_wraparound(void **state)
{
	struct env *e = *state;

	e->vq.event_idx = true;
	e->vq.used_idx = 65533;
	e->vq.signalled_used = 65533;
	e->vq.signalled_valid = true;
	set_used_event(e, 65535);
	vq_push(&e->vq, &e->gm, 0, 0);                   /* 65534 */
	assert_false(vq_need_notify(&e->vq, &e->gm));
	vq_push(&e->vq, &e->gm, 0, 0);                   /* 65535 */
	vq_push(&e->vq, &e->gm, 0, 0);                   /* 0: passes 65535 */
	assert_int_equal(e->vq.used_idx, 0);
	assert_true(vq_need_notify(&e->vq, &e->gm));
	set_used_event(e, 0);
	vq_push(&e->vq, &e->gm, 0, 0);                   /* 0 -> 1 passes 0 */
	assert_true(vq_need_notify(&e->vq, &e->gm));
	set_used_event(e, 65535);                         /* behind */
	vq_push(&e->vq, &e->gm, 0, 0);
	assert_false(vq_need_notify(&e->vq, &e->gm));
}

static void kick_suppression(void **state)
{
	struct env *e = *state;

	/* without EVENT_IDX: the flag */
	vq_set_notify(&e->vq, &e->gm, false);
	assert_int_equal(used_flags(e), VRING_USED_F_NO_NOTIFY);
	vq_set_notify(&e->vq, &e->gm, true);
	assert_int_equal(used_flags(e), 0);
	/* draining the ring turns kicks back on */
	vq_set_notify(&e->vq, &e->gm, false);
	desc(e, DESC, 0, DATA, 8, 0, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(used_flags(e), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(pop(e), 0);
	assert_int_equal(used_flags(e), 0);

	/* with EVENT_IDX: avail_event follows last_avail when re-armed */
	e->vq.event_idx = true;
	post(e, 0);
	post(e, 0);
	vq_set_notify(&e->vq, &e->gm, false);
	assert_int_equal(avail_event(e), 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(pop(e), 1);
	assert_int_equal(avail_event(e), 0);              /* busy: not touched */
	assert_int_equal(pop(e), 0);
	assert_int_equal(avail_event(e), 3);
	assert_int_equal(used_flags(e), 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);
	vq_set_notify(&e->vq, &e->gm, true);
	assert_int_equal(avail_event(e), 4);
}

/* --- copy helpers --- */

static void chain_copy_helpers(void **state)
{
	struct env *e = *state;
	uint8_t src[64], buf[64];

	for (int i = 0; i < 64; i++)
		src[i] = (uint8_t)(i + 1);
	memcpy(p(e, DATA, 3), src, 3);
	memcpy(p(e, HIGH + DATA, 5), src + 3, 5);
	memcpy(p(e, DATA + 0x100, 7), src + 8, 7);
	desc(e, DESC, 0, DATA, 3, VRING_DESC_F_NEXT, 1);
	desc(e, DESC, 1, HIGH + DATA, 5, VRING_DESC_F_NEXT, 2);
	desc(e, DESC, 2, DATA + 0x100, 7, VRING_DESC_F_NEXT, 3);
	desc(e, DESC, 3, DATA + 0x200, 4, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 4);
	desc(e, DESC, 4, HIGH + DATA + 0x200, 6, VRING_DESC_F_WRITE, 0);
	post(e, 0);
	assert_int_equal(pop(e), 1);

	memset(buf, 0, sizeof(buf));
	assert_int_equal(vq_chain_read(&e->chain, 2, buf, 8), 8);
	assert_memory_equal(buf, src + 2, 8);
	assert_int_equal(vq_chain_read(&e->chain, 0, buf, 64), 15);
	assert_memory_equal(buf, src, 15);
	assert_int_equal(vq_chain_read(&e->chain, 8, buf, 64), 7);
	assert_memory_equal(buf, src + 8, 7);
	assert_int_equal(vq_chain_read(&e->chain, 15, buf, 1), 0);
	assert_int_equal(vq_chain_read(&e->chain, UINT64_MAX, buf, 1), 0);

	assert_int_equal(vq_chain_write(&e->chain, 3, src, 64), 7);
	assert_memory_equal(p(e, DATA + 0x200 + 3, 1), src, 1);
	assert_memory_equal(p(e, HIGH + DATA + 0x200, 6), src + 1, 6);
	assert_int_equal(vq_chain_write(&e->chain, 0, src + 20, 5), 5);
	assert_memory_equal(p(e, DATA + 0x200, 4), src + 20, 4);
	assert_memory_equal(p(e, HIGH + DATA + 0x200, 1), src + 24, 1);
	assert_int_equal(vq_chain_write(&e->chain, 10, src, 5), 0);
	/* the readable buffers were not written */
	assert_memory_equal(p(e, DATA, 3), src, 3);
}

static void reset_clears(void **state)
{
	struct env *e = *state;

	e->vq.last_avail = 5;
	e->vq.event_idx = true;
	vq_reset(&e->vq);
	assert_false(e->vq.ready);
	assert_int_equal(e->vq.size, 0);
	assert_int_equal(e->vq.last_avail, 0);
	assert_false(e->vq.event_idx);
	assert_int_equal(e->vq.msix_vector, VQ_NO_VECTOR);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(direct_chain),
		T(single_writable_and_readonly),
		T(indirect_chain),
		T(direct_then_indirect),
		T(second_region),
		T(buffer_across_regions),
		T(rings_out_of_range),
		T(rings_misaligned),
		T(queue_sizes),
		T(buffer_out_of_range),
		T(bad_head_and_next),
		T(indirect_table_checks),
		T(nested_indirect),
		T(loops),
		T(chain_too_long),
		T(total_length_overflow),
		T(read_after_write),
		T(avail_index_jump),
		T(avail_index_wraps),
		T(not_ready_is_empty),
		T(push_fills_used_ring),
		T(no_interrupt_flag),
		T(event_idx_notify),
		T(event_idx_wraparound),
		T(kick_suppression),
		T(chain_copy_helpers),
		T(reset_clears),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
