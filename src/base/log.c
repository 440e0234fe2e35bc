/* The VM process's log (base/log.h): format a line into one buffer, write
 * it to fd 2 with one write(2). */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"

/* The one piece of process-wide state outside the VM object: the log's
 * destination is fd 2, which belongs to the process, not to a VM, and the
 * code that logs (a vCPU thread, a device, the KVM layer) has no VM object
 * to look in; so how lines look lives next to where they go.  Each field is
 * atomic, read once per message: a PUT /logger racing with a message may
 * give that one line the old level tag but the new origin, never a torn
 * value, and no lock is taken on a vCPU thread's way to the guest. */
static struct {
	_Atomic int level;
	atomic_bool show_level;
	atomic_bool show_origin;
} settings = { .level = LOG_LEVEL_INFO };

static const char *const level_tags[] = {
	[LOG_LEVEL_ERROR] = "ERROR", [LOG_LEVEL_WARN] = "WARN", [LOG_LEVEL_INFO] = "INFO",
	[LOG_LEVEL_DEBUG] = "DEBUG", [LOG_LEVEL_TRACE] = "TRACE",
};

void log_set(const struct log_settings *s)
{
	atomic_store(&settings.level, (int)s->level);
	atomic_store(&settings.show_level, s->show_level);
	atomic_store(&settings.show_origin, s->show_origin);
}

void log_get(struct log_settings *s)
{
	s->level = (enum log_level)atomic_load(&settings.level);
	s->show_level = atomic_load(&settings.show_level);
	s->show_origin = atomic_load(&settings.show_origin);
}

bool log_enabled(enum log_level level)
{
	return level != LOG_LEVEL_OFF &&
	       (int)level <= atomic_load_explicit(&settings.level, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *level)
{
	static const struct { const char *name; enum log_level level; } names[] = {
		{ "Off", LOG_LEVEL_OFF }, { "Error", LOG_LEVEL_ERROR },
		{ "Warning", LOG_LEVEL_WARN }, { "Warn", LOG_LEVEL_WARN },
		{ "Info", LOG_LEVEL_INFO }, { "Debug", LOG_LEVEL_DEBUG },
		{ "Trace", LOG_LEVEL_TRACE },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return -1;
}

/* __FILE__ as the build gives it ("../src/vmm/vm.c" from a build directory
 * in the tree), from the source tree's root. */
static const char *origin_path(const char *file)
{
	for (;;) {
		if (strncmp(file, "../", 3) == 0)
			file += 3;
		else if (strncmp(file, "./", 2) == 0)
			file += 2;
		else
			return file;
	}
}

/* Append to buf[*len..size) what fits; *len stops at size - 1. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append_v(char *buf, size_t size, size_t *len, const char *fmt, va_list ap)
{
	int n;

	if (*len >= size - 1)
		return;
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	if (n > 0)
		*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_v(buf, size, len, fmt, ap);
	va_end(ap);
}

/* "[LEVEL:FILE:LINE] ", or the part of it the settings ask for. */
static void append_tag(char *buf, size_t size, size_t *len, enum log_level level,
		       const char *file, int line)
{
	bool show_level = atomic_load(&settings.show_level);
	bool show_origin = atomic_load(&settings.show_origin);

	if (!show_level && !show_origin)
		return;
	append(buf, size, len, "[");
	if (show_level)
		append(buf, size, len, "%s%s", level_tags[level], show_origin ? ":" : "");
	if (show_origin)
		append(buf, size, len, "%s:%d", origin_path(file), line);
	append(buf, size, len, "] ");
}

/* A message is one line: a newline or another control character in it
 * (a URL from an API client, a name) would start a line that looks like
 * landlord's own, so it becomes '?'. */
static void one_line(char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
			text[i] = '?';
}

/* Write the line with one write(2): a short write (a full non-blocking
 * FIFO) loses the rest of this line rather than splitting it around
 * another thread's; a retry is only for a signal that came first. */
static void write_line(const char *buf, size_t len)
{
	while (write(STDERR_FILENO, buf, len) < 0 && errno == EINTR)
		;
}

void log_msg(enum log_level level, const char *file, int line, int errnum,
	     const char *fmt, ...)
{
	/* One byte more than a line: append() keeps one for its NUL. */
	char buf[LOG_LINE_MAX + 1], ebuf[128];
	size_t len = 0, start;
	va_list ap;
	int saved = errno;   /* a log call leaves errno as it was */

	if (!log_enabled(level))
		return;
	append(buf, sizeof(buf), &len, "landlord: ");
	append_tag(buf, sizeof(buf), &len, level, file, line);
	start = len;
	va_start(ap, fmt);
	append_v(buf, sizeof(buf), &len, fmt, ap);
	va_end(ap);
	one_line(buf + start, len - start);
	if (errnum)
		append(buf, sizeof(buf), &len, ": %s", strerror_r(errnum, ebuf, sizeof(ebuf)));
	if (len == LOG_LINE_MAX)
		memcpy(buf + LOG_LINE_MAX - 4, "...", 3);   /* cut: say so */
	else
		len++;
	buf[len - 1] = '\n';
	write_line(buf, len);
	errno = saved;
}
