/* The API server's plumbing: the Unix socket landlord binds itself, a
 * libmicrohttpd daemon in external-epoll mode (no thread of its own) whose
 * epoll fd is watched by the VM's event loop, a timer for MHD's own
 * deadlines (connection timeouts, connections still ready to be served),
 * request bodies collected under a size limit, and the deferred hard stop.
 * The socket listens from the start; libmicrohttpd is loaded and the
 * daemon started when the first client connects (mhd_lib.h says why).
 * The endpoints are in api_routes.c; the console's Upgrade in
 * api_console.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api.h"
#include "api/api_console.h"
#include "api/api_internal.h"
#include "api/mhd_lib.h"
#include "base/event_loop.h"
#include "base/log.h"
#include "vmm/vm_control.h"

#define API_CONN_LIMIT      32u
#define API_CONN_TIMEOUT_S  10u
#define API_CONN_MEMORY     (32u * 1024)   /* MHD's pool: request line + headers */
#define API_TICK_S          1      /* longest sleep while connections are open */

struct api_server {
	struct vm *vm;
	struct event_loop *loop;
	struct mhd_lib mhd;     /* loaded with the first client */
	struct MHD_Daemon *daemon;
	int listen_fd;          /* ours until the daemon takes it */
	int mhd_epfd;           /* MHD's own epoll fd, watched by the loop */
	int tick_fd;            /* timerfd: MHD_run at MHD's next deadline */
	bool stop_pending;      /* a stop request's response has been sent */
	bool stopping;
	struct api_console console;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Per request: the body as it arrives. */
struct api_request {
	char *body;
	size_t len;
	bool too_big;
	bool stop_after;
};

static enum MHD_Result send_reply(const struct mhd_lib *m, struct MHD_Connection *c,
				  struct api_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;

	if (r->body) {
		text = json_dumps(r->body, JSON_COMPACT);
		json_decref(r->body);
		r->body = NULL;
	}
	if (text)
		resp = m->create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	else
		resp = m->create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (text)
		m->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->allow)
		m->add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	ret = m->queue_response(c, r->status, resp);
	m->destroy_response(resp);
	return ret;
}

static enum MHD_Result send_too_big(const struct mhd_lib *m, struct MHD_Connection *c)
{
	struct api_reply r = { 0 };

