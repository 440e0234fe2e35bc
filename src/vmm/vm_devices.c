/* The VM's devices: created from the configuration, placed on the buses at
 * the addresses layout.h fixes, and described to the guest by the ACPI and
 * MP tables.  Also the console's input path into the UART. */
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "base/log.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/pci.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "vmm/vm.h"

static void on_power(void *opaque, enum power_event ev)
{
	vm_request_stop(opaque, ev == POWER_OFF ? VM_POWER_OFF : VM_RESET);
}

static int put(struct vm *vm, struct bus *b, uint64_t base, uint64_t len,
	       bus_access_fn fn, void *dev, const char *name)
{
	if (!dev) {
		log_error("cannot create device %s", name);
		return -1;
	}
	return bus_register(b, base, len, fn, dev, name);
}

int vm_devices_write_tables(struct vm *vm)
{
	const struct acpi_config acpi = {
		.nr_cpus = vm->cfg->nr_cpus,
		.lapic_addr = LAYOUT_LAPIC,
		.ioapic_addr = LAYOUT_IOAPIC,
		.ioapic_id = vm->cfg->nr_cpus,
		.pm_base = PORT_ACPI_PM,
		.reset_port = PORT_ACPI_RESET,
		.reset_value = ACPI_RESET_VALUE,
		.sci_irq = IRQ_ACPI_SCI,
		.s5_slp_typ = ACPI_S5_SLP_TYP,
		.pci_slots = (uint32_t)pci_bus_slots_used(vm->pci),
	};
	uint8_t *acpi_buf = gm_ptr(&vm->mem, LAYOUT_ACPI, LAYOUT_ACPI_SIZE);
	uint8_t *mp_buf = gm_ptr(&vm->mem, LAYOUT_MPTABLE, LAYOUT_MPTABLE_SIZE);

	if (!acpi_buf || !mp_buf ||
	    acpi_build(acpi_buf, LAYOUT_ACPI, LAYOUT_ACPI_SIZE, &acpi) == 0) {
		log_error("ACPI tables for %d vCPUs do not fit", vm->cfg->nr_cpus);
		return -1;
	}
	if (mptable_build(mp_buf, LAYOUT_MPTABLE, LAYOUT_MPTABLE_SIZE, vm->cfg->nr_cpus,
			  LAYOUT_LAPIC, LAYOUT_IOAPIC) < 0) {
		log_error("MP table for %d vCPUs does not fit", vm->cfg->nr_cpus);
		return -1;
	}
	return 0;
}

int vm_devices_create(struct vm *vm)
{
	vm->power = (struct power_ctl){ .request = on_power, .opaque = vm };
	vm->com1_irq = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm, .gsi = IRQ_COM1 };
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");

	vm->uart = uart_create(&vm->com1_irq, console_tx, vm->console);
	vm->i8042 = i8042_create(&vm->power);
	vm->kbd_irq = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm, .gsi = I8042_IRQ_KBD };
	if (vm->i8042)
		i8042_set_irq(vm->i8042, &vm->kbd_irq);
	vm->pit_irq = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm, .gsi = I8254_IRQ };
	vm->pit = i8254_create(&vm->loop, &vm->pit_irq, NULL, NULL);
	vm->rtc = rtc_create();
	vm->acpi_pm = acpi_pm_create(&vm->power);
	vm->sci_irq = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm, .gsi = IRQ_ACPI_SCI };
	if (vm->acpi_pm)
		acpi_pm_set_sci(vm->acpi_pm, &vm->sci_irq);
	vm->pci_intx[0] = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm, .gsi = GSI_PCI_INTX_A };
	vm->pci_intx[1] = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm, .gsi = GSI_PCI_INTX_B };
	vm->pci = pci_bus_create(&vm->mmio, vm->pci_intx);
	if (put(vm, &vm->pio, PORT_COM1, 8, uart_io, vm->uart, "COM1") < 0 ||
	    put(vm, &vm->pio, PORT_I8042_DATA, 1, i8042_io, vm->i8042, "i8042") < 0 ||
	    put(vm, &vm->pio, PORT_I8042_CMD, 1, i8042_status_io, vm->i8042, "i8042") < 0 ||
	    put(vm, &vm->pio, PORT_I8254, PORT_I8254_LEN, i8254_io, vm->pit, "PIT") < 0 ||
	    put(vm, &vm->pio, PORT_SPEAKER, 1, i8254_port61_io, vm->pit, "port 0x61") < 0 ||
	    put(vm, &vm->pio, PORT_RTC, 2, rtc_io, vm->rtc, "RTC") < 0 ||
	    put(vm, &vm->pio, PORT_ACPI_PM, PORT_ACPI_PM_LEN, acpi_pm_io, vm->acpi_pm, "ACPI PM") < 0 ||
	    put(vm, &vm->pio, PORT_PCI_CONFIG, 8, pci_config_io, vm->pci, "PCI config") < 0)
		return -1;
	return 0;
}

void vm_devices_destroy(struct vm *vm)
{
	if (vm->uart)
		uart_destroy(vm->uart);
	if (vm->i8042)
		i8042_destroy(vm->i8042);
	if (vm->pit)
		i8254_destroy(vm->pit);
	if (vm->rtc)
		rtc_destroy(vm->rtc);
	if (vm->acpi_pm)
		acpi_pm_destroy(vm->acpi_pm);
	if (vm->pci)
		pci_bus_destroy(vm->pci);
	vm->uart = NULL;
	vm->i8042 = NULL;
	vm->pit = NULL;
	vm->rtc = NULL;
	vm->acpi_pm = NULL;
	vm->pci = NULL;
}
