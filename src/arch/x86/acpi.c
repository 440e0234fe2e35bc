/* ACPI 6.3 tables for an x86 guest with legacy PC hardware: an RSDP, XSDT
 * and RSDT, a full (not hardware-reduced) FADT with its FACS, a MADT and a
 * DSDT.
 *
 * Layout inside buf, each table 16-byte aligned except the FACS (64):
 *
 *	0x000	RSDP, 36 bytes: Linux finds it by scanning 0xe0000-0xfffff
 *		in 16-byte steps, so buf must start on a 16-byte boundary
 *	0x040	FACS, 64 bytes
 *	0x080	XSDT, 52 bytes: FACP, APIC
 *	0x0c0	RSDT, 44 bytes: the same, for ACPI 1.0 readers
 *	0x0f0	FADT, 276 bytes
 *	0x210	MADT, 72 + 8 * nr_cpus bytes up to 255 vCPUs
 *	after	DSDT (see build_dsdt)
 *
 * Every field is placed with explicit little-endian stores at offsets
 * named after the spec's tables, so the layout does not depend on the
 * compiler's struct packing. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "base/bytes.h"
#include "acpi_aml.h"

#define ACPI_OEM_ID       "LANDLD"      /* 6 bytes */
#define ACPI_OEM_TABLE_ID "LANDLORD"    /* 8 bytes */
#define ACPI_CREATOR_ID   "LNDL"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_REVISION 1

/* Processor device names are "C" and three hex digits, and MADT type-0
 * entries hold 8-bit APIC ids below 0xff. */
#define ACPI_MAX_CPUS     4096
#define X2APIC_FIRST_ID   255

/* System description table header (ACPI 6.3 section 5.2.6). */
enum {
	HDR_SIGNATURE = 0,
	HDR_LENGTH = 4,
	HDR_REVISION = 8,
	HDR_CHECKSUM = 9,
	HDR_OEM_ID = 10,
	HDR_OEM_TABLE_ID = 16,
	HDR_OEM_REVISION = 24,
	HDR_CREATOR_ID = 28,
	HDR_CREATOR_REVISION = 32,
	HDR_SIZE = 36,
};

/* RSDP (5.2.5.3). */
enum {
	RSDP_SIGNATURE = 0,
	RSDP_CHECKSUM = 8,
	RSDP_OEM_ID = 9,
	RSDP_REVISION = 15,
	RSDP_RSDT = 16,
	RSDP_LENGTH = 20,
	RSDP_XSDT = 24,
	RSDP_EXT_CHECKSUM = 32,
	RSDP_SIZE = 36,
	RSDP_V1_SIZE = 20,      /* what the first checksum covers */
};

/* FACS (5.2.10). */
enum {
	FACS_SIGNATURE = 0,
	FACS_LENGTH = 4,
	FACS_VERSION = 32,
	FACS_SIZE = 64,
};

/* FADT (5.2.9), revision 6. */
enum {
	FADT_FIRMWARE_CTRL = 36,
	FADT_DSDT = 40,
	FADT_SCI_INT = 46,
	FADT_SMI_CMD = 48,
	FADT_PM1A_EVT_BLK = 56,
	FADT_PM1A_CNT_BLK = 64,
	FADT_PM1_EVT_LEN = 88,
	FADT_PM1_CNT_LEN = 89,
	FADT_P_LVL2_LAT = 96,
	FADT_P_LVL3_LAT = 98,
	FADT_CENTURY = 108,
	FADT_IAPC_BOOT_ARCH = 109,
	FADT_FLAGS = 112,
	FADT_RESET_REG = 116,
	FADT_RESET_VALUE = 128,
	FADT_MINOR_VERSION = 131,
	FADT_X_FIRMWARE_CTRL = 132,
	FADT_X_DSDT = 140,
	FADT_X_PM1A_EVT_BLK = 148,
	FADT_X_PM1A_CNT_BLK = 172,
	FADT_HYPERVISOR_ID = 268,
	FADT_SIZE = 276,
};

#define FADT_REVISION     6
#define FADT_MINOR        3     /* ACPI 6.3 */

