/* Configuration changes that come as data rather than as options: the API's
 * pre-boot PUTs and Firecracker's JSON config file.  Their strings are
 * copies the config owns, freed when replaced, so a client that PUTs the
 * same thing a million times uses no more memory than one that PUTs it
 * once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

static void disown(struct vm_config *cfg, const char *s)
{
	for (int i = 0; s && i < VM_CONFIG_MAX_OWNED; i++) {
		if (cfg->owned[i] == s) {
			free(cfg->owned[i]);
			cfg->owned[i] = NULL;
			return;
		}
	}
}

int vm_config_set_string(struct vm_config *cfg, const char **field, const char *value)
{
	char *copy;
	int slot = -1;

	disown(cfg, *field);
	*field = NULL;
	if (!value)
		return 0;
	/* Every owned string is the value of one field, and there are fewer
	 * fields than slots: a free slot always exists. */
	for (int i = 0; i < VM_CONFIG_MAX_OWNED && slot < 0; i++)
		if (!cfg->owned[i])
			slot = i;
	if (slot < 0 || !(copy = strdup(value)))
		return -1;
	cfg->owned[slot] = copy;
	*field = copy;
	return 0;
}

void vm_config_free(struct vm_config *cfg)
{
	for (int i = 0; i < VM_CONFIG_MAX_OWNED; i++) {
		free(cfg->owned[i]);
		cfg->owned[i] = NULL;
	}
}

static int find_drive(const struct vm_config *cfg, const char *id)
{
	for (int i = 0; i < cfg->nr_disks; i++)
		if (strcmp(cfg->disks[i].id, id) == 0)
			return i;
	return -1;
}

static int check_drive(const struct vm_config *cfg, const struct drive_put *d, int at,
		       char *err, size_t errlen)
{
	size_t len = strlen(d->id);

	if (len == 0 || len > DISK_ID_MAX ||
	    strspn(d->id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		errf("drive_id \"%s\": use 1 to %d letters, digits, '.', '_' or '-' "
		     "(the id is the disk's virtio serial)", d->id, DISK_ID_MAX);
		return -1;
	}
	if (d->path[0] == '\0') {
		errf("path_on_host is empty");
		return -1;
	}
	if (d->partuuid && (strlen(d->partuuid) >= sizeof(cfg->disks[0].partuuid) ||
			    strspn(d->partuuid, "0123456789abcdefABCDEF-") != strlen(d->partuuid))) {
		errf("partuuid \"%s\" is not a partition UUID", d->partuuid);
		return -1;
	}
	for (int i = 0; d->is_root && i < cfg->nr_disks; i++) {
		if (i != at && cfg->disks[i].is_root) {
			errf("drive \"%s\" is already the root device", cfg->disks[i].id);
			return -1;
		}
	}
	if (at < 0 && cfg->nr_disks >= VM_MAX_DISKS) {
		errf("at most %d drives", VM_MAX_DISKS);
		return -1;
	}
	return 0;
}

int vm_config_put_drive(struct vm_config *cfg, const struct drive_put *d,
			char *err, size_t errlen)
{
	int at = find_drive(cfg, d->id);
	struct disk_config *disk;

	if (check_drive(cfg, d, at, err, errlen) < 0)
		return -1;
	if (at < 0) {
		at = cfg->nr_disks++;
		memset(&cfg->disks[at], 0, sizeof(cfg->disks[at]));
		memcpy(cfg->disks[at].id, d->id, strlen(d->id) + 1);
	}
	disk = &cfg->disks[at];
	if (vm_config_set_string(cfg, &disk->path, d->path) < 0) {
		errf("out of memory");
		return -1;
	}
	disk->read_only = d->read_only;
	disk->is_root = d->is_root;
	snprintf(disk->partuuid, sizeof(disk->partuuid), "%s", d->partuuid ? d->partuuid : "");
	/* The root drive is the guest's first disk, vda, as in Firecracker. */
	if (disk->is_root && at > 0) {
		struct disk_config root = *disk;

		memmove(&cfg->disks[1], &cfg->disks[0], (size_t)at * sizeof(cfg->disks[0]));
		cfg->disks[0] = root;
	}
	return 0;
}

int vm_config_put_net(struct vm_config *cfg, const char *id, const char *tap,
		      const char *mac, char *err, size_t errlen)
{
	struct net_config old[VM_MAX_NETS];
	int nr_old = cfg->nr_nets, at = -1;

	for (int i = 0; i < cfg->nr_nets && at < 0; i++)
		if (strcmp(cfg->nets[i].id, id) == 0)
			at = i;
	if (at < 0)
		return vm_config_add_net(cfg, tap, mac, id, err, errlen);
	/* Replace: take the old one out, add the new one in its place, or put
	 * everything back as it was if the new one is refused. */
	memcpy(old, cfg->nets, sizeof(old));
	memmove(&cfg->nets[at], &cfg->nets[at + 1], (size_t)(cfg->nr_nets - at - 1) * sizeof(old[0]));
	cfg->nr_nets--;
	if (vm_config_add_net(cfg, tap, mac, id, err, errlen) < 0) {
		memcpy(cfg->nets, old, sizeof(old));
		cfg->nr_nets = nr_old;
		return -1;
	}
	{
		struct net_config added = cfg->nets[cfg->nr_nets - 1];

		memmove(&cfg->nets[at + 1], &cfg->nets[at],
			(size_t)(cfg->nr_nets - 1 - at) * sizeof(old[0]));
		cfg->nets[at] = added;
	}
	return 0;
}

int vm_config_boot_cmdline(const struct vm_config *cfg, char *buf, size_t len)
{
	const char *user = cfg->cmdline ? cfg->cmdline : "";
	size_t used = (size_t)snprintf(buf, len, "%s", user);

	for (int i = 0; i < cfg->nr_disks && used < len; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (!d->is_root)
			continue;
		/* The root drive is vda (index 0), see vm_config_put_drive. */
		if (d->partuuid[0])
			used += (size_t)snprintf(buf + used, len - used, "%sroot=PARTUUID=%s %s",
						 used ? " " : "", d->partuuid,
						 d->read_only ? "ro" : "rw");
		else
			used += (size_t)snprintf(buf + used, len - used, "%sroot=/dev/vda %s",
						 used ? " " : "", d->read_only ? "ro" : "rw");
	}
	return used < len ? 0 : -1;
}
