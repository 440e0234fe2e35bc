/* virtio-vsock (virtio 1.2, 5.10): the guest's side of the protocol.
 *
 * Queues: rx (0, device -> driver packets), tx (1, driver -> device),
 * event (2: its buffers are only held; landlord has no event to report).
 * Config: le64 guest_cid.  This file moves packets between the rings and
 * the connections; vsock_packet.c says what each packet and socket event
 * means for a connection, vsock_conn.c owns the sockets.
 *
 * Everything runs on the VM's event loop under dev.lock: queue kicks come
 * through the notify eventfds (a transport without an ioeventfd runs a
 * kick on the vCPU, under the same lock), and the host sockets sit in one
 * epoll set of vsock_conn.c's, watched on the loop as one fd.
 *
 * Guest packets are hostile: a chain shorter than a header, or whose
 * header's len is more than the chain or VSOCK_MAX_PKT, is dropped; so is
 * anything whose src_cid is not the guest's.  A packet for another CID
 * than the host's, of another type than stream, with an unknown op, for no
 * connection, or breaking the protocol (RW before RESPONSE, past the
 * credit we gave, after its own SHUTDOWN SEND) is answered with an RST,
 * and a connection it belonged to is closed.  An RST is never answered.
 *
 * Receive: what the device owes the guest is kept bounded: per
 * connection, a set of control bits (REQUEST, RESPONSE, CREDIT_UPDATE,
 * CREDIT_REQUEST, SHUTDOWN) or one RST, and a ring of RSTE_MAX RSTs for
 * packets that had no connection (more are dropped and counted).  Data is
 * read from a socket straight into the packet being built, never more than
 * the guest's credit (buf_alloc - (sent - fwd_cnt)).  When the guest has
 * no receive buffers, sockets stop being watched for input until the guest
 * kicks the rx queue: nothing spins.  A pass sends at most RX_BURST
 * packets; the rest runs after the loop's other work.
 *
 * Transmit: data goes to the Unix socket at once, or into a per-connection
 * buffer of VSOCK_CONN_BUF bytes when the socket is full.  That buffer is
 * the buf_alloc the guest is told, and fwd_cnt counts what has left it, so
 * an honest guest stops sending to a connection whose socket does not
 * drain; one that sends past its credit gets an RST (as Firecracker). */
#include "virtio/virtio_vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "virtio/vsock_dev.h"

#define RXQ VIRTIO_VSOCK_RXQ
#define TXQ VIRTIO_VSOCK_TXQ
#define RX_BURST      64          /* packets to the guest per pass */

static struct virtio_vsock *to_vsock(struct virtio_dev *d)
{
	return d->priv;
}

/* ---- packets to the guest ---- */

static void hdr_put(uint8_t *p, uint64_t src_cid, uint64_t dst_cid, uint32_t sport,
		    uint32_t dport, uint32_t len, uint16_t op, uint32_t flags,
		    uint32_t buf_alloc, uint32_t fwd_cnt)
{
	put_le64(p + VSOCK_HDR_SRC_CID, src_cid);
	put_le64(p + VSOCK_HDR_DST_CID, dst_cid);
	put_le32(p + VSOCK_HDR_SRC_PORT, sport);
	put_le32(p + VSOCK_HDR_DST_PORT, dport);
	put_le32(p + VSOCK_HDR_LEN_OFF, len);
	put_le16(p + VSOCK_HDR_TYPE, VSOCK_TYPE_STREAM);
	put_le16(p + VSOCK_HDR_OP, op);
	put_le32(p + VSOCK_HDR_FLAGS, flags);
	put_le32(p + VSOCK_HDR_BUF_ALLOC, buf_alloc);
	put_le32(p + VSOCK_HDR_FWD_CNT, fwd_cnt);
}

/* Header (+ len bytes already in v->pkt) into the popped chain, returned. */
static void rx_put(struct virtio_vsock *v, uint64_t src_cid, uint32_t sport, uint32_t dport,
		   uint16_t op, uint32_t flags, uint32_t len, uint32_t buf_alloc, uint32_t fwd)
{
	uint8_t hdr[VSOCK_HDR_LEN];

	hdr_put(hdr, src_cid, v->guest_cid, sport, dport, len, op, flags, buf_alloc, fwd);
	vq_chain_write(&v->chain, 0, hdr, sizeof(hdr));
	if (len)
		vq_chain_write(&v->chain, VSOCK_HDR_LEN, v->pkt, len);
	if (op == VSOCK_OP_RST)
		v->stats.rst_sent++;
	virtio_queue_complete(&v->dev, RXQ, v->chain.head, VSOCK_HDR_LEN + len);
}

/* A packet on c's behalf: carries our credit, so no update is owed. */
static void rx_put_conn(struct virtio_vsock *v, struct vsock_conn *c, uint16_t op,
			uint32_t flags, uint32_t len)
{
	c->fwd_sent = c->fwd_cnt;
	c->ctl &= ~VCTL_CREDIT_UPDATE;
	rx_put(v, VSOCK_HOST_CID, c->local_port, c->peer_port, op, flags, len,
	       VSOCK_CONN_BUF, c->fwd_cnt);
}

