/* Unit tests for virtio-vsock behind the virtio-mmio transport: the guest
 * side is hand-built packets in fake guest memory, the host side real Unix
 * sockets in a temporary directory.  Host- and guest-initiated connections
 * with data both ways and shutdown, credit flow control, hostile packets,
 * the connection limit, a guest without receive buffers (no busy loop),
 * and the --vsock option / vm_config_set_vsock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "virtio/virtio_vsock.h"
#include "vmm/config.h"
#include "virtio_mmio_driver.h"

#define RX VIRTIO_VSOCK_RXQ
#define TX VIRTIO_VSOCK_TXQ
#define EV VIRTIO_VSOCK_EVQ
#define QSIZE 128
#define CID 3
#define RXBUF (VSOCK_HDR_LEN + 4096)
#define F(bit) (1ULL << (bit))

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
	uint8_t data[4096];
};

struct fixture {
	struct td t;
	char dir[40];
	char path[80];
	uint64_t rxbuf[QSIZE];   /* by head */
};

static void post_rx(struct fixture *x, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t head;
		uint64_t gpa = td_post1(&x->t, RX, RXBUF, true, &head);

		x->rxbuf[head] = gpa;
	}
	td_kick(&x->t, RX);
}

static struct fixture *setup(void **state, int rx_buffers)
{
	struct fixture *x = calloc(1, sizeof(*x));
	char err[256] = "";

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/llvsock.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/v.sock", x->dir);
	td_init(&x->t);
	struct virtio_vsock_config vc = { .guest_cid = CID, .uds_path = x->path };
	x->t.d = virtio_vsock_create(&vc, &x->t.gm, &x->t.el, err, sizeof(err));
	assert_non_null(x->t.d);
	td_attach(&x->t, x->t.d);
	td_probe(&x->t, VIRTIO_ID_VSOCK, F(VIRTIO_F_VERSION_1) | F(VIRTIO_VSOCK_F_STREAM));
	td_queue(&x->t, RX, QSIZE);
	td_queue(&x->t, TX, QSIZE);
	td_queue(&x->t, EV, 8);
	td_driver_ok(&x->t);
	td_run_loop(&x->t, 5);
	post_rx(x, rx_buffers);
	*state = x;
	return x;
}

static int teardown(void **state)
{
	struct fixture *x = *state;
	char p[200];

	td_detach(&x->t);
	virtio_vsock_destroy(x->t.d);
	td_fini(&x->t);
	/* destroy removed the listening socket; the tests' own go here */
	assert_int_equal(access(x->path, F_OK), -1);
	for (int port = 1234; port < 1240; port++) {
		snprintf(p, sizeof(p), "%s_%d", x->path, port);
		unlink(p);
	}
	assert_int_equal(rmdir(x->dir), 0);
	free(x);
	return 0;
}

static struct virtio_vsock_stats stats(struct fixture *x)
{
	struct virtio_vsock_stats s;

	virtio_vsock_get_stats(x->t.d, &s);
	return s;
}

/* A guest packet: header and payload in two descriptors, kicked. */
static void guest_send(struct fixture *x, const struct pkt *p)
{
	struct td *t = &x->t;
	uint64_t h = td_alloc(t, VSOCK_HDR_LEN, 8);
	uint8_t *hp = td_host(t, h, VSOCK_HDR_LEN);

	put_le64(hp + VSOCK_HDR_SRC_CID, p->src_cid);
	put_le64(hp + VSOCK_HDR_DST_CID, p->dst_cid);
	put_le32(hp + VSOCK_HDR_SRC_PORT, p->src_port);
	put_le32(hp + VSOCK_HDR_DST_PORT, p->dst_port);
	put_le32(hp + VSOCK_HDR_LEN_OFF, p->len);
	put_le16(hp + VSOCK_HDR_TYPE, p->type);
	put_le16(hp + VSOCK_HDR_OP, p->op);
	put_le32(hp + VSOCK_HDR_FLAGS, p->flags);
	put_le32(hp + VSOCK_HDR_BUF_ALLOC, p->buf_alloc);
	put_le32(hp + VSOCK_HDR_FWD_CNT, p->fwd_cnt);
	if (p->len && p->len <= sizeof(p->data)) {
		uint64_t d = td_alloc(t, p->len, 8);
		struct td_buf b[2] = { { h, VSOCK_HDR_LEN, false }, { d, p->len, false } };

		memcpy(td_host(t, d, p->len), p->data, p->len);
		td_post(t, TX, b, 2);
	} else {
		struct td_buf b = { h, VSOCK_HDR_LEN, false };

		td_post(t, TX, &b, 1);
	}
	td_kick(t, TX);
}

