/* Non-blocking connect(): the policy behind the program's back, and the
 * answers for a descriptor whose attempt softerr holds.
 *
 * connect() on a non-blocking socket returns EINPROGRESS as always, and the
 * program waits in poll(), select() or epoll. Unless the first SYN is
 * answered at once, the loop thread (core/loop.h) takes over:
 *
 * Transparent (the default; setting "transparent"): the program's socket
 * moves to a private number and a stand-in that never becomes ready takes
 * its place (standin.c). The engine's run (core/engine.h) goes on in the
 * thread: the policy on each ICMP error, the name's other addresses raced
 * after the attempt delay, persistence where the policy persists. The
 * winner, or the socket that failed with the run's errno, is put on the
 * program's number; its epoll registrations are carried over (epmirror.h)
 * and every waiter wakes. Until then getsockopt() (SO_ERROR 0),
 * setsockopt(), getsockname(), getpeername() and connect() (EALREADY)
 * answer for the socket.
 *
 * Visible (transparent off, or no room for another run): where the policy
 * ends an attempt on a soft error (abort, and adaptive while the name has
 * another address), the first ICMP error ends it at once, the program's
 * wait wakes, and getsockopt(SO_ERROR) and a second connect() give it the
 * ICMP error's errno, as the kernel would have given it a second later.
 *
 * What each attempt came to goes to the address history.
 *
 * The connect() does not wake the thread: the run is adopted in the
 * program's thread, and the thread takes it (standin.c's
 * se_standin_resume()) at the socket's first event or when its timers are
 * due (core/loop.h's nudge and alarm). A close() before that ends the
 * attempt itself.
 *
 * num is always the program's number here. */
#ifndef SOFTERR_PRELOAD_PENDING_H
#define SOFTERR_PRELOAD_PENDING_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/engine.h"
#include "known.h"

/* connect() for num, a non-blocking TCP socket of family domain, to sa.
 * Returns as connect() does (-1 with EINPROGRESS, usually); the attempt is
 * watched when the policy can end it early. */
int se_watch_connect(const struct se_engine_ctx *ctx, int num, int domain,
		     const struct sockaddr *sa, socklen_t len);

/* Is num watched? Lock-free, for the wrappers' fast path. */
static inline bool se_watch_has(int num)
{
	return se_known(num) & SE_KNOWN_ENTRY;
}
/* Does the watcher know anything of num: watched, registered with epoll
 * (epmirror.h), or an epoll instance? Lock-free: close() asks it. */
static inline bool se_watch_known(int num)
{
	return se_known(num) != 0;
}

/* getsockopt()/setsockopt() on a watched num. Returns true and *rc when
 * the watcher answered: any option while a transparent connect holds the
 * stand-in (on the program's socket; SO_ERROR reads 0, still connecting),
 * and SO_ERROR after an attempt the watcher ended (the error's errno, as
 * the kernel would give it, once); false: pass through. */
bool se_watch_sockopt(int num, bool set, int level, int name, void *val,
		      socklen_t *len, int *rc);
/* getpeername() (peer) or getsockname() likewise. */
bool se_watch_name(int num, bool peer, struct sockaddr *sa, socklen_t *len,
		   int *rc);

/* shutdown() on a watched num. Returns true and *rc (errno set) when the
 * watcher answered: while a transparent connect holds the stand-in, the
 * run ends, the program's socket goes back on the number and the kernel's
 * shutdown() on it is the answer (a SYN-SENT attempt ends: POLLHUP and
 * POLLERR, SO_ERROR ECONNRESET); false: pass through. Async-signal-safe
 * as close() is: the thread frees what the run held. */
bool se_watch_shut(int num, int how, int *rc);

/* connect() to AF_UNSPEC on a watched num (the program dissolves its
 * attempt, as Python's and others' socket code may): the same as
 * se_watch_shut(), with the kernel's connect(AF_UNSPEC) on the program's
 * socket as the answer (0: the socket is unconnected, free to connect
 * again). */
bool se_watch_dissolve(int num, int *rc);

/* The program closes num, or puts another file on it (registrations
 * naming it go; an attempt on it is handed to the thread, which ends it and
 * closes its sockets without touching the number, or, if the thread has
 * not taken it yet, ended here, its sockets closed); or num connected
 * without a run and nothing recorded of it is needed. Async-signal-safe: no
 * memory is freed and libev is not called. */
void se_watch_forget(int num);

/* se_watch_forget() for every number from lo to hi. */
void se_watch_forget_range(unsigned lo, unsigned hi);

/* dup2() (is_dup2) or dup3() by the program onto newfd, a number of the
 * library's own (core/ownfd.h): made as without softerr (the program's file
 * lands on the number), after the library lets go of it, so that it
 * never writes into, waits on or closes the program's file there. Returns
 * as dup2()/dup3(). */
int se_watch_own_dup(int oldfd, int newfd, int flags, bool is_dup2);

/* connect() again on a watched num. Returns true when softerr answers it:
 * *rc and errno are then the program's answer; false: pass it through. */
bool se_watch_connect_again(int num, int *rc);

/* fork(): the thread is not in the child, and the sockets are shared with
 * the parent, whose thread still watches them: the child forgets it all. */
void se_watch_fork_prepare(void);
void se_watch_fork_parent(void);
void se_watch_fork_child(void);

/* At exit: the thread stops and the loop is freed. */
void se_watch_shutdown(void);

#endif
