/* ACPI tables for the guest: RSDP, XSDT, FADT (+FACS), MADT and DSDT,
 * written into guest memory at LAYOUT_ACPI. */
#ifndef LANDLORD_ARCH_X86_ACPI_H
#define LANDLORD_ARCH_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct acpi_config {
	int nr_cpus;            /* Local APIC entries, APIC ids 0..nr_cpus-1 */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;
	uint8_t ioapic_id;      /* == nr_cpus, as the MP table uses */
	uint16_t pm_base;       /* PORT_ACPI_PM: PM1a_EVT at +0, PM1a_CNT at +4 */
	uint16_t reset_port;
	uint8_t reset_value;
	uint8_t sci_irq;
	uint8_t s5_slp_typ;
	uint32_t pci_slots;     /* _PRT entries for PCI slots 1..pci_slots-1 */
};

/* Build the tables into buf, which the guest sees at guest physical address
 * gpa and which is size bytes long.  Returns the guest physical address of
 * the RSDP (== gpa), or 0 if the tables do not fit. */
uint64_t acpi_build(uint8_t *buf, uint64_t gpa, size_t size, const struct acpi_config *cfg);

#endif
