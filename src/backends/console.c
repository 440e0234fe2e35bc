#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "backends/console.h"

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

int console_open(struct console *c, enum console_mode mode, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->out_fd = c->in_fd = -1;
	switch (mode) {
	case CONSOLE_NONE:
		return 0;
	case CONSOLE_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (c->out_fd < 0) {
			warn("console file %s", path);
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
}

void console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	while (c->out_fd >= 0 && len) {
		ssize_t n = write(c->out_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;   /* a closed stdout must not stop the guest */
		buf += n;
		len -= n;
	}
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
