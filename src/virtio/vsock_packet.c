/* virtio-vsock: what guest packets and host socket events do to a
 * connection (the protocol of virtio 1.2, 5.10.6, and Firecracker's
 * host side); virtio_vsock.c moves the packets, vsock_conn.c owns the
 * sockets.  All under dev.lock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "virtio/vsock_dev.h"

#define RXQ VIRTIO_VSOCK_RXQ
#define TXQ VIRTIO_VSOCK_TXQ
#define EVENTS_BURST  16          /* socket events per loop wake-up */
#define ACCEPT_BURST  8

void vsock_conn_kill(struct virtio_vsock *v, struct vsock_conn *c, bool rst)
{
	if (c->deadline_ns)
		v->timer_dirty = true;
	vsock_conn_close(&v->host, c, rst);
}

static void rst_queue(struct virtio_vsock *v, const struct vhdr *h)
{
	struct rst_entry *e;

	if (h->op == VSOCK_OP_RST)
		return;                  /* never answer an RST */
	if (v->rst_nr == RSTE_MAX) {
		v->stats.rx_dropped++;
		return;
	}
	e = &v->rst[(v->rst_head + v->rst_nr++) % RSTE_MAX];
	*e = (struct rst_entry){ h->dst_cid, h->dst_port, h->src_port };
}

/* ---- packets from the guest ---- */

/* The guest's bytes or shutdown moved on: what the connection owes now. */
static void after_forward(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t unacked = c->recv_cnt - c->fwd_sent;   /* what the guest counts as used */

	if (vsock_conn_buffered(c))
		goto credit;
	if (c->guest_no_send && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	/* Both ways done: the RST ends the connection for the guest (5.10.6.6). */
	if (c->guest_no_send && (c->guest_no_rcv || c->host_eof)) {
		vsock_conn_kill(v, c, true);
		return;
	}
credit:
	/* Refresh the guest's credit before it runs low: at the latest when
	 * half of it looks used, so one that is stuck at zero always hears. */
	if (c->fwd_cnt != c->fwd_sent && unacked > VSOCK_CONN_BUF / 2)
		c->ctl |= VCTL_CREDIT_UPDATE;
}

static void guest_data(struct virtio_vsock *v, struct vsock_conn *c, uint32_t len)
{
	if (c->state != VCONN_ESTABLISHED || c->guest_no_send || len > vsock_conn_tx_room(c)) {
		vsock_conn_kill(v, c, true);
		return;
	}
	vq_chain_read(&v->chain, VSOCK_HDR_LEN, v->pkt, len);
	if (vsock_conn_send(c, v->pkt, len, false) < 0) {
		vsock_conn_kill(v, c, true);
		return;
	}
	c->recv_cnt += len;
	v->stats.bytes_to_host += len;
	after_forward(v, c);
}

static void guest_response(struct virtio_vsock *v, struct vsock_conn *c)
{
	char ok[VSOCK_OK_MAX];
	int n;

	if (c->state != VCONN_HOST_REQUEST) {
		vsock_conn_kill(v, c, true);
		return;
	}
	c->state = VCONN_ESTABLISHED;
	c->deadline_ns = 0;
	v->timer_dirty = true;
	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	if (vsock_conn_send(c, (const uint8_t *)ok, (uint32_t)n, true) < 0) {
		vsock_conn_kill(v, c, true);
		return;
	}
	v->stats.conns_host++;
}

/* OP_REQUEST to the host's port dst_port: connect to uds_path_<port>. */
static void guest_connect(struct virtio_vsock *v, const struct vhdr *h)
{
	struct vsock_conn *c = vsock_conn_find(&v->host, h->dst_port, h->src_port);
	int fd;

	if (c) {                         /* a REQUEST for a live connection */
		vsock_conn_kill(v, c, true);
		return;
	}
	fd = vsock_host_connect(&v->host, h->dst_port);
	if (fd < 0) {
		rst_queue(v, h);
		return;
	}
	c = vsock_conn_new(&v->host, fd, VCONN_ESTABLISHED);
	if (!c) {                        /* VSOCK_MAX_CONNS reached */
		close(fd);
		rst_queue(v, h);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->ctl |= VCTL_RESPONSE;
	v->stats.conns_guest++;
}

static void guest_conn_packet(struct virtio_vsock *v, struct vsock_conn *c,
			      const struct vhdr *h)
{
	if (h->op == VSOCK_OP_RST) {
		vsock_conn_kill(v, c, false);
		return;
	}
	if (c->state == VCONN_RST_OWED)
		return;                  /* its RST is on the way */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vsock_peer_credit(c))
		c->credit_asked = false;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		guest_response(v, c);
		break;
	case VSOCK_OP_RW:
		guest_data(v, c, h->len);
		break;
	case VSOCK_OP_SHUTDOWN:
		c->guest_no_rcv |= (h->flags & VSOCK_SHUTDOWN_RCV) != 0;
		c->guest_no_send |= (h->flags & VSOCK_SHUTDOWN_SEND) != 0;
		if (c->state != VCONN_ESTABLISHED)
			vsock_conn_kill(v, c, true);
		else
			after_forward(v, c);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;                   /* the credit above was all */
	case VSOCK_OP_CREDIT_REQUEST:
		c->ctl |= VCTL_CREDIT_UPDATE;
		break;
	default:                         /* REQUEST handled before; unknown ops */
		vsock_conn_kill(v, c, true);
	}
}

