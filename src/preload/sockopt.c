/* setsockopt(): noted, never changed. The program's own use of IP_RECVERR
 * and IPV6_RECVERR is what the engine must put back after a connect();
 * knowing that the program never touched them saves asking every socket.
 * Every option set on a socket is recorded for parallel attempts. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/sockrec.h"
#include "core/sys.h"
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
	rc = se_sys.setsockopt(fd, level, name, val, len);
	if (rc == 0)
		se_sockrec_setsockopt(fd, level, name, val, len);
	return rc;
}
