/* The VM's metrics: its counters gathered into snapshots (vmm/metrics.h),
 * the metrics file that PUT /metrics configures (once per process, as in
 * Firecracker), a line written there every 60 s, on FlushMetrics and when
 * the VM ends, and the cumulative counters for GET /landlord/metrics.
 * Every function runs on the event-loop thread. */
#ifndef LANDLORD_VMM_VM_METRICS_H
#define LANDLORD_VMM_VM_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "vmm/metrics.h"

struct vm;

/* In struct vm; all zeros is the valid initial state (nothing configured). */
struct vm_metrics {
	bool configured;
	bool emit_id;
	json_t *properties;             /* owned, or NULL */
	struct metrics_out out;
	uint64_t loop[METRICS_LOOP_NR]; /* API requests, metric writes */
	struct metrics_snapshot base;   /* what the boots before this one counted */
	struct metrics_snapshot last;   /* what the lines written so far reported */
};

/* PUT /metrics, as Firecracker's MetricsConfig. */
struct metrics_config {
	const char *path;
	bool emit_id;                   /* add "id": the VM's name */
	json_t *properties;             /* string values; copied; may be NULL */
};

/* 0, or -1 with the reason in err (configured already; cannot open). */
int vm_metrics_configure(struct vm *vm, const struct metrics_config *c, char *err,
			 size_t errlen);
/* Write a line now.  0: written; 1: no metrics file configured (nothing
 * written); -1: the line was dropped (and counted), the reason in err. */
int vm_metrics_flush(struct vm *vm, char *err, size_t errlen);
/* Every counter since the process started, in the format of a line
 * (without id and properties).  NULL when out of memory. */
json_t *vm_metrics_cumulative(struct vm *vm);
void vm_metrics_count(struct vm *vm, enum metrics_loop_counter c);

/* For vm.c.  vm_metrics_boot_end: in the teardown of a boot, once the
 * vCPUs have stopped and before the devices are freed: keeps what they
 * counted.  vm_metrics_close: at the end of the process: writes a last
 * line, stops the timer, closes the file. */
void vm_metrics_boot_end(struct vm *vm);
void vm_metrics_close(struct vm *vm);

#endif
