/* landlord test guest: virtio drivers (virtio 1.2), the PCI and MMIO
 * transports and the split virtqueue, shared by the virtio tests. */
#ifndef LANDLORD_TEST_GUEST_VIRTIO_H
#define LANDLORD_TEST_GUEST_VIRTIO_H

#include "guest.h"

/* Device status (2.1) */
#define VS_ACKNOWLEDGE 1
#define VS_DRIVER 2
#define VS_DRIVER_OK 4
#define VS_FEATURES_OK 8
#define VS_NEEDS_RESET 64
#define VS_FAILED 128

/* Reserved feature bits (6) */
#define VF_INDIRECT_DESC 28
#define VF_EVENT_IDX 29
#define VF_VERSION_1 32

/* Device ids (5) */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* Split ring (2.7) */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_USED_F_NO_NOTIFY 1
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
} PACKED;

struct vring_avail {
    u16 flags;
    u16 idx;
    u16 ring[];   /* then used_event */
} PACKED;

struct vring_used_elem {
    u32 id;
    u32 len;
} PACKED;

struct vring_used {
    u16 flags;
    u16 idx;
    struct vring_used_elem ring[];   /* then avail_event */
} PACKED;

#define VQ_SIZE_MAX 64   /* what these drivers ever ask for */
#define VDEV_MAX_QUEUES 4

enum vt_kind { VT_PCI, VT_MMIO };
enum virq_mode { VIRQ_POLL, VIRQ_MSIX, VIRQ_INTX, VIRQ_LINE };

struct vq {
    u16 index;
    u16 size;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    u16 avail_idx;    /* our shadow of avail->idx */
    u16 last_used;    /* next used entry to consume */
    u16 free_head;
    u16 num_free;
    u16 chain_len[VQ_SIZE_MAX];   /* descriptors per in-flight head */
    u64 notify_addr;  /* PCI: notify address; MMIO: QueueNotify register */
    u8 vector;        /* CPU vector its interrupts arrive on (MSI-X) */
    int event_idx_on; /* VIRTIO_F_EVENT_IDX negotiated: keep used_event current */
    u16 covered;      /* used entries below this were announced by an interrupt */
    volatile u32 irqs; /* interrupts that may have been for this queue */
    u32 irq_mark;     /* irqs when covered was taken */
    int quiet;        /* vq_quiet: the driver polls, the device should not interrupt */
};

struct vdev {
    enum vt_kind kind;
    u32 device_id;
    char where[32];          /* "pci 00:03.0" / "mmio 0xd0000000" */
    /* PCI */
    u8 slot, fn;
    u64 common, notify, isr, devcfg;
    u32 notify_mult;
    u8 msix_cap;
    u16 msix_size;
    u64 msix_table, msix_pba;
    u8 intx_line, intx_pin;
    /* MMIO */
    u64 base;
    u32 gsi;
    /* driver state */
    enum virq_mode irq;
    u64 offered, features;
    int event_idx;
    int nr_vqs;
    struct vq vqs[VDEV_MAX_QUEUES];
    u8 config_vector;
    volatile u32 queue_irqs;    /* interrupts that reported used buffers */
    volatile u32 config_irqs;   /* interrupts that reported a config change */
    u64 bad_desc;               /* hostile test: queue 0's descriptor table address */
    int irq_active;             /* its interrupts are set up (and not yet turned off) */
};

/* ---- discovery (virtio.c) ---- */
/* Finds the nth (0-based) device with this virtio id: PCI bus 0 first, then
 * the virtio_mmio.device= entries of the command line; transport= on the
 * command line (pci|mmio) restricts the search.  Returns 1 if found. */
int vdev_find(u32 device_id, unsigned nth, struct vdev *d);
const char *vdev_kind_name(const struct vdev *d);
const char *virq_mode_name(enum virq_mode m);

/* ---- generic driver (virtio.c) ---- */
/* The irq= option (msix|intx|poll; default msix on PCI, the line on MMIO),
 * checked against the transport. */
enum virq_mode vdev_irq_mode(const struct vdev *d);
/* Reset, ACKNOWLEDGE, DRIVER, features (want & offered; VERSION_1 always),
 * FEATURES_OK, nqueues queues of at most qsize entries, interrupts, DRIVER_OK.
 * Returns 0, or -1 with *why set. */
int vdev_init(struct vdev *d, u64 want, int nqueues, u16 qsize, const char **why);
/* Writes 0 to the status and waits for it to read back 0 (bounded). */
int vdev_reset(struct vdev *d);
u8 vdev_status(struct vdev *d);
void vdev_set_status(struct vdev *d, u8 s);
u32 vdev_generation(struct vdev *d);
u8 vdev_cfg8(struct vdev *d, u32 off);
u16 vdev_cfg16(struct vdev *d, u32 off);
u32 vdev_cfg32(struct vdev *d, u32 off);
/* A 64-bit field as two 32-bit reads, retried until the generation holds. */
u64 vdev_cfg64(struct vdev *d, u32 off);
/* Reads the interrupt status (PCI ISR, which clears it; MMIO InterruptStatus,
 * then acknowledges what it read). */
u32 vdev_read_isr(struct vdev *d);
/* Masks the device's interrupt routing (MSI-X; the IOAPIC pin unless
 * another live device shares it) at test end. */
void vdev_irq_off(struct vdev *d);
/* Routes the device's INTx / MMIO GSI (level; mps_flags polarity) to its
 * vector, unless a live device sharing the line routed it already. */
int vdev_route_line(struct vdev *d, u16 mps_flags);
static inline int vdev_has(const struct vdev *d, unsigned bit)
{
    return (int)((d->features >> bit) & 1);
}

