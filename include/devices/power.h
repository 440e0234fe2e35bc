/* How a device asks for power-off or reset: a callback handed in by the VM. */
#ifndef LANDLORD_DEVICES_POWER_H
#define LANDLORD_DEVICES_POWER_H

enum power_event {
	POWER_OFF,
	POWER_RESET,
};

struct power_ctl {
	void (*request)(void *opaque, enum power_event ev);
	void *opaque;
};

static inline void power_request(const struct power_ctl *p, enum power_event ev)
{
	if (p->request)
		p->request(p->opaque, ev);
}

#endif
