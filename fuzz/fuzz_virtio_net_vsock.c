/* libFuzzer target: virtio-net and virtio-vsock behind virtio-mmio, driven
 * by a hostile guest and a hostile host at once.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude
 *         fuzz/fuzz_virtio_net_vsock.c (the sources in fuzz/run.sh)
 *
 * Per input, everything is built afresh, as the unit tests do it: 2 MiB of
 * guest RAM, an event loop, an MMIO bus with virtio-net (its "tap" one end
 * of a SOCK_SEQPACKET socketpair) at LAYOUT_VIRTIO_MMIO and virtio-vsock
 * (its Unix socket in a per-process temporary directory, with host
 * listeners at uds_path_1234 and _1235 for guest-initiated connections)
 * one page above.  Everything is torn down at the end: no state, no fd
 * carried to the next input (FUZZ_FD_CHECK=1 checks the fd count).
 *
 * The input is a program: each operation is one opcode byte and its
 * arguments, read from the input (zeros once it runs out), at most
 * MAX_OPS of them:
 *   register reads/writes of any width and offset, a well-formed driver
 *   bring-up (features, queue sizes and ring addresses chosen by the
 *   input, or raw), raw guest-memory stores, chains posted through the
 *   harness's own driver view of a queue (direct or indirect), receive
 *   buffers, vsock packets with a well-formed or hostile header, kicks,
 *   interrupt acknowledgement, used-ring consumption, device reset,
 *   pumping the event loop without blocking; on the host side frames into
 *   and out of the tap, and Unix clients of the vsock socket that connect,
 *   send "CONNECT n\n" or anything, read, shut down and close, and
 *   accepting the device's own connections to uds_path_PORT.
 * Besides ASan/UBSan, the interrupt lines must only see 0 and 1, and every
 * frame the device writes to the tap must be an Ethernet frame it may
 * send (14 .. VIRTIO_NET_MAX_FRAME bytes). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "base/bytes.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "base/log.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "virtio/virtio.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_vsock.h"
#include "virtio/virtqueue.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM        (2ULL << 20)
#define RING_AREA  0x40000ULL            /* rings below, buffers above */
#define MAX_OPS    200
#define NDEV       2
#define DEV_NET    0
#define DEV_VSOCK  1
#define NQ         3
#define NHOST      12                    /* host-side stream sockets */
#define CID        3
#define GPORT_A    1234                  /* uds_path_1234 listens */
#define GPORT_B    1235
#define HOST_PORT0 (1u << 30)            /* the first port vsock_conn.c hands out */

/* virtio-mmio registers (4.2.2) */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEAT = 0x010, R_DEV_FEAT_SEL = 0x014, R_DRV_FEAT = 0x020,
	R_DRV_FEAT_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
	R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070, R_DESC_LO = 0x080,
	R_DESC_HI = 0x084, R_AVAIL_LO = 0x090, R_AVAIL_HI = 0x094, R_USED_LO = 0x0a0,
	R_USED_HI = 0x0a4, R_SHM_SEL = 0x0ac, R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

static const uint16_t regs[] = {
	R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR_ID, R_DEV_FEAT, R_DEV_FEAT_SEL,
	R_DRV_FEAT, R_DRV_FEAT_SEL, R_QUEUE_SEL, R_QUEUE_NUM_MAX, R_QUEUE_NUM,
	R_QUEUE_READY, R_QUEUE_NOTIFY, R_INT_STATUS, R_INT_ACK, R_STATUS, R_DESC_LO,
	R_DESC_HI, R_AVAIL_LO, R_AVAIL_HI, R_USED_LO, R_USED_HI, R_SHM_SEL,
	R_CONFIG_GEN, R_CONFIG, R_CONFIG + 4, R_CONFIG + 6, R_CONFIG + 8,
};

static const uint32_t widths[8] = { 4, 4, 4, 1, 2, 8, 3, 4 };

/* ---- the input ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct rd *r)
{
	return (uint16_t)(u8(r) | u8(r) << 8);
}

static uint32_t u32(struct rd *r)
{
	return (uint32_t)u16(r) | (uint32_t)u16(r) << 16;
}

/* len bytes of the input (zeros past its end). */
static void bytes(struct rd *r, uint8_t *dst, size_t len)
{
	size_t k = len < r->n ? len : r->n;

	memcpy(dst, r->p, k);
	memset(dst + k, 0, len - k);
	r->p += k;
	r->n -= k;
}

/* ---- the machine ---- */