/* IAPC_BOOT_ARCH: legacy ISA devices (COM1, RTC) and an 8042 exist, so
 * bits 0 and 1; no VGA (bit 2), so Linux does not probe its ports.  Bit 5,
 * "CMOS RTC not present", stays clear: Linux would then not register the
 * RTC.  MSI (bit 3) stays allowed for later PCI devices. */
#define BOOT_ARCH_LEGACY_DEVICES 0x0001
#define BOOT_ARCH_8042           0x0002
#define BOOT_ARCH_NO_VGA         0x0004

/* FADT flags.  PWR_BUTTON (bit 4) is clear: the power button is a fixed
 * feature (PWRBTN_STS/EN in PM1), for ACPI shutdown requests.  SLP_BUTTON
 * set: there is no sleep button.  FIX_RTC set: PM1 has no RTC_STS/RTC_EN.
 * HW_REDUCED_ACPI (bit 20) clear: PM1 registers and the SCI are real. */
#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_PROC_C1       (1u << 2)
#define FADT_F_SLP_BUTTON    (1u << 5)
#define FADT_F_FIX_RTC       (1u << 6)
#define FADT_F_RESET_REG_SUP (1u << 10)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SIZE          12
#define GAS_SYSTEM_IO     1
#define GAS_ACCESS_BYTE   1
#define GAS_ACCESS_WORD   2

/* MADT (5.2.12) and its entries. */
enum {
	MADT_LAPIC_ADDR = 36,
	MADT_FLAGS = 40,
	MADT_ENTRIES = 44,
};
#define MADT_REVISION     5
#define MADT_PCAT_COMPAT  1
#define MADT_LAPIC        0
#define MADT_LAPIC_LEN    8
#define MADT_IOAPIC       1
#define MADT_IOAPIC_LEN   12
#define MADT_ISO          2
#define MADT_ISO_LEN      10
#define MADT_LAPIC_NMI    4
#define MADT_LAPIC_NMI_LEN 6
#define MADT_X2APIC       9
#define MADT_X2APIC_LEN   16
#define MADT_X2APIC_NMI   10
#define MADT_X2APIC_NMI_LEN 12
#define MADT_ENABLED      1
#define MPS_INTI_HIGH_LEVEL 0x000d  /* active high (01), level (11 << 2) */

#define SDT_ENTRIES       2         /* FACP, APIC */

struct layout {
	size_t rsdp, facs, xsdt, rsdt, fadt, madt, dsdt;
	size_t madt_len;
};




/* The byte at *at that makes the len bytes at t sum to zero. */
static void
checksum(uint8_t *t, size_t len, uint8_t *at)
{
	*at = 0;
	*at = (uint8_t)-byte_sum(t, len);
}

static void
header(uint8_t *t, const char *sig, size_t len, uint8_t rev)
{
	memcpy(t + HDR_SIGNATURE, sig, 4);
	put_le32(t + HDR_LENGTH, (uint32_t)len);
	t[HDR_REVISION] = rev;
	memcpy(t + HDR_OEM_ID, ACPI_OEM_ID, 6);
	memcpy(t + HDR_OEM_TABLE_ID, ACPI_OEM_TABLE_ID, 8);
	put_le32(t + HDR_OEM_REVISION, ACPI_OEM_REVISION);
	memcpy(t + HDR_CREATOR_ID, ACPI_CREATOR_ID, 4);
	put_le32(t + HDR_CREATOR_REVISION, ACPI_CREATOR_REVISION);
}

/* Called last, once the table is complete. */
static void
header_checksum(uint8_t *t, size_t len)
{
	checksum(t, len, t + HDR_CHECKSUM);
}

static void
gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;               /* bit offset */
	p[3] = access;
	put_le64(p + 4, port);
}

static bool
config_ok(const struct acpi_config *cfg)
{
	return cfg->nr_cpus >= 1 && cfg->nr_cpus <= ACPI_MAX_CPUS &&
	    cfg->sci_irq < 16 &&        /* an ISA IRQ, for the override */
	    cfg->s5_slp_typ <= 7 &&     /* SLP_TYP is 3 bits wide */
	    cfg->pm_base != 0;
}

/* ISA IRQs that are level-triggered, active-high, besides the SCI. */
static const uint8_t level_irqs[] = { VIRTIO_MMIO_IRQ_LIST };
#define NR_LEVEL_IRQS (sizeof(level_irqs) / sizeof(level_irqs[0]))

