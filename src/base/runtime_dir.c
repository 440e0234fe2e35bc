#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/runtime_dir.h"

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

int runtime_dir(char *buf, size_t len, int create, char *err, size_t errlen)
{
	const char *own = getenv("LANDLORD_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (own && *own)
		n = snprintf(buf, len, "%s", own);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/landlord", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/landlord");
	else
		n = snprintf(buf, len, "/tmp/landlord-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len) {
		errf("runtime directory path too long");
		return -1;
	}
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST) {
		errf("cannot create %s: %s", buf, strerror(errno));
		return -1;
	}
	/* Someone else's directory (or a symlink to one) must not receive our
	 * sockets: it has to be a directory we own. */
	if (create && (lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())) {
		errf("%s is not a directory owned by this user", buf);
		return -1;
	}
	return 0;
}

int runtime_socket_path(const char *name, char *buf, size_t len, int create,
			char *err, size_t errlen)
{
	char dir[4096];
	int n;

	if (runtime_dir(dir, sizeof(dir), create, err, errlen) < 0)
		return -1;
	n = snprintf(buf, len, "%s/%s.sock", dir, name);
	if (n < 0 || (size_t)n >= len) {
		errf("socket path for VM %s is too long", name);
		return -1;
	}
	return 0;
}
