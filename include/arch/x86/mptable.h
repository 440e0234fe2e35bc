/* Intel MultiProcessor Specification 1.4 tables: the floating pointer and the
 * configuration table, for kernels that boot with acpi=off or predate ACPI. */
#ifndef LANDLORD_ARCH_X86_MPTABLE_H
#define LANDLORD_ARCH_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

/* Write the MP floating pointer and config table into buf (seen by the guest
 * at gpa, size bytes).  Processor entries for APIC ids 0..nr_cpus-1, an ISA
 * bus, the IOAPIC (id nr_cpus) and ISA interrupts 0-15 routed to its pins.
 * Returns 0, or -1 if they do not fit. */
int mptable_build(uint8_t *buf, uint64_t gpa, size_t size, int nr_cpus,
		  uint32_t lapic_addr, uint32_t ioapic_addr);

/* Bytes mptable_build needs for nr_cpus (1..255): 220 + 20 * nr_cpus, at
 * most 5320, well inside LAYOUT_MPTABLE_SIZE (a 1 KiB EBDA would hold only
 * 40 vCPUs).  0 if nr_cpus is out of range. */
size_t mptable_size(int nr_cpus);

#endif