static void hdr_get(const uint8_t *p, struct vhdr *h)
{
	h->src_cid = get_le64(p + VSOCK_HDR_SRC_CID);
	h->dst_cid = get_le64(p + VSOCK_HDR_DST_CID);
	h->src_port = get_le32(p + VSOCK_HDR_SRC_PORT);
	h->dst_port = get_le32(p + VSOCK_HDR_DST_PORT);
	h->len = get_le32(p + VSOCK_HDR_LEN_OFF);
	h->type = get_le16(p + VSOCK_HDR_TYPE);
	h->op = get_le16(p + VSOCK_HDR_OP);
	h->flags = get_le32(p + VSOCK_HDR_FLAGS);
	h->buf_alloc = get_le32(p + VSOCK_HDR_BUF_ALLOC);
	h->fwd_cnt = get_le32(p + VSOCK_HDR_FWD_CNT);
}

void vsock_tx_packet(struct virtio_vsock *v)
{
	const struct vq_chain *ch = &v->chain;
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_conn *c;
	struct vhdr h;

	if (ch->out_len < VSOCK_HDR_LEN) {
		v->stats.tx_dropped++;   /* no header: nobody to answer */
		return;
	}
	vq_chain_read(ch, 0, raw, sizeof(raw));
	hdr_get(raw, &h);
	if (h.src_cid != v->guest_cid) {
		v->stats.tx_dropped++;   /* spoofed: an answer would go nowhere real */
		return;
	}
	c = vsock_conn_find(&v->host, h.dst_port, h.src_port);
	if (h.dst_cid != VSOCK_HOST_CID || h.type != VSOCK_TYPE_STREAM ||
	    h.len > ch->out_len - VSOCK_HDR_LEN || h.len > VSOCK_MAX_PKT ||
	    (h.op != VSOCK_OP_RW && h.len)) {
		if (c && h.dst_cid == VSOCK_HOST_CID)
			vsock_conn_kill(v, c, h.op != VSOCK_OP_RST);
		else
			rst_queue(v, &h);
		return;
	}
	if (h.op == VSOCK_OP_REQUEST)
		guest_connect(v, &h);
	else if (c)
		guest_conn_packet(v, c, &h);
	else
		rst_queue(v, &h);
}

/* ---- host sockets ---- */

static void host_accept(struct virtio_vsock *v)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd = vsock_host_accept(&v->host);
		struct vsock_conn *c;

		if (fd < 0)
			return;
		c = vsock_conn_new(&v->host, fd, VCONN_HOST_CMD);
		if (!c) {
			close(fd);           /* full: the client sees EOF, not a hang */
			continue;
		}
		c->deadline_ns = clock_mono_ns() + VSOCK_CONNECT_TIMEOUT_MS * NSEC_PER_MS;
		v->timer_dirty = true;
	}
}

