/* Unit tests for the MP tables: found from the floating pointer the way
 * Linux's mpparse finds them, checksums zero, one enabled processor entry
 * per vCPU with only APIC id 0 the BSP, and the ISA routing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/bytes.h"

#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"

#define BUF_SIZE   8192
#define GUARD      64
#define GUARD_BYTE 0xa5




/* Walk the config table's entries and check each kind. */
static void
check_entries(const uint8_t *t, int nr_cpus)
{
	size_t len = get_le16(t + 4), off = 44;
	int cpus = 0, buses = 0, ioapics = 0, lints = 0;
	uint16_t irqs = 0;

	for (int n = 0; n < get_le16(t + 34); n++) {
		const uint8_t *e = t + off;

		assert_true(off < len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);           /* APIC id */
			assert_int_equal(e[3], cpus == 0 ? 3 : 1);
			off += 20;
			cpus++;
			continue;
		case 1:
			assert_int_equal(e[1], 0);
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			break;
		case 2:
			assert_int_equal(e[1], nr_cpus);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(get_le32(e + 4), LAYOUT_IOAPIC);
			ioapics++;
			break;
		case 3:
			/* ISA IRQ n on pin n, vectored, conforming. */
			assert_int_equal(e[1], 0);
			assert_int_equal(e[4], 0);
			assert_int_equal(e[5], e[7]);
			assert_int_equal(e[6], nr_cpus);
			assert_true(e[5] < 16);
			irqs |= (uint16_t)(1u << e[5]);
			break;
		case 4:
			/* ExtINT on LINT0, NMI on LINT1, all local APICs. */
			assert_int_equal(e[1], lints == 0 ? 3 : 1);
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[7], lints);
			lints++;
			break;
		default:
			fail_msg("unexpected MP entry type %d", e[0]);
		}
		off += 8;
	}
	assert_int_equal(off, len);
	assert_int_equal(cpus, nr_cpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(irqs, 0xffff);
	assert_int_equal(lints, 2);
}

static void
check_mptable(uint8_t *buf, uint64_t gpa, size_t size, int nr_cpus)
{
	const uint8_t *f = buf, *t;
	size_t off;

	memset(buf, 0xcc, size);
	assert_int_equal(mptable_build(buf, gpa, size, nr_cpus,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), 0);

	assert_memory_equal(f, "_MP_", 4);
	assert_int_equal(f[8], 1);
	assert_int_equal(f[9], 4);
	assert_int_equal(byte_sum(f, 16), 0);
	assert_int_equal(f[11], 0);             /* config table present */

	assert_true(get_le32(f + 4) >= gpa);
	off = get_le32(f + 4) - (size_t)gpa;
	t = buf + off;
	assert_memory_equal(t, "PCMP", 4);
	assert_true(off + get_le16(t + 4) <= size);
	assert_int_equal(off + get_le16(t + 4), mptable_size(nr_cpus));
	assert_int_equal(byte_sum(t, get_le16(t + 4)), 0);
	assert_int_equal(t[6], 4);
	assert_memory_equal(t + 8, "LANDLORD", 8);
	assert_int_equal(get_le32(t + 36), LAYOUT_LAPIC);
	assert_int_equal(get_le16(t + 40), 0);     /* no extended entries */
	assert_int_equal(get_le16(t + 34), nr_cpus + 20);
	check_entries(t, nr_cpus);
}

static void
test_cpus(void **state)
{
	static const int counts[] = { 1, 2, 40, 64, 255 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		check_mptable(*state, LAYOUT_MPTABLE, BUF_SIZE, counts[i]);
}

/* Exactly mptable_size() bytes are enough, at any 16-byte boundary. */
static void
test_sizes(void **state)
{
	assert_int_equal(mptable_size(1), 240);
	assert_int_equal(mptable_size(255), 5320);
	assert_true(mptable_size(255) <= BUF_SIZE);
	assert_true(mptable_size(255) <= LAYOUT_MPTABLE_SIZE);
	assert_int_equal(mptable_size(0), 0);
	assert_int_equal(mptable_size(256), 0);
	check_mptable(*state, LAYOUT_MPTABLE, mptable_size(255), 255);
	check_mptable(*state, 0x9fc00, 1024, 40);
}

static void
test_too_small(void **state)
{
	uint8_t *buf = *state;
	int nr_cpus = 64;
	size_t need = mptable_size(nr_cpus);

	assert_true(need + GUARD <= BUF_SIZE);
	for (size_t size = 0; size < need; size++) {
		memset(buf, GUARD_BYTE, need + GUARD);
		assert_int_equal(mptable_build(buf, LAYOUT_MPTABLE, size, nr_cpus,
		    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
		for (size_t i = 0; i < need + GUARD; i++)
			assert_int_equal(buf[i], GUARD_BYTE);
	}
	/* A 1 KiB EBDA holds 40 vCPUs, not 41. */
	assert_int_equal(mptable_build(buf, 0x9fc00, 1024, 41,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
}

static void
test_bad_args(void **state)
{
	uint8_t *buf = *state;

	assert_int_equal(mptable_build(buf, LAYOUT_MPTABLE, BUF_SIZE, 0,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
	assert_int_equal(mptable_build(buf, LAYOUT_MPTABLE, BUF_SIZE, 256,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
	assert_int_equal(mptable_build(buf, LAYOUT_MPTABLE + 4, BUF_SIZE, 1,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
	assert_int_equal(mptable_build(buf, 0xfffffff0, BUF_SIZE, 1,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
	assert_int_equal(mptable_build(NULL, LAYOUT_MPTABLE, BUF_SIZE, 1,
	    (uint32_t)LAYOUT_LAPIC, (uint32_t)LAYOUT_IOAPIC), -1);
}

static int
setup(void **state)
{
	*state = malloc(BUF_SIZE);
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
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
