/* Linux tap interfaces (/dev/net/tun) as the network back-end of
 * virtio-net: one read or write moves one whole Ethernet frame. */
#ifndef LANDLORD_BACKENDS_TAP_H
#define LANDLORD_BACKENDS_TAP_H

#include <stddef.h>

#define TAP_NAME_MAX 15   /* IFNAMSIZ - 1 */

/* Attach to the tap interface name: an existing one (made by the user with
 * `ip tuntap add dev NAME mode tap`, which lets landlord run without
 * CAP_NET_ADMIN when made with `user`), or a new one when the caller may
 * create it.  No packet-information and no vnet header: each read gives one
 * frame as it was on the wire, each write sends one.  Returns a
 * non-blocking, close-on-exec fd, or -1 with a message naming the
 * interface in err ("tap NAME: Operation not permitted (needs
 * CAP_NET_ADMIN)"). */
int tap_open(const char *name, char *err, size_t errlen);

#endif
