/* libmicrohttpd, loaded when the API server gets its first client.
 *
 * Debian's libmicrohttpd links GnuTLS and, through it, p11-kit, nettle,
 * gmp, libidn2, libunistring and libtasn1; loading them and running their
 * constructors costs every VM process ~1.3 ms of start-up and ~3.2 MiB of
 * resident memory (measured with bench/run.sh), which is most of
 * landlord's own footprint.  The API socket is bound and listening from the
 * start (api.c); the library is dlopen()ed on the first connection, so a
 * VM nobody talks to never pays for it.  systemd loads its optional
 * libraries the same way.  Nothing here is global: each API server holds
 * its own table. */
#ifndef LANDLORD_API_MHD_LIB_H
#define LANDLORD_API_MHD_LIB_H

#include <stddef.h>

#include <microhttpd.h>

/* The libmicrohttpd calls landlord makes, resolved from the library. */
struct mhd_lib {
	void *handle;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_for_upgrade) *create_response_for_upgrade;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_upgrade_action) *upgrade_action;
};

/* Load the library and fill *m: 0, or -1 with err saying what is missing. */
int mhd_lib_load(struct mhd_lib *m, char *err, size_t errlen);
/* Let go of a loaded library (nothing may use m afterwards). */
void mhd_lib_unload(struct mhd_lib *m);

#endif
