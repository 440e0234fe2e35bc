/* The API server on a stub VM (no KVM needed): the routes called directly,
 * then the real server on a Unix socket served by an event loop, with a
 * client thread.  Configuration before boot is in test_api_config.c; the
 * stub VM in api_stub_vm.c.  The integration cases
 * (tests/integration/cases_api.py) test the same API on a real VM. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api.h"
#include "api_stub_vm.h"

/* ----------------------------------------------------------------- routes */

static void test_get_endpoints(void **state)
{
	struct vm vm;

	stub_init(&vm, VM_STATE_RUNNING);
	struct api_reply r;
	json_t *d;

	r = route(&vm, "GET", "/", "");
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.body, "id")), "stub");
	assert_string_equal(json_string_value(json_object_get(r.body, "state")), "Running");
	assert_string_equal(json_string_value(json_object_get(r.body, "app_name")), "landlord");
	json_decref(r.body);

	r = route(&vm, "GET", "/machine-config", "");
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.body, "vcpu_count")), 3);
	assert_int_equal(json_integer_value(json_object_get(r.body, "mem_size_mib")), 96);
	assert_true(json_is_false(json_object_get(r.body, "smt")));
	json_decref(r.body);

	r = route(&vm, "GET", "/vm/config", "");
	assert_int_equal(r.status, 200);
	d = json_object_get(r.body, "boot-source");
	assert_string_equal(json_string_value(json_object_get(d, "kernel_image_path")), "/k/vmlinux");
	assert_null(json_object_get(d, "initrd_path"));
	d = json_object_get(r.body, "drives");
	assert_int_equal(json_array_size(d), 2);
	assert_true(json_is_true(json_object_get(json_array_get(d, 0), "is_root_device")));
	assert_true(json_is_false(json_object_get(json_array_get(d, 1), "is_root_device")));
	assert_true(json_is_true(json_object_get(json_array_get(d, 1), "is_read_only")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "drive_id")),
			    "data");
	json_decref(r.body);

	r = route(&vm, "GET", "/landlord/info", "");
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.body, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(r.body, "pid")), 1234);
	assert_int_equal(json_integer_value(json_object_get(r.body, "memory_mib")), 96);
	assert_true(json_real_value(json_object_get(r.body, "uptime_s")) == 2.5);
	assert_int_equal(json_array_size(json_object_get(r.body, "devices")), 3);
	json_decref(r.body);
}

static void test_pause_resume(void **state)
{
	struct vm vm;

	stub_init(&vm, VM_STATE_RUNNING);
	struct api_reply r;

	expect(&vm, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204, NULL);
	assert_int_equal(vm.state, VM_STATE_PAUSED);
	r = route(&vm, "GET", "/", "");
	assert_string_equal(json_string_value(json_object_get(r.body, "state")), "Paused");
	json_decref(r.body);
	expect(&vm, "PATCH", "/vm", "{\"state\": \"Paused\"}", 400, "already paused");
	expect(&vm, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204, NULL);
	assert_int_equal(vm.state, VM_STATE_RUNNING);
	expect(&vm, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 400, "not paused");
}

