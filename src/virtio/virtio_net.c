/* virtio-net (virtio 1.2, 5.1).
 *
 * Queues: receiveq (0) and transmitq (1); no control queue (CTRL_VQ is not
 * offered, so the driver cannot ask for one).  Features: MAC, STATUS (the
 * link is always up), MRG_RXBUF, plus the ring features the core offers.
 * No checksum or segmentation offloads (CSUM, GUEST_CSUM, *TSO*): every
 * frame is complete and checksummed on both sides, which is simpler and
 * always correct; the price is throughput.  The 12-byte virtio_net_hdr_v1
 * is therefore all zero but num_buffers, and the tap has no vnet header
 * (backends/tap.c says why).
 *
 * Everything runs on the VM's event loop, under dev.lock: kicks arrive
 * there through the notify eventfds (a transport without an ioeventfd runs
 * a kick on the vCPU, under the same lock), and the tap fd is watched
 * there.  start() runs on a vCPU thread, so it only signals the notify
 * eventfds.
 *
 * Transmit: each chain is a header and a frame in its readable part.  The
 * frame goes to the tap with one writev straight from guest RAM (the
 * buffers were checked by vq_pop).  A malformed chain (writable part, too
 * short, frame over VIRTIO_NET_MAX_FRAME) is dropped, returned and counted:
 * it is a bad request, not a broken ring.  NEEDS_RESET is only for what
 * vq_pop reports.  The tap's send buffer is unbounded by default, so a
 * write that fails drops the frame, as a wire would.
 *
 * Receive: the tap is read (non-blocking, VIRTIO_NET_RX_BURST frames per
 * event, so other devices get their turn) into one pending frame, which
 * goes into as many receive chains as it needs (MRG_RXBUF) or one.  When
 * the guest has posted too few buffers the chains taken are put back (the
 * walker's last_avail is moved back: nothing of them was published, and
 * the driver cannot reuse a slot it has not got back), the frame stays
 * pending, and the tap is not watched until the guest kicks the receive
 * queue: no busy loop, no frame lost.  The used entries of one frame are
 * published together: Linux reads num_buffers from the first and expects
 * the others to be there already. */
#include "base/log.h"
#include "virtio/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/bytes.h"

#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ
#define HDR VIRTIO_NET_HDR_LEN

struct used_elem {
	uint16_t head;
	uint32_t len;
};

enum rx_result {
	RX_DELIVERED,
	RX_NO_BUFFERS,    /* wait for the guest: chains put back, frame kept */
	RX_TOO_BIG,       /* can never fit: chains put back, frame dropped */
	RX_BROKEN,        /* the ring is malformed: NEEDS_RESET */
};

struct virtio_net {
	struct virtio_dev dev;
	int fd;
	char name[48];                /* "virtio-net IFNAME" */
	uint8_t config[VIRTIO_NET_CONFIG_LEN];

	/* Under dev.lock. */
	bool watching;                /* EPOLLIN on fd */
	bool tap_dead;                /* fd failed: no longer watched at all */
	bool rx_pending;              /* rx_frame holds a frame not yet delivered */
	bool rx_unsignalled;          /* used entries not yet announced */
	bool warned_tx_bad, warned_tx_write;
	uint32_t rx_len;
	struct virtio_net_stats stats;
	/* The receive chains of one frame: good ones carry it, bad ones (too
	 * small for a header) go back empty before them. */
	struct used_elem good[VIRTIO_NET_QUEUE_SIZE];
	struct used_elem bad[VIRTIO_NET_QUEUE_SIZE];
	struct iovec iov[VQ_MAX_CHAIN];
	struct vq_chain first, cur;   /* big (VQ_MAX_CHAIN buffers): not on a stack */
	uint8_t rx_frame[VIRTIO_NET_MAX_FRAME + 1];   /* + 1: a longer frame shows */
};

static struct virtio_net *to_net(struct virtio_dev *d)
{
	return d->priv;
}

