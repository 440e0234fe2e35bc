/* Unit tests for the ACPI tables: every table is found the way an OS finds
 * it (RSDP -> XSDT -> FADT/MADT, FADT -> DSDT/FACS), every checksum sums to
 * zero, and the fields the monitor's devices depend on hold cfg's values.
 *
 * With LANDLORD_ACPI_DUMP=dir set, the tables for 2 vCPUs are also written
 * to dir/<signature>.dat, for checking with `iasl -d` or acpiexec. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>

#include "base/bytes.h"

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"

#define GUARD      64
#define GUARD_BYTE 0xa5

static struct acpi_config
default_config(int nr_cpus)
{
	struct acpi_config cfg = {
		.nr_cpus = nr_cpus,
		.lapic_addr = (uint32_t)LAYOUT_LAPIC,
		.ioapic_addr = (uint32_t)LAYOUT_IOAPIC,
		.ioapic_id = (uint8_t)nr_cpus,
		.pm_base = PORT_ACPI_PM,
		.reset_port = PORT_ACPI_RESET,
		.reset_value = ACPI_RESET_VALUE,
		.sci_irq = IRQ_ACPI_SCI,
		.s5_slp_typ = ACPI_S5_SLP_TYP,
		.pci_slots = 32,
	};
	return cfg;
}





/* The table at guest address addr: inside the buffer, with signature sig
 * and a zero checksum.  Returns its offset in buf. */
static size_t
table_at(const uint8_t *buf, size_t size, uint64_t addr, const char *sig)
{
	size_t off, len;

	assert_true(addr >= LAYOUT_ACPI);
	off = (size_t)(addr - LAYOUT_ACPI);
	assert_true(off + 36 <= size);
	assert_memory_equal(buf + off, sig, 4);
	len = get_le32(buf + off + 4);
	assert_true(len >= 36 && off + len <= size);
	assert_int_equal(byte_sum(buf + off, len), 0);
	assert_memory_equal(buf + off + 10, "LANDLD", 6);
	return off;
}

/* PkgLength at p: returns the encoded length, *n its own size. */
static size_t
pkglen(const uint8_t *p, size_t *n)
{
	size_t extra = p[0] >> 6, len;

	if (extra == 0) {
		*n = 1;
		return p[0] & 0x3f;
	}
	len = p[0] & 0x0f;
	for (size_t i = 0; i < extra; i++)
		len |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = extra + 1;
	return len;
}

/* A ZeroOp, OneOp or BytePrefix integer; *n its size. */
static int
small_int(const uint8_t *p, size_t *n)
{
	switch (p[0]) {
	case 0x00:
		*n = 1;
		return 0;
	case 0x01:
		*n = 1;
		return 1;
	case 0x0a:
		*n = 2;
		return p[1];
	default:
		*n = 1;
		fail_msg("unexpected AML integer opcode %#x", p[0]);
		return -1;
	}
}

/* Name (name, Package (4) { typ, typ, 0, 0 }) at p; returns its end. */
static const uint8_t *
check_sleep_package(const uint8_t *p, const char *name, int typ)
{
	const uint8_t *end;
	size_t n, i;

	assert_int_equal(p[0], 0x08);                   /* NameOp */
	assert_memory_equal(p + 1, name, 4);
	assert_int_equal(p[5], 0x12);                   /* PackageOp */
	p += 6;
	end = p + pkglen(p, &n);
	p += n;
	assert_int_equal(*p++, 4);                      /* NumElements */
	assert_int_equal(small_int(p, &i), typ);
	p += i;
	assert_int_equal(small_int(p, &i), typ);
	p += i;
	assert_int_equal(small_int(p, &i), 0);
	p += i;
	assert_int_equal(small_int(p, &i), 0);
	p += i;
	assert_ptr_equal(p, end);
	return end;
}

/* Name (_PRT, Package { ... }) with four entries (INTA-INTD) for each PCI
 * slot from 1 to slots - 1 (at most 31), none for slots <= 1. */
