/* Configuring a VM before it starts, as Firecracker's API does it:
 * PUT /boot-source, PUT|PATCH /machine-config, PUT /drives/{id},
 * PUT /network-interfaces/{id}, PUT /vsock, PUT /entropy, PUT /logger, and
 * GET /machine-config, GET /vm/config to read it back.  Every change is
 * checked here, before it reaches the configuration, so a bad request
 * changes nothing; changes after InstanceStart are 400.  See docs/API.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "base/log.h"
#include "vmm/config.h"
#include "vmm/vm_control.h"

#define MAX_MEM_MIB (16ULL << 20)   /* 16 TiB: beyond any host, far from overflow */

/* The configuration if it may still change; else r is the 400. */
static struct vm_config *config_or_fault(struct vm *vm, struct api_reply *r)
{
	char err[256];
	struct vm_config *cfg = vm_config_before_boot(vm, err, sizeof(err));

	if (!cfg)
		api_fault(r, HTTP_BAD_REQUEST, "%s", err);
	return cfg;
}

static const char *str(json_t *root, const char *key)
{
	return json_string_value(json_object_get(root, key));
}

/* A boolean field, or dflt when it is absent. */
static bool flag(json_t *root, const char *key, bool dflt)
{
	json_t *v = json_object_get(root, key);

	return v ? json_is_true(v) : dflt;
}

/* Fields landlord takes for compatibility but cannot honour: present, they
 * are a 400 that says so, rather than being silently ignored. */
static bool refuse(json_t *root, const char *key, const char *why, struct api_reply *r)
{
	if (!json_object_get(root, key))
		return false;
	api_fault(r, HTTP_BAD_REQUEST, "field \"%s\" is not supported: %s", key, why);
	return true;
}

/* ------------------------------------------------------------ boot source */

void api_put_boot_source(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field f[] = {
		{ "kernel_image_path", JSON_STRING, true },
		{ "boot_args", JSON_STRING, false },
		{ "initrd_path", JSON_STRING, false },
	};
	struct vm_config *cfg = config_or_fault(vm, r);
	json_t *root;
	char err[512];

	if (!cfg || !(root = api_parse_body(body, len, f, 3, r)))
		return;
	if (vm_config_check_file("kernel_image_path", str(root, "kernel_image_path"),
				 err, sizeof(err)) < 0 ||
	    (str(root, "initrd_path") &&
	     vm_config_check_file("initrd_path", str(root, "initrd_path"), err, sizeof(err)) < 0)) {
		api_fault(r, HTTP_BAD_REQUEST, "%s", err);
	} else if (vm_config_set_string(cfg, &cfg->kernel_path, str(root, "kernel_image_path")) < 0 ||
		   vm_config_set_string(cfg, &cfg->initrd_path, str(root, "initrd_path")) < 0 ||
		   vm_config_set_string(cfg, &cfg->cmdline, str(root, "boot_args")) < 0) {
		api_fault(r, 500, "out of memory");
	} else {
		r->status = HTTP_NO_CONTENT;
	}
	json_decref(root);
}

/* --------------------------------------------------------- machine config */

static const struct api_field machine_fields[] = {
	{ "vcpu_count", JSON_INTEGER, true },
	{ "mem_size_mib", JSON_INTEGER, true },
	{ "smt", JSON_TRUE, false },
	{ "track_dirty_pages", JSON_TRUE, false },
	{ "cpu_template", JSON_STRING, false },
	{ "huge_pages", JSON_STRING, false },
};

static bool machine_fields_ok(struct vm *vm, json_t *root, struct api_reply *r)
{
	json_t *cpus = json_object_get(root, "vcpu_count");
	json_t *mem = json_object_get(root, "mem_size_mib");
	const char *tmpl = str(root, "cpu_template"), *huge = str(root, "huge_pages");
	int max = vm_max_vcpus(vm);

	if (cpus && (json_integer_value(cpus) < 1 || json_integer_value(cpus) > max))
		api_fault(r, HTTP_BAD_REQUEST, "field \"vcpu_count\": %lld is not from 1 to %d",
			  (long long)json_integer_value(cpus), max);
	else if (mem && (json_integer_value(mem) < (json_int_t)(VM_MIN_MEMORY >> 20) ||
			 (unsigned long long)json_integer_value(mem) > MAX_MEM_MIB))
		api_fault(r, HTTP_BAD_REQUEST, "field \"mem_size_mib\": %lld is not from %llu to %llu",
			  (long long)json_integer_value(mem), VM_MIN_MEMORY >> 20, MAX_MEM_MIB);
	else if (flag(root, "smt", false))
		api_fault(r, HTTP_BAD_REQUEST, "field \"smt\": landlord gives every vCPU a core "
			  "of its own; true is not supported");
	else if (flag(root, "track_dirty_pages", false))
		api_fault(r, HTTP_BAD_REQUEST, "field \"track_dirty_pages\": dirty page tracking "
			  "is for snapshots, which landlord does not have yet");
	else if (tmpl && strcmp(tmpl, "None"))
		api_fault(r, HTTP_BAD_REQUEST, "field \"cpu_template\": \"%s\" is not supported "
			  "(only \"None\"; landlord masks CPU features with --cpu-features)", tmpl);
	else if (huge && strcmp(huge, "None"))
		api_fault(r, HTTP_BAD_REQUEST, "field \"huge_pages\": \"%s\" is not supported "
			  "(only \"None\")", huge);
	else
		return true;
	return false;
}

