/* The stub machine for fuzz_virtio_net_vsock.c, and the harness's driver:
 * built afresh per input and torn down after it (machine_init,
 * machine_fini), reached through the MMIO bus as a guest would (rd32,
 * wr32), with the event loop pumped by hand (pump), buffers carved from
 * guest RAM (alloc) and chains posted to the harness's own view of each
 * queue (op_init brings a device up, post publishes a chain). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/bytes.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_vsock.h"
#include "virtio/virtqueue.h"

#include "fuzz_virtio_harness.h"

static char dir[64], gpath[2][112];
char uds[96];

static void sink_irq(void *opaque, uint32_t gsi, int level)
{
	struct irq_sink *s = opaque;

	check(level == 0 || level == 1);
	s->level = level;
	(void)gsi;
}

static void cleanup_dir(void)
{
	unlink(gpath[0]);
	unlink(gpath[1]);
	unlink(uds);
	rmdir(dir);
}

void harness_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/llfz-vsock.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(gpath[0], sizeof(gpath[0]), "%s_%d", uds, GPORT_A);
	snprintf(gpath[1], sizeof(gpath[1]), "%s_%d", uds, GPORT_B);
	atexit(cleanup_dir);
}

static int unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int machine_init(struct machine *m)
{
	char err[256];
	int sv[2];

	memset(m, 0, sizeof(*m));
	m->peer = m->glisten[0] = m->glisten[1] = -1;
	for (int i = 0; i < NHOST; i++)
		m->host[i] = -1;
	m->heap = RING_AREA;
	if (gm_map(&m->gm, RAM, LAYOUT_PCI_HOLE) < 0)
		abort();
	if (el_init(&m->el) < 0)
		abort();
	bus_init(&m->bus, "mmio");
	for (int i = 0; i < NDEV; i++)
		m->line[i] = (struct irq_line){ .set = sink_irq, .opaque = &m->irq[i],
						.gsi = (uint32_t)(5 + i) };

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct virtio_net_config nc = { .ifname = "fuzz0", .fd = sv[0],
					.mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	m->dev[DEV_NET] = virtio_net_create(&nc, &m->gm, &m->el, err, sizeof(err));
	if (!m->dev[DEV_NET])
		abort();
	m->peer = sv[1];

	struct virtio_vsock_config vc = { .guest_cid = CID, .uds_path = uds };
	m->dev[DEV_VSOCK] = virtio_vsock_create(&vc, &m->gm, &m->el, err, sizeof(err));
	if (!m->dev[DEV_VSOCK]) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	for (int i = 0; i < NDEV; i++) {
		m->mmio[i] = virtio_mmio_create(m->dev[i], &m->bus, NULL, base[i], &m->line[i],
						err, sizeof(err));
		if (!m->mmio[i])
			abort();
	}
	m->glisten[0] = unix_listen(gpath[0]);
	m->glisten[1] = unix_listen(gpath[1]);
	return 0;
}

/* FUZZ_VERBOSE=1: what each input did, to see that the seeds get far. */
void report(struct machine *m)
{
	struct virtio_net_stats ns;
	struct virtio_vsock_stats vs;

	virtio_net_get_stats(m->dev[DEV_NET], &ns);
	virtio_vsock_get_stats(m->dev[DEV_VSOCK], &vs);
	fprintf(stderr, "net: rx %llu tx %llu rx_dropped %llu tx_errors %llu; vsock: "
		"host %llu guest %llu rst %llu to_host %llu to_guest %llu open %u\n",
		(unsigned long long)ns.rx_frames, (unsigned long long)ns.tx_frames,
		(unsigned long long)ns.rx_dropped, (unsigned long long)ns.tx_errors,
		(unsigned long long)vs.conns_host, (unsigned long long)vs.conns_guest,
		(unsigned long long)vs.rst_sent, (unsigned long long)vs.bytes_to_host,
		(unsigned long long)vs.bytes_to_guest, vs.conns_open);
}

