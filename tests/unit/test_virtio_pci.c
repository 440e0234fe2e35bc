/* The virtio PCI transport, driven the way Linux's virtio_pci_modern driver
 * drives it: configuration space through ports 0xcf8/0xcfc, the BAR
 * through a real MMIO bus and pci.c's window, a fake device that records
 * what the transport asks of it.  Where /dev/kvm can run a small vCPU, the
 * KVM parts are real too: guest writes to the notify addresses must be
 * absorbed by ioeventfds, and MSI-X messages must land in the vCPU's local
 * APIC. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_pci.h>

#include "arch/x86/layout.h"
#include "base/bytes.h"
#include "base/guest_mem.h"
#include "devices/bus.h"
#include "devices/pci.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"
#include "kvm_test_vm.h"

#define NQ     2
#define QMAX   256
#define CFGLEN 24
#define DESC   0x10000ULL
#define AVAIL  0x20000ULL
#define USED   0x30000ULL
#define MSI_ADDR 0xfee00000ULL

struct fake {
	struct virtio_dev d;
	int starts, resets, notifies[NQ];
	uint8_t config[CFGLEN];
	int cfg_reads, cfg_writes;
};

struct env {
	struct guest_mem gm;
	struct fake f;
	struct bus mmio;
	struct pci_bus *pci;
	struct virtio_pci *vp;
	struct tvm *t;                 /* NULL: no usable KVM */
	int line_calls;
	int line_level;
	uint32_t line_gsi;
	uint32_t cfg;                  /* CONFIG_ADDRESS of the function */
	uint64_t bar;
};

/* ---- the fake device ---- */

static void f_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = d->priv;

	assert_true(off + len <= CFGLEN);
	memcpy(data, f->config + off, len);
	f->cfg_reads++;
}

static void f_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = d->priv;

	assert_true(off + len <= CFGLEN);
	memcpy(f->config + off, data, len);
	f->cfg_writes++;
}

static void f_queue_notify(struct virtio_dev *d, int q)
{
	struct fake *f = d->priv;

	assert_true(q >= 0 && q < NQ);
	f->notifies[q]++;
}

static void f_start(struct virtio_dev *d)
{
	((struct fake *)d->priv)->starts++;
}

static void f_reset(struct virtio_dev *d)
{
	((struct fake *)d->priv)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.config_read = f_config_read,
	.config_write = f_config_write,
	.queue_notify = f_queue_notify,
	.start = f_start,
	.reset = f_reset,
};

static void line_set(void *opaque, uint32_t gsi, int level)
{
	struct env *e = opaque;

	e->line_calls++;
	e->line_level = level;
	e->line_gsi = gsi;
}

/* ---- the "driver": config space and BAR accessors ---- */

static uint32_t cfg_rd(struct env *e, unsigned int off, uint32_t len)
{
	uint8_t a[4], d[4] = { 0 };

	put_le32(a, e->cfg | (off & 0xfc));
	pci_config_io(e->pci, 0, a, 4, true);
	pci_config_io(e->pci, 4 + (off & 3), d, len, false);
	return get_le32(d);
}

static void cfg_wr(struct env *e, unsigned int off, uint32_t v, uint32_t len)
{
	uint8_t a[4], d[4];

	put_le32(a, e->cfg | (off & 0xfc));
	put_le32(d, v);
	pci_config_io(e->pci, 0, a, 4, true);
	pci_config_io(e->pci, 4 + (off & 3), d, len, true);
}

static uint64_t rd(struct env *e, uint64_t off, uint32_t len)
{
	uint8_t d[8] = { 0 };

	bus_access(&e->mmio, e->bar + off, d, len, false);
	return get_le64(d);
}

static void wr(struct env *e, uint64_t off, uint64_t v, uint32_t len)
{
	uint8_t d[8];

	put_le64(d, v);
	bus_access(&e->mmio, e->bar + off, d, len, true);
}

#define CC(field) (VPCI_COMMON + VIRTIO_PCI_COMMON_##field)

