/* ACPI fixed-hardware power management block at PORT_ACPI_PM: PM1a event
 * (status/enable) and control registers, and the FADT reset register.
 * Writing SLP_EN with SLP_TYP == the \_S5 value powers off. */
#ifndef LANDLORD_DEVICES_ACPI_PM_H
#define LANDLORD_DEVICES_ACPI_PM_H

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/power.h"

struct acpi_pm;
struct acpi_pm *acpi_pm_create(const struct power_ctl *power);
void acpi_pm_destroy(struct acpi_pm *pm);
/* The SCI line (FADT SCI_INT); without one, events are only visible by
 * polling PM1a_STS. */
void acpi_pm_set_sci(struct acpi_pm *pm, const struct irq_line *sci);
/* Press the fixed power button: PWRBTN_STS, and the SCI if enabled.  The
 * guest decides what to do (an OS shuts down cleanly). */
void acpi_pm_power_button(struct acpi_pm *pm);
/* Register for PORT_ACPI_PM_LEN ports at PORT_ACPI_PM. */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
