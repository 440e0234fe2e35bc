/* The VM process's log: one line per message on stderr (fd 2), which
 * PUT /logger may point at a file or FIFO.
 *
 *     landlord: MESSAGE                            (the default)
 *     landlord: [LEVEL:FILE:LINE] MESSAGE          (show_level, show_log_origin)
 *
 * LEVEL is ERROR, WARN, INFO, DEBUG or TRACE; FILE is the source file from
 * the source tree's root (src/vmm/vm.c).  With only one of show_level and
 * show_log_origin the brackets hold only that part: [WARN] or
 * [src/vmm/vm.c:49].  This is Firecracker's [instance:thread:LEVEL:file:line]
 * without the instance and thread, which "landlord:" stands in for.
 *
 * Each line is formatted into one buffer and written with a single
 * write(2), so lines from vCPU threads and the event loop never interleave;
 * a line longer than LOG_LINE_MAX is cut and ends in "...", and control
 * characters in the message (a newline in a client's URL) become '?'.  Use the
 * macros, which fill in the origin: log_warn("%s: ...", name). */
#ifndef LANDLORD_BASE_LOG_H
#define LANDLORD_BASE_LOG_H

#include <errno.h>
#include <stdbool.h>

/* Most severe first: a message is written when its level is at most the
 * configured one, so LOG_LEVEL_OFF writes nothing. */
enum log_level {
	LOG_LEVEL_OFF,
	LOG_LEVEL_ERROR,   /* the VM or a requested operation ends */
	LOG_LEVEL_WARN,    /* the guest misbehaves, or something works degraded */
	LOG_LEVEL_INFO,    /* life-cycle events: started, stopped, rebooting */
	LOG_LEVEL_DEBUG,   /* what helps to follow the VM: API requests, set-up */
	LOG_LEVEL_TRACE,
};

/* Lines are cut to this many bytes, newline included: below PIPE_BUF, so
 * that even a write to a pipe is atomic. */
#define LOG_LINE_MAX 1024

struct log_settings {
	enum log_level level;      /* default LOG_LEVEL_INFO */
	bool show_level;
	bool show_origin;
};

/* Process-wide, any thread: from the next message on. */
void log_set(const struct log_settings *s);
void log_get(struct log_settings *s);

/* Whether a message of this level would be written now. */
bool log_enabled(enum log_level level);

/* Firecracker's level names, any case ("Warn" too): 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *level);

/* One line: the prefix, fmt's text, ": strerror(errnum)" unless errnum is 0. */
void log_msg(enum log_level level, const char *file, int line, int errnum,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __FILE__, __LINE__, 0, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __FILE__, __LINE__, 0, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __FILE__, __LINE__, 0, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __FILE__, __LINE__, 0, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_LEVEL_TRACE, __FILE__, __LINE__, 0, __VA_ARGS__)

/* As warn(3): the message, then ": " and errno's text. */
#define log_error_errno(...) log_msg(LOG_LEVEL_ERROR, __FILE__, __LINE__, errno, __VA_ARGS__)
#define log_warn_errno(...)  log_msg(LOG_LEVEL_WARN, __FILE__, __LINE__, errno, __VA_ARGS__)

#endif
