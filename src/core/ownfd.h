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
 * async-signal-safe: close() may come from a signal handler. Numbers from
 * SE_OWN_FDS up are not recorded (and so not spared). */
#ifndef SOFTERR_CORE_OWNFD_H
#define SOFTERR_CORE_OWNFD_H

#include <stdbool.h>

#define SE_OWN_FDS 65536
/* Below this descriptor limit the library holds none of its own: the
 * program's few numbers are the program's (non-blocking connects are then
 * the kernel's, blocking ones one attempt at a time). */
#define SE_OWN_SMALL_LIMIT 64

/* fd, just made by the library, is its own from now on. errno is kept. */
void se_own(int fd);
/* epfd, an epoll instance of the library's in which probe (a descriptor of
 * the library's, registered by then) is registered. */
void se_own_epoll(int epfd, int probe);
/* The library closes fd (or gives it to the program) next. */
void se_disown(int fd);
/* Is fd the library's own, still holding the file it recorded? errno is
 * kept. A record whose file is gone is forgotten. */
bool se_owns(int fd);
/* Closes fd if it is still the library's (else leaves the number, which
 * may hold a file of the program's, alone; a number from SE_OWN_FDS up is
 * closed). errno is kept. */
void se_close_own(int fd);
/* May the library hold n descriptors more? It holds at most an eighth of
 * the descriptor limit (as it is now: the program may change it), and none
 * under a limit below SE_OWN_SMALL_LIMIT. */
bool se_own_room(unsigned n);

/* Could any number from lo to hi be the library's? (Lock-free, cheap: for
 * the wrappers' fast path.) */
bool se_owns_any(unsigned lo, unsigned hi);

#endif
