/* The modern virtio PCI transport (virtio 1.2, 4.1); the BAR layout is in
 * virtio/virtio_pci.h.
 *
 * Register accesses come from vCPU threads through pci.c's window and take
 * the device's lock, as do the config-space hooks (MSI-X control, BAR
 * moves) that pci.c calls with its own locks held.  The device signals
 * interrupts with the lock held, from any thread.
 *
 * Common configuration: a field is written with its natural width at its
 * own offset (queue addresses as 32-bit halves or one 64-bit access); other
 * writes are ignored.  Reads have no side effects, so any bytes may be
 * read.  A queue_select beyond the queues reads zeros and ignores writes; a
 * live queue's size and addresses are read-only.  A queue_size that is no
 * power of two or exceeds queue_max is kept as written, so enabling the
 * queue fails and the device asks for a reset.
 *
 * Interrupts: with MSI-X on, the vector of the queue or of msix_config
 * (virtio_pci_msix.c); without, the ISR and INTA, up while the ISR is
 * non-zero; reading the ISR clears it and drops the line.
 *
 * Kicks: each queue's notify address is a KVM ioeventfd on the device's
 * notify eventfd, moved with the BAR; a write that still reaches
 * bar_access (no ioeventfd) kicks the queue itself.
 *
 * Reset (device_status 0) sets every vector to VIRTIO_MSI_NO_VECTOR and
 * releases the routes; the MSI-X table itself is PCI state and stays. */
#include "virtio/virtio_pci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_pci.h>

#include "base/bytes.h"
#include "kvm/kvm_irq.h"
#include "virtio_pci_priv.h"

/* ---- interrupts ---- */

static void update_intx(struct virtio_pci *vp)
{
	bool level = !vp->msix_enabled && vp->d->isr != 0;

	if (level != vp->intx) {
		vp->intx = level;
		pci_intx_set(&vp->pci, level);
	}
}

static void signal_queue(struct virtio_dev *d, int q)
{
	struct virtio_pci *vp = d->transport_priv;

	if (vp->msix_enabled)
		vpci_msix_fire(vp, d->vq[q].msix_vector);
	else
		update_intx(vp);
}

static void signal_config(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport_priv;

	if (vp->msix_enabled)
		vpci_msix_fire(vp, vp->msix_config);
	else
		update_intx(vp);
}

static const struct virtio_transport_ops pci_transport_ops = {
	.signal_queue = signal_queue,
	.signal_config = signal_config,
};

/* ---- common configuration ---- */

static struct virtqueue *sel_queue(struct virtio_pci *vp)
{
	if (vp->queue_sel >= (unsigned int)vp->d->nr_queues)
		return NULL;
	return &vp->d->vq[vp->queue_sel];
}

static void common_image(struct virtio_pci *vp, uint8_t *c)
{
	struct virtio_dev *d = vp->d;
	const struct virtqueue *vq = sel_queue(vp);
	uint64_t feat = virtio_offered_features(d);

	memset(c, 0, VPCI_COMMON_LEN);
	put_le32(c + VIRTIO_PCI_COMMON_DFSELECT, vp->dfeat_sel);
	if (vp->dfeat_sel < 2)
		put_le32(c + VIRTIO_PCI_COMMON_DF, (uint32_t)(feat >> (32 * vp->dfeat_sel)));
	put_le32(c + VIRTIO_PCI_COMMON_GFSELECT, vp->gfeat_sel);
	if (vp->gfeat_sel < 2)
		put_le32(c + VIRTIO_PCI_COMMON_GF,
			 (uint32_t)(d->driver_features >> (32 * vp->gfeat_sel)));
	put_le16(c + VIRTIO_PCI_COMMON_MSIX, vp->msix_config);
	put_le16(c + VIRTIO_PCI_COMMON_NUMQ, (uint16_t)d->nr_queues);
	c[VIRTIO_PCI_COMMON_STATUS] = d->status;
	c[VIRTIO_PCI_COMMON_CFGGENERATION] = (uint8_t)d->config_generation;
	put_le16(c + VIRTIO_PCI_COMMON_Q_SELECT, vp->queue_sel);
	if (vq == NULL)
		return;
	put_le16(c + VIRTIO_PCI_COMMON_Q_SIZE, vq->size);
	put_le16(c + VIRTIO_PCI_COMMON_Q_MSIX, vq->msix_vector);
	put_le16(c + VIRTIO_PCI_COMMON_Q_ENABLE, vq->ready);
	put_le16(c + VIRTIO_PCI_COMMON_Q_NOFF, vp->queue_sel);
	put_le64(c + VIRTIO_PCI_COMMON_Q_DESCLO, vq->desc_gpa);
	put_le64(c + VIRTIO_PCI_COMMON_Q_AVAILLO, vq->avail_gpa);
	put_le64(c + VIRTIO_PCI_COMMON_Q_USEDLO, vq->used_gpa);
}

