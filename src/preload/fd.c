/* close(), dup2(), dup3(): a number whose socket the watcher follows is
 * forgotten before it is closed or replaced, so the watcher never touches
 * what the program puts on that number next. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/watch.h"
#include "preload.h"

SE_EXPORT int close(int fd)
{
	/* close() may come before anything else (another library's
	 * constructor): it resolves its real self without waiting for the
	 * library's initialisation. */
	if (!se_sys.close)
		*(void **)&se_sys.close = dlsym(RTLD_NEXT, "close");
	if (se_watch_known(fd))
		se_watch_forget(fd);
	return se_sys.close(fd);
}

SE_EXPORT int dup2(int oldfd, int newfd)
{
	if (!se_ready()) {
		if (se_real.dup2)
			return se_real.dup2(oldfd, newfd);
		errno = ENOSYS;
		return -1;
	}
	if (oldfd != newfd && se_watch_known(newfd))
		se_watch_forget(newfd);
	return se_real.dup2(oldfd, newfd);
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
	return se_sys.dup3(oldfd, newfd, flags);
}
