/* virtio-console (virtio 1.2, 5.3): one port, no features offered.
 *
 * transmitq (1): each chain's readable bytes go to the tx callback, in ring
 * order, and the chain returns with length 0.  receiveq (0): the driver
 * posts empty buffers that wait, untouched, until the host has input;
 * virtio_console_input then fills as many of them as the input needs.
 *
 * The config space (cols, rows, max_nr_ports, emerg_wr: 12 bytes) reads as
 * zeros: its fields mean something only with F_SIZE, F_MULTIPORT or
 * F_EMERG_WRITE, and landlord offers none (it does not track the host
 * terminal's size, and one port needs no control queue). */
#include "base/log.h"
#include "virtio/virtio_console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#define CONSOLE_QUEUE_SIZE  256
#define CONSOLE_CONFIG_LEN  12     /* struct virtio_console_config */
/* Output bytes per pass.  One chain may hold up to 4 GiB (the same guest
 * pages named again and again), so a pass stops here, mid-chain if need
 * be, and the rest goes after the event loop's other work (a SIGTERM). */
#define CONSOLE_TX_PASS     (256 * 1024)
#define RXQ 0
#define TXQ 1

struct virtio_console {
	struct virtio_dev dev;
	virtio_console_tx_fn tx;
	void *tx_opaque;

	/* Under dev.lock. */
	bool warned_rx;
	bool tx_pending;           /* tx_chain popped, not all of it sent yet */
	uint64_t tx_sent;          /* bytes of tx_chain already sent */
	/* big (VQ_MAX_CHAIN buffers): not on a stack */
	struct vq_chain tx_chain;
	struct vq_chain rx_chain;
};

static void console_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data,
				uint32_t len)
{
	memset(data, 0, len);
}

/* Send what is left of the pending chain, at most *budget bytes. */
static void console_send(struct virtio_console *c, uint64_t *budget)
{
	const struct vq_chain *ch = &c->tx_chain;
	uint64_t skip = c->tx_sent;

	for (uint16_t i = 0; i < ch->nr_out && *budget > 0; i++) {
		uint64_t len = ch->bufs[i].len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		len -= skip;
		if (len > *budget)
			len = *budget;
		if (c->tx)
			c->tx(c->tx_opaque, ch->bufs[i].host + skip, len);
		skip = 0;
		c->tx_sent += len;
		*budget -= len;
	}
}

/* Guest output: at most a ring's worth of chains and CONSOLE_TX_PASS bytes
 * per pass, so one guest cannot hold the event loop; the rest runs on a
 * second pass. */
static void console_transmit(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtqueue *vq = &d->vq[TXQ];
	uint64_t budget = CONSOLE_TX_PASS;

	for (unsigned int n = 0; n < vq->size && budget > 0; n++) {
		if (!c->tx_pending) {
			int ret = vq_pop(vq, d->mem, &c->tx_chain);

			if (ret < 0) {
				virtio_mark_broken(d, "malformed transmit ring");
				return;
			}
			if (ret == 0)
				return;
			c->tx_pending = true;
			c->tx_sent = 0;
		}
		console_send(c, &budget);
		if (c->tx_sent < c->tx_chain.out_len)
			break;             /* budget spent mid-chain */
		c->tx_pending = false;
		virtio_queue_complete(d, TXQ, c->tx_chain.head, 0);
		if (d->broken)
			return;
	}
	(void)eventfd_write(d->notify_fd[TXQ], 1);
}

static void console_queue_notify(struct virtio_dev *d, int q)
{
	/* Receive buffers just wait for input. */
	if (q == TXQ)
		console_transmit(d->priv);
}

/* A driver may queue output and kick before DRIVER_OK; that kick was
 * dropped. */
static void console_start(struct virtio_dev *d)
{
	if (d->vq[TXQ].ready)
		console_transmit(d->priv);
}

static void console_reset(struct virtio_dev *d)
{
	struct virtio_console *c = d->priv;

	/* A partly sent chain is dropped with the rings it came from. */
	c->tx_pending = false;
}

static const struct virtio_dev_ops console_ops = {
	.config_read = console_config_read,
	.queue_notify = console_queue_notify,
	.start = console_start,
	.reset = console_reset,
};

/* Fill receive chains with input; lock held.  Returns bytes taken. */
static size_t console_receive(struct virtio_console *c, const uint8_t *buf, size_t n)
{
	struct virtio_dev *d = &c->dev;
	struct virtqueue *vq = &d->vq[RXQ];
	size_t taken = 0;

	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || d->broken || !vq->ready)
		return 0;
	/* One pass over the ring at most: each chain takes at least a byte
	 * or is returned empty. */
	for (unsigned int k = 0; k < vq->size && taken < n; k++) {
		int ret = vq_pop(vq, d->mem, &c->rx_chain);
		uint64_t w;

		if (ret < 0) {
			virtio_mark_broken(d, "malformed receive ring");
			break;
		}
		if (ret == 0)
			break;
		if (c->rx_chain.in_len == 0 && !c->warned_rx) {
			log_warn("%s: receive buffer not writable", d->name);
			c->warned_rx = true;
		}
		w = vq_chain_write(&c->rx_chain, 0, buf + taken, n - taken);
		taken += w;
		virtio_queue_complete(d, RXQ, c->rx_chain.head, (uint32_t)w);
		if (d->broken)
			break;
	}
	return taken;
}

size_t virtio_console_input(struct virtio_dev *d, const uint8_t *buf, size_t n)
{
	size_t taken;

	pthread_mutex_lock(&d->lock);
	taken = console_receive(d->priv, buf, n);
	pthread_mutex_unlock(&d->lock);
	return taken;
}

struct virtio_dev *virtio_console_create(const struct guest_mem *mem, struct event_loop *loop,
					 virtio_console_tx_fn tx, void *tx_opaque,
					 char *err, size_t errlen)
{
	struct virtio_console *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "virtio-console: out of memory");
		return NULL;
	}
	c->dev.name = "virtio-console";
	c->dev.device_id = VIRTIO_ID_CONSOLE;
	c->dev.nr_queues = 2;
	c->dev.queue_max = CONSOLE_QUEUE_SIZE;
	c->dev.config_len = CONSOLE_CONFIG_LEN;
	c->dev.ops = &console_ops;
	c->dev.priv = c;
	c->dev.mem = mem;
	c->dev.loop = loop;
	c->tx = tx;
	c->tx_opaque = tx_opaque;
	if (virtio_dev_init(&c->dev) < 0) {
		snprintf(err, errlen, "virtio-console: %s", strerror(errno));
		free(c);
		return NULL;
	}
	return &c->dev;
}

void virtio_console_destroy(struct virtio_dev *d)
{
	if (!d)
		return;
	virtio_dev_destroy(d);
	free(d->priv);
}
