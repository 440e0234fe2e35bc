/* virtio-net (virtio 1.2, 5.1): one receive and one transmit queue over a
 * Linux tap (backends/tap.h), or any fd where one read or write moves one
 * Ethernet frame (a SOCK_SEQPACKET socket in the unit tests).  MAC, link
 * status and mergeable receive buffers; no offloads, no control queue. */
#ifndef LANDLORD_VIRTIO_VIRTIO_NET_H
#define LANDLORD_VIRTIO_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "virtio/virtio.h"

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_MAC           5
#define VIRTIO_NET_F_MRG_RXBUF     15
#define VIRTIO_NET_F_STATUS        16

#define VIRTIO_NET_S_LINK_UP       1

/* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers (little-endian 16-bit). */
#define VIRTIO_NET_HDR_LEN         12
#define VIRTIO_NET_HDR_NUM_BUFFERS 10

#define VIRTIO_NET_MIN_FRAME       14       /* an Ethernet header */
#define VIRTIO_NET_MAX_FRAME       65550    /* longer frames are dropped */
#define VIRTIO_NET_QUEUE_SIZE      256
#define VIRTIO_NET_RX_BURST        64       /* frames from the tap per event */
#define VIRTIO_NET_RXQ             0
#define VIRTIO_NET_TXQ             1

/* Config space (5.1.4): mac[6], status (le16). */
#define VIRTIO_NET_CFG_MAC         0
#define VIRTIO_NET_CFG_STATUS      6
#define VIRTIO_NET_CONFIG_LEN      8

struct virtio_net_config {
	const char *ifname;  /* the tap's name, for messages */
	int fd;              /* taken over: closed by destroy, or by a failed create */
	uint8_t mac[6];
};

/* What happened to frames, for tests and diagnostics. */
struct virtio_net_stats {
	uint64_t rx_frames;   /* delivered to the guest */
	uint64_t rx_dropped;  /* from the tap, but too short or too long for the buffers */
	uint64_t rx_errors;   /* receive chains too small for the header, returned empty */
	uint64_t tx_frames;   /* written to the tap */
	uint64_t tx_dropped;  /* well-formed, but the tap refused them */
	uint64_t tx_errors;   /* malformed transmit chains, dropped */
};

/* Watches cfg->fd on loop (el_add is only safe while the VM is being
 * built); all the device's work then runs on the loop's thread.  NULL with
 * a message in err. */
struct virtio_dev *virtio_net_create(const struct virtio_net_config *cfg,
				     const struct guest_mem *mem, struct event_loop *loop,
				     char *err, size_t errlen);
/* After the transport is gone: stops watching and closes the fd. */
void virtio_net_destroy(struct virtio_dev *d);
void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *out);

#endif
