/* Unit tests for virtio-net behind the virtio-mmio transport, with a
 * SOCK_SEQPACKET socketpair standing in for the tap (one message = one
 * frame, as on a tap): transmit, receive into one or merged buffers, a
 * guest without receive buffers (frame kept, delivered after the kick, no
 * busy loop), reset, and hostile chains.  Also the --net option and
 * vm_config_add_net. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "virtio/virtio_net.h"
#include "vmm/config.h"
#include "virtio_mmio_driver.h"

#define RX 0
#define TX 1
#define QSIZE 64
#define F(bit) (1ULL << (bit))
/* What Linux's virtio_net takes of what landlord offers. */
#define WANT_MRG (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_F_INDIRECT_DESC) | \
		  F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF))
#define WANT_PLAIN (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC))

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct fixture {
	struct td t;
	int peer;             /* the host side of the "tap" */
};

static void start_driver(struct fixture *x, uint64_t want)
{
	td_probe(&x->t, VIRTIO_ID_NET, want);
	td_queue(&x->t, RX, QSIZE);
	td_queue(&x->t, TX, QSIZE);
	td_driver_ok(&x->t);
	td_run_loop(&x->t, 5);   /* start() hands its work to the loop */
}

static struct fixture *net_setup(void **state, uint64_t want)
{
	struct fixture *x = calloc(1, sizeof(*x));
	char err[256] = "";
	int sv[2];

	assert_non_null(x);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				    sv), 0);
	td_init(&x->t);
	struct virtio_net_config nc = { .ifname = "test0", .fd = sv[0] };
	memcpy(nc.mac, MAC, 6);
	x->t.d = virtio_net_create(&nc, &x->t.gm, &x->t.el, err, sizeof(err));
	assert_non_null(x->t.d);
	x->peer = sv[1];
	td_attach(&x->t, x->t.d);
	start_driver(x, want);
	*state = x;
	return x;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	td_detach(&x->t);
	virtio_net_destroy(x->t.d);
	if (x->peer >= 0)
		close(x->peer);
	td_fini(&x->t);
	free(x);
	return 0;
}

static struct virtio_net_stats stats(struct fixture *x)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(x->t.d, &s);
	return s;
}

/* A frame whose bytes tell where they are: seed ^ offset. */
static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed ^ i ^ (i >> 8));
}

static void host_send(struct fixture *x, size_t len, uint8_t seed)
{
	uint8_t *f = malloc(len);

	make_frame(f, len, seed);
	assert_int_equal(send(x->peer, f, len, 0), (ssize_t)len);
	free(f);
}

/* One frame the device wrote to the tap, or -1. */
static ssize_t host_recv(struct fixture *x, uint8_t *buf, size_t len)
{
	return recv(x->peer, buf, len, MSG_DONTWAIT);
}

/* A transmit chain: the header in two pieces (hdr_split bytes, then the
 * rest), then the frame in two descriptors.  Returns the head. */
static uint16_t post_tx(struct fixture *x, const uint8_t *frame, uint32_t len)
{
	struct td *t = &x->t;
	uint64_t h = td_alloc(t, VIRTIO_NET_HDR_LEN, 8), a = td_alloc(t, len, 8);
	uint32_t first = len / 3;

	memset(td_host(t, h, VIRTIO_NET_HDR_LEN), 0, VIRTIO_NET_HDR_LEN);
	memcpy(td_host(t, a, len), frame, len);
	struct td_buf b[] = { { h, 5, false }, { h + 5, VIRTIO_NET_HDR_LEN - 5, false },
			      { a, first, false }, { a + first, len - first, false } };
	return td_post(t, TX, b, 4);
}