static void set_machine(struct vm *vm, const char *body, size_t len, struct api_reply *r,
			bool patch)
{
	struct api_field f[sizeof(machine_fields) / sizeof(machine_fields[0])];
	struct vm_config *cfg = config_or_fault(vm, r);
	json_t *root, *v;

	memcpy(f, machine_fields, sizeof(f));
	for (size_t i = 0; patch && i < sizeof(f) / sizeof(f[0]); i++)
		f[i].required = false;     /* PATCH: any subset */
	if (!cfg || !(root = api_parse_body(body, len, f, sizeof(f) / sizeof(f[0]), r)))
		return;
	if (machine_fields_ok(vm, root, r)) {
		if ((v = json_object_get(root, "vcpu_count")))
			cfg->nr_cpus = (int)json_integer_value(v);
		if ((v = json_object_get(root, "mem_size_mib")))
			cfg->mem_size = (uint64_t)json_integer_value(v) << 20;
		r->status = HTTP_NO_CONTENT;
	}
	json_decref(root);
}

void api_put_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	set_machine(vm, body, len, r, false);
}

void api_patch_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	set_machine(vm, body, len, r, true);
}

/* ------------------------------------------------------------------ drives */

static bool drive_options_ok(json_t *root, struct api_reply *r)
{
	const char *cache = str(root, "cache_type"), *engine = str(root, "io_engine");

	if (refuse(root, "rate_limiter", "landlord has no block rate limiter yet", r) ||
	    refuse(root, "socket", "landlord has no vhost-user block devices", r))
		return false;
	/* landlord always honours flushes and always uses io_uring (with a
	 * synchronous fall-back): both values of each are safe to accept. */
	if (cache && strcmp(cache, "Unsafe") && strcmp(cache, "Writeback")) {
		api_fault(r, HTTP_BAD_REQUEST, "field \"cache_type\": \"%s\" is not \"Unsafe\" "
			  "or \"Writeback\"", cache);
		return false;
	}
	if (engine && strcmp(engine, "Sync") && strcmp(engine, "Async")) {
		api_fault(r, HTTP_BAD_REQUEST, "field \"io_engine\": \"%s\" is not \"Sync\" "
			  "or \"Async\"", engine);
		return false;
	}
	return true;
}

void api_put_drive(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field f[] = {
		{ "drive_id", JSON_STRING, true },
		{ "path_on_host", JSON_STRING, true },
		{ "is_root_device", JSON_TRUE, true },
		{ "is_read_only", JSON_TRUE, false },
		{ "partuuid", JSON_STRING, false },
		{ "cache_type", JSON_STRING, false },
		{ "io_engine", JSON_STRING, false },
		{ "rate_limiter", JSON_OBJECT, false },
		{ "socket", JSON_STRING, false },
	};
	struct vm_config *cfg = config_or_fault(vm, r);
	struct drive_put d;
	json_t *root;
	char err[256];

	if (!cfg || !(root = api_parse_body(body, len, f, sizeof(f) / sizeof(f[0]), r)))
		return;
	d = (struct drive_put){
		.id = str(root, "drive_id"), .path = str(root, "path_on_host"),
		.read_only = flag(root, "is_read_only", false),
		.is_root = flag(root, "is_root_device", false), .partuuid = str(root, "partuuid"),
	};
	if (strcmp(d.id, r->id))
		api_fault(r, HTTP_BAD_REQUEST, "drive_id \"%s\" in the body differs from the "
			  "path's \"%s\"", d.id, r->id);
	else if (drive_options_ok(root, r)) {
		/* Firecracker opens the backing file when the drive is configured;
		 * landlord checks it can, so that a typo is this request's 400,
		 * not InstanceStart's. */
		if (vm_config_check_disk("path_on_host", d.path, d.read_only, "", err,
					 sizeof(err)) < 0 ||
		    vm_config_put_drive(cfg, &d, err, sizeof(err)) < 0)
			api_fault(r, HTTP_BAD_REQUEST, "%s", err);
		else
			r->status = HTTP_NO_CONTENT;
	}
	json_decref(root);
}

