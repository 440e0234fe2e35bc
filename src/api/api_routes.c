/* The API's endpoints: Firecracker's where it has one (GET /, GET
 * /machine-config, GET /vm/config, PATCH /vm, PUT /actions), landlord's own
 * under /landlord/.  Request bodies are checked strictly: a body that is not
 * JSON, a field of the wrong type, a missing or unknown field is 400 with a
 * fault_message that names it.  See docs/API.md. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "vmm/vm_control.h"

enum { HTTP_OK = 200, HTTP_NO_CONTENT = 204, HTTP_BAD_REQUEST = 400,
       HTTP_NOT_FOUND = 404, HTTP_METHOD_NOT_ALLOWED = 405 };

/* ------------------------------------------------------------ body checks */

struct field {
	const char *name;
	json_type type;         /* JSON_TRUE stands for either boolean */
	bool required;
};

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static bool type_ok(json_t *v, json_type want)
{
	if (want == JSON_TRUE)
		return json_is_boolean(v);
	return json_typeof(v) == want;
}

/* The body as a JSON object holding only the given fields, each of its
 * type; NULL with r set to a 400 naming what is wrong. */
static json_t *parse_body(const char *body, size_t len, const struct field *fields,
			  size_t nr_fields, struct api_reply *r)
{
	json_error_t e;
	const char *key;
	json_t *root, *v;

	if (len == 0 || strspn(body, " \t\r\n") == len) {
		api_fault(r, HTTP_BAD_REQUEST, "the request needs a JSON body");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		api_fault(r, HTTP_BAD_REQUEST, "invalid JSON body (line %d, column %d): %s",
			  e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		api_fault(r, HTTP_BAD_REQUEST, "the body must be a JSON object, not %s",
			  type_name(json_typeof(root)));
		goto bad;
	}
	json_object_foreach(root, key, v) {
		size_t i;

		for (i = 0; i < nr_fields; i++)
			if (!strcmp(key, fields[i].name))
				break;
		if (i == nr_fields) {
			api_fault(r, HTTP_BAD_REQUEST, "unknown field \"%s\"", key);
			goto bad;
		}
		if (!type_ok(v, fields[i].type)) {
			api_fault(r, HTTP_BAD_REQUEST, "field \"%s\" must be %s, not %s",
				  key, type_name(fields[i].type), type_name(json_typeof(v)));
			goto bad;
		}
	}
	for (size_t i = 0; i < nr_fields; i++) {
		if (fields[i].required && !json_object_get(root, fields[i].name)) {
			api_fault(r, HTTP_BAD_REQUEST, "missing field \"%s\"", fields[i].name);
			goto bad;
		}
	}
	return root;
bad:
	json_decref(root);
	return NULL;
}

/* One required string field, unpacked strictly.  The string lives as long
 * as *root. */
static const char *one_string(const char *body, size_t len, const char *name,
			      json_t **root, struct api_reply *r)
{
	const struct field f[] = { { name, JSON_STRING, true } };
	const char *val = NULL;
	json_error_t e;

	*root = parse_body(body, len, f, 1, r);
	if (!*root)
		return NULL;
	if (json_unpack_ex(*root, &e, JSON_STRICT, "{s:s}", name, &val) < 0) {
		api_fault(r, HTTP_BAD_REQUEST, "field \"%s\": %s", name, e.text);
		json_decref(*root);
		*root = NULL;
		return NULL;
	}
	return val;
}

/* ------------------------------------------------------------- endpoints */

static json_t *machine_config(const struct vm_info *in)
{
	return json_pack("{s:i, s:I, s:b, s:b}",
			 "vcpu_count", in->nr_cpus,
			 "mem_size_mib", (json_int_t)(in->mem_size >> 20),
			 "smt", 0, "track_dirty_pages", 0);
}

static void get_instance_info(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	struct vm_info in;

	vm_get_info(vm, &in);
	r->status = HTTP_OK;
	r->body = json_pack("{s:s, s:s, s:s, s:s}",
			    "id", in.name,
			    "state", in.state == VM_STATE_PAUSED ? "Paused" : "Running",
			    "vmm_version", API_VMM_VERSION,
			    "app_name", "landlord");
}

static void get_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	struct vm_info in;

	vm_get_info(vm, &in);
	r->status = HTTP_OK;
	r->body = machine_config(&in);
}

static void get_vm_config(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	struct vm_info in;
	json_t *boot, *drives;
	bool first = true;

	vm_get_info(vm, &in);
	boot = json_object();
	if (in.kernel_path)
		json_object_set_new(boot, "kernel_image_path", json_string(in.kernel_path));
	if (in.initrd_path)
		json_object_set_new(boot, "initrd_path", json_string(in.initrd_path));
	if (in.cmdline)
		json_object_set_new(boot, "boot_args", json_string(in.cmdline));
	drives = json_array();
	for (int i = 0; i < in.nr_devices && i < VM_INFO_MAX_DEVICES; i++) {
		const struct vm_device_info *d = &in.devices[i];

		if (strcmp(d->kind, "virtio-blk"))
			continue;
		json_array_append_new(drives, json_pack("{s:s, s:s, s:b, s:b}",
			"drive_id", d->id, "path_on_host", d->path,
			"is_root_device", first, "is_read_only", d->read_only));
		first = false;
	}
	r->status = HTTP_OK;
	r->body = json_pack("{s:o, s:o, s:o}", "boot-source", boot, "drives", drives,
			    "machine-config", machine_config(&in));
}