void machine_fini(struct machine *m)
{
	for (int i = 0; i < NDEV; i++)
		virtio_mmio_destroy(m->mmio[i]);
	virtio_net_destroy(m->dev[DEV_NET]);
	virtio_vsock_destroy(m->dev[DEV_VSOCK]);
	if (m->peer >= 0)
		close(m->peer);
	for (int i = 0; i < 2; i++) {
		if (m->glisten[i] >= 0)
			close(m->glisten[i]);
		unlink(gpath[i]);
	}
	for (int i = 0; i < NHOST; i++)
		if (m->host[i] >= 0)
			close(m->host[i]);
	el_close(&m->el);
	gm_unmap(&m->gm);
}

/* ---- guest side ---- */

uint32_t rd32(struct machine *m, int dev, uint32_t off)
{
	uint8_t d[4] = { 0 };

	bus_access(&m->bus, base[dev] + off, d, 4, false);
	return get_le32(d);
}

void wr32(struct machine *m, int dev, uint32_t off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	bus_access(&m->bus, base[dev] + off, d, 4, true);
}

/* Run the loop's ready handlers once, without blocking (el_run's body). */
void pump(struct machine *m, int rounds)
{
	struct epoll_event evs[16];

	for (int k = 0; k < rounds; k++) {
		int n = epoll_wait(m->el.epfd, evs, 16, 0);

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct el_watch *w = evs[i].data.ptr;

			if (w->fd >= 0)
				w->fn(w->opaque, w->fd, evs[i].events);
		}
	}
}

/* Guest memory for buffers, above the rings; wraps around when full. */
uint64_t alloc(struct machine *m, uint64_t len)
{
	uint64_t gpa = (m->heap + 7) & ~7ULL;

	if (len > RAM - RING_AREA)
		len = RAM - RING_AREA;
	if (gpa + len > RAM)
		gpa = RING_AREA;
	m->heap = gpa + len;
	return gpa;
}

/* Driver bring-up (Linux's virtio_mmio probe, then virtio_dev_probe),
 * with the input choosing features, sizes, ring addresses and how far
 * to go. */
