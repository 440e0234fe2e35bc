/* The API's endpoints: Firecracker's where it has one (those that configure
 * a VM before it starts are in api_config.c), landlord's own under
 * /landlord/, and the table that routes a request to one.  Request bodies are checked strictly: a body that is not
 * JSON, a field of the wrong type, a missing or unknown field is 400 with a
 * fault_message that names it.  See docs/API.md. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "vmm/vm_control.h"

/* ------------------------------------------------------------- endpoints */

static void get_instance_info(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	struct vm_info in;

	vm_get_info(vm, &in);
	r->status = HTTP_OK;
	r->body = json_pack("{s:s, s:s, s:s, s:s}",
			    "id", in.name,
			    "state", in.state == VM_STATE_PAUSED ? "Paused" :
				     in.state == VM_STATE_RUNNING ? "Running" : "Not started",
			    "vmm_version", API_VMM_VERSION,
			    "app_name", "landlord");
}

static void patch_vm(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	json_t *root;
	const char *state = api_one_string(body, len, "state", &root, r);
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
	const char *type = api_one_string(body, len, "action_type", &root, r);

	if (!type)
		return;
	if (!strcmp(type, "InstanceStart")) {
		char err[512] = "";

		if (vm_start(vm, err, sizeof(err)) < 0)
			api_fault(r, HTTP_BAD_REQUEST, "cannot start the VM: %s", err);
		else
			r->status = HTTP_NO_CONTENT;
	} else if (!strcmp(type, "SendCtrlAltDel")) {
		char err[256] = "";

		if (vm_send_ctrl_alt_del(vm, err, sizeof(err)) < 0)
			api_fault(r, HTTP_BAD_REQUEST, "%s", err);
		else
			r->status = HTTP_NO_CONTENT;
	} else if (!strcmp(type, "FlushMetrics"))
		api_flush_metrics(vm, r);
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
			    "state", in.state == VM_STATE_PAUSED ? "paused" :
				     in.state == VM_STATE_RUNNING ? "running" : "not started",
			    "vcpus", in.nr_cpus, "memory_mib", (json_int_t)(in.mem_size >> 20),
			    "uptime_s", in.uptime_s, "devices", devs);
}

static void put_landlord_stop(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	json_t *root;
	const char *mode = api_one_string(body, len, "mode", &root, r);

	if (!mode)
		return;
	if (!strcmp(mode, "hard")) {
		/* The VM stops once the 204 has been sent (api.c). */
		r->status = HTTP_NO_CONTENT;
		r->stop_after = true;
	} else if (!strcmp(mode, "graceful")) {
		/* The ACPI power button: the guest decides and powers off. */
		char err[256];

		if (vm_stop_graceful(vm, err, sizeof(err)) < 0)
			api_fault(r, HTTP_BAD_REQUEST, "%s", err);
		else
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
	{ "/boot-source", "PUT", api_put_boot_source, "PUT" },
	{ "/machine-config", "GET", api_get_machine_config, "GET, PUT, PATCH" },
	{ "/machine-config", "PUT", api_put_machine_config, "GET, PUT, PATCH" },
	{ "/machine-config", "PATCH", api_patch_machine_config, "GET, PUT, PATCH" },
	{ "/drives/{id}", "PUT", api_put_drive, "PUT, PATCH" },
	{ "/drives/{id}", "PATCH", api_patch_drive, "PUT, PATCH" },
	{ "/network-interfaces/{id}", "PUT", api_put_network_interface, "PUT" },
	{ "/vsock", "PUT", api_put_vsock, "PUT" },
	{ "/entropy", "PUT", api_put_entropy, "PUT" },
	{ "/logger", "PUT", api_put_logger, "PUT" },
	{ "/vm/config", "GET", api_get_vm_config, "GET" },
	{ "/vm", "PATCH", patch_vm, "PATCH" },
	{ "/actions", "PUT", put_actions, "PUT" },
	{ "/metrics", "PUT", api_put_metrics, "PUT" },
	{ "/landlord/info", "GET", get_landlord_info, "GET" },
	{ "/landlord/stop", "PUT", put_landlord_stop, "PUT" },
	{ "/landlord/metrics", "GET", api_get_landlord_metrics, "GET" },
};

/* url is pattern, or pattern's "/{id}" form with an id in its place (1 to
 * API_MAX_ID bytes, no '/'), which *id then points at. */
static bool path_matches(const char *pattern, const char *url, const char **id)
{
	const char *brace = strstr(pattern, "{id}");
	size_t prefix, n;

	if (!brace)
		return strcmp(pattern, url) == 0;
	prefix = (size_t)(brace - pattern);
	if (strncmp(pattern, url, prefix))
		return false;
	n = strlen(url + prefix);
	if (n == 0 || n > API_MAX_ID || strchr(url + prefix, '/'))
		return false;
	*id = url + prefix;
	return true;
}

void api_route(struct vm *vm, const char *method, const char *url,
	       const char *body, size_t len, struct api_reply *r)
{
	const struct route *known = NULL;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_matches(routes[i].path, url, &r->id))
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
