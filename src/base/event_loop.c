#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/event_loop.h"

int el_init(struct event_loop *el)
{
	memset(el, 0, sizeof(*el));
	for (int i = 0; i < EL_MAX_WATCHES; i++)
		el->watches[i].fd = -1;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	return el->epfd < 0 ? -1 : 0;
}

void el_close(struct event_loop *el)
{
	if (el->epfd >= 0)
		close(el->epfd);
	el->epfd = -1;
}

int el_add(struct event_loop *el, int fd, uint32_t events, el_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };

	for (int i = 0; i < EL_MAX_WATCHES; i++) {
		struct el_watch *w = &el->watches[i];

		if (w->fd >= 0)
			continue;
		ev.data.ptr = w;
		if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -1;
		*w = (struct el_watch){ .fd = fd, .fn = fn, .opaque = opaque };
		return 0;
	}
	errno = ENOSPC;
	return -1;
}

static struct el_watch *find_watch(struct event_loop *el, int fd)
{
	for (int i = 0; i < EL_MAX_WATCHES; i++)
		if (el->watches[i].fd == fd)
			return &el->watches[i];
	return NULL;
}

int el_modify(struct event_loop *el, int fd, uint32_t events)
{
	struct el_watch *w = find_watch(el, fd);
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (!w) {
		errno = ENOENT;
		return -1;
	}
	return epoll_ctl(el->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void el_remove(struct event_loop *el, int fd)
{
	struct el_watch *w = find_watch(el, fd);

	if (!w)
		return;
	epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->fd = -1;
}

int el_run(struct event_loop *el)
{
	struct epoll_event evs[16];

	while (!el->quit) {
		int n = epoll_wait(el->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n && !el->quit; i++) {
			struct el_watch *w = evs[i].data.ptr;

			/* A callback earlier in this batch may have removed it. */
			if (w->fd >= 0)
				w->fn(w->opaque, w->fd, evs[i].events);
		}
	}
	return 0;
}
