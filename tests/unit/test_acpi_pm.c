/* ACPI PM block: PM1 registers, S5 power-off, the reset register. */
#include "device_io.h"

/* ---- ACPI PM ---- */

#define PM_STS 0
#define PM_EN 2
#define PM_CNT 4
#define PM_RESET (PORT_ACPI_RESET - PORT_ACPI_PM)
#define SLP_TYP(t) ((uint32_t)(t) << 10)
#define SLP_EN 0x2000

static void test_acpi_pm_registers(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	assert_non_null(pm);
	/* SCI_EN reads 1 however it is read. */
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2), 1);
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 1), 1);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN, 4) >> 16, 1);
	outn(acpi_pm_io, pm, PM_CNT, 0, 2);
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2), 1);

	/* Status is write-1-to-clear and nothing sets it. */
	outn(acpi_pm_io, pm, PM_STS, 0xffff, 2);
	assert_int_equal(inn(acpi_pm_io, pm, PM_STS, 2), 0);

	/* Enable: defined bits only, byte lanes independent. */
	outn(acpi_pm_io, pm, PM_EN, 0xffff, 2);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN, 2), 0x4721);
	outn(acpi_pm_io, pm, PM_EN + 1, 0x00, 1);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN, 2), 0x0021);
	assert_int_equal(inn(acpi_pm_io, pm, PM_EN + 1, 1), 0x00);

	/* Reserved bytes read 0; the reset register too. */
	for (uint64_t off = 6; off < PORT_ACPI_PM_LEN; off++)
		assert_int_equal(in8(acpi_pm_io, pm, off), 0);
	for (uint32_t len = 1; len <= 4; len++)
		for (uint64_t off = 0; off + len <= PORT_ACPI_PM_LEN; off++)
			(void)inn(acpi_pm_io, pm, off, len);
	assert_int_equal(log.off + log.reset, 0);
	acpi_pm_destroy(pm);
}

static void test_acpi_pm_sleep(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	log.reenter = pm;
	/* ACPICA: SLP_TYP first, then SLP_TYP | SLP_EN. */
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(ACPI_S5_SLP_TYP), 2);
	assert_int_equal(log.off, 0);
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2), SLP_TYP(ACPI_S5_SLP_TYP) | 1);
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN, 2);
	assert_int_equal(log.off, 1);
	/* SLP_EN is write-only. */
	assert_int_equal(inn(acpi_pm_io, pm, PM_CNT, 2) & SLP_EN, 0);

	/* Other sleep types do nothing. */
	for (uint32_t t = 0; t < 8; t++) {
		if (t == ACPI_S5_SLP_TYP)
			continue;
		outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(t) | SLP_EN, 2);
	}
	assert_int_equal(log.off, 1);
	/* A byte write to the upper half carries both fields. */
	out8(acpi_pm_io, pm, PM_CNT + 1, (uint8_t)((SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN) >> 8));
	assert_int_equal(log.off, 2);
	/* A byte write to the lower half cannot sleep. */
	out8(acpi_pm_io, pm, PM_CNT, 0xff);
	assert_int_equal(log.off, 2);
	/* A dword write at PM1a_EN reaches PM1a_CNT in its upper half. */
	outn(acpi_pm_io, pm, PM_EN, (SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN) << 16, 4);
	assert_int_equal(log.off, 3);
	/* SLP_EN with a stale S5 SLP_TYP but a new one in the same write. */
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(ACPI_S5_SLP_TYP), 2);
	outn(acpi_pm_io, pm, PM_CNT, SLP_TYP(1) | SLP_EN, 2);
	assert_int_equal(log.off, 3);
	assert_int_equal(log.reset, 0);
	acpi_pm_destroy(pm);
}

static void test_acpi_pm_reset(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	log.reenter = pm;
	out8(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE - 1);
	out8(acpi_pm_io, pm, PM_RESET, 0xff);
	assert_int_equal(log.reset, 0);
	out8(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE);
	assert_int_equal(log.reset, 1);
	outn(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE, 2);
	assert_int_equal(log.reset, 2);
	outn(acpi_pm_io, pm, PM_RESET - 2, (uint32_t)ACPI_RESET_VALUE << 16, 4);
	assert_int_equal(log.reset, 3);
	out8(acpi_pm_io, pm, PM_RESET + 1, ACPI_RESET_VALUE);
	assert_int_equal(log.reset, 3);
	assert_int_equal(log.off, 0);

	fuzz_device(acpi_pm_io, pm, PORT_ACPI_PM_LEN, 3, 200000);
	acpi_pm_destroy(pm);
	/* A NULL power_ctl is allowed: requests go nowhere. */
	pm = acpi_pm_create(NULL);
	out8(acpi_pm_io, pm, PM_RESET, ACPI_RESET_VALUE);
	acpi_pm_destroy(pm);
}


struct sci_log {
	int level;
	int changes;
};

static void sci_set(void *opaque, uint32_t gsi, int level)
{
	struct sci_log *l = opaque;

	assert_int_equal(gsi, 9);
	l->level = level;
	l->changes++;
}

/* The fixed power button: PWRBTN_STS, and the SCI while it is enabled. */
static void test_acpi_pm_power_button(void **state)
{
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct sci_log sci = { 0 };
	struct irq_line line = { .set = sci_set, .opaque = &sci, .gsi = 9 };
	struct acpi_pm *pm = acpi_pm_create(&pc);

	(void)state;
	acpi_pm_set_sci(pm, &line);
	acpi_pm_power_button(pm);                      /* not enabled: no SCI */
	assert_int_equal(inn(acpi_pm_io, pm, PM_STS, 2) & 0x100, 0x100);
	assert_int_equal(sci.changes, 0);
	outn(acpi_pm_io, pm, PM_EN, 0x100, 2);         /* enable: SCI rises */
	assert_int_equal(sci.level, 1);
	outn(acpi_pm_io, pm, PM_STS, 0x100, 2);        /* write 1 to clear */
	assert_int_equal(sci.level, 0);
	assert_int_equal(inn(acpi_pm_io, pm, PM_STS, 2) & 0x100, 0);
	acpi_pm_power_button(pm);
	assert_int_equal(sci.level, 1);
	out8(acpi_pm_io, pm, PM_EN + 1, 0);            /* disable: SCI drops */
	assert_int_equal(sci.level, 0);
	assert_int_equal(sci.changes, 4);
	assert_int_equal(log.off + log.reset, 0);      /* the guest decides */
	acpi_pm_destroy(pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_pm_registers),
		cmocka_unit_test(test_acpi_pm_sleep),
		cmocka_unit_test(test_acpi_pm_reset),
		cmocka_unit_test(test_acpi_pm_power_button),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
