/* The transport-independent virtio device (virtio 1.2, 2-3): status
 * machine, feature negotiation, queue enable/complete, kicks from the
 * event loop, and NEEDS_RESET for a guest that broke the rules.
 *
 * Locking: d->lock serialises the vCPU threads (transport registers) and
 * the event-loop thread (kicks, device completions).  Functions named in
 * the header as "lock held" expect the caller to hold it; the eventfd
 * callback and virtio_queue_kick take it themselves. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/virtio.h"

#define BIT(n) (1ULL << (n))

static bool has_status(const struct virtio_dev *d, uint8_t bit)
{
	return (d->status & bit) != 0;
}

static bool negotiated(const struct virtio_dev *d, int bit)
{
	return (d->driver_features & BIT(bit)) != 0;
}

/* Run the device for a kick on queue q, if it is live (lock held).  A
 * kick before DRIVER_OK, on a queue not enabled, or while the device waits
 * for a reset is dropped: the device must not touch the rings then. */
static void dispatch_notify(struct virtio_dev *d, int q)
{
	if (q < 0 || q >= d->nr_queues)
		return;
	counter_inc(&d->ctr[VIRTIO_CTR_NOTIFY]);
	if (!has_status(d, VIRTIO_STATUS_DRIVER_OK) || d->broken || !d->vq[q].ready)
		return;
	if (d->ops && d->ops->queue_notify)
		d->ops->queue_notify(d, q);
}

/* Event-loop callback for a queue's notify eventfd (KVM_IOEVENTFD). */
static void notify_ready(void *opaque, int fd, uint32_t events)
{
	struct virtio_dev *d = opaque;
	uint64_t count;
	int q;

	/* Drain first: kicks that arrive while we run re-arm the fd, so
	 * none is lost, and several kicks fold into one pass. */
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn_errno("%s: notify eventfd", d->name);
	for (q = 0; q < d->nr_queues; q++)
		if (d->notify_fd[q] == fd)
			break;
	pthread_mutex_lock(&d->lock);
	dispatch_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

static void reset_queues(struct virtio_dev *d)
{
	for (int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vq_reset(&d->vq[q]);
		if (q < d->nr_queues)
			d->vq[q].size = d->queue_max;
	}
}

static void close_notify_fds(struct virtio_dev *d)
{
	for (int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (d->notify_fd[q] < 0)
			continue;
		if (d->loop)
			el_remove(d->loop, d->notify_fd[q]);
		close(d->notify_fd[q]);
		d->notify_fd[q] = -1;
	}
}

int virtio_dev_init(struct virtio_dev *d)
{
	int e;

	for (int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		d->notify_fd[q] = -1;
	if (d->nr_queues < 1 || d->nr_queues > VIRTIO_MAX_QUEUES ||
	    d->queue_max == 0 || d->queue_max > VQ_MAX_SIZE ||
	    (d->queue_max & (d->queue_max - 1)) || !d->mem || !d->name) {
		errno = EINVAL;
		return -1;
	}
	e = pthread_mutex_init(&d->lock, NULL);
	if (e) {
		errno = e;
		return -1;
	}
	d->driver_features = 0;
	d->status = 0;
	d->isr = 0;
	d->config_generation = 0;
	d->broken = false;
	d->log_tokens = VIRTIO_BROKEN_LOG_BURST;
	d->log_refill_s = 0;
	d->log_suppressed = 0;
	for (int i = 0; i < VIRTIO_CTR_NR; i++)
		atomic_init(&d->ctr[i], 0);
	reset_queues(d);
	for (int q = 0; q < d->nr_queues; q++) {
		d->notify_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->notify_fd[q] < 0)
			goto fail;
		if (d->loop && el_add(d->loop, d->notify_fd[q], EPOLLIN, notify_ready, d) < 0) {
			e = errno;
			close(d->notify_fd[q]);
			d->notify_fd[q] = -1;
			errno = e;
			goto fail;
		}
	}
	return 0;

fail:
	e = errno;
	close_notify_fds(d);
	pthread_mutex_destroy(&d->lock);
	errno = e;
	return -1;
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	/* Stop kicks first, so no callback can run the device while it is
	 * reset. */
	close_notify_fds(d);
	pthread_mutex_lock(&d->lock);
	if (d->ops && d->ops->reset)
		d->ops->reset(d);
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_destroy(&d->lock);
}

uint64_t virtio_offered_features(const struct virtio_dev *d)
{
	return d->device_features | BIT(VIRTIO_F_VERSION_1) |
	       BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX);
}

void virtio_set_driver_features(struct virtio_dev *d, uint64_t features)
{
	/* Features are final once FEATURES_OK is accepted (3.1.1); a later
	 * write would change the rules under running queues. */
	if (has_status(d, VIRTIO_STATUS_FEATURES_OK))
		return;
	d->driver_features = features & virtio_offered_features(d);
}

static void device_reset(struct virtio_dev *d)
{
	if (d->ops && d->ops->reset)
		d->ops->reset(d);
	reset_queues(d);
	d->driver_features = 0;
	d->status = 0;
	d->isr = 0;
	d->broken = false;
	/* config_generation keeps counting: a driver that cached a value
	 * across the reset must still see it change. */
}

/* FEATURES_OK: accepted only for a virtio 1.x driver (this device is not
 * transitional, 6.1); otherwise the bit stays clear and the driver, reading
 * it back, knows the features were refused (3.1.1 step 6). */
static void features_ok(struct virtio_dev *d)
{
	if (negotiated(d, VIRTIO_F_VERSION_1))
		d->status |= VIRTIO_STATUS_FEATURES_OK;
}