static void host_cmd(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t port;
	int r = vsock_conn_read_cmd(c, &port);

	if (r < 0) {
		vsock_conn_kill(v, c, false);
	} else if (r > 0) {
		c->state = VCONN_HOST_REQUEST;
		c->peer_port = port;
		c->local_port = vsock_host_port(&v->host);
		c->ctl |= VCTL_REQUEST;
		c->deadline_ns = clock_mono_ns() + VSOCK_CONNECT_TIMEOUT_MS * NSEC_PER_MS;
		v->timer_dirty = true;
	}
}

/* The host end is gone for good (EPOLLHUP can't be masked: out of epfd). */
static void host_hup(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->state != VCONN_ESTABLISHED || vsock_conn_buffered(c) || c->guest_no_rcv) {
		/* No answer yet, guest bytes stranded, or nobody left to read. */
		vsock_conn_kill(v, c, true);
		return;
	}
	epoll_ctl(v->host.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->hup = true;
	c->events = 0;
	c->rx_ready = true;          /* what is left is readable at once, then EOF */
	if (c->host_eof)
		vsock_host_eof(c);
}

/* Events of one epoll_wait batch may be stale (the slot closed earlier in
 * the batch); a slot is only reused within a batch by an accept, and
 * HOST_CMD ignores the event bits. */
static void conn_event(struct virtio_vsock *v, struct vsock_conn *c, uint32_t ev)
{
	if (c->state == VCONN_HOST_CMD) {
		host_cmd(v, c);
		return;
	}
	if (c->fd < 0 || c->hup)
		return;                  /* stale event for a closed socket */
	if (ev & EPOLLERR) {
		vsock_conn_kill(v, c, true);
		return;
	}
	if ((ev & EPOLLOUT) && vsock_conn_flush(c) < 0) {
		vsock_conn_kill(v, c, true);
		return;
	}
	if (ev & EPOLLOUT)
		after_forward(v, c);
	if (c->state == VCONN_FREE || c->state == VCONN_RST_OWED)
		return;
	if (ev & EPOLLIN)
		c->rx_ready = true;
	if (ev & EPOLLHUP)
		host_hup(v, c);
}

static void timer_expired(struct virtio_vsock *v)
{
	uint64_t now = clock_mono_ns(), count;

	if (read(v->host.timer_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->host.conns[i];

		if (c->state != VCONN_FREE && c->deadline_ns && c->deadline_ns <= now)
			vsock_conn_kill(v, c, c->state != VCONN_HOST_CMD);
	}
	v->timer_dirty = true;
}

void vsock_update_watches(struct virtio_vsock *v)
{
	bool rx_ok = vsock_running(v, RXQ) && !v->rx_stalled;

	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->host.conns[i];

		vsock_conn_watch(&v->host, c, rx_ok);
	}
	vsock_host_listen(&v->host, vsock_running(v, RXQ) && vsock_running(v, TXQ));
	if (v->timer_dirty)
		vsock_host_arm_timer(&v->host);
	v->timer_dirty = false;
}

void vsock_host_event(void *opaque, int fd, uint32_t events)
{
	struct virtio_vsock *v = opaque;
	struct epoll_event evs[EVENTS_BURST];
	int n = epoll_wait(fd, evs, EVENTS_BURST, 0);

	pthread_mutex_lock(&v->dev.lock);
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;

		if (tag == VSOCK_TAG_LISTEN)
			host_accept(v);
		else if (tag == VSOCK_TAG_TIMER)
			timer_expired(v);
		else if (tag - VSOCK_TAG_CONN < VSOCK_MAX_CONNS)
			conn_event(v, &v->host.conns[tag - VSOCK_TAG_CONN], evs[i].events);
	}
	vsock_rx_process(v);
	vsock_update_watches(v);
	pthread_mutex_unlock(&v->dev.lock);
}

/* The host end said EOF (and, with hup, is gone): owe the guest a
 * SHUTDOWN if that tells it something new. */
void vsock_host_eof(struct vsock_conn *c)
{
	uint32_t flags = VSOCK_SHUTDOWN_SEND | (c->hup ? VSOCK_SHUTDOWN_RCV : 0);

	c->host_eof = true;
	c->rx_ready = false;
	if ((c->shut_flags | flags) == c->shut_flags)
		return;
	c->shut_flags |= flags;
	c->ctl |= VCTL_SHUTDOWN;
}

