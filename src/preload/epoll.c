/* epoll_ctl(): registrations that a transparent non-blocking connect may
 * have to carry over to the socket it puts on the number (epoll watches
 * files, not numbers) are remembered: those of TCP sockets not yet given
 * to connect(), and of descriptors the watcher knows. Everything else
 * (a connected socket's registrations above all) passes straight
 * through. */
#include "config.h"

#include <errno.h>
#include <sys/epoll.h>

#include "core/sockrec.h"
#include "core/sys.h"
#include "core/watch.h"
#include "preload.h"

SE_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!se_ready()) {
		if (se_sys.epoll_ctl)
			return se_sys.epoll_ctl(epfd, op, fd, ev);
		errno = ENOSYS;
		return -1;
	}
	if ((se_sockrec_fresh(fd) || se_watch_known(fd)) && !se_watch_in_thread())
		return se_watch_epoll_ctl(epfd, op, fd, ev);
	return se_sys.epoll_ctl(epfd, op, fd, ev);
}
