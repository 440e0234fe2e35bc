/* virtio core: status machine, feature negotiation, kicks through the
 * notify eventfds and a real event loop, completions, and NEEDS_RESET,
 * with a fake device and a fake transport that count what they see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/bytes.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"

#define MIB (1ULL << 20)
#define BIT(n) (1ULL << (n))

#define DESC  0x10000ULL
#define AVAIL 0x20000ULL
#define USED  0x30000ULL
#define DATA  0x100000ULL

struct fake {
	struct virtio_dev dev;
	struct guest_mem gm;
	struct event_loop loop;
	int notifies[VIRTIO_MAX_QUEUES];
	int starts, resets;
	int signal_queue[VIRTIO_MAX_QUEUES];
	int signal_config;
	bool quit_on_notify;
	bool locked_in_callback;   /* dev->lock was held when ops ran */
};

static bool lock_held(struct virtio_dev *d)
{
	/* A default mutex: trylock fails with EBUSY when someone (we) holds it. */
	if (pthread_mutex_trylock(&d->lock) == 0) {
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	return true;
}

static void f_notify(struct virtio_dev *d, int q)
{
	struct fake *f = d->priv;

	f->notifies[q]++;
	f->locked_in_callback = lock_held(d);
	if (f->quit_on_notify)
		el_quit(&f->loop);
}

static void f_start(struct virtio_dev *d) { ((struct fake *)d->priv)->starts++; }
static void f_reset(struct virtio_dev *d) { ((struct fake *)d->priv)->resets++; }

static void t_signal_queue(struct virtio_dev *d, int q)
{
	((struct fake *)d->priv)->signal_queue[q]++;
}

static void t_signal_config(struct virtio_dev *d)
{
	((struct fake *)d->priv)->signal_config++;
}

static const struct virtio_dev_ops fake_ops = {
	.queue_notify = f_notify,
	.start = f_start,
	.reset = f_reset,
};

static const struct virtio_transport_ops fake_transport = {
	.signal_queue = t_signal_queue,
	.signal_config = t_signal_config,
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f || gm_map(&f->gm, 16 * MIB, 8 * MIB) < 0 || el_init(&f->loop) < 0)
		return -1;
	f->dev.name = "virtio-fake";
	f->dev.device_id = VIRTIO_ID_RNG;
	f->dev.device_features = BIT(5);
	f->dev.nr_queues = 2;
	f->dev.queue_max = 16;
	f->dev.ops = &fake_ops;
	f->dev.priv = f;
	f->dev.mem = &f->gm;
	f->dev.loop = &f->loop;
	f->dev.transport = &fake_transport;
	if (virtio_dev_init(&f->dev) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	virtio_dev_destroy(&f->dev);
	el_close(&f->loop);
	gm_unmap(&f->gm);
	free(f);
	return 0;
}

static void stop_loop(void *opaque, int fd, uint32_t events)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	el_quit(opaque);
}

/* Run the loop until a callback quits it, or for at most 50 ms. */
static void run_loop(struct fake *f)
{
	struct itimerspec its = { .it_value.tv_nsec = 50 * 1000 * 1000 };
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	assert_true(tfd >= 0);
	assert_int_equal(timerfd_settime(tfd, 0, &its, NULL), 0);
	assert_int_equal(el_add(&f->loop, tfd, EPOLLIN, stop_loop, &f->loop), 0);
	f->loop.quit = false;
	assert_int_equal(el_run(&f->loop), 0);
	el_remove(&f->loop, tfd);
	close(tfd);
}

static void kick(struct fake *f, int q)
{
	uint64_t one = 1;

	assert_int_equal(write(f->dev.notify_fd[q], &one, sizeof(one)), sizeof(one));
}

/* Lay out queue q's rings (size 16) and enable it, as a driver would. */
static int enable_queue(struct fake *f, int q)
{
	struct virtqueue *vq = &f->dev.vq[q];

	vq->desc_gpa = DESC + q * 0x1000;
	vq->avail_gpa = AVAIL + q * 0x1000;
	vq->used_gpa = USED + q * 0x1000;
	return virtio_queue_enable(&f->dev, q);
}