/* An interrupt source override: ISA irq on GSI irq, level, active-high. */
static uint8_t *
madt_iso(uint8_t *p, uint8_t irq)
{
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = 0;                               /* bus: ISA */
	p[3] = irq;                             /* source IRQ */
	put_le32(p + 4, irq);                   /* GSI */
	put_le16(p + 8, MPS_INTI_HIGH_LEVEL);
	return p + MADT_ISO_LEN;
}

static size_t
madt_len(int nr_cpus)
{
	size_t n = (size_t)nr_cpus;
	size_t x2 = n > X2APIC_FIRST_ID ? n - X2APIC_FIRST_ID : 0;

	return MADT_ENTRIES + (n - x2) * MADT_LAPIC_LEN +
	    x2 * MADT_X2APIC_LEN + MADT_IOAPIC_LEN +
	    (1 + NR_LEVEL_IRQS) * MADT_ISO_LEN +
	    MADT_LAPIC_NMI_LEN + (x2 ? MADT_X2APIC_NMI_LEN : 0);
}

/* Place len bytes at the next multiple of align; false if past size. */
static bool
place(size_t *used, size_t size, size_t len, size_t align, size_t *off)
{
	size_t at = (*used + align - 1) & ~(align - 1);

	if (at > size || len > size - at)
		return false;
	*off = at;
	*used = at + len;
	return true;
}

static bool
plan(struct layout *l, size_t size, const struct acpi_config *cfg)
{
	size_t used = 0;

	l->madt_len = madt_len(cfg->nr_cpus);
	return place(&used, size, RSDP_SIZE, 16, &l->rsdp) &&
	    place(&used, size, FACS_SIZE, 64, &l->facs) &&
	    place(&used, size, HDR_SIZE + 8 * SDT_ENTRIES, 16, &l->xsdt) &&
	    place(&used, size, HDR_SIZE + 4 * SDT_ENTRIES, 16, &l->rsdt) &&
	    place(&used, size, FADT_SIZE, 16, &l->fadt) &&
	    place(&used, size, l->madt_len, 16, &l->madt) &&
	    place(&used, size, HDR_SIZE, 16, &l->dsdt);   /* grows later */
}

static void
build_facs(uint8_t *t)
{
	memcpy(t + FACS_SIGNATURE, "FACS", 4);
	put_le32(t + FACS_LENGTH, FACS_SIZE);
	t[FACS_VERSION] = 2;
	/* No waking vector (no S3) and no global lock owner: all zero. */
}

static void
build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt,
    const struct acpi_config *cfg)
{
	header(t, "FACP", FADT_SIZE, FADT_REVISION);
	/* 32-bit and X_ copies agree, or ACPICA warns about a mismatch. */
	put_le32(t + FADT_FIRMWARE_CTRL, (uint32_t)facs);
	put_le32(t + FADT_DSDT, (uint32_t)dsdt);
	put_le64(t + FADT_X_FIRMWARE_CTRL, facs);
	put_le64(t + FADT_X_DSDT, dsdt);
	put_le16(t + FADT_SCI_INT, cfg->sci_irq);
	/* SMI_CMD 0: no SMM, the platform is always in ACPI mode, so ACPICA
	 * never writes ACPI_ENABLE and trusts SCI_EN. */
	put_le32(t + FADT_SMI_CMD, 0);
	put_le32(t + FADT_PM1A_EVT_BLK, cfg->pm_base);
	put_le32(t + FADT_PM1A_CNT_BLK, (uint32_t)cfg->pm_base + 4);
	t[FADT_PM1_EVT_LEN] = 4;
	t[FADT_PM1_CNT_LEN] = 2;
	gas_io(t + FADT_X_PM1A_EVT_BLK, 32, GAS_ACCESS_WORD, cfg->pm_base);
	gas_io(t + FADT_X_PM1A_CNT_BLK, 16, GAS_ACCESS_WORD,
	    (uint16_t)(cfg->pm_base + 4));
	/* PM timer, PM2 and GPE blocks stay 0: not implemented.  Latencies
	 * over 100 and 1000 us say C2 and C3 are unsupported. */
	put_le16(t + FADT_P_LVL2_LAT, 101);
	put_le16(t + FADT_P_LVL3_LAT, 1001);
	/* The RTC keeps the century in CMOS byte 0x32, as PC firmware does. */
	t[FADT_CENTURY] = 0x32;
	put_le16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES |
	    BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA);
	put_le32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 |
	    FADT_F_SLP_BUTTON | FADT_F_FIX_RTC | FADT_F_RESET_REG_SUP);
	/* Linux's ACPI reboot wants exactly an 8-bit register at offset 0. */
	gas_io(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, cfg->reset_port);
	t[FADT_RESET_VALUE] = cfg->reset_value;
	t[FADT_MINOR_VERSION] = FADT_MINOR;
	memcpy(t + FADT_HYPERVISOR_ID, "LANDLORD", 8);
	header_checksum(t, FADT_SIZE);
}

