/* Split virtqueues (virtio 1.2, 2.7): the one implementation every device
 * uses.  Everything in the ring is guest-written and hostile: each address
 * and length is checked against guest memory, chains are bounded, and a
 * malformed ring is reported (return -1) instead of being followed. */
#ifndef LANDLORD_VIRTIO_VIRTQUEUE_H
#define LANDLORD_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define VQ_MAX_SIZE        1024   /* largest queue size landlord offers */
#define VQ_MAX_CHAIN       1024   /* buffers in one chain, indirect ones included */

/* Descriptor flags (2.7.5) */
#define VRING_DESC_F_NEXT      1
#define VRING_DESC_F_WRITE     2
#define VRING_DESC_F_INDIRECT  4
#define VRING_USED_F_NO_NOTIFY 1
#define VRING_AVAIL_F_NO_INTERRUPT 1

#define VQ_NO_VECTOR       0xffff /* msix_vector: none (VIRTIO_MSI_NO_VECTOR) */

/* The driver's view as the transport programs it.  The transport fills
 * size/desc/avail/used and sets ready; the walker keeps the indexes. */
struct virtqueue {
	uint16_t size;           /* power of two, 1..VQ_MAX_SIZE */
	bool ready;
	uint64_t desc_gpa;       /* descriptor table, 16 * size bytes */
	uint64_t avail_gpa;      /* driver area, 6 + 2 * size bytes */
	uint64_t used_gpa;       /* device area, 6 + 8 * size bytes */
	bool event_idx;          /* VIRTIO_F_EVENT_IDX negotiated */
	uint16_t msix_vector;    /* for the PCI transport */

	/* walker state */
	uint16_t last_avail;     /* next avail ring entry to take */
	uint16_t used_idx;       /* next used ring slot to fill */
	uint16_t signalled_used; /* used_idx when the driver was last notified */
	bool signalled_valid;
};

/* One buffer of a chain: a host pointer into guest RAM, already checked. */
struct vq_buf {
	uint8_t *host;
	uint32_t len;
	bool write;              /* device writes (driver reads) */
};

/* A popped chain: readable buffers first, then writable ones (the spec's
 * required order; a chain that breaks it is malformed). */
struct vq_chain {
	uint16_t head;
	uint16_t nr;             /* buffers in bufs */
	uint16_t nr_out;         /* the first nr_out are device-readable */
	uint64_t out_len;        /* total readable bytes */
	uint64_t in_len;         /* total writable bytes */
	struct vq_buf bufs[VQ_MAX_CHAIN];
};

/* Reset the queue: every field 0 (not ready, no rings, size 0: the caller
 * sets the size it offers), msix_vector VQ_NO_VECTOR. */
void vq_reset(struct virtqueue *vq);
/* Check the rings of a queue the driver has just enabled fit in guest RAM,
 * are aligned (desc 16, avail 2, used 4) and the size is valid.  0, or -1. */
int vq_validate(const struct virtqueue *vq, const struct guest_mem *mem);
/* Take the next available chain.  1: chain filled in; 0: ring empty (or
 * queue not ready); -1: malformed ring (index jump beyond size, bad head,
 * address outside RAM, zero-length buffer, loop, chain too long or over
 * 4 GiB in total, bad indirect table, read-after-write order).  On an empty
 * ring it re-enables kicks (as vq_set_notify(true)) and looks again, so a
 * device that pops until 0 never misses a buffer; a device only needs
 * vq_set_notify(false) as an optimisation while it works through a batch.
 * The chain's host pointers stay valid while mem is mapped. */
int vq_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain);
/* Put a finished chain on the used ring (len = bytes written to it).
 * 0, or -1 if the used ring is not in guest RAM. */
int vq_push(struct virtqueue *vq, const struct guest_mem *mem, uint16_t head, uint32_t len);
/* Should the driver be interrupted for what was pushed since the last
 * notification?  Honours VRING_AVAIL_F_NO_INTERRUPT or used_event (call it
 * once after one or more vq_push; with EVENT_IDX it records what was
 * signalled). */
bool vq_need_notify(struct virtqueue *vq, const struct guest_mem *mem);
/* Tell the driver whether the device wants kicks (VRING_USED_F_NO_NOTIFY,
 * or avail_event with EVENT_IDX).  After enabling, check the ring again
 * (vq_pop) before sleeping: a buffer may have come while kicks were off. */
void vq_set_notify(struct virtqueue *vq, const struct guest_mem *mem, bool enable);

/* Copy helpers over a chain's readable / writable buffers, starting at
 * byte offset off.  Return bytes copied. */
uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len);
uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len);

#endif