/* Transport state back to power-on after the core reset the device. */
static void transport_reset(struct virtio_pci *vp)
{
	vp->dfeat_sel = 0;
	vp->gfeat_sel = 0;
	vp->queue_sel = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vpci_msix_release(vp);
	update_intx(vp);
}

static void set_status(struct virtio_pci *vp, uint8_t status)
{
	virtio_set_status(vp->d, status);
	if (status == 0)
		transport_reset(vp);
}

/* A write to one of the queue's 64-bit addresses, at byte off within it. */
static void queue_addr_write(struct virtio_pci *vp, unsigned int field, unsigned int off,
			     uint64_t val, uint32_t len)
{
	struct virtqueue *vq = sel_queue(vp);
	uint64_t *p;

	if (vq == NULL || vq->ready)
		return;
	p = field == VIRTIO_PCI_COMMON_Q_DESCLO ? &vq->desc_gpa :
	    field == VIRTIO_PCI_COMMON_Q_AVAILLO ? &vq->avail_gpa : &vq->used_gpa;
	if (len == 8 && off == 0)
		*p = val;
	else if (len == 4 && off == 0)
		*p = (*p & ~0xffffffffULL) | (uint32_t)val;
	else if (len == 4 && off == 4)
		*p = (*p & 0xffffffffULL) | val << 32;
}

static void queue_write(struct virtio_pci *vp, unsigned int off, uint16_t v)
{
	struct virtqueue *vq = sel_queue(vp);

	if (vq == NULL)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (!vq->ready)
			vq->size = v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vq->msix_vector = vpci_msix_assign(vp, v);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* 0 would be a queue reset, a feature not offered. */
		if (v == 1 && !vq->ready)
			(void)virtio_queue_enable(vp->d, vp->queue_sel);
		break;
	}
}

/* The natural width of the field at off (0: not a writable field). */
static uint32_t field_width(unsigned int off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
		return 4;
	case VIRTIO_PCI_COMMON_STATUS:
		return 1;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return 2;
	default:
		return 0;
	}
}

static void common_write(struct virtio_pci *vp, unsigned int off, const uint8_t *data,
			 uint32_t len)
{
	struct virtio_dev *d = vp->d;
	uint32_t v32 = len >= 4 ? get_le32(data) : 0;
	uint16_t v16 = len >= 2 ? get_le16(data) : 0;
	unsigned int sh;

	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VPCI_COMMON_LEN) {
		unsigned int field = off & ~7u;

		queue_addr_write(vp, field, off - field, len == 8 ? get_le64(data) : v32, len);
		return;
	}
	if (len != field_width(off))
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfeat_sel = v32;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfeat_sel = v32;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->gfeat_sel >= 2)
			break;
		sh = 32 * vp->gfeat_sel;
		virtio_set_driver_features(d, (d->driver_features & ~(0xffffffffULL << sh)) |
					      (uint64_t)v32 << sh);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->msix_config = vpci_msix_assign(vp, v16);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		set_status(vp, data[0]);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_sel = v16;
		break;
	default:
		queue_write(vp, off, v16);
		break;
	}
}

/* ---- the other blocks ---- */

static void isr_read(struct virtio_pci *vp, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	data[0] = vp->d->isr;
	vp->d->isr = 0;
	update_intx(vp);
}

static void device_cfg_access(struct virtio_pci *vp, uint64_t off, uint8_t *data,
			      uint32_t len, bool is_write)
{
	const struct virtio_dev *d = vp->d;
	bool inside = off < d->config_len && len <= d->config_len - off;

	if (!is_write) {
		memset(data, 0, len);
		if (inside && d->ops->config_read)
			d->ops->config_read(vp->d, (uint32_t)off, data, len);
	} else if (inside && d->ops->config_write) {
		d->ops->config_write(vp->d, (uint32_t)off, data, len);
	}
}


