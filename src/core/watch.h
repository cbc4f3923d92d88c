/* Non-blocking connect(): the policy behind the program's back.
 *
 * connect() on a non-blocking socket returns EINPROGRESS as always, and the
 * program waits in poll(), select() or epoll. Unless the first SYN is
 * answered at once, a background thread (its own libev loop, every signal
 * blocked, started on first need) takes over:
 *
 * Transparent (the default; setting "transparent"): the program's socket
 * moves to a private number and a stand-in that never becomes ready takes
 * its place. The engine's run (engine.h) goes on in the thread: the policy
 * on each ICMP error, the name's other addresses raced after the attempt
 * delay, persistence where the policy persists. The winner, or the socket
 * that failed with the run's errno, is put on the program's number; its
 * epoll registrations are carried over and every waiter wakes. Until then
 * getsockopt() (SO_ERROR 0), setsockopt(), getsockname(), getpeername()
 * and connect() (EALREADY) answer for the socket.
 *
 * Visible (transparent off, or no room for another run): where the policy
 * ends an attempt on a soft error (abort, and adaptive while the name has
 * another address), the first ICMP error ends it at once, the program's
 * wait wakes, and getsockopt(SO_ERROR) and a second connect() give it the
 * ICMP error's errno, as the kernel would have given it a second later.
 *
 * What each attempt came to goes to the address history. */
#ifndef SOFTERR_CORE_WATCH_H
#define SOFTERR_CORE_WATCH_H

#include <stdbool.h>
#include <sys/socket.h>

struct epoll_event;

#include "engine.h"

/* connect() for fd, a non-blocking TCP socket of family domain, to sa.
 * Returns as connect() does (-1 with EINPROGRESS, usually); the attempt is
 * watched when the policy can end it early. */
int se_watch_connect(const struct se_engine_ctx *ctx, int fd, int domain,
		     const struct sockaddr *sa, socklen_t len);

/* Is fd watched? Lock-free, for the wrappers' fast path. */
bool se_watch_has(int fd);
/* Does the watcher know anything of fd: watched, registered with epoll
 * (see below), or an epoll instance? Lock-free: close() asks it. */
bool se_watch_known(int fd);

/* epoll_ctl() for a TCP socket not yet given to connect(), or one the
 * watcher knows: made, and remembered, so that a transparent connect
 * carries the program's registrations over to the file it puts on the
 * number. A socket connected without a run, or by one, is forgotten again
 * (se_watch_forget() after connect(); at the end of the run). */
int se_watch_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* epoll_create() or epoll_create1() returned fd (or -1): while the
 * watcher makes its loop (libev creates its epoll instance itself), fd is
 * the library's and is moved out of the program's way (ownfd.h). Returns
 * the number to hand back: fd, or where it went. */
int se_watch_epoll_made(int fd);
/* close(fd) of a descriptor the library owns, called from the watcher's
 * thread: libev closing its epoll instance to make it anew (it does so when
 * the kernel's registrations are out of step with its own). True: fd is
 * disowned and to be closed; the new instance is then the loop's
 * (se_watch_epoll_made()). */
bool se_watch_closes(int fd);
/* Is the caller the watcher's thread (whose loop's calls are its own)? */
bool se_watch_in_thread(void);

/* getsockopt()/setsockopt() on a watched fd. Returns true and *rc when
 * the watcher answered: any option while a transparent connect holds the
 * stand-in (on the program's socket; SO_ERROR reads 0, still connecting),
 * and SO_ERROR after an attempt the watcher ended (the error's errno, as
 * the kernel would give it, once); false: pass through. */
bool se_watch_sockopt(int fd, bool set, int level, int name, void *val,
		      socklen_t *len, int *rc);
/* getpeername() (peer) or getsockname() likewise. */
bool se_watch_name(int fd, bool peer, struct sockaddr *sa, socklen_t *len,
		   int *rc);

/* shutdown() on a watched fd. Returns true and *rc (errno set) when the
 * watcher answered: while a transparent connect holds the stand-in, the
 * run ends, the program's socket goes back on the number and the kernel's
 * shutdown() on it is the answer (a SYN-SENT attempt ends: POLLHUP and
 * POLLERR, SO_ERROR ECONNRESET); false: pass through. Async-signal-safe
 * as close() is: the thread frees what the run held. */
bool se_watch_shut(int fd, int how, int *rc);

/* connect() to AF_UNSPEC on a watched fd (the program dissolves its
 * attempt, as Python's and others' socket code may): the same as
 * se_watch_shut(), with the kernel's connect(AF_UNSPEC) on the program's
 * socket as the answer (0: the socket is unconnected, free to connect
 * again). */
bool se_watch_dissolve(int fd, int *rc);

/* The program closes fd, or puts another file on its number (registrations
 * naming it go; an attempt on it is handed to the thread, which ends it and
 * closes its sockets without touching the number); or fd connected without
 * a run and nothing recorded of it is needed. Async-signal-safe: no memory
 * is freed and libev is not called. */
void se_watch_forget(int fd);

/* se_watch_forget() for every number from lo to hi. */
void se_watch_forget_range(unsigned lo, unsigned hi);

/* dup2() (is_dup2) or dup3() by the program onto newfd, a number of the
 * library's own (ownfd.h): made as without softerr (the program's file
 * lands on the number), after the library lets go of it, so that it
 * never writes into, waits on or closes the program's file there. Returns
 * as dup2()/dup3(). */
int se_watch_own_dup(int oldfd, int newfd, int flags, bool is_dup2);

/* connect() again on a watched fd. Returns true when softerr answers it:
 * *rc and errno are then the program's answer; false: pass it through. */
bool se_watch_connect_again(int fd, int *rc);

/* fork(): the thread is not in the child, and the sockets are shared with
 * the parent, whose thread still watches them: the child forgets it all. */
void se_watch_fork_prepare(void);
void se_watch_fork_parent(void);
void se_watch_fork_child(void);

/* At exit: the thread stops and the loop is freed. */
void se_watch_shutdown(void);

#endif
