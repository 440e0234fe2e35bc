/* libFuzzer target: virtio-net and virtio-vsock behind virtio-mmio, driven
 * by a hostile guest and a hostile host at once.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude
 *         fuzz/fuzz_virtio_net_vsock.c fuzz/fuzz_virtio_harness.c
 *         (and the sources in fuzz/run.sh)
 *
 * Per input, everything is built afresh, as the unit tests do it: 2 MiB of
 * guest RAM, an event loop, an MMIO bus with virtio-net (its "tap" one end
 * of a SOCK_SEQPACKET socketpair) at LAYOUT_VIRTIO_MMIO and virtio-vsock
 * (its Unix socket in a per-process temporary directory, with host
 * listeners at uds_path_1234 and _1235 for guest-initiated connections)
 * one page above.  Everything is torn down at the end: no state, no fd
 * carried to the next input (FUZZ_FD_CHECK=1 checks the fd count).  That
 * machine and the harness's driver view of the queues are in
 * fuzz_virtio_harness.c; the program and its operations are here.
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
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/log.h"
#include "devices/bus.h"
#include "virtio/virtio.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_vsock.h"
#include "virtio/virtqueue.h"

#include "fuzz_virtio_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS    200

static const uint16_t regs[] = {
	R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR_ID, R_DEV_FEAT, R_DEV_FEAT_SEL,
	R_DRV_FEAT, R_DRV_FEAT_SEL, R_QUEUE_SEL, R_QUEUE_NUM_MAX, R_QUEUE_NUM,
	R_QUEUE_READY, R_QUEUE_NOTIFY, R_INT_STATUS, R_INT_ACK, R_STATUS, R_DESC_LO,
	R_DESC_HI, R_AVAIL_LO, R_AVAIL_HI, R_USED_LO, R_USED_HI, R_SHM_SEL,
	R_CONFIG_GEN, R_CONFIG, R_CONFIG + 4, R_CONFIG + 6, R_CONFIG + 8,
};

static const uint32_t widths[8] = { 4, 4, 4, 1, 2, 8, 3, 4 };

static bool fd_check, verbose;
static uint8_t big[70000];         /* frames, socket bytes */

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
	harness_init();
	fd_check = getenv("FUZZ_FD_CHECK") != NULL;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	return 0;
}

/* ---- guest side (the driver it builds on: fuzz_virtio_harness.c) ---- */

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
