/* Shared between the API server's plumbing (api.c: socket, libmicrohttpd,
 * event loop) and its routes (api_routes.c: endpoints, JSON). */
#ifndef LANDLORD_API_API_INTERNAL_H
#define LANDLORD_API_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define API_VMM_VERSION   "0.1.0"
#define API_MAX_BODY      (64u * 1024)   /* larger request bodies: 413 */

struct vm;

/* What a route answers: a status, a JSON body (NULL: none, as for 204;
 * owned by the reply), the methods of a known path for 405, and whether the
 * VM is to be stopped once the response has been sent. */
struct api_reply {
	unsigned status;
	json_t *body;
	const char *allow;
	bool stop_after;
};

/* Answer one complete request.  body is NUL-terminated (len bytes). */
void api_route(struct vm *vm, const char *method, const char *url,
	       const char *body, size_t len, struct api_reply *r);

/* r = status + {"fault_message": printf(fmt, ...)} */
void api_fault(struct api_reply *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