void op_init(struct machine *m, struct rd *r)
{
	uint8_t a = u8(r), how = u8(r);
	int dev = a & 1;
	uint64_t offered, want;

	(void)rd32(m, dev, R_MAGIC);
	(void)rd32(m, dev, R_VERSION);
	(void)rd32(m, dev, R_DEVICE_ID);
	wr32(m, dev, R_STATUS, 0);
	wr32(m, dev, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr32(m, dev, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr32(m, dev, R_DEV_FEAT_SEL, 1);
	offered = (uint64_t)rd32(m, dev, R_DEV_FEAT) << 32;
	wr32(m, dev, R_DEV_FEAT_SEL, 0);
	offered |= rd32(m, dev, R_DEV_FEAT);
	/* Mostly everything offered; sometimes a mask (VERSION_1 kept or not). */
	want = offered;
	if (how & 1)
		want &= (uint64_t)u32(r) | (how & 2 ? 1ULL << VIRTIO_F_VERSION_1 : 0);
	wr32(m, dev, R_DRV_FEAT_SEL, 1);
	wr32(m, dev, R_DRV_FEAT, (uint32_t)(want >> 32));
	wr32(m, dev, R_DRV_FEAT_SEL, 0);
	wr32(m, dev, R_DRV_FEAT, (uint32_t)want);
	wr32(m, dev, R_STATUS, rd32(m, dev, R_STATUS) | VIRTIO_STATUS_FEATURES_OK);

	for (int q = 0; q < nqueues[dev]; q++) {
		struct hq *h = &m->q[dev][q];
		uint8_t s = u8(r);
		uint64_t slot = (uint64_t)(dev * NQ + q) * 0x2000;  /* 8 KiB each: size 256 fits */

		if ((how & 4) && q == (how >> 6) % nqueues[dev])
			continue;                       /* leave one queue off */
		memset(h, 0, sizeof(*h));
		h->size = (uint16_t)(1u << (s % 9));  /* 1 .. 256 */
		if (s & 0x80)
			h->size = (uint16_t)u16(r);     /* anything, even a refused size */
		if (how & 8) {
			/* The input's own ring addresses, anywhere. */
			h->desc = u32(r);
			h->avail = u32(r);
			h->used = u32(r);
			if (s & 0x40)
				h->used |= (uint64_t)u8(r) << 32;
		} else {
			h->desc = slot;
			h->avail = slot + 0x1000;
			h->used = slot + 0x1400;
		}
		if (h->desc < RING_AREA && h->desc + 0x2000 <= RING_AREA)
			memset(host(m, slot, 0x2000), 0, 0x2000);
		wr32(m, dev, R_QUEUE_SEL, (uint32_t)q);
		(void)rd32(m, dev, R_QUEUE_NUM_MAX);
		wr32(m, dev, R_QUEUE_NUM, h->size);
		wr32(m, dev, R_DESC_LO, (uint32_t)h->desc);
		wr32(m, dev, R_DESC_HI, (uint32_t)(h->desc >> 32));
		wr32(m, dev, R_AVAIL_LO, (uint32_t)h->avail);
		wr32(m, dev, R_AVAIL_HI, (uint32_t)(h->avail >> 32));
		wr32(m, dev, R_USED_LO, (uint32_t)h->used);
		wr32(m, dev, R_USED_HI, (uint32_t)(h->used >> 32));
		wr32(m, dev, R_QUEUE_READY, 1);
		/* What the device took (a refused size leaves its own). */
		h->size = (uint16_t)(rd32(m, dev, R_QUEUE_READY) ? h->size : 0);
	}
	if (!(how & 0x10))
		wr32(m, dev, R_STATUS, rd32(m, dev, R_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	if (!(how & 0x20))
		pump(m, 4);
}

/* A queue the harness may post to: set up and a power of two. */
struct hq *postable(struct machine *m, int dev, int q)
{
	struct hq *h = &m->q[dev][q % nqueues[dev]];

	if (h->size == 0 || (h->size & (h->size - 1)) || h->size > 256)
		return NULL;
	if (!host(m, h->desc, 16ULL * h->size) || !host(m, h->avail, 6 + 2ULL * h->size + 2))
		return NULL;
	return h;
}

/* Write a chain into the descriptor table (or, indirect, into a table in
 * the heap that one descriptor points to) and publish it: td_post. */
uint16_t post(struct machine *m, struct hq *h, const struct buf *b, int n, bool indirect)
{
	uint8_t *desc = host(m, h->desc, 16ULL * h->size);
	uint8_t *avail = host(m, h->avail, 6 + 2ULL * h->size);
	uint16_t head = h->next_desc;

	if (indirect) {
		uint64_t t = alloc(m, 16ULL * (uint64_t)n);
		uint8_t *tp = host(m, t, 16ULL * (uint64_t)n);

		for (int i = 0; i < n; i++) {
			uint8_t *e = tp + 16 * i;

			put_le64(e, b[i].gpa);
			put_le32(e + 8, b[i].len);
			put_le16(e + 12, (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
						    (b[i].write ? VRING_DESC_F_WRITE : 0)));
			put_le16(e + 14, (uint16_t)(i + 1));
		}
		put_le64(desc + 16 * head, t);
		put_le32(desc + 16 * head + 8, 16u * (uint32_t)n);
		put_le16(desc + 16 * head + 12, VRING_DESC_F_INDIRECT);
		put_le16(desc + 16 * head + 14, 0);
		h->next_desc = (uint16_t)((head + 1) % h->size);
	} else {
		if (n > h->size)
			n = h->size;
		for (int i = 0; i < n; i++) {
			uint16_t idx = (uint16_t)((head + i) % h->size);
			uint8_t *e = desc + 16 * idx;

			put_le64(e, b[i].gpa);
			put_le32(e + 8, b[i].len);
			put_le16(e + 12, (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
						    (b[i].write ? VRING_DESC_F_WRITE : 0)));
			put_le16(e + 14, (uint16_t)((idx + 1) % h->size));
		}
		h->next_desc = (uint16_t)((head + n) % h->size);
	}
	put_le16(avail + 4 + 2 * (h->avail_idx % h->size), head);
	h->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	put_le16(avail + 2, h->avail_idx);
	return head;
}
