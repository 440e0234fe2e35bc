/* MultiProcessor Specification 1.4 tables, for guests booted without ACPI.
 *
 * Layout inside buf:
 *
 *	+0	floating pointer structure "_MP_", 16 bytes (MP spec 4.1)
 *	+16	configuration table "PCMP": 44-byte header (4.2), then
 *		nr_cpus processor entries (20 bytes each), one ISA bus, the
 *		IOAPIC, 16 I/O interrupt and 2 local interrupt entries (8 each)
 *
 * Linux looks for the floating pointer on 16-byte boundaries in the EBDA,
 * the last KiB of base memory and 0xf0000-0xfffff (LAYOUT_MPTABLE), so buf
 * must be 16-byte aligned.  Fields are placed with explicit little-endian
 * stores. */
#include <stdbool.h>
#include <string.h>

#include "arch/x86/mptable.h"
#include "arch/x86/layout.h"
#include "base/bytes.h"

#define MP_SPEC_REV       4             /* version 1.4 */
#define MP_MAX_CPUS       255           /* 8-bit APIC ids, 0xff excluded */

/* Floating pointer structure (table 4-1). */
enum {
	MPF_SIGNATURE = 0,
	MPF_PHYSPTR = 4,
	MPF_LENGTH = 8,
	MPF_SPEC_REV = 9,
	MPF_CHECKSUM = 10,
	MPF_FEATURE1 = 11,
	MPF_FEATURE2 = 12,
	MPF_SIZE = 16,
};

/* Configuration table header (table 4-2). */
enum {
	MPC_SIGNATURE = 0,
	MPC_LENGTH = 4,
	MPC_SPEC_REV = 6,
	MPC_CHECKSUM = 7,
	MPC_OEM_ID = 8,
	MPC_PRODUCT_ID = 16,
	MPC_OEM_TABLE = 28,
	MPC_OEM_TABLE_SIZE = 32,
	MPC_ENTRY_COUNT = 34,
	MPC_LAPIC = 36,
	MPC_EXT_LENGTH = 40,
	MPC_EXT_CHECKSUM = 42,
	MPC_SIZE = 44,
};

/* Entry types and sizes (section 4.3). */
#define MP_PROCESSOR      0
#define MP_PROCESSOR_LEN  20
#define MP_BUS            1
#define MP_IOAPIC         2
#define MP_IOINTR         3
#define MP_LINTR          4
#define MP_ENTRY_LEN      8

#define MP_CPU_EN         0x01
#define MP_CPU_BP         0x02
#define MP_IOAPIC_EN      0x01
#define MP_INT            0             /* vectored interrupt */
#define MP_NMI            1
#define MP_EXTINT         3
#define MP_CONFORMING     0             /* polarity and trigger of the bus */
#define MP_HIGH_LEVEL     0x000d        /* active high (01), level (11 << 2) */

#define MP_NR_ISA_IRQS    16
#define MP_NR_ENTRIES(n)  ((n) + 1 + 1 + MP_NR_ISA_IRQS + 2)

/* What KVM's local APIC and IOAPIC report in their version registers. */
#define LAPIC_VERSION     0x14
#define IOAPIC_VERSION    0x11

/* Family 6, model 0, stepping 0, with FPU (bit 0) and APIC (bit 9): only
 * printed by Linux, which reads the real values from CPUID. */
#define CPU_SIGNATURE     0x00000600
#define CPU_FEATURES      0x00000201




size_t
mptable_size(int nr_cpus)
{
	if (nr_cpus < 1 || nr_cpus > MP_MAX_CPUS)
		return 0;
	return MPF_SIZE + MPC_SIZE + (size_t)nr_cpus * MP_PROCESSOR_LEN +
	    (MP_NR_ENTRIES(0) * MP_ENTRY_LEN);
}

static uint8_t *
mp_processors(uint8_t *p, int nr_cpus)
{
	for (int i = 0; i < nr_cpus; i++) {
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)i;              /* local APIC id */
		p[2] = LAPIC_VERSION;
		p[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		put_le32(p + 4, CPU_SIGNATURE);
		put_le32(p + 8, CPU_FEATURES);
		p += MP_PROCESSOR_LEN;
	}
	return p;
}

