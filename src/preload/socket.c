/* socket() and bind(): what the program set up before connect(), so that
 * a parallel attempt on a private socket carries the same (core/sockrec.h).
 * Both pass straight through; the record costs no system call. */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "core/sockrec.h"
#include "core/sys.h"
#include "pending.h"
#include "preload.h"

SE_EXPORT int socket(int domain, int type, int protocol)
{
	int fd;

	if (!se_ready()) {
		if (se_sys.socket)
			return se_sys.socket(domain, type, protocol);
		errno = ENOSYS;
		return -1;
	}
	fd = se_sys.socket(domain, type, protocol);
	if (fd >= 0) {
		/* A number the watcher knows was closed behind the wrappers'
		 * back (libuv closes with the raw system call): what it knew
		 * was of another file. */
		if (se_watch_known(fd)) {
			int saved = errno;

			se_watch_forget(fd);
			errno = saved;
		}
		se_sockrec_socket(fd, domain, type, protocol);
	}
	return fd;
}

SE_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc;

	if (!se_ready()) {
		if (se_sys.bind)
			return se_sys.bind(fd, sa, len);
		errno = ENOSYS;
		return -1;
	}
	rc = se_sys.bind(fd, sa, len);
	if (rc == 0)
		se_sockrec_bind(fd, sa, len);
	return rc;
}
