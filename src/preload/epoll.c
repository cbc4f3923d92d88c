/* epoll_ctl(): registrations of the program's TCP sockets are remembered,
 * so that a transparent non-blocking connect can carry them over to the
 * socket it puts on the number (epoll watches files, not numbers). Other
 * descriptors pass straight through. */
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
	if ((se_sockrec_is_tcp(fd) || se_watch_known(fd)) && !se_watch_in_thread())
		return se_watch_epoll_ctl(epfd, op, fd, ev);
	return se_sys.epoll_ctl(epfd, op, fd, ev);
}
