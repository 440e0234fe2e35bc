/* Options for the virtio devices: --disk, --net, --rng, --vsock, --console-device
 * and --virtio-transport, and the checks on them that need no KVM. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- --net ---- */

/* Linux's dev_valid_name: 1 to IFNAMSIZ - 1 bytes, not "." or "..", no
 * '/', ':' or white space. */
static int check_tap_name(const char *tap, char *err, size_t errlen)
{
	size_t len = strlen(tap);

	if (len == 0 || len > NET_TAP_MAX || !strcmp(tap, ".") || !strcmp(tap, "..") ||
	    strpbrk(tap, "/: \t\n\r\v\f")) {
		errf("net tap '%s': an interface name has 1 to %d characters, no '/', ':' "
		     "or spaces", tap, NET_TAP_MAX);
		return -1;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly six colon-separated pairs of hex digits; a unicast address
 * other than 00:00:00:00:00:00 (Linux would not take it). */
static int parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
	bool zero = true;

	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hi < 0 ? -1 : hex_digit(s[3 * i + 1]);
		char sep = lo < 0 ? '?' : s[3 * i + 2];

		if (lo < 0 || sep != (i < 5 ? ':' : '\0')) {
			errf("net mac '%s': use six hex bytes, e.g. 52:54:00:12:34:56", s);
			return -1;
		}
		mac[i] = (uint8_t)(hi << 4 | lo);
		zero = zero && mac[i] == 0;
	}
	if (mac[0] & 1) {
		errf("net mac '%s' is a multicast address (the first byte must be even)", s);
		return -1;
	}
	if (zero) {
		errf("net mac '%s' is not a valid address", s);
		return -1;
	}
	return 0;
}

static int check_net_id(const struct vm_config *cfg, const char *id, char *err, size_t errlen)
{
	size_t len = strlen(id);

	if (len == 0 || len > NET_ID_MAX ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		errf("net id '%s': use 1 to %d letters, digits, '.', '_' or '-'", id, NET_ID_MAX);
		return -1;
	}
	for (int i = 0; i < cfg->nr_nets; i++) {
		if (strcmp(cfg->nets[i].id, id) == 0) {
			errf("net id '%s' is used twice", id);
			return -1;
		}
	}
	return 0;
}

/* Check n (tap and id filled in, or id empty for the default) and add it. */
static int add_net(struct vm_config *cfg, struct net_config *n, char *err, size_t errlen)
{
	if (cfg->nr_nets >= VM_MAX_NETS) {
		errf("net: at most %d network interfaces", VM_MAX_NETS);
		return -1;
	}
	if (check_tap_name(n->tap, err, errlen) < 0)
		return -1;
	for (int i = 0; i < cfg->nr_nets; i++) {
		if (strcmp(cfg->nets[i].tap, n->tap) == 0) {
			errf("net tap '%s' is used twice", n->tap);
			return -1;
		}
	}
	if (!n->id[0])
		snprintf(n->id, sizeof(n->id), "net%d", cfg->nr_nets);
	if (check_net_id(cfg, n->id, err, errlen) < 0)
		return -1;
	cfg->nets[cfg->nr_nets++] = *n;
	return 0;
}

/* Copy s into a fixed field of size bytes, refusing what does not fit. */
static int copy_field(char *dst, size_t size, const char *s, const char *what,
		      char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (len >= size) {
		errf("net %s '%s' is longer than %zu characters", what, s, size - 1);
		return -1;
	}
	memcpy(dst, s, len + 1);
	return 0;
}

