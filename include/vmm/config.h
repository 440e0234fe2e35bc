/* A VM's configuration: everything `landlord run` (and later the API) can
 * set, validated before any KVM work starts. */
#ifndef LANDLORD_VMM_CONFIG_H
#define LANDLORD_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpuid.h"
#include "backends/console.h"

enum virtio_transport_kind {
	TRANSPORT_PCI,
	TRANSPORT_MMIO,
};

enum console_device {
	CONSOLE_DEVICE_SERIAL,   /* the UART is the console */
	CONSOLE_DEVICE_VIRTIO,   /* a virtio-console port is (guest: console=hvc0) */
};

#define VM_MAX_DISKS     16
#define DISK_ID_MAX      20      /* virtio-blk's GET_ID string */

struct disk_config {
	const char *path;
	bool read_only;
	char id[DISK_ID_MAX + 1];
	enum virtio_transport_kind transport;
	bool transport_set;      /* else the VM's default */
	bool is_root;            /* the guest's root file system: root= on the cmdline */
	char partuuid[40];       /* root=PARTUUID=... instead of root=/dev/vda */
};

#define VM_MAX_NETS      8
#define NET_TAP_MAX      15      /* IFNAMSIZ - 1 */
#define NET_ID_MAX       20

struct net_config {
	char tap[NET_TAP_MAX + 1];   /* host tap interface */
	uint8_t mac[6];
	bool mac_set;            /* else vm_config_net_mac derives one */
	char id[NET_ID_MAX + 1];
	enum virtio_transport_kind transport;
	bool transport_set;      /* else the VM's default */
};

#define VSOCK_PATH_MAX   107     /* sun_path less its NUL */
#define VSOCK_PORT_SUFFIX 11     /* "_4294967295": guest-initiated connections */

struct vsock_config {
	bool enabled;
	uint32_t guest_cid;      /* 3 .. 0xfffffffe */
	char uds_path[108];      /* at most VSOCK_PATH_MAX - VSOCK_PORT_SUFFIX bytes */
	enum virtio_transport_kind transport;
	bool transport_set;      /* else the VM's default */
};

enum reboot_action {
	REBOOT_EXIT,
	REBOOT_RESTART,
};

#define VM_MIN_MEMORY   (16ULL << 20)
#define VM_DEFAULT_MEMORY (256ULL << 20)
#define VM_NAME_MAX     64
#define VM_MAX_CPUS     254
#define VM_CONFIG_MAX_OWNED (VM_MAX_DISKS + 8)    /* xAPIC ids 0..253; 254 is the IOAPIC, 255 broadcast */

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;
	const char *cmdline;
	uint64_t mem_size;
	int nr_cpus;
	char name[VM_NAME_MAX + 1];
	enum console_mode console;
	const char *console_path;
	struct cpuid_mask cpu_mask;
	enum reboot_action on_reboot;

	struct disk_config disks[VM_MAX_DISKS];   /* the first is the guest's vda */
	int nr_disks;
	struct net_config nets[VM_MAX_NETS];
	int nr_nets;
	struct vsock_config vsock;
	bool rng;
	enum virtio_transport_kind rng_transport;
	bool rng_transport_set;
	enum console_device console_device;
	enum virtio_transport_kind default_transport;
	const char *api_sock;    /* NULL: <runtime dir>/<name>.sock */
	const char *config_file; /* Firecracker's JSON config file, applied at start */
	const char *log_path;    /* PUT /logger: where stderr now goes */
	char log_level[8];       /* PUT /logger's level; "" when not set */
	const char *metrics_path; /* PUT /metrics (shown by GET /vm/config) */

	/* Strings the API or the config file set: copies owned by the
	 * config (the command line's point into argv). */
	char *owned[VM_CONFIG_MAX_OWNED];
};

void vm_config_defaults(struct vm_config *cfg);