static void test_config_and_features(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint64_t f = td_device_features(t);

	assert_int_equal(td_rd(t, R_DEVICE_ID), VIRTIO_ID_NET);
	assert_true(f & F(VIRTIO_F_VERSION_1));
	assert_true(f & F(VIRTIO_NET_F_MAC));
	assert_true(f & F(VIRTIO_NET_F_STATUS));
	assert_true(f & F(VIRTIO_NET_F_MRG_RXBUF));
	/* no CSUM (0), GUEST_CSUM (1), GUEST_TSO4/6 (7, 8), HOST_TSO4 (11), CTRL_VQ (17) */
	assert_int_equal(f & (F(0) | F(1) | F(7) | F(8) | F(11) | F(17)), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(td_rdn(t, R_CONFIG + VIRTIO_NET_CFG_MAC + i, 1), MAC[i]);
	assert_int_equal(td_rdn(t, R_CONFIG + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	/* writes to config space change nothing */
	td_wrn(t, R_CONFIG, 0xffffffffffff, 6);
	assert_int_equal(td_rdn(t, R_CONFIG, 1), MAC[0]);
	assert_int_equal(td_rdn(t, R_CONFIG + 64, 4), 0);
}

static void test_tx(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	uint8_t frame[1000], got[2048];
	uint16_t head, h = 0xffff;
	uint32_t len = 1;

	make_frame(frame, sizeof(frame), 0x5a);
	head = post_tx(x, frame, sizeof(frame));
	td_kick(&x->t, TX);
	assert_int_equal(host_recv(x, got, sizeof(got)), (ssize_t)sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_true(td_used(&x->t, TX, &h, &len));
	assert_int_equal(h, head);
	assert_int_equal(len, 0);
	assert_int_equal(stats(x).tx_frames, 1);
	assert_int_equal(host_recv(x, got, sizeof(got)), -1);
}

/* Check a received frame laid out over the used buffers at gpas[]. */
static void check_rx(struct fixture *x, const uint64_t *gpa, const uint32_t *cap, int nbufs,
		     size_t frame_len, uint8_t seed, uint16_t want_num_buffers)
{
	uint8_t *want = malloc(frame_len);
	size_t off = 0;

	make_frame(want, frame_len, seed);
	for (int i = 0; i < nbufs; i++) {
		uint32_t skip = i == 0 ? VIRTIO_NET_HDR_LEN : 0;
		uint8_t *p = td_host(&x->t, gpa[i], cap[i]);
		size_t n = cap[i] - skip;

		if (i == 0) {
			static const uint8_t zero[10];

			assert_memory_equal(p, zero, 10);
			assert_int_equal(get_le16(p + VIRTIO_NET_HDR_NUM_BUFFERS),
					 want_num_buffers);
		}
		if (n > frame_len - off)
			n = frame_len - off;
		assert_memory_equal(p + skip, want + off, n);
		off += n;
	}
	assert_int_equal(off, frame_len);
	free(want);
}

static void test_rx_merged(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint64_t gpa[4];
	uint32_t cap[4] = { 512, 512, 512, 512 };
	uint16_t head[4], h;
	uint32_t len;

	for (int i = 0; i < 4; i++)
		gpa[i] = td_post1(t, RX, cap[i], true, &head[i]);
	td_kick(t, RX);
	host_send(x, 1000, 0x11);   /* 12 + 1000 bytes: 512 + 500 */
	td_run_loop(t, 20);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[0]);
	assert_int_equal(len, 512);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[1]);
	assert_int_equal(len, 500);
	assert_false(td_used(t, RX, NULL, NULL));
	check_rx(x, gpa, cap, 2, 1000, 0x11, 2);
	assert_int_equal(t->irq.level, 1);
	assert_int_equal(td_ack(t), VIRTIO_ISR_QUEUE);

	/* the next frame starts in the next buffer */
	host_send(x, 100, 0x22);
	td_run_loop(t, 20);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[2]);
	assert_int_equal(len, 112);
	check_rx(x, gpa + 2, cap + 2, 1, 100, 0x22, 1);
	assert_int_equal(stats(x).rx_frames, 2);
}

static void test_rx_single_buffers(void **state)
{
	struct fixture *x = net_setup(state, WANT_PLAIN);
	struct td *t = &x->t;
	uint32_t cap = 1526, len;
	uint16_t head, h;
	uint64_t gpa = td_post1(t, RX, cap, true, &head);

	td_kick(t, RX);
	/* Too long for the buffer, and buffers cannot be merged: dropped;
	 * the buffer waits for the next frame. */
	host_send(x, 1600, 0x33);
	host_send(x, 1514, 0x44);
	td_run_loop(t, 20);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head);
	assert_int_equal(len, 1514 + VIRTIO_NET_HDR_LEN);
	check_rx(x, &gpa, &cap, 1, 1514, 0x44, 1);
	assert_int_equal(stats(x).rx_dropped, 1);
	assert_int_equal(stats(x).rx_frames, 1);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* No receive buffers: the frame read is kept, the tap is not polled in
 * a loop, and a kick after posting buffers delivers it, then the next. */
static void test_rx_waits_for_buffers(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint64_t gpa[2];
	uint32_t cap[2] = { 2048, 2048 }, len;
	uint16_t head[2], h;
	double cpu;

	host_send(x, 1200, 0x55);
	host_send(x, 60, 0x66);
	cpu = cpu_seconds();
	td_run_loop(t, 200);
	cpu = cpu_seconds() - cpu;
	assert_true(cpu < 0.1);   /* a busy loop would burn the whole 200 ms */
	assert_false(td_used(t, RX, NULL, NULL));
	assert_int_equal(stats(x).rx_dropped, 0);

	for (int i = 0; i < 2; i++)
		gpa[i] = td_post1(t, RX, cap[i], true, &head[i]);
	td_kick(t, RX);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[0]);
	assert_int_equal(len, 1212);
	check_rx(x, gpa, cap, 1, 1200, 0x55, 1);
	td_run_loop(t, 20);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[1]);
	assert_int_equal(len, 72);
	check_rx(x, gpa + 1, cap + 1, 1, 60, 0x66, 1);
	assert_int_equal(stats(x).rx_frames, 2);

	/* Half a frame's worth of buffers: taken back, the frame waits. */
	gpa[0] = td_post1(t, RX, 1000, true, &head[0]);
	td_kick(t, RX);
	host_send(x, 1500, 0x77);
	td_run_loop(t, 50);
	assert_false(td_used(t, RX, NULL, NULL));
	/* EVENT_IDX: avail_event asks for a kick on the very next buffer. */
	struct td_queue *tq = &t->q[RX];
	assert_int_equal(get_le16(td_host(t, tq->used + 4 + 8ULL * tq->size, 2)), tq->avail_idx);
	gpa[1] = td_post1(t, RX, 1000, true, &head[1]);
	td_kick(t, RX);
	cap[0] = cap[1] = 1000;
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[0]);
	assert_int_equal(len, 1000);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(h, head[1]);
	assert_int_equal(len, 512);
	check_rx(x, gpa, cap, 2, 1500, 0x77, 2);
}