/* DRIVER_OK: queues and features are final; start the device. */
static void driver_ok(struct virtio_dev *d)
{
	if (!has_status(d, VIRTIO_STATUS_FEATURES_OK)) {
		counter_inc(&d->ctr[VIRTIO_CTR_ACTIVATE_FAILS]);
		return;                  /* no negotiation: the device stays off */
	}
	d->status |= VIRTIO_STATUS_DRIVER_OK;
	for (int q = 0; q < d->nr_queues; q++) {
		struct virtqueue *vq = &d->vq[q];

		if (!vq->ready)
			continue;
		vq->event_idx = negotiated(d, VIRTIO_F_EVENT_IDX);
		vq->signalled_valid = false;
	}
	if (!d->broken && d->ops && d->ops->start)
		d->ops->start(d);
}

void virtio_set_status(struct virtio_dev *d, uint8_t status)
{
	uint8_t added;

	if (status == 0) {
		device_reset(d);
		return;
	}
	/* Only a reset clears bits (2.1.1: the driver MUST NOT clear a status
	 * bit); NEEDS_RESET is the device's to set. */
	added = status & ~d->status & ~VIRTIO_STATUS_NEEDS_RESET;
	d->status |= added & (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			      VIRTIO_STATUS_FAILED);
	if (added & VIRTIO_STATUS_FEATURES_OK)
		features_ok(d);
	if (added & VIRTIO_STATUS_DRIVER_OK)
		driver_ok(d);
}

int virtio_queue_enable(struct virtio_dev *d, int q)
{
	struct virtqueue *vq;

	if (q < 0 || q >= d->nr_queues)
		return -1;
	vq = &d->vq[q];
	if (vq->size > d->queue_max || vq_validate(vq, d->mem) < 0) {
		virtio_mark_broken(d, "queue %d: size %u or rings (desc %#llx avail %#llx "
				   "used %#llx) not valid", q, vq->size,
				   (unsigned long long)vq->desc_gpa,
				   (unsigned long long)vq->avail_gpa,
				   (unsigned long long)vq->used_gpa);
		return -1;
	}
	vq->ready = true;
	vq->event_idx = negotiated(d, VIRTIO_F_EVENT_IDX);
	vq->signalled_valid = false;
	return 0;
}

void virtio_queue_kick(struct virtio_dev *d, int q)
{
	pthread_mutex_lock(&d->lock);
	dispatch_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

void virtio_queue_complete(struct virtio_dev *d, int q, uint16_t head, uint32_t len)
{
	struct virtqueue *vq;

	if (q < 0 || q >= d->nr_queues || d->broken)
		return;
	vq = &d->vq[q];
	if (!vq->ready)
		return;
	if (vq_push(vq, d->mem, head, len) < 0) {
		virtio_mark_broken(d, "queue %d: cannot complete descriptor %u", q, head);
		return;
	}
	if (!vq_need_notify(vq, d->mem))
		return;
	d->isr |= VIRTIO_ISR_QUEUE;
	counter_inc(&d->ctr[VIRTIO_CTR_QUEUE_IRQ]);
	if (d->transport && d->transport->signal_queue)
		d->transport->signal_queue(d, q);
}

/* May this breakage be logged?  A token bucket: a guest can reset the
 * device and break it again in a few register writes, as often as it
 * likes, and each breakage is a new report. */
static bool log_allowed(struct virtio_dev *d)
{
	struct timespec ts;
	uint64_t now, periods;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec;
	if (d->log_tokens >= VIRTIO_BROKEN_LOG_BURST || now < d->log_refill_s) {
		d->log_refill_s = now;
	} else {
		periods = (now - d->log_refill_s) / VIRTIO_BROKEN_LOG_PERIOD_S;
		if (periods >= VIRTIO_BROKEN_LOG_BURST - d->log_tokens)
			d->log_tokens = VIRTIO_BROKEN_LOG_BURST;
		else
			d->log_tokens += (unsigned)periods;
		d->log_refill_s += periods * VIRTIO_BROKEN_LOG_PERIOD_S;
	}
	if (d->log_tokens == 0) {
		d->log_suppressed++;
		return false;
	}
	d->log_tokens--;
	return true;
}

void virtio_mark_broken(struct virtio_dev *d, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (d->broken)
		return;                  /* one report per breakage */
	if (log_allowed(d)) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
		if (d->log_suppressed)
			log_warn("%s: %s; device needs reset (%llu earlier reports not logged)",
				 d->name, reason, (unsigned long long)d->log_suppressed);
		else if (d->log_tokens == 0)
			log_warn("%s: %s; device needs reset (further reports rate-limited)",
				 d->name, reason);
		else
			log_warn("%s: %s; device needs reset", d->name, reason);
		d->log_suppressed = 0;
	}
	d->broken = true;
	counter_inc(&d->ctr[VIRTIO_CTR_NEEDS_RESET]);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	d->config_generation++;
	/* 2.1.2: after DRIVER_OK the device must send a configuration change
	 * notification.  Before it, the driver may have no handler yet, and
	 * an unacknowledged level interrupt on a shared line would storm; it
	 * reads the status bit when it gets there. */
	if (!has_status(d, VIRTIO_STATUS_DRIVER_OK))
		return;
	d->isr |= VIRTIO_ISR_CONFIG;
	counter_inc(&d->ctr[VIRTIO_CTR_CONFIG_IRQ]);
	if (d->transport && d->transport->signal_config)
		d->transport->signal_config(d);
}

void virtio_read_counters(const struct virtio_dev *d, uint64_t *out)
{
	counters_read(d->ctr, out, VIRTIO_CTR_NR);
}