	api_fault(&r, 413,
		  "the request body is larger than %u bytes", API_MAX_BODY);
	return send_reply(m, c, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_request *rq = *con_cls;
	struct api_reply r = { 0 };
	enum MHD_Result ret;

	if (!rq) {
		const char *cl = s->mhd.lookup_connection_value(c, MHD_HEADER_KIND,
								MHD_HTTP_HEADER_CONTENT_LENGTH);

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		/* Announced too big: answer now, without reading the body
		 * (MHD then closes the connection). */
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			rq->too_big = true;
			return send_too_big(&s->mhd, c);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* Chunked bodies have no length up front: drop what is over
		 * the limit and answer 413 at the end. */
		if (!rq->too_big && rq->len + *upload_size > API_MAX_BODY) {
			rq->too_big = true;
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		if (!rq->too_big) {
			char *b = realloc(rq->body, rq->len + *upload_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + rq->len, upload, *upload_size);
			rq->body = b;
			rq->len += *upload_size;
			b[rq->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return send_too_big(&s->mhd, c);
	if (strcmp(url, API_CONSOLE_PATH) == 0) {
		if (api_console_request(&s->console, c, method, version, &r, &ret))
			return ret;
		return send_reply(&s->mhd, c, &r);
	}

	api_route(s->vm, method, url, rq->body ? rq->body : "", rq->len, &r);
	api_metrics_count(s->vm, method, url, r.status);
	log_debug("API %s %s: %u", method, url, r.status);
	rq->stop_after = r.stop_after;
	ret = send_reply(&s->mhd, c, &r);
	return ret;
}

/* Called once a request is over: its response sent, or the connection
 * gone.  A stop request stops the VM only now, so the client has its 204. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	struct api_request *rq = *con_cls;

	api_console_completed(&s->console, c);
	if (!rq)
		return;
	if (rq->stop_after)
		s->stop_pending = true;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* Run MHD, then arm the timer for its next deadline: a connection's
 * timeout (at most API_TICK_S away), or at once when MHD still has ready
 * connections it did not serve this time (its epoll is edge-triggered
 * inside).  No connections, no deadline: the timer sleeps. */
static void api_run(struct api_server *s)
{
	struct itimerspec t = { 0 };
	MHD_UNSIGNED_LONG_LONG ms;

	s->mhd.run(s->daemon);
	if (s->mhd.get_timeout(s->daemon, &ms) == MHD_YES) {
		if (ms >= API_TICK_S * 1000ull)
			t.it_value.tv_sec = API_TICK_S;
		else
			t.it_value.tv_nsec = ms ? (long)ms * 1000000 : 1;
	}
	/* A console connection handed over: MHD closes its copy of the
	 * socket in its next run, which nothing else would trigger. */
	if (s->console.kick) {
		s->console.kick = false;
		t.it_value.tv_sec = 0;
		t.it_value.tv_nsec = 1;
	}
	timerfd_settime(s->tick_fd, 0, &t, NULL);
	/* Last thing: vm_stop_hard may start tearing the VM (and this
	 * server) down. */
	if (s->stop_pending && !s->stopping) {
		s->stopping = true;
		vm_stop_hard(s->vm);
	}
}

static void on_mhd_ready(void *opaque, int fd, uint32_t events)
{
	api_run(opaque);
}

static void on_tick(void *opaque, int fd, uint32_t events)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	api_run(opaque);
}

/* A socket at path: a live one (a VM answers) is an error; a stale one
 * (connect: ECONNREFUSED) is removed; anything else there is left alone. */
static int clear_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "API socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "API socket %s: exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		const char *base = strrchr(path, '/');
		int n;

		base = base ? base + 1 : path;
		n = (int)strlen(base);
		if (n > 5 && !strcmp(base + n - 5, ".sock"))
			n -= 5;
		snprintf(err, errlen, "a VM named %.*s is already running (socket %s)", n, base, path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "API socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "removing stale API socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "API socket path too long (at most %zu bytes): %s",
			 sizeof(sa.sun_path) - 1, path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (clear_path(path, &sa, err, errlen) < 0)
		return -1;
	/* Bound under a temporary name and renamed once listening, so that a
	 * client that sees the socket file can connect at once (when the
	 * temporary name would be too long, the file shows a moment early). */
	r = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d~", path, (int)getpid());
	if (r < 0 || (size_t)r >= sizeof(sa.sun_path))
		strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Born 0600: nobody else may connect, not even for a moment. */
	unlink(sa.sun_path);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		snprintf(err, errlen, "API socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(sa.sun_path, 0600) < 0 || listen(fd, 64) < 0 ||
	    (strcmp(sa.sun_path, path) && rename(sa.sun_path, path) < 0)) {
		int e = errno;

		snprintf(err, errlen, "API socket %s: %s", path, strerror(e));
		close(fd);
		unlink(sa.sun_path);
		return -1;
	}
	return fd;
}

/* Load libmicrohttpd and start the daemon on our listening socket, its
 * epoll fd and deadline timer on the event loop: 0, or -1 with err. */
static int start_http(struct api_server *s, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;

	if (mhd_lib_load(&s->mhd, err, errlen) < 0)
		return -1;
	s->daemon = s->mhd.start_daemon(MHD_USE_EPOLL | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
					on_request, s,
					MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd,
					MHD_OPTION_CONNECTION_LIMIT, API_CONN_LIMIT,
					MHD_OPTION_CONNECTION_TIMEOUT, API_CONN_TIMEOUT_S,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
					MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot start the HTTP server");
		return -1;
	}
	s->listen_fd = -1;      /* the daemon's now: MHD_stop_daemon closes it */
	info = s->mhd.get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen, "the HTTP server has no epoll fd");
		return -1;
	}
	s->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->tick_fd < 0) {
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		return -1;
	}
	if (el_add(s->loop, s->tick_fd, EPOLLIN, on_tick, s) < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		close(s->tick_fd);
		s->tick_fd = -1;
		return -1;
	}
	if (el_add(s->loop, info->epoll_fd, EPOLLIN, on_mhd_ready, s) < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		return -1;
	}
	s->mhd_epfd = info->epoll_fd;
	return 0;
}

/* Undo start_http, whatever part of it was done: the daemon closes the
 * listening socket and every connection. */
static void stop_http(struct api_server *s)
{
	if (s->mhd_epfd >= 0)
		el_remove(s->loop, s->mhd_epfd);
	s->mhd_epfd = -1;
	if (s->tick_fd >= 0) {
		el_remove(s->loop, s->tick_fd);
		close(s->tick_fd);
	}
	s->tick_fd = -1;
	if (s->daemon)
		s->mhd.stop_daemon(s->daemon);
	s->daemon = NULL;
	mhd_lib_unload(&s->mhd);
}

/* The first client: from now on libmicrohttpd serves the socket.  If it
 * cannot, the API is off for good: the socket goes, so clients are told at
 * once (ENOENT, ECONNREFUSED) instead of waiting. */
static void on_first_client(void *opaque, int fd, uint32_t events)
{
	struct api_server *s = opaque;
	char err[256];

	el_remove(s->loop, s->listen_fd);
	if (start_http(s, err, sizeof(err)) < 0) {
		log_error("API socket %s: %s; the API is off", s->path, err);
		stop_http(s);
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		s->listen_fd = -1;
		unlink(s->path);
		return;
	}
	api_run(s);
}

struct api_server *api_server_create(struct vm *vm, struct event_loop *loop,
				     const char *path, char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->vm = vm;
	s->loop = loop;
	s->console.vm = vm;
	s->console.mhd = &s->mhd;
	s->mhd_epfd = s->tick_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);

	s->listen_fd = bind_socket(path, err, errlen);
	if (s->listen_fd < 0) {
		free(s);
		return NULL;
	}
	if (el_add(loop, s->listen_fd, EPOLLIN, on_first_client, s) < 0) {
		snprintf(err, errlen, "API: event loop: %s", strerror(errno));
		close(s->listen_fd);
		unlink(path);
		free(s);
		return NULL;
	}
	return s;
}

void api_server_destroy(struct api_server *s)
{
	if (!s)
		return;
	if (s->listen_fd >= 0) {        /* no client came: still ours */
		el_remove(s->loop, s->listen_fd);
		close(s->listen_fd);
	}
	stop_http(s);
	unlink(s->path);
	free(s);
}
