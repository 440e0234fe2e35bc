/* virtio-rng (virtio 1.2, 5.4).
 *
 * Each chain the driver posts gets random bytes from getrandom(2) in its
 * writable buffers, and goes back with the count written.  A chain may be
 * filled only partly: the driver takes what the used length says.
 *
 * The host's entropy is shared, so a token bucket limits each guest:
 * bytes_per_sec tokens a second, at most one second's worth saved up.  A
 * chain that finds the bucket short stays pending in the device (it is
 * already off the ring) and a timerfd on the event loop brings it back
 * when enough tokens have accrued; so does an EAGAIN from getrandom (pool
 * not initialised yet).  A pass over the ring is bounded, and when the
 * bound cuts it short the device signals its own notify eventfd so the
 * rest runs after whatever else the event loop has waiting. */
#include "base/clock.h"
#include "base/log.h"
#include "virtio/virtio_rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RNG_QUEUE_SIZE   256
#define RNG_CHUNK_MAX    (64 * 1024)   /* bytes into one chain per pass */
#define RNG_PASS_BYTES   (1024 * 1024) /* bytes per pass over the ring */
#define RNG_CHUNK_MIN    64            /* don't trickle out tiny fills */
#define RNG_RETRY_NS     10000000LL    /* getrandom EAGAIN: try again in 10 ms */
#define RNG_MIN_WAIT_NS  1000000LL     /* shortest token wait: 1 ms */

struct virtio_rng {
	struct virtio_dev dev;
	int timer_fd;
	uint64_t rate;            /* bytes per second, 0: unlimited */

	/* Under dev.lock. */
	uint64_t tokens;          /* bytes that may go out now, <= rate */
	uint64_t last_ns;         /* when tokens were last credited */
	bool pending;             /* chain popped and not yet completed */
	bool warned_no_write;
	bool warned_getrandom;
	struct vq_chain chain;    /* big (VQ_MAX_CHAIN buffers): not on a stack */
	counter_t ctr[VIRTIO_RNG_CTR_NR];
};

/* Credit the tokens earned since last_ns.  last_ns moves on only by the
 * time the whole tokens stand for, so a fraction earned between two close
 * calls is not lost. */
static void rng_refill(struct virtio_rng *r)
{
	uint64_t now = clock_mono_ns(), elapsed = now - r->last_ns, add;

	if (r->tokens >= r->rate || elapsed >= NSEC_PER_SEC) {
		r->tokens = r->rate;
		r->last_ns = now;
		return;
	}
	/* elapsed < 1e9 and rate <= 2^34 (VIRTIO_RNG_MAX_RATE): both this
	 * product and add * NSEC_PER_SEC below stay under 2^64. */
	add = elapsed * r->rate / NSEC_PER_SEC;
	if (add == 0)
		return;
	r->last_ns += add * NSEC_PER_SEC / r->rate;
	r->tokens += add;
	if (r->tokens >= r->rate) {
		r->tokens = r->rate;
		r->last_ns = now;
	}
}

static void rng_arm_timer(struct virtio_rng *r, uint64_t ns)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(ns / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(ns % NSEC_PER_SEC);
	timerfd_settime(r->timer_fd, 0, &its, NULL);
}

/* Fill up to want bytes of the chain's writable buffers from getrandom.
 * Returns the count; when it is 0, *err says why. */
static uint64_t rng_fill(const struct vq_chain *c, uint64_t want, int *err)
{
	uint64_t done = 0;

	*err = 0;
	for (uint16_t i = c->nr_out; i < c->nr && done < want; i++) {
		uint64_t len = c->bufs[i].len, off = 0;

		if (len > want - done)
			len = want - done;
		/* Each round either makes progress or ends the fill. */
		while (off < len) {
			ssize_t k = getrandom(c->bufs[i].host + off, len - off, GRND_NONBLOCK);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				*err = k < 0 ? errno : EIO;
				return done + off;
			}
			off += (uint64_t)k;
		}
		done += off;
	}
	return done;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Serve the pending chain.  True when it went back to the driver, false
 * when it has to wait (the timer is armed). */