/* The next control packet c owes, in protocol order. */
static void rx_ctl(struct virtio_vsock *v, struct vsock_conn *c)
{
	static const struct { uint32_t bit; uint16_t op; } order[] = {
		{ VCTL_REQUEST, VSOCK_OP_REQUEST }, { VCTL_RESPONSE, VSOCK_OP_RESPONSE },
		{ VCTL_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE },
		{ VCTL_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST },
		{ VCTL_SHUTDOWN, VSOCK_OP_SHUTDOWN },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(c->ctl & order[i].bit))
			continue;
		c->ctl &= ~order[i].bit;
		rx_put_conn(v, c, order[i].op,
			    order[i].op == VSOCK_OP_SHUTDOWN ? c->shut_flags : 0, 0);
		if (order[i].op == VSOCK_OP_SHUTDOWN &&
		    c->shut_flags == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			/* The guest should answer with an RST; don't wait forever. */
			c->deadline_ns = clock_mono_ns() + VSOCK_LINGER_MS * NSEC_PER_MS;
			v->timer_dirty = true;
		}
		return;
	}
}

/* Host bytes into the popped chain.  false: the chain was not used. */
static bool rx_data(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint64_t room = v->chain.in_len - VSOCK_HDR_LEN;
	uint32_t max = vsock_peer_credit(c);
	ssize_t n;

	if (max > room)
		max = (uint32_t)room;
	if (max > VSOCK_MAX_PKT)
		max = VSOCK_MAX_PKT;
	n = vsock_conn_recv(c, v->pkt, max);
	if (n == 0) {
		vsock_host_eof(c);             /* the SHUTDOWN goes in a later chain */
		return false;
	}
	if (n == -1) {
		c->rx_ready = false;
		return false;
	}
	if (n < 0) {
		vsock_conn_kill(v, c, true);
		return false;
	}
	c->rx_cnt += (uint32_t)n;
	v->stats.bytes_to_guest += (uint64_t)n;
	rx_put_conn(v, c, VSOCK_OP_RW, 0, (uint32_t)n);
	if (!vsock_peer_credit(c) && !c->credit_asked) {
		/* More may wait: ask once, so a guest that only updates on
		 * request (5.10.6.3) does not leave us stuck. */
		c->ctl |= VCTL_CREDIT_REQUEST;
		c->credit_asked = true;
	}
	return true;
}

static bool wants_data(const struct vsock_conn *c)
{
	return c->state == VCONN_ESTABLISHED && c->rx_ready && !c->guest_no_rcv &&
	       vsock_peer_credit(c) > 0;
}

/* The next connection with something for the guest, round-robin. */
static struct vsock_conn *rx_pick(struct virtio_vsock *v)
{
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++) {
		unsigned i = (v->rr + k) % VSOCK_MAX_CONNS;
		struct vsock_conn *c = &v->host.conns[i];

		if (c->state == VCONN_RST_OWED || c->ctl || wants_data(c)) {
			v->rr = i + 1;
			return c;
		}
	}
	return NULL;
}

/* Fill the popped chain with one thing owed.  false: nothing was put in
 * it (it goes back), true: it was used. */
static bool rx_one(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (!c) {
		struct rst_entry *e = &v->rst[v->rst_head];

		v->rst_head = (v->rst_head + 1) % RSTE_MAX;
		v->rst_nr--;
		rx_put(v, e->src_cid, e->src_port, e->dst_port, VSOCK_OP_RST, 0, 0, 0, 0);
		return true;
	}
	if (c->state == VCONN_RST_OWED) {
		rx_put(v, VSOCK_HOST_CID, c->local_port, c->peer_port, VSOCK_OP_RST, 0, 0, 0, 0);
		vsock_conn_close(&v->host, c, false);
		return true;
	}
	if (c->ctl) {
		rx_ctl(v, c);
		return true;
	}
	return rx_data(v, c);
}

void vsock_rx_process(struct virtio_vsock *v)
{
	struct virtio_dev *d = &v->dev;
	struct virtqueue *vq = &d->vq[RXQ];

	if (!vsock_running(v, RXQ) || v->rx_stalled)
		return;
	for (unsigned i = 0; i < RX_BURST; i++) {
		struct vsock_conn *c = v->rst_nr ? NULL : rx_pick(v);
		int r;

		if (!c && !v->rst_nr)
			return;
		r = vq_pop(vq, d->mem, &v->chain);
		if (r < 0) {
			virtio_mark_broken(d, "malformed receive queue");
			return;
		}
		if (r == 0) {
			v->rx_stalled = true;  /* vq_pop asked for the guest's kick */
			return;
		}
		if (v->chain.in_len < VSOCK_HDR_LEN) {
			v->stats.rx_dropped++;
			virtio_queue_complete(d, RXQ, v->chain.head, 0);
			continue;
		}
		if (!rx_one(v, c))
			vq->last_avail--;    /* unpublished: the guest cannot tell */
		if (d->broken)
			return;
	}
	eventfd_write(d->notify_fd[RXQ], 1);    /* more after the loop's other work */
}

