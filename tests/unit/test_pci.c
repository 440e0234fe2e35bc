/* PCI configuration mechanism 1: address register, host bridge, absent slots, BAR sizing, and every device on hostile offsets.
 * Then what pci.c does as firmware and chipset: BAR assignment, the window
 * on the MMIO bus following BAR moves, capabilities, MSI-X control, INTx. */
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
	struct pci_bus *p = pci_bus_create(NULL, NULL);
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
	struct pci_bus *p = pci_bus_create(NULL, NULL);
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
	struct pci_bus *p = pci_bus_create(NULL, NULL);

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
	struct pci_bus *p = pci_bus_create(NULL, NULL);
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
	struct pci_bus *p = pci_bus_create(NULL, NULL);
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
	struct pci_bus *p = pci_bus_create(NULL, NULL);
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
	struct pci_bus *p = pci_bus_create(NULL, NULL);
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


/* ---- BAR window, capabilities, INTx ---- */

struct bar_dev {
	struct pci_device dev;
	int accesses;
	int bar;
	uint64_t off;
	uint32_t len;
	bool write;
	uint8_t last[8];
	int moves;
	uint64_t moved_old, moved_new;
	uint64_t where[PCI_NR_BARS];
};

static void bar_dev_access(struct pci_device *dev, int bar, uint64_t off, uint8_t *data,
			   uint32_t len, bool is_write)
{
	struct bar_dev *b = dev->opaque;

	b->accesses++;
	b->bar = bar;
	b->off = off;
	b->len = len;
	b->write = is_write;
	if (is_write)
		memcpy(b->last, data, len);
	else
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xa0 + bar * 0x10 + ((off + i) & 0xf));
}

static void bar_dev_moved(struct pci_device *dev, int bar, uint64_t old, uint64_t addr)
{
	struct bar_dev *b = dev->opaque;

	assert_int_equal(b->where[bar], old);
	b->where[bar] = addr;
	b->moves++;
	b->moved_old = old;
	b->moved_new = addr;
}

static void bar_dev_init(struct bar_dev *b, uint64_t size0, uint64_t size2)
{
	const struct pci_ids ids = {
		.vendor = 0x1af4, .device = 0x1042, .subsys_vendor = 0x1af4, .subsys = 2,
		.class_code = 0x018000, .revision = 1,
	};

	memset(b, 0, sizeof(*b));
	pci_device_init(&b->dev, &ids);
	b->dev.opaque = b;
	b->dev.bar_moved = bar_dev_moved;
	for (int i = 0; i < PCI_NR_BARS; i++)
		b->where[i] = PCI_BAR_UNMAPPED;
	assert_int_equal(pci_device_bar(&b->dev, 0, size0, bar_dev_access), 0);
	if (size2)
		assert_int_equal(pci_device_bar(&b->dev, 2, size2, bar_dev_access), 0);
}

static uint32_t win_rd(struct bus *mmio, uint64_t addr, uint32_t len)
{
	uint8_t d[8] = { 0 };
	uint32_t v = 0;

	bus_access(mmio, addr, d, len, false);
	for (uint32_t i = 0; i < len && i < 4; i++)
		v |= (uint32_t)d[i] << (8 * i);
	return v;
}

