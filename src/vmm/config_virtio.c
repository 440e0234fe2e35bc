/* Options for the virtio devices: --disk, --rng, --console-device and
 * --virtio-transport, and the checks on them that need no KVM. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "vmm/config.h"

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

static int parse_transport(const char *s, enum virtio_transport_kind *t)
{
	if (strcmp(s, "pci") == 0)
		*t = TRANSPORT_PCI;
	else if (strcmp(s, "mmio") == 0)
		*t = TRANSPORT_MMIO;
	else
		return -1;
	return 0;
}

static int set_disk_id(struct vm_config *cfg, struct disk_config *d, const char *id,
		       char *err, size_t errlen)
{
	size_t len = strlen(id);

	if (len == 0 || len > DISK_ID_MAX ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		errf("--disk id '%s': use 1 to %d letters, digits, '.', '_' or '-'", id, DISK_ID_MAX);
		return -1;
	}
	for (int i = 0; i < cfg->nr_disks; i++) {
		if (strcmp(cfg->disks[i].id, id) == 0) {
			errf("--disk id '%s' is used twice", id);
			return -1;
		}
	}
	memcpy(d->id, id, len + 1);
	return 0;
}

/* One key or key=value item of a --disk option. */
static int disk_item(struct vm_config *cfg, struct disk_config *d, char *item,
		     char *err, size_t errlen)
{
	char *val = strchr(item, '=');

	if (val)
		*val++ = '\0';
	if (strcmp(item, "ro") == 0 && !val) {
		d->read_only = true;
	} else if (strcmp(item, "path") == 0 && val && *val) {
		d->path = val;
	} else if (strcmp(item, "id") == 0 && val) {
		return set_disk_id(cfg, d, val, err, errlen);
	} else if (strcmp(item, "transport") == 0 && val) {
		if (parse_transport(val, &d->transport) < 0) {
			errf("--disk transport '%s': use pci or mmio", val);
			return -1;
		}
		d->transport_set = true;
	} else {
		errf("--disk: bad item '%s%s%s' (use path=FILE[,ro][,id=NAME][,transport=pci|mmio])",
		     item, val ? "=" : "", val ? val : "");
		return -1;
	}
	return 0;
}

int vm_config_add_disk(struct vm_config *cfg, char *s, char *err, size_t errlen)
{
	struct disk_config d = { 0 };
	char *save = NULL;

	if (cfg->nr_disks >= VM_MAX_DISKS) {
		errf("--disk: at most %d disks", VM_MAX_DISKS);
		return -1;
	}
	for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (disk_item(cfg, &d, item, err, errlen) < 0)
			return -1;
	if (!d.path) {
		errf("--disk: no path=FILE given");
		return -1;
	}
	if (!d.id[0]) {
		char id[DISK_ID_MAX + 1];

		/* vda, vdb, ... as the guest will name them, unless taken. */
		snprintf(id, sizeof(id), "vd%c", 'a' + cfg->nr_disks);
		if (set_disk_id(cfg, &d, id, err, errlen) < 0)
			return -1;
	}
	cfg->disks[cfg->nr_disks++] = d;
	return 0;
}

int vm_config_set_rng(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	cfg->rng = true;
	if (!s)
		return 0;
	if (parse_transport(s, &cfg->rng_transport) < 0) {
		errf("--rng=%s: use --rng, --rng=pci or --rng=mmio", s);
		return -1;
	}
	cfg->rng_transport_set = true;
	return 0;
}

int vm_config_set_console_device(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "serial") == 0) {
		cfg->console_device = CONSOLE_DEVICE_SERIAL;
	} else if (strcmp(s, "virtio") == 0) {
		cfg->console_device = CONSOLE_DEVICE_VIRTIO;
	} else {
		errf("--console-device '%s': use serial or virtio", s);
		return -1;
	}
	return 0;
}

int vm_config_set_transport(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	if (parse_transport(s, &cfg->default_transport) < 0) {
		errf("--virtio-transport '%s': use pci or mmio", s);
		return -1;
	}
	return 0;
}

enum virtio_transport_kind vm_config_disk_transport(const struct vm_config *cfg, int i)
{
	return cfg->disks[i].transport_set ? cfg->disks[i].transport : cfg->default_transport;
}

enum virtio_transport_kind vm_config_rng_transport(const struct vm_config *cfg)
{
	return cfg->rng_transport_set ? cfg->rng_transport : cfg->default_transport;
}

static int check_disk(const struct disk_config *d, char *err, size_t errlen)
{
	struct stat st;

	if (stat(d->path, &st) < 0) {
		errf("disk %s: %s", d->path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		errf("disk %s: not a regular file or block device", d->path);
		return -1;
	}
	if (access(d->path, d->read_only ? R_OK : R_OK | W_OK) < 0) {
		errf("disk %s: %s%s", d->path, strerror(errno),
		     d->read_only ? "" : " (add ,ro for a read-only disk)");
		return -1;
	}
	return 0;
}

int vm_config_validate_virtio(const struct vm_config *cfg, char *err, size_t errlen)
{
	int mmio = 0;

	for (int i = 0; i < cfg->nr_disks; i++) {
		if (check_disk(&cfg->disks[i], err, errlen) < 0)
			return -1;
		mmio += vm_config_disk_transport(cfg, i) == TRANSPORT_MMIO;
	}
	mmio += cfg->rng && vm_config_rng_transport(cfg) == TRANSPORT_MMIO;
	mmio += cfg->console_device == CONSOLE_DEVICE_VIRTIO &&
		cfg->default_transport == TRANSPORT_MMIO;
	if (mmio > VIRTIO_MMIO_MAX) {
		errf("%d virtio-mmio devices: at most %d (use transport=pci for the rest)",
		     mmio, VIRTIO_MMIO_MAX);
		return -1;
	}
	return 0;
}