static void
check_prt(const uint8_t *t, size_t len, uint32_t slots)
{
	const uint8_t *p = memmem(t, len, "\x08_PRT\x12", 6);
	size_t n;
	uint32_t want = slots > 32 ? 31 * 4 : slots > 1 ? (slots - 1) * 4 : 0;

	assert_non_null(p);
	p += 6;
	pkglen(p, &n);
	assert_int_equal(p[n], want);                   /* NumElements */
}

/* The DSDT body is Name (_S0_), Name (_S5_), then Scope (_SB_) reaching
 * exactly to the end of the table. */
static void
check_dsdt(const uint8_t *t, const struct acpi_config *cfg)
{
	size_t len = get_le32(t + 4), n, sb;
	const uint8_t *p = t + 36;

	assert_int_equal(t[8], 2);
	p = check_sleep_package(p, "_S0_", 0);
	p = check_sleep_package(p, "_S5_", cfg->s5_slp_typ);

	assert_int_equal(*p++, 0x10);                   /* ScopeOp */
	sb = pkglen(p, &n);
	assert_ptr_equal(p + sb, t + len);
	assert_memory_equal(p + n, "_SB_", 4);
	assert_non_null(memmem(t, len, "PCI0", 4));
	assert_non_null(memmem(t, len, "COM1", 4));
	assert_non_null(memmem(t, len, "\x5b\x82", 2));
	check_prt(t, len, cfg->pci_slots);
}

static void
check_fadt(const uint8_t *buf, size_t size, size_t off,
    const struct acpi_config *cfg)
{
	const uint8_t *t = buf + off;
	size_t facs, dsdt;

	assert_int_equal(get_le32(t + 4), 276);
	assert_int_equal(t[8], 6);
	assert_int_equal(get_le32(t + 36), get_le64(t + 132));      /* FACS */
	assert_int_equal(get_le32(t + 40), get_le64(t + 140));      /* DSDT */
	/* The FACS has no checksum or OEM fields. */
	facs = (size_t)(get_le64(t + 132) - LAYOUT_ACPI);
	assert_true(get_le64(t + 132) >= LAYOUT_ACPI && facs + 64 <= size);
	assert_int_equal((LAYOUT_ACPI + facs) % 64, 0);
	assert_memory_equal(buf + facs, "FACS", 4);
	assert_int_equal(get_le32(buf + facs + 4), 64);
	dsdt = table_at(buf, size, get_le64(t + 140), "DSDT");
	check_dsdt(buf + dsdt, cfg);

	assert_int_equal(get_le16(t + 46), cfg->sci_irq);
	assert_int_equal(get_le32(t + 48), 0);                   /* SMI_CMD */
	assert_int_equal(get_le32(t + 56), cfg->pm_base);
	assert_int_equal(get_le32(t + 64), cfg->pm_base + 4);
	assert_int_equal(get_le32(t + 76), 0);                   /* no PM timer */
	assert_int_equal(t[88], 4);
	assert_int_equal(t[89], 2);
	/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK: system I/O, 32 and 16 bits. */
	assert_int_equal(t[148], 1);
	assert_int_equal(t[149], 32);
	assert_int_equal(get_le64(t + 152), cfg->pm_base);
	assert_int_equal(t[172], 1);
	assert_int_equal(t[173], 16);
	assert_int_equal(get_le64(t + 176), cfg->pm_base + 4);

	uint32_t flags = get_le32(t + 112);
	assert_true(flags & (1u << 10));        /* RESET_REG_SUP */
	assert_false(flags & (1u << 4));        /* fixed power button */
	assert_false(flags & (1u << 20));       /* not hardware-reduced */
	assert_int_equal(t[116], 1);
	assert_int_equal(t[117], 8);
	assert_int_equal(t[118], 0);
	assert_int_equal(get_le64(t + 120), cfg->reset_port);
	assert_int_equal(t[128], cfg->reset_value);
	uint16_t boot = get_le16(t + 109);
	assert_true(boot & 2);                  /* 8042 */
	assert_false(boot & (1u << 5));         /* CMOS RTC present */
}

