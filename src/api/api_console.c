/* GET /landlord/console with "Connection: Upgrade" and "Upgrade:
 * landlord-console": 101, then the connection is the console's byte stream
 * (see api/api_console.h, docs/API.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api_console.h"
#include "vmm/vm_console.h"

/* Does the comma-separated header value list hold token (any case)? */
static bool has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);

	while (list && *list) {
		size_t n;

		list += strspn(list, " \t,");
		n = strcspn(list, ",");
		size_t m = n;

		while (m && (list[m - 1] == ' ' || list[m - 1] == '\t'))
			m--;
		if (m == tl && strncasecmp(list, token, tl) == 0)
			return true;
		list += n;
	}
	return false;
}

/* The socket leaves MHD: our own descriptor for it goes to the console,
 * and MHD is told to close its one (that happens in its next run, which
 * kick asks for).  Runs inside MHD_run, on the event-loop thread. */
static void on_upgraded(void *cls, struct MHD_Connection *c, void *req_cls,
			const char *extra_in, size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct api_console *ac = cls;
	int fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);

	if (ac->reserved == c)
		ac->reserved = NULL;
	if (fd >= 0 && vm_console_attach(ac->vm, fd, (const uint8_t *)extra_in,
					 extra_in_size) < 0)
		close(fd);   /* the client sees the stream end at once */
	ac->mhd->upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	ac->kick = true;
}

/* The request's faults, in the order a client should fix them. */
static bool check_request(struct api_console *ac, struct MHD_Connection *c,
			  const char *method, const char *version, struct api_reply *r)
{
	const char *conn = ac->mhd->lookup_connection_value(c, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_CONNECTION);
	const char *upg = ac->mhd->lookup_connection_value(c, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_UPGRADE);

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
		r->allow = "GET";
		api_fault(r, MHD_HTTP_METHOD_NOT_ALLOWED,
			  "%s is not allowed on %s (allowed: GET)", method, API_CONSOLE_PATH);
		return false;
	}
	if (!has_token(conn, "upgrade") || !has_token(upg, API_CONSOLE_PROTOCOL)) {
		api_fault(r, MHD_HTTP_BAD_REQUEST,
			  "attaching to the console needs the headers \"Connection: Upgrade\" "
			  "and \"Upgrade: " API_CONSOLE_PROTOCOL "\"");
		return false;
	}
	if (strcmp(version, MHD_HTTP_VERSION_1_1) != 0) {
		api_fault(r, MHD_HTTP_BAD_REQUEST,
			  "attaching to the console needs HTTP/1.1, not %s", version);
		return false;
	}
	if (ac->reserved || vm_console_attached(ac->vm)) {
		api_fault(r, MHD_HTTP_CONFLICT, "console already attached (one client at a time)");
		return false;
	}
	return true;
}

bool api_console_request(struct api_console *ac, struct MHD_Connection *c,
			 const char *method, const char *version,
			 struct api_reply *r, enum MHD_Result *ret)
{
	struct MHD_Response *resp;

	if (!check_request(ac, c, method, version, r))
		return false;
	resp = ac->mhd->create_response_for_upgrade(on_upgraded, ac);
	if (!resp || ac->mhd->add_response_header(resp, MHD_HTTP_HEADER_UPGRADE,
						  API_CONSOLE_PROTOCOL) != MHD_YES) {
		ac->mhd->destroy_response(resp);
		api_fault(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		return false;
	}
	*ret = ac->mhd->queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	ac->mhd->destroy_response(resp);
	if (*ret == MHD_YES)
		ac->reserved = c;
	return true;
}

void api_console_completed(struct api_console *ac, struct MHD_Connection *c)
{
	/* The 101 never went out (the client left): free the console. */
	if (ac->reserved == c)
		ac->reserved = NULL;
}