void api_patch_drive(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	api_fault(r, HTTP_BAD_REQUEST, "changing drive %s of a running VM is not supported yet "
		  "(before InstanceStart, PUT /drives/%s replaces it)", r->id, r->id);
}

/* ------------------------------------------------------- other devices */

void api_put_network_interface(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field f[] = {
		{ "iface_id", JSON_STRING, true },
		{ "host_dev_name", JSON_STRING, true },
		{ "guest_mac", JSON_STRING, false },
		{ "rx_rate_limiter", JSON_OBJECT, false },
		{ "tx_rate_limiter", JSON_OBJECT, false },
	};
	struct vm_config *cfg = config_or_fault(vm, r);
	json_t *root;
	char err[256];

	if (!cfg || !(root = api_parse_body(body, len, f, sizeof(f) / sizeof(f[0]), r)))
		return;
	if (strcmp(str(root, "iface_id"), r->id))
		api_fault(r, HTTP_BAD_REQUEST, "iface_id \"%s\" in the body differs from the "
			  "path's \"%s\"", str(root, "iface_id"), r->id);
	else if (refuse(root, "rx_rate_limiter", "landlord has no network rate limiter yet", r) ||
		 refuse(root, "tx_rate_limiter", "landlord has no network rate limiter yet", r))
		;   /* r says why */
	else if (vm_config_put_net(cfg, r->id, str(root, "host_dev_name"), str(root, "guest_mac"),
				   err, sizeof(err)) < 0)
		api_fault(r, HTTP_BAD_REQUEST, "%s", err);
	else
		r->status = HTTP_NO_CONTENT;
	json_decref(root);
}

void api_put_vsock(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field f[] = {
		{ "guest_cid", JSON_INTEGER, true },
		{ "uds_path", JSON_STRING, true },
		{ "vsock_id", JSON_STRING, false },
	};
	struct vm_config *cfg = config_or_fault(vm, r);
	json_t *root;
	json_int_t cid;
	char err[256];

	if (!cfg || !(root = api_parse_body(body, len, f, 3, r)))
		return;
	cid = json_integer_value(json_object_get(root, "guest_cid"));
	if (cid < 0)
		api_fault(r, HTTP_BAD_REQUEST, "field \"guest_cid\": %lld is negative",
			  (long long)cid);
	else if (vm_config_set_vsock(cfg, (uint64_t)cid, str(root, "uds_path"), err,
				     sizeof(err)) < 0)
		api_fault(r, HTTP_BAD_REQUEST, "%s", err);
	else
		r->status = HTTP_NO_CONTENT;
	json_decref(root);
}

void api_put_entropy(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field f[] = { { "rate_limiter", JSON_OBJECT, false } };
	struct vm_config *cfg = config_or_fault(vm, r);
	json_t *root;

	if (!cfg || !(root = api_parse_body(body, len, f, 1, r)))
		return;
	if (!refuse(root, "rate_limiter", "landlord's virtio-rng has a fixed limit of 1 MiB/s", r)) {
		cfg->rng = true;
		r->status = HTTP_NO_CONTENT;
	}
	json_decref(root);
}

/* ------------------------------------------------------------------ logger */

/* landlord's log is its stderr (base/log.h); the log file becomes its
 * stderr.  Opened non-blocking (and read-write, so that a FIFO with no
 * reader yet opens): a full pipe loses a line rather than stalling the VM. */