/* Many frames, more than a burst: all arrive, in order. */
static void test_rx_many(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint64_t gpa[QSIZE];
	uint32_t cap = 256, len;
	uint16_t h;

	for (int i = 0; i < QSIZE; i++)
		gpa[i] = td_post1(t, RX, cap, true, NULL);
	td_kick(t, RX);
	for (int i = 0; i < 100; i++)
		host_send(x, 200, (uint8_t)i);
	td_run_loop(t, 50);
	for (int i = 0; i < QSIZE; i++) {
		assert_true(td_used(t, RX, &h, &len));
		assert_int_equal(len, 212);
		check_rx(x, &gpa[i], &cap, 1, 200, (uint8_t)i, 1);
	}
	assert_false(td_used(t, RX, NULL, NULL));
	/* the rest waited in the "tap" and one in the device */
	for (int i = 0; i < QSIZE; i++)
		gpa[i] = td_post1(t, RX, cap, true, NULL);
	td_kick(t, RX);
	td_run_loop(t, 50);
	for (int i = 0; i < 100 - QSIZE; i++) {
		assert_true(td_used(t, RX, &h, &len));
		check_rx(x, &gpa[i], &cap, 1, 200, (uint8_t)(QSIZE + i), 1);
	}
	assert_false(td_used(t, RX, NULL, NULL));
	assert_int_equal(stats(x).rx_frames, 100);
}

