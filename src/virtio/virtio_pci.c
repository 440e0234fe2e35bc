/* The modern virtio PCI transport (virtio 1.2, 4.1); the BAR layout is in
 * virtio/virtio_pci.h.
 *
 * Every register access comes from a vCPU thread through pci.c's window
 * and takes the device's lock; so do the configuration-space hooks (MSI-X
 * control, BAR moves), which pci.c calls with its own locks held.  The
 * device signals interrupts with the lock held, from any thread.
 *
 * Common configuration: each field is written with its natural width at
 * its own offset (the 64-bit queue addresses as two 32-bit halves, or one
 * 64-bit access); any other write is ignored.  Reads have no side effects,
 * so any bytes of the 56-byte block may be read.  A queue_select beyond
 * the device's queues reads zeros and ignores writes; a live queue's size
 * and addresses are read-only.  A queue_size that is no power of two or
 * exceeds queue_max is stored as written, so enabling the queue fails and
 * the device asks for a reset, instead of the driver running with a size
 * it did not choose.
 *
 * MSI-X: nr_queues + 1 vectors.  A vector the driver assigns (msix_config
 * or queue_msix_vector) gets a KVM MSI route and an irqfd, so raising it is
 * a write(2).  The route follows the table entry; Linux masks an entry
 * before rewriting it, so the route is brought up to date when the entry is
 * unmasked (or at once if it is being rewritten unmasked).  A masked vector
 * (entry or function mask) sets its pending bit instead, and fires when
 * unmasked.  An out-of-range vector reads back as VIRTIO_MSI_NO_VECTOR, the
 * driver's signal that the assignment failed.  Without MSI-X, the ISR
 * status and INTA: the line is up while the ISR is non-zero, and reading the
 * ISR clears it and drops the line.
 *
 * A reset (device_status 0) returns the queues and vectors to their initial
 * state (every vector VIRTIO_MSI_NO_VECTOR, routes released); the MSI-X
 * table itself is PCI state and stays. */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_pci.h>

#include "base/bytes.h"
#include "kvm/kvm_irq.h"

#define NR_VECTORS_MAX (VIRTIO_MAX_QUEUES + 1)

/* MSI-X table entry dwords. */
enum { MSIX_ADDR_LO, MSIX_ADDR_HI, MSIX_DATA, MSIX_CTRL, MSIX_DWORDS };

struct msix_vec {
	uint32_t entry[MSIX_DWORDS];   /* as the guest wrote it */
	int gsi;                       /* KVM MSI route, or -1 */
	int fd;                        /* its irqfd, or -1 */
	bool dirty;                    /* route behind the entry */
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_dev *d;
	struct kvm *kvm;
	struct pci_bus *bus;
	unsigned int msix_cap;         /* config offset of the MSI-X capability */
	unsigned int nr_vectors;

	/* Under d->lock. */
	uint64_t bar;                  /* where BAR 0 decodes now */
	uint32_t notify_len[VIRTIO_MAX_QUEUES];  /* ioeventfd length, 0: none */
	bool notify_on[VIRTIO_MAX_QUEUES];
	uint32_t dfeat_sel, gfeat_sel;
	uint16_t queue_sel;
	uint16_t msix_config;
	bool msix_enabled, msix_masked;
	bool intx;                     /* INTA as last set */
	uint64_t pba;
	struct msix_vec vec[NR_VECTORS_MAX];
};

/* ---- interrupts ---- */

static void update_intx(struct virtio_pci *vp)
{
	bool level = !vp->msix_enabled && vp->d->isr != 0;

	if (level != vp->intx) {
		vp->intx = level;
		pci_intx_set(&vp->pci, level);
	}
}

static bool vec_masked(const struct virtio_pci *vp, unsigned int v)
{
	return vp->msix_masked || (vp->vec[v].entry[MSIX_CTRL] & PCI_MSIX_ENTRY_MASKED);
}

static uint64_t vec_addr(const struct msix_vec *m)
{
	return (uint64_t)m->entry[MSIX_ADDR_HI] << 32 | m->entry[MSIX_ADDR_LO];
}

static void vec_sync(struct virtio_pci *vp, struct msix_vec *m)
{
	if (m->gsi >= 0 && m->dirty &&
	    kvm_msi_route_set(vp->kvm, (uint32_t)m->gsi, vec_addr(m), m->entry[MSIX_DATA]) == 0)
		m->dirty = false;
}