static void test_bad_requests(void **state)
{
	struct vm vm;

	stub_init(&vm, VM_STATE_RUNNING);

	expect(&vm, "PATCH", "/vm", "", 400, "needs a JSON body");
	expect(&vm, "PATCH", "/vm", "{\"state\": ", 400, "invalid JSON");
	expect(&vm, "PATCH", "/vm", "[1]", 400, "JSON object");
	expect(&vm, "PATCH", "/vm", "{\"state\": 1}", 400, "\"state\" must be a string");
	expect(&vm, "PATCH", "/vm", "{\"state\": \"Paused\", \"x\": 1}", 400, "unknown field \"x\"");
	expect(&vm, "PATCH", "/vm", "{}", 400, "missing field \"state\"");
	expect(&vm, "PATCH", "/vm", "{\"state\": \"Asleep\"}", 400, "Asleep");
	expect(&vm, "PATCH", "/vm", "{\"state\":\"Paused\",\"state\":\"Paused\"}", 400, "duplicate");
	assert_int_equal(vm.state, VM_STATE_RUNNING);
	expect(&vm, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 400, "already running");
	expect(&vm, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204, NULL);
	assert_int_equal(vm.ctrl_alt_dels, 1);
	expect(&vm, "PUT", "/actions", "{\"action_type\": \"Reboot\"}", 400, "Reboot");
	expect(&vm, "PUT", "/landlord/stop", "{\"mode\": \"graceful\"}", 204, NULL);
	assert_int_equal(vm.buttons, 1);
	expect(&vm, "PUT", "/landlord/stop", "{\"mode\": true}", 400, "\"mode\"");
	expect(&vm, "GET", "/nope", "", 404, "/nope");
	expect(&vm, "GET", "/vm/config/", "", 404, NULL);
	expect(&vm, "DELETE", "/vm", "", 405, "PATCH");
	expect(&vm, "GET", "/\xff", "", 404, "/?");   /* not UTF-8: still JSON */
	assert_int_equal(vm.stops, 0);
}

/* ----------------------------------------------------------------- server */

static char sock_path[108];

/* One request on a fresh connection ("Connection: close"); the status, and
 * the whole response in buf. */
static int http(const char *req, char *buf, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0;
	ssize_t n;
	int fd, status = -1;

	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		goto out;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &status);
out:
	if (fd >= 0)
		close(fd);
	return status;
}

struct client_result {
	int info, not_found, too_big, stop;
	char info_resp[2048];
};

static void *client(void *opaque)
{
	struct client_result *res = opaque;
	char buf[2048], big[256];

	res->info = http("GET /landlord/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 res->info_resp, sizeof(res->info_resp));
	res->not_found = http("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			      buf, sizeof(buf));
	snprintf(big, sizeof(big), "PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n"
		 "Connection: close\r\n\r\n", API_MAX_BODY + 1);
	res->too_big = http(big, buf, sizeof(buf));
	res->stop = http("PUT /landlord/stop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			 "Content-Length: 16\r\n\r\n{\"mode\": \"hard\"}", buf, sizeof(buf));
	return NULL;
}

static void test_server(void **state)
{
	struct vm vm;
	struct client_result res = { 0 };
	struct api_server *s, *s2;
	char err[256];
	pthread_t t;
	struct stat st;
	int fd;

	stub_init(&vm, VM_STATE_RUNNING);
	snprintf(sock_path, sizeof(sock_path), "/tmp/landlord-test-api-%d.sock", (int)getpid());
	/* A stale socket (bound, nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, sock_path);
		unlink(sock_path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_int_equal(el_init(&vm.loop), 0);
	s = api_server_create(&vm, &vm.loop, sock_path, err, sizeof(err));
	if (!s)
		fail_msg("api_server_create: %s", err);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A live one is refused. */
	s2 = api_server_create(&vm, &vm.loop, sock_path, err, sizeof(err));
	assert_null(s2);
	assert_non_null(strstr(err, "already running"));

	assert_int_equal(pthread_create(&t, NULL, client, &res), 0);
	el_run(&vm.loop);      /* until the stop request */
	pthread_join(t, NULL);
	api_server_destroy(s);
	el_close(&vm.loop);

	assert_int_equal(res.info, 200);
	assert_non_null(strstr(res.info_resp, "Content-Type: application/json"));
	assert_non_null(strstr(res.info_resp, "\"name\":\"stub\""));
	assert_int_equal(res.not_found, 404);
	assert_int_equal(res.too_big, 413);
	assert_int_equal(res.stop, 204);
	assert_int_equal(vm.stops, 1);
	assert_int_equal(stat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* Not a socket: left alone, an error. */
	fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(el_init(&vm.loop), 0);
	assert_null(api_server_create(&vm, &vm.loop, sock_path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(unlink(sock_path), 0);
	el_close(&vm.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_endpoints),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