static void test_pci_device_helpers(void **state)
{
	struct bar_dev b;
	unsigned int c1, c2, m;

	(void)state;
	bar_dev_init(&b, 0x8000, 0);
	assert_int_equal(pci_device_bar(&b.dev, 6, 4096, bar_dev_access), -1);
	assert_int_equal(pci_device_bar(&b.dev, -1, 4096, bar_dev_access), -1);
	assert_int_equal(pci_device_bar(&b.dev, 1, 2048, bar_dev_access), -1);
	assert_int_equal(pci_device_bar(&b.dev, 1, 0x3000, bar_dev_access), -1);
	assert_int_equal(pci_device_bar(&b.dev, 1, 4096, NULL), -1);
	assert_int_equal(b.dev.cfg[0x3d], 1);                 /* INTA */
	assert_int_equal(b.dev.cfg[0x06] & 0x10, 0);          /* no caps yet */
	c1 = pci_add_cap(&b.dev, 0x09, 16);
	assert_int_equal(c1, 0x40);
	assert_int_equal(b.dev.cfg[0x34], 0x40);
	assert_int_equal(b.dev.cfg[0x06] & 0x10, 0x10);
	c2 = pci_add_cap(&b.dev, 0x09, 13);
	assert_int_equal(c2, 0x50);
	assert_int_equal(b.dev.cfg[c1 + 1], c2);
	m = pci_add_msix(&b.dev, 3, 0, 0x4000, 0, 0x5000);
	assert_int_equal(m, 0x60);                            /* 0x5d aligned up */
	assert_int_equal(b.dev.cfg[c2 + 1], m);
	assert_int_equal(b.dev.cfg[m], 0x11);
	assert_int_equal(b.dev.cfg[m + 1], 0);
	assert_int_equal(b.dev.cfg[m + 2] | b.dev.cfg[m + 3] << 8, 2);
	assert_int_equal(b.dev.cfg[m + 4], 0x00);
	assert_int_equal(b.dev.cfg[m + 5], 0x40);
	assert_int_equal(b.dev.cfg[m + 9], 0x50);
	assert_int_equal(pci_add_msix(&b.dev, 0, 0, 0, 0, 0), 0);
	assert_int_equal(pci_add_msix(&b.dev, 2049, 0, 0, 0, 0), 0);
	assert_int_equal(pci_add_msix(&b.dev, 1, 0, 4, 0, 0), 0);
	assert_int_equal(pci_add_msix(&b.dev, 1, 7, 0, 0, 0), 0);
	assert_int_equal(pci_add_cap(&b.dev, 0x09, 1), 0);
	assert_int_equal(pci_add_cap(&b.dev, 0x09, 300), 0);
	/* Fill the space: the last one that fits ends at 256. */
	while (pci_add_cap(&b.dev, 0x09, 16) != 0)
		;
	assert_true(b.dev.cap_last + 16 <= 256);
}

