/* How a device raises an interrupt without knowing about KVM: the VM hands
 * each device an irq_line whose set() drives a GSI of the in-kernel irqchip. */
#ifndef LANDLORD_DEVICES_IRQ_H
#define LANDLORD_DEVICES_IRQ_H

#include <stdint.h>

struct irq_line {
	void (*set)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->opaque, l->gsi, level);
}

#endif
