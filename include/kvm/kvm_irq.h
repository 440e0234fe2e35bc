/* KVM interrupt and notification plumbing for virtio transports:
 * ioeventfds (a guest write to an address signals an eventfd inside KVM,
 * without an exit to the monitor), irqfds (writing an eventfd raises a GSI
 * inside KVM), and the GSI routing table with MSI routes.
 *
 * The routing table lives in struct kvm under its own mutex.  It starts as
 * KVM's default routing (GSI 0-15 on the PICs and the IOAPIC, 16-23 on the
 * IOAPIC) and every change submits the whole table again with
 * KVM_SET_GSI_ROUTING, which replaces it atomically.  All functions are
 * thread-safe (vCPU threads program MSI-X tables). */
#ifndef LANDLORD_KVM_KVM_IRQ_H
#define LANDLORD_KVM_KVM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm/kvm.h"

/* First GSI handed out for MSI routes: the IOAPIC has 24 pins. */
#define KVM_IRQ_MSI_GSI_BASE 24

/* Register (assign) or remove (!assign) an ioeventfd: a write of len bytes
 * (1, 2, 4 or 8; 0 = any length, MMIO only) at addr, in port I/O space when
 * pio, signals fd; with datamatch only writes of that value do.  Removing
 * needs the same addr, len, pio, fd, datamatch and data.  0, or -1 with
 * errno set (ENOTSUP without KVM_CAP_IOEVENTFD). */
int kvm_ioeventfd(struct kvm *k, uint64_t addr, uint32_t len, bool pio, int fd,
		  bool datamatch, uint64_t data, bool assign);

/* Bind (assign) or unbind an eventfd to a GSI: a write to fd raises an
 * edge on gsi (an MSI route fires its message).  0, or -1 with errno set. */
int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, bool assign);

/* A new GSI (>= KVM_IRQ_MSI_GSI_BASE) for an MSI route, not yet in the
 * table: kvm_msi_route_set adds it.  -1 when none is free or KVM lacks
 * KVM_CAP_IRQ_ROUTING. */
int kvm_msi_route_alloc(struct kvm *k);
/* Point an allocated GSI at an MSI message (address, data) and submit the
 * table.  0, or -1 with errno set. */
int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data);
/* Remove the route and free the GSI (unbind irqfds from it first). */
void kvm_msi_route_free(struct kvm *k, uint32_t gsi);

/* Deliver one MSI message now (KVM_SIGNAL_MSI): the fallback for a vector
 * that has no route.  0, or -1 with errno set. */
int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data);

/* Routing state in struct kvm: set up by kvm_create_vm, freed by
 * kvm_destroy_vm (through these). */
int kvm_irq_routing_init(struct kvm *k);
void kvm_irq_routing_free(struct kvm *k);

#endif
