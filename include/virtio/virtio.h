/* The transport-independent virtio device (virtio 1.2, chapters 2-3):
 * status, feature negotiation, queues, config space, and the NEEDS_RESET
 * path for a guest that breaks the rules.  A device (blk, rng, console)
 * fills in its part and an ops table; a transport (PCI or MMIO) maps the
 * registers the guest uses onto these calls. */
#ifndef LANDLORD_VIRTIO_VIRTIO_H
#define LANDLORD_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/counter.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES 8

/* Device status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE  1
#define VIRTIO_STATUS_DRIVER       2
#define VIRTIO_STATUS_DRIVER_OK    4
#define VIRTIO_STATUS_FEATURES_OK  8
#define VIRTIO_STATUS_NEEDS_RESET  64
#define VIRTIO_STATUS_FAILED       128

/* Reserved feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Device ids (5) */
#define VIRTIO_ID_NET      1
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3
#define VIRTIO_ID_RNG      4
#define VIRTIO_ID_VSOCK    19

/* ISR bits (4.1.4.5) */
#define VIRTIO_ISR_QUEUE   1
#define VIRTIO_ISR_CONFIG  2

struct virtio_dev;

/* What the core counts for every device (base/counter.h; written under
 * the device's lock).  The metrics name them per device kind. */
enum virtio_counter {
	VIRTIO_CTR_NOTIFY,          /* queue kicks */
	VIRTIO_CTR_QUEUE_IRQ,       /* used-buffer interrupts sent */
	VIRTIO_CTR_CONFIG_IRQ,      /* configuration-change interrupts sent */
	VIRTIO_CTR_NEEDS_RESET,     /* times the device was marked NEEDS_RESET */
	VIRTIO_CTR_ACTIVATE_FAILS,  /* DRIVER_OK refused (no FEATURES_OK) */
	VIRTIO_CTR_NR
};

/* What a device implements.  All are called with dev->lock held. */
struct virtio_dev_ops {
	/* Device-specific config space (4.1.4.6 / 4.2.2 offset 0x100). */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len);
	/* The driver kicked queue q (event-loop thread, via ioeventfd). */
	void (*queue_notify)(struct virtio_dev *d, int q);
	/* DRIVER_OK was set: features and queues are final. */
	void (*start)(struct virtio_dev *d);
	/* The driver reset the device (status 0) or it is being destroyed:
	 * drop in-flight work, forget queues. */
	void (*reset)(struct virtio_dev *d);
};

/* What a transport implements: how the device interrupts the driver.
 * Called with dev->lock held, from a vCPU or the event-loop thread; the
 * core has already set the matching d->isr bit. */
struct virtio_transport_ops {
	void (*signal_queue)(struct virtio_dev *d, int q);   /* used buffers on q */
	void (*signal_config)(struct virtio_dev *d);         /* config changed */
};

struct virtio_dev {
	/* Filled by the device before the transport sees it. */
	const char *name;                 /* "virtio-blk vda", for messages */
	uint32_t device_id;
	uint64_t device_features;         /* device-specific bits; the core adds
	                                     VERSION_1, INDIRECT_DESC, EVENT_IDX */
	int nr_queues;
	uint16_t queue_max;               /* largest queue size offered */
	uint32_t config_len;              /* device config space size */
	const struct virtio_dev_ops *ops;
	void *priv;

	/* Handed in by the VM. */
	const struct guest_mem *mem;
	struct event_loop *loop;

	/* Filled by the transport. */
	const struct virtio_transport_ops *transport;
	void *transport_priv;

	/* State, under lock. */
	pthread_mutex_t lock;
	uint64_t driver_features;
	uint8_t status;
	uint8_t isr;                      /* for transports that have one */
	uint32_t config_generation;
	bool broken;                      /* NEEDS_RESET reported, until reset */
	/* NEEDS_RESET lines in the log, rate-limited across resets (a guest
	 * that resets and breaks the device in a loop must not flood the
	 * log); set by virtio_dev_init, kept by resets. */
	unsigned log_tokens;
	uint64_t log_refill_s;            /* CLOCK_MONOTONIC of the last refill */
	uint64_t log_suppressed;          /* reports not logged since the last line */
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	counter_t ctr[VIRTIO_CTR_NR];     /* kept by resets */

