/* virtio-console (virtio 1.2, 5.3) with a single port and no features:
 * queue 0 (receiveq) carries host input to the guest, queue 1 (transmitq)
 * the guest's output to the host.  Linux calls it hvc0. */
#ifndef LANDLORD_VIRTIO_VIRTIO_CONSOLE_H
#define LANDLORD_VIRTIO_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"

typedef void (*virtio_console_tx_fn)(void *opaque, const uint8_t *buf, size_t n);

/* tx gets the guest's output, in order, on the event-loop thread (or the
 * vCPU thread of a kick without ioeventfd), with the device lock held: it
 * must not call back into the device.  NULL with a message in err on
 * failure. */
struct virtio_dev *virtio_console_create(const struct guest_mem *mem, struct event_loop *loop,
					 virtio_console_tx_fn tx, void *tx_opaque,
					 char *err, size_t errlen);
/* After the transport is gone and the event loop has stopped. */
void virtio_console_destroy(struct virtio_dev *d);

/* Hand host input to the guest: copies into the buffers the driver has
 * posted on the receiveq and returns how many bytes were taken, 0 when the
 * driver is not ready or has posted nothing.  The caller keeps the rest and
 * tries again later.  Takes the device lock (call it without). */
size_t virtio_console_input(struct virtio_dev *d, const uint8_t *buf, size_t n);

#endif
