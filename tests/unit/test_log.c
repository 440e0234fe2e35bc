/* base/log.c: the line format, the level filter, truncation, the errno
 * variants, and one write(2) per line.  fd 2 is a SOCK_SEQPACKET socket
 * during each test: every write(2) arrives as one packet, so reading a
 * packet reads exactly what one write wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

static int saved_stderr = -1, reader = -1;

static int capture(void **state)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	dup2(sv[1], STDERR_FILENO);
	close(sv[1]);
	reader = sv[0];
	log_set(&(struct log_settings){ .level = LOG_LEVEL_INFO });
	return 0;
}

static int release(void **state)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(reader);
	log_set(&(struct log_settings){ .level = LOG_LEVEL_INFO });
	return 0;
}

/* The next write(2) on fd 2, as a string; "" if there was none. */
static const char *next_write(void)
{
	static char buf[2 * LOG_LINE_MAX];
	ssize_t n = recv(reader, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void default_format(void **state)
{
	struct log_settings s;

	log_get(&s);
	assert_int_equal(s.level, LOG_LEVEL_INFO);
	assert_false(s.show_level);
	assert_false(s.show_origin);
	log_warn("disk %s: %d", "vda", 7);
	assert_string_equal(next_write(), "landlord: disk vda: 7\n");
	log_error("bad");
	assert_string_equal(next_write(), "landlord: bad\n");
	log_info("started");
	assert_string_equal(next_write(), "landlord: started\n");
	log_debug("hidden");
	assert_string_equal(next_write(), "");
}

static void level_and_origin(void **state)
{
	char want[256];
	int line;

	log_set(&(struct log_settings){ .level = LOG_LEVEL_DEBUG, .show_level = true });
	log_warn("w");
	assert_string_equal(next_write(), "landlord: [WARN] w\n");
	log_debug("d");
	assert_string_equal(next_write(), "landlord: [DEBUG] d\n");

	log_set(&(struct log_settings){ .level = LOG_LEVEL_DEBUG, .show_origin = true });
	line = __LINE__ + 1;
	log_info("i");
	snprintf(want, sizeof(want), "landlord: [tests/unit/test_log.c:%d] i\n", line);
	assert_string_equal(next_write(), want);

	log_set(&(struct log_settings){ .level = LOG_LEVEL_DEBUG, .show_level = true,
					.show_origin = true });
	line = __LINE__ + 1;
	log_error("e %s", "x");
	snprintf(want, sizeof(want), "landlord: [ERROR:tests/unit/test_log.c:%d] e x\n", line);
	assert_string_equal(next_write(), want);
}

static void filters_by_level(void **state)
{
	log_set(&(struct log_settings){ .level = LOG_LEVEL_ERROR });
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	assert_false(log_enabled(LOG_LEVEL_WARN));
	log_warn("no");
	log_info("no");
	assert_string_equal(next_write(), "");
	log_error("yes");
	assert_string_equal(next_write(), "landlord: yes\n");

	log_set(&(struct log_settings){ .level = LOG_LEVEL_OFF });
	log_error("no");
	assert_string_equal(next_write(), "");
	assert_false(log_enabled(LOG_LEVEL_OFF));

	log_set(&(struct log_settings){ .level = LOG_LEVEL_DEBUG });
	log_trace("no");
	assert_string_equal(next_write(), "");
	log_debug("yes");
	assert_string_equal(next_write(), "landlord: yes\n");

	log_set(&(struct log_settings){ .level = LOG_LEVEL_TRACE });
	log_trace("yes");
	assert_string_equal(next_write(), "landlord: yes\n");
}

static void truncates_long_lines(void **state)
{
	static char big[3 * LOG_LINE_MAX];
	const char *got;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	log_warn_errno("%s", big);
	got = next_write();
	len = strlen(got);
	assert_int_equal(len, LOG_LINE_MAX);
	assert_memory_equal(got, "landlord: xxx", 13);
	assert_string_equal(got + len - 5, "x...\n");

	/* One short of the limit: whole, no "...". */
	big[LOG_LINE_MAX - strlen("landlord: \n")] = '\0';
	log_warn("%s", big);
	got = next_write();
	assert_int_equal(strlen(got), LOG_LINE_MAX);
	assert_string_equal(got + LOG_LINE_MAX - 3, "xx\n");
}

static void one_line_per_message(void **state)
{
	log_warn("GET /a\nlandlord: forged\r%s\tend", "\x1b[2J");
	assert_string_equal(next_write(), "landlord: GET /a?landlord: forged??[2J\tend\n");
}

static void errno_variants(void **state)
{
	errno = ENOENT;
	log_warn_errno("open %s", "disk.img");
	assert_string_equal(next_write(), "landlord: open disk.img: No such file or directory\n");
	assert_int_equal(errno, ENOENT);   /* left as it was */
	errno = EACCES;
	log_error_errno("KVM_CREATE_VM");
	assert_string_equal(next_write(), "landlord: KVM_CREATE_VM: Permission denied\n");
	log_msg(LOG_LEVEL_WARN, "f.c", 1, EINVAL, "explicit");
	assert_string_equal(next_write(), "landlord: explicit: Invalid argument\n");
}

#define THREADS 4
#define LINES 200

static void *log_lines(void *arg)
{
	for (int i = 0; i < LINES; i++)
		log_warn("thread %ld line %d %s", (long)(intptr_t)arg, i,
			 "........................................................");
	return NULL;
}

/* Lines from threads logging at once: each write is one whole line. */
static void one_write_per_line(void **state)
{
	pthread_t t[THREADS];
	int sndbuf = 1 << 20, seen = 0;
	const char *got;

	setsockopt(STDERR_FILENO, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (long i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_lines, (void *)i), 0);
	for (;;) {
		/* Drain while they write, so that none blocks on a full socket. */
		got = next_write();
		if (!*got) {
			if (seen == THREADS * LINES)
				break;
			usleep(1000);
			continue;
		}
		assert_memory_equal(got, "landlord: thread ", 17);
		assert_non_null(strstr(got, "........\n"));
		assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1);
		seen++;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void parses_level_names(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("Warning", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("OFF", &l), 0);
	assert_int_equal(l, LOG_LEVEL_OFF);
	assert_int_equal(log_level_parse("trace", &l), 0);
	assert_int_equal(l, LOG_LEVEL_TRACE);
	assert_int_equal(log_level_parse("Loud", &l), -1);
	assert_int_equal(log_level_parse("", &l), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(default_format, capture, release),
		cmocka_unit_test_setup_teardown(level_and_origin, capture, release),
		cmocka_unit_test_setup_teardown(filters_by_level, capture, release),
		cmocka_unit_test_setup_teardown(truncates_long_lines, capture, release),
		cmocka_unit_test_setup_teardown(one_line_per_message, capture, release),
		cmocka_unit_test_setup_teardown(errno_variants, capture, release),
		cmocka_unit_test_setup_teardown(one_write_per_line, capture, release),
		cmocka_unit_test(parses_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