	/* One eventfd per queue, watched by the event loop: the transport
	 * registers it with KVM_IOEVENTFD at its notify address, so a kick
	 * never runs device code on a vCPU thread. */
	int notify_fd[VIRTIO_MAX_QUEUES];
};

/* Initialise the common part (after the device filled its fields and mem,
 * loop): the state, the lock, and one notify eventfd per queue added to the
 * loop (none is watched when loop is NULL, e.g. in unit tests).  Checks
 * name, mem, nr_queues and queue_max (a power of two <= VQ_MAX_SIZE).
 * 0, or -1 with errno set. */
int virtio_dev_init(struct virtio_dev *d);
/* Undo virtio_dev_init: stop watching and close the notify eventfds, run
 * ops->reset (lock taken here), destroy the lock.  Destroy the transport
 * first (it holds the eventfds in KVM), then this, then free the device. */
void virtio_dev_destroy(struct virtio_dev *d);

/* --- for transports (lock held) --- */
uint64_t virtio_offered_features(const struct virtio_dev *d);
/* The driver writes features; only offered bits are kept, and a write
 * after FEATURES_OK is ignored. */
void virtio_set_driver_features(struct virtio_dev *d, uint64_t features);
/* The driver writes the status register: handles reset (0: ops->reset,
 * queues back to size queue_max and not ready, features, isr, broken
 * cleared), FEATURES_OK acceptance (left clear when the features are
 * unacceptable, e.g. no VERSION_1), and on DRIVER_OK (only after
 * FEATURES_OK) each ready queue's event_idx, then ops->start.  Bits are
 * only ever added, except by reset. */
void virtio_set_status(struct virtio_dev *d, uint8_t status);
/* The driver enables queue q: validates its size (<= queue_max) and rings
 * (a bad one makes the device broken).  Returns 0 or -1. */
int virtio_queue_enable(struct virtio_dev *d, int q);

/* A kick that did not come through the eventfd (no KVM ioeventfd for this
 * address): takes the lock and runs the device's queue_notify. */
void virtio_queue_kick(struct virtio_dev *d, int q);

/* --- for devices (lock held) --- */
/* Put a chain on the used ring and interrupt the driver if it wants it:
 * sets VIRTIO_ISR_QUEUE in d->isr, then transport->signal_queue.  Nothing
 * happens while broken; a used ring outside RAM makes the device broken. */
void virtio_queue_complete(struct virtio_dev *d, int q, uint16_t head, uint32_t len);
/* The guest broke the rules (malformed ring, impossible request): set
 * NEEDS_RESET, bump config_generation, log one line (a warning)
 * ("landlord: NAME: REASON; device needs reset"), and stop processing until
 * the driver resets the device.  After DRIVER_OK it also sets
 * VIRTIO_ISR_CONFIG and calls transport->signal_config (2.1.2); before,
 * the driver finds the status bit when it reads status.  Only the first
 * call until a reset does anything.  The lines are rate-limited per device
 * (a burst of VIRTIO_BROKEN_LOG_BURST, then one per
 * VIRTIO_BROKEN_LOG_PERIOD_S seconds; the next line counts what was
 * skipped). */
#define VIRTIO_BROKEN_LOG_BURST     16
#define VIRTIO_BROKEN_LOG_PERIOD_S  60
void virtio_mark_broken(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* out[VIRTIO_CTR_NR]: the core's counters so far; any thread, no lock. */
void virtio_read_counters(const struct virtio_dev *d, uint64_t *out);

/* Devices' constructors share this signature shape; see each header. */

/* A config-space read from a device's config bytes: whatever lies beyond
 * them reads as 0 (offsets come from the guest). */
static inline void virtio_config_copy(const uint8_t *cfg, size_t size, uint32_t off,
				      uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint64_t)off + i < size ? cfg[off + i] : 0;
}

#endif
