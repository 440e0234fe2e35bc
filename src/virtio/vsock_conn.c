/* The host side of virtio-vsock: Unix sockets (see virtio/vsock_conn.h).
 *
 * Every socket is non-blocking and registered in the device's own epoll
 * set with a mask computed from the connection's state (vsock_conn_watch):
 * EPOLLIN only while the guest could take the bytes and we do not already
 * know there are some, EPOLLOUT only while guest bytes wait in the buffer.
 * EPOLLHUP cannot be masked, so a socket whose host end is gone is taken
 * out of the set (c->hup) and from then on read without asking epoll:
 * everything left in it is readable at once.  Nothing here can spin. */
#include "virtio/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG   16
#define PORT_FIRST       (1u << 30)     /* host ports handed out, as Firecracker */
#define PORT_END         (1u << 31)
#define BUF_CAP          (VSOCK_CONN_BUF + VSOCK_OK_MAX)

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

static int set_un(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

static int epoll_set(int epfd, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(epfd, op, fd, &ev);
}

/* A socket file left by an earlier run is replaced, as Firecracker does;
 * anything else at the path is somebody's file and is left alone. */
static int remove_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		errf("vsock %s: exists and is not a socket", path);
		return -1;
	}
	if (unlink(path) < 0) {
		errf("vsock %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int make_listener(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	if (set_un(&sa, path) < 0) {
		errf("vsock %s: path too long", path);
		return -1;
	}
	if (remove_stale(path, err, errlen) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		errf("vsock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int vsock_host_init(struct vsock_host *h, const char *uds_path, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	h->listen_fd = h->epfd = h->timer_fd = -1;
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		h->conns[i].fd = -1;
	h->next_port = PORT_FIRST;
	if (strlen(uds_path) > VSOCK_UDS_PATH_MAX) {
		errf("vsock %s: path longer than %d bytes", uds_path, VSOCK_UDS_PATH_MAX);
		return -1;
	}
	strcpy(h->uds_path, uds_path);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->epfd < 0 || h->timer_fd < 0 ||
	    epoll_set(h->epfd, EPOLL_CTL_ADD, h->timer_fd, EPOLLIN, VSOCK_TAG_TIMER) < 0) {
		errf("vsock: %s", strerror(errno));
		goto fail;
	}
	h->listen_fd = make_listener(uds_path, err, errlen);
	if (h->listen_fd < 0)
		goto fail;
	if (epoll_set(h->epfd, EPOLL_CTL_ADD, h->listen_fd, 0, VSOCK_TAG_LISTEN) < 0) {
		errf("vsock: %s", strerror(errno));
		unlink(uds_path);
		goto fail;
	}
	return 0;
fail:
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->timer_fd >= 0)
		close(h->timer_fd);
	if (h->epfd >= 0)
		close(h->epfd);
	h->listen_fd = h->epfd = h->timer_fd = -1;
	return -1;
}

void vsock_host_fini(struct vsock_host *h)
{
	vsock_host_close_all(h);
	if (h->listen_fd >= 0) {
		close(h->listen_fd);
		unlink(h->uds_path);
	}
	if (h->timer_fd >= 0)
		close(h->timer_fd);
	if (h->epfd >= 0)
		close(h->epfd);
	h->listen_fd = h->epfd = h->timer_fd = -1;
}

void vsock_host_listen(struct vsock_host *h, bool on)
{
	if (h->listening == on || h->listen_fd < 0)
		return;
	if (epoll_set(h->epfd, EPOLL_CTL_MOD, h->listen_fd, on ? EPOLLIN : 0,
		      VSOCK_TAG_LISTEN) == 0)
		h->listening = on;
}

static void conn_reset_fields(struct vsock_conn *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void vsock_conn_close(struct vsock_host *h, struct vsock_conn *c, bool rst)
{
	if (c->fd >= 0) {
		if (!c->hup)
			epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	if (rst && c->state != VCONN_HOST_CMD && c->state != VCONN_FREE) {
		uint32_t local = c->local_port, peer = c->peer_port;

		conn_reset_fields(c);
		c->state = VCONN_RST_OWED;
		c->local_port = local;
		c->peer_port = peer;
		return;
	}
	conn_reset_fields(c);
}

void vsock_host_close_all(struct vsock_host *h)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (h->conns[i].state != VCONN_FREE)
			vsock_conn_close(h, &h->conns[i], false);
	vsock_host_arm_timer(h);
}

void vsock_host_arm_timer(struct vsock_host *h)
{
	struct itimerspec its = { 0 };
	uint64_t first = 0;

	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		uint64_t d = h->conns[i].deadline_ns;

		if (h->conns[i].state != VCONN_FREE && d && (!first || d < first))
			first = d;
	}
	if (first) {
		its.it_value.tv_sec = (time_t)(first / 1000000000ULL);
		its.it_value.tv_nsec = (long)(first % 1000000000ULL);
	}
	if (h->timer_fd >= 0)
		timerfd_settime(h->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

struct vsock_conn *vsock_conn_new(struct vsock_host *h, int fd, enum vconn_state st)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &h->conns[i];

		if (c->state != VCONN_FREE)
			continue;
		if (epoll_set(h->epfd, EPOLL_CTL_ADD, fd, 0, VSOCK_TAG_CONN + (uint64_t)i) < 0)
			return NULL;
		conn_reset_fields(c);
		c->state = st;
		c->fd = fd;
		return c;
	}
	return NULL;
}

