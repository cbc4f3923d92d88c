/* setsockopt(): noted, never changed. The program's own use of IP_RECVERR
 * and IPV6_RECVERR is what the engine must put back after a connect();
 * knowing that the program never touched them saves asking every socket.
 * Every option set on a socket is recorded for parallel attempts.
 *
 * getsockopt(), setsockopt(), getsockname(), getpeername() on a descriptor
 * a transparent non-blocking connect holds a stand-in on answer for the
 * socket behind it (pending.h); shutdown() there gives the program its
 * socket back and is the kernel's. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/sockrec.h"
#include "core/sys.h"
#include "pending.h"
#include "preload.h"

SE_EXPORT int setsockopt(int fd, int level, int name, const void *val,
			 socklen_t len)
{
	if (!se_ready()) {
		if (se_sys.setsockopt)
			return se_sys.setsockopt(fd, level, name, val, len);
		errno = ENOSYS;
		return -1;
	}
	int rc;

	if ((level == SOL_IP && name == IP_RECVERR) ||
	    (level == SOL_IPV6 && name == IPV6_RECVERR))
		__atomic_store_n(&se_program_uses_recverr, true, __ATOMIC_RELAXED);
	if (se_watch_has(fd) &&
	    se_watch_sockopt(fd, true, level, name, (void *)val, &len, &rc))
		return rc;
	rc = se_sys.setsockopt(fd, level, name, val, len);
	if (rc == 0)
		se_sockrec_setsockopt(fd, level, name, val, len);
	return rc;
}

/* getsockopt(SO_ERROR) on a non-blocking socket whose attempt softerr ended
 * gives the ICMP error's errno, as the kernel would have; a stand-in
 * answers for its socket. */
SE_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int rc;

	if (!se_ready()) {
		if (se_sys.getsockopt)
			return se_sys.getsockopt(fd, level, name, val, len);
		errno = ENOSYS;
		return -1;
	}
	if (se_watch_has(fd) && len &&
	    se_watch_sockopt(fd, false, level, name, val, len, &rc))
		return rc;
	return se_sys.getsockopt(fd, level, name, val, len);
}

static int name_of(int fd, bool peer, struct sockaddr *sa, socklen_t *len)
{
	int rc;

	if (!se_ready()) {
		int (*real)(int, struct sockaddr *, socklen_t *) =
			peer ? se_sys.getpeername : se_sys.getsockname;

		if (real)
			return real(fd, sa, len);
		errno = ENOSYS;
		return -1;
	}
	if (se_watch_has(fd) && se_watch_name(fd, peer, sa, len, &rc))
		return rc;
	return (peer ? se_sys.getpeername : se_sys.getsockname)(fd, sa, len);
}

SE_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return name_of(fd, false, sa, len);
}

SE_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return name_of(fd, true, sa, len);
}

/* shutdown() of a number a transparent connect holds a stand-in on: the
 * program gives up the attempt (a SYN-SENT socket is disconnected by it),
 * so the run ends, the program's own socket goes back on the number, and
 * the kernel's shutdown() on it is the answer. */
SE_EXPORT int shutdown(int fd, int how)
{
	int rc;

	if (!se_ready()) {
		if (se_sys.shutdown)
			return se_sys.shutdown(fd, how);
		errno = ENOSYS;
		return -1;
	}
	if (se_watch_has(fd) && se_watch_shut(fd, how, &rc))
		return rc;
	return se_sys.shutdown(fd, how);
}
