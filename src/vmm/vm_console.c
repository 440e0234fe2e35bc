/* Console input: bytes from the console's input (stdin) to whichever device
 * is the guest's console (the UART or a virtio-console port), without losing
 * any while the device is full.  Runs on the VM's event loop. */
#include <err.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/uart.h"
#include "virtio/virtio_console.h"
#include "vmm/vm.h"

#define INPUT_RETRY_NS (10 * 1000 * 1000)   /* UART full: look again in 10 ms */

/* Console input: read only as much as the UART's FIFO has room for, and
 * keep what it still refuses (the guest may shrink the room in between),
 * so nothing typed is lost; while bytes wait, stop watching stdin and retry
 * on a timer. */
static void pause_input(struct vm *vm, int fd)
{
	struct itimerspec t = { .it_value.tv_nsec = INPUT_RETRY_NS };

	el_remove(&vm->loop, fd);
	timerfd_settime(vm->input_timer_fd, 0, &t, NULL);
}

/* Offer the held-back bytes again, to whichever device is the console;
 * true when none are left. */
static bool flush_input(struct vm *vm)
{
	size_t n = vm->virtio.console ?
		   virtio_console_input(vm->virtio.console, vm->input, vm->input_len) :
		   uart_receive(vm->uart, vm->input, vm->input_len);

	memmove(vm->input, vm->input + n, vm->input_len - n);
	vm->input_len -= n;
	return vm->input_len == 0;
}

static void on_input(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	size_t room;
	uint8_t in[sizeof(vm->input)];
	bool quit = false;
	ssize_t n;

	room = 0;
	if (flush_input(vm))
		room = vm->virtio.console ? sizeof(in) : uart_rx_space(vm->uart);
	if (room == 0) {
		pause_input(vm, fd);
		return;
	}
	n = read(fd, in, room < sizeof(in) ? room : sizeof(in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {          /* end of input: the guest just gets no more */
		el_remove(&vm->loop, fd);
		return;
	}
	vm->input_len = console_filter_input(vm->console, in, n, vm->input, &quit);
	/* Bytes the device refused (a virtio console whose driver has not
	 * posted receive buffers yet) must not wait for more typing: retry
	 * them on the timer. */
	if (!flush_input(vm))
		pause_input(vm, fd);
	if (quit)
		vm_request_stop(vm, VM_QUIT);
}

static void on_input_timer(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct itimerspec t = { .it_value.tv_nsec = INPUT_RETRY_NS };
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	/* stdin is not watched while bytes are held back: offer them here,
	 * and watch stdin again only once they are all taken. */
	if (!flush_input(vm)) {
		timerfd_settime(fd, 0, &t, NULL);
		return;
	}
	if (el_add(&vm->loop, vm->console->in_fd, EPOLLIN, on_input, vm) < 0)
		warn("console input");
}

/* Start taking console input: the retry timer, and stdin when there is one. */
int vm_console_watch(struct vm *vm)
{
	vm->input_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->input_timer_fd < 0 ||
	    el_add(&vm->loop, vm->input_timer_fd, EPOLLIN, on_input_timer, vm) < 0) {
		warn("console input set-up");
		return -1;
	}
	/* epoll refuses regular files; such a stdin gives the guest no input. */
	if (vm->console->in_fd >= 0 &&
	    el_add(&vm->loop, vm->console->in_fd, EPOLLIN, on_input, vm) < 0 && errno != EPERM)
		warn("console input");
	return 0;
}

void vm_console_unwatch(struct vm *vm)
{
	if (vm->input_timer_fd >= 0) {
		el_remove(&vm->loop, vm->input_timer_fd);
		close(vm->input_timer_fd);
	}
	vm->input_timer_fd = -1;
	if (vm->console->in_fd >= 0)
		el_remove(&vm->loop, vm->console->in_fd);
	vm->input_len = 0;
}