static struct pkt mk(uint32_t src_port, uint32_t dst_port, uint16_t op)
{
	return (struct pkt){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
			     .dst_port = dst_port, .type = VSOCK_TYPE_STREAM, .op = op,
			     .buf_alloc = 65536 };
}

static void guest_send_op(struct fixture *x, uint32_t sport, uint32_t dport, uint16_t op,
			  uint32_t flags, uint32_t fwd)
{
	struct pkt p = mk(sport, dport, op);

	p.flags = flags;
	p.fwd_cnt = fwd;
	guest_send(x, &p);
}

static void guest_send_data(struct fixture *x, uint32_t sport, uint32_t dport,
			    const char *s, uint32_t fwd)
{
	struct pkt p = mk(sport, dport, VSOCK_OP_RW);

	p.len = (uint32_t)strlen(s);
	p.fwd_cnt = fwd;
	memcpy(p.data, s, p.len);
	guest_send(x, &p);
}

/* The next packet the device gave the guest; the buffer is posted again. */
static bool guest_recv(struct fixture *x, struct pkt *p)
{
	uint16_t head;
	uint32_t len;
	uint8_t *b;

	if (!td_used(&x->t, RX, &head, &len))
		return false;
	assert_true(len >= VSOCK_HDR_LEN && len <= RXBUF);
	b = td_host(&x->t, x->rxbuf[head], RXBUF);
	p->src_cid = get_le64(b + VSOCK_HDR_SRC_CID);
	p->dst_cid = get_le64(b + VSOCK_HDR_DST_CID);
	p->src_port = get_le32(b + VSOCK_HDR_SRC_PORT);
	p->dst_port = get_le32(b + VSOCK_HDR_DST_PORT);
	p->len = get_le32(b + VSOCK_HDR_LEN_OFF);
	p->type = get_le16(b + VSOCK_HDR_TYPE);
	p->op = get_le16(b + VSOCK_HDR_OP);
	p->flags = get_le32(b + VSOCK_HDR_FLAGS);
	p->buf_alloc = get_le32(b + VSOCK_HDR_BUF_ALLOC);
	p->fwd_cnt = get_le32(b + VSOCK_HDR_FWD_CNT);
	assert_int_equal(p->len, len - VSOCK_HDR_LEN);
	memcpy(p->data, b + VSOCK_HDR_LEN, p->len);
	post_rx(x, 1);
	return true;
}

static void expect(struct fixture *x, struct pkt *p, uint16_t op)
{
	assert_true(guest_recv(x, p));
	assert_int_equal(p->op, op);
	assert_int_equal(p->dst_cid, CID);
	assert_int_equal(p->type, VSOCK_TYPE_STREAM);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int unix_listen(struct fixture *x, int port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%d", x->path, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 128), 0);
	return fd;
}

static ssize_t host_read(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	if (n >= 0 && (size_t)n < len)
		buf[n] = '\0';
	return n;
}

/* Host-initiated: CONNECT port, the guest's REQUEST and our RESPONSE, the
 * OK line.  Returns the host fd; *local gets the host port. */
static int host_connect(struct fixture *x, uint32_t port, uint32_t *local)
{
	char line[64], want[64];
	struct pkt p;
	int fd = unix_connect(x->path);

	td_run_loop(&x->t, 10);           /* accept */
	dprintf(fd, "CONNECT %u\n", port);
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_REQUEST);
	assert_int_equal(p.src_cid, VSOCK_HOST_CID);
	assert_int_equal(p.dst_port, port);
	assert_true(p.src_port >= 1u << 30);
	assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
	*local = p.src_port;
	guest_send_op(x, port, p.src_port, VSOCK_OP_RESPONSE, 0, 0);
	td_run_loop(&x->t, 5);
	snprintf(want, sizeof(want), "OK %u\n", p.src_port);
	assert_int_equal(host_read(fd, line, sizeof(line)), (ssize_t)strlen(want));
	assert_string_equal(line, want);
	return fd;
}

