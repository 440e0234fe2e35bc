/* `landlord console NAME`: the serial console of a running VM, over its API
 * socket (GET /landlord/console, upgraded to a raw byte stream; see
 * docs/API.md).  On a terminal: raw mode, Ctrl-] detaches.  Otherwise a
 * plain byte copy: stdin to the guest, its output to stdout; at the end of
 * stdin the output is copied on until it has been quiet for DRAIN_MS. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "base/runtime_dir.h"
#include "cli/api_client.h"
#include "cli/cli.h"
#include "vmm/config.h"

#define DETACH_KEY	0x1d		/* Ctrl-], as telnet and virsh */
#define DRAIN_MS	1000		/* after stdin's end: output quiet this long */
#define FLUSH_MS	1000		/* input still unsent when detaching */
#define TO_VM_MAX	(64u << 10)	/* input read ahead of what the VM took */
#define USAGE		"landlord console NAME [--api-sock PATH]"

enum end { END_NONE, END_DETACH, END_STOPPED, END_DRAINED, END_SIGNAL, END_ERROR };

struct session {
	const char *name;
	int sock;
	int sigfd;
	bool tty;               /* stdin is a terminal: raw mode, detach key */
	bool raw;
	struct termios saved;
	bool in_open;           /* stdin has not ended */
	bool shut;              /* our side of the stream is shut for writing */
	long long quiet_since;  /* stdin ended: last output at */
	int signo;
	uint8_t to_vm[TO_VM_MAX];
	size_t to_vm_len;
	uint8_t from_vm[64u << 10];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NAME and --api-sock PATH: 0 go on, 1 done (help), -1 bad usage. */
static int parse_args(int argc, char **argv, const char **name, const char **sock)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s\n\nAttach to the VM's serial console; Ctrl-] detaches "
			       "(the VM keeps running).\n", USAGE);
			return 1;
		} else if (!strcmp(argv[i], "--api-sock") && i + 1 < argc) {
			*sock = argv[++i];
		} else if (!strncmp(argv[i], "--api-sock=", 11)) {
			*sock = argv[i] + 11;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "landlord: console: unknown option '%s' (usage: %s)\n",
				argv[i], USAGE);
			return -1;
		} else if (!*name) {
			*name = argv[i];
		} else {
			fprintf(stderr, "landlord: console: unexpected argument '%s' (usage: %s)\n",
				argv[i], USAGE);
			return -1;
		}
	}
	if (!*name && !*sock) {
		fprintf(stderr, "landlord: console: missing VM name (usage: %s)\n", USAGE);
		return -1;
	}
	if (*name && cli_check_name(*name) < 0)
		return -1;
	if (!*name)
		*name = *sock;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			poll(&pf, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The upgrade: the socket, with the first output already on stdout; or -1
 * with the reason on stderr. */
/* The upgraded socket, with the output that came along with the 101 in
 * *r (printed by the caller once the terminal is raw); or -1 with the
 * reason on stderr. */
static int attach(const char *name, const char *path, struct api_response *out)
{
	struct api_response r;
	char err[512];
	int fd, rc = api_upgrade(path, "/landlord/console", "landlord-console",
				 API_CLIENT_TIMEOUT_MS, &r, &fd, err, sizeof(err));

	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		fprintf(stderr, "landlord: no VM named %s\n", name);
		return -1;
	}
	if (rc) {
		fprintf(stderr, "landlord: %s: %s\n", name, err);
		return -1;
	}
	if (r.status != 101) {
		json_t *o = json_loadb(r.body, r.body_len, 0, NULL);
		const json_t *m = json_object_get(o, "fault_message");

		if (json_is_string(m))
			fprintf(stderr, "landlord: %s: %s\n", name, json_string_value(m));
		else
			fprintf(stderr, "landlord: %s: GET /landlord/console: HTTP status %d\n",
				name, r.status);
		json_decref(o);
		api_response_free(&r);
		return -1;
	}
	*out = r;
	return fd;
}

/* SIGINT/SIGTERM/SIGHUP end the session (the terminal restored) instead of
 * the process. */
static int signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void raw_on(struct session *s)
{
	struct termios t;

	if (!s->tty || tcgetattr(STDIN_FILENO, &s->saved) < 0)
		return;
	t = s->saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
		s->raw = true;
}

static void raw_off(struct session *s)
{
	if (s->raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &s->saved);
	s->raw = false;
}

/* Send what we can of the input without blocking; -1 when the VM's end is
 * gone. */