static void test_pci_bar_window(void **state)
{
	struct bus mmio;
	struct pci_bus *p;
	struct bar_dev a, b;
	uint32_t ca, cb;
	uint8_t d[8];

	(void)state;
	bus_init(&mmio, "mmio");
	p = pci_bus_create(&mmio, NULL);
	assert_non_null(p);
	assert_non_null(bus_find(&mmio, LAYOUT_PCI_MMIO, 4));
	assert_non_null(bus_find(&mmio, LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE - 8, 8));
	assert_null(bus_find(&mmio, LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE, 1));

	bar_dev_init(&a, 0x1000, 0x10000);
	bar_dev_init(&b, 0x8000, 0);
	assert_int_equal(pci_bus_add(p, &a.dev, -1), 1);
	assert_int_equal(pci_bus_add(p, &b.dev, -1), 2);
	assert_int_equal(pci_bus_add(p, &b.dev, 5), -1);      /* already on a bus */
	ca = cfg_addr(0, 1, 0, 0);
	cb = cfg_addr(0, 2, 0, 0);
	/* Assigned like firmware: naturally aligned, bump order, decoding on. */
	assert_int_equal(pci_rd(p, ca | 0x10, 0, 4), 0xc0000000u);
	assert_int_equal(pci_rd(p, ca | 0x18, 0, 4), 0xc0010000u);
	assert_int_equal(pci_rd(p, cb | 0x10, 0, 4), 0xc0020000u);
	assert_int_equal(pci_rd(p, ca | 0x04, 0, 2) & 2, 2);
	assert_int_equal(a.moves, 2);
	assert_int_equal(a.where[0], 0xc0000000u);
	assert_int_equal(a.where[2], 0xc0010000u);
	assert_int_equal(b.where[0], 0xc0020000u);
	/* Interrupt Line: the _PRT swizzle of INTA. */
	assert_int_equal(pci_rd(p, ca | 0x3c, 0, 2), 0x010b);   /* slot 1: GSI 11 */
	assert_int_equal(pci_rd(p, cb | 0x3c, 0, 2), 0x010a);   /* slot 2: GSI 10 */

	/* Accesses go to the BAR that covers them. */
	assert_int_equal(win_rd(&mmio, 0xc0000004, 4), 0xa7a6a5a4u);
	assert_int_equal(a.bar, 0);
	assert_int_equal(a.off, 4);
	assert_int_equal(win_rd(&mmio, 0xc0010ff8, 2), 0xc9c8);
	assert_int_equal(a.bar, 2);
	assert_int_equal(a.off, 0xff8);
	memcpy(d, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	bus_access(&mmio, 0xc0027ff8, d, 8, true);
	assert_int_equal(b.accesses, 1);
	assert_true(b.write);
	assert_int_equal(b.off, 0x7ff8);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.last, d, 8);
	/* Gaps, and accesses straddling a BAR's end, find nobody. */
	assert_int_equal(win_rd(&mmio, 0xc0001000, 4), 0xffffffffu);
	assert_int_equal(win_rd(&mmio, 0xc0000ffe, 4), 0xffffffffu);
	assert_int_equal(win_rd(&mmio, 0xc0028000, 4), 0xffffffffu);
	assert_int_equal(b.accesses, 1);

	/* The guest moves b's BAR: the device hears of it, accesses follow. */
	pci_wr(p, cb | 0x10, 0, 0xc8000000u, 4);
	assert_int_equal(b.moved_old, 0xc0020000u);
	assert_int_equal(b.moved_new, 0xc8000000u);
	assert_int_equal(win_rd(&mmio, 0xc0020000, 4), 0xffffffffu);
	assert_int_equal(win_rd(&mmio, 0xc8000010, 1), 0xa0);
	/* Decoding off (Linux sizing a BAR): nothing decodes, nowhere. */
	pci_wr(p, cb | 0x04, 0, 0x0000, 2);
	assert_int_equal(b.where[0], PCI_BAR_UNMAPPED);
	assert_int_equal(win_rd(&mmio, 0xc8000010, 1), 0xff);
	pci_wr(p, cb | 0x10, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, cb | 0x10, 0, 4), 0xffff8000u);
	pci_wr(p, cb | 0x10, 0, 0xc8000000u, 4);
	assert_int_equal(b.where[0], PCI_BAR_UNMAPPED);
	pci_wr(p, cb | 0x04, 0, 0x0002, 2);
	assert_int_equal(b.where[0], 0xc8000000u);
	/* Outside the window (over RAM, the LAPIC): never decodes. */
	pci_wr(p, cb | 0x10, 0, 0xfee00000u, 4);
	assert_int_equal(b.where[0], PCI_BAR_UNMAPPED);
	pci_wr(p, cb | 0x10, 0, 0x00100000u, 4);
	assert_int_equal(b.where[0], PCI_BAR_UNMAPPED);
	pci_wr(p, cb | 0x10, 0, 0xcfff8000u, 4);              /* the window's last 32K */
	assert_int_equal(b.where[0], 0xcfff8000u);
	assert_int_equal(win_rd(&mmio, 0xcffffffc, 4), 0xafaeadacu);
	/* Overlapping BARs: the lower slot wins; no crash either way. */
	pci_wr(p, cb | 0x10, 0, 0xc0000000u, 4);
	assert_int_equal(win_rd(&mmio, 0xc0000000, 1), 0xa0);
	assert_int_equal(a.bar, 0);
	assert_int_equal(a.off, 0);

	/* Removed: its BARs stop decoding. */
	pci_bus_remove(p, &a.dev);
	assert_int_equal(a.where[0], PCI_BAR_UNMAPPED);
	assert_int_equal(a.where[2], PCI_BAR_UNMAPPED);
	assert_int_equal(pci_rd(p, ca, 0, 4), 0xffffffffu);
	pci_bus_remove(p, &a.dev);                            /* twice: nothing */
	b.accesses = 0;
	assert_int_equal(win_rd(&mmio, 0xc0000000, 1), 0xa0);  /* now b's */
	assert_int_equal(b.accesses, 1);
	pci_bus_destroy(p);
}

