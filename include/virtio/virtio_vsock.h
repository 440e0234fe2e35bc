/* virtio-vsock (virtio 1.2, 5.10) with Firecracker's host side: the
 * guest's AF_VSOCK stream sockets are proxied to AF_UNIX sockets.
 *
 *  - host-initiated: a host process connects to uds_path (landlord listens
 *    there) and sends "CONNECT <port>\n"; landlord asks the guest's port
 *    (OP_REQUEST from a host port it picks) and, on OP_RESPONSE, answers
 *    "OK <host port>\n"; then bytes flow both ways.  RST or no answer
 *    within VSOCK_CONNECT_TIMEOUT_MS closes the Unix socket.
 *  - guest-initiated: the guest connects to CID 2 (the host), port P;
 *    landlord connects to the Unix socket "<uds_path>_<P>": OP_RESPONSE on
 *    success, else OP_RST.
 * Stream sockets only; credit flow control both ways. */
#ifndef LANDLORD_VIRTIO_VIRTIO_VSOCK_H
#define LANDLORD_VIRTIO_VIRTIO_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"

#define VIRTIO_VSOCK_F_STREAM      0       /* 5.10.3 */

#define VIRTIO_VSOCK_RXQ           0
#define VIRTIO_VSOCK_TXQ           1
#define VIRTIO_VSOCK_EVQ           2
#define VIRTIO_VSOCK_QUEUE_SIZE    256

/* Config space (5.10.4): le64 guest_cid. */
#define VIRTIO_VSOCK_CONFIG_LEN    8

/* struct virtio_vsock_hdr (5.10.6), all little-endian. */
#define VSOCK_HDR_LEN              44
#define VSOCK_HDR_SRC_CID          0
#define VSOCK_HDR_DST_CID          8
#define VSOCK_HDR_SRC_PORT         16
#define VSOCK_HDR_DST_PORT         20
#define VSOCK_HDR_LEN_OFF          24
#define VSOCK_HDR_TYPE             28
#define VSOCK_HDR_OP               30
#define VSOCK_HDR_FLAGS            32
#define VSOCK_HDR_BUF_ALLOC        36
#define VSOCK_HDR_FWD_CNT          40

#define VSOCK_TYPE_STREAM          1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_SHUTDOWN_RCV         1       /* the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND        2       /* the sender will send no more */

#define VSOCK_HOST_CID             2
#define VSOCK_MAX_PKT              (64 * 1024)   /* payload of one packet, both ways */
#define VSOCK_MAX_CONNS            64
#define VSOCK_CONN_BUF             (64 * 1024)   /* per connection, guest -> host: our buf_alloc */
#define VSOCK_CONNECT_TIMEOUT_MS   2000          /* guest's RESPONSE; the host's CONNECT line */
#define VSOCK_LINGER_MS            5000          /* after SHUTDOWN both ways, until RST */
#define VSOCK_UDS_PATH_MAX         96            /* 107 (sun_path) - strlen("_4294967295") */

struct virtio_vsock_config {
	uint32_t guest_cid;      /* 3 .. 0xfffffffe */
	const char *uds_path;    /* at most VSOCK_UDS_PATH_MAX bytes */
};

/* What happened, for tests and diagnostics. */
struct virtio_vsock_stats {
	uint64_t conns_host;      /* host-initiated connections that got OK */
	uint64_t conns_guest;     /* guest-initiated connections answered RESPONSE */
	uint64_t rst_sent;        /* RSTs to the guest */
	uint64_t tx_dropped;      /* guest packets dropped without an answer */
	uint64_t rx_dropped;      /* control packets not sent (queue full) */
	uint64_t bytes_to_host;
	uint64_t bytes_to_guest;
	uint32_t conns_open;      /* connection slots in use now */
};

/* Creates the listening socket at uds_path (a stale socket file there is
 * replaced; any other file is an error) and watches it on loop (el_add is
 * only safe while the VM is being built); all the device's work then runs
 * on the loop's thread.  NULL with a message in err. */
struct virtio_dev *virtio_vsock_create(const struct virtio_vsock_config *cfg,
				       const struct guest_mem *mem, struct event_loop *loop,
				       char *err, size_t errlen);
/* After the transport is gone: closes every socket, removes uds_path. */
void virtio_vsock_destroy(struct virtio_dev *d);
void virtio_vsock_get_stats(struct virtio_dev *d, struct virtio_vsock_stats *out);

#endif
