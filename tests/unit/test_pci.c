/* PCI configuration mechanism 1: address register, host bridge, absent slots, BAR sizing, and every device on hostile offsets. */
#include "device_io.h"

/* ---- PCI ---- */

#define CF8 0
#define CFC 4

static uint32_t cfg_addr(unsigned int bus, unsigned int dev, unsigned int fn,
			 unsigned int reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t pci_rd(struct pci_bus *p, uint32_t addr, unsigned int byte, uint32_t len)
{
	outn(pci_config_io, p, CF8, addr, 4);
	return inn(pci_config_io, p, CFC + byte, len);
}

static void pci_wr(struct pci_bus *p, uint32_t addr, unsigned int byte, uint32_t v,
		   uint32_t len)
{
	outn(pci_config_io, p, CF8, addr, 4);
	outn(pci_config_io, p, CFC + byte, v, len);
}

static void test_pci_address_register(void **state)
{
	struct pci_bus *p = pci_bus_create();
	uint32_t tmp;

	(void)state;
	assert_non_null(p);
	/* Linux's pci_check_type1(). */
	out8(pci_config_io, p, CF8 + 3, 0x01);
	tmp = inn(pci_config_io, p, CF8, 4);
	outn(pci_config_io, p, CF8, 0x80000000u, 4);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80000000u);
	outn(pci_config_io, p, CF8, tmp, 4);
	/* Reserved and low bits are not latched. */
	outn(pci_config_io, p, CF8, 0xffffffffu, 4);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80fffffcu);

	/* Narrow accesses to 0xcf8..0xcfb read all-ones and change nothing;
	 * this is also Linux's pci_check_type2() failing as it should. */
	outn(pci_config_io, p, CF8, 0x80000000u, 4);
	out8(pci_config_io, p, CF8 + 3, 0x00);
	out8(pci_config_io, p, CF8, 0x00);
	out8(pci_config_io, p, CF8 + 2, 0x00);
	assert_int_equal(in8(pci_config_io, p, CF8), 0xff);
	assert_int_equal(in8(pci_config_io, p, CF8 + 2), 0xff);
	assert_int_equal(inn(pci_config_io, p, CF8 + 1, 2), 0xffff);
	outn(pci_config_io, p, CF8, 0x1234, 2);
	outn(pci_config_io, p, CF8 + 2, 0x5678, 2);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80000000u);
	/* Accesses spanning both registers, or 8 wide, are not answered. */
	assert_int_equal(inn(pci_config_io, p, CF8 + 2, 4), 0xffffffffu);
	outn(pci_config_io, p, CF8 + 2, 0, 4);
	assert_int_equal(inn(pci_config_io, p, CF8, 4), 0x80000000u);
	uint8_t d8[8];

	memset(d8, 0, sizeof(d8));
	pci_config_io(p, 0, d8, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(d8[i], 0xff);
	pci_bus_destroy(p);
}