static void test_pci_window_full(void **state)
{
	struct pci_bus *p = pci_bus_create(NULL, NULL);
	struct bar_dev *d = calloc(4, sizeof(*d));

	(void)state;
	assert_non_null(d);
	bar_dev_init(&d[0], 0x4000000, 0x4000000);            /* 2 x 64 MiB */
	bar_dev_init(&d[1], 0x4000000, 0);
	bar_dev_init(&d[2], 0x8000000, 0);                    /* 128 MiB: no room */
	bar_dev_init(&d[3], 0x4000000, 0);
	assert_int_equal(pci_bus_add(p, &d[0].dev, -1), 1);
	assert_int_equal(pci_bus_add(p, &d[1].dev, -1), 2);
	assert_int_equal(pci_bus_add(p, &d[2].dev, -1), -1);
	assert_int_equal(d[2].moves, 0);
	assert_int_equal(pci_bus_add(p, &d[3].dev, -1), 3);   /* exactly fills it */
	assert_int_equal(pci_rd(p, cfg_addr(0, 3, 0, 0x10), 0, 4), 0xcc000000u);
	/* Hostile window offsets. */
	for (uint32_t len = 1; len <= 8; len++) {
		uint8_t buf[8];

		memset(buf, 0, sizeof(buf));
		pci_mmio_io(p, LAYOUT_PCI_MMIO_SIZE - 1, buf, len, false);
		if (len > 1)
			assert_int_equal(buf[0], 0xff);
		pci_mmio_io(p, UINT64_MAX, buf, len, false);
		assert_int_equal(buf[len - 1], 0xff);
		pci_mmio_io(p, UINT64_MAX - 2, buf, len, true);
	}
	pci_bus_destroy(p);
	free(d);
}

struct line_log {
	int calls[2];
	int level[2];
};

static void line_set(void *opaque, uint32_t gsi, int level)
{
	struct line_log *l = opaque;

	assert_true(gsi == 10 || gsi == 11);
	l->calls[gsi - 10]++;
	l->level[gsi - 10] = level;
}