/* A frame pending when the driver resets is dropped; frames that came
 * later wait in the tap for the new driver. */
static void test_reset_drops_pending(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint64_t gpa;
	uint32_t cap = 2048, len;
	uint16_t head, h;

	host_send(x, 300, 0x01);
	td_run_loop(t, 20);          /* read, no buffers: pending */
	td_wr(t, R_STATUS, 0);
	host_send(x, 400, 0x02);
	td_run_loop(t, 20);          /* not watched while reset */
	start_driver(x, WANT_MRG);
	gpa = td_post1(t, RX, cap, true, &head);
	td_kick(t, RX);
	td_run_loop(t, 20);
	assert_true(td_used(t, RX, &h, &len));
	assert_int_equal(len, 412);
	check_rx(x, &gpa, &cap, 1, 400, 0x02, 1);
}

/* Malformed transmit chains are dropped and returned; the queue goes on. */
static void test_hostile_tx(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint8_t got[256];
	uint32_t len;
	uint16_t h;
	int n = 0;

	/* header too short */
	td_post1(t, TX, 8, false, NULL);
	/* write-only */
	td_post1(t, TX, 100, true, NULL);
	/* readable, then writable */
	uint64_t a = td_alloc(t, 100, 8), b = td_alloc(t, 100, 8);
	struct td_buf rw[] = { { a, 100, false }, { b, 100, true } };
	td_post(t, TX, rw, 2);
	/* a frame of 65551 bytes: too long */
	uint64_t big = td_alloc(t, 65551 + VIRTIO_NET_HDR_LEN, 8);
	struct td_buf bb = { big, 65551 + VIRTIO_NET_HDR_LEN, false };
	td_post(t, TX, &bb, 1);
	/* header, but only 10 bytes of frame */
	td_post1(t, TX, VIRTIO_NET_HDR_LEN + 10, false, NULL);
	td_kick(t, TX);
	while (td_used(t, TX, &h, &len)) {
		assert_int_equal(len, 0);
		n++;
	}
	assert_int_equal(n, 5);
	assert_int_equal(host_recv(x, got, sizeof(got)), -1);
	assert_int_equal(stats(x).tx_errors, 5);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);

	/* The largest frame allowed goes out. */
	uint8_t *frame = malloc(VIRTIO_NET_MAX_FRAME), *rx = malloc(VIRTIO_NET_MAX_FRAME + 1);
	make_frame(frame, VIRTIO_NET_MAX_FRAME, 0x99);
	post_tx(x, frame, VIRTIO_NET_MAX_FRAME);
	td_kick(t, TX);
	assert_int_equal(host_recv(x, rx, VIRTIO_NET_MAX_FRAME + 1), VIRTIO_NET_MAX_FRAME);
	assert_memory_equal(rx, frame, VIRTIO_NET_MAX_FRAME);
	assert_int_equal(stats(x).tx_frames, 1);
	free(frame);
	free(rx);
}

/* A buffer outside RAM is a broken ring: NEEDS_RESET, and a reset brings
 * the device back. */
