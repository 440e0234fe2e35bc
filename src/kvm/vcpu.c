#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "kvm/vcpu.h"

/* The register dump goes where the log goes (fd 2), unless the log is Off;
 * it is not a log line (no "landlord: " on each of its lines).  Written at
 * once, so that two vCPUs dying together do not mix their dumps. */
static void dump_to_log(const struct vcpu *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!log_enabled(LOG_LEVEL_ERROR) || !(f = open_memstream(&text, &len)))
		return;
	vcpu_dump(v, f);
	if (fclose(f) == 0)
		(void)!write(STDERR_FILENO, text, len);
	free(text);
}

static void kick_handler(int sig)
{
	(void)sig;   /* its only job is to make KVM_RUN return EINTR */
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_create(struct vcpu *v, struct kvm *k, int id, const struct vcpu_host *host)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->host = host;
	pthread_mutex_init(&v->pause_lock, NULL);
	pthread_cond_init(&v->pause_cond, NULL);
	v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		log_error_errno("KVM_CREATE_VCPU %d", id);
		return -1;
	}
	v->run_size = k->vcpu_mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		log_error_errno("mmap vCPU %d run area", id);
		v->run = NULL;
		close(v->fd);
		v->fd = -1;
		return -1;
	}
	return 0;
}

/* Port I/O: KVM hands over count items of size bytes at data_offset inside
 * the run page (count > 1 for string instructions).  KVM fills these, but
 * check them anyway before indexing the page. */
static int handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint32_t size = r->io.size, count = r->io.count;
	uint64_t off = r->io.data_offset;
	bool is_write = r->io.direction == KVM_EXIT_IO_OUT;

	counter_inc(&v->ctr[is_write ? VCPU_CTR_EXIT_IO_OUT : VCPU_CTR_EXIT_IO_IN]);
	if ((size != 1 && size != 2 && size != 4) || count == 0 ||
	    off > (uint64_t)v->run_size || (uint64_t)size * count > v->run_size - off) {
		log_error("vCPU %d: malformed I/O exit (size %u, count %u)", v->id, size, count);
		return -1;
	}
	for (uint32_t i = 0; i < count; i++)
		bus_access(v->host->pio, r->io.port, (uint8_t *)r + off + i * size, size, is_write);
	return 0;
}

static int handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	counter_inc(&v->ctr[r->mmio.is_write ? VCPU_CTR_EXIT_MMIO_WRITE : VCPU_CTR_EXIT_MMIO_READ]);
	if (r->mmio.len == 0 || r->mmio.len > sizeof(r->mmio.data)) {
		log_error("vCPU %d: malformed MMIO exit (len %u)", v->id, r->mmio.len);
		return -1;
	}
	bus_access(v->host->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
		   r->mmio.is_write);
	return 0;
}

/* Count the exits that have no handler of their own here. */
static void count_exit(struct vcpu *v, uint32_t reason)
{
	enum vcpu_counter c;

	switch (reason) {
	case KVM_EXIT_IO:
	case KVM_EXIT_MMIO:
		return;                  /* counted by direction in their handlers */
	case KVM_EXIT_INTR: c = VCPU_CTR_EXIT_INTR; break;
	case KVM_EXIT_HLT: c = VCPU_CTR_EXIT_HLT; break;
	case KVM_EXIT_SHUTDOWN: c = VCPU_CTR_EXIT_SHUTDOWN; break;
	case KVM_EXIT_SYSTEM_EVENT: c = VCPU_CTR_EXIT_SYSTEM_EVENT; break;
	case KVM_EXIT_INTERNAL_ERROR: c = VCPU_CTR_EXIT_INTERNAL_ERROR; break;
	case KVM_EXIT_FAIL_ENTRY: c = VCPU_CTR_EXIT_FAIL_ENTRY; break;
	default: c = VCPU_CTR_EXIT_OTHER; break;
	}
	counter_inc(&v->ctr[c]);
}

