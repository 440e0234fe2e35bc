/* The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): one 4 KiB page
 * of registers on the MMIO bus per device, a level-triggered interrupt line,
 * and queue kicks through KVM ioeventfds.  The guest finds a device from the
 * kernel command line (virtio_mmio.device=4K@BASE:GSI, see
 * virtio_mmio_cmdline) or a device tree; nothing on the bus announces it.
 *
 * Register accesses come from vCPU threads and take the device's lock.  The
 * interrupt line is asserted while InterruptStatus is non-zero and dropped
 * when the driver acknowledges every bit, as the spec's level semantics and
 * Linux's shared-IRQ handler expect. */
#ifndef LANDLORD_VIRTIO_VIRTIO_MMIO_H
#define LANDLORD_VIRTIO_VIRTIO_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "kvm/kvm.h"
#include "virtio/virtio.h"

#define VIRTIO_MMIO_MAGIC      0x74726976u  /* "virt" */
#define VIRTIO_MMIO_VERSION_2  2u
/* VendorID: "LNDL" read as a little-endian word, the way MagicValue spells
 * "virt".  Linux ignores it; it only has to be stable. */
#define VIRTIO_MMIO_VENDOR     0x4c444e4cu
#define VIRTIO_MMIO_REGION     0x1000u      /* bytes on the bus per device */

struct virtio_mmio;

/* Put device d behind registers at [base, base + 0x1000) on mmio_bus and
 * raise irq for it.  d has been through virtio_dev_init.  kvm may be NULL
 * (unit tests): then every QueueNotify write reaches the register handler,
 * which kicks the queue itself; so does a queue whose KVM_IOEVENTFD fails.
 * NULL with a message in err on failure (bus range taken). */
struct virtio_mmio *virtio_mmio_create(struct virtio_dev *d, struct bus *mmio_bus,
				       struct kvm *kvm, uint64_t base,
				       const struct irq_line *irq, char *err, size_t errlen);
/* Remove the ioeventfds and free the transport.  The bus range stays in
 * the table (it has no removal): call this only when the bus is going away
 * too, after the vCPUs have stopped, and before destroying the device. */
void virtio_mmio_destroy(struct virtio_mmio *m);

/* The bus handler, exposed for tests and fuzzers (offset within the page). */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write);

/* The kernel command-line word that tells Linux about this device:
 * "virtio_mmio.device=4K@0xd0000000:16".  Returns snprintf's count. */
int virtio_mmio_cmdline(const struct virtio_mmio *m, char *buf, size_t len);

#endif