/* Send vector v's message now. */
static void vec_deliver(struct virtio_pci *vp, unsigned int v)
{
	struct msix_vec *m = &vp->vec[v];
	uint64_t one = 1;

	if (m->gsi >= 0) {
		vec_sync(vp, m);
		if (write(m->fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			return;
	}
	/* No route (KVM without routing, or none left): one ioctl instead. */
	if (vp->kvm != NULL)
		(void)kvm_signal_msi(vp->kvm, vec_addr(m), m->entry[MSIX_DATA]);
}

static void vec_fire(struct virtio_pci *vp, uint16_t v)
{
	if (v >= vp->nr_vectors)
		return;                        /* VIRTIO_MSI_NO_VECTOR */
	if (vec_masked(vp, v))
		vp->pba |= 1ULL << v;
	else
		vec_deliver(vp, v);
}

/* Something may have been unmasked: send what is pending and unmasked. */
static void vec_unmasked(struct virtio_pci *vp)
{
	if (!vp->msix_enabled)
		return;
	for (unsigned int v = 0; v < vp->nr_vectors; v++) {
		if (vec_masked(vp, v))
			continue;
		vec_sync(vp, &vp->vec[v]);
		if (vp->pba & (1ULL << v)) {
			vp->pba &= ~(1ULL << v);
			vec_deliver(vp, v);
		}
	}
}

/* Give vector v a route and an irqfd, if KVM can; else delivery falls
 * back to KVM_SIGNAL_MSI. */
static void vec_attach(struct virtio_pci *vp, unsigned int v)
{
	struct msix_vec *m = &vp->vec[v];
	int gsi;

	if (m->gsi >= 0 || vp->kvm == NULL)
		return;
	gsi = kvm_msi_route_alloc(vp->kvm);
	if (gsi < 0)
		return;
	m->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->fd < 0 ||
	    kvm_msi_route_set(vp->kvm, (uint32_t)gsi, vec_addr(m), m->entry[MSIX_DATA]) < 0 ||
	    kvm_irqfd(vp->kvm, m->fd, (uint32_t)gsi, true) < 0) {
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		kvm_msi_route_free(vp->kvm, (uint32_t)gsi);
		return;
	}
	m->gsi = gsi;
	m->dirty = false;
}

static void vec_detach(struct virtio_pci *vp, unsigned int v)
{
	struct msix_vec *m = &vp->vec[v];

	if (m->gsi < 0)
		return;
	(void)kvm_irqfd(vp->kvm, m->fd, (uint32_t)m->gsi, false);
	close(m->fd);
	kvm_msi_route_free(vp->kvm, (uint32_t)m->gsi);
	m->fd = -1;
	m->gsi = -1;
}

/* The driver assigns a vector: what it reads back. */
static uint16_t vec_assign(struct virtio_pci *vp, uint16_t v)
{
	if (v >= vp->nr_vectors)
		return VIRTIO_MSI_NO_VECTOR;
	vec_attach(vp, v);
	return v;
}

static void signal_queue(struct virtio_dev *d, int q)
{
	struct virtio_pci *vp = d->transport_priv;

	if (vp->msix_enabled)
		vec_fire(vp, d->vq[q].msix_vector);
	else
		update_intx(vp);
}

static void signal_config(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport_priv;

	if (vp->msix_enabled)
		vec_fire(vp, vp->msix_config);
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
	for (unsigned int v = 0; v < vp->nr_vectors; v++)
		vec_detach(vp, v);
	vp->pba = 0;
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
		vq->msix_vector = vec_assign(vp, v);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* 0 would be a queue reset, a feature not offered. */
		if (v == 1 && !vq->ready)
			(void)virtio_queue_enable(vp->d, vp->queue_sel);
		break;
	}
}

