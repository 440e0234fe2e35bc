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

/* The device's counters (base/counter.h), named as Firecracker's
 * "entropy" metrics; the core's (virtio.h) add activate_fails,
 * entropy_event_count (kicks) and entropy_event_fails (NEEDS_RESET).
 * entropy_bytes: bytes handed to the guest; host_rng_fails: getrandom
 * calls that gave nothing; entropy_rate_limiter_throttled: requests that
 * had to wait for the rate limit; rate_limiter_event_count: timer wake-ups
 * (rate limit or retry). */
#define VIRTIO_RNG_COUNTERS(X) \
	X(ENTROPY_BYTES, "entropy_bytes") \
	X(HOST_RNG_FAILS, "host_rng_fails") \
	X(ENTROPY_RATE_LIMITER_THROTTLED, "entropy_rate_limiter_throttled") \
	X(RATE_LIMITER_EVENT_COUNT, "rate_limiter_event_count")

enum virtio_rng_counter {
#define VIRTIO_RNG_CTR_ENUM(id, name) VIRTIO_RNG_CTR_##id,
	VIRTIO_RNG_COUNTERS(VIRTIO_RNG_CTR_ENUM)
#undef VIRTIO_RNG_CTR_ENUM
	VIRTIO_RNG_CTR_NR
};

/* bytes_per_sec 0 means no limit (work per kick is still bounded).  The
 * device owns a timerfd on loop, added here because el_add is only safe
 * while the VM is being built.  NULL with a message in err on failure. */
struct virtio_dev *virtio_rng_create(const struct guest_mem *mem, struct event_loop *loop,
				     uint64_t bytes_per_sec, char *err, size_t errlen);
/* After the transport is gone and the event loop has stopped. */
void virtio_rng_destroy(struct virtio_dev *d);
/* out[VIRTIO_RNG_CTR_NR]: the counters so far; any thread, no lock. */
void virtio_rng_read_counters(const struct virtio_dev *d, uint64_t *out);

#endif