static uint8_t *
madt_cpus(uint8_t *p, int nr_cpus)
{
	for (int i = 0; i < nr_cpus; i++) {
		if (i < X2APIC_FIRST_ID) {
			p[0] = MADT_LAPIC;
			p[1] = MADT_LAPIC_LEN;
			p[2] = (uint8_t)i;              /* processor uid */
			p[3] = (uint8_t)i;              /* APIC id */
			put_le32(p + 4, MADT_ENABLED);
			p += MADT_LAPIC_LEN;
		} else {
			/* APIC ids from 255 on need x2APIC entries
			 * (5.2.12.12); uid and id stay equal. */
			p[0] = MADT_X2APIC;
			p[1] = MADT_X2APIC_LEN;
			put_le32(p + 4, (uint32_t)i);      /* x2APIC id */
			put_le32(p + 8, MADT_ENABLED);
			put_le32(p + 12, (uint32_t)i);     /* processor uid */
			p += MADT_X2APIC_LEN;
		}
	}
	return p;
}

static void
build_madt(uint8_t *t, size_t len, const struct acpi_config *cfg)
{
	uint8_t *p;

	header(t, "APIC", len, MADT_REVISION);
	put_le32(t + MADT_LAPIC_ADDR, cfg->lapic_addr);
	/* PCAT_COMPAT: there are 8259s, which the OS must mask. */
	put_le32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
	p = madt_cpus(t + MADT_ENTRIES, cfg->nr_cpus);

	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = cfg->ioapic_id;
	put_le32(p + 4, cfg->ioapic_addr);
	put_le32(p + 8, 0);                        /* GSI base */
	p += MADT_IOAPIC_LEN;

	/* The SCI is level-triggered active-high on its ISA IRQ.  There is
	 * deliberately no IRQ0 -> GSI2 override as on real chipsets: KVM's
	 * default GSI routing sends GSI n to IOAPIC pin n, and its PIT raises
	 * GSI 0, so the timer is on pin 0 and the OS's identity mapping of
	 * ISA IRQs is right. */
	p = madt_iso(p, cfg->sci_irq);
	/* The virtio-mmio IRQs (layout.h) are level-triggered too. */
	for (size_t i = 0; i < NR_LEVEL_IRQS; i++)
		p = madt_iso(p, level_irqs[i]);

	/* NMI arrives on LINT1 of every local APIC. */
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_LEN;
	p[2] = 0xff;                            /* all processors */
	put_le16(p + 3, 0);                        /* flags: conforming */
	p[5] = 1;                               /* LINT1 */
	p += MADT_LAPIC_NMI_LEN;

	if (cfg->nr_cpus > X2APIC_FIRST_ID) {
		p[0] = MADT_X2APIC_NMI;
		p[1] = MADT_X2APIC_NMI_LEN;
		put_le16(p + 2, 0);
		put_le32(p + 4, 0xffffffff);       /* all processors */
		p[8] = 1;
	}
	header_checksum(t, len);
}