static void test_config(void **state)
{
	struct fixture *x = setup(state, 4);
	struct stat st;

	assert_int_equal(td_rd(&x->t, R_DEVICE_ID), VIRTIO_ID_VSOCK);
	assert_int_equal(td_rdn(&x->t, R_CONFIG, 4), CID);
	assert_int_equal(td_rdn(&x->t, R_CONFIG + 4, 4), 0);
	assert_true(td_device_features(&x->t) & F(VIRTIO_VSOCK_F_STREAM));
	td_wrn(&x->t, R_CONFIG, 99, 4);             /* read-only */
	assert_int_equal(td_rdn(&x->t, R_CONFIG, 4), CID);
	assert_int_equal(stat(x->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

static void test_host_initiated(void **state)
{
	struct fixture *x = setup(state, 8);
	char buf[64];
	uint32_t local;
	struct pkt p;
	int fd = host_connect(x, 52, &local);

	/* host -> guest */
	assert_int_equal(send(fd, "ping\n", 5, 0), 5);
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_RW);
	assert_int_equal(p.src_port, local);
	assert_int_equal(p.dst_port, 52);
	assert_int_equal(p.len, 5);
	assert_memory_equal(p.data, "ping\n", 5);
	/* guest -> host */
	guest_send_data(x, 52, local, "pong\n", 5);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "pong\n");
	assert_int_equal(stats(x).conns_host, 1);
	/* asked for credit: what was forwarded, and the buffer we have */
	guest_send_op(x, 52, local, VSOCK_OP_CREDIT_REQUEST, 0, 5);
	expect(x, &p, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(p.fwd_cnt, 5);
	assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
	/* the guest shuts down both ways: EOF for the host, RST for the guest */
	guest_send_op(x, 52, local, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, 5);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	expect(x, &p, VSOCK_OP_RST);
	assert_int_equal(stats(x).conns_open, 0);
	close(fd);
}

/* The host closes: the guest gets the rest of the bytes, then SHUTDOWN. */
static void test_host_closes(void **state)
{
	struct fixture *x = setup(state, 8);
	uint32_t local;
	struct pkt p;
	int fd = host_connect(x, 52, &local);

	assert_int_equal(send(fd, "bye", 3, 0), 3);
	close(fd);
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_RW);
	assert_int_equal(p.len, 3);
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_SHUTDOWN);
	assert_int_equal(p.flags, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	guest_send_op(x, 52, local, VSOCK_OP_RST, 0, 0);
	assert_int_equal(stats(x).conns_open, 0);
}

/* CONNECT to a port nobody listens on: the guest's RST closes the socket;
 * a bad command line closes it at once. */
static void test_host_refused(void **state)
{
	struct fixture *x = setup(state, 8);
	char buf[64];
	struct pkt p;
	int fd = unix_connect(x->path), bad;

	td_run_loop(&x->t, 10);
	dprintf(fd, "CONNECT 77\n");
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_REQUEST);
	guest_send_op(x, 77, p.src_port, VSOCK_OP_RST, 0, 0);
	td_run_loop(&x->t, 5);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);

	bad = unix_connect(x->path);
	td_run_loop(&x->t, 10);
	dprintf(bad, "CONNECT lots\n");
	td_run_loop(&x->t, 10);
	assert_int_equal(host_read(bad, buf, sizeof(buf)), 0);
	assert_false(guest_recv(x, &p));
	close(bad);

	/* a guest that never answers: closed after the timeout, and an RST */
	fd = unix_connect(x->path);
	td_run_loop(&x->t, 10);
	dprintf(fd, "CONNECT 78\n");
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_REQUEST);
	td_run_loop(&x->t, VSOCK_CONNECT_TIMEOUT_MS + 200);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	expect(x, &p, VSOCK_OP_RST);
	assert_int_equal(p.dst_port, 78);
	close(fd);
	assert_int_equal(stats(x).conns_open, 0);
}

