/* A small blocking HTTP/1.1 client for a VM's API socket (AF_UNIX), used by
 * the CLI's ls/info/pause/resume/stop/kill, and the Upgrade that starts
 * `landlord console`.  One request per connection ("Connection: close"),
 * bounded sizes, one deadline for the whole exchange. */
#ifndef LANDLORD_CLI_API_CLIENT_H
#define LANDLORD_CLI_API_CLIENT_H

#include <stddef.h>

#define API_CLIENT_TIMEOUT_MS	5000
#define API_CLIENT_MAX_HEADER	(16 << 10)
#define API_CLIENT_MAX_BODY	(1 << 20)

struct api_response {
	int status;		/* HTTP status code */
	char *body;		/* malloc'd, NUL-terminated (maybe empty) */
	size_t body_len;
};

/* Send METHOD PATH (with body, NULL for none, sent as application/json) to
 * the server on sock_path and read its response.  0 on a response (of any
 * status); else a negative errno with a reason in err: -ENOENT (no such
 * socket), -ECONNREFUSED (nobody listens: a dead VM's stale socket),
 * -ETIMEDOUT (no complete answer within timeout_ms), -EPROTO (not HTTP),
 * -EFBIG (too large), others from the system. */
int api_request(const char *sock_path, const char *method, const char *path,
		const char *body, int timeout_ms, struct api_response *resp,
		char *err, size_t errlen);
/* GET path asking to switch to protocol ("Connection: Upgrade", "Upgrade:
 * protocol").  Returns as api_request; on a 101 answer *fd is the connected
 * socket (non-blocking, the caller's to close) and resp->body holds the first
 * bytes of the new protocol that came with the answer; otherwise *fd is -1
 * and resp is the answer. */
int api_upgrade(const char *sock_path, const char *path, const char *protocol,
		int timeout_ms, struct api_response *resp, int *fd, char *err, size_t errlen);
void api_response_free(struct api_response *resp);

#endif