static bool running(const struct virtio_net *n, int q)
{
	const struct virtio_dev *d = &n->dev;

	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken && d->vq[q].ready;
}

static bool mrg_rxbuf(const struct virtio_net *n)
{
	return n->dev.driver_features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
}

/* el_modify only reads the loop's table, so a vCPU thread may call it
 * (reset); the watch stays in the loop with no events while off. */
static void set_watch(struct virtio_net *n, bool on)
{
	if (n->tap_dead || n->watching == on)
		return;
	if (el_modify(n->dev.loop, n->fd, on ? EPOLLIN : 0) == 0)
		n->watching = on;
}

/* The fd failed for good (a tap whose interface was deleted reports
 * EPOLLERR forever, even with no events asked for): after one more report
 * EPOLLONESHOT disables it, so the loop does not spin.  el_modify, not
 * el_remove: a kick without an ioeventfd runs this on a vCPU thread, and
 * only el_modify leaves the loop's table alone. */
static void tap_fail(struct virtio_net *n, const char *what)
{
	if (n->tap_dead)
		return;
	log_warn("%s: tap %s; no more frames from it", n->dev.name, what);
	el_modify(n->dev.loop, n->fd, EPOLLONESHOT);
	n->tap_dead = true;
	n->watching = false;
}

/* ---- transmit ---- */

/* The frame part of a transmit chain (after the header) as iovecs into
 * guest RAM.  At most nr_out (<= VQ_MAX_CHAIN = IOV_MAX) entries. */
static int tx_iov(struct virtio_net *n, const struct vq_chain *c)
{
	uint64_t skip = HDR;
	int cnt = 0;

	for (uint16_t i = 0; i < c->nr_out; i++) {
		const struct vq_buf *b = &c->bufs[i];

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		n->iov[cnt].iov_base = b->host + skip;
		n->iov[cnt].iov_len = b->len - skip;
		cnt++;
		skip = 0;
	}
	return cnt;
}

static void tx_drop_bad(struct virtio_net *n, const struct vq_chain *c, const char *why)
{
	n->stats.tx_errors++;
	if (!n->warned_tx_bad)
		log_warn("%s: dropped a transmit chain: %s (%llu readable, "
			 "%llu writable bytes); not logged again", n->dev.name, why,
			 (unsigned long long)c->out_len, (unsigned long long)c->in_len);
	n->warned_tx_bad = true;
}

static void tx_one(struct virtio_net *n, const struct vq_chain *c)
{
	uint64_t frame;
	ssize_t w;
	int cnt;

	if (c->in_len) {
		tx_drop_bad(n, c, "it has writable buffers");
		return;
	}
	if (c->out_len < HDR + VIRTIO_NET_MIN_FRAME) {
		tx_drop_bad(n, c, "shorter than a header and an Ethernet header");
		return;
	}
	frame = c->out_len - HDR;
	if (frame > VIRTIO_NET_MAX_FRAME) {
		tx_drop_bad(n, c, "frame too long");
		return;
	}
	cnt = tx_iov(n, c);
	w = writev(n->fd, n->iov, cnt);
	if (w < 0 && errno == EINTR)
		w = writev(n->fd, n->iov, cnt);
	if (w == (ssize_t)frame) {
		n->stats.tx_frames++;
		return;
	}
	n->stats.tx_dropped++;
	if (!n->warned_tx_write)
		log_warn("%s: tap write: %s; dropping frames (not logged "
			 "again)", n->dev.name, w < 0 ? strerror(errno) : "short write");
	n->warned_tx_write = true;
}

/* At most one ring's worth of chains per pass; a pass cut short signals
 * the queue's own eventfd to go on after the loop's other work. */
static void tx_process(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;
	struct virtqueue *vq = &d->vq[TXQ];

	if (!running(n, TXQ))
		return;
	vq_set_notify(vq, d->mem, false);
	for (unsigned i = 0; i < vq->size; i++) {
		int r = vq_pop(vq, d->mem, &n->cur);

		if (r < 0) {
			virtio_mark_broken(d, "malformed transmit queue");
			return;
		}
		if (r == 0)
			return;              /* empty: vq_pop re-enabled kicks */
		tx_one(n, &n->cur);
		virtio_queue_complete(d, TXQ, n->cur.head, 0);
		if (d->broken)
			return;
	}
	if (eventfd_write(d->notify_fd[TXQ], 1) < 0)
		vq_set_notify(vq, d->mem, true);
}

