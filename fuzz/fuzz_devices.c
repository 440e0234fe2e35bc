/* libFuzzer target: arbitrary sequences of port accesses to the platform
 * devices, dispatched through a port I/O bus as a vCPU would.
 *
 * Build it with every .c file of src/devices:
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude
 *         fuzz/fuzz_devices.c src/devices/(all).c -o fuzz_devices
 *   ./fuzz_devices -runs=200000
 *
 * Each input is a list of 7-byte records:
 *   [0]    which port: an index into the interesting ports, or (when past
 *          the table) any port taken from the value bytes
 *   [1]    bits 0-2 width (1, 2, 4, 8, or a size the bus must refuse),
 *          bit 3 write, bit 4 feed host input to the UART instead,
 *          bit 5 an MMIO access instead: the virtio-pci function's BAR at
 *          offset [5..6] & 0x7fff (bit 6 clear; the window's start while
 *          the BAR decodes nowhere) or the PCI window at offset [3..6]
 *          (bit 6 set), with the value [2..4]
 *   [2..6] the value (little-endian), or the UART input
 * Everything is created afresh per input, so runs are independent. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "devices/acpi_pm.h"
#include "devices/bus.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/pci.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	int irq_level;
	unsigned long tx_bytes;
	unsigned long power_events;
};

static void sink_irq(void *opaque, uint32_t gsi, int level)
{
	struct sink *s = opaque;

	if (level != 0 && level != 1)
		__builtin_trap();
	s->irq_level = level;
	(void)gsi;
}

static void sink_tx(void *opaque, uint8_t byte)
{
	struct sink *s = opaque;

	s->tx_bytes++;
	(void)byte;
}

static void sink_power(void *opaque, enum power_event ev)
{
	struct sink *s = opaque;

	if (ev != POWER_OFF && ev != POWER_RESET)
		__builtin_trap();
	s->power_events++;
}

static const uint16_t ports[] = {
	0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
	0x60, 0x61, 0x62, 0x63, 0x64,
	0x70, 0x71,
	0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x606, 0x607,
	0x608, 0x609, 0x60a, 0x60b, 0x60c, 0x60d, 0x60e, 0x60f,
	0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff,
	0x3f7, 0x400, 0x5f, 0x65, 0x6f, 0x72, 0x5ff, 0x610, 0xcf7, 0xd00,
	0x40, 0x41, 0x42, 0x43, 0x3f, 0x44,
};

static const uint32_t widths[8] = { 1, 2, 4, 8, 1, 0, 3, 9 };

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A PCI function with a 4 KiB memory BAR and an I/O BAR, so that the
 * write-mask paths are exercised too. */
static void dummy_pci_init(struct pci_device *d)
{
	memset(d, 0, sizeof(*d));
	put32(&d->cfg[0x00], 0x10001af4u);
	put32(&d->cfg[0x08], 0x00ff0000u);
	put32(&d->wmask[0x10], 0xfffff000u);
	put32(&d->cfg[0x14], 0x1);
	put32(&d->wmask[0x14], 0x0000ffe0u);
	d->wmask[0x04] = 0x07;
	d->wmask[0x3c] = 0xff;
}

/* A virtio device behind the PCI transport: it checks what the transport
 * hands it. */
#define FZ_QUEUES 2
#define FZ_CFGLEN 12

static void fz_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	if (off > FZ_CFGLEN || len > FZ_CFGLEN - off)
		__builtin_trap();
	memset(data, 0x5a, len);
}

static void fz_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			    uint32_t len)
{
	if (off > FZ_CFGLEN || len > FZ_CFGLEN - off)
		__builtin_trap();
}

static void fz_queue_notify(struct virtio_dev *d, int q)
{
	if (q < 0 || q >= FZ_QUEUES)
		__builtin_trap();
}

static const struct virtio_dev_ops fz_ops = {
	.config_read = fz_config_read,
	.config_write = fz_config_write,
	.queue_notify = fz_queue_notify,
};

struct machine {
	struct bus pio;
	struct bus mmio;
	struct guest_mem gm;
	struct virtio_dev vdev;
	bool vdev_ready;
	struct virtio_pci *vp;
	struct sink sink;
	struct uart *uart;
	struct i8042 *kbd;
	struct i8254 *pit;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct pci_bus *pci;
	struct pci_device dummy;
};

