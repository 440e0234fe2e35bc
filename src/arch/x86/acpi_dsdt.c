/* The DSDT's AML body: sleep states and the \\_SB devices (PCI root with
 * _CRS and _PRT, COM1, the i8042 keyboard, processors).  acpi.c wraps it in
 * the table header; the layout is described there, above build_dsdt. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "acpi_aml.h"

#define PCI_SLOTS 32    /* bus 0: slot 0 is the host bridge */

/* Name (_Sx_, Package (4) { typ, typ, 0, 0 }): SLP_TYPa, SLP_TYPb and
 * two reserved elements. */
static void
dsdt_sleep_state(struct aml *a, const char *name, uint8_t typ)
{
	size_t pkg;

	aml_name(a, name);
	pkg = aml_package_begin(a, 4);
	aml_integer(a, typ);
	aml_integer(a, typ);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_pkg_end(a, pkg);
}

/* Name (_PRT): slot s (1 to slots - 1), pin p (0 = INTA) -> GSI 10 +
 * ((s + p) & 1), as Package { s << 16 | 0xffff, p, Zero (a GSI, no link),
 * GSI }: to Linux a level-triggered, active-low, shareable line.  Only the
 * slots up to the last one in use: devices are not hot-plugged, and every
 * entry is AML the guest reads at boot (all 31 slots made the test guest's
 * start 4 ms slower where its code is emulated). */
static void
dsdt_prt(struct aml *a, uint32_t slots)
{
	size_t prt, e;

	if (slots > PCI_SLOTS)
		slots = PCI_SLOTS;
	aml_name(a, "_PRT");
	prt = aml_package_begin(a, slots > 1 ? (slots - 1) * 4 : 0);
	for (uint32_t slot = 1; slot < slots; slot++) {
		for (uint32_t pin = 0; pin < 4; pin++) {
			e = aml_package_begin(a, 4);
			aml_integer(a, slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, GSI_PCI_INTX_A + ((slot + pin) & 1));
			aml_pkg_end(a, e);
		}
	}
	aml_pkg_end(a, prt);
}

/* Device (PCI0): the PCI root bridge, bus 0 only, so Linux finds the host
 * bridge's windows through ACPI (_CRS) rather than guessing, and how the
 * slots' interrupts are wired (_PRT). */
static void
dsdt_pci0(struct aml *a, uint32_t slots)
{
	uint8_t crs[128];
	struct aml r;
	size_t pkg;

	aml_init(&r, crs, sizeof(crs));
	aml_res_word_bus(&r, 0, 0);
	/* The config ports are consumed by the bridge itself: not a window. */
	aml_res_io(&r, 0xcf8, 1, 8);
	aml_res_word_io(&r, 0x0000, 0x0cf7);
	aml_res_word_io(&r, 0x0d00, 0xffff);
	/* The BAR window pci.c assigns from and decodes; RAM stops below it. */
	aml_res_dword_mem(&r, (uint32_t)LAYOUT_PCI_MMIO,
			  (uint32_t)(LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE - 1));
	aml_res_end(&r);

	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	pkg = aml_pkg_begin(a);
	aml_nameseg(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	aml_buffer(a, crs, r.len);
	dsdt_prt(a, slots);
	aml_pkg_end(a, pkg);
	if (r.overflow)
		a->overflow = true;
}

/* Device (NAME) { _HID EISAID(hid), _UID uid, _CRS crs }: a legacy ISA
 * device and the resources it decodes. */
static void
dsdt_isa_device(struct aml *a, const char *name, const char *hid, uint64_t uid,
		const struct aml *crs)
{
	size_t pkg;

	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	pkg = aml_pkg_begin(a);
	aml_nameseg(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	aml_name(a, "_CRS");
	aml_buffer(a, crs->buf, crs->len);
	aml_pkg_end(a, pkg);
	if (crs->overflow)
		a->overflow = true;
}

/* Device (COM1): the 16550 at 0x3f8, IRQ 4, so 8250_pnp claims it. */
static void
dsdt_com1(struct aml *a)
{
	uint8_t crs[16];
	struct aml r;

	aml_init(&r, crs, sizeof(crs));
	aml_res_io(&r, 0x3f8, 1, 8);
	aml_res_irq_noflags(&r, 1u << 4);
	aml_res_end(&r);
	dsdt_isa_device(a, "COM1", "PNP0501", 1, &r);
}

/* Device (KBD0): the i8042 with its keyboard on IRQ 1, so that Linux's
 * i8042 driver finds it through PNP (PNP0303).  No PS/2 mouse (PNP0F13) is
 * listed, which tells the driver there is no AUX port to probe. */
static void
dsdt_kbd(struct aml *a)
{
	uint8_t crs[32];
	struct aml r;

	aml_init(&r, crs, sizeof(crs));
	aml_res_io(&r, PORT_I8042_DATA, 1, 1);
	aml_res_io(&r, PORT_I8042_CMD, 1, 1);
	aml_res_irq_noflags(&r, 1u << 1);
	aml_res_end(&r);
	dsdt_isa_device(a, "KBD0", "PNP0303", 0, &r);
}

/* Device (Cnnn) { _HID "ACPI0007", _UID n }: the processor objects whose
 * _UID matches the MADT entries' processor uid. */
static void
dsdt_cpu(struct aml *a, int i)
{
	char seg[16];
	size_t pkg;

	snprintf(seg, sizeof(seg), "C%03X", (unsigned int)i);
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	pkg = aml_pkg_begin(a);
	aml_nameseg(a, seg);
	aml_name(a, "_HID");
	aml_string(a, "ACPI0007");
	aml_name(a, "_UID");
	aml_integer(a, (uint64_t)i);
	aml_pkg_end(a, pkg);
}


void acpi_dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	size_t sb;

	dsdt_sleep_state(a, "_S0_", 0);
	dsdt_sleep_state(a, "_S5_", cfg->s5_slp_typ);
	aml_byte(a, AML_SCOPE_OP);
	sb = aml_pkg_begin(a);
	aml_nameseg(a, "_SB_");
	dsdt_pci0(a, cfg->pci_slots);
	dsdt_com1(a);
	dsdt_kbd(a);
	for (int i = 0; i < cfg->nr_cpus; i++)
		dsdt_cpu(a, i);
	aml_pkg_end(a, sb);
}
