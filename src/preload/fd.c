/* close(), close_range(), closefrom(), dup2(), dup3(): a number whose
 * socket the watcher follows is forgotten before it is closed or replaced,
 * so the watcher never touches what the program puts on that number next.
 * The library's own descriptors are spared (core/ownfd.h): without
 * softerr those numbers would not be open, and closing them fails with
 * EBADF, as it would have. dup2() or dup3() onto one of them does what it
 * would without softerr (the program's file lands on the number): the
 * library lets go of the number first, and stands aside for what it lost
 * (se_watch_own_dup()). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/ownfd.h"
#include "core/sys.h"
#include "pending.h"
#include "preload.h"

SE_EXPORT int close(int fd)
{
	/* close() may come before anything else (another library's
	 * constructor): it resolves its real self without waiting for the
	 * library's initialisation. */
	if (!se_sys.close)
		*(void **)&se_sys.close = dlsym(RTLD_NEXT, "close");
	if (se_owns(fd)) {
		if (se_loop_closes(fd))
			return se_sys.close(fd);
		errno = EBADF;
		return -1;
	}
	if (se_watch_known(fd))
		se_watch_forget(fd);
	return se_sys.close(fd);
}

static int real_close_range(unsigned first, unsigned last, int flags)
{
	if (se_sys.close_range)
		return se_sys.close_range(first, last, flags);
	return (int)syscall(SYS_close_range, first, last, flags);
}

SE_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	unsigned fd, lo;
	int rc = 0, next;

	if (!se_ready() || first > last)
		return real_close_range(first, last, flags);
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		se_watch_forget_range(first, last);
	/* Close-on-exec only: the library's are so already. */
	if ((flags & CLOSE_RANGE_CLOEXEC) || !se_owns_any(first, last))
		return real_close_range(first, last, flags);
	/* The ranges between the library's own. */
	for (lo = first; (next = se_own_next(lo, last)) >= 0; ) {
		fd = (unsigned)next;
		if (!se_owns(next)) {
			if (fd == last)
				break;
			continue;	/* no longer the library's: se_own_next() skips it now */
		}
		if (fd > lo && real_close_range(lo, fd - 1, flags) < 0)
			rc = -1;
		if (fd == last)
			return rc;
		lo = fd + 1;
	}
	if (lo <= last && real_close_range(lo, last, flags) < 0)
		rc = -1;
	return rc;
}

SE_EXPORT void closefrom(int lowfd)
{
	struct rlimit rl;
	int fd;

	if (!se_ready() || lowfd < 0 ||
	    (!se_owns_any((unsigned)lowfd, ~0U) && se_sys.closefrom)) {
		se_watch_forget_range((unsigned)(lowfd < 0 ? 0 : lowfd), ~0U);
		if (se_sys.closefrom)
			se_sys.closefrom(lowfd);
		else
			close_range((unsigned)lowfd, ~0U, 0);
		return;
	}
	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	/* No close_range() (a kernel before 5.9): one number at a time, up
	 * to the limit, through close(). */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > INT_MAX)
		rl.rlim_cur = 65536;
	for (fd = lowfd; fd < (int)rl.rlim_cur; fd++)
		close(fd);
}

SE_EXPORT int dup2(int oldfd, int newfd)
{
	if (!se_ready()) {
		if (se_sys.dup2)
			return se_sys.dup2(oldfd, newfd);
		errno = ENOSYS;
		return -1;
	}
	if (oldfd != newfd && se_watch_known(newfd))
		se_watch_forget(newfd);
	if (oldfd != newfd && se_owns(newfd) && fcntl(oldfd, F_GETFD) >= 0)
		return se_watch_own_dup(oldfd, newfd, 0, true);
	return se_sys.dup2(oldfd, newfd);
}

SE_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (!se_ready()) {
		if (se_sys.dup3)
			return se_sys.dup3(oldfd, newfd, flags);
		errno = ENOSYS;
		return -1;
	}
	if (oldfd != newfd && se_watch_known(newfd))
		se_watch_forget(newfd);
	if (oldfd != newfd && !(flags & ~O_CLOEXEC) && se_owns(newfd) &&
	    fcntl(oldfd, F_GETFD) >= 0)
		return se_watch_own_dup(oldfd, newfd, flags, false);
	return se_sys.dup3(oldfd, newfd, flags);
}