static bool rng_serve(struct virtio_rng *r, uint64_t *budget)
{
	struct virtio_dev *d = &r->dev;
	const struct vq_chain *c = &r->chain;
	uint64_t want = min_u64(min_u64(c->in_len, RNG_CHUNK_MAX), *budget), got;
	int err;

	if (c->in_len == 0) {
		/* Nothing to fill: a driver bug, but a harmless one. */
		if (!r->warned_no_write)
			log_warn("%s: request without a writable buffer", d->name);
		r->warned_no_write = true;
		want = 0;
		goto complete;
	}
	if (r->rate) {
		uint64_t need = min_u64(min_u64(want, RNG_CHUNK_MIN), r->rate);

		rng_refill(r);
		if (r->tokens < need) {
			uint64_t wait = (need - r->tokens) * NSEC_PER_SEC / r->rate;

			rng_arm_timer(r, wait < RNG_MIN_WAIT_NS ? RNG_MIN_WAIT_NS : wait);
			counter_inc(&r->ctr[VIRTIO_RNG_CTR_ENTROPY_RATE_LIMITER_THROTTLED]);
			return false;
		}
		want = min_u64(want, r->tokens);
	}
	got = rng_fill(c, want, &err);
	if (got == 0) {
		counter_inc(&r->ctr[VIRTIO_RNG_CTR_HOST_RNG_FAILS]);
		if (err != EAGAIN && !r->warned_getrandom)
			log_warn("%s: getrandom: %s; retrying", d->name, strerror(err));
		r->warned_getrandom = err != EAGAIN;
		rng_arm_timer(r, RNG_RETRY_NS);
		return false;
	}
	want = got;
	counter_add(&r->ctr[VIRTIO_RNG_CTR_ENTROPY_BYTES], got);
	if (r->rate)
		r->tokens -= got;
	*budget -= got;
complete:
	r->pending = false;
	virtio_queue_complete(d, 0, c->head, (uint32_t)want);
	return true;
}

/* Serve the ring until it is empty, the bucket is, or the pass's bound is
 * reached.  Lock held. */
static void rng_process(struct virtio_rng *r)
{
	struct virtio_dev *d = &r->dev;
	struct virtqueue *vq = &d->vq[0];
	uint64_t budget = RNG_PASS_BYTES;

	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || d->broken || !vq->ready)
		return;
	for (unsigned int n = 0; n < vq->size && budget > 0; n++) {
		if (!r->pending) {
			int ret = vq_pop(vq, d->mem, &r->chain);

			if (ret < 0) {
				virtio_mark_broken(d, "malformed request ring");
				return;
			}
			if (ret == 0)
				return;
			r->pending = true;
		}
		if (!rng_serve(r, &budget))
			return;
	}
	/* Cut short: come back after the loop's other work. */
	if (eventfd_write(d->notify_fd[0], 1) < 0)
		rng_arm_timer(r, RNG_MIN_WAIT_NS);
}

static void rng_queue_notify(struct virtio_dev *d, int q)
{
	rng_process(d->priv);
}

/* A driver may post and kick before DRIVER_OK; that kick was dropped. */
static void rng_start(struct virtio_dev *d)
{
	rng_process(d->priv);
}

static void rng_reset(struct virtio_dev *d)
{
	struct virtio_rng *r = d->priv;

	/* The bucket is kept: a reset must not buy a fresh burst. */
	r->pending = false;
	rng_arm_timer(r, 0);
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
	.start = rng_start,
	.reset = rng_reset,
};

static void rng_timer(void *opaque, int fd, uint32_t events)
{
	struct virtio_rng *r = opaque;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&r->dev.lock);
	counter_inc(&r->ctr[VIRTIO_RNG_CTR_RATE_LIMITER_EVENT_COUNT]);
	rng_process(r);
	pthread_mutex_unlock(&r->dev.lock);
}

struct virtio_dev *virtio_rng_create(const struct guest_mem *mem, struct event_loop *loop,
				     uint64_t bytes_per_sec, char *err, size_t errlen)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "virtio-rng: out of memory");
		return NULL;
	}
	r->dev.name = "virtio-rng";
	r->dev.device_id = VIRTIO_ID_RNG;
	r->dev.nr_queues = 1;
	r->dev.queue_max = RNG_QUEUE_SIZE;
	r->dev.ops = &rng_ops;
	r->dev.priv = r;
	r->dev.mem = mem;
	r->dev.loop = loop;
	r->rate = min_u64(bytes_per_sec, VIRTIO_RNG_MAX_RATE);
	r->tokens = r->rate;
	r->last_ns = clock_mono_ns();
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timer_fd < 0) {
		snprintf(err, errlen, "virtio-rng: timerfd: %s", strerror(errno));
		free(r);
		return NULL;
	}
	if (virtio_dev_init(&r->dev) < 0) {
		snprintf(err, errlen, "virtio-rng: %s", strerror(errno));
		close(r->timer_fd);
		free(r);
		return NULL;
	}
	if (el_add(loop, r->timer_fd, EPOLLIN, rng_timer, r) < 0) {
		snprintf(err, errlen, "virtio-rng: event loop: %s", strerror(errno));
		virtio_dev_destroy(&r->dev);
		close(r->timer_fd);
		free(r);
		return NULL;
	}
	return &r->dev;
}

void virtio_rng_read_counters(const struct virtio_dev *d, uint64_t *out)
{
	const struct virtio_rng *r = d->priv;

	counters_read(r->ctr, out, VIRTIO_RNG_CTR_NR);
}

void virtio_rng_destroy(struct virtio_dev *d)
{
	struct virtio_rng *r;

	if (!d)
		return;
	r = d->priv;
	virtio_dev_destroy(d);
	el_remove(d->loop, r->timer_fd);
	close(r->timer_fd);
	free(r);
}
