/* Metrics: counters, snapshot deltas, the JSON of a line in Firecracker's
 * format, and the non-blocking output (a file; a FIFO nobody reads). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/counter.h"
#include "vmm/metrics.h"

static void test_counter(void **state)
{
	counter_t c[3] = { 0 };
	uint64_t out[3];

	counter_inc(&c[0]);
	counter_add(&c[1], 40);
	counter_add(&c[1], 2);
	counters_read(c, out, 3);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 42);
	assert_int_equal(out[2], 0);
}

static void test_delta(void **state)
{
	static struct metrics_snapshot prev, cur, d;

	prev.vcpu[VCPU_CTR_EXIT_IO_OUT] = 10;
	cur.vcpu[VCPU_CTR_EXIT_IO_OUT] = 15;
	cur.uart[UART_CTR_WRITE_COUNT] = 7;
	cur.loop[METRICS_PUT_METRICS] = 1;
	prev.nr_blocks = 1;
	prev.block[0].dev[VIRTIO_BLK_CTR_READ_BYTES] = 512;
	cur.nr_blocks = 2;
	strcpy(cur.block[0].id, "rootfs");
	strcpy(cur.block[1].id, "data");
	cur.block[0].dev[VIRTIO_BLK_CTR_READ_BYTES] = 4096;
	cur.block[1].dev[VIRTIO_BLK_CTR_WRITE_COUNT] = 3;
	metrics_delta(&d, &cur, &prev);
	assert_int_equal(d.vcpu[VCPU_CTR_EXIT_IO_OUT], 5);
	assert_int_equal(d.uart[UART_CTR_WRITE_COUNT], 7);
	assert_int_equal(d.loop[METRICS_PUT_METRICS], 1);
	assert_int_equal(d.nr_blocks, 2);
	assert_string_equal(d.block[1].id, "data");
	assert_int_equal(d.block[0].dev[VIRTIO_BLK_CTR_READ_BYTES], 4096 - 512);
	assert_int_equal(d.block[1].dev[VIRTIO_BLK_CTR_WRITE_COUNT], 3);  /* new: from 0 */
	/* A counter that went down (it cannot) is taken from 0, not wrapped. */
	metrics_delta(&d, &prev, &cur);
	assert_int_equal(d.vcpu[VCPU_CTR_EXIT_IO_OUT], 10);
}

static uint64_t field(json_t *root, const char *group, const char *name)
{
	json_t *g = json_object_get(root, group), *v;

	assert_non_null(g);
	v = json_object_get(g, name);
	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

static void test_json(void **state)
{
	static struct metrics_snapshot s;
	const char *groups[] = { "api_server", "block", "get_api_requests", "logger",
				 "patch_api_requests", "put_api_requests", "uart", "vcpu",
				 "entropy", "interrupts", "virtio" };
	json_t *props = json_pack("{s:s}", "customer", "42");
	struct metrics_line line = { .utc_ms = 1234, .id = "vm1", .properties = props };
	json_t *j;

	s.vcpu[VCPU_CTR_EXIT_IO_IN] = 3;
	s.vcpu[VCPU_CTR_FAILURES] = 1;
	s.uart[UART_CTR_WRITE_COUNT] = 9;
	s.entropy[VIRTIO_RNG_CTR_ENTROPY_BYTES] = 64;
	s.entropy_core[VIRTIO_CTR_NOTIFY] = 2;
	s.virtio[VIRTIO_CTR_QUEUE_IRQ] = 5;
	s.virtio[VIRTIO_CTR_CONFIG_IRQ] = 1;
	s.loop[METRICS_PUT_ACTIONS] = 4;
	s.loop[METRICS_MISSED_METRICS] = 2;
	s.nr_blocks = 2;
	strcpy(s.block[0].id, "rootfs");
	strcpy(s.block[1].id, "data");
	s.block[0].dev[VIRTIO_BLK_CTR_READ_COUNT] = 10;
	s.block[1].dev[VIRTIO_BLK_CTR_READ_COUNT] = 5;
	s.block[1].core[VIRTIO_CTR_NEEDS_RESET] = 1;
	j = metrics_json(&s, &line);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "utc_timestamp_ms")), 1234);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "vm1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "properties"),
							      "customer")), "42");
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		assert_true(json_is_object(json_object_get(j, groups[i])));
	assert_int_equal(field(j, "vcpu", "exit_io_in"), 3);
	assert_int_equal(field(j, "vcpu", "failures"), 1);
	assert_int_equal(field(j, "vcpu", "exit_mmio_write"), 0);
	assert_int_equal(field(j, "uart", "write_count"), 9);
	assert_int_equal(field(j, "uart", "missed_read_count"), 0);
	assert_int_equal(field(j, "entropy", "entropy_bytes"), 64);
	assert_int_equal(field(j, "entropy", "entropy_event_count"), 2);
	assert_int_equal(field(j, "interrupts", "triggers"), 6);
	assert_int_equal(field(j, "interrupts", "config_updates"), 1);
	assert_int_equal(field(j, "put_api_requests", "actions_count"), 4);
	assert_int_equal(field(j, "logger", "missed_metrics_count"), 2);
	/* Per drive, and "block" as their sum, as Firecracker. */
	assert_int_equal(field(j, "block_rootfs", "read_count"), 10);
	assert_int_equal(field(j, "block_data", "read_count"), 5);
	assert_int_equal(field(j, "block_data", "event_fails"), 1);
	assert_int_equal(field(j, "block", "read_count"), 15);
	assert_int_equal(field(j, "block", "event_fails"), 1);
	json_decref(j);

	/* No id, no properties unless asked for. */
	line.id = NULL;
	line.properties = NULL;
	j = metrics_json(&s, &line);
	assert_null(json_object_get(j, "id"));
	assert_null(json_object_get(j, "properties"));
	json_decref(j);
	json_decref(props);
}