/* ---- receive ---- */

/* Put cnt used entries on the ring with one used->idx update, so the
 * driver sees all buffers of a frame at once (vq_push publishes each).
 * Same layout and ordering as vq_push.  0, or -1 if the ring is gone. */
static int used_publish(struct virtqueue *vq, const struct guest_mem *mem,
			const struct used_elem *e, unsigned cnt)
{
	uint8_t *used = gm_ptr(mem, vq->used_gpa, 6 + 8 * (uint64_t)vq->size);

	if (!used || ((uintptr_t)used & 3))
		return -1;
	for (unsigned i = 0; i < cnt; i++) {
		uint8_t *slot = used + 4 + 8 * ((uint16_t)(vq->used_idx + i) & (vq->size - 1));

		if (e[i].head >= vq->size)
			return -1;
		__atomic_store_n((uint32_t *)slot, htole32(e[i].head), __ATOMIC_RELAXED);
		__atomic_store_n((uint32_t *)(slot + 4), htole32(e[i].len), __ATOMIC_RELAXED);
	}
	vq->used_idx = (uint16_t)(vq->used_idx + cnt);
	/* Release: the elements before the index that makes them visible. */
	__atomic_store_n((uint16_t *)(used + 2), htole16(vq->used_idx), __ATOMIC_RELEASE);
	return 0;
}

static bool rx_publish(struct virtio_net *n, const struct used_elem *e, unsigned cnt)
{
	if (cnt == 0)
		return true;
	if (used_publish(&n->dev.vq[RXQ], n->dev.mem, e, cnt) < 0) {
		virtio_mark_broken(&n->dev, "receive queue: used ring not in RAM");
		return false;
	}
	n->rx_unsignalled = true;
	return true;
}

/* Interrupt the driver once for everything published in a pass, as
 * virtio_queue_complete would for each. */
static void rx_notify(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;

	if (!n->rx_unsignalled || d->broken)
		return;
	n->rx_unsignalled = false;
	if (!vq_need_notify(&d->vq[RXQ], d->mem))
		return;
	d->isr |= VIRTIO_ISR_QUEUE;
	if (d->transport && d->transport->signal_queue)
		d->transport->signal_queue(d, RXQ);
}

/* Copy as much of the frame from *off into chain c (after skip bytes) as
 * fits; returns the bytes written to the chain, skip included. */
static uint32_t rx_fill(struct virtio_net *n, const struct vq_chain *c, uint64_t skip,
			uint32_t *off)
{
	uint64_t take = c->in_len - skip;

	if (take > n->rx_len - *off)
		take = n->rx_len - *off;
	vq_chain_write(c, skip, n->rx_frame + *off, take);
	*off += (uint32_t)take;
	return (uint32_t)(skip + take);
}

/* Take receive chains until the pending frame is in them, at most one
 * ring's worth.  A chain with less room than a header (5.1.6.3.1 forbids
 * it; it may have none at all) goes back empty: at once when no good chain
 * came before it (nothing will be put back past it), else with the frame.
 * *ngood: chains holding the frame; *nbad: chains in n->bad; *taken:
 * chains to put back if the frame does not go out now. */
