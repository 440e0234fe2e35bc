/* virtio-mmio, version 2 (virtio 1.2, 4.2.2).
 *
 * Every register is a 32-bit word at a 32-bit aligned offset; any other
 * access below the config space reads as zero and writes are dropped (the
 * spec leaves them undefined, and a driver that makes them is broken or
 * hostile).  Device config space at 0x100 takes 1, 2, 4 and 8-byte accesses
 * within the device's config_len.
 *
 * Queue registers apply to the queue in QueueSel.  A QueueSel beyond the
 * device's queues reads QueueNumMax 0 (the spec's "queue not available")
 * and its writes are ignored; so are writes to the layout of a queue that
 * is live (QueueReady 1), which the driver must not change.
 *
 * QueueNotify normally never reaches here: KVM_IOEVENTFD with the queue
 * index as datamatch turns the write into an eventfd signal that the event
 * loop handles.  A write that does reach us (no ioeventfd, or a value that
 * matched none) kicks the queue directly if the index is valid. */
#include "base/log.h"
#include "virtio/virtio_mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "kvm/kvm_irq.h"

/* Register offsets (4.2.2, and linux/virtio_mmio.h) */
#define REG_MAGIC             0x000
#define REG_VERSION           0x004
#define REG_DEVICE_ID         0x008
#define REG_VENDOR_ID         0x00c
#define REG_DEVICE_FEATURES   0x010
#define REG_DEVICE_FEAT_SEL   0x014
#define REG_DRIVER_FEATURES   0x020
#define REG_DRIVER_FEAT_SEL   0x024
#define REG_QUEUE_SEL         0x030
#define REG_QUEUE_NUM_MAX     0x034
#define REG_QUEUE_NUM         0x038
#define REG_QUEUE_READY       0x044
#define REG_QUEUE_NOTIFY      0x050
#define REG_INTERRUPT_STATUS  0x060
#define REG_INTERRUPT_ACK     0x064
#define REG_STATUS            0x070
#define REG_QUEUE_DESC_LOW    0x080
#define REG_QUEUE_DESC_HIGH   0x084
#define REG_QUEUE_DRIVER_LOW  0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW  0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_SHM_SEL           0x0ac
#define REG_SHM_LEN_LOW       0x0b0
#define REG_SHM_LEN_HIGH      0x0b4
#define REG_SHM_BASE_LOW      0x0b8
#define REG_SHM_BASE_HIGH     0x0bc
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG            0x100

struct virtio_mmio {
	struct virtio_dev *d;
	struct kvm *kvm;
	uint64_t base;
	struct irq_line irq;

	/* Under d->lock. */
	bool irq_level;            /* what the line was last driven to */
	uint32_t device_feat_sel;
	uint32_t driver_feat_sel;
	uint32_t queue_sel;
	bool warned;               /* one message per device for bad accesses */

	bool ioeventfd[VIRTIO_MAX_QUEUES];   /* registered with KVM */
};

/* Drive the line from InterruptStatus: only transitions reach KVM. */
static void mmio_update_irq(struct virtio_mmio *m)
{
	bool level = m->d->isr != 0;

	if (level == m->irq_level)
		return;
	m->irq_level = level;
	irq_line_set(&m->irq, level);
}

static void mmio_signal_queue(struct virtio_dev *d, int q)
{
	d->isr |= VIRTIO_ISR_QUEUE;
	mmio_update_irq(d->transport_priv);
}

static void mmio_signal_config(struct virtio_dev *d)
{
	d->isr |= VIRTIO_ISR_CONFIG;
	mmio_update_irq(d->transport_priv);
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.signal_queue = mmio_signal_queue,
	.signal_config = mmio_signal_config,
};

static void mmio_warn_once(struct virtio_mmio *m, const char *what, uint64_t off,
			   uint32_t len)
{
	if (m->warned)
		return;
	m->warned = true;
	log_warn("%s: ignoring %s of %u bytes at virtio-mmio offset %#" PRIx64
		 " (further ones silently)", m->d->name, what, len, off);
}

/* The selected queue, or NULL when QueueSel names none. */
static struct virtqueue *mmio_sel_queue(struct virtio_mmio *m)
{
	if (m->queue_sel >= (uint32_t)m->d->nr_queues)
		return NULL;
	return &m->d->vq[m->queue_sel];
}

/* The selected queue if its layout may be written: it exists and is not
 * live. */
