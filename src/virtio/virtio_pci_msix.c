/* MSI-X for the virtio PCI transport (PCI 3.0 section 6.8; virtio 1.2,
 * 4.1.4.3 and 4.1.5.1.2): the table and pending bits the guest programs in
 * BAR 0, and the KVM side of each vector.
 *
 * A vector the driver assigns (msix_config or queue_msix_vector) gets a KVM
 * MSI route (kvm_msi_route_alloc/set from its table entry) and an irqfd
 * bound to it, so raising it from any thread is one write(2).  The route
 * follows the entry lazily: Linux masks an entry while it rewrites it, so
 * the route is brought up to date when the entry is unmasked (at once when
 * an unmasked entry is rewritten, and before each delivery if still
 * behind).  A vector that cannot have a route (KVM without routing, none
 * left) is delivered with KVM_SIGNAL_MSI instead.
 *
 * A masked vector (its entry's mask bit, or the function mask) sets its
 * pending bit instead of firing; unmasking delivers what is pending.
 * Table entries reset masked.  Only aligned dword and qword writes reach
 * the table; any read is answered.  The PBA is read-only. */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_pci.h>

#include "base/bytes.h"
#include "kvm/kvm_irq.h"
#include "virtio_pci_priv.h"

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

void vpci_msix_fire(struct virtio_pci *vp, uint16_t v)
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

uint16_t vpci_msix_assign(struct virtio_pci *vp, uint16_t v)
{
	if (v >= vp->nr_vectors)
		return VIRTIO_MSI_NO_VECTOR;
	vec_attach(vp, v);
	return v;
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

void vpci_msix_table(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
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

void vpci_msix_init(struct virtio_pci *vp)
{
	for (unsigned int v = 0; v < VPCI_MAX_VECTORS; v++) {
		vp->vec[v] = (struct msix_vec){ .gsi = -1, .fd = -1 };
		vp->vec[v].entry[MSIX_CTRL] = PCI_MSIX_ENTRY_MASKED;
	}
}

void vpci_msix_release(struct virtio_pci *vp)
{
	for (unsigned int v = 0; v < vp->nr_vectors; v++)
		vec_detach(vp, v);
	vp->pba = 0;
}

void vpci_msix_control(struct virtio_pci *vp, uint16_t ctrl)
{
	bool was_enabled = vp->msix_enabled, was_masked = vp->msix_masked;

	vp->msix_enabled = (ctrl & PCI_MSIX_CTRL_ENABLE) != 0;
	vp->msix_masked = (ctrl & PCI_MSIX_CTRL_MASKALL) != 0;
	if ((!was_enabled && vp->msix_enabled) || (was_masked && !vp->msix_masked))
		vec_unmasked(vp);
}

void vpci_msix_pba(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	for (uint32_t i = 0; i < len && off + i < 8; i++)
		data[i] = (uint8_t)(vp->pba >> (8 * (off + i)));
}