static enum rx_result rx_collect(struct virtio_net *n, unsigned *ngood, unsigned *nbad,
				 unsigned *taken)
{
	struct virtio_dev *d = &n->dev;
	struct virtqueue *vq = &d->vq[RXQ];
	uint32_t off = 0;

	*ngood = *nbad = *taken = 0;
	for (unsigned popped = 0; off < n->rx_len; popped++) {
		struct vq_chain *c = *ngood ? &n->cur : &n->first;
		int r;

		if (popped == vq->size || (*ngood && !mrg_rxbuf(n)))
			return RX_TOO_BIG;
		r = vq_pop(vq, d->mem, c);
		if (r < 0) {
			virtio_mark_broken(d, "malformed receive queue");
			return RX_BROKEN;
		}
		if (r == 0)
			return RX_NO_BUFFERS;
		if (c->in_len < HDR && *ngood == 0) {
			struct used_elem e = { c->head, 0 };

			n->stats.rx_errors++;
			if (!rx_publish(n, &e, 1))
				return RX_BROKEN;
		} else if (c->in_len < HDR) {
			n->bad[(*nbad)++] = (struct used_elem){ c->head, 0 };
			(*taken)++;
		} else {
			n->good[*ngood].head = c->head;
			n->good[*ngood].len = rx_fill(n, c, *ngood ? 0 : HDR, &off);
			(*ngood)++;
			(*taken)++;
		}
	}
	return RX_DELIVERED;
}

/* Deliver the pending frame. */
static enum rx_result rx_deliver(struct virtio_net *n)
{
	struct virtqueue *vq = &n->dev.vq[RXQ];
	uint8_t hdr[HDR] = { 0 };
	unsigned ngood, nbad, taken;
	enum rx_result r = rx_collect(n, &ngood, &nbad, &taken);

	if (r == RX_BROKEN)
		return r;
	if (r != RX_DELIVERED) {
		vq->last_avail = (uint16_t)(vq->last_avail - taken);
		if (r == RX_TOO_BIG)
			n->stats.rx_dropped++;
		return r;
	}
	/* num_buffers is 1 without MRG_RXBUF, as it must be (5.1.6.4). */
	put_le16(hdr + VIRTIO_NET_HDR_NUM_BUFFERS, (uint16_t)ngood);
	vq_chain_write(&n->first, 0, hdr, HDR);
	/* The empty ones first: the driver takes the num_buffers - 1 entries
	 * after the frame's first as the rest of the frame. */
	if (!rx_publish(n, n->bad, nbad) || !rx_publish(n, n->good, ngood))
		return RX_BROKEN;
	n->stats.rx_errors += nbad;
	n->stats.rx_frames++;
	return RX_DELIVERED;
}

/* Read one frame into rx_frame.  1: pending; 0: none now (or the fd
 * failed); -1: a frame was dropped, try the next. */
static int rx_read(struct virtio_net *n)
{
	ssize_t r = read(n->fd, n->rx_frame, sizeof(n->rx_frame));

	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			char what[96];

			snprintf(what, sizeof(what), "read: %s", strerror(errno));
			tap_fail(n, what);
		}
		return 0;
	}
	if (r == 0) {
		tap_fail(n, "hung up");   /* a tap never reads 0; a socket at EOF does */
		return 0;
	}
	if (r < VIRTIO_NET_MIN_FRAME || r > VIRTIO_NET_MAX_FRAME) {
		n->stats.rx_dropped++;
		return -1;
	}
	n->rx_len = (uint32_t)r;
	n->rx_pending = true;
	return 1;
}

/* Move frames from the tap to the guest, at most a burst; the tap stays
 * watched unless the guest is out of buffers (its kick resumes us).  A
 * burst cut short needs nothing: the fd is still readable. */
static void rx_process(struct virtio_net *n)
{
	if (!running(n, RXQ)) {
		set_watch(n, false);
		return;
	}
	for (unsigned i = 0; i < VIRTIO_NET_RX_BURST; i++) {
		enum rx_result r;

		if (!n->rx_pending) {
			int got = n->tap_dead ? 0 : rx_read(n);

			if (got == 0)
				break;
			if (got < 0)
				continue;
		}
		r = rx_deliver(n);
		if (r == RX_NO_BUFFERS || r == RX_BROKEN) {
			set_watch(n, false);
			rx_notify(n);
			return;
		}
		n->rx_pending = false;
	}
	set_watch(n, true);
	rx_notify(n);
}

