/* Where VMs' API sockets live, so that `landlord ls` can find them:
 * $LANDLORD_RUNTIME_DIR, else $XDG_RUNTIME_DIR/landlord, else /run/landlord
 * for root, else /tmp/landlord-UID.  Created (mode 0700) on demand. */
#ifndef LANDLORD_BASE_RUNTIME_DIR_H
#define LANDLORD_BASE_RUNTIME_DIR_H

#include <stddef.h>

/* The directory; 0, or -1 with a reason in err.  create: mkdir it. */
int runtime_dir(char *buf, size_t len, int create, char *err, size_t errlen);
/* "<dir>/<name>.sock" */
int runtime_socket_path(const char *name, char *buf, size_t len, int create,
			char *err, size_t errlen);

#endif
