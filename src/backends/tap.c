/* Linux tap back-end.
 *
 * No vnet header (IFF_VNET_HDR is not set): virtio-net offers no checksum
 * or segmentation offloads, so the virtio_net_hdr a guest sends carries
 * nothing (no flags, GSO_NONE) and the one it receives is all zero except
 * num_buffers, which only the device can fill in.  Without the header the
 * kernel never parses guest-written header fields, a tap frame is exactly
 * the Ethernet frame (so tests and tools can use any datagram fd in its
 * place), and the device simply strips and synthesizes the 12 bytes.
 * Offloads, when they come, will need IFF_VNET_HDR + TUNSETVNETHDRSZ 12
 * and TUNSETOFFLOAD. */
#include "backends/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_DEVICE "/dev/net/tun"

/* What to tell the user besides strerror, for the errors people meet. */
static const char *hint(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return " (needs CAP_NET_ADMIN)";
	case EBUSY:
		return " (attached to another process)";
	case EINVAL:
		return " (not a tap interface?)";
	default:
		return "";
	}
}

int tap_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	size_t len = name ? strlen(name) : 0;
	int fd, e;

	if (len == 0 || len > TAP_NAME_MAX) {
		snprintf(err, errlen, "tap '%s': an interface name has 1 to %d characters",
			 name ? name : "", TAP_NAME_MAX);
		return -1;
	}
	fd = open(TUN_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "tap %s: %s: %s%s", name, TUN_DEVICE, strerror(e),
			 e == ENOENT ? " (no tun driver: modprobe tun)" : hint(e));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(err, errlen, "tap %s: %s%s", name, strerror(e), hint(e));
		close(fd);
		return -1;
	}
	return fd;
}