static void
check_madt(const uint8_t *t, const struct acpi_config *cfg)
{
	size_t len = get_le32(t + 4), off = 44;
	int cpus = 0, ioapics = 0, sci = 0, nmi = 0, mmio_irqs = 0;
	uint8_t seen[4096 / 8] = { 0 };

	assert_int_equal(get_le32(t + 36), cfg->lapic_addr);
	assert_int_equal(get_le32(t + 40), 1);
	while (off < len) {
		const uint8_t *e = t + off;
		uint32_t id;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
		case 9:
			id = e[0] == 0 ? e[3] : get_le32(e + 4);
			assert_int_equal(get_le32(e + (e[0] == 0 ? 4 : 8)) & 1, 1);
			assert_int_equal(e[0] == 0 ? e[2] : get_le32(e + 12), id);
			assert_true(id < (uint32_t)cfg->nr_cpus);
			assert_false(seen[id / 8] & (1 << id % 8));
			assert_true(e[0] == 9 || id < 255);
			seen[id / 8] |= (uint8_t)(1 << id % 8);
			cpus++;
			break;
		case 1:
			assert_int_equal(e[2], cfg->ioapic_id);
			assert_int_equal(get_le32(e + 4), cfg->ioapic_addr);
			assert_int_equal(get_le32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			/* Only the SCI and the virtio-mmio IRQs are overridden,
			 * identity-mapped and level/high; IRQ 0 stays on GSI 0. */
			assert_true(e[3] == cfg->sci_irq || layout_isa_irq_is_level(e[3]));
			assert_int_equal(get_le32(e + 4), e[3]);
			assert_int_equal(get_le16(e + 8), 0x000d);
			if (e[3] == cfg->sci_irq)
				sci++;
			else
				mmio_irqs++;
			break;
		case 4:
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmi++;
			break;
		case 10:
			assert_true(cfg->nr_cpus > 255);
			break;
		default:
			fail_msg("unexpected MADT entry type %d", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(cpus, cfg->nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(sci, 1);
	assert_int_equal(mmio_irqs, VIRTIO_MMIO_MAX);
	assert_int_equal(nmi, 1);
}

/* Table t, by its header's length, to $LANDLORD_ACPI_DUMP/<sig>.dat. */
static void
dump(const uint8_t *t)
{
	const char *dir = getenv("LANDLORD_ACPI_DUMP");
	size_t len = get_le32(t + 4);
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%.4s.dat", dir, (const char *)t);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, len, f), len);
	fclose(f);
}

/* Build for cfg and walk everything from the RSDP; returns the number of
 * bytes the tables occupy. */
static size_t
check_all(uint8_t *buf, const struct acpi_config *cfg, int dump_tables)
{
	size_t size = LAYOUT_ACPI_SIZE, xsdt, rsdt, end;
	const uint8_t *r = buf;

	memset(buf, 0xcc, size);
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI, size, cfg), LAYOUT_ACPI);

	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(byte_sum(r, 20), 0);
	assert_int_equal(byte_sum(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(get_le32(r + 20), 36);
	assert_memory_equal(r + 9, "LANDLD", 6);

	xsdt = table_at(buf, size, get_le64(r + 24), "XSDT");
	rsdt = table_at(buf, size, get_le32(r + 16), "RSDT");
	size_t n = (get_le32(buf + xsdt + 4) - 36) / 8;
	assert_int_equal(n, 2);
	assert_int_equal(get_le32(buf + rsdt + 4), 36 + 4 * n);
	for (size_t i = 0; i < n; i++) {
		uint64_t a = get_le64(buf + xsdt + 36 + 8 * i);
		size_t off;

		assert_int_equal(get_le32(buf + rsdt + 36 + 4 * i), a);
		off = table_at(buf, size, a, i == 0 ? "FACP" : "APIC");
		if (i == 0)
			check_fadt(buf, size, off, cfg);
		else
			check_madt(buf + off, cfg);
	}
	const uint8_t *fadt = buf + get_le64(buf + xsdt + 36) - LAYOUT_ACPI;
	const uint8_t *dsdt = buf + get_le64(fadt + 140) - LAYOUT_ACPI;

	if (dump_tables) {
		dump(buf + xsdt);
		dump(buf + rsdt);
		dump(fadt);
		dump(buf + get_le64(buf + xsdt + 44) - LAYOUT_ACPI);
		dump(dsdt);
		dump(buf + get_le64(fadt + 132) - LAYOUT_ACPI);
	}
	/* The DSDT comes last: its end is the end of the tables. */
	end = (size_t)(dsdt - buf) + get_le32(dsdt + 4);
	for (size_t i = end; i < size; i++)
		assert_int_equal(buf[i], 0);
	return end;
}

static void
test_cpus(void **state)
{
	static const int counts[] = { 1, 2, 64, 255 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct acpi_config cfg = default_config(counts[i]);

		check_all(*state, &cfg, counts[i] == 2);
	}
}

/* x2APIC entries for APIC ids from 255 on. */
static void
test_x2apic(void **state)
{
	struct acpi_config cfg = default_config(300);

	cfg.ioapic_id = 0;
	check_all(*state, &cfg, 0);
}

/* ZeroOp, OneOp and BytePrefix encodings of SLP_TYP. */
static void
test_s5_values(void **state)
{
	for (int typ = 0; typ <= 7; typ++) {
		struct acpi_config cfg = default_config(1);

		cfg.s5_slp_typ = (uint8_t)typ;
		check_all(*state, &cfg, 0);
	}
}

/* The _PRT follows the slots in use: none, a few, all 31, too many. */
static void
test_prt_slots(void **state)
{
	static const uint32_t slots[] = { 0, 1, 2, 5, 32, 40 };

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		struct acpi_config cfg = default_config(2);

		cfg.pci_slots = slots[i];
		check_all(*state, &cfg, 0);
	}
}

/* Every size below what the tables need fails without touching the bytes
 * past size; the exact size works. */
static void
test_too_small(void **state)
{
	struct acpi_config cfg = default_config(64);
	uint8_t *buf = *state;
	size_t need = check_all(buf, &cfg, 0);

	assert_true(need + GUARD <= LAYOUT_ACPI_SIZE);
	for (size_t size = 0; size < need; size++) {
		memset(buf, GUARD_BYTE, need + GUARD);
		assert_int_equal(acpi_build(buf, LAYOUT_ACPI, size, &cfg), 0);
		for (size_t i = size; i < need + GUARD; i++)
			assert_int_equal(buf[i], GUARD_BYTE);
	}
	memset(buf, GUARD_BYTE, need + GUARD);
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI, need, &cfg), LAYOUT_ACPI);
	for (size_t i = need; i < need + GUARD; i++)
		assert_int_equal(buf[i], GUARD_BYTE);
}

static void
test_bad_config(void **state)
{
	uint8_t *buf = *state;
	size_t size = LAYOUT_ACPI_SIZE;
	struct acpi_config cfg = default_config(1);

	/* Misaligned RSDP, or tables reaching past 4 GiB. */
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI + 8, 4096, &cfg), 0);
	assert_int_equal(acpi_build(buf, 0xfffff000, 0x2000, &cfg), 0);
	cfg.nr_cpus = 0;
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI, size, &cfg), 0);
	cfg = default_config(1);
	cfg.s5_slp_typ = 8;
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI, size, &cfg), 0);
	cfg = default_config(1);
	cfg.sci_irq = 16;
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI, size, &cfg), 0);
	assert_int_equal(acpi_build(buf, LAYOUT_ACPI, size, NULL), 0);
}

static int
setup(void **state)
{
	*state = malloc(LAYOUT_ACPI_SIZE);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_x2apic),
		cmocka_unit_test(test_s5_values),
		cmocka_unit_test(test_prt_slots),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
