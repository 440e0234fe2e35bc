/* i8042 keyboard controller: the reset line (command 0xfe on port 0x64), an
 * idle controller for a guest probing it, and a PS/2 keyboard through which
 * the host can press Ctrl+Alt+Del (IRQ 1). */
#ifndef LANDLORD_DEVICES_I8042_H
#define LANDLORD_DEVICES_I8042_H

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/power.h"

#define I8042_IRQ_KBD 1     /* ISA IRQ of the keyboard */

struct i8042;
struct i8042 *i8042_create(const struct power_ctl *power);
void i8042_destroy(struct i8042 *k);
/* The keyboard's interrupt line (ISA IRQ 1, edge-triggered); without one
 * the keyboard works polled only.  Call before the vCPUs start. */
void i8042_set_irq(struct i8042 *k, const struct irq_line *irq);
/* Ports 0x60 (offset 0) .. 0x64 (offset 4); 0x61-0x63 are not the
 * controller's and read as nothing.  A VM registers it for port 0x60 only
 * and i8042_status_io for 0x64, leaving 0x61 to the PIT (i8254.h). */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Port 0x64 (offset 0): status on reads, commands on writes. */
void i8042_status_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

enum i8042_keys_result {
	I8042_KEYS_QUEUED,
	I8042_KEYS_FULL,        /* the guest has not read earlier keys yet */
	I8042_KEYS_DISABLED,    /* the guest turned keyboard scanning off */
};

/* Press and release Ctrl+Alt+Del: the make and break codes are queued for
 * the guest, in the scancode set it reads (set 1 with translation on, as
 * Linux runs it).  Any thread. */
enum i8042_keys_result i8042_send_ctrl_alt_del(struct i8042 *k);

#endif
