/* The loop thread: one background thread, one libev loop, one lock.
 *
 * The thread holds the lock except while it sleeps in epoll_wait() (libev's
 * release and acquire callbacks), so the program's threads change what the
 * loop watches under the same lock and wake the thread through a pipe of
 * the library's own. Started on first need (se_loop_ensure()), again in a
 * child after fork(); its descriptors are the library's (ownfd.h).
 *
 * No interposition here: the client (the preload layer's watcher) gives the
 * loop its hooks, and the wrappers ask se_loop_epoll_made(),
 * se_loop_closes() and se_loop_in_thread() about the loop's own calls.
 *
 * The locks of the library, and the one order in which they are taken
 * (never the other way round):
 *
 *   1. the loop's lock (this module): the program's threads take it with
 *      every signal blocked (se_loop_take()), the thread holds it while
 *      it runs the loop's callbacks;
 *   2. under it, each alone: the name memory's (names.h, se_names.lock),
 *      the network's (netwatch.h, se_netstate.lock), the history's
 *      (history.h, se_history.lock; the network's is never taken under
 *      it);
 *   3. the shared history file's flock(), under the history's lock but
 *      never under the loop's: the thread, and a program's thread in a
 *      call that may end an attempt (the preload layer's pending.c),
 *      queue their records and log lines while they hold the loop's lock
 *      and write them once they have let go (hooks->unlocked,
 *      se_history_flush(), se_log_flush()), so that no program thread
 *      waits behind another process's lock or a full pipe;
 *   4. no lock: the per-descriptor table (fdtab.h: atomics, and sockrec's
 *      rec_busy, an atomic exchange never waited on), the library's own
 *      descriptors (ownfd.h, lock-free), the log (log.h: one write() per
 *      line; its queue's lock, a leaf, is held only to copy the queue).
 *
 * The engine's blocking connect() takes none of them but 2 and 3; the
 * fork handlers (runtime.c) take 1 (the preloaded library's part), then
 * the network's, the history's, the names' and the log queue's. */
#ifndef SOFTERR_CORE_LOOP_H
#define SOFTERR_CORE_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct ev_loop;

/* What the loop's client does at the loop's turns. Each is called in the
 * thread with the lock held. */
struct se_loop_hooks {
	/* The loop was made (the thread not yet started). */
	void (*started)(void);
	/* After every wake-up (se_loop_poke(), the alarm, a nudge): what the
	 * program's threads began or let go of is looked at, ended and freed
	 * here. */
	void (*woken)(void);
	/* A descriptor registered with se_loop_watch_fd() has one of the
	 * events asked, or an error: data as registered. */
	void (*fd_event)(uint64_t data);
	/* Is there work for right after the next poll? The thread then keeps
	 * the lock through it (the poll does not wait). */
	bool (*keep_lock)(void);
	/* Is nothing left for the loop to do (no attempt watched, nothing
	 * to end or put in place)? Asked now and then: idle long enough, the
	 * thread stops and its descriptors go (se_loop_set_idle()). */
	bool (*idle)(void);
	/* In the thread, as it begins (NULL: nothing). */
	void (*thread_begins)(void);
	/* In the thread, each time it has let the lock go (before it
	 * sleeps, and as it ends): work that may wait on others (the
	 * history file's flock()) is done here, never under the lock (NULL:
	 * nothing). */
	void (*unlocked)(void);
	/* The loop stands aside for good (it lost a descriptor of its own):
	 * every attempt goes back to the kernel as it is. Nothing of the
	 * loop may be touched from then on. */
	void (*abandon)(void);
};

/* After this many milliseconds with nothing to do (hooks->idle(), and no
 * wake-up), the thread stops and closes its descriptors; the next need
 * starts it again. 0: it stays. SE_LOOP_IDLE_MS unless set. For tests. */
#define SE_LOOP_IDLE_MS 30000
void se_loop_set_idle(unsigned ms);

/* Takes the lock with every signal blocked (the old mask in *old): a
 * signal handler that closes a socket (close() is async-signal-safe) then
 * never waits for a lock its own thread holds. */
void se_loop_take(sigset_t *old);
/* Gives it back and restores the mask. errno is kept. */
void se_loop_give(const sigset_t *old);
/* The same, then wakes the thread if wake says so (to look at what
 * changed: woken first, it would only wait for the lock). */
void se_loop_give_wake(const sigset_t *old, bool wake);

/* Starts the thread with hooks unless it runs in this process (with the
 * lock held), and waits for it to begin (200 ms at most). Returns 0, or
 * -1 if it cannot be had (no descriptors, no libev loop, no thread; a
 * thread that has not begun, as in the child of a threaded program whose
 * allocator's lock a vanished thread held; or abandoned). */
