/* The VM's metrics: gather the counters of its vCPUs and devices, write
 * Firecracker-format lines to the configured file, keep the counts of
 * earlier boots.  See include/vmm/vm_metrics.h and docs/API.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vm.h"
#include "vmm/vm_metrics.h"

/* The live devices' counters, added to out. */
static void add_virtio(struct vm *vm, struct metrics_snapshot *out)
{
	uint64_t core[VIRTIO_CTR_NR], dev[VIRTIO_BLK_CTR_NR + VIRTIO_RNG_CTR_NR];
	int blk = 0;

	for (int i = 0; i < vm->virtio.nr; i++) {
		const struct virtio_dev *d = vm->virtio.devs[i].dev;

		virtio_read_counters(d, core);
		metrics_add(out->virtio, core, VIRTIO_CTR_NR);
		/* The disks are created first, in the configuration's order. */
		if (d->device_id == VIRTIO_ID_BLOCK && blk < out->nr_blocks) {
			virtio_blk_read_counters(d, dev);
			metrics_add(out->block[blk].dev, dev, VIRTIO_BLK_CTR_NR);
			metrics_add(out->block[blk].core, core, VIRTIO_CTR_NR);
			blk++;
		} else if (d->device_id == VIRTIO_ID_RNG) {
			virtio_rng_read_counters(d, dev);
			metrics_add(out->entropy, dev, VIRTIO_RNG_CTR_NR);
			metrics_add(out->entropy_core, core, VIRTIO_CTR_NR);
		}
	}
}

/* Every counter now: earlier boots' plus this boot's live ones. */
static void collect(struct vm *vm, struct metrics_snapshot *out)
{
	const struct vm_metrics *m = &vm->metrics;
	uint64_t c[VCPU_CTR_NR + UART_CTR_NR];   /* room for either */

	*out = m->base;
	memcpy(out->loop, m->loop, sizeof(out->loop));
	out->nr_blocks = vm->cfg->nr_disks < METRICS_MAX_BLOCKS ? vm->cfg->nr_disks
								: METRICS_MAX_BLOCKS;
	for (int i = 0; i < out->nr_blocks; i++)
		snprintf(out->block[i].id, sizeof(out->block[i].id), "%s", vm->cfg->disks[i].id);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		vcpu_read_counters(&vm->vcpus[i], c);
		metrics_add(out->vcpu, c, VCPU_CTR_NR);
	}
	if (vm->uart) {
		uart_read_counters(vm->uart, c);
		metrics_add(out->uart, c, UART_CTR_NR);
	}
	add_virtio(vm, out);
}

static int write_line(struct vm *vm, const struct metrics_snapshot *delta)
{
	struct vm_metrics *m = &vm->metrics;
	const struct metrics_line line = {
		.utc_ms = metrics_utc_ms(),
		.id = m->emit_id ? vm->cfg->name : NULL,
		.properties = m->properties,
	};
	json_t *j = metrics_json(delta, &line);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	rc = metrics_out_write(&m->out, text, strlen(text));
	free(text);
	return rc;
}

/* A line holds what changed since the last line written (Firecracker's
 * SharedIncMetric); a line that could not be written leaves its counts to
 * the next one. */
int vm_metrics_flush(struct vm *vm, char *err, size_t errlen)
{
	struct vm_metrics *m = &vm->metrics;
	struct metrics_snapshot cur, delta;

	if (!m->configured)
		return 1;
	collect(vm, &cur);
	metrics_delta(&delta, &cur, &m->last);
	if (write_line(vm, &delta) == 0) {
		m->last = cur;
		return 0;
	}
	if (err)
		snprintf(err, errlen, "%s", errno == EAGAIN ?
			 "the metrics file is full (a pipe nobody reads); the line was dropped" :
			 strerror(errno));
	m->loop[METRICS_MISSED_METRICS]++;
	if (errno != EAGAIN)
		m->loop[METRICS_METRICS_FAILS]++;
	return -1;
}

static void on_period(void *opaque)
{
	vm_metrics_flush(opaque, NULL, 0);   /* a dropped line is counted */
}

int vm_metrics_configure(struct vm *vm, const struct metrics_config *c, char *err,
			 size_t errlen)
{
	struct vm_metrics *m = &vm->metrics;
	char why[512];

	if (m->configured) {
		snprintf(err, errlen, "Reinitialization of metrics not allowed.");
		return -1;
	}
	if (metrics_out_open(&m->out, c->path, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "cannot open the metrics file %s", why);
		return -1;
	}
	if (metrics_out_start_timer(&m->out, &vm->loop, METRICS_PERIOD_MS, on_period, vm) < 0) {
		snprintf(err, errlen, "metrics timer: %s", strerror(errno));
		metrics_out_close(&m->out);
		return -1;
	}
	m->properties = c->properties ? json_deep_copy(c->properties) : NULL;
	m->emit_id = c->emit_id;
	m->configured = true;
	return 0;
}

json_t *vm_metrics_cumulative(struct vm *vm)
{
	const struct metrics_line line = { .utc_ms = metrics_utc_ms() };
	struct metrics_snapshot cur;

	collect(vm, &cur);
	return metrics_json(&cur, &line);
}

void vm_metrics_count(struct vm *vm, enum metrics_loop_counter c)
{
	vm->metrics.loop[c]++;
}

void vm_metrics_boot_end(struct vm *vm)
{
	struct metrics_snapshot now;

	collect(vm, &now);
	vm->metrics.base = now;
}

void vm_metrics_close(struct vm *vm)
{
	struct vm_metrics *m = &vm->metrics;

	if (!m->configured)
		return;
	vm_metrics_flush(vm, NULL, 0);
	metrics_out_close(&m->out);
	json_decref(m->properties);
	m->properties = NULL;
	m->configured = false;
}