/* The driver's side of 3.1.1 up to DRIVER_OK. */
static void bring_up(struct fake *f, uint64_t features)
{
	struct virtio_dev *d = &f->dev;

	virtio_set_status(d, 0);
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(d, features);
	virtio_set_status(d, d->status | VIRTIO_STATUS_FEATURES_OK);
	assert_true(d->status & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(enable_queue(f, 0), 0);
	assert_int_equal(enable_queue(f, 1), 0);
	virtio_set_status(d, d->status | VIRTIO_STATUS_DRIVER_OK);
	assert_true(d->status & VIRTIO_STATUS_DRIVER_OK);
}

/* Run fn with stderr captured; return the number of lines written and
 * copy the text to out. */
static int capture_stderr(void (*fn)(struct fake *), struct fake *f, char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(2), lines = 0;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	fn(f);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = 0;
	fclose(tmp);
	for (size_t i = 0; i < n; i++)
		lines += out[i] == '\n';
	return lines;
}

/* --- tests --- */

static void init_checks_the_device(void **state)
{
	struct fake *f = *state;
	struct virtio_dev d;
	static const struct { int nr; uint16_t max; } bad[] = {
		{ 0, 16 }, { VIRTIO_MAX_QUEUES + 1, 16 }, { 1, 0 }, { 1, 24 }, { 1, 2048 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		d.name = "bad";
		d.mem = &f->gm;
		d.nr_queues = bad[i].nr;
		d.queue_max = bad[i].max;
		assert_int_equal(virtio_dev_init(&d), -1);
	}
	/* the fixture's device: fds for its queues only, sizes offered */
	assert_true(f->dev.notify_fd[0] >= 0);
	assert_true(f->dev.notify_fd[1] >= 0);
	assert_int_equal(f->dev.notify_fd[2], -1);
	assert_int_equal(f->dev.vq[0].size, 16);
	assert_int_equal(f->dev.vq[0].msix_vector, VQ_NO_VECTOR);
	assert_int_equal(f->dev.status, 0);
}

static void init_without_loop(void **state)
{
	struct fake *f = *state;
	struct virtio_dev d;

	memset(&d, 0, sizeof(d));
	d.name = "no-loop";
	d.mem = &f->gm;
	d.nr_queues = 1;
	d.queue_max = 8;
	assert_int_equal(virtio_dev_init(&d), 0);
	assert_true(d.notify_fd[0] >= 0);
	virtio_dev_destroy(&d);
	assert_int_equal(d.notify_fd[0], -1);
}

static void features(void **state)
{
	struct fake *f = *state;
	struct virtio_dev *d = &f->dev;
	uint64_t offered = virtio_offered_features(d);

	assert_int_equal(offered, BIT(5) | BIT(VIRTIO_F_VERSION_1) |
			 BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX));
	virtio_set_driver_features(d, UINT64_MAX);
	assert_int_equal(d->driver_features, offered);
	virtio_set_driver_features(d, BIT(VIRTIO_F_VERSION_1) | BIT(6));
	assert_int_equal(d->driver_features, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	assert_true(d->status & VIRTIO_STATUS_FEATURES_OK);
	/* final after FEATURES_OK */
	virtio_set_driver_features(d, offered);
	assert_int_equal(d->driver_features, BIT(VIRTIO_F_VERSION_1));
}

static void status_sequence(void **state)
{
	struct fake *f = *state;
	struct virtio_dev *d = &f->dev;

	bring_up(f, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX));
	assert_int_equal(f->starts, 1);
	assert_int_equal(d->status, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_true(d->vq[0].ready);
	assert_true(d->vq[0].event_idx);
	/* bits are not cleared by a write, and the driver cannot set
	 * NEEDS_RESET; writing DRIVER_OK again does not restart */
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_NEEDS_RESET);
	assert_true(d->status & VIRTIO_STATUS_DRIVER_OK);
	assert_false(d->status & VIRTIO_STATUS_NEEDS_RESET);
	virtio_set_status(d, d->status);
	assert_int_equal(f->starts, 1);
	/* FAILED is the driver's to add */
	virtio_set_status(d, d->status | VIRTIO_STATUS_FAILED);
	assert_true(d->status & VIRTIO_STATUS_FAILED);

	/* reset */
	d->vq[0].last_avail = 3;
	d->vq[0].size = 8;
	d->isr = 3;
	virtio_set_status(d, 0);
	assert_int_equal(f->resets, 2);   /* bring_up's reset and this one */
	assert_int_equal(d->status, 0);
	assert_int_equal(d->driver_features, 0);
	assert_int_equal(d->isr, 0);
	assert_false(d->vq[0].ready);
	assert_false(d->vq[0].event_idx);
	assert_int_equal(d->vq[0].last_avail, 0);
	assert_int_equal(d->vq[0].size, 16);
	assert_int_equal(d->vq[0].desc_gpa, 0);

	/* without EVENT_IDX the queues do not use it */
	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	assert_false(d->vq[1].event_idx);
	assert_int_equal(f->starts, 2);
}

static void features_ok_needs_version_1(void **state)
{
	struct fake *f = *state;
	struct virtio_dev *d = &f->dev;

	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(d, BIT(VIRTIO_F_EVENT_IDX));       /* legacy driver */
	virtio_set_status(d, d->status | VIRTIO_STATUS_FEATURES_OK);
	assert_false(d->status & VIRTIO_STATUS_FEATURES_OK);          /* refused */
	/* no DRIVER_OK either, so the device never runs */
	virtio_set_status(d, d->status | VIRTIO_STATUS_DRIVER_OK);
	assert_false(d->status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->starts, 0);
	/* the driver may try again with VERSION_1 */
	virtio_set_driver_features(d, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(d, d->status | VIRTIO_STATUS_FEATURES_OK);
	assert_true(d->status & VIRTIO_STATUS_FEATURES_OK);
}

static void kick_through_eventfd(void **state)
{
	struct fake *f = *state;
	uint64_t n;

	/* before DRIVER_OK a kick is drained and dropped */
	kick(f, 1);
	run_loop(f);
	assert_int_equal(f->notifies[1], 0);
	assert_int_equal(read(f->dev.notify_fd[1], &n, sizeof(n)), -1);

	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	f->quit_on_notify = true;
	kick(f, 1);
	kick(f, 1);                     /* folds into one pass */
	run_loop(f);
	assert_int_equal(f->notifies[1], 1);
	assert_int_equal(f->notifies[0], 0);
	assert_true(f->locked_in_callback);
	assert_int_equal(read(f->dev.notify_fd[1], &n, sizeof(n)), -1);
	kick(f, 0);
	run_loop(f);
	assert_int_equal(f->notifies[0], 1);

	/* a queue that is not ready is not run */
	f->dev.vq[0].ready = false;
	kick(f, 0);
	run_loop(f);
	assert_int_equal(f->notifies[0], 1);
}

static void kick_without_eventfd(void **state)
{
	struct fake *f = *state;

	virtio_queue_kick(&f->dev, 0);
	assert_int_equal(f->notifies[0], 0);
	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	virtio_queue_kick(&f->dev, 0);
	virtio_queue_kick(&f->dev, 1);
	virtio_queue_kick(&f->dev, 2);  /* no such queue */
	virtio_queue_kick(&f->dev, -1);
	assert_int_equal(f->notifies[0], 1);
	assert_int_equal(f->notifies[1], 1);
	assert_true(f->locked_in_callback);
}

static void complete_and_signal(void **state)
{
	struct fake *f = *state;
	struct virtio_dev *d = &f->dev;
	uint8_t *used = gm_ptr(&f->gm, USED, 16), *avail = gm_ptr(&f->gm, AVAIL, 4);

	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	virtio_queue_complete(d, 0, 3, 512);
	assert_int_equal(get_le16(used + 2), 1);
	assert_int_equal(get_le32(used + 4), 3);
	assert_int_equal(get_le32(used + 8), 512);
	assert_int_equal(f->signal_queue[0], 1);
	assert_true(d->isr & VIRTIO_ISR_QUEUE);
	/* the driver suppresses interrupts */
	put_le16(avail, VRING_AVAIL_F_NO_INTERRUPT);
	virtio_queue_complete(d, 0, 4, 0);
	assert_int_equal(get_le16(used + 2), 2);
	assert_int_equal(f->signal_queue[0], 1);
	assert_int_equal(f->signal_config, 0);
}

static void do_enable_bad_queue(struct fake *f)
{
	struct virtqueue *vq = &f->dev.vq[1];

	vq->desc_gpa = 16 * MIB - 8;
	vq->avail_gpa = AVAIL;
	vq->used_gpa = USED;
	assert_int_equal(virtio_queue_enable(&f->dev, 1), -1);
	/* a second bad queue is the same breakage: no second line */
	vq->size = 32;                  /* > queue_max */
	vq->desc_gpa = DESC;
	assert_int_equal(virtio_queue_enable(&f->dev, 1), -1);
}

static void bad_queue_enable_breaks(void **state)
{
	struct fake *f = *state;
	struct virtio_dev *d = &f->dev;
	char log[512];

	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(d, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(d, d->status | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(capture_stderr(do_enable_bad_queue, f, log, sizeof(log)), 1);
	assert_non_null(strstr(log, ": virtio-fake: queue 1: "));
	assert_non_null(strstr(log, "; device needs reset\n"));
	assert_true(d->broken);
	assert_false(d->vq[1].ready);
	assert_true(d->status & VIRTIO_STATUS_NEEDS_RESET);
	/* before DRIVER_OK: no interrupt, the driver reads the status */
	assert_int_equal(f->signal_config, 0);
	assert_false(d->isr & VIRTIO_ISR_CONFIG);
	/* DRIVER_OK on a broken device does not start it */
	virtio_set_status(d, d->status | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->starts, 0);
	assert_int_equal(virtio_queue_enable(d, 5), -1);
}

static void break_twice(struct fake *f)
{
	virtio_mark_broken(&f->dev, "queue %d: descriptor loop", 0);
	virtio_mark_broken(&f->dev, "again");
}

static void mark_broken_until_reset(void **state)
{
	struct fake *f = *state;
	struct virtio_dev *d = &f->dev;
	uint8_t *used = gm_ptr(&f->gm, USED, 16);
	uint32_t gen;
	char log[512];

	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	gen = d->config_generation;
	assert_int_equal(capture_stderr(break_twice, f, log, sizeof(log)), 1);
	assert_non_null(strstr(log, "virtio-fake: queue 0: descriptor loop; device needs reset\n"));
	assert_true(d->broken);
	assert_true(d->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(d->status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(d->config_generation, gen + 1);
	assert_true(d->isr & VIRTIO_ISR_CONFIG);
	assert_int_equal(f->signal_config, 1);

	/* no kicks or completions reach the device now */
	kick(f, 0);
	run_loop(f);
	virtio_queue_kick(d, 0);
	assert_int_equal(f->notifies[0], 0);
	virtio_queue_complete(d, 0, 1, 1);
	assert_int_equal(get_le16(used + 2), 0);
	assert_int_equal(f->signal_queue[0], 0);

	/* reset brings it back */
	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	assert_false(d->broken);
	assert_false(d->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(d->config_generation, gen + 1);
	f->quit_on_notify = true;
	kick(f, 0);
	run_loop(f);
	assert_int_equal(f->notifies[0], 1);
	/* and it can break again, with one more line and signal */
	assert_int_equal(capture_stderr(break_twice, f, log, sizeof(log)), 1);
	assert_int_equal(f->signal_config, 2);
}

/* A hostile driver: reset, break the device, and again, many times. */
static void break_in_a_loop(struct fake *f)
{
	for (int i = 0; i < 1000; i++) {
		virtio_set_status(&f->dev, 0);
		virtio_mark_broken(&f->dev, "breakage %d", i);
		assert_true(f->dev.broken);
	}
}

static void needs_reset_log_is_rate_limited(void **state)
{
	struct fake *f = *state;
	char log[4096];

	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(capture_stderr(break_in_a_loop, f, log, sizeof(log)),
			 VIRTIO_BROKEN_LOG_BURST);
	assert_non_null(strstr(log, "virtio-fake: breakage 0; device needs reset\n"));
	assert_non_null(strstr(log, "(further reports rate-limited)\n"));
	assert_null(strstr(log, "breakage 999"));
	/* each breakage still reaches the driver */
	assert_true(f->dev.status & VIRTIO_STATUS_NEEDS_RESET);
	/* a minute later the skipped ones are counted on the next line */
	f->dev.log_refill_s -= VIRTIO_BROKEN_LOG_PERIOD_S;
	virtio_set_status(&f->dev, 0);
	assert_int_equal(capture_stderr(break_twice, f, log, sizeof(log)), 1);
	assert_non_null(strstr(log, "(984 earlier reports not logged)\n"));
}

static void do_complete_bad_used(struct fake *f)
{
	f->dev.vq[0].used_gpa = 16 * MIB;   /* the driver moved it after enabling */
	virtio_queue_complete(&f->dev, 0, 0, 0);
}

static void complete_to_bad_used_ring_breaks(void **state)
{
	struct fake *f = *state;
	char log[512];

	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(capture_stderr(do_complete_bad_used, f, log, sizeof(log)), 1);
	assert_true(f->dev.broken);
	assert_int_equal(f->signal_config, 1);
	assert_int_equal(f->signal_queue[0], 0);
}

static void destroy_resets_device(void **state)
{
	struct fake *f = *state;

	bring_up(f, BIT(VIRTIO_F_VERSION_1));
	f->resets = 0;
	virtio_dev_destroy(&f->dev);
	assert_int_equal(f->resets, 1);
	assert_int_equal(f->dev.notify_fd[0], -1);
	for (int i = 0; i < EL_MAX_WATCHES; i++)
		assert_int_equal(f->loop.watches[i].fd, -1);
	/* again, for teardown to undo */
	assert_int_equal(virtio_dev_init(&f->dev), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(init_checks_the_device),
		T(init_without_loop),
		T(features),
		T(status_sequence),
		T(features_ok_needs_version_1),
		T(kick_through_eventfd),
		T(kick_without_eventfd),
		T(complete_and_signal),
		T(bad_queue_enable_breaks),
		T(mark_broken_until_reset),
		T(needs_reset_log_is_rate_limited),
		T(complete_to_bad_used_ring_breaks),
		T(destroy_resets_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