static void patch_vm(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	json_t *root;
	const char *state = one_string(body, len, "state", &root, r);
	char err[256] = "";
	int rc;

	if (!state)
		return;
	if (!strcmp(state, "Paused")) {
		rc = vm_pause(vm, err, sizeof(err));
	} else if (!strcmp(state, "Resumed")) {
		rc = vm_resume(vm, err, sizeof(err));
	} else {
		api_fault(r, HTTP_BAD_REQUEST,
			  "field \"state\": \"%s\" is not \"Paused\" or \"Resumed\"", state);
		json_decref(root);
		return;
	}
	if (rc < 0)
		api_fault(r, HTTP_BAD_REQUEST, "%s", err[0] ? err : "the VM refused");
	else
		r->status = HTTP_NO_CONTENT;
	json_decref(root);
}

static void put_actions(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	json_t *root;
	const char *type = one_string(body, len, "action_type", &root, r);

	if (!type)
		return;
	if (!strcmp(type, "InstanceStart"))
		api_fault(r, HTTP_BAD_REQUEST, "the VM is already running (landlord starts "
			  "the VM it was given on the command line; configuring a VM "
			  "through the API before it starts is not supported yet)");
	else if (!strcmp(type, "SendCtrlAltDel"))
		api_fault(r, HTTP_BAD_REQUEST, "action_type \"%s\" is not supported yet", type);
	else if (!strcmp(type, "FlushMetrics"))
		api_fault(r, HTTP_BAD_REQUEST, "action_type \"%s\" is not supported yet", type);
	else
		api_fault(r, HTTP_BAD_REQUEST, "field \"action_type\": unknown action \"%s\" "
			  "(Firecracker's are InstanceStart, SendCtrlAltDel, FlushMetrics)", type);
	json_decref(root);
}

static void get_landlord_info(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	struct vm_info in;
	json_t *devs = json_array();

	vm_get_info(vm, &in);
	for (int i = 0; i < in.nr_devices && i < VM_INFO_MAX_DEVICES; i++) {
		const struct vm_device_info *d = &in.devices[i];

		json_array_append_new(devs, json_pack("{s:s, s:s, s:s, s:s, s:b}",
			"kind", d->kind, "id", d->id, "transport", d->transport,
			"path", d->path, "read_only", d->read_only));
	}
	r->status = HTTP_OK;
	r->body = json_pack("{s:s, s:i, s:s, s:i, s:I, s:f, s:o}",
			    "name", in.name, "pid", in.pid,
			    "state", in.state == VM_STATE_PAUSED ? "paused" : "running",
			    "vcpus", in.nr_cpus, "memory_mib", (json_int_t)(in.mem_size >> 20),
			    "uptime_s", in.uptime_s, "devices", devs);
}

static void put_landlord_stop(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	json_t *root;
	const char *mode = one_string(body, len, "mode", &root, r);

	if (!mode)
		return;
	if (!strcmp(mode, "hard")) {
		/* The VM stops once the 204 has been sent (api.c). */
		r->status = HTTP_NO_CONTENT;
		r->stop_after = true;
	} else if (!strcmp(mode, "graceful")) {
		/* The ACPI power button: the guest decides and powers off. */
		vm_stop_graceful(vm);
		r->status = HTTP_NO_CONTENT;
	} else {
		api_fault(r, HTTP_BAD_REQUEST,
			  "field \"mode\": \"%s\" is not \"hard\" or \"graceful\"", mode);
	}
	json_decref(root);
}

/* ----------------------------------------------------------------- table */

typedef void (*route_fn)(struct vm *vm, const char *body, size_t len, struct api_reply *r);

static const struct route {
	const char *path;
	const char *method;
	route_fn fn;
	const char *allow;      /* every method of this path, for 405 */
} routes[] = {
	{ "/", "GET", get_instance_info, "GET" },
	{ "/machine-config", "GET", get_machine_config, "GET" },
	{ "/vm/config", "GET", get_vm_config, "GET" },
	{ "/vm", "PATCH", patch_vm, "PATCH" },
	{ "/actions", "PUT", put_actions, "PUT" },
	{ "/landlord/info", "GET", get_landlord_info, "GET" },
	{ "/landlord/stop", "PUT", put_landlord_stop, "PUT" },
};

void api_route(struct vm *vm, const char *method, const char *url,
	       const char *body, size_t len, struct api_reply *r)
{
	const struct route *known = NULL;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, url))
			continue;
		known = &routes[i];
		if (!strcmp(routes[i].method, method)) {
			routes[i].fn(vm, body, len, r);
			/* json_pack fails on strings that are not UTF-8 (a
			 * path, say) or when memory runs out. */
			if (!r->body && r->status != HTTP_NO_CONTENT)
				api_fault(r, 500, "cannot build the answer (a name or "
					  "path that is not UTF-8, or out of memory)");
			return;
		}
	}
	if (known) {
		api_fault(r, HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s (allowed: %s)",
			  method, url, known->allow);
		r->allow = known->allow;
	} else {
		api_fault(r, HTTP_NOT_FOUND, "no such endpoint: %s", url);
	}
}
