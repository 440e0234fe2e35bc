/* The VM's control API: HTTP/1.1 + JSON on a Unix socket, served by
 * libmicrohttpd from the VM's event loop (no thread of its own).
 * Compatible with Firecracker's API where that covers the feature; landlord's
 * own endpoints live under /landlord/.  See docs/API.md. */
#ifndef LANDLORD_API_API_H
#define LANDLORD_API_API_H

#include <stddef.h>

struct api_server;
struct event_loop;
struct vm;

/* Bind path (mode 0600; a stale socket left by a dead VM is replaced, a
 * live one is an error), start serving on loop.  NULL with a reason in err. */
struct api_server *api_server_create(struct vm *vm, struct event_loop *loop,
				     const char *path, char *err, size_t errlen);
/* Apply Firecracker's JSON config file to a VM that has not started, each
 * section as its PUT request.  0, or -1 with a reason in err. */
int api_apply_config_file(struct vm *vm, const char *path, char *err, size_t errlen);
/* Stop serving, close every connection, remove the socket file. */
void api_server_destroy(struct api_server *s);

#endif