/* Returns -1 to keep running, or why the loop ends. */
static int handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	count_exit(v, r->exit_reason);
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v) < 0 ? VCPU_EXIT_ERROR : -1;
	case KVM_EXIT_MMIO:
		return handle_mmio(v) < 0 ? VCPU_EXIT_ERROR : -1;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:  /* not produced with an in-kernel irqchip */
		return -1;
	case KVM_EXIT_SHUTDOWN:
		return VCPU_EXIT_TRIPLE_FAULT;
	case KVM_EXIT_SYSTEM_EVENT:
		if (r->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			return VCPU_EXIT_SYSTEM_OFF;
		if (r->system_event.type == KVM_SYSTEM_EVENT_RESET)
			return VCPU_EXIT_SYSTEM_RESET;
		return VCPU_EXIT_ERROR;
	default:
		return VCPU_EXIT_ERROR;
	}
}

/* Park here while a pause is requested; a stop request ends the wait. */
static void park_if_paused(struct vcpu *v)
{
	pthread_mutex_lock(&v->pause_lock);
	if (v->pause_req && !atomic_load(&v->stop)) {
		v->parked = true;
		pthread_cond_broadcast(&v->pause_cond);
		while (v->pause_req && !atomic_load(&v->stop))
			pthread_cond_wait(&v->pause_cond, &v->pause_lock);
		v->parked = false;
	}
	pthread_mutex_unlock(&v->pause_lock);
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *v = opaque;
	sigset_t set;
	int why = -1;

	/* Only the kick signal may interrupt this thread; everything else is
	 * taken by the event loop's signalfd. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (why < 0) {
		park_if_paused(v);
		if (atomic_load(&v->stop)) {
			why = VCPU_EXIT_STOPPED;
			break;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				counter_inc(&v->ctr[VCPU_CTR_EXIT_INTR]);
				v->run->immediate_exit = 0;
				continue;
			}
			log_error_errno("vCPU %d: KVM_RUN", v->id);
			why = VCPU_EXIT_ERROR;
			break;
		}
		why = handle_exit(v);
	}
	if (why == VCPU_EXIT_ERROR || why == VCPU_EXIT_TRIPLE_FAULT)
		counter_inc(&v->ctr[VCPU_CTR_FAILURES]);
	/* A stop request that raced with a guest exit still counts as a stop. */
	if (why == VCPU_EXIT_ERROR || why == VCPU_EXIT_TRIPLE_FAULT)
		dump_to_log(v);
	v->host->exited(v->host->opaque, v, why);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int e = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (e) {
		errno = e;
		log_error_errno("vCPU %d: pthread_create", v->id);
		return -1;
	}
	v->started = true;
	return 0;
}

/* Get the thread out of KVM_RUN: immediate_exit covers a kick that lands
 * just before KVM_RUN is entered; the signal one already inside it. */
static void interrupt_run(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_pause(struct vcpu *v)
{
	pthread_mutex_lock(&v->pause_lock);
	v->pause_req = true;
	pthread_mutex_unlock(&v->pause_lock);
	if (v->started)
		interrupt_run(v);
}

int vcpu_wait_parked(struct vcpu *v, int timeout_ms)
{
	struct timespec t;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&v->pause_lock);
	while (v->started && !v->parked && !atomic_load(&v->stop) && rc == 0)
		rc = pthread_cond_timedwait(&v->pause_cond, &v->pause_lock, &t);
	rc = v->parked || !v->started || atomic_load(&v->stop) ? 0 : -1;
	pthread_mutex_unlock(&v->pause_lock);
	return rc;
}

void vcpu_resume(struct vcpu *v)
{
	pthread_mutex_lock(&v->pause_lock);
	v->pause_req = false;
	pthread_cond_broadcast(&v->pause_cond);
	pthread_mutex_unlock(&v->pause_lock);
}

void vcpu_kick(struct vcpu *v)
{
	atomic_store(&v->stop, true);
	/* A parked vCPU waits on the condition, not in KVM_RUN. */
	pthread_mutex_lock(&v->pause_lock);
	pthread_cond_broadcast(&v->pause_cond);
	pthread_mutex_unlock(&v->pause_lock);
	if (!v->started)
		return;
	interrupt_run(v);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_read_counters(const struct vcpu *v, uint64_t *out)
{
	counters_read(v->ctr, out, VCPU_CTR_NR);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
	pthread_cond_destroy(&v->pause_cond);
	pthread_mutex_destroy(&v->pause_lock);
}