/* The harness's driver view of one queue (as the unit tests' td_queue). */
struct hq {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen, next_desc;
};

struct irq_sink {
	int level;
};

struct machine {
	struct guest_mem gm;
	struct event_loop el;
	struct bus bus;
	struct irq_sink irq[NDEV];
	struct irq_line line[NDEV];
	struct virtio_dev *dev[NDEV];
	struct virtio_mmio *mmio[NDEV];
	struct hq q[NDEV][NQ];
	uint64_t heap;
	int peer;                      /* the host end of the tap */
	int glisten[2];                /* uds_path_1234, _1235 */
	int host[NHOST];               /* clients of uds_path and accepted ones */
};

static char dir[64], uds[96], gpath[2][112];
static bool fd_check, verbose;
static uint8_t big[70000];         /* frames, socket bytes */

static const uint64_t base[NDEV] = { LAYOUT_VIRTIO_MMIO, LAYOUT_VIRTIO_MMIO + 0x1000 };
static const int nqueues[NDEV] = { 2, 3 };

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

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

/* Seeds, written into an empty corpus directory on the first run: a
 * driver that brings each device up and moves data both ways, so the
 * fuzzer starts on the data paths. */
static const uint8_t seed_net[] = {
	0x00, 0x00, 0x00, 6, 6,                 /* init net, 64-entry queues */
	0x09, 0x28, 0x07,                       /* 8 receive buffers of 1526 */
	0x0e, 0x00, 100, 0,                     /* the tap brings 100 bytes */
	0x35,                                   /* pump */
	0x0c, 0x00,                             /* take the used entries */
	0x0b, 0x01, 60, 0,                      /* transmit 60 bytes */
	0x0e, 0x02, 0x01, 0x00,                 /* the tap reads them */
};
static const uint8_t seed_vsock_guest[] = {
	0x00, 0x01, 0x00, 6, 6, 3,              /* init vsock */
	0x09, 0x31, 0x0f,                       /* 16 receive buffers */
	0x0a, 0x00, 0x01, 0x00, 0x00,           /* REQUEST to port 1234 */
	0x35,
	0x0f, 0x07, 0x00,                       /* the host accepts */
	0x0a, 0x00, 0x05, 0x04, 5, 'h', 'e', 'l', 'l', 'o',   /* RW */
	0x0f, 0x04, 0x00,                       /* the host reads */
	0x0f, 0x02, 0x00, 3, 'a', 'b', 'c',     /* and answers */
	0x35, 0x0c, 0x01,
	0x0a, 0x00, 0x04, 0x03, 0x00,           /* SHUTDOWN both ways */
	0x35,
};
static const uint8_t seed_vsock_host[] = {
	0x00, 0x01, 0x00, 6, 6, 3,
	0x09, 0x31, 0x0f,
	0x0f, 0x00, 0x00,                       /* a client connects */
	0x35,
	0x0f, 0x09, 0x00,                       /* CONNECT 52 */
	0x35,
	0x0a, 0x12, 0x02, 0x00, 0x00,           /* RESPONSE from 52 */
	0x35,
	0x0f, 0x04, 0x00,                       /* the client reads OK */
	0x0f, 0x02, 0x00, 4, 'p', 'i', 'n', 'g',
	0x35, 0x0c, 0x01,
	0x0a, 0x12, 0x05, 0x04, 3, 'x', 'y', 'z',
	0x0f, 0x06, 0x00,                       /* the client closes */
	0x35, 0x0c, 0x01, 0x35,
};
static const uint8_t seed_vsock_bulk[] = {
	0x00, 0x01, 0x00, 6, 6, 3,
	0x09, 0x31, 0x0f,
	0x0a, 0x00, 0x01, 0x00, 0x00,           /* REQUEST to port 1234 */
	0x35,
	0x0f, 0x07, 0x00,                       /* the host accepts, reads nothing */
	0x8a, 0x00, 0x05, 0x00, 0x87,           /* 8 x 64 KiB of RW */
	0x35,
	0x0f, 0xe4, 0x00,                       /* the host reads some */
	0x35, 0x0c, 0x01,
	0x8a, 0x01, 0x01, 0x00, 0x7f, 0x00,     /* 64 REQUESTs from 5001.. */
	0x0a, 0x02, 0x01, 0x00, 0x00,           /* and one more */
	0x35, 0x0c, 0x01, 0x35,
};

