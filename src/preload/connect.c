/* connect(): the policy for TCP connects, blocking (the engine) and
 * non-blocking (the watcher). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/engine.h"
#include "core/policy.h"
#include "core/sockrec.h"
#include "pending.h"
#include "core/sys.h"
#include "core/lazy.h"
#include "preload.h"

/* Loopback has no router to send soft errors and no black hole to fall
 * into: a connect() there is answered at once, so it is left alone and
 * costs nothing. */
static bool loopback(const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Is fd a TCP stream socket the library should handle? socket() told us,
 * or one getsockopt() does: SO_PROTOCOL is IPPROTO_TCP only for AF_INET and
 * AF_INET6 stream sockets. (A number whose socket was closed and reused by
 * accept() or open() keeps its mark; connect() on those fails the same with
 * the library as without.) */
static bool is_tcp(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);

	if (se_sockrec_is_tcp(fd))
		return true;
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_TCP;
}

/* The settings for a connect() to sa: softerr.conf's first destination
 * section that names the address or its name, else the common ones. */
static const struct se_settings *settings_for(const struct sockaddr *sa,
					      socklen_t len)
{
	char name[SE_NAME_LEN] = "";
	struct se_addr a;

	if (se_conf.n_dest == 0 || se_addr_from_sockaddr(&a, sa, len) < 0)
		return &se_conf.base;
	if (se_conf.dest_by_name)
		se_names_name_of(&se_names, &a, se_now_ms(), name, sizeof(name));
	return se_conf_for(&se_conf, name, &a);
}

SE_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct se_settings *s;
	struct se_engine_ctx ctx;
	int flags, saved, rc;

	if (!se_ready()) {
		if (se_sys.connect)
			return se_sys.connect(fd, sa, len);
		errno = ENOSYS;
		return -1;
	}
	se_sockrec_connect(fd);
	/* AF_UNSPEC dissolves an attempt: the stand-in is no socket to do it
	 * on, the program's socket is (ENOTSOCK otherwise). */
	if (sa && len >= sizeof(sa->sa_family) && sa->sa_family == AF_UNSPEC &&
	    se_watch_has(fd) && se_watch_dissolve(fd, &rc))
		return rc;
	if (!sa || len < sizeof(sa->sa_family) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    loopback(sa, len) || !se_configured())
		return se_sys.connect(fd, sa, len);

	if (!SE_ENTER())
		return se_sys.connect(fd, sa, len);
	saved = errno;
	s = settings_for(sa, len);
	if ((!se_policy_acts(s) && !s->log.to) ||
	    !is_tcp(fd) || (flags = fcntl(fd, F_GETFL)) < 0) {
		se_leave();
		errno = saved;
		return se_sys.connect(fd, sa, len);
	}
	se_announce(s);
	errno = saved;

	/* What is not named here is zero. */
	ctx = (struct se_engine_ctx){
		.settings = s,
		.names = &se_names,
		.history = &se_history,
		.program_may_use_recverr =
			__atomic_load_n(&se_program_uses_recverr, __ATOMIC_RELAXED),
		/* A blocking connect's private winner replaces the program's
		 * socket: what the watcher recorded of the old file goes
		 * first. */
		.replacing = se_watch_forget,
	};
	/* libmnl (and libev below) loaded before any lock of the library's
	 * is taken: the history reads the network under its own. */
	se_lazy_load_mnl();
	if (se_watch_has(fd) && se_watch_connect_again(fd, &rc)) {
		/* Answered for the attempt softerr holds. */
	} else if (se_watch_has(fd)) {
		/* Still pending: the kernel answers (EALREADY). */
		rc = se_sys.connect(fd, sa, len);
	} else if (!se_lazy_load_ev()) {
		/* No libev: the kernel's connect, as without softerr. */
		rc = se_sys.connect(fd, sa, len);
	} else if (flags & O_NONBLOCK) {
		rc = se_watch_connect(&ctx, fd, sa->sa_family, sa, len);
	} else {
		rc = se_connect_blocking(&ctx, fd, sa->sa_family, flags, sa, len);
	}
	se_leave();
	/* Connected or connecting without a run: what was recorded of the
	 * socket for one (its epoll registrations) is needed no more. */
	if (se_watch_known(fd) && !se_watch_has(fd) && (rc == 0 || errno == EINPROGRESS)) {
		saved = errno;
		se_watch_forget(fd);
		errno = saved;
	}
	return rc;
}
