/* The loop thread (loop.h): its thread, lock, wake-up, reaper, and the
 * descriptors it holds.
 *
 * The library's own descriptors can be closed behind its back (a raw close
 * system call, close_range(), a loop closing every number) and their
 * numbers reused by the program's files. The thread's wake-up is a pipe
 * (not libev's eventfd, which it would write into blindly) written only
 * while the number still holds that pipe; the loop's epoll instance holds
 * the pipe's write end as a canary (no events asked), and the thread asks
 * for it before every wait: gone, the thread stops before it could wait on
 * an epoll instance of the program's (whose events it would take). The
 * loop then stands aside (abandon()): never an abort, never a byte written
 * into a file that is not the library's. Every descriptor of the library's
 * is known by its file (ownfd.h), and spared by the program's close(),
 * close_range() and closefrom(). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "loop.h"
#include "ownfd.h"
#include "sys.h"

/* The first of the library's locks (loop.h says in which order). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ev_loop *loop;
static const struct se_loop_hooks *hooks;
static ev_io wake_io;
static pthread_t thread;
static pid_t loop_pid;

/* Set in the thread: its loop's own epoll_ctl() calls pass straight
 * through the wrapper (the thread holds the lock the wrapper takes). */
static __thread bool in_thread __attribute__((tls_model("initial-exec")));

static int wake_fd[2] = { -1, -1 };
static bool dead;		/* abandoned: connects go to the kernel */
static bool stopping;		/* at exit: the loop breaks */

/* The thread's word that it runs (thread_main()), which a connect waits
 * for before it depends on the thread. A thread started in the child of a
 * threaded program may never run: a lock held across fork() by a thread
 * the child does not have stops it (AddressSanitizer's allocator has such
 * a lock, and stops a new thread there before its first instruction), and
 * a stand-in would then leave the program waiting on it forever. So
 * se_loop_ensure() waits up to SE_LOOP_BEGIN_MS for the word; until it
 * comes, connects are the kernel's, and at exit nobody waits for the
 * thread. */
#define SE_LOOP_BEGIN_MS 200
static sem_t begin_sem;
static bool begun;

/* Idle: no work and no wake-up for idle_ms, the thread lets go of it all
 * (a process that connected once keeps no thread and no descriptors for
 * the rest of its life). */
static unsigned idle_ms = SE_LOOP_IDLE_MS;
static ev_timer idle_timer;	/* looks every idle_ms / 4 */
static uint64_t busy_at;	/* se_now_ms() when last seen busy */

/* Threads between poke()'s look at the number and its write: a dup2() of
 * the program's onto the pipe's number waits for them (se_loop_let_go()),
 * so the byte never lands in the program's file. */
static unsigned poking;

/* Buried records (se_loop_bury()), linked by their grave. */
static struct se_grave *graves;

/* The loop's epoll instance, as found when it was made (libev does not
 * tell its number): -1 when not known. */
static int backend_fd = -1;

/* An epoll instance of the library's own, in the loop, in which the
 * client registers descriptors itself, one-shot, at once
 * (se_loop_watch_fd()): write ends of pipes with no events asked (the
 * kernel reports EPOLLERR once the last reader is gone), and the program's
 * sockets of the visible mode. Its canary is the wake-up pipe's write end,
 * as the loop's. -1: none (no room for it). */
static int gone_ep = -1;
static ev_io gone_io;
#define CANARY (~(uint64_t)0)	/* its data in either instance */
#define ALARM (CANARY - 2)	/* the alarm's, in gone_ep */

/* The alarm: a timerfd in gone_ep that wakes the thread by a time a
 * program's thread asked for (se_loop_wake_at()), without a wake-up:
 * set only when that time is earlier than the one it is set for
 * (alarm_at, UINT64_MAX: not set). -1: none (no room for it). */
static int alarm_fd = -1;
static uint64_t alarm_at = UINT64_MAX;

/* The client has work right after the poll: the thread kept the lock
 * through it rather than queue for it again behind the program's
 * threads. */
static bool kept;

/* The program is putting a file of its own on the epoll instance's number
 * (se_loop_let_go()): the thread must not wait there again. */
static bool backend_leaving;

/* Set while this thread makes the loop: the epoll instance libev creates
 * then is the library's (se_loop_epoll_made()), found at made_epfd. */
static __thread bool making_loop __attribute__((tls_model("initial-exec")));
static int made_epfd = -1;

/* --- The lock ------------------------------------------------------------ */

void se_loop_take(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&lock);
}

