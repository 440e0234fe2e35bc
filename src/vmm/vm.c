/* A VM's life: create memory, the KVM VM, devices and vCPUs; load the
 * kernel; run the event loop until a vCPU, a device, the console or a
 * signal asks to stop; tear down; and on a guest reboot with
 * --on-reboot=restart, start again from fresh memory. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "arch/x86/cpu_setup.h"
#include "api/api.h"
#include "arch/x86/layout.h"
#include "base/log.h"
#include "base/runtime_dir.h"
#include "devices/uart.h"
#include "virtio/virtio_console.h"
#include "vmm/vm.h"
#include "vmm/vm_metrics.h"

void vm_request_stop(struct vm *vm, enum vm_stop why)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (atomic_compare_exchange_strong(&vm->stop, &expected, why))
		(void)!write(vm->stop_fd, &one, sizeof(one));
}

static void on_vcpu_exited(void *opaque, struct vcpu *v, enum vcpu_exit why)
{
	struct vm *vm = opaque;

	switch (why) {
	case VCPU_EXIT_STOPPED:
		return;
	case VCPU_EXIT_SYSTEM_OFF:
		vm_request_stop(vm, VM_POWER_OFF);
		return;
	case VCPU_EXIT_SYSTEM_RESET:
		vm_request_stop(vm, VM_RESET);
		return;
	case VCPU_EXIT_TRIPLE_FAULT:
		log_error("guest triple fault on vCPU %d", v->id);
		vm_request_stop(vm, VM_CRASH);
		return;
	case VCPU_EXIT_ERROR:
		log_error("guest stopped by an error on vCPU %d", v->id);
		vm_request_stop(vm, VM_CRASH);
		return;
	}
}

static void on_stop_fd(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	el_quit(&vm->loop);
}

/* Take a pending SIGINT/SIGTERM/SIGHUP from the signalfd (non-blocking);
 * true if there was one.  Kept even when another stop reason won the race (a
 * guest reboot in the same instant): the signal must still end the VM. */
static bool take_signal(struct vm *vm)
{
	struct signalfd_siginfo si;

	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (!vm->stop_signal)
		vm->stop_signal = (int)si.ssi_signo;
	return true;
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;

	if (take_signal(vm))
		vm_request_stop(vm, VM_SIGNAL);
}

static int watch_fds(struct vm *vm)
{
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0 || el_init(&vm->loop) < 0) {
		log_error_errno("event loop set-up");
		return -1;
	}
	if (el_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop_fd, vm) < 0 ||
	    el_add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm) < 0) {
		log_error_errno("event loop set-up");
		return -1;
	}
	return vm_console_watch(vm);
}

static int map_memory(struct vm *vm)
{
	if (gm_map(&vm->mem, vm->cfg->mem_size, LAYOUT_PCI_HOLE) < 0) {
		log_error_errno("cannot map %llu MiB of guest memory",
				(unsigned long long)(vm->cfg->mem_size >> 20));
		return -1;
	}
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];

		if (kvm_set_memory(vm->kvm, i, r->gpa, r->size, r->host) < 0)
			return -1;
	}
	return 0;
}