static void common_write(struct virtio_pci *vp, unsigned int off, const uint8_t *data,
			 uint32_t len)
{
	struct virtio_dev *d = vp->d;
	uint32_t v32 = len >= 4 ? get_le32(data) : 0;
	uint16_t v16 = len >= 2 ? get_le16(data) : 0;

	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VPCI_COMMON_LEN) {
		unsigned int field = off & ~7u;

		queue_addr_write(vp, field, off - field, len == 8 ? get_le64(data) : v32, len);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (len == 4)
			vp->dfeat_sel = v32;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (len == 4)
			vp->gfeat_sel = v32;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (len == 4 && vp->gfeat_sel < 2) {
			unsigned int sh = 32 * vp->gfeat_sel;
			uint64_t f = d->driver_features & ~(0xffffffffULL << sh);

			virtio_set_driver_features(d, f | (uint64_t)v32 << sh);
		}
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		if (len == 2)
			vp->msix_config = vec_assign(vp, v16);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		if (len == 1)
			set_status(vp, data[0]);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (len == 2)
			vp->queue_sel = v16;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (len == 2)
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

static void msix_table_write(struct virtio_pci *vp, unsigned int v, unsigned int dw,
			     uint32_t val)
{
	struct msix_vec *m = &vp->vec[v];
	bool was_masked = vec_masked(vp, v);

	if (dw == MSIX_CTRL) {
		/* Only the mask bit is defined; the rest reads 0. */
		m->entry[MSIX_CTRL] = val & PCI_MSIX_ENTRY_MASKED;
		if (was_masked && !vec_masked(vp, v))
			vec_unmasked(vp);
		return;
	}
	if (m->entry[dw] == val)
		return;
	m->entry[dw] = val;
	m->dirty = true;
	if (!was_masked && vp->msix_enabled)
		vec_sync(vp, m);
}

static void msix_access(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	uint64_t table_len = (uint64_t)vp->nr_vectors * PCI_MSIX_ENTRY_SIZE;

	if (!is_write) {
		uint8_t e[PCI_MSIX_ENTRY_SIZE * 2];

		memset(data, 0, len);
		/* len <= 8: an access starts in one entry, may end in the next. */
		for (uint32_t i = 0; i < len && off + i < table_len; i++) {
			uint64_t b = off + i;
			const struct msix_vec *m = &vp->vec[b / PCI_MSIX_ENTRY_SIZE];

			put_le32(e, m->entry[(b % PCI_MSIX_ENTRY_SIZE) / 4]);
			data[i] = e[b % 4];
		}
		return;
	}
	/* Writes: aligned dwords and qwords (PCI 3.0 6.8.2). */
	if ((len != 4 && len != 8) || off % len != 0 || off >= table_len)
		return;
	for (uint32_t i = 0; i < len; i += 4) {
		uint64_t b = off + i;

		msix_table_write(vp, (unsigned int)(b / PCI_MSIX_ENTRY_SIZE),
				 (unsigned int)(b % PCI_MSIX_ENTRY_SIZE) / 4, get_le32(data + i));
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
		msix_access(vp, in, data, len, is_write);
	} else if (block == VPCI_MSIX_PBA && !is_write && in < 8) {
		for (uint32_t i = 0; i < len && in + i < 8; i++)
			data[i] = (uint8_t)(vp->pba >> (8 * (in + i)));
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
	uint16_t ctrl;
	bool was_enabled, was_masked;

	if (vp->msix_cap == 0 || off >= ctrl_off + 2 || off + len <= ctrl_off)
		return;
	ctrl = get_le16(&dev->cfg[ctrl_off]);
	pthread_mutex_lock(&vp->d->lock);
	was_enabled = vp->msix_enabled;
	was_masked = vp->msix_masked;
	vp->msix_enabled = (ctrl & PCI_MSIX_CTRL_ENABLE) != 0;
	vp->msix_masked = (ctrl & PCI_MSIX_CTRL_MASKALL) != 0;
	update_intx(vp);
	if ((!was_enabled && vp->msix_enabled) || (was_masked && !vp->msix_masked))
		vec_unmasked(vp);
	pthread_mutex_unlock(&vp->d->lock);
}

/* ---- life cycle ---- */

static uint32_t class_of(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		return 0x018000;       /* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000;       /* communication, other */
	default:
		return 0x00ff00;       /* unclassified */
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
	for (unsigned int v = 0; v < NR_VECTORS_MAX; v++) {
		vp->vec[v] = (struct msix_vec){ .gsi = -1, .fd = -1 };
		vp->vec[v].entry[MSIX_CTRL] = PCI_MSIX_ENTRY_MASKED;   /* reset state */
	}
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
	for (unsigned int v = 0; v < vp->nr_vectors; v++)
		vec_detach(vp, v);
	d->transport = NULL;
	d->transport_priv = NULL;
	pthread_mutex_unlock(&d->lock);
	free(vp);
}

struct pci_device *virtio_pci_function(struct virtio_pci *vp)
{
	return &vp->pci;
}