static void test_hostile_ring(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	struct td_buf out = { TD_RAM - 16, 64, false };
	uint8_t frame[64], got[128];

	td_post(t, TX, &out, 1);
	td_kick(t, TX);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(td_used(t, TX, NULL, NULL));
	start_driver(x, WANT_MRG);
	make_frame(frame, sizeof(frame), 0x42);
	post_tx(x, frame, sizeof(frame));
	td_kick(t, TX);
	assert_int_equal(host_recv(x, got, sizeof(got)), (ssize_t)sizeof(frame));

	/* The same on the receive queue. */
	struct td_buf in = { 1ULL << 40, 2048, true };
	td_post(t, RX, &in, 1);
	td_kick(t, RX);
	host_send(x, 100, 0x43);
	td_run_loop(t, 20);
	assert_true(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(td_used(t, RX, NULL, NULL));
}

/* Receive chains without room for a header come back empty, before the
 * frame's buffers; the frame goes into the good ones around them. */
static void test_hostile_rx(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint64_t gpa[2];
	uint32_t cap[2] = { 512, 1024 }, len;
	uint16_t ro, tiny, mid, good[2], h;

	td_post1(t, RX, 64, false, &ro);        /* read-only */
	td_post1(t, RX, 4, true, &tiny);        /* smaller than the header */
	gpa[0] = td_post1(t, RX, cap[0], true, &good[0]);
	td_post1(t, RX, 4, true, &mid);         /* bad, between two good ones */
	gpa[1] = td_post1(t, RX, cap[1], true, &good[1]);
	td_kick(t, RX);
	host_send(x, 1000, 0x61);
	td_run_loop(t, 20);
	uint16_t want[] = { ro, tiny, mid, good[0], good[1] };
	uint32_t want_len[] = { 0, 0, 0, 512, 500 };
	for (int i = 0; i < 5; i++) {
		assert_true(td_used(t, RX, &h, &len));
		assert_int_equal(h, want[i]);
		assert_int_equal(len, want_len[i]);
	}
	check_rx(x, gpa, cap, 2, 1000, 0x61, 2);
	assert_int_equal(stats(x).rx_errors, 3);
	assert_int_equal(td_rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);

	/* A frame larger than the whole ring can hold: dropped. */
	for (int i = 0; i < QSIZE; i++)
		td_post1(t, RX, 16, true, NULL);
	td_kick(t, RX);
	host_send(x, QSIZE * 16, 0x62);
	host_send(x, 20, 0x63);
	td_run_loop(t, 20);
	assert_int_equal(stats(x).rx_dropped, 1);
	assert_true(td_used(t, RX, NULL, &len));
	assert_int_equal(len, 16);
	assert_true(td_used(t, RX, NULL, &len));
	assert_int_equal(len, 16);
	assert_false(td_used(t, RX, NULL, NULL));
}

/* The peer goes away: one message, the fd is no longer watched (the loop
 * would otherwise spin on the hang-up), transmit drops. */
static void test_tap_gone(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint8_t frame[64];
	double cpu;

	td_post1(t, RX, 2048, true, NULL);
	td_kick(t, RX);
	close(x->peer);
	x->peer = -1;
	cpu = cpu_seconds();
	td_run_loop(t, 200);
	assert_true(cpu_seconds() - cpu < 0.1);
	make_frame(frame, sizeof(frame), 1);
	post_tx(x, frame, sizeof(frame));
	td_kick(t, TX);
	assert_true(td_used(t, TX, NULL, NULL));
	assert_int_equal(stats(x).tx_dropped, 1);
}

/* Random register writes, then a clean start still works. */
static void test_fuzz(void **state)
{
	struct fixture *x = net_setup(state, WANT_MRG);
	struct td *t = &x->t;
	uint8_t frame[80], got[128];

	for (unsigned seed = 1; seed <= 10; seed++) {
		host_send(x, 60, (uint8_t)seed);
		td_fuzz(t, seed, 3000);
		td_run_loop(t, 2);
	}
	start_driver(x, WANT_MRG);
	while (host_recv(x, got, sizeof(got)) >= 0)
		;
	make_frame(frame, sizeof(frame), 7);
	post_tx(x, frame, sizeof(frame));
	td_kick(t, TX);
	assert_int_equal(host_recv(x, got, sizeof(got)), (ssize_t)sizeof(frame));
}

/* ---- the --net option (config_virtio.c) ---- */

static int parse_net(struct vm_config *cfg, const char *opt, char *err, size_t errlen)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", opt);
	return vm_config_parse_net(cfg, buf, err, errlen);
}