void se_loop_give(const sigset_t *old)
{
	int err = errno;

	pthread_mutex_unlock(&lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
	errno = err;
}

/* Wakes the thread through the pipe's write end fd (async-signal-safe).
 * Called with every signal blocked (or the lock held): a signal handler's
 * dup2() cannot wait for the very poke() it interrupted. */
static void poke(int fd)
{
	int saved = errno;

	__atomic_add_fetch(&poking, 1, __ATOMIC_ACQ_REL);
	if (se_owns(fd) && write(fd, "", 1) < 0) {
		/* Full: the thread has a wake-up to read already. */
	}
	__atomic_sub_fetch(&poking, 1, __ATOMIC_ACQ_REL);
	errno = saved;
}

void se_loop_poke(void)
{
	poke(wake_fd[1]);
}

void se_loop_give_wake(const sigset_t *old, bool wake)
{
	int fd = wake_fd[1], err = errno;

	if (!wake) {
		se_loop_give(old);
		return;
	}
	/* The lock first, then the wake-up; signals stay blocked until the
	 * poke is done. */
	pthread_mutex_unlock(&lock);
	poke(fd);
	pthread_sigmask(SIG_SETMASK, old, NULL);
	errno = err;
}

bool se_loop_here(void)
{
	/* The thread is in the process that started it: no need to ask. */
	return loop && (in_thread || loop_pid == getpid());
}

bool se_loop_alive(void)
{
	return se_loop_here() && !dead;
}

struct ev_loop *se_loop_get(void)
{
	return se_loop_here() ? loop : NULL;
}

bool se_loop_in_thread(void)
{
	return in_thread;
}

/* --- The reaper ---------------------------------------------------------- */

void se_loop_bury(struct se_grave *g)
{
	if (in_thread) {
		free(g);
		return;
	}
	g->next = graves;
	graves = g;
}

void se_loop_reap(void)
{
	while (graves) {
		struct se_grave *g = graves;

		graves = g->next;
		free(g);
	}
}

bool se_loop_has_graves(void)
{
	return graves != NULL;
}

/* --- The loop's own descriptors ------------------------------------------ */

/* The loop lost a descriptor of its own: the client hands every attempt
 * back, nothing of the loop is touched again (its numbers may be the
 * program's now: it is not even destroyed), and the thread ends; from now
 * on connects are the kernel's. With the lock held, in the thread. */
static void abandon(const char *why)
{
	dead = true;
	if (hooks && hooks->abandon)
		hooks->abandon();
	/* Not even a word on stderr: in a program that closes every number,
	 * descriptor 2 may be any file by now. why is for the debugger. */
	(void)why;
	pthread_mutex_unlock(&lock);
	pthread_exit(NULL);
}

/* Is the loop's epoll instance still the library's? Its canary (the wake
 * pipe's write end, no events asked) is registered there and nowhere
 * else. */
static bool backend_ours(void)
{
	return backend_fd < 0 || se_owns(backend_fd);
}

/* Registers the canary (the wake-up pipe's write end, no events asked,
 * data as given) in epfd, an epoll instance of the library's, by which it
 * is known from then on (ownfd.h). Returns whether it took it. */
static bool take_canary(int epfd, uint64_t data)
{
	struct epoll_event canary = { .events = 0, .data.u64 = data };

	if (epfd < 0 || se_sys.epoll_ctl(epfd, EPOLL_CTL_ADD, wake_fd[1], &canary) < 0)
		return false;
	se_own_epoll(epfd, wake_fd[1]);
	return true;
}

/* epfd is the loop's epoll instance if it takes the canary. */
static void adopt_backend(int epfd)
{
	if (take_canary(epfd, CANARY))
		backend_fd = epfd;
}

int se_loop_epoll_made(int fd)
{
	if (fd < 0 || (!making_loop && !in_thread))
		return fd;
	fd = se_own_move(fd);
	if (making_loop)
		made_epfd = fd;
	else
		/* libev makes its epoll instance anew, in the thread: it
		 * closed the old one (se_loop_closes()) on finding the
		 * kernel's registrations out of step with its own (a
		 * registered socket's file outlived its number, in a child
		 * forked meanwhile). The new one is the loop's, as the first
		 * was. */
		adopt_backend(fd);
	return fd;
}

bool se_loop_closes(int fd)
{
	/* Only libev closes descriptors in the thread, and only its own. */
	if (!in_thread || fd != backend_fd)
		return false;
	se_disown(fd);
	backend_fd = -1;
	return true;
}

/* epoll_ctl(op) on gone_ep for fd, one-shot; checked ours first unless
 * checked says it was just now. */
static int gone_ctl(int op, int fd, uint32_t events, uint64_t data, bool checked)
{
	struct epoll_event ev = { .events = events | EPOLLONESHOT, .data.u64 = data };

	if (gone_ep < 0 || (!checked && !se_owns(gone_ep)))
		return -1;
	return se_sys.epoll_ctl(gone_ep, op, fd, &ev);
}

size_t se_loop_watch_fds(const struct se_loop_watch *w, size_t n)
{
	int saved = errno;
	size_t i;

	for (i = 0; i < n; i++)
		if (gone_ctl(EPOLL_CTL_ADD, w[i].fd, w[i].events, w[i].data, i > 0) < 0)
			break;
	errno = saved;
	return i;
}

int se_loop_watch_fd(int fd, uint32_t events, uint64_t data)
{
	struct se_loop_watch w = { fd, events, data };

	return se_loop_watch_fds(&w, 1) == 1 ? 0 : -1;
}

void se_loop_rearm_fd(int fd, uint32_t events, uint64_t data)
{
	int saved = errno;

	gone_ctl(EPOLL_CTL_MOD, fd, events, data, false);
	errno = saved;
}

void se_loop_unwatch_fd(int fd)
{
	int saved = errno;

	gone_ctl(EPOLL_CTL_DEL, fd, 0, 0, false);
	errno = saved;
}

int se_loop_wake_at(uint64_t ms)
{
	struct itimerspec its = { .it_value = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L } };
	int saved = errno;

	if (ms >= alarm_at)
		return 0;
	if (alarm_fd < 0 || !se_owns(alarm_fd) || ms <= se_now_ms() ||
	    syscall(SYS_timerfd_settime, alarm_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		errno = saved;
		return -1;
	}
	alarm_at = ms;
	return 0;
}

void se_loop_let_go(int num)
{
	struct timespec pause = { 0, 200000 };
	int i;

	/* The thread may be on its way to epoll_wait() on that number (past
	 * its look at the canary): it is woken, and gives up the loop before
	 * the number changes (at most a second: then the call goes on). The
	 * epoll instance is known by the wake-up pipe registered in it:
	 * losing either end of the pipe is losing the loop too. */
	if ((num == backend_fd || num == wake_fd[0] || num == wake_fd[1]) &&
	    se_loop_alive()) {
		backend_leaving = true;
		for (i = 0; i < 5000 && !dead; i++) {
			poke(wake_fd[1]);
			pthread_mutex_unlock(&lock);
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&lock);
		}
	}
	/* Not the library's from now on: what it finds there next is not
	 * its own, and it stands aside (no write, no close, no wait). */
	se_disown(num);
	while (__atomic_load_n(&poking, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* --- The thread ---------------------------------------------------------- */

static void release_cb(struct ev_loop *l)
{
	if (backend_leaving)
		abandon("the program puts a file of its own on its epoll instance's number");
	if (!backend_ours())
		abandon("its epoll instance was closed behind its back");
	if (hooks->keep_lock()) {
		kept = true;
		return;
	}
	pthread_mutex_unlock(&lock);
	if (hooks->unlocked)
		hooks->unlocked();
}

static void acquire_cb(struct ev_loop *l)
{
	if (kept) {
		kept = false;
		return;
	}
	pthread_mutex_lock(&lock);
}

/* Makes the loop and finds its epoll instance: the one the epoll_create1()
 * wrapper saw libev make and moved out of the program's way; without the
 * wrapper (libev linked in statically, the unit tests), the lowest free
 * number when ev_loop_new() ran. Either if it takes the canary. */
static struct ev_loop *new_loop(void)
{
	struct ev_loop *l;
	int low = fcntl(wake_fd[0], F_DUPFD_CLOEXEC, 0);

	if (low >= 0)
		se_sys.close(low);
	backend_fd = -1;
	made_epfd = -1;
	making_loop = true;
	l = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
	making_loop = false;
	if (made_epfd >= 0)
		low = made_epfd;
	if (l)
		adopt_backend(low);
	if (!l)
		l = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
	return l;
}

void se_loop_set_idle(unsigned ms)
{
	idle_ms = ms;
}

/* Nothing to do for idle_ms: the loop breaks, and the thread frees it
 * (thread_main()). */
static void idle_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	uint64_t now = se_now_ms();

	if (!hooks->idle() || se_loop_has_graves())
		busy_at = now;
	else if (now - busy_at >= idle_ms)
		ev_break(l, EVBREAK_ALL);
}

/* The thread was woken (a wake-up, the alarm, a nudge): the client looks at
 * what the program's threads changed, and what they let go of is freed. */
static void woke(void)
{
	busy_at = se_now_ms();
	hooks->woken();
	se_loop_reap();
}

static void wake_cb(struct ev_loop *l, ev_io *w, int revents)
{
	char buf[64];

	/* Mostly to make the loop look at its watchers again; at exit, to
	 * stop it (ev_break() works from inside the loop's own thread only),
	 * and to free what the program's threads let go of. */
	if (!se_owns(wake_fd[0]))
		abandon("its wake-up pipe was closed behind its back");
	while (read(wake_fd[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
	woke();
	if (stopping)
		ev_break(l, EVBREAK_ALL);
}

/* The alarm went off: read, so that it is quiet until set again. */
static void alarm_rang(void)
{
	uint64_t n;

	if (!se_owns(alarm_fd))
		abandon("its alarm was closed behind its back");
	if (read(alarm_fd, &n, sizeof(n)) < 0) {
		/* Set again since it went off (not expired): nothing to read. */
	}
	if (alarm_at <= se_now_ms())
		alarm_at = UINT64_MAX;
}

/* A descriptor registered with se_loop_watch_fd() has an event: the
 * client is told, or, for the alarm and a nudge, looks at what changed. */
static void gone_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct epoll_event ev[16];
	bool woken = false;
	int n, i;

	if (!se_owns(gone_ep))
		abandon("its epoll instance for stand-ins was closed behind its back");
	do {
		n = epoll_wait(gone_ep, ev, 16, 0);
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 == CANARY) {
				if (!se_owns(wake_fd[0]))
					abandon("its wake-up pipe was closed behind its back");
			} else if (ev[i].data.u64 == ALARM) {
				alarm_rang();
				woken = true;
			} else if (ev[i].data.u64 == SE_LOOP_NUDGE) {
				woken = true;
			} else {
				hooks->fd_event(ev[i].data.u64);
			}
		}
	} while (n == 16);
	if (woken)
		woke();
}

/* libev's answer to a system call that failed where it cannot go on (its
 * epoll_wait() on a number closed behind the library's back, and reused
 * by a file that is no epoll instance): in the thread, the loop stands
 * aside; anywhere else (a loop of the program's, sharing libev) what libev
 * does without a callback. */
static void syserr_cb(const char *msg)
{
	if (in_thread && loop && !dead) {
		/* Called with the lock held (after libev's acquire). */
		abandon(msg);
	}
	perror(msg);
	abort();
}

static void destroy_loop(void);

static void *thread_main(void *arg)
{
	in_thread = true;
	if (hooks->thread_begins)
		hooks->thread_begins();
	__atomic_store_n(&begun, true, __ATOMIC_RELEASE);
	sem_post(&begin_sem);
	pthread_mutex_lock(&lock);
	ev_run(loop, 0);
	if (!stopping && !dead) {
		/* Idle (idle_cb()): the loop and its descriptors go, under the
		 * lock, so the next connect() finds none and starts anew.
		 * Nobody joins this thread. */
		destroy_loop();
		pthread_detach(pthread_self());
	}
	pthread_mutex_unlock(&lock);
	if (hooks->unlocked)
		hooks->unlocked();
	return NULL;
}

/* Makes the alarm in gone_ep, when the library may hold one descriptor
 * more. */
static void make_alarm(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ALARM };
	int fd;

	alarm_at = UINT64_MAX;
	/* Through syscall(): the C library's timerfd_create() and
	 * timerfd_settime() would be two more imports, and a symbol version
	 * more, for the dynamic linker to check in every process that loads
	 * the library, connect or not. */
	if (!se_own_room(1) ||
	    (fd = (int)syscall(SYS_timerfd_create, CLOCK_MONOTONIC,
			       TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		return;
	fd = se_own_move(fd);
	if (se_sys.epoll_ctl(gone_ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		se_close_own(fd);
		return;
	}
	alarm_fd = fd;
}

/* Makes gone_ep, and its alarm, each when the library may hold one
 * descriptor more. */
static void make_gone_ep(void)
{
	int ep;

	if (!se_own_room(1) || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return;
	ep = se_own_move(ep);
	if (!take_canary(ep, CANARY)) {
		se_sys.close(ep);
		return;
	}
	gone_ep = ep;
	ev_io_init(&gone_io, gone_cb, gone_ep, EV_READ);
	ev_io_start(loop, &gone_io);
	make_alarm();
}

/* Closes gone_ep and the alarm (those still the library's). */
static void close_gone_ep(void)
{
	if (alarm_fd >= 0)
		se_close_own(alarm_fd);
	alarm_fd = -1;
	alarm_at = UINT64_MAX;
	if (gone_ep >= 0)
		se_close_own(gone_ep);
	gone_ep = -1;
}

/* The loop's own watchers in the new loop: the wake-up, the stand-ins'
 * readers, the idle timer; then the client's. */
static void start_watchers(void)
{
	ev_set_loop_release_cb(loop, release_cb, acquire_cb);
	ev_io_init(&wake_io, wake_cb, wake_fd[0], EV_READ);
	ev_io_start(loop, &wake_io);
	make_gone_ep();
	if (idle_ms) {
		busy_at = se_now_ms();
		ev_timer_init(&idle_timer, idle_cb, idle_ms / 4000., idle_ms / 4000.);
		ev_timer_start(loop, &idle_timer);
	}
	hooks->started();
}

/* Has the thread begun, or does it within SE_LOOP_BEGIN_MS? Keeps errno. */
static bool wait_begun(void)
{
	struct timespec until;
	int saved = errno;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += SE_LOOP_BEGIN_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!__atomic_load_n(&begun, __ATOMIC_ACQUIRE) &&
	       sem_clockwait(&begin_sem, CLOCK_MONOTONIC, &until) < 0 && errno == EINTR)
		;
	errno = saved;
	return __atomic_load_n(&begun, __ATOMIC_ACQUIRE);
}

int se_loop_ensure(const struct se_loop_hooks *h)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	if (se_loop_here())
		return __atomic_load_n(&begun, __ATOMIC_ACQUIRE) ? 0 : -1;
	/* The thread holds three descriptors: a pipe, an epoll instance (and
	 * a fourth and fifth when there is room, make_gone_ep()). */
	if (dead || !se_own_room(3))
		return -1;
	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	wake_fd[0] = se_own_move(wake_fd[0]);
	wake_fd[1] = se_own_move(wake_fd[1]);
	hooks = h;
	/* libev's error callback is one for the whole process: when the
	 * program uses libev too, it is the program's to set. */
	if (!se_other_object_needs("libev.so", (const void *)se_loop_ensure))
		ev_set_syserr_cb(syserr_cb);
	loop = new_loop();
	if (!loop)
		goto fail;
	start_watchers();
	/* Every signal blocked in the thread: the program's handlers run in
	 * the program's threads only. */
	sigfillset(&all);
	__atomic_store_n(&begun, false, __ATOMIC_RELAXED);
	sem_init(&begin_sem, 0, 0);
	pthread_attr_init(&attr);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&thread, &attr, thread_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		ev_loop_destroy(loop);
		loop = NULL;
		close_gone_ep();
		goto fail;
	}
	loop_pid = getpid();
	return wait_begun() ? 0 : -1;

fail:
	se_close_own(wake_fd[0]);
	se_close_own(wake_fd[1]);
	wake_fd[0] = wake_fd[1] = -1;
	return -1;
}

/* Frees the loop and closes its descriptors, those still the library's:
 * after abandon(), none is touched (the memory is left, as the numbers may
 * be the program's). */
static void destroy_loop(void)
{
	if (!loop)
		return;
	if (!dead && backend_ours()) {
		/* libev closes it through the program's close(), which spares
		 * what the library owns. */
		se_disown(backend_fd);
		ev_loop_destroy(loop);
	}
	loop = NULL;
	backend_fd = -1;
	close_gone_ep();
	se_close_own(wake_fd[0]);
	se_close_own(wake_fd[1]);
	wake_fd[0] = wake_fd[1] = -1;
}

/* --- fork() and exit ----------------------------------------------------- */

/* The signal mask of the thread that forks, while it holds the lock. */
static sigset_t fork_mask;

void se_loop_fork_prepare(void)
{
	se_loop_take(&fork_mask);
}

void se_loop_fork_parent(void)
{
	se_loop_give(&fork_mask);
}

void se_loop_fork_child(void)
{
	/* The loop's descriptors are this process's copies: closing them
	 * leaves the parent's alone. */
	destroy_loop();
	loop_pid = 0;
	se_loop_reap();
	pthread_mutex_init(&lock, NULL);
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

void se_loop_shutdown(void)
{
	struct timespec until;

	if (!loop || dead || loop_pid != getpid() ||
	    !__atomic_load_n(&begun, __ATOMIC_ACQUIRE) || pthread_mutex_trylock(&lock) != 0)
		return;
	stopping = true;
	poke(wake_fd[1]);
	pthread_mutex_unlock(&lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_timedjoin_np(thread, NULL, &until) == 0) {
		destroy_loop();
		stopping = false;	/* it may start again */
	}
}
