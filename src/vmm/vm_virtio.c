#include <stdio.h>
#include <string.h>

#include "backends/tap.h"
#include "base/log.h"
#include "kvm/kvm.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rng.h"
#include "virtio/virtio_vsock.h"
#include "vmm/vm.h"

#define RNG_BYTES_PER_SEC (1u << 20)   /* plenty for a guest's entropy pool */

static const uint8_t mmio_irqs[VIRTIO_MMIO_MAX] = { VIRTIO_MMIO_IRQ_LIST };

/* Put a created device on its transport and remember both. */
static int attach(struct vm *vm, struct virtio_dev *d, void (*destroy)(struct virtio_dev *),
		  enum virtio_transport_kind t, char *err, size_t errlen)
{
	struct vm_virtio *vv = &vm->virtio;
	struct vm_virtio_dev *e = &vv->devs[vv->nr];

	if (!d)
		return -1;
	*e = (struct vm_virtio_dev){ .dev = d, .destroy = destroy, .transport = t,
				     .mmio_index = -1 };
	vv->nr++;
	if (t == TRANSPORT_PCI) {
		e->tp = virtio_pci_create(d, vm->pci, vm->kvm, err, errlen);
	} else {
		int i = vv->nr_mmio;

		if (i >= VIRTIO_MMIO_MAX) {
			snprintf(err, errlen, "too many virtio-mmio devices");
			return -1;
		}
		vv->mmio_irq[i] = (struct irq_line){ .set = kvm_irq_line, .opaque = vm->kvm,
						     .gsi = mmio_irqs[i] };
		e->tp = virtio_mmio_create(d, &vm->mmio, vm->kvm,
					   LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE,
					   &vv->mmio_irq[i], err, errlen);
		e->mmio_index = i;
		vv->nr_mmio++;
	}
	return e->tp ? 0 : -1;
}

static int create_disks(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct virtio_blk_config bc = {
			.path = cfg->disks[i].path,
			.read_only = cfg->disks[i].read_only,
			.id = cfg->disks[i].id,
		};
		struct virtio_dev *d = virtio_blk_create(&bc, &vm->mem, &vm->loop, err, errlen);

		if (attach(vm, d, virtio_blk_destroy, vm_config_disk_transport(cfg, i), err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Each --net: its tap, then the device (which owns the fd from then on). */
static int create_nets(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	for (int i = 0; i < cfg->nr_nets; i++) {
		struct virtio_net_config nc = { .ifname = cfg->nets[i].tap };
		struct virtio_dev *d;

		nc.fd = tap_open(cfg->nets[i].tap, err, errlen);
		if (nc.fd < 0)
			return -1;
		vm_config_net_mac(cfg, i, nc.mac);
		d = virtio_net_create(&nc, &vm->mem, &vm->loop, err, errlen);
		if (attach(vm, d, virtio_net_destroy, vm_config_net_transport(cfg, i), err, errlen) < 0)
			return -1;
	}
	return 0;
}

int vm_virtio_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct virtio_dev *d;
	char err[256] = "";

	memset(&vm->virtio, 0, sizeof(vm->virtio));
	if (create_disks(vm, err, sizeof(err)) < 0)
		goto fail;
	if (cfg->rng) {
		d = virtio_rng_create(&vm->mem, &vm->loop, RNG_BYTES_PER_SEC, err, sizeof(err));
		if (attach(vm, d, virtio_rng_destroy, vm_config_rng_transport(cfg), err, sizeof(err)) < 0)
			goto fail;
	}
	if (cfg->console_device == CONSOLE_DEVICE_VIRTIO) {
		d = virtio_console_create(&vm->mem, &vm->loop, console_write, vm->console,
					  err, sizeof(err));
		if (attach(vm, d, virtio_console_destroy, cfg->default_transport, err, sizeof(err)) < 0)
			goto fail;
		vm->virtio.console = d;
	}
	if (create_nets(vm, err, sizeof(err)) < 0)
		goto fail;
	if (cfg->vsock.enabled) {
		const struct virtio_vsock_config vc = { .guest_cid = cfg->vsock.guest_cid,
							.uds_path = cfg->vsock.uds_path };

		d = virtio_vsock_create(&vc, &vm->mem, &vm->loop, err, sizeof(err));
		if (attach(vm, d, virtio_vsock_destroy, vm_config_vsock_transport(cfg), err,
			   sizeof(err)) < 0)
			goto fail;
	}
	return 0;
fail:
	log_error("%s", err[0] ? err : "cannot create a virtio device");
	return -1;
}

void vm_virtio_destroy(struct vm *vm)
{
	struct vm_virtio *vv = &vm->virtio;

	/* Transports first: no more guest accesses reach a device being freed. */
	for (int i = vv->nr - 1; i >= 0; i--) {
		struct vm_virtio_dev *e = &vv->devs[i];

		if (e->tp && e->transport == TRANSPORT_PCI)
			virtio_pci_destroy(e->tp);
		else if (e->tp)
			virtio_mmio_destroy(e->tp);
		e->destroy(e->dev);
	}
	memset(vv, 0, sizeof(*vv));
}

int vm_virtio_cmdline(const struct vm *vm, char *buf, size_t len)
{
	size_t used;

	if (vm_config_boot_cmdline(vm->cfg, buf, len) < 0)
		return -1;
	used = strlen(buf);

	for (int i = 0; i < vm->virtio.nr && used < len; i++) {
		const struct vm_virtio_dev *e = &vm->virtio.devs[i];

		if (e->mmio_index < 0)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%svirtio_mmio.device=4K@%#llx:%u",
					 used ? " " : "",
					 (unsigned long long)(LAYOUT_VIRTIO_MMIO +
							      e->mmio_index * LAYOUT_VIRTIO_MMIO_SIZE),
					 mmio_irqs[e->mmio_index]);
	}
	return used < len ? 0 : -1;
}