static void bar_access(struct pci_device *dev, int bar, uint64_t off, uint8_t *data,
		       uint32_t len, bool is_write)
{
	struct virtio_pci *vp = dev->opaque;
	struct virtio_dev *d = vp->d;
	uint64_t block = off & ~(uint64_t)(VPCI_BLOCK - 1), in = off - block;

	/* A kick takes the lock itself (and runs the device). */
	if (block == VPCI_NOTIFY) {
		if (is_write && in % VPCI_NOTIFY_MULT == 0 &&
		    in / VPCI_NOTIFY_MULT < (uint64_t)d->nr_queues)
			virtio_queue_kick(d, (int)(in / VPCI_NOTIFY_MULT));
		else if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (!is_write)
		memset(data, 0, len);
	if (block == VPCI_COMMON && in < VPCI_COMMON_LEN) {
		if (is_write) {
			common_write(vp, (unsigned int)in, data, len);
		} else {
			uint8_t c[VPCI_COMMON_LEN + 8];

			common_image(vp, c);
			memset(c + VPCI_COMMON_LEN, 0, 8);
			memcpy(data, c + in, len);
		}
	} else if (block == VPCI_ISR && in == 0 && !is_write) {
		isr_read(vp, data, len);
	} else if (block == VPCI_DEVICE_CFG) {
		device_cfg_access(vp, in, data, len, is_write);
	} else if (block == VPCI_MSIX_TABLE) {
		vpci_msix_table(vp, in, data, len, is_write);
	} else if (block == VPCI_MSIX_PBA && !is_write) {
		vpci_msix_pba(vp, in, data, len);
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- configuration space hooks (pci.c's locks held) ---- */

static void notify_unregister(struct virtio_pci *vp)
{
	for (int q = 0; q < vp->d->nr_queues; q++) {
		if (!vp->notify_on[q])
			continue;
		(void)kvm_ioeventfd(vp->kvm, vp->bar + VPCI_NOTIFY + (uint64_t)q * VPCI_NOTIFY_MULT,
				    vp->notify_len[q], false, vp->d->notify_fd[q], false, 0, false);
		vp->notify_on[q] = false;
	}
}

/* An ioeventfd per queue: any write length where KVM allows it, else the
 * 16-bit write virtio drivers make (others then reach bar_access). */
static void notify_register(struct virtio_pci *vp)
{
	static const uint32_t lens[] = { 0, 2 };

	if (vp->kvm == NULL || vp->bar == PCI_BAR_UNMAPPED)
		return;
	for (int q = 0; q < vp->d->nr_queues; q++) {
		uint64_t addr = vp->bar + VPCI_NOTIFY + (uint64_t)q * VPCI_NOTIFY_MULT;

		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]) && !vp->notify_on[q]; i++) {
			if (vp->d->notify_fd[q] >= 0 &&
			    kvm_ioeventfd(vp->kvm, addr, lens[i], false, vp->d->notify_fd[q],
					  false, 0, true) == 0) {
				vp->notify_on[q] = true;
				vp->notify_len[q] = lens[i];
			}
		}
	}
}

static void bar_moved(struct pci_device *dev, int bar, uint64_t old, uint64_t addr)
{
	struct virtio_pci *vp = dev->opaque;

	pthread_mutex_lock(&vp->d->lock);
	notify_unregister(vp);
	vp->bar = addr;
	notify_register(vp);
	pthread_mutex_unlock(&vp->d->lock);
}

static void cfg_write(struct pci_device *dev, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = dev->opaque;
	unsigned int ctrl_off = vp->msix_cap + PCI_MSIX_CTRL;

	if (vp->msix_cap == 0 || off >= ctrl_off + 2 || off + len <= ctrl_off)
		return;
	pthread_mutex_lock(&vp->d->lock);
	vpci_msix_control(vp, get_le16(&dev->cfg[ctrl_off]));
	update_intx(vp);
	pthread_mutex_unlock(&vp->d->lock);
}

/* ---- life cycle ---- */

/* Mass storage / Ethernet / communication "other", else unclassified. */
static uint32_t class_of(uint32_t id)
{
	switch (id) {
	case VIRTIO_ID_BLOCK: return 0x018000;
	case VIRTIO_ID_NET: return 0x020000;
	case VIRTIO_ID_CONSOLE: return 0x078000;
	case VIRTIO_ID_VSOCK: return 0x078000;      /* communication, other */
	default: return 0x00ff00;
	}
}

static void add_vendor_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len)
{
	unsigned int cap_len = type == VIRTIO_PCI_CAP_NOTIFY_CFG ?
			       sizeof(struct virtio_pci_notify_cap) : sizeof(struct virtio_pci_cap);
	unsigned int c = pci_add_cap(&vp->pci, PCI_CAP_ID_VENDOR, cap_len);
	uint8_t *p = &vp->pci.cfg[c];

	if (c == 0)
		return;                /* cannot happen: the caps fit in 192 bytes */
	p[VIRTIO_PCI_CAP_LEN] = (uint8_t)cap_len;
	p[VIRTIO_PCI_CAP_CFG_TYPE] = type;
	p[VIRTIO_PCI_CAP_BAR] = 0;
	put_le32(p + VIRTIO_PCI_CAP_OFFSET, off);
	put_le32(p + VIRTIO_PCI_CAP_LENGTH, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		put_le32(p + sizeof(struct virtio_pci_cap), VPCI_NOTIFY_MULT);
}

static void function_init(struct virtio_pci *vp)
{
	const struct virtio_dev *d = vp->d;
	const struct pci_ids ids = {
		.vendor = VIRTIO_PCI_VENDOR,
		.device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->device_id),
		.subsys_vendor = VIRTIO_PCI_VENDOR,
		.subsys = (uint16_t)d->device_id,
		.class_code = class_of(d->device_id),
		.revision = 1,
	};

	pci_device_init(&vp->pci, &ids);
	vp->pci.opaque = vp;
	vp->pci.cfg_write = cfg_write;
	vp->pci.bar_moved = bar_moved;
	(void)pci_device_bar(&vp->pci, 0, VPCI_BAR_SIZE, bar_access);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON, VPCI_COMMON_LEN);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY,
		       (uint32_t)d->nr_queues * VPCI_NOTIFY_MULT);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR, 1);
	if (d->config_len > 0)
		add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_CFG, d->config_len);
	vp->msix_cap = pci_add_msix(&vp->pci, vp->nr_vectors, 0, VPCI_MSIX_TABLE,
				    0, VPCI_MSIX_PBA);
}

