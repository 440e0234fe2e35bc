/* Console input: bytes from the console's input (stdin) and from the client
 * attached with `landlord console` to whichever device is the guest's
 * console (the UART or a virtio-console port), without losing any while the
 * device is full; and guest output to that client.  Runs on the VM's event
 * loop. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/uart.h"
#include "virtio/virtio_console.h"
#include "vmm/vm.h"
#include "vmm/vm_console.h"

#define INPUT_RETRY_NS (10 * 1000 * 1000)   /* device full: look again in 10 ms */
#define CLIENT_SNDBUF  (32 << 10)           /* the client's socket send buffer */

static void arm_retry(struct vm *vm)
{
	struct itimerspec t = { .it_value.tv_nsec = INPUT_RETRY_NS };

	timerfd_settime(vm->input_timer_fd, 0, &t, NULL);
}

/* Room in the guest's console device: none between boots (no device). */
static size_t device_room(struct vm *vm)
{
	if (vm->virtio.console)
		return sizeof(vm->input);
	return vm->uart ? uart_rx_space(vm->uart) : 0;
}

/* Offer the held-back bytes again, to whichever device is the console;
 * true when none are left. */
static bool flush_input(struct vm *vm)
{
	size_t n = 0;

	if (vm->input_len == 0)
		return true;
	if (vm->virtio.console)
		n = virtio_console_input(vm->virtio.console, vm->input, vm->input_len);
	else if (vm->uart)
		n = uart_receive(vm->uart, vm->input, vm->input_len);
	memmove(vm->input, vm->input + n, vm->input_len - n);
	vm->input_len -= n;
	return vm->input_len == 0;
}

/* How many bytes a source may read now: only as many as the device has
 * room for, and only once the bytes held back before are all taken, so
 * nothing is read that the device then refuses. */
static size_t input_room(struct vm *vm)
{
	size_t room = flush_input(vm) ? device_room(vm) : 0;

	return room < sizeof(vm->input) ? room : sizeof(vm->input);
}

/* ---------------------------------------------------------------- stdin */

/* While bytes wait, stop watching stdin and retry on the timer. */
static void hold_stdin(struct vm *vm, int fd)
{
	el_remove(&vm->loop, fd);
	vm->console->in_held = true;
	arm_retry(vm);
}

static void on_input(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	size_t room = input_room(vm);
	uint8_t in[sizeof(vm->input)];
	bool quit = false;
	ssize_t n;

	if (room == 0) {
		hold_stdin(vm, fd);
		return;
	}
	n = read(fd, in, room);
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
		hold_stdin(vm, fd);
	if (quit)
		vm_request_stop(vm, VM_QUIT);
}

/* --------------------------------------------------------------- client */

static void on_client(void *opaque, int fd, uint32_t events);

/* Watch what the client's state asks for: its input unless held or at
 * EOF, EPOLLOUT while output waits.  (EPOLLHUP and EPOLLERR come anyway.) */
static void client_rewatch(struct vm *vm)
{
	struct console_client *cl = &vm->console->client;
	uint32_t ev = 0;

	if (cl->fd < 0 || cl->parked)
		return;
	if (!cl->in_held && !cl->in_eof)
		ev |= EPOLLIN;
	if (cl->out_blocked)
		ev |= EPOLLOUT;
	if (el_modify(&vm->loop, cl->fd, ev) < 0)
		log_warn_errno("console client");
}

static void client_detach(struct vm *vm)
{
	struct console_client *cl = &vm->console->client;

	if (cl->fd < 0)
		return;
	if (!cl->parked)
		el_remove(&vm->loop, cl->fd);
	console_detach(vm->console);
}

static void client_output(struct vm *vm)
{
	struct console_client *cl = &vm->console->client;
	int r = console_client_flush(vm->console);
	bool was = cl->out_blocked;

	if (r < 0) {
		client_detach(vm);
		return;
	}
	cl->out_blocked = r == 1;
	if (cl->out_blocked != was)
		client_rewatch(vm);
}

static void hold_client(struct vm *vm)
{
	vm->console->client.in_held = true;
	client_rewatch(vm);
	arm_retry(vm);
}

/* The client's bytes go to the guest as they are: no escape handling (the
 * client has its own detach key). */
static void client_input(struct vm *vm)
{
	struct console_client *cl = &vm->console->client;
	size_t room = input_room(vm);
	ssize_t n;

	if (room == 0) {
		hold_client(vm);
		return;
	}
	n = read(cl->fd, vm->input, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0) {
		client_detach(vm);
		return;
	}
	if (n == 0) {
		/* It has no more to say; it still gets the output until it
		 * closes. */
		cl->in_eof = true;
		client_rewatch(vm);
		return;
	}
	vm->input_len = (size_t)n;
	if (!flush_input(vm))
		hold_client(vm);
}