static int send_some(struct session *s)
{
	while (s->to_vm_len) {
		ssize_t n = send(s->sock, s->to_vm, s->to_vm_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		memmove(s->to_vm, s->to_vm + n, s->to_vm_len - (size_t)n);
		s->to_vm_len -= (size_t)n;
	}
	if (!s->in_open && !s->shut) {
		/* The VM learns that no more input comes; output still does. */
		shutdown(s->sock, SHUT_WR);
		s->shut = true;
		s->quiet_since = now_ms();
	}
	return 0;
}

/* stdin → the buffer for the VM; on a terminal up to the detach key. */
static enum end from_stdin(struct session *s)
{
	size_t room = sizeof(s->to_vm) - s->to_vm_len;
	ssize_t n = read(STDIN_FILENO, s->to_vm + s->to_vm_len, room);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return END_NONE;
	if (n <= 0) {
		s->in_open = false;
		return END_NONE;
	}
	if (s->tty) {
		uint8_t *key = memchr(s->to_vm + s->to_vm_len, DETACH_KEY, (size_t)n);

		if (key) {
			s->to_vm_len = (size_t)(key - s->to_vm);
			return END_DETACH;
		}
	}
	s->to_vm_len += (size_t)n;
	return END_NONE;
}

static enum end to_stdout(struct session *s, const void *buf, size_t len)
{
	if (write_all(STDOUT_FILENO, buf, len) < 0) {
		raw_off(s);
		fprintf(stderr, "landlord: %s: writing the console output: %s\n", s->name,
			strerror(errno));
		return END_ERROR;
	}
	return END_NONE;
}

/* The VM's output → stdout. */
static enum end from_vm(struct session *s)
{
	ssize_t n = recv(s->sock, s->from_vm, sizeof(s->from_vm), 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return END_NONE;
	if (n <= 0)
		return END_STOPPED;   /* the VM closes the stream as it exits */
	s->quiet_since = now_ms();
	return to_stdout(s, s->from_vm, (size_t)n);
}

static enum end step(struct session *s)
{
	struct pollfd p[3] = {
		{ .fd = s->sock, .events = POLLIN | (s->to_vm_len ? POLLOUT : 0) },
		{ .fd = s->sigfd, .events = POLLIN },
		{ .fd = s->in_open && s->to_vm_len < sizeof(s->to_vm) ? STDIN_FILENO : -1,
		  .events = POLLIN },
	};
	int timeout = -1;
	enum end e = END_NONE;

	if (s->shut) {
		long long left = s->quiet_since + DRAIN_MS - now_ms();

		if (left <= 0)
			return END_DRAINED;
		timeout = (int)left;
	}
	if (poll(p, 3, timeout) < 0)
		return errno == EINTR ? END_NONE : END_ERROR;
	if (p[1].revents) {
		struct signalfd_siginfo si;

		if (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
			s->signo = (int)si.ssi_signo;
			return END_SIGNAL;
		}
	}
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
		e = from_vm(s);
	if (e == END_NONE && p[2].revents)
		e = from_stdin(s);
	if ((e == END_NONE || e == END_DETACH) && send_some(s) < 0)
		return END_STOPPED;
	return e;
}

/* Input typed before the detach key still goes, for a moment. */
static void flush_to_vm(struct session *s)
{
	long long end = now_ms() + FLUSH_MS;

	while (s->to_vm_len && now_ms() < end) {
		struct pollfd p = { .fd = s->sock, .events = POLLOUT };

		if (poll(&p, 1, (int)(end - now_ms())) <= 0 || send_some(s) < 0)
			return;
	}
}

static int finish(struct session *s, enum end e)
{
	if (e == END_DETACH)
		flush_to_vm(s);
	raw_off(s);
	close(s->sock);
	if (s->sigfd >= 0)
		close(s->sigfd);
	switch (e) {
	case END_DETACH:
		fprintf(stderr, "\ndetached from %s\n", s->name);
		return 0;
	case END_STOPPED:
		fprintf(stderr, "%s%s has stopped\n", s->tty ? "\n" : "", s->name);
		return 0;
	case END_SIGNAL:
		return 128 + s->signo;
	case END_DRAINED:
		return 0;
	default:
		return 1;
	}
}

int cli_console(int argc, char **argv)
{
	const char *name = NULL, *sock_arg = NULL;
	char path[4096 + 80], err[256];
	struct session *s;
	struct api_response first;
	enum end e = END_NONE;
	int rc = parse_args(argc, argv, &name, &sock_arg);

	if (rc)
		return rc < 0 ? 1 : 0;
	if (sock_arg)
		snprintf(path, sizeof(path), "%s", sock_arg);
	else if (runtime_socket_path(name, path, sizeof(path), 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "landlord: %s\n", err);
		return 1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "landlord: out of memory\n");
		return 1;
	}
	s->name = name;
	s->sigfd = signals_fd();
	s->tty = isatty(STDIN_FILENO);
	s->in_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
	s->sock = attach(name, path, &first);
	if (s->sock < 0) {
		free(s);
		return 1;
	}
	if (s->tty)
		fprintf(stderr, "attached to %s; detach with Ctrl-]\n", name);
	/* Raw before the first output: a terminal never sees the session's
	 * bytes in cooked mode. */
	raw_on(s);
	if (first.body_len)
		e = to_stdout(s, first.body, first.body_len);
	api_response_free(&first);
	while (e == END_NONE)
		e = step(s);
	rc = finish(s, e);
	free(s);
	return rc;
}
