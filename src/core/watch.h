/* Non-blocking connect(): the first ICMP error seen at once.
 *
 * connect() on a non-blocking socket returns EINPROGRESS as always, and the
 * program waits in poll(), select() or epoll. Where the policy ends an
 * attempt on a soft error (abort, and adaptive while the name has another
 * address), the socket's error queue is turned on and a background thread
 * (its own libev loop, every signal blocked, started on first need) watches
 * the attempt: the first ICMP error ends it at once, the program's wait
 * wakes, and getsockopt(SO_ERROR) and a second connect() give it the ICMP
 * error's errno, as the kernel would have given it a second later.
 *
 * What each watched attempt came to (an ICMP error, connected and how fast,
 * or silent until the program gave up on it) goes to the address history.
 *
 * Where the policy would persist, the attempt is the kernel's: a queued
 * error wakes every waiter on the socket, and a program that sees it cannot
 * be told "nothing happened", so the queue stays off. */
#ifndef SOFTERR_CORE_WATCH_H
#define SOFTERR_CORE_WATCH_H

#include <stdbool.h>
#include <sys/socket.h>

#include "engine.h"

#define SE_WATCH_FDS 65536

/* connect() for fd, a non-blocking TCP socket of family domain, to sa.
 * Returns as connect() does (-1 with EINPROGRESS, usually); the attempt is
 * watched when the policy can end it early. */
int se_watch_connect(const struct se_engine_ctx *ctx, int fd, int domain,
		     const struct sockaddr *sa, socklen_t len);

/* Is fd watched? Lock-free, for the wrappers' fast path. */
bool se_watch_has(int fd);

/* The program closes fd, or puts another file on its number. */
void se_watch_forget(int fd);

/* getsockopt(SO_ERROR) on a watched fd: *err is what the program reads.
 * Returns 0, or -1 with errno when the socket cannot be asked. */
int se_watch_so_error(int fd, int *err);

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
