/* Blocking HTTP/1.1 over a Unix socket: see cli/api_client.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/api_client.h"

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -code;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, at least 0. */
static int left_ms(long long deadline)
{
	long long l = deadline - now_ms();

	return l < 0 ? 0 : (int)l;
}

/* Wait for events on fd; 1 ready, 0 timed out, -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left_ms(deadline));

		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path, long long deadline, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(ENAMETOOLONG, err, errlen, "%s: socket path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(errno, err, errlen, "socket: %s", strerror(errno));
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int e = errno;

		if (e == EINTR)
			continue;
		if (e == EINPROGRESS) {
			int r = wait_fd(fd, POLLOUT, deadline);
			int so = 0;
			socklen_t sl = sizeof(so);

			if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && !so)
				return fd;
			close(fd);
			if (r == 0)
				return fail(ETIMEDOUT, err, errlen, "%s: connect timed out", path);
			e = r < 0 ? -r : so ? so : EIO;
			return fail(e, err, errlen, "%s: %s", path, strerror(e));
		}
		/* A full listen backlog: a Unix socket says EAGAIN; retry. */
		if (e == EAGAIN && left_ms(deadline) > 0) {
			usleep(10000);
			continue;
		}
		close(fd);
		if (e == EAGAIN)
			return fail(ETIMEDOUT, err, errlen, "%s: connect timed out", path);
		return fail(e, err, errlen, "%s: %s", path, strerror(e));
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline,
		    char *err, size_t errlen)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r == 0)
				return fail(ETIMEDOUT, err, errlen, "sending the request timed out");
			if (r < 0)
				return fail(-r, err, errlen, "poll: %s", strerror(-r));
			continue;
		}
		return fail(errno, err, errlen, "sending the request: %s", strerror(errno));
	}
	return 0;
}

/* Case-insensitive header lookup in the header block [hdr, end). */
static const char *header_value(const char *hdr, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *line = strstr(hdr, "\r\n");

	while (line && line[2] != '\r' && line[2]) {
		line += 2;
		const char *eol = strstr(line, "\r\n");

		if (!eol)
			break;
		if ((size_t)(eol - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *e = eol;

			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*vlen = (size_t)(e - v);
			return v;
		}
		line = eol;
	}
	return NULL;
}

/* Decode a chunked body in place; new length or -1. */
static long dechunk(char *buf, size_t len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		const char *eol = memmem(buf + in, len - in, "\r\n", 2);

		if (!eol)
			return -1;
		errno = 0;
		unsigned long n = strtoul(buf + in, &end, 16);

		if (errno || end == buf + in || n > len)
			return -1;
		in = (size_t)(eol - buf) + 2;
		if (n == 0)
			return (long)out;
		if (n + 2 > len - in)
			return -1;
		memmove(buf + out, buf + in, n);
		out += n;
		in += n + 2;
	}
}

/* One exchange.  With upgrade (a protocol name), the request asks to switch
 * to it; a 101 answer then ends the exchange with the socket in *fd_out and
 * the bytes that came after the answer's head in resp->body. */