int se_loop_ensure(const struct se_loop_hooks *hooks);
/* The loop when the thread runs in this process, else NULL (with the lock
 * held). */
struct ev_loop *se_loop_get(void);
/* Does the thread run in this process (abandoned or not)? With the lock
 * held. */
bool se_loop_here(void);
/* ... and has it not been abandoned? */
bool se_loop_alive(void);
/* Wakes the thread (async-signal-safe; with the lock held or every signal
 * blocked). */
void se_loop_poke(void);

/* Memory the program's threads let go of, freed by the thread (or by
 * se_loop_reap()): close() may come from a signal handler that interrupted
 * malloc(), where free() may deadlock. A record to be buried this way
 * begins with a struct se_grave and was had from malloc(). */
struct se_grave {
	struct se_grave *next;
};
/* Frees g now in the thread, else at the next reaping (with the lock
 * held). */
void se_loop_bury(struct se_grave *g);
/* Frees what was buried (with the lock held, where free() may be called). */
void se_loop_reap(void);
/* Is anything buried, to be freed by the thread? */
bool se_loop_has_graves(void);

/* Asks the loop to tell hooks->fd_event(data) once when fd has
 * one of events (EPOLLOUT, ...) or an error (EPOLLERR, always: with events
 * 0 that alone, as the write end of a pipe whose last reader is gone).
 * With the lock held, while fd is certainly the caller's: the registration
 * is made at once, in an epoll instance of the loop's own, not at the
 * loop's next turn as a libev watcher's would be (by then the program
 * may have closed the number, and libev aborts on a closed one, or watches
 * the program's next file there). One-shot: se_loop_rearm_fd() asks
 * again. The registration goes with fd's file. Returns 0, or -1 (no such
 * instance: not watched). */
int se_loop_watch_fd(int fd, uint32_t events, uint64_t data);
/* The same for n descriptors (the instance checked once). Returns how
 * many of them, from the first, are watched. */
struct se_loop_watch {
	int fd;
	uint32_t events;
	uint64_t data;
};
size_t se_loop_watch_fds(const struct se_loop_watch *w, size_t n);
/* The data of a registration whose only errand is to wake the thread
 * (hooks->woken() is called): the client then looks at what changed. */
#define SE_LOOP_NUDGE (~(uint64_t)1)

/* The thread wakes by ms (se_now_ms()'s clock) even if nothing else wakes
 * it, without a wake-up now: an alarm in the loop's own epoll instance,
 * set only when ms is earlier than the time it is set for (so a stream
 * of connects, each wanting the thread a while after it began, makes one
 * system call for the first only). hooks->woken() is called then. With
 * the lock held. Returns 0, or -1: no alarm (no room for it, or ms is
 * past), and the caller wakes the thread itself. */
int se_loop_wake_at(uint64_t ms);

/* Asks again once (rearm) or drops the registration, with the lock held
 * and only while fd holds the file registered (the caller checks; on a
 * number the program reused, the call fails harmlessly with ENOENT). */
void se_loop_rearm_fd(int fd, uint32_t events, uint64_t data);
void se_loop_unwatch_fd(int fd);

/* The program puts a file of its own on num, a number of the library's,
 * next (dup2()/dup3() onto it; with the lock held): if it is one of the
 * loop's, the thread gives up the loop first (at most a second), and num
 * is disowned, every poke on its way done. */
void se_loop_let_go(int num);

/* epoll_create() or epoll_create1() returned fd (or -1): while the thread
 * makes its loop (libev creates its epoll instance itself), fd is the
 * library's and is moved out of the program's way (ownfd.h). Returns the
 * number to hand back: fd, or where it went. */
int se_loop_epoll_made(int fd);
/* close(fd) of a descriptor the library owns, called from the thread:
 * libev closing its epoll instance to make it anew (it does so when the
 * kernel's registrations are out of step with its own). True: fd is
 * disowned and to be closed; the new instance is then the loop's
 * (se_loop_epoll_made()). */
bool se_loop_closes(int fd);
/* Is the caller the loop's thread (whose loop's calls are its own)? */
bool se_loop_in_thread(void);

/* fork(): the lock is held across it (prepare, parent). In the child the
 * thread is not there: after the client forgot what it watched, the loop's
 * copies of its descriptors are closed and its memory freed (child). */
void se_loop_fork_prepare(void);
void se_loop_fork_parent(void);
void se_loop_fork_child(void);

/* At exit: the thread stops (at most a second) and the loop is freed. */
void se_loop_shutdown(void);

#endif
