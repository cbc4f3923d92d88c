/* The descriptors the library itself holds, known by what they are.
 *
 * softerr's own descriptors (the watcher's wake-up pipe and epoll instance,
 * a run's private sockets and stand-in pipe) live among the program's
 * numbers, and programs close numbers they never opened: a daemon's loop
 * over 3..1023, close_range(), closefrom(). Without softerr those numbers
 * would not be open, and such a close() would fail with EBADF: the close(),
 * close_range() and closefrom() wrappers ask this table and spare them, so
 * the library never loses a descriptor under its own feet.
 *
 * Each number is known by its file (device and inode; an epoll instance,
 * whose inode all epoll instances share, by a pipe registered in it), so
 * that a number closed behind the wrappers' back (the raw system call) and
 * reused by the program is never taken for the library's. Lock-free and
 * async-signal-safe: close() may come from a signal handler. The records
 * live in the per-descriptor table (fdtab.h), for any number.
 *
 * Out of the program's way: the library moves its descriptors to numbers
 * from se_own_base() up. The program's own calls take the lowest free
 * number, so it meets the library's only once it holds that many itself;
 * select() (FD_SETSIZE, 1024) keeps every number below 1024 for the program
 * whenever the limit leaves room above; and the kernel's descriptor table,
 * which grows to the highest open number (a pointer a number, copied at
 * every fork()), grows little. */
#ifndef SOFTERR_CORE_OWNFD_H
#define SOFTERR_CORE_OWNFD_H

#include <stdbool.h>

/* Below this descriptor limit the library holds none of its own: the
 * program's few numbers are the program's (non-blocking connects are then
 * the kernel's, blocking ones one attempt at a time). */
#define SE_OWN_SMALL_LIMIT 64

/* fd, just made by the library, is its own from now on. errno is kept. */
void se_own(int fd);
/* The lowest number the library moves its descriptors to: FD_SETSIZE, or,
 * under a soft RLIMIT_NOFILE below FD_SETSIZE + an eighth, an eighth below
 * the limit (the library's budget, se_own_room(), fits above it). */
int se_own_base(void);
/* Moves fd, just made by the library, to the lowest free number from
 * se_own_base() up (close-on-exec), closing fd, and records it as the
 * library's by the file fd held (a file the program put on the new number
 * meanwhile is not taken for the library's). Returns its number now: fd
 * itself when no number is free up there. errno is kept. */
int se_own_move(int fd);
/* The same for a copy of fd (a file the program holds too), fd left as it
 * is. Returns the copy, or -1. errno is kept. */
int se_own_dup(int fd);
/* se_own_move() for fd, whose file fstat() described as *st already (the
 * two ends of a pipe have one inode). */
struct stat;
int se_own_move_as(int fd, const struct stat *st);
/* Reads the descriptor limit once for what this thread's call does next
 * (hold true: se_own_base() and se_own_room() use it), until it lets go
 * (hold false). */
void se_own_limit_hold(bool hold);
/* epfd, an epoll instance of the library's in which probe (a descriptor of
 * the library's, registered by then) is registered. */
void se_own_epoll(int epfd, int probe);
/* The library closes fd (or gives it to the program) next. */
void se_disown(int fd);
/* Is fd the library's own, still holding the file it recorded? errno is
 * kept. A record whose file is gone is forgotten. */
bool se_owns(int fd);
/* Closes fd if it is still the library's (else leaves the number, which
 * may hold a file of the program's, alone; a number for which no record
 * could be made is closed). errno is kept. */
void se_close_own(int fd);
/* May the library hold n descriptors more? It holds at most an eighth of
 * the descriptor limit (as it is now: the program may change it), and none
 * under a limit below SE_OWN_SMALL_LIMIT. */
bool se_own_room(unsigned n);

/* Could any number from lo to hi be the library's? (Lock-free, cheap: for
 * the wrappers' fast path.) */
bool se_owns_any(unsigned lo, unsigned hi);
/* The lowest number from lo to hi that may be the library's, or -1. */
int se_own_next(unsigned lo, unsigned hi);

#endif
