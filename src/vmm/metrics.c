/* Metrics in Firecracker's format: snapshots, deltas, the JSON of a line,
 * and the non-blocking output with its periodic timer.  See
 * include/vmm/metrics.h and docs/API.md ("Metrics"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vmm/metrics.h"

#define NAME2(id, name) name,
#define NAME3(id, group, name) name,
#define GROUP3(id, group, name) group,

static const char *const vcpu_names[] = { VCPU_COUNTERS(NAME2) };
static const char *const uart_names[] = { UART_COUNTERS(NAME2) };
static const char *const blk_names[] = { VIRTIO_BLK_COUNTERS(NAME2) };
static const char *const rng_names[] = { VIRTIO_RNG_COUNTERS(NAME2) };
static const char *const loop_names[] = { METRICS_LOOP_COUNTERS(NAME3) };
static const char *const loop_groups[] = { METRICS_LOOP_COUNTERS(GROUP3) };

/* The core's counters under each device kind's Firecracker names. */
struct core_name {
	enum virtio_counter c;
	const char *name;
};

static const struct core_name blk_core[] = {
	{ VIRTIO_CTR_ACTIVATE_FAILS, "activate_fails" },
	{ VIRTIO_CTR_NOTIFY, "queue_event_count" },
	{ VIRTIO_CTR_NEEDS_RESET, "event_fails" },
};

static const struct core_name rng_core[] = {
	{ VIRTIO_CTR_ACTIVATE_FAILS, "activate_fails" },
	{ VIRTIO_CTR_NOTIFY, "entropy_event_count" },
	{ VIRTIO_CTR_NEEDS_RESET, "entropy_event_fails" },
};

/* landlord's "virtio" group: the core's counters over every device. */
static const char *const virtio_names[VIRTIO_CTR_NR] = {
	[VIRTIO_CTR_NOTIFY] = "notify_count",
	[VIRTIO_CTR_QUEUE_IRQ] = "queue_irq_count",
	[VIRTIO_CTR_CONFIG_IRQ] = "config_irq_count",
	[VIRTIO_CTR_NEEDS_RESET] = "needs_reset_count",
	[VIRTIO_CTR_ACTIVATE_FAILS] = "activate_fails",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(ARRAY_LEN(loop_names) == METRICS_LOOP_NR, "loop counter names");

/* ------------------------------------------------------------ snapshots */

void metrics_add(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

static void sub(uint64_t *out, const uint64_t *cur, const uint64_t *prev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = cur[i] >= prev[i] ? cur[i] - prev[i] : cur[i];
}

void metrics_delta(struct metrics_snapshot *out, const struct metrics_snapshot *cur,
		   const struct metrics_snapshot *prev)
{
	static const struct metrics_block none;

	sub(out->vcpu, cur->vcpu, prev->vcpu, VCPU_CTR_NR);
	sub(out->uart, cur->uart, prev->uart, UART_CTR_NR);
	sub(out->entropy, cur->entropy, prev->entropy, VIRTIO_RNG_CTR_NR);
	sub(out->entropy_core, cur->entropy_core, prev->entropy_core, VIRTIO_CTR_NR);
	sub(out->virtio, cur->virtio, prev->virtio, VIRTIO_CTR_NR);
	sub(out->loop, cur->loop, prev->loop, METRICS_LOOP_NR);
	out->nr_blocks = cur->nr_blocks;
	for (int i = 0; i < cur->nr_blocks; i++) {
		const struct metrics_block *p = i < prev->nr_blocks ? &prev->block[i] : &none;

		memcpy(out->block[i].id, cur->block[i].id, sizeof(out->block[i].id));
		sub(out->block[i].dev, cur->block[i].dev, p->dev, VIRTIO_BLK_CTR_NR);
		sub(out->block[i].core, cur->block[i].core, p->core, VIRTIO_CTR_NR);
	}
}

/* ----------------------------------------------------------------- JSON */

static void put_u64(json_t *g, const char *name, uint64_t v)
{
	json_object_set_new(g, name, json_integer((json_int_t)v));
}

static json_t *new_group(json_t *root, const char *name)
{
	json_t *g = json_object();

	json_object_set_new(root, name, g);
	return g;
}

static void put_array(json_t *g, const char *const *names, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_u64(g, names[i], v[i]);
}

static void put_core(json_t *g, const struct core_name *names, size_t n, const uint64_t *core)
{
	for (size_t i = 0; i < n; i++)
		put_u64(g, names[i].name, core[names[i].c]);
}

static void put_block(json_t *g, const uint64_t *dev, const uint64_t *core)
{
	put_core(g, blk_core, ARRAY_LEN(blk_core), core);
	put_array(g, blk_names, dev, VIRTIO_BLK_CTR_NR);
}

/* block_<id> for each drive, then block: their sum, as Firecracker. */
static void put_blocks(json_t *root, const struct metrics_snapshot *s)
{
	struct metrics_block sum = { .id = "" };
	char name[METRICS_ID_MAX + 8];

	for (int i = 0; i < s->nr_blocks; i++) {
		snprintf(name, sizeof(name), "block_%s", s->block[i].id);
		put_block(new_group(root, name), s->block[i].dev, s->block[i].core);
		metrics_add(sum.dev, s->block[i].dev, VIRTIO_BLK_CTR_NR);
		metrics_add(sum.core, s->block[i].core, VIRTIO_CTR_NR);
	}
	put_block(new_group(root, "block"), sum.dev, sum.core);
}

static void put_loop(json_t *root, const struct metrics_snapshot *s)
{
	for (int i = 0; i < METRICS_LOOP_NR; i++) {
		json_t *g = json_object_get(root, loop_groups[i]);

		if (g)
			put_u64(g, loop_names[i], s->loop[i]);
	}
}

json_t *metrics_json(const struct metrics_snapshot *s, const struct metrics_line *line)
{
	json_t *root = json_object(), *g;

	if (!root)
		return NULL;
	put_u64(root, "utc_timestamp_ms", line->utc_ms);
	if (line->id)
		json_object_set_new(root, "id", json_string(line->id));
	if (line->properties)
		json_object_set(root, "properties", line->properties);
	/* The groups in Firecracker's order; the loop counters fill theirs. */
	new_group(root, "api_server");
	put_blocks(root, s);
	new_group(root, "get_api_requests");
	new_group(root, "logger");
	new_group(root, "patch_api_requests");
	new_group(root, "put_api_requests");
	put_loop(root, s);
	put_array(new_group(root, "uart"), uart_names, s->uart, UART_CTR_NR);
	put_array(new_group(root, "vcpu"), vcpu_names, s->vcpu, VCPU_CTR_NR);
	g = new_group(root, "entropy");
	put_core(g, rng_core, ARRAY_LEN(rng_core), s->entropy_core);
	put_array(g, rng_names, s->entropy, VIRTIO_RNG_CTR_NR);
	g = new_group(root, "interrupts");
	put_u64(g, "triggers", s->virtio[VIRTIO_CTR_QUEUE_IRQ] + s->virtio[VIRTIO_CTR_CONFIG_IRQ]);
	put_u64(g, "config_updates", s->virtio[VIRTIO_CTR_CONFIG_IRQ]);
	put_array(new_group(root, "virtio"), virtio_names, s->virtio, VIRTIO_CTR_NR);
	return root;
}

uint64_t metrics_utc_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --------------------------------------------------------------- output */

int metrics_out_open(struct metrics_out *o, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		      0600);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	*o = (struct metrics_out){ .open = true, .fd = fd, .timer_fd = -1 };
	return 0;
}

static void on_timer(void *opaque, int fd, uint32_t events)
{
	struct metrics_out *o = opaque;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;                  /* EAGAIN: nothing expired after all */
	o->tick(o->opaque);
}

int metrics_out_start_timer(struct metrics_out *o, struct event_loop *loop,
			    unsigned period_ms, void (*tick)(void *), void *opaque)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = period_ms / 1000;
	its.it_value.tv_nsec = (long)(period_ms % 1000) * 1000000;
	its.it_interval = its.it_value;
	o->tick = tick;
	o->opaque = opaque;
	o->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (o->timer_fd < 0)
		return -1;
	if (timerfd_settime(o->timer_fd, 0, &its, NULL) < 0 ||
	    el_add(loop, o->timer_fd, EPOLLIN, on_timer, o) < 0) {
		close(o->timer_fd);
		o->timer_fd = -1;
		return -1;
	}
	o->loop = loop;
	return 0;
}