struct virtio_pci *virtio_pci_create(struct virtio_dev *d, struct pci_bus *pci,
				     struct kvm *kvm, char *err, size_t errlen)
{
	struct virtio_pci *vp;

	if (d->nr_queues < 1 || d->nr_queues > VIRTIO_MAX_QUEUES ||
	    d->config_len > VPCI_BLOCK || d->ops == NULL) {
		snprintf(err, errlen, "%s: cannot be a PCI device", d->name);
		return NULL;
	}
	vp = calloc(1, sizeof(*vp));
	if (vp == NULL) {
		snprintf(err, errlen, "%s: out of memory", d->name);
		return NULL;
	}
	vp->d = d;
	vp->kvm = kvm != NULL && kvm->vm_fd >= 0 ? kvm : NULL;
	vp->bus = pci;
	vp->bar = PCI_BAR_UNMAPPED;
	vp->nr_vectors = (unsigned int)d->nr_queues + 1;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vpci_msix_init(vp);
	function_init(vp);

	pthread_mutex_lock(&d->lock);
	d->transport = &pci_transport_ops;
	d->transport_priv = vp;
	pthread_mutex_unlock(&d->lock);
	if (pci_bus_add(pci, &vp->pci, -1) < 0) {
		snprintf(err, errlen, "%s: no free PCI slot or BAR space", d->name);
		pthread_mutex_lock(&d->lock);
		d->transport = NULL;
		d->transport_priv = NULL;
		pthread_mutex_unlock(&d->lock);
		free(vp);
		return NULL;
	}
	return vp;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	struct virtio_dev *d;

	if (vp == NULL)
		return;
	d = vp->d;
	pci_bus_remove(vp->bus, &vp->pci);     /* unregisters the ioeventfds */
	pthread_mutex_lock(&d->lock);
	notify_unregister(vp);
	vpci_msix_release(vp);
	d->transport = NULL;
	d->transport_priv = NULL;
	pthread_mutex_unlock(&d->lock);
	free(vp);
}

struct pci_device *virtio_pci_function(struct virtio_pci *vp)
{
	return &vp->pci;
}