/* Interrupt entries: type 3 (to an IOAPIC pin) or 4 (to a LINTn pin). */
static uint8_t *
mp_intr(uint8_t *p, uint8_t type, uint8_t kind, uint8_t irq, uint8_t dst,
    uint8_t pin)
{
	p[0] = type;
	p[1] = kind;
	put_le16(p + 2, MP_CONFORMING);
	p[4] = 0;                               /* source bus: ISA */
	p[5] = irq;
	p[6] = dst;
	p[7] = pin;
	return p + MP_ENTRY_LEN;
}

static void
mp_config(uint8_t *t, size_t len, int nr_cpus, uint32_t lapic_addr,
    uint32_t ioapic_addr)
{
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	uint8_t *p;

	memcpy(t + MPC_SIGNATURE, "PCMP", 4);
	put_le16(t + MPC_LENGTH, (uint16_t)len);
	t[MPC_SPEC_REV] = MP_SPEC_REV;
	memcpy(t + MPC_OEM_ID, "LANDLORD", 8);
	memcpy(t + MPC_PRODUCT_ID, "LANDLORD VM ", 12);
	put_le16(t + MPC_ENTRY_COUNT, (uint16_t)MP_NR_ENTRIES(nr_cpus));
	put_le32(t + MPC_LAPIC, lapic_addr);
	/* No OEM table and no extended entries: those fields stay 0. */

	p = mp_processors(t + MPC_SIZE, nr_cpus);

	p[0] = MP_BUS;
	p[1] = 0;                               /* bus id */
	memcpy(p + 2, "ISA   ", 6);
	p += MP_ENTRY_LEN;

	p[0] = MP_IOAPIC;
	p[1] = ioapic_id;
	p[2] = IOAPIC_VERSION;
	p[3] = MP_IOAPIC_EN;
	put_le32(p + 4, ioapic_addr);
	p += MP_ENTRY_LEN;

	/* ISA IRQ n on IOAPIC pin n, all sixteen, as KVM's default GSI
	 * routing wires them: its PIT raises GSI 0, which reaches pin 0, so
	 * IRQ 0 is not moved to pin 2 as on real chipsets.  IRQ 2 (the
	 * cascade) has no source but is listed so the map matches the
	 * identity mapping Linux assumes for ISA IRQs under ACPI. */
	for (int irq = 0; irq < MP_NR_ISA_IRQS; irq++) {
		p = mp_intr(p, MP_IOINTR, MP_INT, (uint8_t)irq, ioapic_id,
		    (uint8_t)irq);
		if (layout_isa_irq_is_level((unsigned int)irq))
			put_le16(p - MP_ENTRY_LEN + 2, MP_HIGH_LEVEL);
	}

	/* Virtual wire: the 8259's output on LINT0, NMI on LINT1, of every
	 * local APIC (0xff). */
	p = mp_intr(p, MP_LINTR, MP_EXTINT, 0, 0xff, 0);
	mp_intr(p, MP_LINTR, MP_NMI, 0, 0xff, 1);

	t[MPC_CHECKSUM] = (uint8_t)-byte_sum(t, len);
}

int
mptable_build(uint8_t *buf, uint64_t gpa, size_t size, int nr_cpus,
    uint32_t lapic_addr, uint32_t ioapic_addr)
{
	size_t need = mptable_size(nr_cpus);
	uint8_t *f = buf;

	/* The config table pointer is 32 bits; Linux only scans low memory
	 * anyway. */
	if (buf == NULL || need == 0 || size < need || (gpa & 15) != 0 ||
	    gpa > (1ULL << 32) - need)
		return -1;

	memset(buf, 0, size);
	mp_config(buf + MPF_SIZE, need - MPF_SIZE, nr_cpus, lapic_addr,
	    ioapic_addr);

	memcpy(f + MPF_SIGNATURE, "_MP_", 4);
	put_le32(f + MPF_PHYSPTR, (uint32_t)(gpa + MPF_SIZE));
	f[MPF_LENGTH] = 1;                      /* in 16-byte units */
	f[MPF_SPEC_REV] = MP_SPEC_REV;
	/* Feature byte 1 = 0: a configuration table is present (no default
	 * configuration).  Byte 2 bit 7 (IMCRP) = 0: virtual wire mode, no
	 * IMCR to program. */
	f[MPF_FEATURE1] = 0;
	f[MPF_FEATURE2] = 0;
	f[MPF_CHECKSUM] = (uint8_t)-byte_sum(f, MPF_SIZE);
	return 0;
}
