/* Where API sockets live: the environment's say, and refusing a directory
 * that is not ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/runtime_dir.h"

static void precedence(void **state)
{
	char buf[256], err[256];

	setenv("LANDLORD_RUNTIME_DIR", "/tmp/ll-own", 1);
	setenv("XDG_RUNTIME_DIR", "/tmp/ll-xdg", 1);
	assert_int_equal(runtime_dir(buf, sizeof(buf), 0, err, sizeof(err)), 0);
	assert_string_equal(buf, "/tmp/ll-own");
	unsetenv("LANDLORD_RUNTIME_DIR");
	assert_int_equal(runtime_dir(buf, sizeof(buf), 0, err, sizeof(err)), 0);
	assert_string_equal(buf, "/tmp/ll-xdg/landlord");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(runtime_dir(buf, sizeof(buf), 0, err, sizeof(err)), 0);
	assert_string_equal(buf, geteuid() == 0 ? "/run/landlord" : buf);
}

static void socket_path(void **state)
{
	char dir[] = "/tmp/landlord-rt-XXXXXX", buf[256], small[16], err[256];

	assert_non_null(mkdtemp(dir));
	setenv("LANDLORD_RUNTIME_DIR", dir, 1);
	assert_int_equal(runtime_socket_path("web", buf, sizeof(buf), 1, err, sizeof(err)), 0);
	assert_true(strlen(buf) > 9 && strcmp(buf + strlen(buf) - 9, "/web.sock") == 0);
	assert_int_equal(runtime_socket_path("web", small, sizeof(small), 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	rmdir(dir);
	/* created on demand, mode 0700 */
	assert_int_equal(runtime_dir(buf, sizeof(buf), 1, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	rmdir(dir);
	/* a symlink in its place is refused */
	assert_int_equal(symlink("/tmp", dir), 0);
	assert_int_equal(runtime_dir(buf, sizeof(buf), 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a directory owned"));
	unlink(dir);
	unsetenv("LANDLORD_RUNTIME_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(precedence),
		cmocka_unit_test(socket_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