int vm_config_add_net(struct vm_config *cfg, const char *tap, const char *mac,
		      const char *id, char *err, size_t errlen)
{
	struct net_config n = { 0 };

	if (!tap) {
		errf("net: no tap=IFNAME given");
		return -1;
	}
	if (copy_field(n.tap, sizeof(n.tap), tap, "tap", err, errlen) < 0 ||
	    (id && copy_field(n.id, sizeof(n.id), id, "id", err, errlen) < 0))
		return -1;
	if (id && !id[0]) {
		errf("net: empty id");
		return -1;
	}
	if (mac) {
		if (parse_mac(mac, n.mac, err, errlen) < 0)
			return -1;
		n.mac_set = true;
	}
	return add_net(cfg, &n, err, errlen);
}

/* One key=value item of a --net option. */
static int net_item(struct net_config *n, const char **tap, const char **mac,
		    const char **id, char *item, char *err, size_t errlen)
{
	char *val = strchr(item, '=');

	if (val)
		*val++ = '\0';
	if (val && strcmp(item, "tap") == 0) {
		*tap = val;
	} else if (val && strcmp(item, "mac") == 0) {
		*mac = val;
	} else if (val && strcmp(item, "id") == 0) {
		*id = val;
	} else if (val && strcmp(item, "transport") == 0) {
		if (parse_transport(val, &n->transport) < 0) {
			errf("--net transport '%s': use pci or mmio", val);
			return -1;
		}
		n->transport_set = true;
	} else {
		errf("--net: bad item '%s%s%s' (use tap=IFNAME[,mac=MAC][,id=NAME]"
		     "[,transport=pci|mmio])", item, val ? "=" : "", val ? val : "");
		return -1;
	}
	return 0;
}

int vm_config_parse_net(struct vm_config *cfg, char *s, char *err, size_t errlen)
{
	struct net_config n = { 0 };
	const char *tap = NULL, *mac = NULL, *id = NULL;
	char *save = NULL;

	for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (net_item(&n, &tap, &mac, &id, item, err, errlen) < 0)
			return -1;
	if (vm_config_add_net(cfg, tap, mac, id, err, errlen) < 0)
		return -1;
	cfg->nets[cfg->nr_nets - 1].transport = n.transport;
	cfg->nets[cfg->nr_nets - 1].transport_set = n.transport_set;
	return 0;
}

void vm_config_net_mac(const struct vm_config *cfg, int i, uint8_t mac[6])
{
	uint32_t h = 2166136261u;   /* FNV-1a of the VM's name (default vm-PID) */

	if (cfg->nets[i].mac_set) {
		memcpy(mac, cfg->nets[i].mac, 6);
		return;
	}
	for (const char *p = cfg->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	/* 0x52: locally administered (bit 1), unicast (bit 0 clear). */
	mac[0] = 0x52;
	mac[1] = 0x4c;
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)(h + (uint32_t)i);
}

enum virtio_transport_kind vm_config_net_transport(const struct vm_config *cfg, int i)
{
	return cfg->nets[i].transport_set ? cfg->nets[i].transport : cfg->default_transport;
}

/* ---- --vsock ---- */

int vm_config_set_vsock(struct vm_config *cfg, uint64_t guest_cid, const char *uds_path,
			char *err, size_t errlen)
{
	size_t len = uds_path ? strlen(uds_path) : 0;

	/* 0-2 are the hypervisor, reserved and the host; -1U is VMADDR_CID_ANY. */
	if (guest_cid < 3 || guest_cid >= UINT32_MAX) {
		errf("vsock cid %llu: use 3 to %u", (unsigned long long)guest_cid, UINT32_MAX - 1);
		return -1;
	}
	if (len == 0) {
		errf("vsock: no uds path given");
		return -1;
	}
	if (len > VSOCK_PATH_MAX - VSOCK_PORT_SUFFIX) {
		errf("vsock uds path is %zu bytes: at most %d (a Unix socket path, with room "
		     "for _PORT)", len, VSOCK_PATH_MAX - VSOCK_PORT_SUFFIX);
		return -1;
	}
	cfg->vsock.enabled = true;
	cfg->vsock.guest_cid = (uint32_t)guest_cid;
	memcpy(cfg->vsock.uds_path, uds_path, len + 1);
	return 0;
}

