/* One vCPU: its fd, its kvm_run page and the thread that runs it.  The loop
 * dispatches port I/O and MMIO exits to the buses it was handed and reports
 * why it stopped through a callback; it knows nothing about the VM above. */
#ifndef LANDLORD_KVM_VCPU_H
#define LANDLORD_KVM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/kvm.h>

#include "base/counter.h"
#include "devices/bus.h"
#include "kvm/kvm.h"

enum vcpu_exit {
	VCPU_EXIT_STOPPED,       /* asked to stop (vcpu_kick) */
	VCPU_EXIT_SYSTEM_OFF,    /* KVM_SYSTEM_EVENT_SHUTDOWN */
	VCPU_EXIT_SYSTEM_RESET,  /* KVM_SYSTEM_EVENT_RESET */
	VCPU_EXIT_TRIPLE_FAULT,  /* KVM_EXIT_SHUTDOWN */
	VCPU_EXIT_ERROR,         /* internal error, failed entry, unknown exit */
};

/* The exit counters, named as Firecracker's "vcpu" metrics where it has
 * one (exit_io_in ... failures); the others are landlord's.  failures
 * counts the exits that end the VM abnormally: a malformed I/O or MMIO
 * exit, KVM_RUN failing, an internal error, a failed entry, a triple fault
 * or an exit landlord does not handle.  exit_intr counts KVM_RUN returns
 * for a signal (pause, stop) or KVM_EXIT_INTR. */
#define VCPU_COUNTERS(X) \
	X(EXIT_IO_IN, "exit_io_in") \
	X(EXIT_IO_OUT, "exit_io_out") \
	X(EXIT_MMIO_READ, "exit_mmio_read") \
	X(EXIT_MMIO_WRITE, "exit_mmio_write") \
	X(FAILURES, "failures") \
	X(EXIT_HLT, "exit_hlt") \
	X(EXIT_INTR, "exit_intr") \
	X(EXIT_SHUTDOWN, "exit_shutdown") \
	X(EXIT_SYSTEM_EVENT, "exit_system_event") \
	X(EXIT_INTERNAL_ERROR, "exit_internal_error") \
	X(EXIT_FAIL_ENTRY, "exit_fail_entry") \
	X(EXIT_OTHER, "exit_other")

enum vcpu_counter {
#define VCPU_CTR_ENUM(id, name) VCPU_CTR_##id,
	VCPU_COUNTERS(VCPU_CTR_ENUM)
#undef VCPU_CTR_ENUM
	VCPU_CTR_NR
};

struct vcpu;

/* What a vCPU needs from its VM, handed in at creation. */
struct vcpu_host {
	const struct bus *pio;
	const struct bus *mmio;
	/* Called once, on the vCPU's thread, when its loop ends. */
	void (*exited)(void *opaque, struct vcpu *v, enum vcpu_exit why);
	void *opaque;
};

struct vcpu {
	int id;
	int fd;
	struct kvm_run *run;
	int run_size;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	const struct vcpu_host *host;

	/* Written only by this vCPU's thread (base/counter.h), read by the
	 * metrics on the event loop.  Between the fields the thread reads on
	 * every exit and the pause fields, so that in the vcpus array they do
	 * not share a cache line with another vCPU's hot fields. */
	counter_t ctr[VCPU_CTR_NR];

	/* Pausing: the thread parks outside KVM_RUN while pause_req is set
	 * and says so in parked. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req;
	bool parked;
};

/* The signal that kicks a vCPU thread out of KVM_RUN.  vcpu_signals_init()
 * installs its (empty) handler once per process. */
#define VCPU_KICK_SIGNAL SIGUSR1
int vcpu_signals_init(void);

int vcpu_create(struct vcpu *v, struct kvm *k, int id, const struct vcpu_host *host);
int vcpu_start(struct vcpu *v);
/* Ask the vCPU to leave KVM_RUN and end its loop; safe from any thread. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/* Ask the vCPU to leave KVM_RUN and park; vcpu_wait_parked waits (at most
 * timeout_ms) until it has.  0, or -1 if it did not park in time. */
void vcpu_pause(struct vcpu *v);
int vcpu_wait_parked(struct vcpu *v, int timeout_ms);
void vcpu_resume(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* out[VCPU_CTR_NR]: the exit counters so far; any thread. */
void vcpu_read_counters(const struct vcpu *v, uint64_t *out);

/* regs_dump.c: the one-screen register dump for a crashed guest. */
void vcpu_dump(const struct vcpu *v, FILE *f);
const char *kvm_exit_name(uint32_t reason);

#endif