static void test_net_option(void **state)
{
	struct vm_config cfg;
	char err[256];
	uint8_t mac[6], mac1[6];

	vm_config_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "web");
	assert_int_equal(parse_net(&cfg, "tap=llnet0,mac=52:54:00:AB:cd:01,id=eth0,transport=mmio",
				   err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_nets, 1);
	assert_string_equal(cfg.nets[0].tap, "llnet0");
	assert_string_equal(cfg.nets[0].id, "eth0");
	assert_true(cfg.nets[0].mac_set);
	vm_config_net_mac(&cfg, 0, mac);
	assert_memory_equal(mac, ((uint8_t[]){ 0x52, 0x54, 0x00, 0xab, 0xcd, 0x01 }), 6);
	assert_int_equal(vm_config_net_transport(&cfg, 0), TRANSPORT_MMIO);

	/* defaults: id netN, the VM's transport, a locally administered
	 * unicast MAC that differs per interface */
	assert_int_equal(vm_config_add_net(&cfg, "llnet1", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(vm_config_add_net(&cfg, "llnet2", NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(cfg.nets[1].id, "net1");
	assert_int_equal(vm_config_net_transport(&cfg, 1), TRANSPORT_PCI);
	vm_config_net_mac(&cfg, 1, mac);
	vm_config_net_mac(&cfg, 2, mac1);
	assert_int_equal(mac[0] & 3, 2);
	assert_memory_not_equal(mac, mac1, 6);

	/* refusals, each with a reason naming the value */
	static const struct { const char *opt, *word; } bad[] = {
		{ "tap=llnet9,mac=01:00:5e:00:00:01", "multicast" },
		{ "tap=llnet9,mac=00:00:00:00:00:00", "not a valid" },
		{ "tap=llnet9,mac=52:54:00:12:34", "52:54:00:12:34" },
		{ "tap=llnet9,mac=52:54:00:12:34:567", "52:54:00:12:34:567" },
		{ "tap=llnet9,mac=52-54-00-12-34-56", "52-54" },
		{ "tap=0123456789abcdef", "0123456789abcdef" },
		{ "tap=a/b", "a/b" },
		{ "tap=llnet0", "twice" },
		{ "tap=llnet9,id=eth0", "twice" },
		{ "tap=llnet9,id=bad id", "bad id" },
		{ "tap=llnet9,transport=isa", "isa" },
		{ "tap=llnet9,speed=10", "speed" },
		{ "mac=52:54:00:12:34:56", "tap" },
		{ "tap=", "tap" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse_net(&cfg, bad[i].opt, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].word))
			fail_msg("%s: '%s' lacks '%s'", bad[i].opt, err, bad[i].word);
	}
	assert_int_equal(cfg.nr_nets, 3);
	for (int i = 3; i < VM_MAX_NETS; i++) {
		char tap[16];

		snprintf(tap, sizeof(tap), "llnet%d", i);
		assert_int_equal(vm_config_add_net(&cfg, tap, NULL, NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(vm_config_add_net(&cfg, "llnet99", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_config_and_features, teardown),
		cmocka_unit_test_teardown(test_tx, teardown),
		cmocka_unit_test_teardown(test_rx_merged, teardown),
		cmocka_unit_test_teardown(test_rx_single_buffers, teardown),
		cmocka_unit_test_teardown(test_rx_waits_for_buffers, teardown),
		cmocka_unit_test_teardown(test_rx_many, teardown),
		cmocka_unit_test_teardown(test_reset_drops_pending, teardown),
		cmocka_unit_test_teardown(test_hostile_tx, teardown),
		cmocka_unit_test_teardown(test_hostile_ring, teardown),
		cmocka_unit_test_teardown(test_hostile_rx, teardown),
		cmocka_unit_test_teardown(test_tap_gone, teardown),
		cmocka_unit_test_teardown(test_fuzz, teardown),
		cmocka_unit_test(test_net_option),
	};

	/* A write to a socket whose peer is gone raises SIGPIPE; a tap's does not. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
