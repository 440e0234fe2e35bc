/* Metrics in Firecracker's format (its docs/metrics.md): a snapshot of
 * every counter, the difference of two snapshots, the JSON object for one
 * line, and the output (a file or FIFO, written without blocking, with a
 * periodic timer on an event loop).  Nothing here knows the VM: vm_metrics.c
 * fills the snapshots from its devices and vCPUs.
 *
 * Counters live where they are counted (base/counter.h: vCPU exits in
 * struct vcpu, device counters in each device) or, for what only the event
 * loop does (API requests, metric writes), in plain numbers beside the
 * snapshots; a snapshot copies them all into plain numbers. */
#ifndef LANDLORD_VMM_METRICS_H
#define LANDLORD_VMM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/event_loop.h"
#include "devices/uart.h"
#include "kvm/vcpu.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_rng.h"

#define METRICS_PERIOD_MS   60000   /* Firecracker's WRITE_METRICS_PERIOD_MS */
#define METRICS_MAX_BLOCKS  16
#define METRICS_ID_MAX      64

/* Counters only the event-loop thread changes: API requests by endpoint,
 * under Firecracker's group and field names (request_count, fault_count,
 * patch_api_requests.vm_* are landlord's), and the metrics output's own. */
#define METRICS_LOOP_COUNTERS(X) \
	X(API_REQUESTS, "api_server", "request_count") \
	X(API_FAULTS, "api_server", "fault_count") \
	X(GET_INSTANCE_INFO, "get_api_requests", "instance_info_count") \
	X(GET_MACHINE_CFG, "get_api_requests", "machine_cfg_count") \
	X(PUT_ACTIONS, "put_api_requests", "actions_count") \
	X(PUT_ACTIONS_FAILS, "put_api_requests", "actions_fails") \
	X(PUT_BOOT_SOURCE, "put_api_requests", "boot_source_count") \
	X(PUT_BOOT_SOURCE_FAILS, "put_api_requests", "boot_source_fails") \
	X(PUT_DRIVE, "put_api_requests", "drive_count") \
	X(PUT_DRIVE_FAILS, "put_api_requests", "drive_fails") \
	X(PUT_LOGGER, "put_api_requests", "logger_count") \
	X(PUT_LOGGER_FAILS, "put_api_requests", "logger_fails") \
	X(PUT_MACHINE_CFG, "put_api_requests", "machine_cfg_count") \
	X(PUT_MACHINE_CFG_FAILS, "put_api_requests", "machine_cfg_fails") \
	X(PUT_METRICS, "put_api_requests", "metrics_count") \
	X(PUT_METRICS_FAILS, "put_api_requests", "metrics_fails") \
	X(PUT_NETWORK, "put_api_requests", "network_count") \
	X(PUT_NETWORK_FAILS, "put_api_requests", "network_fails") \
	X(PUT_VSOCK, "put_api_requests", "vsock_count") \
	X(PUT_VSOCK_FAILS, "put_api_requests", "vsock_fails") \
	X(PATCH_DRIVE, "patch_api_requests", "drive_count") \
	X(PATCH_DRIVE_FAILS, "patch_api_requests", "drive_fails") \
	X(PATCH_MACHINE_CFG, "patch_api_requests", "machine_cfg_count") \
	X(PATCH_MACHINE_CFG_FAILS, "patch_api_requests", "machine_cfg_fails") \
	X(PATCH_VM, "patch_api_requests", "vm_count") \
	X(PATCH_VM_FAILS, "patch_api_requests", "vm_fails") \
	X(MISSED_METRICS, "logger", "missed_metrics_count") \
	X(METRICS_FAILS, "logger", "metrics_fails")

enum metrics_loop_counter {
#define METRICS_LOOP_ENUM(id, group, name) METRICS_##id,
	METRICS_LOOP_COUNTERS(METRICS_LOOP_ENUM)
#undef METRICS_LOOP_ENUM
	METRICS_LOOP_NR
};

struct metrics_block {
	char id[METRICS_ID_MAX + 1];         /* the drive id: group block_<id> */
	uint64_t dev[VIRTIO_BLK_CTR_NR];
	uint64_t core[VIRTIO_CTR_NR];
};

/* Every counter at one moment, cumulative. */
struct metrics_snapshot {
	uint64_t vcpu[VCPU_CTR_NR];          /* summed over the vCPUs */
	uint64_t uart[UART_CTR_NR];
	uint64_t entropy[VIRTIO_RNG_CTR_NR];
	uint64_t entropy_core[VIRTIO_CTR_NR];
	uint64_t virtio[VIRTIO_CTR_NR];      /* summed over every virtio device */
	uint64_t loop[METRICS_LOOP_NR];
	int nr_blocks;
	struct metrics_block block[METRICS_MAX_BLOCKS];
};

/* dst[i] += src[i] */
void metrics_add(uint64_t *dst, const uint64_t *src, size_t n);
/* out = cur - prev, counter by counter (blocks by position, prev's missing
 * ones counting as 0; a counter that went down counts from 0). */
void metrics_delta(struct metrics_snapshot *out, const struct metrics_snapshot *cur,
		   const struct metrics_snapshot *prev);

/* What a line carries besides the counters. */
struct metrics_line {
	uint64_t utc_ms;             /* utc_timestamp_ms */
	const char *id;              /* "id", or NULL for none (emit_id) */
	json_t *properties;          /* "properties" (borrowed), or NULL */
};

/* The JSON object of one line: utc_timestamp_ms, then the groups
 * (api_server, block_<id>..., block (their sum), get_api_requests, logger,
 * patch_api_requests, put_api_requests, uart, vcpu, entropy, interrupts,
 * and landlord's virtio).  NULL when out of memory. */
json_t *metrics_json(const struct metrics_snapshot *s, const struct metrics_line *line);
uint64_t metrics_utc_ms(void);

/* ---- the output ---- */

/* Zero-initialised: not open. */
struct metrics_out {
	bool open;
	int fd;
	int timer_fd;
	struct event_loop *loop;     /* where timer_fd is watched, or NULL */
	void (*tick)(void *opaque);
	void *opaque;
	char *pending;               /* the tail of a line a full pipe cut short */
	size_t pending_len;
};

/* Open path as Firecracker does: created if missing (mode 0600), opened
 * read-write (a FIFO without a reader then opens, and a write finds it
 * full rather than blocking) and non-blocking; landlord adds O_APPEND.
 * 0, or -1 with the reason in err. */
int metrics_out_open(struct metrics_out *o, const char *path, char *err, size_t errlen);
/* Call tick(opaque) every period_ms on loop (a timerfd).  0, or -1. */
int metrics_out_start_timer(struct metrics_out *o, struct event_loop *loop,
			    unsigned period_ms, void (*tick)(void *), void *opaque);
/* Write one line (line does not end in '\n'; the newline is added) without
 * blocking.  0: written, or queued behind nothing (a short write's tail is
 * kept and goes first next time); -1 with errno: dropped whole (EAGAIN: the
 * pipe is full, or an earlier line's tail still waits). */
int metrics_out_write(struct metrics_out *o, const char *line, size_t len);
/* Stop the timer, close the file. */
void metrics_out_close(struct metrics_out *o);

#endif
