/* epoll_ctl(): registrations that a transparent non-blocking connect may
 * have to carry over to the socket it puts on the number (epoll watches
 * files, not numbers) are remembered: those of TCP sockets not yet given
 * to connect(), and of descriptors the watcher knows. Everything else
 * (a connected socket's registrations above all) passes straight
 * through. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/epoll.h>

#include "core/sockrec.h"
#include "core/sys.h"
#include "core/loop.h"
#include "epmirror.h"
#include "pending.h"
#include "preload.h"

SE_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!se_ready()) {
		if (se_sys.epoll_ctl)
			return se_sys.epoll_ctl(epfd, op, fd, ev);
		errno = ENOSYS;
		return -1;
	}
	if ((se_sockrec_fresh(fd) || se_watch_known(fd)) && !se_loop_in_thread())
		return se_epmirror_ctl(epfd, op, fd, ev);
	return se_sys.epoll_ctl(epfd, op, fd, ev);
}

/* epoll_create1() and epoll_create(): the library's own watcher loop
 * makes its epoll instance through libev, which calls these; that one is
 * moved out of the program's way (se_loop_epoll_made()). The program's
 * pass through untouched. *real is the C library's function named name,
 * found on first use. */
static int create(int (**real)(int), const char *name, int arg)
{
	if (!*real)
		*(void **)real = dlsym(RTLD_NEXT, name);
	if (!*real) {
		errno = ENOSYS;
		return -1;
	}
	return se_loop_epoll_made((*real)(arg));
}

SE_EXPORT int epoll_create1(int flags)
{
	static int (*real)(int);

	return create(&real, "epoll_create1", flags);
}

SE_EXPORT int epoll_create(int size)
{
	static int (*real)(int);

	return create(&real, "epoll_create", size);
}
