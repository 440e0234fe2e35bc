/* i8042 keyboard controller: just enough for the reset line (command 0xfe on
 * port 0x64) and for a guest probing it to see an idle controller. */
#ifndef LANDLORD_DEVICES_I8042_H
#define LANDLORD_DEVICES_I8042_H

#include "devices/bus.h"
#include "devices/power.h"

struct i8042;
struct i8042 *i8042_create(const struct power_ctl *power);
void i8042_destroy(struct i8042 *k);
/* Register for ports 0x60 (offset 0) .. 0x64 (offset 4), len 5. */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