static int machine_init(struct machine *m)
{
	struct irq_line irq = { .set = sink_irq, .opaque = &m->sink, .gsi = IRQ_COM1 };
	struct power_ctl pc = { .request = sink_power, .opaque = &m->sink };
	char err[128];

	memset(m, 0, sizeof(*m));
	bus_init(&m->pio, "pio");
	m->uart = uart_create(&irq, sink_tx, &m->sink);
	m->kbd = i8042_create(&pc);
	m->pit = i8254_create(NULL, &irq, NULL, NULL);
	m->rtc = rtc_create();
	m->pm = acpi_pm_create(&pc);
	bus_init(&m->mmio, "mmio");
	m->pci = pci_bus_create(&m->mmio, NULL);
	if (!m->uart || !m->kbd || !m->pit || !m->rtc || !m->pm || !m->pci)
		return -1;
	dummy_pci_init(&m->dummy);
	if (pci_bus_add(m->pci, &m->dummy, -1) != 1)
		return -1;
	if (gm_map(&m->gm, 1 << 20, LAYOUT_PCI_HOLE) < 0)
		return -1;
	m->vdev = (struct virtio_dev){
		.name = "fuzz", .device_id = VIRTIO_ID_CONSOLE, .nr_queues = FZ_QUEUES,
		.queue_max = 64, .config_len = FZ_CFGLEN, .ops = &fz_ops, .mem = &m->gm,
	};
	if (virtio_dev_init(&m->vdev) < 0)
		return -1;
	m->vdev_ready = true;
	m->vp = virtio_pci_create(&m->vdev, m->pci, NULL, err, sizeof(err));
	if (m->vp == NULL)
		return -1;
	if (bus_register(&m->pio, PORT_COM1, 8, uart_io, m->uart, "uart") ||
	    bus_register(&m->pio, PORT_I8042_DATA, 1, i8042_io, m->kbd, "i8042") ||
	    bus_register(&m->pio, PORT_I8042_CMD, 1, i8042_status_io, m->kbd, "i8042") ||
	    bus_register(&m->pio, PORT_I8254, PORT_I8254_LEN, i8254_io, m->pit, "pit") ||
	    bus_register(&m->pio, PORT_SPEAKER, 1, i8254_port61_io, m->pit, "port 0x61") ||
	    bus_register(&m->pio, PORT_RTC, 2, rtc_io, m->rtc, "rtc") ||
	    bus_register(&m->pio, PORT_ACPI_PM, PORT_ACPI_PM_LEN, acpi_pm_io, m->pm, "pm") ||
	    bus_register(&m->pio, PORT_PCI_CONFIG, 8, pci_config_io, m->pci, "pci"))
		return -1;
	return 0;
}

static void machine_fini(struct machine *m)
{
	uart_destroy(m->uart);
	i8042_destroy(m->kbd);
	i8254_destroy(m->pit);
	rtc_destroy(m->rtc);
	acpi_pm_destroy(m->pm);
	virtio_pci_destroy(m->vp);
	if (m->vdev_ready)
		virtio_dev_destroy(&m->vdev);
	pci_bus_destroy(m->pci);
	if (m->gm.map != NULL)
		gm_unmap(&m->gm);
}

/* An access to the PCI window: into the virtio function's BAR, wherever
 * the guest has put it, or anywhere in the window. */
static void run_mmio(struct machine *m, const uint8_t *rec, uint32_t len, bool is_write)
{
	uint64_t bar = virtio_pci_function(m->vp)->bar_addr[0];
	uint64_t addr;
	uint8_t buf[8];

	if (rec[1] & 0x40)
		addr = LAYOUT_PCI_MMIO + ((uint64_t)rec[3] | (uint64_t)rec[4] << 8 |
					  (uint64_t)rec[5] << 16 | (uint64_t)rec[6] << 24);
	else
		addr = (bar == PCI_BAR_UNMAPPED ? LAYOUT_PCI_MMIO : bar) +
		       (((uint64_t)rec[5] | (uint64_t)rec[6] << 8) & (VPCI_BAR_SIZE - 1));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, rec + 2, 3);
	if (!bus_access(&m->mmio, addr, buf, len, is_write) && !is_write &&
	    len >= 1 && len <= 8) {
		for (uint32_t i = 0; i < len; i++)
			if (buf[i] != 0xff)
				__builtin_trap();
	}
}

static void run_record(struct machine *m, const uint8_t *rec)
{
	const size_t nports = sizeof(ports) / sizeof(ports[0]);
	uint8_t buf[8];
	uint64_t port;
	uint32_t len = widths[rec[1] & 7];
	bool is_write = rec[1] & 8;

	if (rec[1] & 0x10) {
		size_t n = rec[2] % 6;
		size_t room = uart_rx_space(m->uart);

		if (uart_receive(m->uart, rec + 2, n) > room)
			__builtin_trap();
		return;
	}
	if (rec[1] & 0x20) {
		run_mmio(m, rec, len, is_write);
		return;
	}
	if (rec[0] < nports)
		port = ports[rec[0]];
	else
		port = (uint64_t)rec[5] | (uint64_t)rec[6] << 8;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, rec + 2, 5);
	if (!bus_access(&m->pio, port, buf, len, is_write) && !is_write &&
	    len >= 1 && len <= 8) {
		/* Nothing claimed it: it must read as all-ones. */
		for (uint32_t i = 0; i < len; i++)
			if (buf[i] != 0xff)
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct machine m;

	if (machine_init(&m) == 0) {
		for (size_t off = 0; off + 7 <= size; off += 7)
			run_record(&m, data + off);
	}
	machine_fini(&m);
	return 0;
}