/*
 * The DSDT, in ASL:
 *
 *	DefinitionBlock ("", "DSDT", 2, "LANDLD", "LANDLORD", 1) {
 *		Name (_S0, Package (4) { 0, 0, 0, 0 })
 *		Name (_S5, Package (4) { typ, typ, 0, 0 })
 *		Scope (_SB) {
 *			Device (PCI0) { _HID PNP0A03, _UID 0, _SEG 0, _BBN 0,
 *				_CRS: WordBusNumber 0-0, IO 0xcf8/8,
 *				WordIO 0-0xcf7, WordIO 0xd00-0xffff,
 *				DWordMemory 0xc0000000-0xcfffffff (the PCI window),
 *				_PRT: slot s pin p -> GSI 10 + ((s + p) & 1) }
 *			Device (COM1) { _HID PNP0501, _UID 1,
 *				_CRS: IO 0x3f8/8, IRQNoFlags {4} }
 *			Device (C000) { _HID "ACPI0007", _UID 0 }
 *			...one per vCPU
 *		}
 *	}
 *
 * To power off, the OS writes _S5's SLP_TYPa | SLP_EN to PM1a_CNT.  _S0
 * (SLP_TYP 0, never with SLP_EN) is what ACPICA restores on wake; without
 * it, leaving a sleep state reports AE_NOT_FOUND.  Returns the table length,
 * or 0 if it does not fit in cap bytes.
 */
static size_t
build_dsdt(uint8_t *t, size_t cap, const struct acpi_config *cfg)
{
	struct aml a;

	aml_init(&a, t + HDR_SIZE, cap - HDR_SIZE);

	acpi_dsdt_body(&a, cfg);

	if (a.overflow)
		return 0;
	/* Revision 2: integers are 64 bits wide. */
	header(t, "DSDT", HDR_SIZE + a.len, 2);
	header_checksum(t, HDR_SIZE + a.len);
	return HDR_SIZE + a.len;
}

static void
build_sdts(uint8_t *buf, uint64_t gpa, const struct layout *l)
{
	const size_t tables[SDT_ENTRIES] = { l->fadt, l->madt };
	uint8_t *x = buf + l->xsdt, *r = buf + l->rsdt;

	header(x, "XSDT", HDR_SIZE + 8 * SDT_ENTRIES, 1);
	header(r, "RSDT", HDR_SIZE + 4 * SDT_ENTRIES, 1);
	for (size_t i = 0; i < SDT_ENTRIES; i++) {
		put_le64(x + HDR_SIZE + 8 * i, gpa + tables[i]);
		put_le32(r + HDR_SIZE + 4 * i, (uint32_t)(gpa + tables[i]));
	}
	header_checksum(x, HDR_SIZE + 8 * SDT_ENTRIES);
	header_checksum(r, HDR_SIZE + 4 * SDT_ENTRIES);
}

static void
build_rsdp(uint8_t *p, uint64_t gpa, const struct layout *l)
{
	memcpy(p + RSDP_SIGNATURE, "RSD PTR ", 8);
	memcpy(p + RSDP_OEM_ID, ACPI_OEM_ID, 6);
	p[RSDP_REVISION] = 2;
	put_le32(p + RSDP_RSDT, (uint32_t)(gpa + l->rsdt));
	put_le32(p + RSDP_LENGTH, RSDP_SIZE);
	put_le64(p + RSDP_XSDT, gpa + l->xsdt);
	/* The v1 checksum first: the extended one covers it. */
	checksum(p, RSDP_V1_SIZE, p + RSDP_CHECKSUM);
	checksum(p, RSDP_SIZE, p + RSDP_EXT_CHECKSUM);
}

uint64_t
acpi_build(uint8_t *buf, uint64_t gpa, size_t size, const struct acpi_config *cfg)
{
	struct layout l;
	size_t dsdt_len;

	/* The RSDP needs 16-byte alignment; the RSDT and FADT hold 32-bit
	 * pointers, so everything must lie below 4 GiB. */
	if (buf == NULL || cfg == NULL || !config_ok(cfg) || gpa == 0 ||
	    (gpa & 15) != 0 || gpa >= (1ULL << 32) ||
	    size > (1ULL << 32) - gpa)
		return 0;
	if (!plan(&l, size, cfg))
		return 0;

	memset(buf, 0, size);
	dsdt_len = build_dsdt(buf + l.dsdt, size - l.dsdt, cfg);
	if (dsdt_len == 0) {
		memset(buf, 0, size);
		return 0;
	}
	build_facs(buf + l.facs);
	build_fadt(buf + l.fadt, gpa + l.facs, gpa + l.dsdt, cfg);
	build_madt(buf + l.madt, l.madt_len, cfg);
	build_sdts(buf, gpa, &l);
	build_rsdp(buf + l.rsdp, gpa, &l);
	return gpa;
}