struct vsock_conn *vsock_conn_find(struct vsock_host *h, uint32_t local_port,
				   uint32_t peer_port)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &h->conns[i];

		if (c->state != VCONN_FREE && c->state != VCONN_HOST_CMD &&
		    c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

int vsock_conn_index(const struct vsock_host *h, const struct vsock_conn *c)
{
	return (int)(c - h->conns);
}

uint32_t vsock_host_port(struct vsock_host *h)
{
	for (;;) {
		uint32_t p = h->next_port++;
		bool used = false;

		if (h->next_port >= PORT_END)
			h->next_port = PORT_FIRST;
		for (int i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = h->conns[i].state != VCONN_FREE && h->conns[i].local_port == p;
		if (!used)    /* at most VSOCK_MAX_CONNS ports are taken */
			return p;
	}
}

int vsock_host_accept(struct vsock_host *h)
{
	int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	return fd < 0 ? -1 : fd;
}

/* "CONNECT <decimal port>" (a trailing '\r' is allowed). */
static int parse_cmd(struct vsock_conn *c, uint32_t *port)
{
	static const char prefix[] = "CONNECT ";
	const char *p = c->cmd + sizeof(prefix) - 1;
	uint64_t v = 0;
	int digits = 0;

	c->cmd[c->cmd_len] = '\0';
	if (c->cmd_len && c->cmd[c->cmd_len - 1] == '\r')
		c->cmd[--c->cmd_len] = '\0';
	if (strncmp(c->cmd, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	for (; *p >= '0' && *p <= '9' && digits < 11; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (*p || digits == 0 || digits > 10 || v > UINT32_MAX)
		return -1;
	*port = (uint32_t)v;
	return 1;
}

int vsock_conn_read_cmd(struct vsock_conn *c, uint32_t *port)
{
	while (c->cmd_len < VSOCK_CMD_MAX - 1) {
		char ch;
		ssize_t n = recv(c->fd, &ch, 1, 0);

		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 :
			       errno == EINTR ? 0 : -1;
		if (ch == '\n')
			return parse_cmd(c, port);
		c->cmd[c->cmd_len++] = ch;
	}
	return -1;
}

int vsock_host_connect(const struct vsock_host *h, uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	struct sockaddr_un sa;
	int fd;

	snprintf(path, sizeof(path), "%s_%u", h->uds_path, port);
	if (set_un(&sa, path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A Unix stream connect completes at once or fails (EAGAIN: the
	 * listener's backlog is full); it never waits in progress. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void vsock_conn_watch(struct vsock_host *h, struct vsock_conn *c, bool rx_ok)
{
	uint32_t ev = 0;

	if (c->fd < 0 || c->hup)
		return;
	if (c->state == VCONN_HOST_CMD)
		ev = EPOLLIN;
	if (c->state == VCONN_ESTABLISHED) {
		if (rx_ok && !c->rx_ready && !c->host_eof && !c->guest_no_rcv && vsock_peer_credit(c))
			ev |= EPOLLIN;
		if (c->buf_len)
			ev |= EPOLLOUT;
	}
	if (ev == c->events)
		return;
	if (epoll_set(h->epfd, EPOLL_CTL_MOD, c->fd, ev,
		      VSOCK_TAG_CONN + (uint64_t)vsock_conn_index(h, c)) == 0)
		c->events = ev;
}

ssize_t vsock_conn_recv(struct vsock_conn *c, uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(c->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
}

uint32_t vsock_conn_tx_room(const struct vsock_conn *c)
{
	uint32_t guest_bytes = c->buf_len - c->preamble;

	return guest_bytes >= VSOCK_CONN_BUF ? 0 : VSOCK_CONN_BUF - guest_bytes;
}

/* n bytes left the buffer (or went straight out): the first ones are our
 * OK line, the rest count as forwarded for the guest's credit. */
static void account(struct vsock_conn *c, uint32_t n, bool direct_preamble)
{
	uint32_t pre = direct_preamble ? n : (n < c->preamble ? n : c->preamble);

	if (!direct_preamble)
		c->preamble -= pre;
	c->fwd_cnt += n - pre;
}

static ssize_t send_some(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	do
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n;
}

int vsock_conn_send(struct vsock_conn *c, const uint8_t *p, uint32_t len, bool preamble)
{
	if (!c->buf_len && len) {
		ssize_t n = send_some(c->fd, p, len);

		if (n < 0)
			return -1;
		account(c, (uint32_t)n, preamble);
		p += n;
		len -= (uint32_t)n;
	}
	if (len == 0)
		return 0;
	if (!c->buf) {
		c->buf = malloc(BUF_CAP);
		if (!c->buf)
			return -1;
		c->buf_head = 0;
	}
	if ((uint64_t)c->buf_head + c->buf_len + len > BUF_CAP) {
		memmove(c->buf, c->buf + c->buf_head, c->buf_len);
		c->buf_head = 0;
	}
	if ((uint64_t)c->buf_len + len > BUF_CAP)
		return -1;               /* the caller checked the room; cannot happen */
	memcpy(c->buf + c->buf_head + c->buf_len, p, len);
	c->buf_len += len;
	if (preamble)
		c->preamble += len;
	return 0;
}

int vsock_conn_flush(struct vsock_conn *c)
{
	while (c->buf_len) {
		ssize_t n = send_some(c->fd, c->buf + c->buf_head, c->buf_len);

		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		account(c, (uint32_t)n, false);
		c->buf_head += (uint32_t)n;
		c->buf_len -= (uint32_t)n;
	}
	/* Drained: give the memory back until the socket stalls again. */
	free(c->buf);
	c->buf = NULL;
	c->buf_head = 0;
	return 0;
}