static void test_guest_initiated(void **state)
{
	struct fixture *x = setup(state, 8);
	int lfd = unix_listen(x, 1234), hfd;
	char buf[64];
	struct pkt p;

	guest_send_op(x, 5000, 1234, VSOCK_OP_REQUEST, 0, 0);
	expect(x, &p, VSOCK_OP_RESPONSE);
	assert_int_equal(p.src_cid, VSOCK_HOST_CID);
	assert_int_equal(p.src_port, 1234);
	assert_int_equal(p.dst_port, 5000);
	hfd = accept(lfd, NULL, NULL);
	assert_true(hfd >= 0);
	guest_send_data(x, 5000, 1234, "hello from the guest", 0);
	assert_int_equal(host_read(hfd, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "hello from the guest");
	assert_int_equal(send(hfd, "hi", 2, 0), 2);
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_RW);
	assert_memory_equal(p.data, "hi", 2);
	assert_int_equal(stats(x).conns_guest, 1);

	/* nobody at _1235: RST */
	guest_send_op(x, 5001, 1235, VSOCK_OP_REQUEST, 0, 0);
	expect(x, &p, VSOCK_OP_RST);
	assert_int_equal(p.src_port, 1235);
	assert_int_equal(p.dst_port, 5001);
	close(hfd);
	close(lfd);
}

/* The device never sends more than the guest's buf_alloc allows, asks for
 * credit, and goes on after a CREDIT_UPDATE. */