static void test_pci_intx(void **state)
{
	struct line_log log = { { 0 }, { 0 } };
	const struct irq_line lines[2] = {
		{ .set = line_set, .opaque = &log, .gsi = 10 },
		{ .set = line_set, .opaque = &log, .gsi = 11 },
	};
	struct pci_bus *p = pci_bus_create(NULL, lines);
	struct bar_dev a, b, c;
	uint32_t ca;

	(void)state;
	bar_dev_init(&a, 0x1000, 0);
	bar_dev_init(&b, 0x1000, 0);
	bar_dev_init(&c, 0x1000, 0);
	pci_intx_set(&c.dev, true);                            /* not on a bus: nothing */
	pci_intx_set(&c.dev, false);
	assert_int_equal(pci_bus_add(p, &a.dev, 2), 2);       /* GSI 10 */
	assert_int_equal(pci_bus_add(p, &b.dev, 4), 4);       /* GSI 10 */
	assert_int_equal(pci_bus_add(p, &c.dev, 3), 3);       /* GSI 11 */
	ca = cfg_addr(0, 2, 0, 0);

	pci_intx_set(&a.dev, true);
	assert_int_equal(log.calls[0], 1);
	assert_int_equal(log.level[0], 1);
	assert_int_equal(pci_rd(p, ca | 0x04, 2, 1) & 0x08, 0x08);   /* Interrupt Status */
	assert_int_equal(pci_rd(p, ca | 0x04, 0, 4) >> 16 & 0x08, 0x08);
	pci_intx_set(&a.dev, true);                            /* no change: no call */
	pci_intx_set(&b.dev, true);
	assert_int_equal(log.calls[0], 1);
	pci_intx_set(&a.dev, false);                           /* b still holds it */
	assert_int_equal(log.calls[0], 1);
	assert_int_equal(pci_rd(p, ca | 0x04, 2, 1) & 0x08, 0);
	pci_intx_set(&b.dev, false);
	assert_int_equal(log.calls[0], 2);
	assert_int_equal(log.level[0], 0);
	pci_intx_set(&c.dev, true);
	assert_int_equal(log.calls[1], 1);
	assert_int_equal(log.level[1], 1);
	assert_int_equal(log.calls[0], 2);

	/* INTx Disable masks the device's contribution, not its status. */
	pci_intx_set(&a.dev, true);
	assert_int_equal(log.calls[0], 3);
	pci_wr(p, ca | 0x04, 0, 0x0406, 2);
	assert_int_equal(log.calls[0], 4);
	assert_int_equal(log.level[0], 0);
	assert_int_equal(pci_rd(p, ca | 0x04, 2, 1) & 0x08, 0x08);
	pci_intx_set(&a.dev, false);
	pci_intx_set(&a.dev, true);
	assert_int_equal(log.calls[0], 4);
	pci_wr(p, ca | 0x04, 0, 0x0006, 2);
	assert_int_equal(log.calls[0], 5);
	assert_int_equal(log.level[0], 1);
	/* Removing an asserting device drops its part. */
	pci_bus_remove(p, &a.dev);
	assert_int_equal(log.level[0], 0);
	pci_bus_remove(p, &c.dev);
	assert_int_equal(log.level[1], 0);
	pci_bus_destroy(p);
}

static void test_pci_msix_ctrl(void **state)
{
	struct pci_bus *p = pci_bus_create(NULL, NULL);
	struct bar_dev a;
	unsigned int m;
	uint32_t ca;

	(void)state;
	bar_dev_init(&a, 0x8000, 0);
	m = pci_add_msix(&a.dev, 9, 0, 0x4000, 0, 0x5000);
	assert_int_equal(pci_bus_add(p, &a.dev, 1), 1);
	ca = cfg_addr(0, 1, 0, 0);
	/* Walk the list the way Linux's pci_find_capability does. */
	assert_int_equal(pci_rd(p, ca | 0x04, 2, 2) & 0x10, 0x10);
	assert_int_equal(pci_rd(p, ca | 0x34, 0, 1), m);
	assert_int_equal(pci_rd(p, ca | m, 0, 4), 0x00080011u);
	pci_wr(p, ca | m, 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, ca | m, 0, 4), 0xc0080011u);   /* enable, mask only */
	pci_wr(p, ca | m, 2, 0x0000, 2);
	assert_int_equal(pci_rd(p, ca | m, 0, 4), 0x00080011u);
	pci_wr(p, ca | (m + 4), 0, 0xffffffffu, 4);
	pci_wr(p, ca | (m + 8), 0, 0xffffffffu, 4);
	assert_int_equal(pci_rd(p, ca | (m + 4), 0, 4), 0x4000);
	assert_int_equal(pci_rd(p, ca | (m + 8), 0, 4), 0x5000);
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
		cmocka_unit_test(test_pci_device_helpers),
		cmocka_unit_test(test_pci_bar_window),
		cmocka_unit_test(test_pci_window_full),
		cmocka_unit_test(test_pci_intx),
		cmocka_unit_test(test_pci_msix_ctrl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