static int create_vcpus(struct vm *vm, const struct boot_info *boot)
{
	char err[256];

	vm->vcpus = calloc(vm->cfg->nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	vm->vcpu_host = (struct vcpu_host){
		.pio = &vm->pio, .mmio = &vm->mmio, .exited = on_vcpu_exited, .opaque = vm,
	};
	for (int i = 0; i < vm->cfg->nr_cpus; i++) {
		if (vcpu_create(&vm->vcpus[i], vm->kvm, i, &vm->vcpu_host) < 0)
			return -1;
		vm->nr_vcpus++;
		if (x86_vcpu_init(vm->kvm, vm->vcpus[i].fd, i, vm->cfg->nr_cpus,
				  &vm->cfg->cpu_mask, err, sizeof(err)) < 0 ||
		    (i == 0 && x86_vcpu_boot_regs(vm->vcpus[0].fd, boot, err, sizeof(err)) < 0)) {
			log_error("vCPU %d: %s", i, err);
			return -1;
		}
	}
	return 0;
}

/* Memory, the KVM VM, devices, the kernel and the vCPUs of one boot.  On
 * failure err says why where the reason is known here, and is empty when
 * the failure was reported on stderr (the VM's log) already. */
static int vm_create(struct vm *vm, char *err, size_t errlen)
{
	struct boot_spec spec = {
		.kernel_path = vm->cfg->kernel_path,
		.initrd_path = vm->cfg->initrd_path,
		.rsdp = LAYOUT_ACPI,
	};
	struct boot_info boot;
	char why[256], cmdline[LAYOUT_CMDLINE_MAX];

	/* These report their own failures; err stays empty. */
	err[0] = '\0';
	/* Guest memory before the irqchip: setting up either waits for an
	 * SRCU grace period in the kernel, and in this order they overlap
	 * less (start to exit of the bench's tiny guest: 17.6 ms against
	 * 18.3 ms the other way round, medians of 40 interleaved runs on the
	 * PVM host; 24.5 against 27.9 ms when there was an in-kernel PIT). */
	if (kvm_create_vm(vm->kvm) < 0 || map_memory(vm) < 0 ||
	    kvm_create_irqchip(vm->kvm) < 0 || vm_devices_create(vm) < 0 ||
	    vm_virtio_create(vm) < 0 || vm_devices_write_tables(vm) < 0)
		return -1;
	if (vm_virtio_cmdline(vm, cmdline, sizeof(cmdline)) < 0) {
		snprintf(err, errlen, "the kernel command line is too long with the "
			 "virtio-mmio devices and root= added");
		return -1;
	}
	spec.cmdline = cmdline;
	if (x86_boot_load(&vm->mem, &spec, &boot, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "kernel %s: %s", vm->cfg->kernel_path, why);
		return -1;
	}
	return create_vcpus(vm, &boot);
}

/* Undo vm_create (any part of it); the event loop, the API and the console
 * stay, for the next boot or for the end of the process. */
static void vm_teardown(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	/* This boot's counts, kept for the metrics before the devices go. */
	vm_metrics_boot_end(vm);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	vm_virtio_destroy(vm);
	vm_devices_destroy(vm);
	kvm_destroy_vm(vm->kvm);
	gm_unmap(&vm->mem);
	vm->booted = false;
	vm->paused = false;
}

int vm_boot(struct vm *vm, char *err, size_t errlen)
{
	if (vm->booted) {
		snprintf(err, errlen, "the VM is already running");
		return -1;
	}
	if (vm_config_validate(vm->cfg, err, errlen) < 0)
		return -1;
	if (vm->cfg->nr_cpus > vm->kvm->max_vcpus) {
		snprintf(err, errlen, "%d vCPUs: this host's KVM allows at most %d",
			 vm->cfg->nr_cpus, vm->kvm->max_vcpus);
		return -1;
	}
	atomic_store(&vm->stop, VM_RUNNING);
	vm->paused = false;
	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	if (vm_create(vm, err, errlen) < 0)
		goto fail;
	vm->booted = true;
	for (int i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			snprintf(err, errlen, "cannot start vCPU %d", i);
			goto fail;
		}
	}
	log_debug("booted: %d vCPU%s, %llu MiB, kernel %s", vm->nr_vcpus,
		  vm->nr_vcpus == 1 ? "" : "s", (unsigned long long)(vm->cfg->mem_size >> 20),
		  vm->cfg->kernel_path);
	return 0;
fail:
	vm_teardown(vm);
	return -1;
}

/* The control API, on the socket the user named or in the runtime dir. */
static int start_api(struct vm *vm)
{
	char path[4096], err[256];

	if (vm->cfg->api_sock)
		snprintf(path, sizeof(path), "%s", vm->cfg->api_sock);
	else if (runtime_socket_path(vm->cfg->name, path, sizeof(path), 1, err, sizeof(err)) < 0)
		goto fail;
	vm->api = api_server_create(vm, &vm->loop, path, err, sizeof(err));
	if (!vm->api)
		goto fail;
	if (!vm->cfg->kernel_path && !vm->cfg->config_file)
		log_info("waiting for the VM's configuration on %s "
			 "(PUT /boot-source, then PUT /actions InstanceStart)", path);
	return 0;
fail:
	log_error("%s", err);
	return -1;
}

/* The first boot: from the command line or the config file; or none yet,
 * when the VM waits for its configuration through the API. */
