/* libmicrohttpd by dlopen(): see include/api/mhd_lib.h for why. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "api/mhd_lib.h"

/* The soname the build found (meson.build reads it from the library). */
#ifndef MHD_SONAME
#define MHD_SONAME "libmicrohttpd.so.12"
#endif

#define SYM(field, name) { offsetof(struct mhd_lib, field), #name }

static const struct {
	size_t offset;
	const char *name;
} symbols[] = {
	SYM(start_daemon, MHD_start_daemon),
	SYM(stop_daemon, MHD_stop_daemon),
	SYM(get_daemon_info, MHD_get_daemon_info),
	SYM(run, MHD_run),
	SYM(get_timeout, MHD_get_timeout),
	SYM(lookup_connection_value, MHD_lookup_connection_value),
	SYM(create_response_from_buffer, MHD_create_response_from_buffer),
	SYM(create_response_for_upgrade, MHD_create_response_for_upgrade),
	SYM(add_response_header, MHD_add_response_header),
	SYM(queue_response, MHD_queue_response),
	SYM(destroy_response, MHD_destroy_response),
	SYM(upgrade_action, MHD_upgrade_action),
};

int mhd_lib_load(struct mhd_lib *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->handle = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!m->handle) {
		snprintf(err, errlen, "cannot load %s: %s", MHD_SONAME, dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *f = dlsym(m->handle, symbols[i].name);

		if (!f) {
			snprintf(err, errlen, "%s has no %s", MHD_SONAME, symbols[i].name);
			mhd_lib_unload(m);
			return -1;
		}
		/* Each field is a function pointer; POSIX makes dlsym's
		 * void * convertible to one. */
		memcpy((char *)m + symbols[i].offset, &f, sizeof(f));
	}
	return 0;
}

void mhd_lib_unload(struct mhd_lib *m)
{
	if (m->handle)
		dlclose(m->handle);
	memset(m, 0, sizeof(*m));
}
