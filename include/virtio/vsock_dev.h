/* virtio-vsock's insides, shared by virtio_vsock.c (the queues: packets
 * to and from the ring) and vsock_packet.c (what each packet and each
 * socket event means for a connection).  Not for other modules. */
#ifndef LANDLORD_VIRTIO_VSOCK_DEV_H
#define LANDLORD_VIRTIO_VSOCK_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"
#include "virtio/virtio_vsock.h"
#include "virtio/vsock_conn.h"

#define RSTE_MAX      32          /* RSTs for packets without a connection */
#define NSEC_PER_MS   1000000ULL

/* A parsed packet header (5.10.6). */
struct vhdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

/* An RST for a packet that had no connection. */
struct rst_entry {
	uint64_t src_cid;          /* the CID the guest addressed */
	uint32_t src_port, dst_port;
};

struct virtio_vsock {
	struct virtio_dev dev;
	char name[40];
	uint8_t config[VIRTIO_VSOCK_CONFIG_LEN];
	uint64_t guest_cid;
	struct vsock_host host;

	/* Under dev.lock. */
	bool rx_stalled;           /* the guest had no receive buffers: wait for its kick */
	bool timer_dirty;          /* a deadline changed: re-arm the timer */
	unsigned rr;               /* round-robin start over the connections */
	struct rst_entry rst[RSTE_MAX];
	unsigned rst_head, rst_nr;
	struct virtio_vsock_stats stats;
	struct vq_chain chain;     /* big (VQ_MAX_CHAIN buffers): not on a stack */
	uint8_t pkt[VSOCK_MAX_PKT];
};

static inline bool vsock_running(const struct virtio_vsock *v, int q)
{
	const struct virtio_dev *d = &v->dev;

	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken && d->vq[q].ready;
}

/* virtio_vsock.c: send what is owed to the guest, as receive buffers allow. */
void vsock_rx_process(struct virtio_vsock *v);

/* vsock_packet.c (dev.lock held) */
/* Close c; with rst the guest is told (its end may still exist). */
void vsock_conn_kill(struct virtio_vsock *v, struct vsock_conn *c, bool rst);
/* The host end said EOF (with c->hup: is gone): a SHUTDOWN may be owed. */
void vsock_host_eof(struct vsock_conn *c);
/* One transmit chain, in v->chain. */
void vsock_tx_packet(struct virtio_vsock *v);
/* After any work: each socket's epoll mask, the listener, the timer. */
void vsock_update_watches(struct virtio_vsock *v);
/* The host epoll set's fd on the VM's loop (event-loop thread; takes the lock). */
void vsock_host_event(void *opaque, int fd, uint32_t events);

#endif
