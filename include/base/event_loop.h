/* A small epoll loop: the VM's one thread for device back-ends, console
 * input, signals and (later) the API.  Callbacks run on the loop's thread. */
#ifndef LANDLORD_BASE_EVENT_LOOP_H
#define LANDLORD_BASE_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define EL_MAX_WATCHES 128

typedef void (*el_fn)(void *opaque, int fd, uint32_t events);

struct el_watch {
	int fd;
	el_fn fn;
	void *opaque;
};

struct event_loop {
	int epfd;
	bool quit;
	struct el_watch watches[EL_MAX_WATCHES];
};

int el_init(struct event_loop *el);
void el_close(struct event_loop *el);
/* Watch fd for events (EPOLLIN, ...).  0, or -1 with errno set. */
int el_add(struct event_loop *el, int fd, uint32_t events, el_fn fn, void *opaque);
int el_modify(struct event_loop *el, int fd, uint32_t events);
void el_remove(struct event_loop *el, int fd);
/* Dispatch events until el_quit() is called from a callback. */
int el_run(struct event_loop *el);
static inline void el_quit(struct event_loop *el) { el->quit = true; }

#endif