static void write_seeds(const char *corpus)
{
	static const struct { const char *name; const uint8_t *data; size_t len; } s[] = {
		{ "seed-net", seed_net, sizeof(seed_net) },
		{ "seed-vsock-guest", seed_vsock_guest, sizeof(seed_vsock_guest) },
		{ "seed-vsock-host", seed_vsock_host, sizeof(seed_vsock_host) },
		{ "seed-vsock-bulk", seed_vsock_bulk, sizeof(seed_vsock_bulk) },
	};
	DIR *d = opendir(corpus);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return;
	while ((e = readdir(d)))
		empty &= e->d_name[0] == '.';
	closedir(d);
	for (size_t i = 0; empty && i < sizeof(s) / sizeof(s[0]); i++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", corpus, s[i].name);
		f = fopen(path, "wbx");
		if (f) {
			fwrite(s[i].data, 1, s[i].len, f);
			fclose(f);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct log_settings ls = { .level = LOG_LEVEL_OFF };

	for (int i = 1; i < *argc; i++)
		if ((*argv)[i][0] != '-')
			write_seeds((*argv)[i]);
	log_set(&ls);
	/* A write to a socket whose peer is gone raises SIGPIPE; a tap's does not. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/llfz-vsock.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(gpath[0], sizeof(gpath[0]), "%s_%d", uds, GPORT_A);
	snprintf(gpath[1], sizeof(gpath[1]), "%s_%d", uds, GPORT_B);
	atexit(cleanup_dir);
	fd_check = getenv("FUZZ_FD_CHECK") != NULL;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	return 0;
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

static int machine_init(struct machine *m)
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
static void report(struct machine *m)
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

static void machine_fini(struct machine *m)
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

static uint32_t rd32(struct machine *m, int dev, uint32_t off)
{
	uint8_t d[4] = { 0 };

	bus_access(&m->bus, base[dev] + off, d, 4, false);
	return get_le32(d);
}

static void wr32(struct machine *m, int dev, uint32_t off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	bus_access(&m->bus, base[dev] + off, d, 4, true);
}

/* Run the loop's ready handlers once, without blocking (el_run's body). */
static void pump(struct machine *m, int rounds)
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
static uint64_t alloc(struct machine *m, uint64_t len)
{
	uint64_t gpa = (m->heap + 7) & ~7ULL;

	if (len > RAM - RING_AREA)
		len = RAM - RING_AREA;
	if (gpa + len > RAM)
		gpa = RING_AREA;
	m->heap = gpa + len;
	return gpa;
}

static uint8_t *host(struct machine *m, uint64_t gpa, uint64_t len)
{
	return gm_ptr(&m->gm, gpa, len);
}

/* Driver bring-up (Linux's virtio_mmio probe, then virtio_dev_probe),
 * with the input choosing features, sizes, ring addresses and how far
 * to go. */
static void op_init(struct machine *m, struct rd *r)
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
static struct hq *postable(struct machine *m, int dev, int q)
{
	struct hq *h = &m->q[dev][q % nqueues[dev]];

	if (h->size == 0 || (h->size & (h->size - 1)) || h->size > 256)
		return NULL;
	if (!host(m, h->desc, 16ULL * h->size) || !host(m, h->avail, 6 + 2ULL * h->size + 2))
		return NULL;
	return h;
}

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Write a chain into the descriptor table (or, indirect, into a table in
 * the heap that one descriptor points to) and publish it: td_post. */
static uint16_t post(struct machine *m, struct hq *h, const struct buf *b, int n, bool indirect)
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

static void kick(struct machine *m, int dev, int q)
{
	wr32(m, dev, R_QUEUE_NOTIFY, (uint32_t)q);
}

/* A chain of 1..8 buffers of any sizes and directions, contents from the
 * input or left as they are. */
static void op_post_chain(struct machine *m, struct rd *r)
{
	uint8_t a = u8(r), c = u8(r);
	int dev = a & 1, q = (a >> 1) & 3, n = 1 + (c & 7);
	struct hq *h = postable(m, dev, q);
	struct buf b[8];

	if (!h)
		return;
	for (int i = 0; i < n; i++) {
		uint16_t l = u16(r);
		uint8_t f = u8(r);

		b[i].len = f & 0x80 ? (uint32_t)l << 4 : l % 2048;
		b[i].write = f & 1;
		b[i].gpa = f & 0x40 ? (uint64_t)u32(r) : alloc(m, b[i].len);
		if ((f & 2) && !b[i].write) {
			uint8_t *p = host(m, b[i].gpa, b[i].len);
			uint32_t k = b[i].len < 64 ? b[i].len : 64;

			if (p)
				bytes(r, p, k);
		}
	}
	post(m, h, b, n, c & 8);
	if (!(c & 0x10))
		kick(m, dev, q % nqueues[dev]);
}

/* Receive buffers: count of them, one writable buffer each (or split in
 * two, or split header / data as Linux's mergeable-less net does). */
static void op_post_rx(struct machine *m, struct rd *r)
{
	static const uint32_t sizes[8] = { 8, 12, 44, 60, 256, 1526, VSOCK_HDR_LEN + 4096, 65562 };
	uint8_t a = u8(r), c = u8(r);
	int dev = a & 1, q = (a >> 1) & 3, cnt = 1 + (c & 15);
	struct hq *h = postable(m, dev, q);

	if (!h)
		return;
	for (int i = 0; i < cnt; i++) {
		uint32_t len = sizes[(a >> 3) & 7];
		struct buf b[2] = { { alloc(m, len), len, true } };

		if (c & 0x10) {
			b[0].len = len / 2;
			b[1] = (struct buf){ b[0].gpa + len / 2, len - len / 2, true };
		}
		post(m, h, b, c & 0x10 ? 2 : 1, c & 0x20);
	}
	if (!(c & 0x40))
		kick(m, dev, q % nqueues[dev]);
}

/* A vsock packet from the guest: a header the input mostly gets right
 * (the guest's CID, the host's, stream), ports from a small set so
 * connections meet, any op, flags and credit, and a payload.  bulk: the
 * same packet up to 64 times, kicked one by one (the source port counting
 * up if asked, the payload VSOCK_MAX_PKT if asked): enough to fill a host
 * socket and our buffer behind it, the RST ring, or the connection table. */
static void op_vsock_pkt(struct machine *m, struct rd *r, bool bulk)
{
	static const uint32_t ports[8] = { GPORT_A, GPORT_B, 52, 1236, HOST_PORT0,
					   HOST_PORT0 + 1, HOST_PORT0 + 2, 0xffffffffu };
	static const uint32_t sports[4] = { 5000, 5001, 52, GPORT_A };
	uint8_t a = u8(r), op = u8(r), f = u8(r), c = bulk ? u8(r) : 0;
	struct hq *h = postable(m, DEV_VSOCK, VIRTIO_VSOCK_TXQ);
	uint32_t dlen = c & 0x80 ? VSOCK_MAX_PKT : f & 0x80 ? (uint32_t)u16(r) << 2 : u8(r);
	uint8_t hdr[VSOCK_HDR_LEN], payload[32];
	int count = bulk ? 1 + (c & 63) : 1;

	if (!h)
		return;
	put_le64(hdr + VSOCK_HDR_SRC_CID, a & 0x80 ? u8(r) : CID);
	put_le64(hdr + VSOCK_HDR_DST_CID, a & 0x40 ? u8(r) : VSOCK_HOST_CID);
	put_le32(hdr + VSOCK_HDR_SRC_PORT, sports[a & 3]);
	put_le32(hdr + VSOCK_HDR_DST_PORT, a & 0x20 ? u32(r) : ports[(a >> 2) & 7]);
	put_le32(hdr + VSOCK_HDR_LEN_OFF, f & 0x40 ? u32(r) : dlen);
	put_le16(hdr + VSOCK_HDR_TYPE, f & 0x20 ? u8(r) : VSOCK_TYPE_STREAM);
	put_le16(hdr + VSOCK_HDR_OP, op < 0xf0 ? (uint16_t)(op % 8) : op);
	put_le32(hdr + VSOCK_HDR_FLAGS, f & 3);
	put_le32(hdr + VSOCK_HDR_BUF_ALLOC, f & 0x10 ? u32(r) : 65536);
	put_le32(hdr + VSOCK_HDR_FWD_CNT, f & 8 ? u32(r) : 0);
	if (f & 4)
		bytes(r, payload, dlen < sizeof(payload) ? dlen : sizeof(payload));
	for (int i = 0; i < count; i++) {
		uint64_t hg = alloc(m, VSOCK_HDR_LEN), dg;

		if (c & 0x40)
			put_le32(hdr + VSOCK_HDR_SRC_PORT, sports[a & 3] + (uint32_t)i);
		memcpy(host(m, hg, VSOCK_HDR_LEN), hdr, VSOCK_HDR_LEN);
		if (dlen) {
			dg = alloc(m, dlen);
			if (f & 4)
				memcpy(host(m, dg, dlen), payload, dlen < 32 ? dlen : 32);
			struct buf b[2] = { { hg, VSOCK_HDR_LEN, false }, { dg, dlen, false } };
			post(m, h, b, 2, op & 8);
		} else {
			struct buf b = { hg, VSOCK_HDR_LEN, false };
			post(m, h, &b, 1, op & 8);
		}
		kick(m, DEV_VSOCK, VIRTIO_VSOCK_TXQ);
	}
}

/* A virtio-net transmit chain: a 12-byte header then a frame. */
static void op_net_tx(struct machine *m, struct rd *r)
{
	uint8_t c = u8(r);
	uint16_t l = u16(r);
	struct hq *h = postable(m, DEV_NET, VIRTIO_NET_TXQ);
	uint32_t len = c & 0x80 ? (uint32_t)l + 65000 : l % 2048;
	uint64_t g;

	if (!h)
		return;
	g = alloc(m, VIRTIO_NET_HDR_LEN + len);
	memset(host(m, g, VIRTIO_NET_HDR_LEN), 0, VIRTIO_NET_HDR_LEN);
	struct buf b[3] = { { g, VIRTIO_NET_HDR_LEN, false },
			    { g + VIRTIO_NET_HDR_LEN, len / 2, false },
			    { g + VIRTIO_NET_HDR_LEN + len / 2, len - len / 2, false } };
	if (!(c & 1))    /* header and frame in one buffer */
		b[0].len = VIRTIO_NET_HDR_LEN + len;
	post(m, h, b, c & 1 ? 3 : 1, c & 2);
	if (!(c & 4))
		kick(m, DEV_NET, VIRTIO_NET_TXQ);
}

/* The driver takes what the device used (and, with EVENT_IDX, asks to be
 * interrupted for the next one). */
static void op_consume(struct machine *m, struct rd *r)
{
	uint8_t a = u8(r);
	int dev = a & 1;
	struct hq *h = postable(m, dev, (a >> 1) & 3);
	uint8_t *used;

	if (!h || !(used = host(m, h->used, 6 + 8ULL * h->size)))
		return;
	h->used_seen = get_le16(used + 2);
	put_le16(host(m, h->avail, 6 + 2ULL * h->size) + 4 + 2 * h->size, h->used_seen);
}

static void op_mmio(struct machine *m, struct rd *r, bool is_write)
{
	uint8_t a = u8(r), o = u8(r);
	int dev = a & 1;
	uint32_t len = widths[(a >> 1) & 7];
	uint64_t off;
	uint8_t d[8];

	if (o < 0xe0)
		off = regs[o % (sizeof(regs) / sizeof(regs[0]))];
	else
		off = u16(r) & 0x1fff;          /* past the page too */
	if (off + len > 0x2000)
		len = 1;
	if (is_write) {
		uint32_t lo = u32(r);

		put_le32(d, lo);
		put_le32(d + 4, a & 0x80 ? u32(r) : 0);
	} else {
		memset(d, 0xa5, sizeof(d));
	}
	bus_access(&m->bus, base[dev] + off, d, len, is_write);
}

/* ---- host side ---- */

static int free_host_slot(struct machine *m)
{
	for (int i = 0; i < NHOST; i++)
		if (m->host[i] < 0)
			return i;
	return -1;
}

static void op_net_host(struct machine *m, struct rd *r)
{
	uint8_t a = u8(r);
	uint16_t l = u16(r);
	uint8_t buf[VIRTIO_NET_MAX_FRAME + 2];

	if (m->peer < 0)
		return;
	switch (a & 3) {
	case 0:
	case 1: {      /* a frame: mostly small, sometimes near or past the limit */
		uint32_t len = a & 0x80 ? 65500u + (l % 64) : l % 2100;

		if (len > sizeof(big))
			len = sizeof(big);
		(void)send(m->peer, big + (a >> 2), len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	}
	case 2:        /* read what the guest sent */
		for (int i = 0; i < 1 + (l & 7); i++) {
			ssize_t n = recv(m->peer, buf, sizeof(buf), MSG_DONTWAIT);

			if (n <= 0)
				break;       /* none, or EOF after our own shutdown */
			check(n >= VIRTIO_NET_MIN_FRAME && n <= VIRTIO_NET_MAX_FRAME);
		}
		break;
	case 3:        /* the tap goes away */
		if (a & 4) {
			shutdown(m->peer, SHUT_RDWR);
		} else {
			close(m->peer);
			m->peer = -1;
		}
		break;
	}
}

static void op_vsock_host(struct machine *m, struct rd *r)
{
	static const uint32_t ports[4] = { GPORT_A, 52, 0, 4294967295u };
	uint8_t a = u8(r), b = u8(r);
	int i = b % NHOST, fd = m->host[i];
	char line[64];
	int n;

	switch (a % 8) {
	case 0: {      /* a client connects to uds_path */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = free_host_slot(m), c;

		if (s < 0)
			return;
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c < 0)
			return;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(c);
			return;
		}
		m->host[s] = c;
		break;
	}
	case 1:        /* CONNECT n */
		if (fd < 0)
			return;
		n = snprintf(line, sizeof(line), "CONNECT %u%s\n",
			     a & 0x80 ? u32(r) : ports[(a >> 3) & 3], a & 0x40 ? "\r" : "");
		(void)send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 2: {      /* anything */
		uint8_t raw[48];
		uint8_t k = u8(r) % sizeof(raw);

		if (fd < 0)
			return;
		bytes(r, raw, k);
		(void)send(fd, raw, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	}
	case 3:        /* lots: fills the guest's credit and the socket */
		if (fd < 0)
			return;
		(void)send(fd, big, a & 0x80 ? sizeof(big) : 5000, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 4: {      /* read what the guest sent */
		uint8_t sink[4096];

		if (fd < 0)
			return;
		for (int k = 0; k < 1 + (a >> 5); k++)
			if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
				break;
		break;
	}
	case 5:        /* half-close */
		if (fd >= 0)
			shutdown(fd, a & 0x80 ? SHUT_RDWR : SHUT_WR);
		break;
	case 6:        /* close */
		if (fd >= 0) {
			close(fd);
			m->host[i] = -1;
		}
		break;
	case 7: {      /* accept what the device connected to uds_path_PORT */
		int s = free_host_slot(m), c;

		if (s < 0 || m->glisten[(a >> 3) & 1] < 0)
			return;
		c = accept4(m->glisten[(a >> 3) & 1], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0)
			m->host[s] = c;
		break;
	}
	}
}

/* ---- the program ---- */

static void run(struct machine *m, struct rd *r)
{
	for (int ops = 0; ops < MAX_OPS && r->n; ops++) {
		uint8_t op = u8(r);

		switch (op % 16) {
		case 0:
		case 1:
			op_init(m, r);
			break;
		case 2:
			op_mmio(m, r, true);
			break;
		case 3:
			op_mmio(m, r, false);
			break;
		case 4: {          /* raw guest store: anywhere, or near a ring */
			uint8_t a = u8(r), k = u8(r) % 64;
			struct hq *h = &m->q[a & 1][(a >> 1) % NQ];
			uint64_t gpa = a & 0x10 ? (uint64_t)u32(r) % RAM :
				       ((a & 8 ? h->avail : h->used) + u8(r)) % RAM;
			uint8_t *p = host(m, gpa, k);

			if (p)
				bytes(r, p, k);
			break;
		}
		case 5:
		case 6:
			pump(m, 1 + (op >> 4) % 4);
			break;
		case 7: {          /* kick, any queue index */
			uint8_t a = u8(r);

			kick(m, a & 1, (a >> 1) % 5);
			break;
		}
		case 8:
			op_post_chain(m, r);
			break;
		case 9:
			op_post_rx(m, r);
			break;
		case 10:
			op_vsock_pkt(m, r, op & 0x80);
			break;
		case 11:
			op_net_tx(m, r);
			break;
		case 12:
			op_consume(m, r);
			break;
		case 13: {         /* interrupt handler / reset */
			uint8_t a = u8(r);
			int dev = a & 1;

			if (a & 2)
				wr32(m, dev, R_STATUS, 0);
			else
				wr32(m, dev, R_INT_ACK, rd32(m, dev, R_INT_STATUS));
			break;
		}
		case 14:
			op_net_host(m, r);
			break;
		case 15:
			op_vsock_host(m, r);
			break;
		}
	}
	pump(m, 4);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct machine m;   /* big: not on the stack */
	struct rd r = { data, size };
	int fds = fd_check ? count_fds() : 0;

	machine_init(&m);
	run(&m, &r);
	if (verbose)
		report(&m);
	machine_fini(&m);
	if (fd_check && count_fds() != fds) {
		fprintf(stderr, "fd leak: %d before, %d after\n", fds, count_fds());
		abort();
	}
	return 0;
}