static void on_client(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct console_client *cl = &vm->console->client;

	if (events & EPOLLERR) {
		client_detach(vm);
		return;
	}
	if (events & EPOLLOUT)
		client_output(vm);
	if (cl->fd == fd && (events & EPOLLIN) && !cl->in_held && !cl->in_eof)
		client_input(vm);
	if (cl->fd != fd || !(events & EPOLLHUP))
		return;
	/* Gone for good.  Once its input is read to the end, detach; if
	 * the input waits for the device, leave the loop (a hung-up socket
	 * is always ready) and come back when the timer finds room. */
	if (cl->in_eof) {
		client_detach(vm);
	} else if (cl->in_held) {
		el_remove(&vm->loop, fd);
		cl->parked = true;
	}
}

/* Input that arrived with the attach request, handed over as the device
 * takes it; true when it is all gone. */
static bool feed_pre(struct vm *vm)
{
	struct console_client *cl = &vm->console->client;

	while (cl->fd >= 0 && cl->pre_off < cl->pre_len) {
		size_t room = input_room(vm);
		size_t n = cl->pre_len - cl->pre_off;

		if (room == 0)
			return false;
		if (n > room)
			n = room;
		memcpy(vm->input, cl->pre + cl->pre_off, n);
		vm->input_len = n;
		cl->pre_off += n;
	}
	return flush_input(vm);
}

static void client_resume(struct vm *vm)
{
	struct console_client *cl = &vm->console->client;

	if (cl->fd < 0 || !cl->in_held)
		return;
	cl->in_held = false;
	if (cl->parked) {
		cl->parked = false;
		if (el_add(&vm->loop, cl->fd, EPOLLIN, on_client, vm) < 0) {
			console_detach(vm->console);
			return;
		}
	}
	client_rewatch(vm);
}

static void on_wake(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;

	console_take_wake(vm->console);
	if (vm->console->client.fd >= 0 && !vm->console->client.out_blocked)
		client_output(vm);
}

int vm_console_attach(struct vm *vm, int fd, const uint8_t *pre, size_t pre_len)
{
	struct console *c = vm->console;
	int r, sndbuf = CLIENT_SNDBUF;

	if (c->client.fd >= 0)
		return -EBUSY;
	/* Keep the kernel's queue for it small: what a slow client may
	 * lag behind is then the ring's bound, not the socket's. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    el_add(&vm->loop, fd, EPOLLIN, on_client, vm) < 0)
		return -errno;
	r = console_attach(c, fd, pre, pre_len);
	if (r < 0) {
		el_remove(&vm->loop, fd);
		return r;
	}
	/* Its first input goes before anything it sends from now on. */
	if (pre_len)
		hold_client(vm);
	client_output(vm);   /* the history */
	return 0;
}

bool vm_console_attached(const struct vm *vm)
{
	return vm->console->client.fd >= 0;
}

/* ---------------------------------------------------------------- timer */

static void on_input_timer(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct console *c = vm->console;
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	/* Held sources are not watched: offer their bytes here, and watch
	 * them again only once all are taken. */
	if (!flush_input(vm) || !feed_pre(vm)) {
		arm_retry(vm);
		return;
	}
	if (c->in_held) {
		c->in_held = false;
		if (el_add(&vm->loop, c->in_fd, EPOLLIN, on_input, vm) < 0)
			log_warn_errno("console input");
	}
	client_resume(vm);
}

/* Start taking console input: the retry timer, stdin when there is one, and
 * the attached client's output wake-ups (and the client, across a restart
 * of the watch). */
int vm_console_watch(struct vm *vm)
{
	struct console *c = vm->console;

	vm->input_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->input_timer_fd < 0 ||
	    el_add(&vm->loop, vm->input_timer_fd, EPOLLIN, on_input_timer, vm) < 0 ||
	    (c->wake_fd >= 0 && el_add(&vm->loop, c->wake_fd, EPOLLIN, on_wake, vm) < 0)) {
		log_error_errno("console input set-up");
		return -1;
	}
	c->in_held = false;
	/* epoll refuses regular files; such a stdin gives the guest no input. */
	if (c->in_fd >= 0 &&
	    el_add(&vm->loop, c->in_fd, EPOLLIN, on_input, vm) < 0 && errno != EPERM)
		log_warn_errno("console input");
	if (c->client.fd >= 0) {
		c->client.parked = false;
		if (el_add(&vm->loop, c->client.fd, EPOLLIN, on_client, vm) < 0)
			console_detach(c);
		else
			client_rewatch(vm);
		if (c->client.in_held)
			arm_retry(vm);
	}
	return 0;
}

void vm_console_unwatch(struct vm *vm)
{
	struct console *c = vm->console;

	if (vm->input_timer_fd >= 0) {
		el_remove(&vm->loop, vm->input_timer_fd);
		close(vm->input_timer_fd);
	}
	vm->input_timer_fd = -1;
	if (c->in_fd >= 0)
		el_remove(&vm->loop, c->in_fd);
	if (c->wake_fd >= 0)
		el_remove(&vm->loop, c->wake_fd);
	/* The client stays attached (console_close says goodbye to it). */
	if (c->client.fd >= 0)
		el_remove(&vm->loop, c->client.fd);
	vm->input_len = 0;
}