/* A decimal number, all of s (no sign, no spaces); 0, or -1. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* One key=value item of a --vsock option. */
static int vsock_item(struct vsock_config *v, const char **cid, const char **uds, char *item,
		      char *err, size_t errlen)
{
	char *val = strchr(item, '=');

	if (val)
		*val++ = '\0';
	if (val && strcmp(item, "cid") == 0) {
		*cid = val;
	} else if (val && strcmp(item, "uds") == 0) {
		*uds = val;
	} else if (val && strcmp(item, "transport") == 0) {
		if (parse_transport(val, &v->transport) < 0) {
			errf("--vsock transport '%s': use pci or mmio", val);
			return -1;
		}
		v->transport_set = true;
	} else {
		errf("--vsock: bad item '%s%s%s' (use cid=N,uds=PATH[,transport=pci|mmio])",
		     item, val ? "=" : "", val ? val : "");
		return -1;
	}
	return 0;
}

int vm_config_parse_vsock(struct vm_config *cfg, char *s, char *err, size_t errlen)
{
	struct vsock_config v = { 0 };
	const char *cid = NULL, *uds = NULL;
	uint64_t n;
	char *save = NULL;

	if (cfg->vsock.enabled) {
		errf("--vsock: only one vsock device");
		return -1;
	}
	for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (vsock_item(&v, &cid, &uds, item, err, errlen) < 0)
			return -1;
	if (!cid || !uds) {
		errf("--vsock: %s (use cid=N,uds=PATH[,transport=pci|mmio])",
		     !cid ? "no cid=N given" : "no uds=PATH given");
		return -1;
	}
	if (parse_u64(cid, &n) < 0) {
		errf("--vsock cid '%s': not a number", cid);
		return -1;
	}
	if (vm_config_set_vsock(cfg, n, uds, err, errlen) < 0)
		return -1;
	cfg->vsock.transport = v.transport;
	cfg->vsock.transport_set = v.transport_set;
	return 0;
}

enum virtio_transport_kind vm_config_vsock_transport(const struct vm_config *cfg)
{
	return cfg->vsock.transport_set ? cfg->vsock.transport : cfg->default_transport;
}

int vm_config_check_disk(const char *what, const char *path, bool read_only,
			 const char *rw_hint, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		errf("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		errf("%s %s: not a regular file or block device", what, path);
		return -1;
	}
	if (access(path, read_only ? R_OK : R_OK | W_OK) < 0) {
		errf("%s %s: %s%s", what, path, strerror(errno), read_only ? "" : rw_hint);
		return -1;
	}
	return 0;
}

int vm_config_validate_virtio(const struct vm_config *cfg, char *err, size_t errlen)
{
	int mmio = 0;

	for (int i = 0; i < cfg->nr_disks; i++) {
		if (vm_config_check_disk("disk", cfg->disks[i].path, cfg->disks[i].read_only,
					 " (add ,ro for a read-only disk)", err, errlen) < 0)
			return -1;
		mmio += vm_config_disk_transport(cfg, i) == TRANSPORT_MMIO;
	}
	for (int i = 0; i < cfg->nr_nets; i++)
		mmio += vm_config_net_transport(cfg, i) == TRANSPORT_MMIO;
	mmio += cfg->rng && vm_config_rng_transport(cfg) == TRANSPORT_MMIO;
	mmio += cfg->vsock.enabled && vm_config_vsock_transport(cfg) == TRANSPORT_MMIO;
	mmio += cfg->console_device == CONSOLE_DEVICE_VIRTIO &&
		cfg->default_transport == TRANSPORT_MMIO;
	if (mmio > VIRTIO_MMIO_MAX) {
		errf("%d virtio-mmio devices: at most %d (use transport=pci for the rest)",
		     mmio, VIRTIO_MMIO_MAX);
		return -1;
	}
	return 0;
}
