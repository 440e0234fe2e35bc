/* The machine that fuzz_virtio_net_vsock.c drives (fuzz_virtio_harness.c):
 * guest RAM, an event loop, an MMIO bus with virtio-net and virtio-vsock
 * on it, the host ends of their sockets, and the harness's own driver view
 * of each queue; plus the reader of the input that both files take their
 * arguments from.  Not a fuzz target of its own: fuzz/run.sh builds it
 * into fuzz_virtio_net_vsock only. */
#ifndef FUZZ_VIRTIO_HARNESS_H
#define FUZZ_VIRTIO_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "virtio/virtio.h"
#include "virtio/virtio_mmio.h"

#define RAM        (2ULL << 20)
#define RING_AREA  0x40000ULL            /* rings below, buffers above */
#define NDEV       2
#define DEV_NET    0
#define DEV_VSOCK  1
#define NQ         3
#define NHOST      12                    /* host-side stream sockets */
#define CID        3
#define GPORT_A    1234                  /* uds_path_1234 listens */
#define GPORT_B    1235
#define HOST_PORT0 (1u << 30)            /* the first port vsock_conn.c hands out */

/* virtio-mmio registers (4.2.2) */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEAT = 0x010, R_DEV_FEAT_SEL = 0x014, R_DRV_FEAT = 0x020,
	R_DRV_FEAT_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
	R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070, R_DESC_LO = 0x080,
	R_DESC_HI = 0x084, R_AVAIL_LO = 0x090, R_AVAIL_HI = 0x094, R_USED_LO = 0x0a0,
	R_USED_HI = 0x0a4, R_SHM_SEL = 0x0ac, R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

/* ---- the input ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static inline uint16_t u16(struct rd *r)
{
	return (uint16_t)(u8(r) | u8(r) << 8);
}

static inline uint32_t u32(struct rd *r)
{
	return (uint32_t)u16(r) | (uint32_t)u16(r) << 16;
}

/* len bytes of the input (zeros past its end). */
static inline void bytes(struct rd *r, uint8_t *dst, size_t len)
{
	size_t k = len < r->n ? len : r->n;

	memcpy(dst, r->p, k);
	memset(dst + k, 0, len - k);
	r->p += k;
	r->n -= k;
}

/* ---- the machine ---- */

/* The harness's driver view of one queue (as the unit tests' td_queue). */
struct hq {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen, next_desc;
};

struct irq_sink {
	int level;
};

struct machine {
	struct guest_mem gm;
	struct event_loop el;
	struct bus bus;
	struct irq_sink irq[NDEV];
	struct irq_line line[NDEV];
	struct virtio_dev *dev[NDEV];
	struct virtio_mmio *mmio[NDEV];
	struct hq q[NDEV][NQ];
	uint64_t heap;
	int peer;                      /* the host end of the tap */
	int glisten[2];                /* uds_path_1234, _1235 */
	int host[NHOST];               /* clients of uds_path and accepted ones */
};

/* One buffer of a chain. */
struct buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static const uint64_t base[NDEV] = { LAYOUT_VIRTIO_MMIO, LAYOUT_VIRTIO_MMIO + 0x1000 };
static const int nqueues[NDEV] = { 2, 3 };

/* The vsock device's uds_path, in a per-process temporary directory. */
extern char uds[96];

static inline void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static inline uint8_t *host(struct machine *m, uint64_t gpa, uint64_t len)
{
	return gm_ptr(&m->gm, gpa, len);
}

/* Make the temporary directory and its paths (removed at exit). */
void harness_init(void);
int machine_init(struct machine *m);
void machine_fini(struct machine *m);
void report(struct machine *m);

uint32_t rd32(struct machine *m, int dev, uint32_t off);
void wr32(struct machine *m, int dev, uint32_t off, uint32_t v);
void pump(struct machine *m, int rounds);
uint64_t alloc(struct machine *m, uint64_t len);
void op_init(struct machine *m, struct rd *r);
struct hq *postable(struct machine *m, int dev, int q);
uint16_t post(struct machine *m, struct hq *h, const struct buf *b, int n, bool indirect);

#endif