static struct virtqueue *mmio_setup_queue(struct virtio_mmio *m)
{
	struct virtqueue *vq = mmio_sel_queue(m);

	return vq && !vq->ready ? vq : NULL;
}

static void set_low(uint64_t *v, uint32_t val)
{
	*v = (*v & ~0xffffffffULL) | val;
}

static void set_high(uint64_t *v, uint32_t val)
{
	*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
}

static uint32_t mmio_reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *d = m->d;
	struct virtqueue *vq = mmio_sel_queue(m);

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case REG_DEVICE_ID:
		return d->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		if (m->device_feat_sel > 1)
			return 0;
		return (uint32_t)(virtio_offered_features(d) >> (32 * m->device_feat_sel));
	case REG_QUEUE_NUM_MAX:
		return vq ? d->queue_max : 0;
	case REG_QUEUE_READY:
		return vq && vq->ready;
	case REG_INTERRUPT_STATUS:
		return d->isr;
	case REG_STATUS:
		return d->status;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		/* No shared memory regions: length -1 says "none" (4.2.2). */
		return 0xffffffffu;
	case REG_CONFIG_GENERATION:
		return d->config_generation;
	default:
		/* Write-only and reserved registers. */
		return 0;
	}
}

static void mmio_write_driver_features(struct virtio_mmio *m, uint32_t val)
{
	struct virtio_dev *d = m->d;
	uint64_t f = d->driver_features;

	/* Features are fixed once the driver has set FEATURES_OK (3.1.1). */
	if (m->driver_feat_sel > 1 || (d->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	if (m->driver_feat_sel == 0)
		set_low(&f, val);
	else
		set_high(&f, val);
	virtio_set_driver_features(d, f);
}

static void mmio_write_queue_num(struct virtio_mmio *m, uint32_t val)
{
	struct virtqueue *vq = mmio_setup_queue(m);

	/* A size the device did not offer is dropped; the queue then fails
	 * validation when the driver enables it. */
	if (!vq || val == 0 || val > m->d->queue_max || (val & (val - 1)))
		return;
	vq->size = (uint16_t)val;
}

static void mmio_write_queue_ready(struct virtio_mmio *m, uint32_t val)
{
	struct virtqueue *vq = mmio_sel_queue(m);

	if (!vq)
		return;
	if (val == 1 && !vq->ready) {
		/* The core checks status and rings; a bad ring leaves the queue
		 * off and the device in NEEDS_RESET. */
		(void)virtio_queue_enable(m->d, (int)m->queue_sel);
	} else if (val == 0 && vq->ready) {
		/* Linux writes 0 when it deletes a queue (after a reset, when the
		 * queue is already off).  Forget the walker's position: a queue
		 * enabled again starts from index 0. */
		vq_reset(vq);
		vq->size = m->d->queue_max;   /* QueueNum's default, as after reset */
	}
}

static void mmio_write_status(struct virtio_mmio *m, uint32_t val)
{
	/* The status is the low byte; the upper ones are reserved. */
	uint8_t status = (uint8_t)val;

	virtio_set_status(m->d, status);
	if (status == 0) {
		m->device_feat_sel = 0;
		m->driver_feat_sel = 0;
		m->queue_sel = 0;
	}
}

static void mmio_reg_write(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtqueue *vq = mmio_setup_queue(m);

	switch (off) {
	case REG_DEVICE_FEAT_SEL:
		m->device_feat_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		mmio_write_driver_features(m, val);
		break;
	case REG_DRIVER_FEAT_SEL:
		m->driver_feat_sel = val;
		break;
	case REG_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case REG_QUEUE_NUM:
		mmio_write_queue_num(m, val);
		break;
	case REG_QUEUE_READY:
		mmio_write_queue_ready(m, val);
		break;
	case REG_INTERRUPT_ACK:
		m->d->isr &= (uint8_t)~val;
		break;
	case REG_STATUS:
		mmio_write_status(m, val);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH: {
		uint64_t *gpa;

		if (!vq)
			break;
		gpa = off < REG_QUEUE_DRIVER_LOW ? &vq->desc_gpa :
		      off < REG_QUEUE_DEVICE_LOW ? &vq->avail_gpa : &vq->used_gpa;
		if (off & 4)
			set_high(gpa, val);
		else
			set_low(gpa, val);
		break;
	}
	default:
		/* Read-only, legacy (GuestPageSize, QueuePFN, ...) and reserved
		 * registers, and SHMSel with no regions to select. */
		break;
	}
	/* Status 0 clears InterruptStatus too; a broken ring raises it. */
	mmio_update_irq(m);
}

static void mmio_config_access(struct virtio_mmio *m, uint64_t off, uint8_t *data,
			       uint32_t len, bool is_write)
{
	struct virtio_dev *d = m->d;
	bool width_ok = len == 1 || len == 2 || len == 4 || len == 8;

	if (!width_ok || off > d->config_len || len > d->config_len - off) {
		if (!is_write)
			memset(data, 0, len);
		mmio_warn_once(m, is_write ? "config write" : "config read", REG_CONFIG + off,
			       len);
		return;
	}
	if (is_write) {
		if (d->ops && d->ops->config_write)
			d->ops->config_write(d, (uint32_t)off, data, len);
	} else {
		memset(data, 0, len);
		if (d->ops && d->ops->config_read)
			d->ops->config_read(d, (uint32_t)off, data, len);
	}
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *d = m->d;

	if (offset >= VIRTIO_MMIO_REGION || len > VIRTIO_MMIO_REGION - offset) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	/* A kick runs the device's queue_notify, which takes the lock itself. */
	if (is_write && offset == REG_QUEUE_NOTIFY && len == 4) {
		uint32_t q = get_le32(data);

		if (q < (uint32_t)d->nr_queues)
			virtio_queue_kick(d, (int)q);
		return;
	}

	pthread_mutex_lock(&d->lock);
	if (offset >= REG_CONFIG) {
		mmio_config_access(m, offset - REG_CONFIG, data, len, is_write);
	} else if (len != 4 || (offset & 3)) {
		if (!is_write)
			memset(data, 0, len);
		mmio_warn_once(m, is_write ? "register write" : "register read", offset, len);
	} else if (is_write) {
		mmio_reg_write(m, offset, get_le32(data));
	} else {
		put_le32(data, mmio_reg_read(m, offset));
	}
	pthread_mutex_unlock(&d->lock);
}

static void mmio_ioeventfds(struct virtio_mmio *m, bool assign)
{
	struct virtio_dev *d = m->d;
	uint64_t addr = m->base + REG_QUEUE_NOTIFY;

	if (!m->kvm)
		return;
	for (int q = 0; q < d->nr_queues; q++) {
		if (assign) {
			if (kvm_ioeventfd(m->kvm, addr, 4, false, d->notify_fd[q], true,
					  (uint64_t)q, true) == 0)
				m->ioeventfd[q] = true;
			else
				log_warn("%s: no ioeventfd for queue %d (%s); kicks take an exit",
					 d->name, q, strerror(errno));
		} else if (m->ioeventfd[q]) {
			kvm_ioeventfd(m->kvm, addr, 4, false, d->notify_fd[q], true,
				      (uint64_t)q, false);
			m->ioeventfd[q] = false;
		}
	}
}

struct virtio_mmio *virtio_mmio_create(struct virtio_dev *d, struct bus *mmio_bus,
				       struct kvm *kvm, uint64_t base,
				       const struct irq_line *irq, char *err, size_t errlen)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "%s: out of memory", d->name);
		return NULL;
	}
	m->d = d;
	m->kvm = kvm;
	m->base = base;
	m->irq = *irq;
	if (bus_register(mmio_bus, base, VIRTIO_MMIO_REGION, virtio_mmio_access, m,
			 d->name) < 0) {
		snprintf(err, errlen, "%s: cannot place virtio-mmio registers at %#" PRIx64,
			 d->name, base);
		free(m);
		return NULL;
	}
	pthread_mutex_lock(&d->lock);
	d->transport = &mmio_transport_ops;
	d->transport_priv = m;
	pthread_mutex_unlock(&d->lock);
	mmio_ioeventfds(m, true);
	return m;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	struct virtio_dev *d;

	if (!m)
		return;
	d = m->d;
	mmio_ioeventfds(m, false);
	pthread_mutex_lock(&d->lock);
	if (m->irq_level)
		irq_line_set(&m->irq, 0);
	d->transport = NULL;
	d->transport_priv = NULL;
	pthread_mutex_unlock(&d->lock);
	free(m);
}

int virtio_mmio_cmdline(const struct virtio_mmio *m, char *buf, size_t len)
{
	return snprintf(buf, len, "virtio_mmio.device=4K@%#" PRIx64 ":%" PRIu32, m->base,
			m->irq.gsi);
}