/* virtio_pci_find_capability(): the vendor capability of cfg_type type. */
static unsigned int find_cap(struct env *e, uint8_t type)
{
	unsigned int pos = cfg_rd(e, PCI_CFG_CAP_PTR, 1);

	for (int guard = 0; pos != 0 && guard < 48; guard++) {
		if (cfg_rd(e, pos, 1) == PCI_CAP_ID_VENDOR &&
		    cfg_rd(e, pos + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type)
			return pos;
		pos = cfg_rd(e, pos + 1, 1);
	}
	return 0;
}

static unsigned int find_std_cap(struct env *e, uint8_t id)
{
	unsigned int pos = cfg_rd(e, PCI_CFG_CAP_PTR, 1);

	for (int guard = 0; pos != 0 && guard < 48; guard++) {
		if (cfg_rd(e, pos, 1) == id)
			return pos;
		pos = cfg_rd(e, pos + 1, 1);
	}
	return 0;
}

static int setup_env(void **state, bool use_kvm)
{
	struct env *e = calloc(1, sizeof(*e));
	const struct irq_line lines[2] = {
		{ .set = line_set, .opaque = e, .gsi = 10 },
		{ .set = line_set, .opaque = e, .gsi = 11 },
	};
	char err[128];
	int slot;

	if (e == NULL || gm_map(&e->gm, 16ULL << 20, LAYOUT_PCI_HOLE) < 0)
		return -1;
	if (use_kvm) {
		e->t = calloc(1, sizeof(*e->t));
		if (e->t == NULL)
			return -1;
		if (tvm_open(e->t) < 0) {
			free(e->t);
			e->t = NULL;
		}
	}
	e->f.d = (struct virtio_dev){
		.name = "fake", .device_id = VIRTIO_ID_BLOCK, .device_features = 1ULL << 5,
		.nr_queues = NQ, .queue_max = QMAX, .config_len = CFGLEN, .ops = &fake_ops,
		.priv = &e->f, .mem = &e->gm,
	};
	for (int i = 0; i < CFGLEN; i++)
		e->f.config[i] = (uint8_t)(0x30 + i);
	if (virtio_dev_init(&e->f.d) < 0)
		return -1;
	bus_init(&e->mmio, "mmio");
	e->pci = pci_bus_create(&e->mmio, lines);
	if (e->pci == NULL)
		return -1;
	e->vp = virtio_pci_create(&e->f.d, e->pci, e->t ? &e->t->k : NULL, err, sizeof(err));
	if (e->vp == NULL)
		return -1;
	slot = virtio_pci_function(e->vp)->slot;
	e->cfg = 0x80000000u | (uint32_t)slot << 11;
	e->bar = cfg_rd(e, PCI_CFG_BAR0, 4) & ~0xfu;
	*state = e;
	return 0;
}

static int setup(void **state)
{
	return setup_env(state, false);
}

static int setup_kvm(void **state)
{
	return setup_env(state, true);
}

static int teardown(void **state)
{
	struct env *e = *state;

	virtio_pci_destroy(e->vp);
	virtio_dev_destroy(&e->f.d);
	pci_bus_destroy(e->pci);
	if (e->t) {
		tvm_close(e->t);
		free(e->t);
	}
	gm_unmap(&e->gm);
	free(e);
	return 0;
}

/* Linux's probe through DRIVER_OK, with the queues set up. */
static void driver_up(struct env *e, bool msix)
{
	wr(e, CC(STATUS), 0, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0);
	wr(e, CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE, 1);
	wr(e, CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(e, CC(GFSELECT), 0, 4);
	wr(e, CC(GF), 1u << 5, 4);
	wr(e, CC(GFSELECT), 1, 4);
	wr(e, CC(GF), 1, 4);                                  /* VERSION_1 */
	wr(e, CC(STATUS), 0x0b, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0x0b);
	if (msix)
		wr(e, CC(MSIX), 0, 2);
	for (uint16_t q = 0; q < NQ; q++) {
		wr(e, CC(Q_SELECT), q, 2);
		wr(e, CC(Q_SIZE), 64, 2);
		wr(e, CC(Q_DESCLO), DESC + q * 0x1000, 4);
		wr(e, CC(Q_DESCHI), 0, 4);
		wr(e, CC(Q_AVAILLO), AVAIL + q * 0x1000, 4);
		wr(e, CC(Q_AVAILHI), 0, 4);
		wr(e, CC(Q_USEDLO), USED + q * 0x1000, 4);
		wr(e, CC(Q_USEDHI), 0, 4);
		if (msix) {
			wr(e, CC(Q_MSIX), q + 1u, 2);
			assert_int_equal(rd(e, CC(Q_MSIX), 2), q + 1u);
		}
		wr(e, CC(Q_ENABLE), 1, 2);
		assert_int_equal(rd(e, CC(Q_ENABLE), 2), 1);
	}
	wr(e, CC(STATUS), 0x0f, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0x0f);
}

/* ---- tests ---- */

static void test_identity_and_caps(void **state)
{
	struct env *e = *state;
	static const uint8_t types[] = { 1, 2, 3, 4 };
	static const uint32_t offs[] = { VPCI_COMMON, VPCI_NOTIFY, VPCI_ISR, VPCI_DEVICE_CFG };
	static const uint32_t lens[] = { VPCI_COMMON_LEN, NQ * 4, 1, CFGLEN };
	unsigned int m;

	assert_int_equal(cfg_rd(e, 0, 4), 0x10421af4u);
	assert_int_equal(cfg_rd(e, 0x08, 4), 0x01800001u);    /* class 018000, rev 1 */
	assert_int_equal(cfg_rd(e, 0x2c, 4), 0x00021af4u);
	assert_int_equal(cfg_rd(e, 0x06, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(e, 0x3d, 1), 1);
	assert_int_equal(cfg_rd(e, 0x3c, 1), 10 + ((e->cfg >> 11) & 1));
	assert_int_equal(e->bar, LAYOUT_PCI_MMIO);
	assert_int_equal(cfg_rd(e, 0x04, 2) & PCI_CMD_MEMORY, PCI_CMD_MEMORY);
	cfg_wr(e, PCI_CFG_BAR0, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(e, PCI_CFG_BAR0, 4), (uint32_t)~(VPCI_BAR_SIZE - 1));
	cfg_wr(e, PCI_CFG_BAR0, (uint32_t)e->bar, 4);

	for (size_t i = 0; i < sizeof(types); i++) {
		unsigned int c = find_cap(e, types[i]);

		assert_true(c >= 0x40);
		assert_int_equal(cfg_rd(e, c + VIRTIO_PCI_CAP_BAR, 1), 0);
		assert_int_equal(cfg_rd(e, c + VIRTIO_PCI_CAP_OFFSET, 4), offs[i]);
		assert_int_equal(cfg_rd(e, c + VIRTIO_PCI_CAP_LENGTH, 4), lens[i]);
		assert_int_equal(cfg_rd(e, c + VIRTIO_PCI_CAP_LEN, 1), types[i] == 2 ? 20 : 16);
		if (types[i] == 2)
			assert_int_equal(cfg_rd(e, c + 16, 4), VPCI_NOTIFY_MULT);
	}
	assert_int_equal(find_cap(e, 5), 0);
	m = find_std_cap(e, PCI_CAP_ID_MSIX);
	assert_true(m != 0);
	assert_int_equal(cfg_rd(e, m + 2, 2), NQ);            /* NQ + 1 vectors */
	assert_int_equal(cfg_rd(e, m + 4, 4), VPCI_MSIX_TABLE);
	assert_int_equal(cfg_rd(e, m + 8, 4), VPCI_MSIX_PBA);
}

static void test_negotiation_and_queues(void **state)
{
	struct env *e = *state;
	struct virtqueue *vq = &e->f.d.vq[1];

	assert_int_equal(rd(e, CC(NUMQ), 2), NQ);
	wr(e, CC(DFSELECT), 0, 4);
	assert_int_equal(rd(e, CC(DF), 4), (1u << 5) | (1u << 28) | (1u << 29));
	wr(e, CC(DFSELECT), 1, 4);
	assert_int_equal(rd(e, CC(DF), 4), 1);
	wr(e, CC(DFSELECT), 2, 4);
	assert_int_equal(rd(e, CC(DF), 4), 0);
	assert_int_equal(rd(e, CC(DFSELECT), 4), 2);
	/* Unoffered bits are dropped; the two halves combine. */
	wr(e, CC(STATUS), 3, 1);
	wr(e, CC(GFSELECT), 0, 4);
	wr(e, CC(GF), 0xffffffffu, 4);
	wr(e, CC(GFSELECT), 1, 4);
	wr(e, CC(GF), 1, 4);
	assert_int_equal(e->f.d.driver_features, (1ULL << 32) | (1u << 5) | (3u << 28));
	wr(e, CC(GFSELECT), 0, 4);
	assert_int_equal(rd(e, CC(GF), 4), (1u << 5) | (3u << 28));
	wr(e, CC(STATUS), 0x0b, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0x0b);
	wr(e, CC(GF), 0, 4);                                  /* too late: ignored */
	assert_int_equal(rd(e, CC(GF), 4), (1u << 5) | (3u << 28));

	/* Queue 1, as vp_modern's setup_vq does it. */
	wr(e, CC(Q_SELECT), 1, 2);
	assert_int_equal(rd(e, CC(Q_SIZE), 2), QMAX);
	assert_int_equal(rd(e, CC(Q_ENABLE), 2), 0);
	assert_int_equal(rd(e, CC(Q_NOFF), 2), 1);
	assert_int_equal(rd(e, CC(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	wr(e, CC(Q_SIZE), 128, 2);
	wr(e, CC(Q_DESCLO), DESC, 4);
	wr(e, CC(Q_DESCHI), 0, 4);
	wr(e, CC(Q_AVAILLO), AVAIL, 8);                       /* one 64-bit access */
	wr(e, CC(Q_USEDLO), 0xdead0000 | USED, 4);
	wr(e, CC(Q_USEDHI), 0x1, 4);
	assert_int_equal(rd(e, CC(Q_USEDLO), 8), 0x1dead0000ULL | USED);
	wr(e, CC(Q_USEDLO), USED, 4);
	wr(e, CC(Q_USEDHI), 0, 4);
	/* Wrong widths and offsets are ignored. */
	wr(e, CC(Q_SIZE), 16, 4);
	wr(e, CC(Q_SIZE), 16, 1);
	wr(e, CC(Q_SELECT), 0, 1);
	wr(e, CC(Q_DESCLO) + 2, 0x5555, 2);
	wr(e, CC(Q_DESCHI), 0, 8);
	wr(e, CC(STATUS), 0, 2);
	wr(e, CC(NUMQ), 7, 2);
	assert_int_equal(rd(e, CC(Q_SELECT), 2), 1);
	assert_int_equal(rd(e, CC(Q_SIZE), 2), 128);
	assert_int_equal(rd(e, CC(NUMQ), 2), NQ);
	assert_int_equal(rd(e, CC(STATUS), 1), 0x0b);
	assert_int_equal(vq->desc_gpa, DESC);
	assert_int_equal(vq->avail_gpa, AVAIL);
	assert_int_equal(vq->used_gpa, USED);
	/* Sub-field reads are fine. */
	assert_int_equal(rd(e, CC(Q_SIZE) + 1, 1), 0);
	assert_int_equal(rd(e, CC(NUMQ), 1), NQ);

	wr(e, CC(Q_ENABLE), 1, 2);
	assert_true(vq->ready);
	assert_int_equal(vq->size, 128);
	/* A live queue's layout is read-only; disabling is not offered. */
	wr(e, CC(Q_SIZE), 32, 2);
	wr(e, CC(Q_DESCLO), 0x40000, 4);
	wr(e, CC(Q_ENABLE), 0, 2);
	assert_int_equal(vq->size, 128);
	assert_int_equal(vq->desc_gpa, DESC);
	assert_true(vq->ready);

	/* A queue_select beyond the queues reads zeros and ignores writes. */
	wr(e, CC(Q_SELECT), NQ, 2);
	assert_int_equal(rd(e, CC(Q_SELECT), 2), NQ);
	assert_int_equal(rd(e, CC(Q_SIZE), 2), 0);
	assert_int_equal(rd(e, CC(Q_DESCLO), 8), 0);
	assert_int_equal(rd(e, CC(Q_NOFF), 2), 0);
	wr(e, CC(Q_SIZE), 64, 2);
	wr(e, CC(Q_ENABLE), 1, 2);
	wr(e, CC(Q_SELECT), 0xffff, 2);
	wr(e, CC(Q_MSIX), 1, 2);
	assert_int_equal(rd(e, CC(Q_SIZE), 2), 0);

	wr(e, CC(STATUS), 0x0f, 1);
	assert_int_equal(e->f.starts, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0x0f);
	assert_int_equal(rd(e, 0x38, 4), 0);                  /* past the block */
	assert_int_equal(rd(e, 0xffc, 4), 0);
}

static void test_bad_queue_size(void **state)
{
	struct env *e = *state;

	wr(e, CC(STATUS), 0x03, 1);
	wr(e, CC(GFSELECT), 1, 4);
	wr(e, CC(GF), 1, 4);
	wr(e, CC(STATUS), 0x0b, 1);
	wr(e, CC(Q_SELECT), 0, 2);
	wr(e, CC(Q_SIZE), 100, 2);                            /* not a power of two */
	assert_int_equal(rd(e, CC(Q_SIZE), 2), 100);
	wr(e, CC(Q_DESCLO), DESC, 4);
	wr(e, CC(Q_AVAILLO), AVAIL, 4);
	wr(e, CC(Q_USEDLO), USED, 4);
	wr(e, CC(Q_ENABLE), 1, 2);
	assert_int_equal(rd(e, CC(Q_ENABLE), 2), 0);
	assert_int_equal(rd(e, CC(STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET,
			 VIRTIO_STATUS_NEEDS_RESET);
	/* Reset recovers; too big is refused the same way. */
	wr(e, CC(STATUS), 0, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0);
	assert_int_equal(rd(e, CC(Q_SIZE), 2), QMAX);
	wr(e, CC(Q_SIZE), 2 * QMAX, 2);
	wr(e, CC(Q_DESCLO), DESC, 4);
	wr(e, CC(Q_AVAILLO), AVAIL, 4);
	wr(e, CC(Q_USEDLO), USED, 4);
	wr(e, CC(Q_ENABLE), 1, 2);
	assert_int_equal(rd(e, CC(Q_ENABLE), 2), 0);
	assert_true(e->f.d.broken);
}

static void test_reset(void **state)
{
	struct env *e = *state;

	driver_up(e, true);
	wr(e, CC(Q_SELECT), 1, 2);
	wr(e, CC(STATUS), 0, 1);
	assert_int_equal(e->f.resets, 2);                     /* driver_up's, this */
	assert_int_equal(rd(e, CC(STATUS), 1), 0);
	assert_int_equal(rd(e, CC(Q_SELECT), 2), 0);
	assert_int_equal(rd(e, CC(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < NQ; q++) {
		wr(e, CC(Q_SELECT), q, 2);
		assert_int_equal(rd(e, CC(Q_SIZE), 2), QMAX);
		assert_int_equal(rd(e, CC(Q_ENABLE), 2), 0);
		assert_int_equal(rd(e, CC(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(rd(e, CC(Q_DESCLO), 8), 0);
	}
	assert_int_equal(e->f.d.driver_features, 0);
	/* And the driver can come up again. */
	driver_up(e, false);
	assert_int_equal(e->f.starts, 2);
}

static void test_device_cfg(void **state)
{
	struct env *e = *state;

	assert_int_equal(rd(e, VPCI_DEVICE_CFG, 4), 0x33323130u);
	assert_int_equal(rd(e, VPCI_DEVICE_CFG + 16, 8), 0x4746454443424140ULL);
	assert_int_equal(rd(e, VPCI_DEVICE_CFG + CFGLEN - 1, 1), 0x30 + CFGLEN - 1);
	assert_int_equal(e->f.cfg_reads, 3);
	/* Past the end: zeros, and the device is not asked. */
	assert_int_equal(rd(e, VPCI_DEVICE_CFG + CFGLEN - 2, 4), 0);
	assert_int_equal(rd(e, VPCI_DEVICE_CFG + CFGLEN, 1), 0);
	assert_int_equal(rd(e, VPCI_DEVICE_CFG + 0xff8, 8), 0);
	assert_int_equal(e->f.cfg_reads, 3);
	wr(e, VPCI_DEVICE_CFG + 4, 0xaabbccdd, 4);
	wr(e, VPCI_DEVICE_CFG + CFGLEN - 1, 0xeeee, 2);
	assert_int_equal(e->f.cfg_writes, 1);
	assert_int_equal(get_le32(e->f.config + 4), 0xaabbccddu);
	assert_int_equal(e->f.config[CFGLEN - 1], 0x30 + CFGLEN - 1);
	/* config_generation follows the device's. */
	e->f.d.config_generation = 0x1234;
	assert_int_equal(rd(e, CC(CFGGENERATION), 1), 0x34);
	/* Unused pages of the BAR. */
	assert_int_equal(rd(e, 0x6000, 4), 0);
	assert_int_equal(rd(e, 0x7ffc, 4), 0);
	wr(e, 0x6000, 1, 4);
}

static void test_notify_without_kvm(void **state)
{
	struct env *e = *state;

	/* Before DRIVER_OK a kick is dropped. */
	wr(e, VPCI_NOTIFY + 4, 1, 2);
	assert_int_equal(e->f.notifies[1], 0);
	driver_up(e, false);
	wr(e, VPCI_NOTIFY + 4, 1, 2);
	wr(e, VPCI_NOTIFY + 0, 0, 2);
	wr(e, VPCI_NOTIFY + 0, 0, 4);
	assert_int_equal(e->f.notifies[0], 2);
	assert_int_equal(e->f.notifies[1], 1);
	/* Beyond the queues, misaligned, reads: nothing. */
	wr(e, VPCI_NOTIFY + 4 * NQ, 0, 2);
	wr(e, VPCI_NOTIFY + 2, 0, 2);
	assert_int_equal(rd(e, VPCI_NOTIFY, 2), 0);
	assert_int_equal(e->f.notifies[0] + e->f.notifies[1], 3);

	/* After a BAR move the notify addresses move with it. */
	cfg_wr(e, PCI_CFG_BAR0, 0xc4000000u, 4);
	wr(e, VPCI_NOTIFY + 4, 1, 2);                         /* the old address */
	assert_int_equal(e->f.notifies[1], 1);
	e->bar = 0xc4000000u;
	wr(e, VPCI_NOTIFY + 4, 1, 2);
	assert_int_equal(e->f.notifies[1], 2);
	assert_int_equal(rd(e, CC(STATUS), 1), 0x0f);
}

static void test_isr_intx(void **state)
{
	struct env *e = *state;
	struct virtio_dev *d = &e->f.d;

	driver_up(e, false);
	assert_int_equal(e->line_calls, 0);
	pthread_mutex_lock(&d->lock);
	d->isr |= VIRTIO_ISR_QUEUE;
	d->transport->signal_queue(d, 0);
	pthread_mutex_unlock(&d->lock);
	assert_int_equal(e->line_calls, 1);
	assert_int_equal(e->line_level, 1);
	assert_int_equal(e->line_gsi, 10 + ((e->cfg >> 11) & 1));
	assert_int_equal(cfg_rd(e, 0x06, 1) & PCI_STATUS_INTX, PCI_STATUS_INTX);
	/* Reading ISR returns and clears it, and drops the line. */
	assert_int_equal(rd(e, VPCI_ISR, 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(e->line_level, 0);
	assert_int_equal(e->line_calls, 2);
	assert_int_equal(rd(e, VPCI_ISR, 4), 0);
	assert_int_equal(cfg_rd(e, 0x06, 1) & PCI_STATUS_INTX, 0);
	/* ISR writes and other ISR bytes do nothing. */
	pthread_mutex_lock(&d->lock);
	d->isr |= VIRTIO_ISR_QUEUE;
	d->transport->signal_queue(d, 1);
	pthread_mutex_unlock(&d->lock);
	wr(e, VPCI_ISR, 0, 1);
	assert_int_equal(rd(e, VPCI_ISR + 1, 1), 0);
	assert_int_equal(e->line_level, 1);
	/* A config change (the device breaking after DRIVER_OK). */
	assert_int_equal(rd(e, VPCI_ISR, 1), VIRTIO_ISR_QUEUE);
	pthread_mutex_lock(&d->lock);
	virtio_mark_broken(d, "test");
	pthread_mutex_unlock(&d->lock);
	assert_int_equal(e->line_level, 1);
	assert_int_equal(rd(e, VPCI_ISR, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(e->line_level, 0);
	/* Reset with the line up drops it. */
	pthread_mutex_lock(&d->lock);
	d->isr |= VIRTIO_ISR_QUEUE;
	d->transport->signal_queue(d, 0);
	pthread_mutex_unlock(&d->lock);
	assert_int_equal(e->line_level, 1);
	wr(e, CC(STATUS), 0, 1);
	assert_int_equal(e->line_level, 0);
}

/* The MSI-X table entry v, as Linux's msix_setup / __pci_write_msi_msg
 * writes it: masked while the message changes. */
static void msix_program(struct env *e, unsigned int v, uint32_t data, bool unmask)
{
	uint64_t ent = VPCI_MSIX_TABLE + 16 * v;

	wr(e, ent + 12, 1, 4);
	wr(e, ent + 0, (uint32_t)MSI_ADDR, 4);
	wr(e, ent + 4, 0, 4);
	wr(e, ent + 8, data, 4);
	if (unmask)
		wr(e, ent + 12, 0, 4);
}

static void signal_q(struct env *e, int q)
{
	struct virtio_dev *d = &e->f.d;

	pthread_mutex_lock(&d->lock);
	d->isr |= VIRTIO_ISR_QUEUE;
	d->transport->signal_queue(d, q);
	pthread_mutex_unlock(&d->lock);
}

static void test_msix(void **state)
{
	struct env *e = *state;
	unsigned int m = find_std_cap(e, PCI_CAP_ID_MSIX);
	bool kvm = e->t != NULL;

	if (kvm)
		assert_int_equal(tvm_lapic_enable(e->t), 0);
	/* Reset state: every entry masked, nothing pending. */
	for (unsigned int v = 0; v <= NQ; v++)
		assert_int_equal(rd(e, VPCI_MSIX_TABLE + 16 * v + 12, 4), 1);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 0);
	/* pci_msix_clear_and_set_ctrl(MASKALL | ENABLE), program, unmask all. */
	cfg_wr(e, m + 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL, 2);
	msix_program(e, 0, 0x40, true);
	msix_program(e, 1, 0x41, true);
	msix_program(e, 2, 0x42, true);
	assert_int_equal(rd(e, VPCI_MSIX_TABLE + 16 + 8, 4), 0x41);
	assert_int_equal(rd(e, VPCI_MSIX_TABLE + 16, 8), MSI_ADDR);
	cfg_wr(e, m + 2, PCI_MSIX_CTRL_ENABLE, 2);
	driver_up(e, true);
	assert_int_equal(rd(e, CC(MSIX), 2), 0);
	/* An out-of-range vector reads back as NO_VECTOR. */
	wr(e, CC(Q_SELECT), 0, 2);
	wr(e, CC(Q_MSIX), NQ + 1, 2);
	assert_int_equal(rd(e, CC(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	wr(e, CC(Q_MSIX), 1, 2);
	assert_int_equal(rd(e, CC(Q_MSIX), 2), 1);

	signal_q(e, 0);
	if (kvm)
		assert_true(tvm_irr_wait(e->t, 0x41));
	assert_int_equal(e->line_calls, 0);                   /* no INTx with MSI-X */
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 0);

	/* A masked entry: pending, then delivered with its new message. */
	msix_program(e, 2, 0x52, false);
	signal_q(e, 1);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 1u << 2);
	if (kvm)
		assert_false(tvm_irr_now(e->t, 0x52));
	wr(e, VPCI_MSIX_TABLE + 32 + 12, 0, 4);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 0);
	if (kvm)
		assert_true(tvm_irr_wait(e->t, 0x52));

	/* Function mask: the same through the control register. */
	msix_program(e, 1, 0x61, true);
	cfg_wr(e, m + 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL, 2);
	signal_q(e, 0);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 1), 1u << 1);
	if (kvm)
		assert_false(tvm_irr_now(e->t, 0x61));
	cfg_wr(e, m + 2, PCI_MSIX_CTRL_ENABLE, 2);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 0);
	if (kvm)
		assert_true(tvm_irr_wait(e->t, 0x61));
	/* Rewriting an unmasked entry takes effect at once. */
	wr(e, VPCI_MSIX_TABLE + 16 + 8, 0x71, 4);
	signal_q(e, 0);
	if (kvm)
		assert_true(tvm_irr_wait(e->t, 0x71));

	/* Config vector. */
	msix_program(e, 0, 0x81, true);
	pthread_mutex_lock(&e->f.d.lock);
	virtio_mark_broken(&e->f.d, "test");
	pthread_mutex_unlock(&e->f.d.lock);
	if (kvm)
		assert_true(tvm_irr_wait(e->t, 0x81));
	assert_int_equal(e->line_calls, 0);

	/* NO_VECTOR: no interrupt at all. */
	wr(e, CC(STATUS), 0, 1);
	assert_int_equal(rd(e, CC(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	driver_up(e, false);
	msix_program(e, 1, 0x91, false);
	signal_q(e, 0);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 0);
	assert_int_equal(e->line_calls, 0);

	/* Table accesses of odd widths: reads fine, writes ignored. */
	wr(e, VPCI_MSIX_TABLE + 8, 0x12345678, 2);
	wr(e, VPCI_MSIX_TABLE + 9, 0x12345678, 4);
	wr(e, VPCI_MSIX_TABLE + 12, 0xfffffffe, 4);          /* reserved bits */
	assert_int_equal(rd(e, VPCI_MSIX_TABLE + 12, 4), 0);
	assert_int_equal(rd(e, VPCI_MSIX_TABLE + 9, 1), 0);
	assert_int_equal(rd(e, VPCI_MSIX_TABLE + 8, 1), 0x81);
	wr(e, VPCI_MSIX_TABLE + 16 * (NQ + 1), 5, 4);         /* past the table */
	assert_int_equal(rd(e, VPCI_MSIX_TABLE + 16 * (NQ + 1), 4), 0);
	wr(e, VPCI_MSIX_PBA, 0xff, 8);
	assert_int_equal(rd(e, VPCI_MSIX_PBA, 8), 0);

	/* MSI-X off: back to INTx. */
	cfg_wr(e, m + 2, 0, 2);
	signal_q(e, 0);
	assert_int_equal(e->line_level, 1);
	cfg_wr(e, m + 2, PCI_MSIX_CTRL_ENABLE, 2);            /* drops INTx */
	assert_int_equal(e->line_level, 0);
}

static void test_notify_ioeventfd(void **state)
{
	struct env *e = *state;
	struct pollfd p;
	uint64_t cnt;

	if (e->t == NULL) {
		skip();
		return;
	}
	driver_up(e, false);
	/* A guest write to queue 1's notify address is absorbed by KVM. */
	assert_int_equal(tvm_exec(e->t, tvm_store16, sizeof(tvm_store16), e->bar + VPCI_NOTIFY,
				  1, 4, 0), TVM_DONE);
	p = (struct pollfd){ .fd = e->f.d.notify_fd[1], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(read(e->f.d.notify_fd[1], &cnt, sizeof(cnt)), sizeof(cnt));
	/* 4 bytes too, where KVM has any-length ioeventfds. */
	if (e->t->k.has_ioeventfd_any_len)
		assert_int_equal(tvm_exec(e->t, tvm_store32, sizeof(tvm_store32),
					  e->bar + VPCI_NOTIFY, 0, 0, 0), TVM_DONE);
	/* Other BAR addresses reach the monitor. */
	assert_int_equal(tvm_exec(e->t, tvm_store16, sizeof(tvm_store16), e->bar, 1, 0x16, 0),
			 KVM_EXIT_MMIO);
	/* Memory decoding off: nothing is absorbed; on again: it is. */
	cfg_wr(e, 0x04, 0, 2);
	assert_int_equal(tvm_exec(e->t, tvm_store16, sizeof(tvm_store16), e->bar + VPCI_NOTIFY,
				  1, 4, 0), KVM_EXIT_MMIO);
	cfg_wr(e, 0x04, PCI_CMD_MEMORY, 2);
	assert_int_equal(tvm_exec(e->t, tvm_store16, sizeof(tvm_store16), e->bar + VPCI_NOTIFY,
				  1, 4, 0), TVM_DONE);
	/* The BAR moves: the ioeventfds follow. */
	cfg_wr(e, PCI_CFG_BAR0, 0xc9000000u, 4);
	assert_int_equal(tvm_exec(e->t, tvm_store16, sizeof(tvm_store16), e->bar + VPCI_NOTIFY,
				  1, 4, 0), KVM_EXIT_MMIO);
	assert_int_equal(tvm_exec(e->t, tvm_store16, sizeof(tvm_store16),
				  0xc9000000u + VPCI_NOTIFY, 1, 4, 0), TVM_DONE);
	assert_int_equal(read(e->f.d.notify_fd[1], &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 2);
	assert_int_equal(e->f.notifies[1], 0);                /* the loop's job */
}

/* Random accesses everywhere: nothing crashes, the function survives. */
static void test_fuzz(void **state)
{
	struct env *e = *state;
	unsigned int m = find_std_cap(e, PCI_CAP_ID_MSIX);
	uint8_t d[8];

	driver_up(e, false);
	srand(4242);
	for (int i = 0; i < 200000; i++) {
		uint32_t len = 1u << (rand() % 4);
		uint64_t off;

		for (size_t k = 0; k < sizeof(d); k++)
			d[k] = (uint8_t)rand();
		switch (rand() % 8) {
		case 0:
			off = (uint64_t)(rand() % VPCI_BAR_SIZE);
			break;
		case 1:
			off = VPCI_MSIX_TABLE + (uint64_t)(rand() % 64);
			break;
		case 2:
			if (rand() % 64 == 0)            /* MSI-X control, now and then */
				cfg_wr(e, m + 2, (uint32_t)rand() & 0xc000, 2);
			continue;
		default:
			off = (uint64_t)(rand() % 0x40);
			/* Keep the BAR where it is most of the time. */
			if (off == CC(STATUS) && rand() % 4)
				continue;
			break;
		}
		if (off + len > VPCI_BAR_SIZE)
			len = 1;
		bus_access(&e->mmio, e->bar + off, d, len, rand() & 1);
	}
	assert_int_equal(cfg_rd(e, 0, 4), 0x10421af4u);
	wr(e, CC(STATUS), 0, 1);
	assert_int_equal(rd(e, CC(STATUS), 1), 0);
	driver_up(e, false);
	/* Hostile offsets straight at the window handler. */
	for (uint32_t len = 1; len <= 8; len++) {
		memset(d, 0, sizeof(d));
		pci_mmio_io(e->pci, UINT64_MAX - 3, d, len, false);
		pci_mmio_io(e->pci, e->bar - LAYOUT_PCI_MMIO + VPCI_BAR_SIZE - 1, d, len, true);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negotiation_and_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_cfg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_without_kvm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isr_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup_kvm, teardown),
		cmocka_unit_test_setup_teardown(test_notify_ioeventfd, setup_kvm, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup_kvm, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
