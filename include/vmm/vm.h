/* The VM object: guest memory, the KVM VM, its vCPUs and devices, and the
 * event loop that runs beside them.  vm_run() is the whole life of a VM,
 * reboots included, and returns the process exit status. */
#ifndef LANDLORD_VMM_VM_H
#define LANDLORD_VMM_VM_H

#include <stdatomic.h>
#include <time.h>

#include "backends/console.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/power.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "vmm/config.h"
#include "vmm/vm_metrics.h"
#include "vmm/vm_virtio.h"

/* Process exit statuses of `landlord run`. */
#define EXIT_GUEST_OK     0   /* guest powered off, or rebooted with --on-reboot=exit */
#define EXIT_SETUP_ERROR  1   /* bad configuration or KVM set-up failure */
#define EXIT_GUEST_CRASH  2   /* triple fault, KVM internal error, unhandled exit */
/* Stopped by a signal: 128 + the signal number, as a shell reports it. */

enum vm_stop {
	VM_RUNNING = 0,
	VM_POWER_OFF,
	VM_RESET,
	VM_CRASH,
	VM_QUIT,       /* Ctrl-A x on the console */
	VM_SIGNAL,
	VM_API_STOP,   /* stopped through the control API */
	VM_FAILED,     /* the monitor itself failed */
};

struct vm {
	struct vm_config *cfg;   /* changed only before the first boot (the API) */
	struct kvm *kvm;
	struct console *console;
	struct event_loop loop;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu_host vcpu_host;
	struct vcpu *vcpus;
	int nr_vcpus;

	struct power_ctl power;
	struct irq_line com1_irq;
	struct irq_line pci_intx[2];      /* GSI_PCI_INTX_A, _B */
	struct irq_line sci_irq;          /* the ACPI SCI */
	struct irq_line kbd_irq;          /* ISA IRQ 1, the i8042 keyboard */
	struct irq_line pit_irq;          /* ISA IRQ 0, the PIT's channel 0 */
	struct uart *uart;
	struct i8042 *i8042;
	struct i8254 *pit;
	struct rtc *rtc;
	struct acpi_pm *acpi_pm;
	struct pci_bus *pci;
	struct vm_virtio virtio;

	uint8_t input[64];      /* console bytes the UART has not taken yet */
	size_t input_len;

	int stop_fd;            /* eventfd: a vCPU or device asks the loop to stop */
	int input_timer_fd;     /* retries console input while the UART is full */
	int signal_fd;          /* owned by vm_run, shared by every incarnation */
	atomic_int stop;        /* enum vm_stop; the first reason wins */
	int stop_signal;

	bool booted;            /* memory, KVM VM, devices and vCPUs exist */
	bool paused;            /* vCPUs parked by the API (event-loop thread) */
	struct timespec started; /* CLOCK_MONOTONIC, when this boot began */
	struct api_server *api;
	struct vm_metrics metrics;   /* vm_metrics.h; zeros: none configured */
};

int vm_run(struct vm_config *cfg);
/* Build the VM from its configuration and start the vCPUs (the first boot,
 * InstanceStart, or a restart).  0, or -1 with nothing left built and a
 * reason in err, or err empty when the reason went to stderr already.
 * Event-loop thread. */
int vm_boot(struct vm *vm, char *err, size_t errlen);

/* vm_devices.c: create the devices and put them on the buses. */
int vm_devices_create(struct vm *vm);
/* The ACPI and MP tables, once every device is on its bus. */
int vm_devices_write_tables(struct vm *vm);
void vm_devices_destroy(struct vm *vm);
/* vm_console.c: console input to the guest's console device. */
int vm_console_watch(struct vm *vm);
void vm_console_unwatch(struct vm *vm);
/* Ask the VM to stop for this reason; any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop why);

#endif
