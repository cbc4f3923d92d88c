/* The epoll mirror: the program's epoll registrations of the numbers a
 * transparent connect may replace.
 *
 * epoll watches files, not numbers: when the watcher puts another file on
 * a program's number (the stand-in, then the winner), the registrations
 * made for the file that was there are carried over to the new one. So the
 * epoll_ctl() wrapper records those of TCP sockets not yet given to
 * connect() and of numbers the watcher knows (known.h), in the number's
 * slot of the descriptor table (core/fdtab.h), under the loop's lock
 * (core/loop.h). A socket connected without a run, or by one, is forgotten
 * again. */
#ifndef SOFTERR_PRELOAD_EPMIRROR_H
#define SOFTERR_PRELOAD_EPMIRROR_H

struct epoll_event;

/* epoll_ctl() for num in epfd, made and recorded (takes the lock). Returns
 * as epoll_ctl(). */
int se_epmirror_ctl(int epfd, int op, int num, struct epoll_event *ev);

/* The rest with the lock held. */

/* se_dup_onto() (core/sys.h), and the registrations recorded for num
 * leave the file that was there and are made again for file (an epoll
 * instance that is gone, closed behind the library's back, loses its
 * record). */
int se_epmirror_put(int file, int num);
/* Forgets the registrations of num (they stay made). */
void se_epmirror_drop(int num);
/* The number num is closed or replaced: its registrations go with the file,
 * and if it was an epoll instance, every registration in it. No memory is
 * freed here (async-signal-safe: the records are buried, core/loop.h). */
void se_epmirror_forget(int num);

#endif
