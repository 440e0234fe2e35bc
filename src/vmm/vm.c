/* A VM's life: create memory, the KVM VM, devices and vCPUs; load the
 * kernel; run the event loop until a vCPU, a device, the console or a
 * signal asks to stop; tear down; and on a guest reboot with
 * --on-reboot=restart, start again from fresh memory. */
#include <err.h>
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
#include "base/runtime_dir.h"
#include "devices/uart.h"
#include "virtio/virtio_console.h"
#include "vmm/vm.h"

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
		warnx("guest triple fault on vCPU %d", v->id);
		vm_request_stop(vm, VM_CRASH);
		return;
	case VCPU_EXIT_ERROR:
		warnx("guest stopped by an error on vCPU %d", v->id);
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
		warn("event loop set-up");
		return -1;
	}
	if (el_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop_fd, vm) < 0 ||
	    el_add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm) < 0) {
		warn("event loop set-up");
		return -1;
	}
	return vm_console_watch(vm);
}

static int map_memory(struct vm *vm)
{
	if (gm_map(&vm->mem, vm->cfg->mem_size, LAYOUT_PCI_HOLE) < 0) {
		warn("cannot map %llu MiB of guest memory",
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
			warnx("vCPU %d: %s", i, err);
			return -1;
		}
	}
	return 0;
}

static int vm_create(struct vm *vm)
{
	struct boot_spec spec = {
		.kernel_path = vm->cfg->kernel_path,
		.initrd_path = vm->cfg->initrd_path,
		.cmdline = vm->cfg->cmdline,
		.rsdp = LAYOUT_ACPI,
	};
	struct boot_info boot;
	char err[256], cmdline[LAYOUT_CMDLINE_MAX];

	if (kvm_create_vm(vm->kvm) < 0 || map_memory(vm) < 0 || vm_devices_create(vm) < 0 ||
	    vm_virtio_create(vm) < 0)
		return -1;
	if (vm_virtio_cmdline(vm, cmdline, sizeof(cmdline)) < 0) {
		warnx("kernel command line too long with the virtio-mmio devices added");
		return -1;
	}
	spec.cmdline = cmdline;
	if (x86_boot_load(&vm->mem, &spec, &boot, err, sizeof(err)) < 0) {
		warnx("kernel %s: %s", vm->cfg->kernel_path, err);
		return -1;
	}
	return create_vcpus(vm, &boot);
}

static void vm_destroy(struct vm *vm)
{
	if (vm->api)
		api_server_destroy(vm->api);
	vm->api = NULL;
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	vm_virtio_destroy(vm);
	vm_devices_destroy(vm);
	kvm_destroy_vm(vm->kvm);
	gm_unmap(&vm->mem);
	el_close(&vm->loop);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vm_console_unwatch(vm);
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
	if (vm->api)
		return 0;
fail:
	warnx("%s", err);
	return -1;
}

/* One boot of the guest, from fresh memory to a stop reason. */
static enum vm_stop run_once(struct vm *vm)
{
	enum vm_stop why = VM_FAILED;

	atomic_store(&vm->stop, VM_RUNNING);
	vm->stop_fd = vm->input_timer_fd = -1;
	vm->paused = false;
	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	if (watch_fds(vm) < 0 || vm_create(vm) < 0 || start_api(vm) < 0)
		goto out;
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(&vm->vcpus[i]) < 0)
			goto out;
	if (el_run(&vm->loop) < 0) {
		warn("event loop");
		goto out;
	}
	why = atomic_load(&vm->stop);
out:
	vm_destroy(vm);
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
	case VM_QUIT:
		return EXIT_GUEST_OK;
	case VM_API_STOP:
		warnx("stopped through the API");
		return EXIT_GUEST_OK;
	case VM_RESET:
		warnx("guest rebooted; exiting (--on-reboot=exit)");
		return EXIT_GUEST_OK;
	case VM_CRASH:
		return EXIT_GUEST_CRASH;
	case VM_SIGNAL:
		warnx("stopped by %s", strsignal(vm->stop_signal));
		return 128 + vm->stop_signal;
	default:
		return EXIT_SETUP_ERROR;
	}
}

int vm_run(const struct vm_config *cfg)
{
	struct kvm kvm;
	struct console console;
	struct vm vm = { .cfg = cfg, .kvm = &kvm, .console = &console };
	enum vm_stop why = VM_FAILED;
	sigset_t set;

	if (kvm_open(&kvm) < 0)
		return EXIT_SETUP_ERROR;
	if (cfg->nr_cpus > kvm.max_vcpus) {
		warnx("--cpus %d: this host's KVM allows at most %d vCPUs", cfg->nr_cpus,
		      kvm.max_vcpus);
		kvm_close(&kvm);
		return EXIT_SETUP_ERROR;
	}
	if (block_signals(&set) < 0 ||
	    (vm.signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		warn("signal set-up");
		kvm_close(&kvm);
		return EXIT_SETUP_ERROR;
	}
	if (console_open(&console, cfg->console, cfg->console_path) == 0) {
		/* A signal that arrived while the guest was rebooting is still
		 * waiting in the signalfd: look before building a new VM. */
		while ((why = run_once(&vm)) == VM_RESET && cfg->on_reboot == REBOOT_RESTART &&
		       !vm.stop_signal && !take_signal(&vm))
			warnx("guest rebooted; restarting it (--on-reboot=restart)");
		if (why == VM_RESET && vm.stop_signal)
			why = VM_SIGNAL;   /* stopped while rebooting */
		console_close(&console);
	}
	close(vm.signal_fd);
	kvm_close(&kvm);
	return exit_status(&vm, why);
}
