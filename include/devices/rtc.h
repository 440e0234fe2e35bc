/* MC146818 CMOS RTC: index port 0x70, data port 0x71, the host's time (UTC),
 * BCD/binary and 12/24-hour modes per register B, 128 bytes of CMOS RAM. */
#ifndef LANDLORD_DEVICES_RTC_H
#define LANDLORD_DEVICES_RTC_H

#include <stdint.h>
#include "devices/bus.h"

struct rtc;
struct rtc *rtc_create(void);
void rtc_destroy(struct rtc *r);
/* Set a CMOS RAM byte before boot (e.g. memory size fields). */
void rtc_set_cmos(struct rtc *r, uint8_t index, uint8_t value);
void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