static void test_credit(void **state)
{
	struct fixture *x = setup(state, 16);
	int lfd = unix_listen(x, 1234), hfd;
	static char big[3000];
	struct pkt p = mk(6000, 1234, VSOCK_OP_REQUEST);
	uint32_t got = 0;
	bool asked = false;

	p.buf_alloc = 1000;
	guest_send(x, &p);
	expect(x, &p, VSOCK_OP_RESPONSE);
	hfd = accept(lfd, NULL, NULL);
	memset(big, 'x', sizeof(big));
	assert_int_equal(send(hfd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	td_run_loop(&x->t, 20);
	while (guest_recv(x, &p)) {
		if (p.op == VSOCK_OP_RW)
			got += p.len;
		else
			asked |= p.op == VSOCK_OP_CREDIT_REQUEST;
	}
	assert_int_equal(got, 1000);
	assert_true(asked);
	/* the guest read 600 of them: 600 more may come */
	p = mk(6000, 1234, VSOCK_OP_CREDIT_UPDATE);
	p.buf_alloc = 1000;
	p.fwd_cnt = 600;
	guest_send(x, &p);
	td_run_loop(&x->t, 20);
	while (guest_recv(x, &p))
		if (p.op == VSOCK_OP_RW)
			got += p.len;
	assert_int_equal(got, 1600);
	close(hfd);
	close(lfd);
}

/* Our side of the credit: sending past buf_alloc resets the connection. */
static void test_guest_over_credit(void **state)
{
	struct fixture *x = setup(state, 8);
	uint32_t local;
	struct pkt p;
	int fd = host_connect(x, 52, &local), i;
	bool rst = false;

	/* The host does not read: its socket fills, then our buffer, and the
	 * guest ignores the credit it was given (fwd_cnt stays 0). */
	for (i = 0; i < 300 && !rst; i++) {
		p = mk(52, local, VSOCK_OP_RW);
		p.len = 4096;
		memset(p.data, 'a', p.len);
		guest_send(x, &p);
		while (guest_recv(x, &p))
			rst |= p.op == VSOCK_OP_RST;
	}
	assert_true(rst);
	assert_true(i > VSOCK_CONN_BUF / 4096);
	assert_int_equal(stats(x).conns_open, 0);
	close(fd);
}

static void expect_rst(struct fixture *x, uint64_t src_cid)
{
	struct pkt p;

	expect(x, &p, VSOCK_OP_RST);
	assert_int_equal(p.src_cid, src_cid);
	assert_false(guest_recv(x, &p));
}

static void test_hostile(void **state)
{
	struct fixture *x = setup(state, 16);
	struct pkt p;
	uint32_t local;
	uint64_t h = td_alloc(&x->t, 20, 8);
	struct td_buf shortb = { h, 20, false };
	int fd;

	/* a chain shorter than a header: dropped, returned */
	td_post(&x->t, TX, &shortb, 1);
	td_kick(&x->t, TX);
	assert_true(td_used(&x->t, TX, NULL, NULL));
	assert_false(guest_recv(x, &p));
	/* not from the guest's CID: dropped */
	p = mk(1, 1234, VSOCK_OP_REQUEST);
	p.src_cid = 77;
	guest_send(x, &p);
	assert_false(guest_recv(x, &p));
	/* to another CID: RST from that CID */
	p = mk(1, 1234, VSOCK_OP_REQUEST);
	p.dst_cid = 9;
	guest_send(x, &p);
	expect_rst(x, 9);
	/* len past the chain */
	p = mk(1, 1234, VSOCK_OP_RW);
	p.len = 100000;
	guest_send(x, &p);
	expect_rst(x, VSOCK_HOST_CID);
	/* an unknown op, a packet for no connection, a bad type */
	guest_send_op(x, 1, 1234, 99, 0, 0);
	expect_rst(x, VSOCK_HOST_CID);
	guest_send_data(x, 1, 1234, "stray", 0);
	expect_rst(x, VSOCK_HOST_CID);
	p = mk(1, 1234, VSOCK_OP_REQUEST);
	p.type = 2;
	guest_send(x, &p);
	expect_rst(x, VSOCK_HOST_CID);
	/* an RST for nothing is not answered */
	guest_send_op(x, 1, 1234, VSOCK_OP_RST, 0, 0);
	assert_false(guest_recv(x, &p));
	/* RW before the RESPONSE: RST, the host socket closes */
	fd = unix_connect(x->path);
	td_run_loop(&x->t, 10);
	dprintf(fd, "CONNECT 52\n");
	td_run_loop(&x->t, 10);
	expect(x, &p, VSOCK_OP_REQUEST);
	local = p.src_port;
	guest_send_data(x, 52, local, "early", 0);
	expect_rst(x, VSOCK_HOST_CID);
	assert_int_equal(host_read(fd, (char[8]){ 0 }, 8), 0);
	close(fd);
	assert_int_equal(stats(x).conns_open, 0);
	assert_int_equal(stats(x).tx_dropped, 2);
	assert_false(x->t.d->broken);
}

static void test_conn_limit(void **state)
{
	struct fixture *x = setup(state, QSIZE);
	int lfd = unix_listen(x, 1234);
	struct pkt p;
	int rsp = 0, rst = 0;

	for (uint32_t i = 0; i < VSOCK_MAX_CONNS + 1; i++)
		guest_send_op(x, 7000 + i, 1234, VSOCK_OP_REQUEST, 0, 0);
	while (guest_recv(x, &p)) {
		rsp += p.op == VSOCK_OP_RESPONSE;
		rst += p.op == VSOCK_OP_RST;
	}
	assert_int_equal(rsp, VSOCK_MAX_CONNS);
	assert_int_equal(rst, 1);
	assert_int_equal(stats(x).conns_open, VSOCK_MAX_CONNS);
	/* a host client beyond the limit sees EOF, not a hang */
	int fd = unix_connect(x->path);
	td_run_loop(&x->t, 10);
	assert_int_equal(host_read(fd, (char[8]){ 0 }, 8), 0);
	close(fd);
	close(lfd);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* No receive buffers: nothing spins; the RX kick brings the bytes. */
static void test_no_rx_buffers(void **state)
{
	struct fixture *x = setup(state, 1);
	uint32_t local, got = 0;
	struct pkt p;
	double cpu;
	int fd;

	/* the one buffer takes the REQUEST; guest_recv posts it again */
	fd = host_connect(x, 52, &local);
	/* use up that buffer with a first message, and don't post again */
	assert_int_equal(send(fd, "one", 3, 0), 3);
	td_run_loop(&x->t, 10);
	assert_true(td_used(&x->t, RX, NULL, NULL));
	assert_int_equal(send(fd, "two", 3, 0), 3);
	close(fd);                       /* HUP too: must not spin either */
	cpu = cpu_seconds();
	td_run_loop(&x->t, 200);
	cpu = cpu_seconds() - cpu;
	assert_true(cpu < 0.1);
	post_rx(x, 4);
	td_run_loop(&x->t, 10);
	while (guest_recv(x, &p))
		got += p.op == VSOCK_OP_RW ? p.len : 0;
	assert_int_equal(got, 3);
	(void)local;
}

/* A guest that resets the device: connections go, the listener stays. */
static void test_reset(void **state)
{
	struct fixture *x = setup(state, 8);
	uint32_t local;
	char buf[8];
	int fd = host_connect(x, 52, &local);

	td_wr(&x->t, R_STATUS, 0);
	assert_int_equal(stats(x).conns_open, 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);
	assert_int_equal(access(x->path, F_OK), 0);
}

static void test_vsock_option(void **state)
{
	struct vm_config cfg;
	char err[256], s[256];
	char longp[200];

	vm_config_defaults(&cfg);
	snprintf(s, sizeof(s), "cid=3,uds=/tmp/v.sock,transport=mmio");
	assert_int_equal(vm_config_parse_vsock(&cfg, s, err, sizeof(err)), 0);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.guest_cid, 3);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/v.sock");
	assert_int_equal(vm_config_vsock_transport(&cfg), TRANSPORT_MMIO);
	snprintf(s, sizeof(s), "cid=4,uds=/tmp/w.sock");
	assert_int_equal(vm_config_parse_vsock(&cfg, s, err, sizeof(err)), -1);   /* twice */

	vm_config_defaults(&cfg);
	assert_int_equal(vm_config_set_vsock(&cfg, 2, "/tmp/v", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_vsock(&cfg, 0xffffffffULL, "/tmp/v", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_vsock(&cfg, 1ULL << 32, "/tmp/v", err, sizeof(err)), -1);
	assert_int_equal(vm_config_set_vsock(&cfg, 3, "", err, sizeof(err)), -1);
	memset(longp, 'a', 97);
	longp[97] = '\0';
	assert_int_equal(vm_config_set_vsock(&cfg, 3, longp, err, sizeof(err)), -1);
	assert_false(cfg.vsock.enabled);
	longp[96] = '\0';
	assert_int_equal(vm_config_set_vsock(&cfg, 0xfffffffeULL, longp, err, sizeof(err)), 0);
	assert_int_equal(cfg.vsock.guest_cid, 0xfffffffeU);
	/* PUT /vsock again replaces it */
	assert_int_equal(vm_config_set_vsock(&cfg, 5, "/tmp/x", err, sizeof(err)), 0);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/x");

	vm_config_defaults(&cfg);
	snprintf(s, sizeof(s), "cid=3");
	assert_int_equal(vm_config_parse_vsock(&cfg, s, err, sizeof(err)), -1);
	snprintf(s, sizeof(s), "cid=x3,uds=/tmp/v");
	assert_int_equal(vm_config_parse_vsock(&cfg, s, err, sizeof(err)), -1);
	snprintf(s, sizeof(s), "cid=3,uds=/tmp/v,port=9");
	assert_int_equal(vm_config_parse_vsock(&cfg, s, err, sizeof(err)), -1);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_config, teardown),
		cmocka_unit_test_teardown(test_host_initiated, teardown),
		cmocka_unit_test_teardown(test_host_closes, teardown),
		cmocka_unit_test_teardown(test_host_refused, teardown),
		cmocka_unit_test_teardown(test_guest_initiated, teardown),
		cmocka_unit_test_teardown(test_credit, teardown),
		cmocka_unit_test_teardown(test_guest_over_credit, teardown),
		cmocka_unit_test_teardown(test_hostile, teardown),
		cmocka_unit_test_teardown(test_conn_limit, teardown),
		cmocka_unit_test_teardown(test_no_rx_buffers, teardown),
		cmocka_unit_test_teardown(test_reset, teardown),
		cmocka_unit_test(test_vsock_option),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
