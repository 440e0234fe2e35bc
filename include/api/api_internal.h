/* Shared between the API server's plumbing (api.c: socket, libmicrohttpd,
 * event loop) and its routes (api_routes.c: endpoints, JSON). */
#ifndef LANDLORD_API_API_INTERNAL_H
#define LANDLORD_API_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define API_VMM_VERSION   "0.1.0"
#define API_MAX_BODY      (64u * 1024)   /* larger request bodies: 413 */
#define API_MAX_ID        64             /* the {id} in /drives/{id} */

struct vm;

enum { HTTP_OK = 200, HTTP_NO_CONTENT = 204, HTTP_BAD_REQUEST = 400,
       HTTP_NOT_FOUND = 404, HTTP_METHOD_NOT_ALLOWED = 405 };

/* What a route answers: a status, a JSON body (NULL: none, as for 204;
 * owned by the reply), the methods of a known path for 405, and whether the
 * VM is to be stopped once the response has been sent. */
struct api_reply {
	unsigned status;
	json_t *body;
	const char *allow;
	bool stop_after;
	const char *id;      /* in: the {id} of a path such as /drives/{id} */
};

/* Answer one complete request.  body is NUL-terminated (len bytes). */
void api_route(struct vm *vm, const char *method, const char *url,
	       const char *body, size_t len, struct api_reply *r);

/* api_json.c: strict request bodies. */
struct api_field {
	const char *name;
	json_type type;         /* JSON_TRUE stands for either boolean */
	bool required;
};
/* The body as a JSON object holding only the given fields, each of its
 * type; NULL with r set to a 400 naming what is wrong. */
json_t *api_parse_body(const char *body, size_t len, const struct api_field *fields,
		       size_t nr_fields, struct api_reply *r);
/* One required string field, unpacked strictly.  The string lives as long
 * as *root. */
const char *api_one_string(const char *body, size_t len, const char *name,
			   json_t **root, struct api_reply *r);

/* api_config.c: configuration before InstanceStart (Firecracker's). */
void api_put_boot_source(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_put_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_patch_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_put_drive(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_patch_drive(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_put_network_interface(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_put_vsock(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_put_entropy(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_put_logger(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_get_vm_config(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_get_machine_config(struct vm *vm, const char *body, size_t len, struct api_reply *r);

/* api_metrics.c: PUT /metrics (also the config file's "metrics" section),
 * the FlushMetrics action, GET /landlord/metrics; and api_metrics_count,
 * which counts each answered request for the metrics by endpoint. */
void api_put_metrics(struct vm *vm, const char *body, size_t len, struct api_reply *r);
void api_flush_metrics(struct vm *vm, struct api_reply *r);
void api_get_landlord_metrics(struct vm *vm, const char *body, size_t len,
			      struct api_reply *r);
void api_metrics_count(struct vm *vm, const char *method, const char *url, unsigned status);

/* r = status + {"fault_message": printf(fmt, ...)} */
void api_fault(struct api_reply *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