/* ---- virtqueue (virtio.c) ---- */
struct vbuf {
    u64 addr;
    u32 len;
    int write;    /* device writes it */
};
/* Adds a chain (readable buffers first); returns its head, or -1 if the
 * ring has too few free descriptors. */
int vq_add(struct vq *q, const struct vbuf *b, int n);
/* Adds one descriptor pointing at an indirect table built at table (16 * n
 * bytes) from b; returns the head or -1. */
int vq_add_indirect(struct vq *q, const struct vbuf *b, int n, struct vring_desc *table);
/* Writes the queue index to its notify address (no suppression check). */
void vq_notify(struct vdev *d, struct vq *q);
/* Publishes what was added and notifies the device unless it suppressed it. */
void vq_kick(struct vdev *d, struct vq *q);
/* Asks the device not to interrupt for this queue (on) while the driver
 * polls it, e.g. at CPL 3 where interrupts are off: VRING_AVAIL_F_NO_INTERRUPT,
 * or with EVENT_IDX a used_event one behind the last used entry taken (the
 * device would interrupt only after 65535 more).  Turning it off restores
 * the normal state; do that with nothing in flight (a completion that came
 * in while quiet was announced by no interrupt). */
void vq_quiet(struct vdev *d, struct vq *q, int on);
/* Takes one used entry: returns its head (and *len), or -1 when none. */
int vq_get_used(struct vq *q, u32 *len);
/* Waits (bounded, ~ms milliseconds) for a used entry and, with interrupts,
 * for an interrupt reporting it.  Returns the head or -1 (then *why). */
int vq_wait_used(struct vdev *d, struct vq *q, u32 *len, u32 ms, const char **why);
/* One request: add, kick, wait; returns 0 if the used head matched. */
int vq_submit_wait(struct vdev *d, struct vq *q, const struct vbuf *b, int n, u32 *len,
                   const char **why);
/* Memory fence (x86: a locked op orders stores before later loads). */
static inline void vmb(void) { __asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc"); }

/* ---- helpers (virtio.c) ---- */
/* Zeroed, aligned memory from RAM at 8 MiB (checked against e820). */
void *dma_alloc(u64 size, u64 align);
/* Waits for cond(arg) (bounded by ~ms): sti;hlt with a 100 Hz LAPIC watchdog
 * once vwait_init ran, otherwise a PIT-timed poll.  Returns 1 if it held. */
int vwait(int (*cond)(void *), void *arg, u32 ms);
/* Sets up the LAPIC and its watchdog timer; vdev_init calls it for modes
 * that take interrupts. */
void vwait_init(void);
/* Optional numeric cmdline value. */
u64 cmdline_u64(const char *key, u64 dflt);

/* ---- PCI transport (virtio_pci.c) ---- */
u8 pci_cfg_read8(u8 dev, u8 fn, u8 off);
u16 pci_cfg_read16(u8 dev, u8 fn, u8 off);
void pci_cfg_write16(u8 dev, u8 fn, u8 off, u16 v);
void pci_cfg_write32(u8 dev, u8 fn, u8 off, u32 v);
/* Probes 00:slot.fn for a modern virtio device with this id; 1 if it is one
 * and its capabilities were usable (fills d), 0 if not, -1 (and *why) if it
 * is one but broken. */
int vpci_probe(u8 slot, u8 fn, u32 device_id, struct vdev *d, const char **why);
u8 vpci_status(struct vdev *d);
void vpci_set_status(struct vdev *d, u8 s);
u64 vpci_features(struct vdev *d);
void vpci_set_features(struct vdev *d, u64 f);
u32 vpci_generation(struct vdev *d);
u32 vpci_num_queues(struct vdev *d);
int vpci_queue_setup(struct vdev *d, struct vq *q, u16 qsize, u64 desc, u64 avail, u64 used,
                     const char **why);
/* MSI-X on (table entries: 0 = config, 1+q = queue q) or INTx on. */
int vpci_irq_setup(struct vdev *d, const char **why);
/* Masks all MSI-X vectors (function mask). */
void vpci_irq_off(struct vdev *d);
/* MSI-X table entry mask bit, and the entry's Pending Bit Array bit (-1: no PBA). */
void vpci_msix_mask(struct vdev *d, unsigned entry, int masked);
int vpci_msix_pending(struct vdev *d, unsigned entry);
/* Called by the vector handlers. */
u32 vpci_isr(struct vdev *d);

/* ---- MMIO transport (virtio_mmio.c) ---- */
#define VMMIO_MAX 8
/* Parses virtio_mmio.device=SIZE@ADDR:GSI entries; returns how many (at
 * most max) were filled in. */
unsigned vmmio_cmdline(u64 *addr, u32 *gsi, unsigned max);
int vmmio_probe(u64 base, u32 gsi, u32 device_id, struct vdev *d);
u8 vmmio_status(struct vdev *d);
void vmmio_set_status(struct vdev *d, u8 s);
u64 vmmio_features(struct vdev *d);
void vmmio_set_features(struct vdev *d, u64 f);
u32 vmmio_generation(struct vdev *d);
int vmmio_queue_setup(struct vdev *d, struct vq *q, u16 qsize, u64 desc, u64 avail, u64 used,
                      const char **why);
u32 vmmio_isr(struct vdev *d);

/* Interrupt vectors: device slot k (in the order vdev_init runs) uses
 * VEC_VIRTIO + 4k .. + 4k + 3 (config, queues). */
#define VEC_VIRTIO 0x50
#define VIRTIO_IRQ_DEVS 8

#endif