static void test_pci_host_bridge(void **state)
{
	struct pci_bus *p = pci_bus_create();
	uint32_t hb = cfg_addr(0, 0, 0, 0);

	(void)state;
	assert_int_equal(pci_rd(p, hb, 0, 4), 0x29c08086u);
	assert_int_equal(pci_rd(p, hb | 0x08, 0, 4) >> 8, 0x060000);
	assert_int_equal(pci_rd(p, hb | 0x0c, 2, 1), 0x00);   /* header type 0 */
	/* Byte and word accesses reach the right bytes of the dword. */
	assert_int_equal(pci_rd(p, hb, 0, 1), 0x86);
	assert_int_equal(pci_rd(p, hb, 1, 1), 0x80);
	assert_int_equal(pci_rd(p, hb, 2, 2), 0x29c0);
	assert_int_equal(pci_rd(p, hb, 3, 1), 0x29);
	assert_int_equal(pci_rd(p, hb | 0x08, 3, 1), 0x06);
	assert_int_equal(pci_rd(p, hb | 0x08, 2, 1), 0x00);

	/* Read-only bits survive writes. */
	pci_wr(p, hb, 0, 0xffffffffu, 4);
	pci_wr(p, hb | 0x08, 0, 0xffffffffu, 4);
	pci_wr(p, hb | 0x10, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, hb, 0, 4), 0x29c08086u);
	assert_int_equal(pci_rd(p, hb | 0x08, 0, 4), 0x06000000u);
	assert_int_equal(pci_rd(p, hb | 0x10, 0, 4), 0);      /* no BARs */
	/* Command: writable bits only; status read-only. */
	pci_wr(p, hb | 0x04, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, hb | 0x04, 0, 4), 0x00000547u);
	pci_wr(p, hb | 0x04, 0, 0x0006, 2);
	assert_int_equal(pci_rd(p, hb | 0x04, 0, 2), 0x0006);
	pci_wr(p, hb | 0x3c, 0, 0x0b, 1);
	assert_int_equal(pci_rd(p, hb | 0x3c, 0, 4), 0x0000000bu);

	/* Enable bit clear: no configuration cycle. */
	assert_int_equal(pci_rd(p, hb & ~0x80000000u, 0, 4), 0xffffffffu);
	pci_bus_destroy(p);
}

static void test_pci_absent(void **state)
{
	struct pci_bus *p = pci_bus_create();

	(void)state;
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			if (dev == 0 && fn == 0)
				continue;
			for (unsigned int reg = 0; reg < 256; reg += 4) {
				uint32_t a = cfg_addr(0, dev, fn, reg);

				assert_int_equal(pci_rd(p, a, 0, 4), 0xffffffffu);
				assert_int_equal(pci_rd(p, a, 1, 1), 0xff);
				assert_int_equal(pci_rd(p, a, 2, 2), 0xffff);
				pci_wr(p, a, 0, 0, 4);
			}
		}
	}
	/* Other buses. */
	assert_int_equal(pci_rd(p, cfg_addr(1, 0, 0, 0), 0, 4), 0xffffffffu);
	assert_int_equal(pci_rd(p, cfg_addr(255, 0, 0, 0), 0, 4), 0xffffffffu);
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 0), 0, 4), 0x29c08086u);
	pci_bus_destroy(p);
}

struct dummy {
	struct pci_device dev;
	int writes;
	uint32_t last_off, last_len;
};