static int first_boot(struct vm *vm)
{
	char err[512];

	if (vm->cfg->config_file &&
	    api_apply_config_file(vm, vm->cfg->config_file, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (!vm->cfg->kernel_path)
		return 0;
	if (vm_boot(vm, err, sizeof(err)) < 0) {
		if (err[0])
			log_error("%s", err);
		return -1;
	}
	return 0;
}

/* Run the event loop until something stops the VM; a guest reboot with
 * --on-reboot=restart builds the VM again from fresh memory.  A signal
 * that arrived while the guest was rebooting is still waiting in the
 * signalfd: look before building a new VM. */
static enum vm_stop serve(struct vm *vm)
{
	enum vm_stop why;
	char err[512];

	for (;;) {
		vm->loop.quit = false;
		if (el_run(&vm->loop) < 0) {
			log_error_errno("event loop");
			return VM_FAILED;
		}
		why = atomic_load(&vm->stop);
		if (why != VM_RESET || vm->cfg->on_reboot != REBOOT_RESTART ||
		    vm->stop_signal || take_signal(vm))
			break;
		log_info("guest rebooted; restarting it (--on-reboot=restart)");
		vm_teardown(vm);
		if (vm_boot(vm, err, sizeof(err)) < 0) {
			if (err[0])
				log_error("restart: %s", err);
			return VM_FAILED;
		}
	}
	if (why == VM_RESET && vm->stop_signal)
		why = VM_SIGNAL;   /* stopped while rebooting */
	return why;
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, VCPU_KICK_SIGNAL);
	/* Every thread created from here on inherits the mask; the vCPU threads
	 * unblock only the kick signal. */
	if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0 || vcpu_signals_init() < 0)
		return -1;
	sigdelset(set, VCPU_KICK_SIGNAL);
	return 0;
}

static int exit_status(const struct vm *vm, enum vm_stop why)
{
	switch (why) {
	case VM_POWER_OFF:
		log_debug("guest powered off");
		return EXIT_GUEST_OK;
	case VM_QUIT:
		log_debug("quit from the console (Ctrl-A x)");
		return EXIT_GUEST_OK;
	case VM_API_STOP:
		log_info("stopped through the API");
		return EXIT_GUEST_OK;
	case VM_RESET:
		log_info("guest rebooted; exiting (--on-reboot=exit)");
		return EXIT_GUEST_OK;
	case VM_CRASH:
		return EXIT_GUEST_CRASH;
	case VM_SIGNAL:
		log_info("stopped by %s", strsignal(vm->stop_signal));
		return 128 + vm->stop_signal;
	default:
		return EXIT_SETUP_ERROR;
	}
}

/* The process's VM: the event loop, the API and the console live from here
 * to the end; the VM itself (memory, KVM, devices, vCPUs) from each boot to
 * its stop. */
static enum vm_stop run_vm(struct vm *vm)
{
	enum vm_stop why = VM_FAILED;

	vm->stop_fd = vm->input_timer_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	if (watch_fds(vm) == 0 && start_api(vm) == 0 && first_boot(vm) == 0)
		why = serve(vm);
	if (vm->api)
		api_server_destroy(vm->api);
	vm->api = NULL;
	vm_teardown(vm);
	vm_console_unwatch(vm);
	vm_metrics_close(vm);
	el_close(&vm->loop);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	return why;
}

int vm_run(struct vm_config *cfg)
{
	struct kvm kvm;
	struct console console;
	struct vm vm = { .cfg = cfg, .kvm = &kvm, .console = &console };
	enum vm_stop why = VM_FAILED;
	sigset_t set;

	if (kvm_open(&kvm) < 0)
		return EXIT_SETUP_ERROR;
	if (cfg->kernel_path && cfg->nr_cpus > kvm.max_vcpus) {
		log_error("--cpus %d: this host's KVM allows at most %d vCPUs", cfg->nr_cpus,
			  kvm.max_vcpus);
		kvm_close(&kvm);
		return EXIT_SETUP_ERROR;
	}
	if (block_signals(&set) < 0 ||
	    (vm.signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_error_errno("signal set-up");
		kvm_close(&kvm);
		return EXIT_SETUP_ERROR;
	}
	if (console_open(&console, cfg->console, cfg->console_path) == 0) {
		why = run_vm(&vm);
		console_close(&console);
	}
	close(vm.signal_fd);
	kvm_close(&kvm);
	return exit_status(&vm, why);
}