/* Write what is left of an earlier line.  0 when nothing is left. */
static int write_pending(struct metrics_out *o)
{
	while (o->pending_len > 0) {
		ssize_t n = write(o->fd, o->pending, o->pending_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EAGAIN;
		if (n <= 0)
			return -1;
		o->pending_len -= (size_t)n;
		memmove(o->pending, o->pending + n, o->pending_len);
	}
	free(o->pending);
	o->pending = NULL;
	return 0;
}

/* A short write: keep the rest, so that the next write finishes this line
 * before it starts another and the stream stays one object per line. */
static int keep_tail(struct metrics_out *o, const char *line, size_t len, size_t done)
{
	size_t rest = len + 1 - done;

	o->pending = malloc(rest);
	if (!o->pending)
		return -1;
	if (done < len)
		memcpy(o->pending, line + done, len - done);
	o->pending[rest - 1] = '\n';
	o->pending_len = rest;
	return 0;
}

int metrics_out_write(struct metrics_out *o, const char *line, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)line, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	ssize_t n;

	if (!o->open) {
		errno = EBADF;
		return -1;
	}
	if (write_pending(o) < 0)
		return -1;
	do
		n = writev(o->fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n < len + 1 && keep_tail(o, line, len, (size_t)n) < 0)
		return -1;
	return 0;
}

void metrics_out_close(struct metrics_out *o)
{
	if (!o->open)
		return;
	if (o->timer_fd >= 0) {
		if (o->loop)
			el_remove(o->loop, o->timer_fd);
		close(o->timer_fd);
	}
	close(o->fd);
	free(o->pending);
	*o = (struct metrics_out){ .fd = -1, .timer_fd = -1 };
}
