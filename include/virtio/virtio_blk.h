/* virtio-blk (virtio 1.2, 5.2): one request queue over a raw image file or
 * block device (backends/disk.h), served by io_uring off the vCPU threads.
 * Read-only disks, flush (fdatasync), discard and write-zeroes when the
 * host file supports them, and a serial (GET_ID) string. */
#ifndef LANDLORD_VIRTIO_VIRTIO_BLK_H
#define LANDLORD_VIRTIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"

/* Feature bits (5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX      1
#define VIRTIO_BLK_F_SEG_MAX       2
#define VIRTIO_BLK_F_GEOMETRY      4
#define VIRTIO_BLK_F_RO            5
#define VIRTIO_BLK_F_BLK_SIZE      6
#define VIRTIO_BLK_F_FLUSH         9
#define VIRTIO_BLK_F_TOPOLOGY      10
#define VIRTIO_BLK_F_CONFIG_WCE    11
#define VIRTIO_BLK_F_MQ            12
#define VIRTIO_BLK_F_DISCARD       13
#define VIRTIO_BLK_F_WRITE_ZEROES  14

/* Request types (5.2.6) */
#define VIRTIO_BLK_T_IN            0
#define VIRTIO_BLK_T_OUT           1
#define VIRTIO_BLK_T_FLUSH         4
#define VIRTIO_BLK_T_GET_ID        8
#define VIRTIO_BLK_T_DISCARD       11
#define VIRTIO_BLK_T_WRITE_ZEROES  13

/* Status byte values */
#define VIRTIO_BLK_S_OK            0
#define VIRTIO_BLK_S_IOERR         1
#define VIRTIO_BLK_S_UNSUPP        2

/* Discard / write-zeroes segment flag */
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

#define VIRTIO_BLK_ID_BYTES        20
#define VIRTIO_BLK_SECTOR          512
#define VIRTIO_BLK_QUEUE_SIZE      256
#define VIRTIO_BLK_SEG_MAX         (VIRTIO_BLK_QUEUE_SIZE - 2)
#define VIRTIO_BLK_SIZE_MAX        (1u << 20)   /* one segment, advisory */
#define VIRTIO_BLK_MAX_DISCARD     (1u << 21)   /* sectors (1 GiB) per request */
#define VIRTIO_BLK_CONFIG_LEN      60           /* through write_zeroes_may_unmap + pad */

/* Config space offsets (5.2.4) */
#define VIRTIO_BLK_CFG_CAPACITY         0
#define VIRTIO_BLK_CFG_SIZE_MAX         8
#define VIRTIO_BLK_CFG_SEG_MAX          12
#define VIRTIO_BLK_CFG_BLK_SIZE         20
#define VIRTIO_BLK_CFG_NUM_QUEUES       34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG  40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN    44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS   48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG       52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP     56

/* The device's counters (base/counter.h), named as Firecracker's
 * BlockDeviceMetrics; the core's (virtio.h) add activate_fails,
 * queue_event_count and event_fails (NEEDS_RESET).  read/write_count and
 * _bytes count requests that completed; execute_fails those the host
 * failed; invalid_reqs_count those refused (bad header, out of range,
 * misaligned, a write to a read-only disk, an unsupported type);
 * no_avail_buffer kicks that found the ring empty; io_engine_throttled_events
 * passes stopped because every request slot was in flight; cfg_fails
 * config-space writes (nothing there is writable).  discard_count and
 * write_zeroes_count are landlord's. */
#define VIRTIO_BLK_COUNTERS(X) \
	X(READ_COUNT, "read_count") \
	X(WRITE_COUNT, "write_count") \
	X(READ_BYTES, "read_bytes") \
	X(WRITE_BYTES, "write_bytes") \
	X(FLUSH_COUNT, "flush_count") \
	X(EXECUTE_FAILS, "execute_fails") \
	X(INVALID_REQS_COUNT, "invalid_reqs_count") \
	X(NO_AVAIL_BUFFER, "no_avail_buffer") \
	X(IO_ENGINE_THROTTLED_EVENTS, "io_engine_throttled_events") \
	X(CFG_FAILS, "cfg_fails") \
	X(DISCARD_COUNT, "discard_count") \
	X(WRITE_ZEROES_COUNT, "write_zeroes_count")

enum virtio_blk_counter {
#define VIRTIO_BLK_CTR_ENUM(id, name) VIRTIO_BLK_CTR_##id,
	VIRTIO_BLK_COUNTERS(VIRTIO_BLK_CTR_ENUM)
#undef VIRTIO_BLK_CTR_ENUM
	VIRTIO_BLK_CTR_NR
};

struct virtio_blk_config {
	const char *path;
	bool read_only;
	const char *id;     /* serial for GET_ID, at most 20 bytes; NULL: none */
};

/* Opens and locks the image, and adds its completion eventfd to loop (el_add
 * is only safe while the VM is being built).  NULL with a message in err. */
struct virtio_dev *virtio_blk_create(const struct virtio_blk_config *cfg,
				     const struct guest_mem *mem, struct event_loop *loop,
				     char *err, size_t errlen);
/* After the transport is gone: waits for in-flight I/O, closes the image. */
void virtio_blk_destroy(struct virtio_dev *d);
/* out[VIRTIO_BLK_CTR_NR]: the counters so far; any thread, no lock. */
void virtio_blk_read_counters(const struct virtio_dev *d, uint64_t *out);

#endif