static void tx_process(struct virtio_vsock *v)
{
	struct virtio_dev *d = &v->dev;
	struct virtqueue *vq = &d->vq[TXQ];

	if (!vsock_running(v, TXQ))
		return;
	vq_set_notify(vq, d->mem, false);
	for (unsigned i = 0; i < vq->size; i++) {
		int r = vq_pop(vq, d->mem, &v->chain);

		if (r < 0) {
			virtio_mark_broken(d, "malformed transmit queue");
			return;
		}
		if (r == 0)
			return;              /* empty: vq_pop re-enabled kicks */
		vsock_tx_packet(v);
		virtio_queue_complete(d, TXQ, v->chain.head, 0);
		if (d->broken)
			return;
	}
	if (eventfd_write(d->notify_fd[TXQ], 1) < 0)
		vq_set_notify(vq, d->mem, true);
}

/* ---- virtio_dev_ops ---- */

static void vsock_queue_notify(struct virtio_dev *d, int q)
{
	struct virtio_vsock *v = to_vsock(d);

	if (q == RXQ)
		v->rx_stalled = false;
	if (q == TXQ)
		tx_process(v);
	vsock_rx_process(v);               /* answers to what tx brought, or new buffers */
	vsock_update_watches(v);
}

/* DRIVER_OK, on a vCPU thread: the loop looks at the queues (buffers
 * posted before DRIVER_OK) and starts listening. */
static void vsock_start(struct virtio_dev *d)
{
	eventfd_write(d->notify_fd[RXQ], 1);
	eventfd_write(d->notify_fd[TXQ], 1);
}

/* The old driver's connections die with it (the guest's sockets were
 * reset too); host clients of uds_path wait in the backlog until the next
 * DRIVER_OK. */
static void vsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);

	vsock_host_close_all(&v->host);
	vsock_host_listen(&v->host, false);
	v->rx_stalled = false;
	v->rst_head = v->rst_nr = 0;
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct virtio_vsock *v = to_vsock(d);

	virtio_config_copy(v->config, sizeof(v->config), off, data, len);
}

static void vsock_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			       uint32_t len)
{
	/* guest_cid is read-only (5.10.4). */
}

static const struct virtio_dev_ops vsock_ops = {
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.queue_notify = vsock_queue_notify,
	.start = vsock_start,
	.reset = vsock_reset,
};

/* ---- construction ---- */

struct virtio_dev *virtio_vsock_create(const struct virtio_vsock_config *cfg,
				       const struct guest_mem *mem, struct event_loop *loop,
				       char *err, size_t errlen)
{
	struct virtio_vsock *v;
	struct virtio_dev *d;

	if (!loop || !cfg->uds_path || cfg->guest_cid <= VSOCK_HOST_CID ||
	    cfg->guest_cid == UINT32_MAX) {
		snprintf(err, errlen, "virtio-vsock: bad configuration (cid %u)", cfg->guest_cid);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "virtio-vsock: out of memory");
		return NULL;
	}
	if (vsock_host_init(&v->host, cfg->uds_path, err, errlen) < 0) {
		free(v);
		return NULL;
	}
	v->guest_cid = cfg->guest_cid;
	put_le64(v->config, v->guest_cid);
	snprintf(v->name, sizeof(v->name), "virtio-vsock cid %u", cfg->guest_cid);
	d = &v->dev;
	d->name = v->name;
	d->device_id = VIRTIO_ID_VSOCK;
	d->device_features = 1ULL << VIRTIO_VSOCK_F_STREAM;
	d->nr_queues = 3;
	d->queue_max = VIRTIO_VSOCK_QUEUE_SIZE;
	d->config_len = VIRTIO_VSOCK_CONFIG_LEN;
	d->ops = &vsock_ops;
	d->priv = v;
	d->mem = mem;
	d->loop = loop;
	if (virtio_dev_init(d) < 0) {
		snprintf(err, errlen, "virtio-vsock: %s", strerror(errno));
		goto fail;
	}
	if (el_add(loop, v->host.epfd, EPOLLIN, vsock_host_event, v) < 0) {
		snprintf(err, errlen, "virtio-vsock: event loop: %s", strerror(errno));
		virtio_dev_destroy(d);
		goto fail;
	}
	return d;
fail:
	vsock_host_fini(&v->host);
	free(v);
	return NULL;
}

void virtio_vsock_destroy(struct virtio_dev *d)
{
	struct virtio_vsock *v;

	if (!d)
		return;
	v = to_vsock(d);
	virtio_dev_destroy(d);       /* runs reset: the connections close */
	el_remove(d->loop, v->host.epfd);
	vsock_host_fini(&v->host);
	free(v);
}

void virtio_vsock_get_stats(struct virtio_dev *d, struct virtio_vsock_stats *out)
{
	struct virtio_vsock *v = to_vsock(d);

	pthread_mutex_lock(&d->lock);
	*out = v->stats;
	out->conns_open = 0;
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		out->conns_open += v->host.conns[i].state != VCONN_FREE;
	pthread_mutex_unlock(&d->lock);
}