static void dummy_cfg_write(struct pci_device *dev, uint32_t offset, uint32_t len)
{
	struct dummy *d = dev->opaque;

	d->writes++;
	d->last_off = offset;
	d->last_len = len;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A device with a 4 KiB 32-bit memory BAR0, a 64-bit prefetchable 16 KiB
 * BAR2/3 and a 32-port I/O BAR4, set up the way pci.c documents. */
static void dummy_init(struct dummy *d)
{
	memset(d, 0, sizeof(*d));
	put32(&d->dev.cfg[0x00], 0x10001af4u);
	put32(&d->dev.cfg[0x08], 0x00ff0000u);
	put32(&d->dev.cfg[0x10], 0x0);
	put32(&d->dev.wmask[0x10], ~(uint32_t)(4096 - 1));
	put32(&d->dev.cfg[0x18], 0x0c);
	put32(&d->dev.wmask[0x18], ~(uint32_t)(16384 - 1));
	put32(&d->dev.wmask[0x1c], 0xffffffffu);
	put32(&d->dev.cfg[0x20], 0x1);
	put32(&d->dev.wmask[0x20], 0x0000ffe0u);
	d->dev.wmask[0x04] = 0x07;
	d->dev.cfg_write = dummy_cfg_write;
	d->dev.opaque = d;
}

static void test_pci_bar_sizing(void **state)
{
	struct pci_bus *p = pci_bus_create();
	struct dummy d;
	uint32_t a;

	(void)state;
	dummy_init(&d);
	assert_int_equal(pci_bus_add(p, &d.dev, 3), 3);
	a = cfg_addr(0, 3, 0, 0);
	assert_int_equal(pci_rd(p, a, 0, 4), 0x10001af4u);

	/* Sizing: write all-ones, read back ~(size - 1) | flags. */
	pci_wr(p, a | 0x10, 0, 0xffffffffu, 4);
	assert_int_equal(d.writes, 1);
	assert_int_equal(d.last_off, 0x10);
	assert_int_equal(d.last_len, 4);
	assert_int_equal(pci_rd(p, a | 0x10, 0, 4), 0xfffff000u);
	pci_wr(p, a | 0x10, 0, 0xfebf1234u, 4);
	assert_int_equal(pci_rd(p, a | 0x10, 0, 4), 0xfebf1000u & 0xfffff000u);
	/* Byte-wise programming lands in the right bytes. */
	pci_wr(p, a | 0x10, 3, 0xc0, 1);
	assert_int_equal(d.last_off, 0x13);
	assert_int_equal(d.last_len, 1);
	assert_int_equal(pci_rd(p, a | 0x10, 0, 4), 0xc0bf1000u);
	pci_wr(p, a | 0x10, 0, 0xff, 1);                     /* flag bits RO */
	assert_int_equal(pci_rd(p, a | 0x10, 0, 1), 0x00);

	/* 64-bit BAR: low dword keeps its flags, high dword all writable. */
	pci_wr(p, a | 0x18, 0, 0xffffffffu, 4);
	pci_wr(p, a | 0x1c, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, a | 0x18, 0, 4), 0xffffc00cu);
	assert_int_equal(pci_rd(p, a | 0x1c, 0, 4), 0xffffffffu);
	/* I/O BAR. */
	pci_wr(p, a | 0x20, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, a | 0x20, 0, 4), 0x0000ffe1u);
	/* Unwritable BAR5 and ROM read 0 after all-ones. */
	pci_wr(p, a | 0x24, 0, 0xffffffffu, 4);
	pci_wr(p, a | 0x30, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, a | 0x24, 0, 4), 0);
	assert_int_equal(pci_rd(p, a | 0x30, 0, 4), 0);
	/* IDs and class are read-only. */
	pci_wr(p, a, 0, 0, 4);
	pci_wr(p, a | 0x08, 0, 0, 4);
	assert_int_equal(pci_rd(p, a, 0, 4), 0x10001af4u);
	assert_int_equal(pci_rd(p, a | 0x08, 0, 4), 0x00ff0000u);
	/* Its other functions stay absent. */
	assert_int_equal(pci_rd(p, cfg_addr(0, 3, 1, 0), 0, 4), 0xffffffffu);
	pci_bus_destroy(p);
}

static void test_pci_bus_add(void **state)
{
	struct pci_bus *p = pci_bus_create();
	struct dummy *d = calloc(PCI_MAX_SLOTS + 1, sizeof(*d));

	(void)state;
	assert_non_null(d);
	for (int i = 0; i <= PCI_MAX_SLOTS; i++)
		dummy_init(&d[i]);
	assert_int_equal(pci_bus_add(p, NULL, 1), -1);
	assert_int_equal(pci_bus_add(p, &d[0].dev, 0), -1);     /* host bridge */
	assert_int_equal(pci_bus_add(p, &d[0].dev, 32), -1);
	assert_int_equal(pci_bus_add(p, &d[0].dev, 1000), -1);
	assert_int_equal(pci_bus_add(p, &d[0].dev, 5), 5);
	assert_int_equal(pci_bus_add(p, &d[1].dev, 5), -1);     /* taken */
	assert_int_equal(pci_bus_add(p, &d[1].dev, -1), 1);
	for (int i = 2; i < PCI_MAX_SLOTS - 1; i++)
		assert_true(pci_bus_add(p, &d[i].dev, -1) > 1);
	assert_int_equal(pci_bus_add(p, &d[PCI_MAX_SLOTS].dev, -1), -1);  /* full */
	for (unsigned int s = 1; s < PCI_MAX_SLOTS; s++)
		assert_int_equal(pci_rd(p, cfg_addr(0, s, 0, 0), 0, 4), 0x10001af4u);
	pci_bus_destroy(p);
	free(d);
}

