/* The metrics endpoints: Firecracker's PUT /metrics and the FlushMetrics
 * action, landlord's GET /landlord/metrics, and the count of requests by
 * endpoint that goes into the metrics (vmm/vm_metrics.h, docs/API.md). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "vmm/config.h"
#include "vmm/vm_control.h"
#include "vmm/vm_metrics.h"

/* Firecracker's answer when the metrics cannot be set up. */
#define INIT_FAILED "Cannot initialize the metrics system due to bad user input: "

/* "properties": an object of strings (Firecracker's BTreeMap<String, String>). */
static bool properties_ok(json_t *props, struct api_reply *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(props, key, v) {
		if (!json_is_string(v)) {
			api_fault(r, HTTP_BAD_REQUEST,
				  "field \"properties\": the value of \"%s\" must be a string", key);
			return false;
		}
	}
	return true;
}

void api_put_metrics(struct vm *vm, const char *body, size_t len, struct api_reply *r)
{
	static const struct api_field fields[] = {
		{ "metrics_path", JSON_STRING, true },
		{ "emit_id", JSON_TRUE, false },
		{ "properties", JSON_OBJECT, false },
	};
	json_t *root = api_parse_body(body, len, fields, sizeof(fields) / sizeof(fields[0]), r);
	struct metrics_config c = { 0 };
	char err[600];

	if (!root)
		return;
	c.path = json_string_value(json_object_get(root, "metrics_path"));
	c.emit_id = json_is_true(json_object_get(root, "emit_id"));
	c.properties = json_object_get(root, "properties");
	if (c.properties && !properties_ok(c.properties, r))
		goto out;
	if (!c.path[0]) {
		api_fault(r, HTTP_BAD_REQUEST, INIT_FAILED "field \"metrics_path\" is empty");
		goto out;
	}
	if (vm_metrics_configure(vm, &c, err, sizeof(err)) < 0) {
		api_fault(r, HTTP_BAD_REQUEST, INIT_FAILED "%s", err);
	} else {
		/* Kept in the configuration for GET /vm/config. */
		struct vm_config *cfg = vm_config_any_time(vm);

		(void)vm_config_set_string(cfg, &cfg->metrics_path, c.path);
		r->status = HTTP_NO_CONTENT;
	}
out:
	json_decref(root);
}

/* As Firecracker after boot: without a metrics file there is nothing to
 * write, and that is not an error (its METRICS.write() returns Ok(false));
 * a line that cannot be written is (400). */
void api_flush_metrics(struct vm *vm, struct api_reply *r)
{
	char err[256];

	if (vm_metrics_flush(vm, err, sizeof(err)) < 0)
		api_fault(r, HTTP_BAD_REQUEST, "Failed to write metrics: %s", err);
	else
		r->status = HTTP_NO_CONTENT;
}

void api_get_landlord_metrics(struct vm *vm, const char *body, size_t len,
			      struct api_reply *r)
{
	r->status = HTTP_OK;
	r->body = vm_metrics_cumulative(vm);
}

/* ------------------------------------------------------ request counts */

#define NONE METRICS_LOOP_NR

/* Firecracker's counter (and failure counter) for an endpoint.  A path
 * ending in '/' matches its {id} children. */
static const struct counted {
	const char *method;
	const char *path;
	enum metrics_loop_counter count, fails;
} counted[] = {
	{ "GET", "/", METRICS_GET_INSTANCE_INFO, NONE },
	{ "GET", "/machine-config", METRICS_GET_MACHINE_CFG, NONE },
	{ "PUT", "/actions", METRICS_PUT_ACTIONS, METRICS_PUT_ACTIONS_FAILS },
	{ "PUT", "/boot-source", METRICS_PUT_BOOT_SOURCE, METRICS_PUT_BOOT_SOURCE_FAILS },
	{ "PUT", "/drives/", METRICS_PUT_DRIVE, METRICS_PUT_DRIVE_FAILS },
	{ "PUT", "/logger", METRICS_PUT_LOGGER, METRICS_PUT_LOGGER_FAILS },
	{ "PUT", "/machine-config", METRICS_PUT_MACHINE_CFG, METRICS_PUT_MACHINE_CFG_FAILS },
	{ "PUT", "/metrics", METRICS_PUT_METRICS, METRICS_PUT_METRICS_FAILS },
	{ "PUT", "/network-interfaces/", METRICS_PUT_NETWORK, METRICS_PUT_NETWORK_FAILS },
	{ "PUT", "/vsock", METRICS_PUT_VSOCK, METRICS_PUT_VSOCK_FAILS },
	{ "PATCH", "/drives/", METRICS_PATCH_DRIVE, METRICS_PATCH_DRIVE_FAILS },
	{ "PATCH", "/machine-config", METRICS_PATCH_MACHINE_CFG,
	  METRICS_PATCH_MACHINE_CFG_FAILS },
	{ "PATCH", "/vm", METRICS_PATCH_VM, METRICS_PATCH_VM_FAILS },
};

static bool path_is(const char *pattern, const char *url)
{
	size_t n = strlen(pattern);

	if (pattern[n - 1] == '/' && n > 1)
		return !strncmp(pattern, url, n) && url[n] != '\0';
	return !strcmp(pattern, url);
}

void api_metrics_count(struct vm *vm, const char *method, const char *url, unsigned status)
{
	bool failed = status >= 400;

	vm_metrics_count(vm, METRICS_API_REQUESTS);
	if (failed)
		vm_metrics_count(vm, METRICS_API_FAULTS);
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		const struct counted *c = &counted[i];

		if (strcmp(c->method, method) || !path_is(c->path, url))
			continue;
		vm_metrics_count(vm, c->count);
		if (failed && c->fails != NONE)
			vm_metrics_count(vm, c->fails);
		return;
	}
}