static int exchange(const char *sock_path, const char *method, const char *path,
		    const char *body, const char *upgrade, int timeout_ms,
		    struct api_response *resp, int *fd_out, char *err, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	size_t blen = body ? strlen(body) : 0;
	char head[1024];
	char *buf = NULL;
	size_t len = 0, cap = 0, hlen = 0, want = (size_t)-1;
	int fd, rc, chunked = 0, eof = 0;

	memset(resp, 0, sizeof(*resp));
	if (fd_out)
		*fd_out = -1;
	if (upgrade)
		snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
			 "Upgrade: %s\r\n\r\n", method, path, upgrade);
	else if (blen)
		snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			 "Accept: application/json\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", method, path, blen);
	else
		snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			 "Accept: application/json\r\n\r\n", method, path);
	fd = connect_unix(sock_path, deadline, err, errlen);
	if (fd < 0)
		return fd;
	rc = send_all(fd, head, strlen(head), deadline, err, errlen);
	if (!rc && blen)
		rc = send_all(fd, body, blen, deadline, err, errlen);
	if (rc)
		goto out;

	/* Read until the headers end, then until the body is complete. */
	for (;;) {
		if (hlen && len - hlen >= want)
			break;
		if (eof)
			break;
		if (cap - len < 4096 + 1) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);

			if (!nb) {
				rc = fail(ENOMEM, err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLIN, deadline);

			if (r == 0) {
				rc = fail(ETIMEDOUT, err, errlen, "no answer within %d ms", timeout_ms);
				goto out;
			}
			if (r < 0) {
				rc = fail(-r, err, errlen, "poll: %s", strerror(-r));
				goto out;
			}
			continue;
		}
		if (n < 0) {
			/* A server that closes early may reset the connection. */
			if (errno == ECONNRESET && len) {
				eof = 1;
				continue;
			}
			rc = fail(errno, err, errlen, "reading the answer: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			eof = 1;
		len += (size_t)n;
		buf[len] = '\0';
		if (!hlen) {
			char *e = strstr(buf, "\r\n\r\n");

			if (!e) {
				if (len > API_CLIENT_MAX_HEADER) {
					rc = fail(EFBIG, err, errlen, "answer headers too large");
					goto out;
				}
				if (eof) {
					rc = fail(EPROTO, err, errlen, "connection closed before an answer");
					goto out;
				}
				continue;
			}
			hlen = (size_t)(e - buf) + 4;
			int major, minor, status;

			if (sscanf(buf, "HTTP/%d.%d %3d", &major, &minor, &status) != 3 ||
			    status < 100 || status > 999) {
				rc = fail(EPROTO, err, errlen, "not an HTTP answer");
				goto out;
			}
			resp->status = status;
			if (upgrade && status == 101)
				break;
			size_t vl;
			const char *v = header_value(buf, "Transfer-Encoding", &vl);

			if (v && vl == 7 && strncasecmp(v, "chunked", 7) == 0)
				chunked = 1;
			v = header_value(buf, "Content-Length", &vl);
			if (status == 204 || status == 304 || status < 200 ||
			    strcmp(method, "HEAD") == 0) {
				want = 0;
			} else if (v && !chunked) {
				char *end;

				errno = 0;
				unsigned long long cl = strtoull(v, &end, 10);

				if (errno || end != v + vl || vl == 0) {
					rc = fail(EPROTO, err, errlen, "bad Content-Length");
					goto out;
				}
				if (cl > API_CLIENT_MAX_BODY) {
					rc = fail(EFBIG, err, errlen, "answer body too large (%llu bytes)", cl);
					goto out;
				}
				want = (size_t)cl;
			}
		}
		if (hlen && len - hlen > API_CLIENT_MAX_BODY + (chunked ? 4096 : 0)) {
			rc = fail(EFBIG, err, errlen, "answer body too large");
			goto out;
		}
		/* A chunked body (or one without a length) ends when the
		 * server closes: we asked for "Connection: close". */
	}
	if (upgrade && resp->status == 101) {
		/* The stream's first bytes may have come with the answer. */
		memmove(buf, buf + hlen, len - hlen);
		buf[len - hlen] = '\0';
		resp->body = buf;
		resp->body_len = len - hlen;
		*fd_out = fd;
		return 0;
	}
	if (want != (size_t)-1 && len - hlen < want) {
		rc = fail(EPROTO, err, errlen, "answer body truncated");
		goto out;
	}
	size_t body_len = want != (size_t)-1 ? want : len - hlen;

	if (chunked) {
		long d = dechunk(buf + hlen, len - hlen);

		if (d < 0) {
			rc = fail(EPROTO, err, errlen, "bad chunked body");
			goto out;
		}
		body_len = (size_t)d;
	}
	memmove(buf, buf + hlen, body_len);
	buf[body_len] = '\0';
	resp->body = buf;
	resp->body_len = body_len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

void api_response_free(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

int api_request(const char *sock_path, const char *method, const char *path,
		const char *body, int timeout_ms, struct api_response *resp,
		char *err, size_t errlen)
{
	return exchange(sock_path, method, path, body, NULL, timeout_ms, resp, NULL,
			err, errlen);
}

int api_upgrade(const char *sock_path, const char *path, const char *protocol,
		int timeout_ms, struct api_response *resp, int *fd, char *err, size_t errlen)
{
	return exchange(sock_path, "GET", path, NULL, protocol, timeout_ms, resp, fd,
			err, errlen);
}