static void test_pci_fuzz(void **state)
{
	struct pci_bus *p = pci_bus_create();
	struct dummy d;
	uint8_t buf[8];

	(void)state;
	dummy_init(&d);
	assert_int_equal(pci_bus_add(p, &d.dev, 1), 1);
	srand(31337);
	for (int i = 0; i < 300000; i++) {
		uint64_t off = (uint64_t)(rand() % 8);
		uint32_t len = (uint32_t)(rand() % 4) + 1;

		if (off + len > 8)
			len = (uint32_t)(8 - off);
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)rand();
		/* Bias CONFIG_ADDRESS towards bus 0, slots 0 and 1. */
		if ((i & 3) == 0) {
			uint32_t a = (uint32_t)rand() | 0x80000000u;

			if (rand() & 1)
				a &= 0x80000ffcu;
			outn(pci_config_io, p, CF8, a, 4);
			continue;
		}
		pci_config_io(p, off, buf, len, rand() & 1);
	}
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 0), 0, 4), 0x29c08086u);
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 8), 0, 4), 0x06000000u);
	assert_int_equal(pci_rd(p, cfg_addr(0, 1, 0, 0), 0, 4), 0x10001af4u);
	assert_int_equal(pci_rd(p, cfg_addr(0, 1, 0, 0x10), 0, 4) & 0xfff, 0);
	pci_bus_destroy(p);
}

/* Handlers called directly with offsets no bus would pass, including ones
 * where offset + len wraps: reads are all-ones, writes do nothing. */
static void test_hostile_offsets(void **state)
{
	static const uint64_t offs[] = {
		UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 6, 1ull << 63, 0x100, 0x10000,
	};
	struct power_log log = { 0 };
	struct power_ctl pc = { .request = power_cb, .opaque = &log };
	struct i8042 *k = i8042_create(&pc);
	struct rtc *r = rtc_create();
	struct acpi_pm *pm = acpi_pm_create(&pc);
	struct pci_bus *p = pci_bus_create();
	io_fn fns[4] = { i8042_io, rtc_io, acpi_pm_io, pci_config_io };
	void *devs[4] = { k, r, pm, p };
	uint8_t d[8];

	(void)state;
	for (int n = 0; n < 4; n++) {
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			for (uint32_t len = 1; len <= 8; len++) {
				memset(d, 0, sizeof(d));
				fns[n](devs[n], offs[o], d, len, false);
				for (uint32_t i = 0; i < len; i++)
					assert_int_equal(d[i], 0xff);
				/* 0xfe / 0x0f / S5|SLP_EN everywhere */
				memset(d, n == 2 ? 0x34 : 0xfe, sizeof(d));
				fns[n](devs[n], offs[o], d, len, true);
				memset(d, 0x0f, sizeof(d));
				fns[n](devs[n], offs[o], d, len, true);
			}
		}
	}
	assert_int_equal(log.off + log.reset, 0);
	out8(i8042_io, k, KBD_CMD, 0xaa);
	assert_int_equal(in8(i8042_io, k, KBD_DATA), 0x55);
	assert_int_equal(pci_rd(p, cfg_addr(0, 0, 0, 0), 0, 4), 0x29c08086u);
	i8042_destroy(k);
	rtc_destroy(r);
	acpi_pm_destroy(pm);
	pci_bus_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_address_register),
		cmocka_unit_test(test_pci_host_bridge),
		cmocka_unit_test(test_pci_absent),
		cmocka_unit_test(test_pci_bar_sizing),
		cmocka_unit_test(test_pci_bus_add),
		cmocka_unit_test(test_pci_fuzz),
		cmocka_unit_test(test_hostile_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
