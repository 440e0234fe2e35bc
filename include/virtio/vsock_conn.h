/* The host side of virtio-vsock (virtio/virtio_vsock.h): the listening
 * socket at uds_path, the connection table and each connection's Unix
 * socket.  Everything here is socket work; what goes to the guest is
 * decided by virtio_vsock.c.  All sockets are non-blocking and sit in one
 * epoll set of their own (epfd), which the device watches on the VM's
 * event loop as one fd: connections come and go at run time, and the
 * loop's table is only safe to change while the VM is being built.
 * Callers hold the device's lock. */
#ifndef LANDLORD_VIRTIO_VSOCK_CONN_H
#define LANDLORD_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/clock.h"   /* clock_mono_ns: the connections' deadlines */
#include "virtio/virtio_vsock.h"

enum vconn_state {
	VCONN_FREE,
	VCONN_HOST_CMD,       /* host client accepted; reading "CONNECT <port>\n" */
	VCONN_HOST_REQUEST,   /* REQUEST owed or sent to the guest; awaiting RESPONSE */
	VCONN_ESTABLISHED,
	VCONN_RST_OWED,       /* socket closed; an RST is owed, then the slot is free */
};

/* Control packets owed to the guest (bits of vsock_conn.ctl). */
#define VCTL_REQUEST         1u
#define VCTL_RESPONSE        2u
#define VCTL_CREDIT_UPDATE   4u
#define VCTL_CREDIT_REQUEST  8u
#define VCTL_SHUTDOWN        16u

#define VSOCK_CMD_MAX        32      /* "CONNECT 4294967295\r\n" fits */
#define VSOCK_OK_MAX         24      /* "OK 4294967295\n" */

struct vsock_conn {
	enum vconn_state state;
	int fd;
	uint32_t local_port;      /* the host's end */
	uint32_t peer_port;       /* the guest's end */
	uint32_t ctl;             /* VCTL_* owed */
	uint32_t shut_flags;      /* VSOCK_SHUTDOWN_* of the SHUTDOWN owed / sent */
	uint32_t events;          /* the epoll mask set now */
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC; 0: none */

	/* host -> guest */
	uint32_t rx_cnt;          /* bytes sent to the guest */
	uint32_t peer_buf_alloc;  /* the guest's, from its last packet */
	uint32_t peer_fwd_cnt;
	bool rx_ready;            /* the socket may have bytes (or EOF) for the guest */
	bool host_eof;            /* read gave 0: the host sends no more */
	bool hup;                 /* the host end is gone; out of epfd */
	bool guest_no_rcv;        /* guest's SHUTDOWN flags */
	bool guest_no_send;
	bool credit_asked;        /* CREDIT_REQUEST sent since credit ran out */

	/* guest -> host */
	uint32_t recv_cnt;        /* bytes from the guest */
	uint32_t fwd_cnt;         /* of those, written to the socket */
	uint32_t fwd_sent;        /* fwd_cnt as last told to the guest */
	bool wr_shut;             /* shutdown(SHUT_WR) done */
	uint8_t *buf;             /* VSOCK_CONN_BUF + VSOCK_OK_MAX, or NULL */
	uint32_t buf_head, buf_len;
	uint32_t preamble;        /* leading buffered bytes that are our "OK" line */

	char cmd[VSOCK_CMD_MAX];  /* the CONNECT line so far */
	uint32_t cmd_len;
};

/* epoll tags in epfd: the listener, the timer, conn i = VSOCK_TAG_CONN + i. */
#define VSOCK_TAG_LISTEN     0
#define VSOCK_TAG_TIMER      1
#define VSOCK_TAG_CONN       2

struct vsock_host {
	char uds_path[VSOCK_UDS_PATH_MAX + 1];
	int listen_fd;
	int epfd;
	int timer_fd;
	bool listening;           /* listen_fd is in epfd with EPOLLIN */
	uint32_t next_port;       /* host ports for host-initiated connections */
	struct vsock_conn conns[VSOCK_MAX_CONNS];
};

/* Listener (stale socket file replaced), epfd, timer.  0, or -1 with err. */
int vsock_host_init(struct vsock_host *h, const char *uds_path, char *err, size_t errlen);
/* Close everything and remove uds_path. */
void vsock_host_fini(struct vsock_host *h);
/* Watch the listener or not (only while the driver is up). */
void vsock_host_listen(struct vsock_host *h, bool on);
/* Close every connection (device reset). */
void vsock_host_close_all(struct vsock_host *h);

/* Re-arm the timer for the earliest deadline. */
void vsock_host_arm_timer(struct vsock_host *h);

/* A free slot set up for fd (added to epfd with mask 0), or NULL. */
struct vsock_conn *vsock_conn_new(struct vsock_host *h, int fd, enum vconn_state st);
struct vsock_conn *vsock_conn_find(struct vsock_host *h, uint32_t local_port,
				   uint32_t peer_port);
int vsock_conn_index(const struct vsock_host *h, const struct vsock_conn *c);
/* Close the socket; the slot becomes free, or waits to send an RST. */
void vsock_conn_close(struct vsock_host *h, struct vsock_conn *c, bool rst);
/* A host port no live host-initiated connection uses. */
uint32_t vsock_host_port(struct vsock_host *h);

/* Accept one host client: its fd (non-blocking), or -1 when none. */
int vsock_host_accept(struct vsock_host *h);
/* Read the CONNECT line, a byte at a time (so no data after it is taken).
 * 1: *port set; 0: need more; -1: bad line or EOF (close it). */
int vsock_conn_read_cmd(struct vsock_conn *c, uint32_t *port);
/* Connect to "<uds_path>_<port>" without blocking: the fd, or -1. */
int vsock_host_connect(const struct vsock_host *h, uint32_t port);

/* The epoll mask for c given whether the guest can take packets now. */
void vsock_conn_watch(struct vsock_host *h, struct vsock_conn *c, bool rx_ok);
/* Take the host's bytes: >0 read, 0 EOF, -1 none now, -2 error. */
ssize_t vsock_conn_recv(struct vsock_conn *c, uint8_t *buf, size_t len);
/* Bytes the guest may still send: VSOCK_CONN_BUF less what is buffered. */
uint32_t vsock_conn_tx_room(const struct vsock_conn *c);
/* Forward guest bytes (at most vsock_conn_tx_room) or our OK line
 * (preamble): written now, or buffered.  0, or -1 (the socket failed). */
int vsock_conn_send(struct vsock_conn *c, const uint8_t *p, uint32_t len, bool preamble);
/* Write buffered bytes.  0, or -1 (the socket failed). */
int vsock_conn_flush(struct vsock_conn *c);
/* What the guest can take now: buf_alloc - (sent - fwd_cnt).  A guest
 * that reports more forwarded than it got, or shrinks its buffer, gets
 * nothing until its numbers make sense again. */
static inline uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static inline bool vsock_conn_buffered(const struct vsock_conn *c) { return c->buf_len != 0; }

#endif
