/* The serial console's host side (see backends/console.h): output to
 * stdout or a file, input from stdin, and the ring plus the one attached
 * client of `landlord console`. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/console.h"
#include "base/log.h"

/* Bytes one flush sends before it lets the event loop do other work. */
#define FLUSH_BUDGET  CONSOLE_RING_SIZE

static void make_raw(struct console *c)
{
	struct termios t;

	if (!isatty(c->in_fd) || tcgetattr(c->in_fd, &c->saved) < 0)
		return;
	t = c->saved;
	cfmakeraw(&t);
	if (tcsetattr(c->in_fd, TCSAFLUSH, &t) == 0)
		c->raw = true;
}

/* The ring, its lock and the eventfd that wakes the loop for a client. */
static int ring_open(struct console *c)
{
	c->ring.size = CONSOLE_RING_SIZE;
	c->ring.buf = malloc(c->ring.size);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!c->ring.buf || c->wake_fd < 0 || pthread_mutex_init(&c->lock, NULL) != 0) {
		log_error_errno("console");
		free(c->ring.buf);
		c->ring.buf = NULL;
		if (c->wake_fd >= 0)
			close(c->wake_fd);
		c->wake_fd = -1;
		return -1;
	}
	c->ready = true;
	return 0;
}

static void ring_close(struct console *c)
{
	if (!c->ready)
		return;
	if (c->client.fd >= 0) {
		/* The guest's last words (a panic, "Power down") still go
		 * out, as far as the client's socket takes them now. */
		console_client_flush(c);
		console_detach(c);
	}
	close(c->wake_fd);
	c->wake_fd = -1;
	free(c->ring.buf);
	c->ring.buf = NULL;
	pthread_mutex_destroy(&c->lock);
	c->ready = false;
}

int console_open(struct console *c, enum console_mode mode, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->out_fd = c->in_fd = c->wake_fd = c->client.fd = -1;
	if (ring_open(c) < 0)
		return -1;
	switch (mode) {
	case CONSOLE_NONE:
		return 0;
	case CONSOLE_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (c->out_fd < 0) {
			log_error_errno("console file %s", path);
			ring_close(c);
			return -1;
		}
		c->owns_out = true;
		return 0;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		/* No usable stdin (closed, /dev/null at EOF) just means no input. */
		if (fcntl(STDIN_FILENO, F_GETFD) >= 0)
			c->in_fd = STDIN_FILENO;
		if (c->in_fd >= 0)
			make_raw(c);
		return 0;
	}
	ring_close(c);
	return -1;
}

void console_close(struct console *c)
{
	if (c->raw) {
		tcsetattr(c->in_fd, TCSAFLUSH, &c->saved);
		c->raw = false;
	}
	if (c->owns_out && c->out_fd >= 0)
		close(c->out_fd);
	c->owns_out = false;
	c->out_fd = -1;
	ring_close(c);
}

/* Into the ring; wake the loop once per batch when a client waits for it
 * (wake_pending stays set until the loop has sent everything). */
static void keep(struct console *c, const uint8_t *buf, size_t len)
{
	uint64_t one = 1;
	bool wake = false;

	if (!c->ready)
		return;
	pthread_mutex_lock(&c->lock);
	console_ring_put(&c->ring, buf, len);
	if (c->client_on && !c->wake_pending)
		c->wake_pending = wake = true;
	pthread_mutex_unlock(&c->lock);
	if (wake)
		(void)!write(c->wake_fd, &one, sizeof(one));
}

void console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;
	const uint8_t *p = buf;
	size_t left = len;

	while (c->out_fd >= 0 && left) {
		ssize_t n = write(c->out_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* a closed stdout must not stop the guest */
		p += n;
		left -= n;
	}
	keep(c, buf, len);
}

void console_tx(void *opaque, uint8_t byte)
{
	console_write(opaque, &byte, 1);
}

