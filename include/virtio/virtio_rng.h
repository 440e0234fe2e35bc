/* virtio-rng (virtio 1.2, 5.4): one queue; the device fills the driver's
 * writable buffers with bytes from the host's getrandom(2), at most
 * bytes_per_sec of them per second. */
#ifndef LANDLORD_VIRTIO_VIRTIO_RNG_H
#define LANDLORD_VIRTIO_VIRTIO_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"

#define VIRTIO_RNG_DEFAULT_RATE   (1024 * 1024)   /* bytes per second */
#define VIRTIO_RNG_MAX_RATE       (1ULL << 34)    /* larger values are clamped */

/* bytes_per_sec 0 means no limit (work per kick is still bounded).  The
 * device owns a timerfd on loop, added here because el_add is only safe
 * while the VM is being built.  NULL with a message in err on failure. */
struct virtio_dev *virtio_rng_create(const struct guest_mem *mem, struct event_loop *loop,
				     uint64_t bytes_per_sec, char *err, size_t errlen);
/* After the transport is gone and the event loop has stopped. */
void virtio_rng_destroy(struct virtio_dev *d);

#endif