/* Parsers for single options: 0, or -1 with a reason in err. */
int vm_config_set_memory(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_cpus(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_name(struct vm_config *cfg, const char *s, char *err, size_t errlen);
/* A VM name: 1 to VM_NAME_MAX of [A-Za-z0-9._-], not starting with '.' or
 * '-' (it names a file in the runtime directory). */
bool vm_name_valid(const char *s);
int vm_config_set_console(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_on_reboot(struct vm_config *cfg, const char *s, char *err, size_t errlen);
/* --disk path=FILE[,ro][,id=NAME][,transport=pci|mmio]: s is kept, not copied. */
int vm_config_add_disk(struct vm_config *cfg, char *s, char *err, size_t errlen);
/* --rng, --rng=pci|mmio (s may be NULL) */
int vm_config_set_rng(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_console_device(struct vm_config *cfg, const char *s, char *err, size_t errlen);
int vm_config_set_transport(struct vm_config *cfg, const char *s, char *err, size_t errlen);
/* The transport a disk or the rng uses after defaults are applied. */
enum virtio_transport_kind vm_config_disk_transport(const struct vm_config *cfg, int i);
enum virtio_transport_kind vm_config_rng_transport(const struct vm_config *cfg);
/* --net tap=IFNAME[,mac=MAC][,id=NAME][,transport=pci|mmio] (s is cut up). */
int vm_config_parse_net(struct vm_config *cfg, char *s, char *err, size_t errlen);
/* Add a virtio-net device on tap interface tap (Firecracker's PUT
 * /network-interfaces/{id}: host_dev_name, guest_mac, iface_id); mac
 * "52:54:00:12:34:56" or NULL for the default, id NULL for net0, net1...
 * Everything is copied.  0, or -1 with a reason in err. */
int vm_config_add_net(struct vm_config *cfg, const char *tap, const char *mac,
		      const char *id, char *err, size_t errlen);
/* The MAC of net device i: the one given, else a locally administered
 * unicast address derived from the VM's name and i. */
void vm_config_net_mac(const struct vm_config *cfg, int i, uint8_t mac[6]);
enum virtio_transport_kind vm_config_net_transport(const struct vm_config *cfg, int i);
/* The virtio-vsock device (Firecracker's PUT /vsock: guest_cid, uds_path):
 * cid 3 to 0xfffffffe, uds_path 1 to VSOCK_PATH_MAX - VSOCK_PORT_SUFFIX
 * bytes (room for "_<port>").  Copied; replaces an earlier one (the
 * transport is kept).  0, or -1 with a reason in err and nothing changed. */
int vm_config_set_vsock(struct vm_config *cfg, uint64_t guest_cid, const char *uds_path,
			char *err, size_t errlen);
/* --vsock cid=N,uds=PATH[,transport=pci|mmio] (s is cut up). */
int vm_config_parse_vsock(struct vm_config *cfg, char *s, char *err, size_t errlen);
enum virtio_transport_kind vm_config_vsock_transport(const struct vm_config *cfg);

/* Whole-config checks that need no KVM: files readable, memory within what
 * the host has.  0, or -1 with a reason in err. */
int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen);
/* A disk image: a regular file or block device, readable, and writable
 * unless read_only (else rw_hint is added to the message); what names it in
 * the message.  0, or -1 with a reason in err. */
int vm_config_check_disk(const char *what, const char *path, bool read_only,
			 const char *rw_hint, char *err, size_t errlen);
/* path is a readable regular file; what names it in the message. */
int vm_config_check_file(const char *what, const char *path, char *err, size_t errlen);
int vm_config_validate_virtio(const struct vm_config *cfg, char *err, size_t errlen);

/* config_put.c: changes from the API and the config file, before boot. */

/* *field = a copy of value (NULL clears it) that the config owns; a copy
 * it owned before is freed.  0, or -1 (out of memory). */
int vm_config_set_string(struct vm_config *cfg, const char **field, const char *value);
void vm_config_free(struct vm_config *cfg);

struct drive_put {
	const char *id;
	const char *path;
	bool read_only;
	bool is_root;
	const char *partuuid;    /* may be NULL */
};
/* Add the drive, or replace the one with the same id (Firecracker's PUT
 * /drives/{id}); the root drive is kept first, as the guest's vda.  0, or
 * -1 with a reason in err. */
int vm_config_put_drive(struct vm_config *cfg, const struct drive_put *d,
			char *err, size_t errlen);
/* Add the network interface, or replace the one with the same id (PUT
 * /network-interfaces/{id}); mac NULL: the default.  0, or -1 with a reason
 * in err and nothing changed. */
int vm_config_put_net(struct vm_config *cfg, const char *id, const char *tap,
		      const char *mac, char *err, size_t errlen);
/* The kernel command line the guest gets before virtio-mmio devices are
 * added: the user's, plus root= for a root drive.  0, or -1 if too long. */
int vm_config_boot_cmdline(const struct vm_config *cfg, char *buf, size_t len);

#endif
