/* ioeventfd, irqfd and the GSI routing table (see kvm/kvm_irq.h).
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so landlord keeps its own
 * copy: KVM's default IRQCHIP entries, rebuilt each time, plus one MSI entry
 * per route that has a message.  The default part mirrors
 * kvm_setup_default_irq_routing() in arch/x86/kvm/irq_comm.c exactly: GSI
 * 0-15 each have an IOAPIC entry (pin = GSI) and a PIC entry (master pins
 * 0-7 for GSI 0-7, slave pins 0-7 for GSI 8-15), GSI 16-23 only the IOAPIC.
 * GSI 2 is no exception there: it reaches IOAPIC pin 2 and master pin 2,
 * the cascade input, where a raise does nothing visible; keeping it means
 * the table landlord submits routes every legacy GSI exactly as before. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm_irq.h"

#define NR_IOAPIC_PINS 24
#define NR_PIC_GSIS    16
#define NR_DEFAULT_ROUTES (NR_IOAPIC_PINS + NR_PIC_GSIS)

static bool has_cap(const struct kvm *k, int cap)
{
	return ioctl(k->sys_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

int kvm_irq_routing_init(struct kvm *k)
{
	if (k->irq_ready)
		kvm_irq_routing_free(k);
	k->has_irqfd = has_cap(k, KVM_CAP_IRQFD);
	k->has_ioeventfd = has_cap(k, KVM_CAP_IOEVENTFD);
	k->has_ioeventfd_any_len = has_cap(k, KVM_CAP_IOEVENTFD_ANY_LENGTH);
	k->has_irq_routing = has_cap(k, KVM_CAP_IRQ_ROUTING);
	k->has_signal_msi = has_cap(k, KVM_CAP_SIGNAL_MSI);
	memset(k->msi_routes, 0, sizeof(k->msi_routes));
	if (pthread_mutex_init(&k->irq_lock, NULL) != 0)
		return -1;
	k->irq_ready = true;
	return 0;
}

void kvm_irq_routing_free(struct kvm *k)
{
	if (!k->irq_ready)
		return;
	pthread_mutex_destroy(&k->irq_lock);
	memset(k->msi_routes, 0, sizeof(k->msi_routes));
	k->irq_ready = false;
}

int kvm_ioeventfd(struct kvm *k, uint64_t addr, uint32_t len, bool pio, int fd,
		  bool datamatch, uint64_t data, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch ? data : 0,
		.addr = addr,
		.len = len,
		.fd = fd,
	};

	if (!k->irq_ready || !k->has_ioeventfd ||
	    (len == 0 && (pio || datamatch || !k->has_ioeventfd_any_len))) {
		errno = ENOTSUP;
		return -1;
	}
	if (pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (datamatch)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -1 : 0;
}

int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (!k->irq_ready || !k->has_irqfd) {
		errno = ENOTSUP;
		return -1;
	}
	return ioctl(k->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -1 : 0;
}

static void add_irqchip(struct kvm_irq_routing_entry *e, uint32_t gsi,
			uint32_t chip, uint32_t pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Build and submit the whole table.  irq_lock held. */
static int submit_routes(struct kvm *k)
{
	struct kvm_irq_routing *r;
	uint32_t n = 0;
	int ret;

	r = calloc(1, sizeof(*r) + (NR_DEFAULT_ROUTES + KVM_MSI_ROUTES_MAX) *
				   sizeof(r->entries[0]));
	if (r == NULL)
		return -1;
	/* In irq_comm.c's order: IOAPIC entry, then the PIC entry. */
	for (uint32_t gsi = 0; gsi < NR_IOAPIC_PINS; gsi++) {
		add_irqchip(&r->entries[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < NR_PIC_GSIS)
			add_irqchip(&r->entries[n++], gsi,
				    gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				    gsi % 8);
	}
	for (uint32_t i = 0; i < KVM_MSI_ROUTES_MAX; i++) {
		const struct kvm_msi_route *m = &k->msi_routes[i];
		struct kvm_irq_routing_entry *e = &r->entries[n];

		if (!m->used || !m->set)
			continue;
		memset(e, 0, sizeof(*e));
		e->gsi = KVM_IRQ_MSI_GSI_BASE + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)m->addr;
		e->u.msi.address_hi = (uint32_t)(m->addr >> 32);
		e->u.msi.data = m->data;
		n++;
	}
	r->nr = n;
	ret = ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -1 : 0;
	free(r);
	return ret;
}

int kvm_msi_route_alloc(struct kvm *k)
{
	int gsi = -1;

	if (!k->irq_ready || !k->has_irq_routing) {
		errno = ENOTSUP;
		return -1;
	}
	pthread_mutex_lock(&k->irq_lock);
	for (uint32_t i = 0; i < KVM_MSI_ROUTES_MAX; i++) {
		if (!k->msi_routes[i].used) {
			k->msi_routes[i] = (struct kvm_msi_route){ .used = true };
			gsi = (int)(KVM_IRQ_MSI_GSI_BASE + i);
			break;
		}
	}
	pthread_mutex_unlock(&k->irq_lock);
	if (gsi < 0)
		errno = ENOSPC;
	return gsi;
}

/* The slot of an allocated route, or NULL. */
static struct kvm_msi_route *route_of(struct kvm *k, uint32_t gsi)
{
	if (gsi < KVM_IRQ_MSI_GSI_BASE || gsi - KVM_IRQ_MSI_GSI_BASE >= KVM_MSI_ROUTES_MAX)
		return NULL;
	if (!k->msi_routes[gsi - KVM_IRQ_MSI_GSI_BASE].used)
		return NULL;
	return &k->msi_routes[gsi - KVM_IRQ_MSI_GSI_BASE];
}

int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_msi_route *m, old;
	int ret;

	if (!k->irq_ready) {
		errno = ENOTSUP;
		return -1;
	}
	pthread_mutex_lock(&k->irq_lock);
	m = route_of(k, gsi);
	if (m == NULL) {
		pthread_mutex_unlock(&k->irq_lock);
		errno = EINVAL;
		return -1;
	}
	if (m->set && m->addr == addr && m->data == data) {
		pthread_mutex_unlock(&k->irq_lock);
		return 0;           /* nothing changes: spare KVM the update */
	}
	old = *m;
	m->set = true;
	m->addr = addr;
	m->data = data;
	ret = submit_routes(k);
	if (ret < 0) {
		int e = errno;

		*m = old;           /* keep our copy what KVM has */
		errno = e;
	}
	pthread_mutex_unlock(&k->irq_lock);
	return ret;
}

void kvm_msi_route_free(struct kvm *k, uint32_t gsi)
{
	struct kvm_msi_route *m;

	if (!k->irq_ready)
		return;
	pthread_mutex_lock(&k->irq_lock);
	m = route_of(k, gsi);
	if (m != NULL) {
		bool was_set = m->set;

		*m = (struct kvm_msi_route){ .used = false };
		/* A stale entry would only fire for an irqfd still bound to
		 * it; still, drop it so a reused GSI starts clean. */
		if (was_set)
			(void)submit_routes(k);
	}
	pthread_mutex_unlock(&k->irq_lock);
}

int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	if (!k->irq_ready || !k->has_signal_msi) {
		errno = ENOTSUP;
		return -1;
	}
	return ioctl(k->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}