static int open_log(const char *path, struct api_reply *r)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0) {
		api_fault(r, HTTP_BAD_REQUEST, "log_path %s: %s", path, strerror(errno));
		return -1;
	}
	if (dup2(fd, STDERR_FILENO) < 0) {
		api_fault(r, 500, "log_path %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* As Firecracker: level defaults to Info, show_level and show_log_origin
 * stay as they were when absent, and log_path, when absent, leaves the log
 * where it goes.  The level and the flags are the process's (log_set). */
static void apply_logger(json_t *root, enum log_level level)
{
	struct log_settings s;

	log_get(&s);
	s.level = level;
	s.show_level = flag(root, "show_level", s.show_level);
	s.show_origin = flag(root, "show_log_origin", s.show_origin);
	log_set(&s);
}

void api_put_logger(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field f[] = {
		{ "log_path", JSON_STRING, false },
		{ "level", JSON_STRING, false },
		{ "show_level", JSON_TRUE, false },
		{ "show_log_origin", JSON_TRUE, false },
		{ "module", JSON_STRING, false },
	};
	/* The logger, unlike the VM, may be set up at any time. */
	struct vm_config *cfg = vm_config_any_time(vm);
	enum log_level level = LOG_LEVEL_INFO;
	const char *path, *name;
	json_t *root = api_parse_body(body, len, f, sizeof(f) / sizeof(f[0]), r);

	if (!root)
		return;
	path = str(root, "log_path");
	name = str(root, "level") ? str(root, "level") : "Info";
	if (refuse(root, "module", "landlord's log has no modules to filter", r)) {
		/* r says why */
	} else if (log_level_parse(name, &level) < 0) {
		api_fault(r, HTTP_BAD_REQUEST, "field \"level\": \"%s\" is not Error, Warning, "
			  "Info, Debug, Trace or Off", name);
	} else if (path && open_log(path, r) < 0) {
		/* r says why */
	} else if (path && vm_config_set_string(cfg, &cfg->log_path, path) < 0) {
		api_fault(r, 500, "out of memory");
	} else {
		apply_logger(root, level);
		snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", name);
		r->status = HTTP_NO_CONTENT;
	}
	json_decref(root);
}

/* ------------------------------------------------------------------- reads */

static json_t *machine_json(const struct vm_config *cfg)
{
	return json_pack("{s:i, s:I, s:b, s:b, s:s}",
			 "vcpu_count", cfg->nr_cpus,
			 "mem_size_mib", (json_int_t)(cfg->mem_size >> 20),
			 "smt", 0, "track_dirty_pages", 0, "huge_pages", "None");
}

void api_get_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	r->status = HTTP_OK;
	r->body = machine_json(vm_get_config(vm));
}

static json_t *boot_source_json(const struct vm_config *cfg)
{
	json_t *boot = json_object();

	if (cfg->kernel_path)
		json_object_set_new(boot, "kernel_image_path", json_string(cfg->kernel_path));
	if (cfg->initrd_path)
		json_object_set_new(boot, "initrd_path", json_string(cfg->initrd_path));
	if (cfg->cmdline)
		json_object_set_new(boot, "boot_args", json_string(cfg->cmdline));
	return boot;
}

static json_t *drives_json(const struct vm_config *cfg)
{
	json_t *drives = json_array();

	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}",
				      "drive_id", d->id, "path_on_host", d->path,
				      "is_root_device", d->is_root, "is_read_only", d->read_only,
				      "cache_type", "Writeback", "io_engine", "Async");

		if (o && d->partuuid[0])
			json_object_set_new(o, "partuuid", json_string(d->partuuid));
		json_array_append_new(drives, o);
	}
	return drives;
}

static json_t *nets_json(const struct vm_config *cfg)
{
	json_t *nets = json_array();
	uint8_t m[6];
	char mac[18];

	for (int i = 0; i < cfg->nr_nets; i++) {
		vm_config_net_mac(cfg, i, m);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		json_array_append_new(nets, json_pack("{s:s, s:s, s:s}", "iface_id", cfg->nets[i].id,
						      "host_dev_name", cfg->nets[i].tap,
						      "guest_mac", mac));
	}
	return nets;
}

static json_t *logger_json(const struct vm_config *cfg)
{
	if (!cfg->log_level[0])
		return json_null();
	return cfg->log_path ? json_pack("{s:s, s:s}", "log_path", cfg->log_path,
					 "level", cfg->log_level) :
			       json_pack("{s:s}", "level", cfg->log_level);
}

void api_get_vm_config(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	const struct vm_config *cfg = vm_get_config(vm);

	r->status = HTTP_OK;
	r->body = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:n, s:n, s:o}",
			    "boot-source", boot_source_json(cfg),
			    "drives", drives_json(cfg),
			    "machine-config", machine_json(cfg),
			    "network-interfaces", nets_json(cfg),
			    "vsock", cfg->vsock.enabled ?
				json_pack("{s:I, s:s}", "guest_cid", (json_int_t)cfg->vsock.guest_cid,
					  "uds_path", cfg->vsock.uds_path) : json_null(),
			    "logger", logger_json(cfg),
			    "metrics", cfg->metrics_path ?
				json_pack("{s:s}", "metrics_path", cfg->metrics_path) : json_null(),
			    "balloon", "mmds-config",
			    "entropy", cfg->rng ? json_object() : json_null());
}