static char tmpdir[64];

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/landlord-test-metrics-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_out_file(void **state)
{
	struct metrics_out o = { 0 };
	char path[128], buf[256], err[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/m.json", tmpdir);
	/* Created when missing; appended to when there. */
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old\n", 4), 4);
	close(fd);
	assert_int_equal(metrics_out_open(&o, path, err, sizeof(err)), 0);
	assert_int_equal(metrics_out_write(&o, "{\"a\":1}", 7), 0);
	assert_int_equal(metrics_out_write(&o, "{\"b\":2}", 7), 0);
	metrics_out_close(&o);
	assert_false(o.open);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "old\n{\"a\":1}\n{\"b\":2}\n");

	/* A directory, a missing parent: an error naming the path. */
	assert_int_equal(metrics_out_open(&o, tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, tmpdir));
	snprintf(path, sizeof(path), "%s/no/such", tmpdir);
	assert_int_equal(metrics_out_open(&o, path, err, sizeof(err)), -1);
	/* Writing to an output that is not open fails. */
	assert_int_equal(metrics_out_write(&o, "x", 1), -1);
}

/* A FIFO nobody reads: it opens, and a write that does not fit is dropped
 * (or its tail kept) at once instead of blocking; the stream stays whole
 * lines once a reader drains it. */
static void test_out_fifo(void **state)
{
	struct metrics_out o = { 0 };
	size_t big_len = 100000, got = 0, lines = 0;
	char path[128], err[256], *big = malloc(big_len), *buf = malloc(1 << 20);
	int rd;
	ssize_t n;

	assert_non_null(big);
	assert_non_null(buf);
	memset(big, 'x', big_len);
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(metrics_out_open(&o, path, err, sizeof(err)), 0);
	/* Larger than the pipe: part goes, the rest waits in the output. */
	assert_int_equal(metrics_out_write(&o, big, big_len), 0);
	assert_true(o.pending_len > 0);
	/* The pipe is full: the next line is dropped, EAGAIN. */
	assert_int_equal(metrics_out_write(&o, "{\"n\":1}", 7), -1);
	assert_int_equal(errno, EAGAIN);
	/* A reader drains it; the tail goes first, then the new line. */
	rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	while ((n = read(rd, buf + got, (1 << 20) - got)) > 0)
		got += (size_t)n;
	assert_int_equal(metrics_out_write(&o, "{\"n\":2}", 7), 0);
	assert_int_equal(o.pending_len, 0);
	while ((n = read(rd, buf + got, (1 << 20) - got)) > 0)
		got += (size_t)n;
	assert_int_equal(got, big_len + 1 + 8);
	for (size_t i = 0; i < got; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 2);
	assert_memory_equal(buf + big_len + 1, "{\"n\":2}\n", 8);
	metrics_out_close(&o);
	close(rd);
	free(big);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_out_file),
		cmocka_unit_test(test_out_fifo),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