/* The tap fd (event-loop thread). */
static void tap_event(void *opaque, int fd, uint32_t events)
{
	struct virtio_net *n = opaque;

	pthread_mutex_lock(&n->dev.lock);
	if (events & EPOLLIN)
		rx_process(n);
	else if (events & (EPOLLERR | EPOLLHUP))
		tap_fail(n, events & EPOLLERR ? "error" : "hung up");
	pthread_mutex_unlock(&n->dev.lock);
}

/* ---- virtio_dev_ops ---- */

static void net_queue_notify(struct virtio_dev *d, int q)
{
	if (q == RXQ)
		rx_process(to_net(d));
	else if (q == TXQ)
		tx_process(to_net(d));
}

/* DRIVER_OK, on a vCPU thread: let the loop look at both queues (buffers
 * posted and kicked before DRIVER_OK; the kicks were dropped) and start
 * watching the tap. */
static void net_start(struct virtio_dev *d)
{
	eventfd_write(d->notify_fd[RXQ], 1);
	eventfd_write(d->notify_fd[TXQ], 1);
}

/* A frame read for the old driver is not the new one's business; frames
 * wait in the tap until DRIVER_OK. */
static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);

	n->rx_pending = false;
	n->rx_unsignalled = false;
	set_watch(n, false);
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct virtio_net *n = to_net(d);

	virtio_config_copy(n->config, sizeof(n->config), off, data, len);
}

static void net_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			     uint32_t len)
{
	/* mac is read-only for a modern driver (5.1.4.2); nothing else is writable. */
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.config_write = net_config_write,
	.queue_notify = net_queue_notify,
	.start = net_start,
	.reset = net_reset,
};

/* ---- construction ---- */

struct virtio_dev *virtio_net_create(const struct virtio_net_config *cfg,
				     const struct guest_mem *mem, struct event_loop *loop,
				     char *err, size_t errlen)
{
	const char *ifname = cfg->ifname ? cfg->ifname : "?";
	struct virtio_net *n;
	struct virtio_dev *d;

	if (cfg->fd < 0 || !loop) {
		snprintf(err, errlen, "virtio-net %s: no tap fd or event loop", ifname);
		goto fail_fd;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "virtio-net %s: out of memory", ifname);
		goto fail_fd;
	}
	n->fd = cfg->fd;
	snprintf(n->name, sizeof(n->name), "virtio-net %s", ifname);
	memcpy(n->config + VIRTIO_NET_CFG_MAC, cfg->mac, 6);
	put_le16(n->config + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
	d = &n->dev;
	d->name = n->name;
	d->device_id = VIRTIO_ID_NET;
	d->device_features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS |
			     1ULL << VIRTIO_NET_F_MRG_RXBUF;
	d->nr_queues = 2;
	d->queue_max = VIRTIO_NET_QUEUE_SIZE;
	d->config_len = VIRTIO_NET_CONFIG_LEN;
	d->ops = &net_ops;
	d->priv = n;
	d->mem = mem;
	d->loop = loop;
	if (virtio_dev_init(d) < 0) {
		snprintf(err, errlen, "virtio-net %s: %s", ifname, strerror(errno));
		free(n);
		goto fail_fd;
	}
	/* Not watched for input until DRIVER_OK: frames wait in the tap. */
	if (el_add(loop, n->fd, 0, tap_event, n) < 0) {
		snprintf(err, errlen, "virtio-net %s: event loop: %s", ifname, strerror(errno));
		virtio_dev_destroy(d);
		free(n);
		goto fail_fd;
	}
	return d;
fail_fd:
	if (cfg->fd >= 0)
		close(cfg->fd);
	return NULL;
}

void virtio_net_destroy(struct virtio_dev *d)
{
	struct virtio_net *n;

	if (!d)
		return;
	n = to_net(d);
	virtio_dev_destroy(d);
	el_remove(d->loop, n->fd);
	close(n->fd);
	free(n);
}

void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = to_net(d)->stats;
	pthread_mutex_unlock(&d->lock);
}
