/* libFuzzer target: the split-ring walker (src/virtio/virtqueue.c) against
 * a guest that controls every byte of its memory, the ring layout, the
 * queue size and the order of events.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude fuzz/fuzz_virtqueue.c
 *         src/virtio/virtqueue.c src/base/guest_mem.c -o fuzz_virtqueue
 *
 * Guest RAM is two 64 KiB regions, [0, 64K) and [4G, 4G+64K), so chains
 * can cross into the second region and addresses can fall in the hole.
 * Input:
 *   [0]      bit 7: raw queue size from [1..2]; else size 1 << ([0] % 11)
 *   [3..8]   desc, avail, used: 16-bit each, bit 15 picks the high region,
 *            bits 0-14 are the offset / 2
 *   [9]      bit 0 EVENT_IDX, bit 1 only pop when vq_validate passes
 *   [10..11] starting index (last_avail, used_idx), to reach wraparound
 *   [12]     number of 4-byte operations that follow
 *   ops      [op, a, b, c]: pop (and copy, and maybe push) / push /
 *            need_notify / set_notify / a guest store between steps
 *   rest     the memory image, low region then high region
 * Besides ASan/UBSan, every popped chain is checked: each buffer inside
 * guest RAM, readable before writable, lengths adding up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/guest_mem.h"
#include "virtio/virtqueue.h"

#define REGION (64u << 10)
#define HIGH   (4ULL << 30)
#define HDR    13

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint64_t ring_gpa(uint16_t v)
{
	return (v & 0x8000 ? HIGH : 0) + (uint64_t)(v & 0x7fff) * 2;
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool in_ram(const struct guest_mem *gm, const uint8_t *p, uint32_t len)
{
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (p >= r->host && len <= r->size && p - r->host <= (ptrdiff_t)(r->size - len))
			return true;
	}
	return false;
}

static void check_chain(const struct guest_mem *gm, const struct virtqueue *vq,
			const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;

	check(c->nr >= 1 && c->nr <= VQ_MAX_CHAIN && c->nr_out <= c->nr);
	check(c->head < vq->size);
	for (uint16_t i = 0; i < c->nr; i++) {
		const struct vq_buf *b = &c->bufs[i];

		check(b->len > 0 && in_ram(gm, b->host, b->len));
		check(b->write == (i >= c->nr_out));
		if (b->write)
			in += b->len;
		else
			out += b->len;
	}
	check(out == c->out_len && in == c->in_len && out + in <= UINT32_MAX);
}

/* Copy through the helpers at offsets from the op, and check the counts. */
static void exercise_chain(const struct vq_chain *c, uint8_t a, uint8_t b)
{
	static uint8_t scratch[255 * 37 + 1];  /* the largest len below */
	uint64_t off = (uint64_t)a * 97, len = (uint64_t)b * 37 + 1, n, want;

	n = vq_chain_read(c, off, scratch, len);
	want = off >= c->out_len ? 0 : c->out_len - off;
	check(n == (want < len ? want : len));
	n = vq_chain_write(c, off, scratch, len);
	want = off >= c->in_len ? 0 : c->in_len - off;
	check(n == (want < len ? want : len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem gm;
	static struct vq_chain chain;
	struct virtqueue vq;
	const uint8_t *ops;
	size_t nops, img;

	if (!gm.map && gm_map(&gm, 2 * REGION, REGION) < 0)
		abort();
	if (size < HDR)
		return 0;
	memset(gm.map, 0, gm.map_size);

	vq_reset(&vq);
	vq.size = data[0] & 0x80 ? le16(data + 1) : (uint16_t)(1u << (data[0] % 11));
	vq.desc_gpa = ring_gpa(le16(data + 3));
	vq.avail_gpa = ring_gpa(le16(data + 5));
	vq.used_gpa = ring_gpa(le16(data + 7));
	vq.event_idx = data[9] & 1;
	vq.last_avail = vq.used_idx = vq.signalled_used = le16(data + 10);
	vq.ready = true;
	nops = data[12];
	if (size - HDR < nops * 4)
		nops = (size - HDR) / 4;
	ops = data + HDR;
	img = size - HDR - nops * 4;
	if (img > gm.map_size)
		img = gm.map_size;
	memcpy(gm.map, ops + nops * 4, img);

	if ((data[9] & 2) && vq_validate(&vq, &gm) < 0)
		return 0;

	for (size_t i = 0; i < nops; i++) {
		const uint8_t *op = ops + 4 * i;
		uint16_t last = vq.last_avail;
		int r;

		switch (op[0] % 6) {
		case 0:
			r = vq_pop(&vq, &gm, &chain);
			check(r >= -1 && r <= 1);
			check(vq.last_avail == (uint16_t)(last + (r == 1)));
			if (r != 1)
				break;
			check_chain(&gm, &vq, &chain);
			exercise_chain(&chain, op[1], op[2]);
			if (op[3] & 1)
				(void)vq_push(&vq, &gm, chain.head, (uint32_t)chain.in_len);
			break;
		case 1:
			(void)vq_push(&vq, &gm, le16(op + 1), op[3]);
			break;
		case 2:
			(void)vq_need_notify(&vq, &gm);
			break;
		case 3:
			vq_set_notify(&vq, &gm, op[1] & 1);
			break;
		case 4: {
			/* the guest writes a byte anywhere between two steps */
			uint32_t off = (uint32_t)le16(op + 1) * 2 + (op[3] & 1);

			gm.map[off % gm.map_size] = op[3];
			break;
		}
		case 5:
			vq.event_idx = op[1] & 1;
			break;
		}
	}
	return 0;
}
