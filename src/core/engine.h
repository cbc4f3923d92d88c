/* The blocking connect() engine: candidates, the error queue, the policy,
 * staggered attempts.
 *
 * No interposition here: the preload layer decides which calls come in, and
 * the engine calls the real connect() through se_sys. */
#ifndef SOFTERR_CORE_ENGINE_H
#define SOFTERR_CORE_ENGINE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "names.h"
#include "settings.h"

struct se_engine_ctx {
	const struct se_settings *settings;
	struct se_names *names;		/* NULL: the asked address alone */
	/* false when the program cannot have turned IP_RECVERR/IPV6_RECVERR
	 * on (it never called setsockopt() for them): the engine then need
	 * not ask the socket before it turns them on and off. */
	bool program_may_use_recverr;
};

/* connect() for fd, a blocking SOCK_STREAM TCP socket of family domain
 * (AF_INET or AF_INET6) whose file status flags are flags, to sa, under
 * ctx's policy: fails over to the other candidates of sa's name, on the same
 * socket where it can reach them, racing them on private sockets after the
 * attempt delay; a private winner replaces the socket on fd (dup3).
 *
 * Returns 0 with errno untouched, or -1 with errno set as connect() would:
 * the most informative error of the attempts (a soft error's beats
 * ETIMEDOUT; the last attempt's when it was refused or hit a hard error),
 * EINTR as the kernel would give it, EINPROGRESS when SO_SNDTIMEO ran out.
 * The socket's flags and the program's own IP_RECVERR/IPV6_RECVERR settings
 * are as they were; on success the error queue is empty. */
int se_connect_blocking(const struct se_engine_ctx *ctx, int fd, int domain,
			int flags, const struct sockaddr *sa, socklen_t len);

/* Frees what this thread's last run left behind when a signal handler
 * longjmp()ed out of it: its private sockets and its loop. The program's
 * own socket is left as it is (the program may have closed it, and the
 * number may hold something else now). */
void se_engine_reclaim(void);

#endif
