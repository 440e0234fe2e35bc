/* Guest physical memory map and fixed I/O ports of a landlord x86 VM.
 * Everything a guest can find here it also finds in e820, ACPI or MP tables;
 * the numbers are chosen to match what Linux and firmware conventionally use. */
#ifndef LANDLORD_ARCH_X86_LAYOUT_H
#define LANDLORD_ARCH_X86_LAYOUT_H

#include <stdbool.h>

/* Low memory, written by the monitor before the first vCPU runs. */
#define LAYOUT_GDT          0x500ULL      /* boot GDT (4 entries) */
#define LAYOUT_PVH_INFO     0x6000ULL     /* hvm_start_info + memmap + modlist */
#define LAYOUT_ZERO_PAGE    0x7000ULL     /* struct boot_params */
#define LAYOUT_BOOT_STACK   0x8ff0ULL     /* initial RSP */
#define LAYOUT_PML4         0x9000ULL     /* identity page tables: PML4, */
#define LAYOUT_PDPT         0xa000ULL     /* one PDPT, */
#define LAYOUT_PD           0xb000ULL     /* four PDs: 4 GiB in 2 MiB pages */
#define LAYOUT_CMDLINE      0x20000ULL
#define LAYOUT_CMDLINE_MAX  4096ULL       /* bytes, NUL included */
#define LAYOUT_EBDA         0x9fc00ULL    /* reserved, as on a PC; unused */
#define LAYOUT_ACPI         0xe0000ULL    /* RSDP and ACPI tables */
#define LAYOUT_ACPI_SIZE    0x10000ULL
#define LAYOUT_MPTABLE      0xf0000ULL    /* MP floating pointer + table, */
#define LAYOUT_MPTABLE_SIZE 0x10000ULL    /* in the BIOS area Linux scans */
#define LAYOUT_HIGH_MEM     0x100000ULL   /* 1 MiB: kernels go here or above */

/* The 32-bit PCI hole and fixed MMIO. */
#define LAYOUT_PCI_HOLE     0xc0000000ULL /* RAM stops here below 4 GiB */
#define LAYOUT_4G           0x100000000ULL
#define LAYOUT_IOAPIC       0xfec00000ULL
#define LAYOUT_LAPIC        0xfee00000ULL
#define LAYOUT_IDENTITY_MAP 0xfffbc000ULL /* KVM_SET_IDENTITY_MAP_ADDR (1 page) */
#define LAYOUT_TSS          0xfffbd000ULL /* KVM_SET_TSS_ADDR (3 pages) */

/* The 32-bit PCI memory window (BARs) and the virtio-mmio devices, both in
 * the hole; the DSDT's PCI0 _CRS describes the window. */
#define LAYOUT_PCI_MMIO         0xc0000000ULL
#define LAYOUT_PCI_MMIO_SIZE    0x10000000ULL
#define LAYOUT_VIRTIO_MMIO      0xd0000000ULL /* device n at + n * 4 KiB */
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
/* virtio-mmio device n interrupts on the n-th of these ISA IRQs, ones no
 * landlord device uses.  The MADT (interrupt source overrides) and the MP
 * table declare them level-triggered, active-high: a device announced only on
 * the command line (virtio_mmio.device=) gets an IRQ Linux has already set
 * up, with level semantics (asserted while InterruptStatus is non-zero). */
#define VIRTIO_MMIO_IRQ_LIST    5, 6, 7, 12, 14, 15, 3
#define VIRTIO_MMIO_MAX         7

/* Is ISA IRQ irq one of those level-triggered virtio-mmio IRQs? */
static inline bool layout_isa_irq_is_level(unsigned int irq)
{
	static const unsigned char level[] = { VIRTIO_MMIO_IRQ_LIST };

	for (unsigned int i = 0; i < sizeof(level); i++)
		if (level[i] == irq)
			return true;
	return false;
}
#define GSI_PCI_INTX_A          10            /* PCI INTx: _PRT swizzles over */
#define GSI_PCI_INTX_B          11            /* these two, level, shared */

/* Port I/O. */
#define PORT_COM1           0x3f8
#define IRQ_COM1            4
#define PORT_I8042_DATA     0x60
#define PORT_I8042_CMD      0x64
#define PORT_RTC            0x70          /* index 0x70, data 0x71 */
#define PORT_PCI_CONFIG     0xcf8         /* 0xcf8 address, 0xcfc-0xcff data */
#define PORT_ACPI_PM        0x600         /* PM1a event block (4 bytes) */
#define PORT_ACPI_PM1A_EVT  0x600
#define PORT_ACPI_PM1A_CNT  0x604         /* PM1a control (2 bytes) */
#define PORT_ACPI_RESET     0x608         /* FADT RESET_REG (1 byte) */
#define PORT_ACPI_PM_LEN    0x10
#define ACPI_RESET_VALUE    0x0f
#define ACPI_S5_SLP_TYP     5             /* \_S5 SLP_TYPa and the PM1a_CNT value landlord reads */
#define IRQ_ACPI_SCI        9

#endif