size_t console_filter_input(struct console *c, const uint8_t *in, size_t n,
			    uint8_t *out, bool *quit)
{
	size_t o = 0;

	/* Escapes only make sense for a person at a terminal; a pipe passes
	 * bytes through untouched. */
	if (!c->raw) {
		memcpy(out, in, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		if (!c->escape) {
			if (in[i] == CONSOLE_ESCAPE)
				c->escape = true;
			else
				out[o++] = in[i];
			continue;
		}
		c->escape = false;
		if (in[i] == 'x' || in[i] == 'X') {
			*quit = true;
			return o;
		}
		if (in[i] == CONSOLE_ESCAPE)
			out[o++] = CONSOLE_ESCAPE;
		/* Any other key after the escape is swallowed, as QEMU does. */
	}
	return o;
}

/* ------------------------------------------------------------------ ring */

void console_ring_put(struct console_ring *r, const uint8_t *p, size_t n)
{
	size_t mask = r->size - 1;

	r->head += n;
	/* Only the last r->size bytes can stay. */
	if (n > r->size) {
		p += n - r->size;
		n = r->size;
	}
	size_t off = (size_t)((r->head - n) & mask);
	size_t first = n < r->size - off ? n : r->size - off;

	memcpy(r->buf + off, p, first);
	memcpy(r->buf, p + first, n - first);
}

size_t console_ring_peek(const struct console_ring *r, uint64_t *pos, uint8_t *out,
			 size_t max, uint64_t *dropped)
{
	uint64_t oldest = r->head > r->size ? r->head - r->size : 0;

	if (*pos < oldest) {
		*dropped += oldest - *pos;
		*pos = oldest;
	}
	if (*pos > r->head)
		*pos = r->head;
	uint64_t avail = r->head - *pos;
	size_t n = avail < max ? (size_t)avail : max;
	size_t off = (size_t)(*pos & (r->size - 1));
	size_t first = n < r->size - off ? n : r->size - off;

	memcpy(out, r->buf + off, first);
	memcpy(out + first, r->buf, n - first);
	return n;
}

/* ---------------------------------------------------------------- client */

int console_attach(struct console *c, int fd, const uint8_t *pre, size_t pre_len)
{
	struct console_client *cl = &c->client;
	uint8_t *copy = NULL;

	if (!c->ready)
		return -ENODEV;
	if (cl->fd >= 0)
		return -EBUSY;
	if (pre_len) {
		copy = malloc(pre_len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, pre, pre_len);
	}
	*cl = (struct console_client){ .fd = fd, .pre = copy, .pre_len = pre_len };
	pthread_mutex_lock(&c->lock);
	cl->pos = c->ring.head > CONSOLE_HISTORY ? c->ring.head - CONSOLE_HISTORY : 0;
	c->client_on = true;
	c->wake_pending = true;   /* the caller sends the history now */
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void console_detach(struct console *c)
{
	struct console_client *cl = &c->client;

	if (cl->fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	c->client_on = false;
	c->wake_pending = false;
	pthread_mutex_unlock(&c->lock);
	close(cl->fd);
	free(cl->pre);
	*cl = (struct console_client){ .fd = -1 };
}

int console_client_flush(struct console *c)
{
	struct console_client *cl = &c->client;
	uint8_t buf[16384];
	size_t budget = FLUSH_BUDGET;

	while (cl->fd >= 0) {
		uint64_t before = cl->dropped;
		ssize_t sent;
		size_t n;

		pthread_mutex_lock(&c->lock);
		n = console_ring_peek(&c->ring, &cl->pos, buf, sizeof(buf), &cl->dropped);
		c->dropped_total += cl->dropped - before;
		/* Seen empty under the lock: new output wakes the loop again. */
		if (n == 0)
			c->wake_pending = false;
		pthread_mutex_unlock(&c->lock);
		if (n == 0)
			return 0;
		sent = send(cl->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (sent <= 0)
			return -1;
		cl->pos += (size_t)sent;
		/* A guest that prints as fast as the client reads must not
		 * keep the loop here: go on when the socket says writable. */
		if ((size_t)sent >= budget)
			return 1;
		budget -= (size_t)sent;
	}
	return -1;
}

void console_take_wake(struct console *c)
{
	uint64_t n;

	if (c->wake_fd >= 0)
		(void)!read(c->wake_fd, &n, sizeof(n));
}
