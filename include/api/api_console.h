/* GET /landlord/console: the HTTP Upgrade that turns an API connection into
 * the VM's console (docs/API.md).  The upgraded socket leaves
 * libmicrohttpd at once (a dup of it goes to vm_console.c, MHD closes its
 * own), so the client outlives the HTTP server's bookkeeping and never
 * counts against its connection limit. */
#ifndef LANDLORD_API_API_CONSOLE_H
#define LANDLORD_API_API_CONSOLE_H

#include <stdbool.h>

#include <microhttpd.h>

#include "api/api_internal.h"
#include "api/mhd_lib.h"

#define API_CONSOLE_PATH      "/landlord/console"
#define API_CONSOLE_PROTOCOL  "landlord-console"

struct api_console {
	struct vm *vm;
	const struct mhd_lib *mhd;
	/* The connection whose 101 is queued but not sent yet: it holds the
	 * console, so a second request in the meantime gets 409 too. */
	struct MHD_Connection *reserved;
	/* An upgraded connection waits for MHD_run to close MHD's copy. */
	bool kick;
};

/* A complete request for API_CONSOLE_PATH: true when the 101 is queued
 * (*ret is MHD's answer), false with the error reply in r. */
bool api_console_request(struct api_console *ac, struct MHD_Connection *c,
			 const char *method, const char *version,
			 struct api_reply *r, enum MHD_Result *ret);
/* MHD is done with connection c (MHD_OPTION_NOTIFY_COMPLETED). */
void api_console_completed(struct api_console *ac, struct MHD_Connection *c);

#endif
