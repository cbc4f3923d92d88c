/* The watcher: non-blocking connects under a background libev loop.
 *
 * One thread, one loop (epoll backend), one lock. The thread holds the lock
 * except while it sleeps in epoll_wait() (libev's release and acquire
 * callbacks), so the program's threads change the table and the loop under
 * the same lock and wake the thread through a pipe of its own (wake_fd).
 *
 * A transparent connect (watch.h) puts a stand-in on the program's number:
 * the read end of a pipe whose write end the watcher holds. Nothing makes
 * it readable or writable, so every way of waiting sleeps on it; the
 * program's socket goes on, on a private number, under the engine's run.
 * The winner (or the failed socket) is put in its place with dup3(), the
 * program's epoll registrations are carried over, and closing the write
 * end wakes every poll() and select() sleeping on the stand-in: they look
 * at the number again and find the socket. shutdown() and fork() meanwhile
 * put the program's own socket back on the number (se_watch_shut(),
 * se_watch_fork_child()). A pipe rather than a socket that answers send()
 * and recv() as a connecting one would (EAGAIN): that costs 10 to 18 us
 * more per pending connect, every connect over a real network, for calls
 * no program surveyed makes before its socket is writable (libsofterr(7)). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "errq.h"
#include "fdtab.h"
#include "sockrec.h"
#include "history.h"
#include "log.h"
#include "ownfd.h"
#include "policy.h"
#include "sys.h"
#include "watch.h"

struct watched {
	int fd;
	/* PENDING: the kernel's attempt, watched for its first ICMP error;
	 * RUNNING: a transparent run behind the stand-in; VISIBLE: ended,
	 * the program is to read visible_err. */
	enum { PENDING, RUNNING, VISIBLE } state;
	unsigned lvl_ours;		/* RECVERR levels we turned on */
	int visible_err;		/* VISIBLE: the errno the program gets */
	bool delivered;			/* ... and SO_ERROR handed it out */
	const struct se_settings *s;
	struct se_addr addr;
	uint16_t port;
	uint64_t t0, t0_us;
	struct se_history *hist;	/* learns how the attempt went; or NULL */
	bool icmp_seen;
	struct se_line *line;		/* the debug line, when logging */
	ev_io io;
	ev_timer timer;

	/* RUNNING */
	struct se_run *run;
	int orig;			/* the program's socket, privately */
	int wake;			/* the stand-in pipe's write end */
	/* The program took its socket back with shutdown(): e is out of the
	 * table, the run held (se_run_hold()); on the placing list, the
	 * thread ends the run and closes the private number (place_cb()). */
	bool shut;
	/* The run is over (run NULL): orig, the winner or the failed
	 * socket, waits on the placing list for the loop to poll once more
	 * before it goes on the number (place()). */
	bool placing;
	bool place_connected;
	unsigned place_iteration;	/* ev_iteration() when it was decided */
	struct watched *next_place;

	/* The program closed or replaced the number: e is no longer in the
	 * table, waits on the gone list for the thread, and nothing touches
	 * the number for it any more. */
	bool gone;
	struct watched *next_gone;
	/* The file e answers for on the number (the stand-in while RUNNING,
	 * the program's socket otherwise), to know it is still there: the
	 * program may close the number behind the wrappers' back (libuv's
	 * raw close system call, close_range()) and reuse it. */
	dev_t st_dev;
	ino_t st_ino;
};

/* An epoll registration of a TCP socket the program made: what to carry
 * over when the file behind its number changes. */
struct reg {
	int epfd;
	struct epoll_event ev;
	struct reg *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ev_loop *loop;
static ev_io wake_io;
static ev_timer placer;		/* puts decided runs in place (place_cb()) */
static struct watched *placing;	/* ... these, linked by next_place */
static void place_cb(struct ev_loop *l, ev_timer *w, int revents);
static pthread_t thread;
static pid_t loop_pid;
/* Each number's entry and epoll registrations (by the registered number)
 * live in its slot of the per-descriptor table (fdtab.h), read and written
 * under the lock; has below is the slot's too. */
static int regs_top = -1;		/* no registration above this number */
static unsigned running;		/* transparent runs in flight */

/* What the library knows of each number, read without the lock: HAS_ENTRY
 * (tab(fd) is set), HAS_REGS (*regs(fd) is), IS_EPFD (an epoll instance some
 * registration names). Cleared (release) after the thread's last use of the
 * number, read (acquire) before the program's close(): what the thread did
 * with the socket happens before it is closed, also when close() need not
 * take the lock. */
#define HAS_ENTRY 1u
#define HAS_REGS 2u
#define IS_EPFD 4u

/* fd's entry, or NULL (with the lock held). */
static struct watched *tab(int fd)
{
	struct se_fdslot *sl = se_fdtab_get(fd);

	return sl ? sl->entry : NULL;
}

/* Sets fd's entry (with the lock held): fd has a slot when e is set
 * (se_watch_connect() made it). */
static void tab_set(int fd, struct watched *e)
{
	struct se_fdslot *sl = se_fdtab_get(fd);

	if (sl)
		sl->entry = e;
}

/* fd's registrations (with the lock held): a number without a slot has
 * none, and none is added to it (se_watch_epoll_ctl() makes the slot
 * first). */
static struct reg **regs(int fd)
{
	static struct reg *none;
	struct se_fdslot *sl = se_fdtab_get(fd);

	return sl ? &sl->regs : &none;
}

static unsigned char has(int fd)
{
	struct se_fdslot *sl = se_fdtab_get(fd);

	return sl ? __atomic_load_n(&sl->has, __ATOMIC_ACQUIRE) : 0;
}

bool se_watch_has(int fd)
{
	return has(fd) & HAS_ENTRY;
}

bool se_watch_known(int fd)
{
	return has(fd);
}

/* fd has a slot (made before its entry or registration is set). */
static void mark(int fd, unsigned bit)
{
	struct se_fdslot *sl = se_fdtab_get(fd);

	if (sl)
		__atomic_or_fetch(&sl->has, bit, __ATOMIC_RELEASE);
}

static void unmark(int fd, unsigned bit)
{
	struct se_fdslot *sl = se_fdtab_get(fd);

	if (sl)
		__atomic_and_fetch(&sl->has, (unsigned char)~bit, __ATOMIC_RELEASE);
}

/* Set in the thread: its loop's own epoll_ctl() calls pass straight
 * through the wrapper (the thread holds the lock the wrapper takes). */
static __thread bool in_thread __attribute__((tls_model("initial-exec")));

/* The program's threads hold the lock with every signal blocked: a signal
 * handler that closes a socket (close() is async-signal-safe) then never
 * waits for a lock its own thread holds; it runs when the lock is given
 * back, a few system calls later. The thread blocks them all anyway. */
static void take(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&lock);
}

static void give(const sigset_t *old)
{
	pthread_mutex_unlock(&lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The library's own descriptors can be closed behind its back too (a raw
 * close system call, close_range(), a loop closing every number) and their
 * numbers reused by the program's files. The thread's wake-up is a pipe
 * (not libev's eventfd, which it would write into blindly) written only
 * while the number still holds that pipe; the loop's epoll instance holds
 * the pipe's write end as a canary (no events asked), and the thread asks
 * for it before every wait: gone, the thread stops before it could wait on
 * an epoll instance of the program's (whose events it would take). The
 * watcher then stands aside (abandon()): never an abort, never a byte
 * written into a file that is not the library's. Every descriptor of the
 * library's is known by its file (ownfd.h), and spared by the program's
 * close(), close_range() and closefrom(). */
static int wake_fd[2] = { -1, -1 };
static bool dead;		/* abandoned: connects go to the kernel */

/* Threads between poke()'s look at the number and its write: a dup2() of
 * the program's onto the pipe's number waits for them (se_watch_own_dup()),
 * so the byte never lands in the program's file. */
static unsigned poking;

/* Wakes the thread (async-signal-safe). Called with every signal blocked
 * (or the lock held): a signal handler's dup2() cannot wait for the very
 * poke() it interrupted. */
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

/* Gives the lock back, then wakes the thread to look at what changed: woken
 * first, it would only wait for the lock. Signals stay blocked until the
 * poke is done. */
static void wake_after(const sigset_t *old)
{
	int fd = wake_fd[1];

	pthread_mutex_unlock(&lock);
	poke(fd);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The epoll registration records close() forgets are freed by the
 * watcher's thread, or by the program's next epoll_ctl(): close() may come
 * from a signal handler that interrupted malloc(), where free() may
 * deadlock. Out of its list, a record's next links it here (the lock
 * held). */
static struct reg *graves;

static void free_reg(struct reg *g)
{
	if (in_thread) {
		free(g);
		return;
	}
	g->next = graves;
	graves = g;
}

static void free_graves(void)
{
	while (graves) {
		struct reg *g = graves;

		graves = g->next;
		free(g);
	}
}

/* --- The thread ---------------------------------------------------------- */

static void abandon(const char *why);

/* The loop's epoll instance, as found when it was made (libev does not
 * tell its number): -1 when not known. */
static int backend_fd = -1;

/* An epoll instance of the library's own, in the loop, in which every
 * stand-in pipe's write end is registered with no events asked: the kernel
 * reports EPOLLERR there once the last reader is gone, that is when the
 * program closed its number behind the wrappers' back (libuv's raw close
 * system call, close_range() in a child) and no copy is left. The run is
 * then ended at once (gone_cb()), its private sockets closed, rather than
 * when it is decided. Its canary is the wake-up pipe's write end, as the
 * loop's. -1: none (no room for it); the identity checks still hold. */
static int gone_ep = -1;
static ev_io gone_io;
#define CANARY (~(uint64_t)0)	/* its data in either instance */

/* Is the loop's epoll instance still the library's? Its canary (the wake
 * pipe's write end, no events asked) is registered there and nowhere
 * else. */
static bool backend_ours(void)
{
	return backend_fd < 0 || se_owns(backend_fd);
}

/* While runs wait to be put in place, the poll does not wait (placer):
 * the thread keeps the lock through it rather than queue for it again
 * behind the program's threads. */
static bool kept;

/* The program is putting a file of its own on the epoll instance's number
 * (se_watch_own_dup()): the thread must not wait there again. */
static bool backend_leaving;

static void release_cb(struct ev_loop *l)
{
	if (backend_leaving)
		abandon("the program puts a file of its own on its epoll instance's number");
	if (!backend_ours())
		abandon("its epoll instance was closed behind its back");
	if (placing) {
		kept = true;
		return;
	}
	pthread_mutex_unlock(&lock);
}

/* Set while this thread makes the loop: the epoll instance libev creates
 * then is the library's (se_watch_epoll_made()), found at made_epfd. */
static __thread bool making_loop __attribute__((tls_model("initial-exec")));
static int made_epfd = -1;

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

int se_watch_epoll_made(int fd)
{
	if (fd < 0 || (!making_loop && !in_thread))
		return fd;
	fd = se_own_move(fd);
	if (making_loop)
		made_epfd = fd;
	else
		/* libev makes its epoll instance anew, in the thread: it
		 * closed the old one (se_watch_closes()) on finding the
		 * kernel's registrations out of step with its own (a
		 * registered socket's file outlived its number, in a child
		 * forked meanwhile). The new one is the loop's, as the first
		 * was. */
		adopt_backend(fd);
	return fd;
}

bool se_watch_closes(int fd)
{
	/* Only libev closes descriptors in the thread, and only its own. */
	if (!in_thread || fd != backend_fd)
		return false;
	se_disown(fd);
	backend_fd = -1;
	return true;
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

static void acquire_cb(struct ev_loop *l)
{
	if (kept) {
		kept = false;
		return;
	}
	pthread_mutex_lock(&lock);
}

static bool stopping;

/* Entries whose number the program closed, for the thread to end. */
static struct watched *gone;

static void bury_gone(void);
static void arm_placer(void);

static void wake_cb(struct ev_loop *l, ev_io *w, int revents)
{
	char buf[64];
	ssize_t n;

	/* Mostly to make the loop look at its watchers again; at exit, to
	 * stop it (ev_break() works from inside the loop's own thread only),
	 * and to free what the program's threads let go of. */
	if (!se_owns(wake_fd[0]))
		abandon("its wake-up pipe was closed behind its back");
	while ((n = read(wake_fd[0], buf, sizeof(buf))) == (ssize_t)sizeof(buf))
		;
	bury_gone();
	arm_placer();	/* for runs given back by shutdown() */
	free_graves();
	if (stopping)
		ev_break(l, EVBREAK_ALL);
}

static bool current(struct watched *e);

/* A stand-in lost its last reader: if its number no longer holds it, the
 * program let go of the attempt behind the wrappers' back, and current()
 * ends the run as close() would have. A stand-in the run itself replaced
 * (its outcome put in place) passes the check. */
static void gone_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct epoll_event ev[16];
	int n, i;

	if (!se_owns(gone_ep))
		abandon("its epoll instance for stand-ins was closed behind its back");
	do {
		n = epoll_wait(gone_ep, ev, 16, 0);
		for (i = 0; i < n; i++) {
			int fd = (int)(uint32_t)ev[i].data.u64;
			int wake = (int)(uint32_t)(ev[i].data.u64 >> 32);
			struct watched *e;

			if (ev[i].data.u64 == CANARY) {
				if (!se_owns(wake_fd[0]))
					abandon("its wake-up pipe was closed behind its back");
				continue;
			}
			e = tab(fd);
			if (e && e->state == RUNNING && e->run && e->wake == wake)
				current(e);
		}
	} while (n == 16);
}

bool se_watch_in_thread(void)
{
	return in_thread;
}

/* libev's answer to a system call that failed where it cannot go on (its
 * epoll_wait() on a number closed behind the library's back, and reused
 * by a file that is no epoll instance): in the thread, the watcher stands
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

static void *thread_main(void *arg)
{
	in_thread = true;
	pthread_mutex_lock(&lock);
	ev_run(loop, 0);
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Makes gone_ep, when the library may hold one descriptor more. */
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
}

/* Starts the thread on first need, and again in a child after fork().
 * Called with the lock held. Returns -1 if it cannot be had. */
static int ensure_thread(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	if (loop && loop_pid == getpid())
		return 0;
	/* The thread holds three descriptors: a pipe, an epoll instance (and
	 * a fourth when there is room, make_gone_ep()). */
	if (dead || !se_own_room(3))
		return -1;
	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	wake_fd[0] = se_own_move(wake_fd[0]);
	wake_fd[1] = se_own_move(wake_fd[1]);
	/* libev's error callback is one for the whole process: when the
	 * program uses libev too, it is the program's to set. */
	if (!se_other_object_needs("libev.so", (const void *)ensure_thread))
		ev_set_syserr_cb(syserr_cb);
	loop = new_loop();
	if (!loop)
		goto fail;
	ev_set_loop_release_cb(loop, release_cb, acquire_cb);
	ev_io_init(&wake_io, wake_cb, wake_fd[0], EV_READ);
	ev_io_start(loop, &wake_io);
	make_gone_ep();
	ev_timer_init(&placer, place_cb, 0., 0.);
	/* Every signal blocked in the thread: the program's handlers run in
	 * the program's threads only. */
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&thread, &attr, thread_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		ev_loop_destroy(loop);
		loop = NULL;
		if (gone_ep >= 0)
			se_close_own(gone_ep);
		gone_ep = -1;
		goto fail;
	}
	loop_pid = getpid();
	return 0;

fail:
	se_close_own(wake_fd[0]);
	se_close_own(wake_fd[1]);
	wake_fd[0] = wake_fd[1] = -1;
	return -1;
}

/* --- Entries ------------------------------------------------------------- */

static void note(struct watched *e, const char *what)
{
	if (e->line)
		se_line_add(e->line, " %s at %llu ms;", what,
			    (unsigned long long)(se_now_ms() - e->t0));
}

static void emit(struct watched *e, const char *outcome)
{
	char abuf[INET6_ADDRSTRLEN];
	struct se_line out;

	if (!e->line)
		return;
	se_line_init(&out);
	se_line_add(&out, "softerr: non-blocking connect fd %d to %s port %u, "
		    "policy %s:%s %s", e->fd, se_addr_str(&e->addr, abuf, sizeof(abuf)),
		    ntohs(e->port), se_policy_name(e->s->policy), e->line->buf, outcome);
	se_line_emit(&out, &e->s->log);
	free(e->line);
	e->line = NULL;
}

/* Tells the address history how e's attempt went (ic: the ICMP error that
 * ended it, or NULL). The thread writes it; the program does not wait. */
static void learn(struct watched *e, enum se_hist_kind kind,
		  const struct se_icmp_seen *ic, uint32_t rtt_us)
{
	if (!e->hist)
		return;
	if (kind == SE_HIST_CONNECTED)
		se_history_handshake(e->hist, &e->addr, rtt_us, se_boot_ms());
	else
		se_history_record(e->hist, &e->addr, kind,
				  ic ? ic->type : SE_HIST_NO_ICMP, ic ? ic->code : 0,
				  rtt_us, se_boot_ms());
}

/* Was e's attempt silent long enough, against the handshake times its
 * address or its /24 or /48 usually show, for the program's giving up on
 * it to teach the history "no answer" (se_rtt_silence_ms())? */
static bool long_silent(const struct watched *e)
{
	struct se_rtt rt;

	if (!e->hist || e->icmp_seen)
		return false;
	se_history_rtt(e->hist, &e->addr, NULL, 0, se_boot_ms(), &rt);
	return se_now_ms() - e->t0 >= se_rtt_silence_ms(&rt);
}

/* Notes which file is on e's number now. Returns -1 if none is. */
static int know_file(struct watched *e)
{
	struct stat st;

	if (fstat(e->fd, &st) < 0)
		return -1;
	e->st_dev = st.st_dev;
	e->st_ino = st.st_ino;
	return 0;
}

/* Is the file e answers for still on its number? errno is kept. */
static bool still_there(const struct watched *e)
{
	struct stat st;
	int saved = errno;
	bool there = fstat(e->fd, &st) == 0 && st.st_dev == e->st_dev &&
		     st.st_ino == e->st_ino;

	errno = saved;
	return there;
}

/* Stops watching e's socket (with the lock held). */
static void unwatch(struct watched *e)
{
	ev_io_stop(loop, &e->io);
	ev_timer_stop(loop, &e->timer);
}

/* Forgets e entirely (with the lock held). */
static void drop(struct watched *e)
{
	unwatch(e);
	se_recverr_restore(e->fd, &e->lvl_ours);	/* nothing once VISIBLE */
	unmark(e->fd, HAS_ENTRY);
	tab_set(e->fd, NULL);
	free(e->line);
	free(e);
}

/* Ends the attempt now and lets the program see err: its poll(), select()
 * or epoll wakes (the cancelled socket is in error), and SO_ERROR or a
 * second connect() hands it err. */
static void make_visible(struct watched *e, int err, const char *why)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	char what[96];

	unwatch(e);
	se_recverr_restore(e->fd, &e->lvl_ours);
	se_sys.connect(e->fd, &sa, sizeof(sa));
	e->state = VISIBLE;
	e->visible_err = err;
	snprintf(what, sizeof(what), "%s, ended", why);
	note(e, what);
	snprintf(what, sizeof(what), "failed: %s", strerror(err));
	emit(e, what);
}

/* Looks at e's socket: the error queue and the TCP state (with the lock
 * held; from the thread, or from the program's getsockopt()). */
static void examine(struct watched *e)
{
	struct se_icmp_seen seen[SE_ERRQ_MAX];
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	char what[160];
	size_t n, i;
	bool up;

	n = se_errq_drain(e->fd, &e->s->icmp, seen, SE_ERRQ_MAX);
	memset(&ti, 0, sizeof(ti));
	if (se_sys.getsockopt(e->fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0)
		ti.tcpi_state = TCP_CLOSE;
	for (i = 0; i < n; i++) {
		note(e, se_icmp_describe(&seen[i], what, sizeof(what)));
		if (seen[i].cls == SE_ICMP_IGNORE)
			continue;
		/* A soft error ends the attempt under the policies watched
		 * here (abort, adaptive with another address); a hard one
		 * always. */
		e->icmp_seen = true;
		if (ti.tcpi_state == TCP_SYN_SENT) {
			/* One soft error may be forged (RFC 5461 6): the
			 * history holds it unconfirmed until another comes. */
			learn(e, seen[i].cls == SE_ICMP_SOFT ? SE_HIST_SOFT_ONCE :
			      SE_HIST_HARD, &seen[i], 0);
			make_visible(e, seen[i].err, se_icmp_class_name(seen[i].cls));
			return;
		}
	}
	if (ti.tcpi_state == TCP_SYN_SENT || ti.tcpi_state == TCP_SYN_RECV)
		return;
	/* Connected (also when the peer spoke and closed before this look),
	 * or ended by the kernel (which then holds the error the program
	 * reads): nothing more to do. */
	up = se_tcp_handshake_done(&ti);
	if (up)
		learn(e, SE_HIST_CONNECTED, NULL, (uint32_t)(se_now_us() - e->t0_us));
	note(e, up ? "connected" : "ended by the kernel");
	emit(e, up ? "connected" : "left to the kernel");
	drop(e);
}

static bool forget_locked(int fd, bool regs_too);

/* Is e still the program's attempt? Its socket may have been closed behind
 * the wrappers' back and the number reused: then it is let go of, as by
 * close(), and nothing touches the number for it. */
static bool current(struct watched *e)
{
	if (e->gone)
		return false;
	if (still_there(e))
		return true;
	forget_locked(e->fd, false);
	bury_gone();
	return false;
}

static void io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct watched *e = w->data;

	if (current(e))
		examine(e);
}

static void timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct watched *e = w->data;

	if (!current(e))
		return;
	if (!e->icmp_seen)
		learn(e, SE_HIST_SILENT, NULL, 0);
	make_visible(e, ETIMEDOUT, "establishment timer ran out");
}

/* --- epoll registrations ------------------------------------------------- */

static struct reg **find_reg(int epfd, int fd)
{
	struct reg **p;

	for (p = regs(fd); *p; p = &(*p)->next)
		if ((*p)->epfd == epfd)
			return p;
	return p;
}

static void remove_reg(struct reg **p, int fd)
{
	struct reg *g = *p;

	*p = g->next;
	free_reg(g);
	if (!*regs(fd))
		unmark(fd, HAS_REGS);
}

int se_watch_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	sigset_t old;
	struct reg **p, *g;
	int rc, err;

	take(&old);
	free_graves();
	rc = se_sys.epoll_ctl(epfd, op, fd, ev);
	err = errno;
	if (se_fdtab_make(fd) && se_fdtab_make(epfd) &&
	    (rc == 0 || (op == EPOLL_CTL_DEL && err == ENOENT))) {
		p = find_reg(epfd, fd);
		if (op == EPOLL_CTL_DEL) {
			if (*p)
				remove_reg(p, fd);
		} else if (*p) {
			(*p)->ev = *ev;
		} else if ((g = malloc(sizeof(*g)))) {
			g->epfd = epfd;
			g->ev = *ev;
			g->next = NULL;
			*p = g;
			mark(fd, HAS_REGS);
			mark(epfd, IS_EPFD);
			if (fd > regs_top)
				regs_top = fd;
		}
	}
	give(&old);
	errno = err;
	return rc;
}

/* The registrations of fd leave the file now behind it (before dup3()). */
static void regs_detach(int fd)
{
	struct reg *g;

	for (g = *regs(fd); g; g = g->next)
		se_sys.epoll_ctl(g->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ... and are made again for the file put there; an epoll instance that is
 * gone (closed behind the library's back) loses its record. */
static void regs_attach(int fd)
{
	struct reg **p = regs(fd);

	while (*p) {
		struct epoll_event ev = (*p)->ev;

		if (se_sys.epoll_ctl((*p)->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
		    errno == EBADF)
			remove_reg(p, fd);
		else
			p = &(*p)->next;
	}
}

/* Forgets the registrations of fd (they stay made). */
static void regs_drop(int fd)
{
	while (*regs(fd))
		remove_reg(regs(fd), fd);
}

/* The number fd is closed or replaced: its registrations go with the file,
 * and if it was an epoll instance, every registration in it. */
static void regs_forget(int fd)
{
	int t;

	regs_drop(fd);
	if (!(has(fd) & IS_EPFD))
		return;
	for (t = 0; t <= regs_top; t++) {
		struct reg **p = find_reg(fd, t);

		if (*p)
			remove_reg(p, t);
	}
	unmark(fd, IS_EPFD);
}

/* --- Transparent connects ------------------------------------------------ */

/* Puts file on fd in place of what is there (the stand-in, or the socket),
 * keeping fd's close-on-exec flag and the program's epoll registrations. */
/* Puts file on fd, keeping fd's close-on-exec flag. */
static int dup_onto(int file, int fd)
{
	int fdflags = fcntl(fd, F_GETFD), rc;

	do
		rc = se_sys.dup3(file, fd, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
	while (rc < 0 && (errno == EINTR || errno == EBUSY));
	return rc;
}

static int put_in_place(int file, int fd)
{
	int rc;

	regs_detach(fd);
	rc = dup_onto(file, fd);
	regs_attach(fd);
	return rc;
}


/* Asks gone_ep to say once when no reader of e's stand-in (on fd) is left.
 * The registration goes with the write end when the run ends. */
static void watch_reader(struct watched *e, int fd)
{
	struct epoll_event ev = {
		.events = EPOLLONESHOT,
		.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)(uint32_t)e->wake << 32,
	};

	if (gone_ep >= 0 && se_owns(gone_ep))
		se_sys.epoll_ctl(gone_ep, EPOLL_CTL_ADD, e->wake, &ev);
}

/* Puts the stand-in on fd, the socket on a private number. Returns 0, or
 * -1 with nothing changed. */
static int stand_in(struct watched *e, int fd)
{
	struct stat st;
	int p[2], orig;

	orig = se_own_dup(fd);
	if (orig < 0 && (orig = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0)
		se_own(orig);
	if (orig < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		se_close_own(orig);
		return -1;
	}
	p[1] = se_own_move(p[1]);
	if (fstat(p[0], &st) < 0 || put_in_place(p[0], fd) < 0) {
		se_sys.close(p[0]);
		se_close_own(p[1]);
		se_close_own(orig);
		return -1;
	}
	se_sys.close(p[0]);
	e->orig = orig;
	e->wake = p[1];
	e->st_dev = st.st_dev;
	e->st_ino = st.st_ino;
	watch_reader(e, fd);
	return 0;
}

/* This process's copies of e's run's descriptors go; only what is still
 * the library's: a number closed behind its back may hold a file of the
 * program's now. */
static void close_run_fds(struct watched *e)
{
	if (e->orig >= 0)
		se_close_own(e->orig);
	se_close_own(e->wake);
}

/* The run of e is over: its descriptors go (closing the pipe's write end
 * wakes every poll() and select() sleeping on the stand-in, and a read()
 * blocked there returns 0). */
static void end_run(struct watched *e)
{
	close_run_fds(e);
	e->run = NULL;
	running--;
}

/* What the program set with fcntl(F_SETFL) while the stand-in was on the
 * number, it set on the stand-in: e's socket gets it. */
static void carry_flags(struct watched *e)
{
	int fl = fcntl(e->fd, F_GETFL);

	if (fl >= 0)
		fcntl(e->orig, F_SETFL, fl & (O_NONBLOCK | O_ASYNC));
}

/* A socket the loop watched lives on behind the program's number after the
 * run: its epoll registration, made under the private number, lives as
 * long as the file. Closed at once, the number would leave the loop a
 * registration it can no longer remove, and libev rebuilds its whole epoll
 * set (every watched socket) at the next event. So the decided run waits
 * for the loop to poll once more (the socket is ready by then, and libev,
 * seeing an event nobody wants, removes it); then the socket goes on the
 * program's number and its private number is closed at once: when the
 * program sees the outcome, the library holds nothing of the socket (its
 * close() is the last one, and its count of descriptors is right). */

/* Takes e off the placing list (with the lock held). */
static void unplace(struct watched *e)
{
	struct watched **p = &placing;

	while (*p && *p != e)
		p = &(*p)->next_place;
	if (*p)
		*p = e->next_place;
	e->placing = false;
}

/* The decided run of e goes on the program's number: connected, or failed
 * with visible_err for the program to read. Every waiter wakes. */
static void place(struct watched *e)
{
	bool there = still_there(e);

	if (!se_owns(e->orig)) {
		/* The socket was closed behind the library's back (its number
		 * may hold a file of the program's now): nothing is put in
		 * place, and the entry is let go of. */
		e->orig = -1;
		end_run(e);
		forget_locked(e->fd, false);
		return;
	}
	if (there) {
		carry_flags(e);
		put_in_place(e->orig, e->fd);
	}
	end_run(e);
	if (e->place_connected || !there) {
		/* A connected socket is the program's alone now. */
		regs_drop(e->fd);
		drop(e);
		return;
	}
	e->state = VISIBLE;
	if (know_file(e) < 0) {
		regs_drop(e->fd);
		drop(e);
	}
}

static void place_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	unsigned now = ev_iteration(l);
	struct watched **p = &placing;

	while (*p) {
		struct watched *e = *p;

		if (e->shut && e->run) {
			/* Given back (se_watch_shut()): the held run ends now;
			 * the socket's private number after the next poll. */
			se_run_cancel(e->run, "shut down by the program");
			free(e->run);
			e->run = NULL;
			e->place_iteration = now;
		}
		if (e->place_iteration == now) {
			p = &e->next_place;
			continue;
		}
		*p = e->next_place;
		e->placing = false;
		if (e->shut) {
			/* Out of the table: nobody else frees it. */
			end_run(e);
			free(e->line);
			free(e);
		} else if (e->gone) {
			end_run(e);	/* bury_gone() frees it */
		} else {
			place(e);
		}
	}
	if (placing) {
		ev_timer_set(w, 0., 0.);
		ev_timer_start(l, w);
	}
}

/* e waits on the placing list for the loop's next poll (with the lock
 * held; no memory, no libev: se_watch_shut() may run in a signal
 * handler). */
static void queue_place(struct watched *e)
{
	if (e->placing)
		return;
	e->placing = true;
	e->place_iteration = ev_iteration(loop);
	e->next_place = placing;
	placing = e;
}

/* Runs wait on the placing list: the next poll does not wait. In the
 * thread. */
static void arm_placer(void)
{
	if (placing && !ev_is_active(&placer)) {
		ev_timer_set(&placer, 0., 0.);
		ev_timer_start(loop, &placer);
	}
}

/* The run is decided: the losing socket goes, and the one to put in place
 * waits for the loop's next poll (place()). */
static void run_done(struct se_run *run, void *arg, bool connected, int err,
		     int winner)
{
	struct watched *e = arg;

	if (winner >= 0) {
		/* The program's own socket lost: nothing else holds it. */
		se_close_own(e->orig);
		e->orig = winner;
	}
	e->run = NULL;
	if (e->gone) {
		/* The program let go of the number: the socket is nobody's. */
		end_run(e);
		return;
	}
	e->place_connected = connected;
	e->visible_err = err;
	queue_place(e);
	arm_placer();
}

/* The watcher lost a descriptor of its own (see wake_fd): every attempt
 * goes back to the kernel as it is (the program's socket back on its number
 * where the stand-in still is), nothing of the loop is touched again (its
 * numbers may be the program's now: it is not even destroyed), and the
 * thread ends; from now on connects are the kernel's. With the lock
 * held, in the thread. */
static void abandon(const char *why)
{
	unsigned fd;

	dead = true;
	for (fd = 0; fd < se_fdtab_end(); fd++) {
		struct watched *e = tab((int)fd);

		if (!e)
			continue;
		if (e->state == RUNNING && still_there(e) &&
		    se_owns(e->orig))
			put_in_place(e->orig, e->fd);
		else if (e->state == PENDING && still_there(e))
			se_recverr_restore(e->fd, &e->lvl_ours);
		tab_set((int)fd, NULL);
		unmark((int)fd, HAS_ENTRY);
	}
	/* Not even a word on stderr: in a program that closes every number,
	 * descriptor 2 may be any file by now. why is for the debugger. */
	(void)why;
	pthread_mutex_unlock(&lock);
	pthread_exit(NULL);
}

/* The thread ends what the program let go of (se_watch_forget()), without
 * touching the numbers, which may hold something else by now. */
static void bury_gone(void)
{
	while (gone) {
		struct watched *e = gone;

		gone = e->next_gone;
		if (e->run) {
			se_run_cancel(e->run, "closed by the program");
			free(e->run);
			end_run(e);
		} else if (e->placing) {
			unplace(e);
			end_run(e);
		} else if (e->state == PENDING) {
			/* Given up on by the program (its own timeout, or
			 * another address won): silent long enough, it was
			 * no answer. */
			if (long_silent(e))
				learn(e, SE_HIST_SILENT, NULL, 0);
			emit(e, "closed by the program");
		}
		unwatch(e);
		free(e->line);
		free(e);
	}
}

/* May another transparent run start? Each holds two descriptors more than
 * the program's own (its socket, the stand-in's other end) and maybe private
 * sockets, within the library's budget (ownfd.h). */
static bool room_for_run(void)
{
	return se_own_room(2);
}

/* Takes over fd's attempt (the lock held, the thread running). Returns
 * false when it cannot (no memory, no descriptors): nothing changed. */
static bool take_over(const struct se_engine_ctx *ctx, struct watched *e, int fd,
		      int domain, const struct sockaddr *sa, socklen_t len, unsigned lvl)
{
	struct se_run *run;

	if (!room_for_run() || !(run = se_run_new()))
		return false;
	if (stand_in(e, fd) < 0) {
		free(run);
		return false;
	}
	e->fd = fd;
	e->state = RUNNING;
	e->run = run;
	tab_set(fd, e);
	mark(fd, HAS_ENTRY);
	running++;
	/* The run may be decided at once; run_done() then acts on e. */
	se_run_adopt(run, ctx, e->orig, fd, domain, sa, len, lvl, loop, run_done, e);
	return true;
}

/* --- What the wrappers call ---------------------------------------------- */

/* Does the policy end an attempt to a on the first soft error? */
static bool ends_early(const struct se_engine_ctx *ctx, const struct se_addr *a,
		       const void *key)
{
	struct se_candidates c;

	if (ctx->settings->policy == SE_POLICY_ABORT)
		return true;
	if (ctx->settings->policy != SE_POLICY_ADAPTIVE || !ctx->names)
		return false;
	/* adaptive: abort while the name has another address to try, or
	 * the program may have one the library did not see it resolve. */
	se_names_candidates(ctx->names, a, key, se_now_ms(), &c);
	return (c.n > 1 && !c.persist_spent) || c.source == SE_CAND_SHARED ||
	       c.source == SE_CAND_NONE;
}

int se_watch_connect(const struct se_engine_ctx *ctx, int fd, int domain,
		     const struct sockaddr *sa, socklen_t len)
{
	sigset_t old;
	struct se_addr a;
	struct watched *e;
	struct pollfd pfd;
	unsigned lvl;
	bool transparent;
	int err, rc, saved = errno;

	transparent = ctx->settings->transparent && ctx->settings->policy != SE_POLICY_KERNEL;
	/* The slot for fd's entry is made here, where the program's thread
	 * may allocate. */
	if (!se_fdtab_make(fd) || se_addr_from_sockaddr(&a, sa, len) < 0 ||
	    (!transparent && !ends_early(ctx, &a, sa)))
		return se_sys.connect(fd, sa, len);
	lvl = se_recverr_level(domain, a.family);
	/* A program that reads the error queue itself keeps it to itself. */
	if (ctx->program_may_use_recverr && se_recverr_get(fd, lvl) != 0) {
		errno = saved;
		return se_sys.connect(fd, sa, len);
	}
	if (se_recverr_set(fd, lvl, 1) < 0) {
		errno = saved;
		return se_sys.connect(fd, sa, len);
	}
	rc = se_sys.connect(fd, sa, len);
	if (rc == 0 || errno != EINPROGRESS) {
		err = rc == 0 ? saved : errno;
		se_recverr_set(fd, lvl, 0);
		errno = err;
		return rc;
	}
	/* Healthy and near: often connected already. */
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) == POLLOUT) {
		se_recverr_set(fd, lvl, 0);
		errno = EINPROGRESS;
		return -1;
	}

	e = calloc(1, sizeof(*e));
	take(&old);
	if (!e || ensure_thread() < 0)
		goto kernel;
	/* An entry left on the number is of a socket closed behind the
	 * wrappers' back: let go of without touching the number, which holds
	 * the program's new socket. */
	if (tab(fd))
		forget_locked(fd, false);
	if (transparent && take_over(ctx, e, fd, domain, sa, len, lvl)) {
		wake_after(&old);
		errno = EINPROGRESS;
		return -1;
	}
	/* The visible mode: transparent off (the policy ends attempts early,
	 * or this connect() would not be here), or no room for a run. The
	 * name memory's lock comes after the watcher's, as in the thread. */
	if ((transparent && !ends_early(ctx, &a, sa)) ||
	    (ctx->settings->log.to && !(e->line = malloc(sizeof(*e->line)))))
		goto kernel;
	if (e->line)
		se_line_init(e->line);
	e->fd = fd;
	if (know_file(e) < 0)
		goto kernel;
	e->state = PENDING;
	e->lvl_ours = lvl;
	e->s = ctx->settings;
	e->addr = a;
	e->port = ((const struct sockaddr_in *)sa)->sin_port;
	e->t0_us = se_now_us();
	e->t0 = e->t0_us / 1000;	/* what se_now_ms() says now */
	e->hist = ctx->history && ctx->history->enabled ? ctx->history : NULL;
	note(e, "sent");
	ev_io_init(&e->io, io_cb, fd, EV_WRITE);
	e->io.data = e;
	ev_timer_init(&e->timer, timer_cb, ctx->settings->establish_timeout_ms / 1000.0, 0.);
	e->timer.data = e;
	tab_set(fd, e);
	mark(fd, HAS_ENTRY);
	/* An error queued before the thread looks is found by its first poll. */
	ev_io_start(loop, &e->io);
	ev_timer_start(loop, &e->timer);
	wake_after(&old);
	errno = EINPROGRESS;
	return -1;

kernel:
	/* Nobody to watch it, or nothing to watch for: the kernel's way. */
	give(&old);
	if (e)
		free(e->line);
	free(e);
	se_recverr_set(fd, lvl, 0);
	errno = EINPROGRESS;
	return -1;
}

/* The number fd no longer holds what the library knew there: its entry
 * goes on the gone list for the thread and its registrations are
 * forgotten (with the lock held). Returns whether the thread is to be
 * woken. Only what must happen before the number can be used again happens
 * here: close() may come from a signal handler, where libev (which
 * allocates) and free() must not be called. The thread ends the attempt
 * (bury_gone()). */
static bool forget_locked(int fd, bool regs_too)
{
	bool wake_thread = false;

	if (tab(fd)) {
		struct watched *e = tab(fd);

		tab_set(fd, NULL);
		unmark(fd, HAS_ENTRY);
		e->gone = true;
		e->next_gone = gone;
		gone = e;
		wake_thread = true;
	}
	if (regs_too)
		regs_forget(fd);
	return (wake_thread || graves) && loop && loop_pid == getpid();
}

/* give(), errno kept. */
static void give_keep_errno(const sigset_t *old)
{
	int err = errno;

	give(old);
	errno = err;
}

/* Gives the lock back, waking the thread if woken says so. */
static void give_wake(const sigset_t *old, bool woken)
{
	if (woken)
		wake_after(old);
	else
		give(old);
}

void se_watch_forget(int fd)
{
	sigset_t old;

	if (!se_watch_known(fd))
		return;
	take(&old);
	give_wake(&old, forget_locked(fd, true));
}

void se_watch_forget_range(unsigned lo, unsigned hi)
{
	unsigned fd;

	for (fd = lo; fd <= hi && fd < se_fdtab_end(); fd++)
		if (se_watch_known((int)fd))
			se_watch_forget((int)fd);
}

/* The entry of fd, if the file it answers for is still on the number (with
 * the lock held). One that is not (the program closed the number in a way
 * the wrappers do not see, and may have put another file there) is
 * forgotten, *woken set: the call goes to the kernel, as without softerr. */
static struct watched *entry(int fd, bool *woken)
{
	struct watched *e = tab(fd);

	if (e && !still_there(e)) {
		*woken = forget_locked(fd, true) || *woken;
		return NULL;
	}
	return e;
}

bool se_watch_sockopt(int fd, bool set, int level, int name, void *val,
		      socklen_t *len, int *rc)
{
	sigset_t old;
	bool so_error = !set && level == SOL_SOCKET && name == SO_ERROR &&
			val && *len >= sizeof(int);
	bool answered = true, woken = false;
	struct watched *e;

	take(&old);
	e = entry(fd, &woken);
	if (e && e->state == PENDING && so_error)
		examine(e);	/* the program may be quicker than the thread */
	e = tab(fd);
	if (e && e->state == RUNNING) {
		if (set) {
			*rc = se_sys.setsockopt(e->orig, level, name, val, *len);
			if (*rc == 0) {
				se_sockrec_setsockopt(fd, level, name, val, *len);
				if (e->run)	/* else decided: orig is all */
					se_run_setsockopt(e->run, level, name, val, *len);
			}
		} else if (so_error) {
			/* Still connecting: no error yet. */
			memset(val, 0, sizeof(int));
			*len = sizeof(int);
			*rc = 0;
		} else {
			*rc = se_sys.getsockopt(e->orig, level, name, val, len);
		}
	} else if (e && so_error) {
		*rc = se_sys.getsockopt(fd, level, name, val, len);
		if (*rc == 0 && e->state == VISIBLE && !e->delivered) {
			/* Instead of the ECONNRESET the cancel left. */
			memcpy(val, &e->visible_err, sizeof(int));
			e->delivered = true;
		}
	} else {
		answered = false;
	}
	give_wake(&old, woken);
	return answered;
}

bool se_watch_name(int fd, bool peer, struct sockaddr *sa, socklen_t *len, int *rc)
{
	sigset_t old;
	struct watched *e;
	bool answered = false, woken = false;

	take(&old);
	e = entry(fd, &woken);
	if (e && e->state == RUNNING) {
		answered = true;
		*rc = (peer ? se_sys.getpeername : se_sys.getsockname)(e->orig, sa, len);
	}
	give_wake(&old, woken);
	return answered;
}

/* The program ends the attempt on fd itself (shutdown(), or connect() to
 * AF_UNSPEC): without softerr the number holds the socket whose attempt it
 * ends, so it gets it back, as the run left it, and answer(fd, arg) (the
 * kernel's call on it) is the answer. The run does nothing more with it.
 * Returns false (nothing done) unless a transparent run holds fd. */
static bool give_back(int fd, int (*answer)(int fd, const void *arg),
		      const void *arg, int *rc)
{
	sigset_t old;
	struct watched *e;
	bool answered = false, woken = false;
	int err = 0;

	take(&old);
	e = entry(fd, &woken);
	if (e && e->state == RUNNING && se_owns(e->orig)) {
		if (e->run)
			se_run_hold(e->run);
		carry_flags(e);
		put_in_place(e->orig, fd);
		*rc = answer(fd, arg);
		err = errno;
		answered = true;
		/* The program's now: the thread ends the run and closes the
		 * private number after its next poll (place_cb()), a decided
		 * run's too. The records of its epoll registrations stay, as
		 * for a socket not yet connected: it may connect again.
		 * Nothing here frees or calls libev: a signal handler may shut
		 * a socket down. */
		tab_set(fd, NULL);
		unmark(fd, HAS_ENTRY);
		e->shut = true;
		queue_place(e);
		woken = true;
	}
	give_wake(&old, woken);
	if (answered)
		errno = err;
	return answered;
}

static int shut_answer(int fd, const void *arg)
{
	return se_sys.shutdown(fd, *(const int *)arg);
}

bool se_watch_shut(int fd, int how, int *rc)
{
	return give_back(fd, shut_answer, &how, rc);
}

static int unspec_answer(int fd, const void *arg)
{
	const struct sockaddr sa = { .sa_family = AF_UNSPEC };

	(void)arg;
	return se_sys.connect(fd, &sa, sizeof(sa));
}

bool se_watch_dissolve(int fd, int *rc)
{
	return give_back(fd, unspec_answer, NULL, rc);
}

bool se_watch_connect_again(int fd, int *rc)
{
	sigset_t old;
	struct watched *e;
	bool answered = false, woken = false;
	int err = 0;

	take(&old);
	e = entry(fd, &woken);
	if (e && e->state == RUNNING) {
		/* Still connecting, as the kernel says. */
		give(&old);
		*rc = -1;
		errno = EALREADY;
		return true;
	}
	if (e && e->state == PENDING)
		examine(e);
	e = tab(fd);
	if (e && e->state == VISIBLE) {
		/* The kernel's second connect() after a failed attempt: the
		 * error once, or ECONNABORTED if SO_ERROR took it; the socket
		 * can then connect anew. */
		err = e->delivered ? ECONNABORTED : e->visible_err;
		se_sock_error(fd);
		drop(e);
		answered = true;
	}
	give_wake(&old, woken);
	if (answered) {
		*rc = -1;
		errno = err;
	}
	return answered;
}

/* The program puts a file of its own on fd, a number a transparent run
 * holds (the program's socket kept privately, the stand-in's other end, an
 * attempt's socket): before the number changes, the run ends (its private
 * sockets closed; the program's socket left as the kernel has it), the
 * program's socket goes back on the program's number, and the entry is
 * let go of. That connect is the kernel's from now on, as without softerr;
 * nothing of the loop is left on the number (libev would act on it and
 * find the program's file there). With the lock held. */
static void hand_back_holder(int fd)
{
	unsigned n;

	for (n = 0; n < se_fdtab_end(); n++) {
		struct watched *e = tab((int)n);

		if (!e || e->state != RUNNING ||
		    !(e->orig == fd || e->wake == fd || (e->run && se_run_holds(e->run, fd))))
			continue;
		if (e->run) {
			se_run_cancel(e->run, "the program put a file of its own on a number of the run's");
			free(e->run);
			e->run = NULL;
		} else if (e->placing) {
			unplace(e);
		}
		if (still_there(e) && se_owns(e->orig))
			put_in_place(e->orig, e->fd);
		end_run(e);
		regs_drop(e->fd);
		drop(e);
		return;
	}
}

int se_watch_own_dup(int oldfd, int newfd, int flags, bool is_dup2)
{
	struct timespec pause = { 0, 200000 };
	sigset_t old;
	int rc, i;

	take(&old);
	if (loop && loop_pid == getpid() && !dead)
		hand_back_holder(newfd);
	/* The thread may be on its way to epoll_wait() on that number (past
	 * its look at the canary): it is woken, and gives up the loop before
	 * the number changes (at most a second: then the call goes on). The
	 * epoll instance is known by the wake-up pipe registered in it:
	 * losing either end of the pipe is losing the loop too. */
	if ((newfd == backend_fd || newfd == wake_fd[0] || newfd == wake_fd[1]) &&
	    loop && loop_pid == getpid() && !dead) {
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
	se_disown(newfd);
	while (__atomic_load_n(&poking, __ATOMIC_ACQUIRE))
		sched_yield();
	rc = is_dup2 ? se_sys.dup3(oldfd, newfd, 0) : se_sys.dup3(oldfd, newfd, flags);
	give_keep_errno(&old);
	return rc;
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
	if (gone_ep >= 0)
		se_close_own(gone_ep);
	gone_ep = -1;
	se_close_own(wake_fd[0]);
	se_close_own(wake_fd[1]);
	wake_fd[0] = wake_fd[1] = -1;
}

/* In the child after fork(): the program's own socket (the child's copy)
 * goes on e's number in place of the stand-in. dup3() alone: the epoll
 * instances are the parent's too, and their registrations stay as they
 * are. */
static void child_takes_socket(struct watched *e)
{
	if (!still_there(e) || !se_owns(e->orig))
		return;
	carry_flags(e);
	dup_onto(e->orig, e->fd);
}

/* The signal mask of the thread that forks, while it holds the lock. */
static sigset_t fork_mask;

void se_watch_fork_prepare(void)
{
	take(&fork_mask);
}

void se_watch_fork_parent(void)
{
	give(&fork_mask);
}

void se_watch_fork_child(void)
{
	struct watched *h, *next;
	unsigned fd;

	/* The sockets are the parent's too, and its thread watches them:
	 * forget them here without touching them. The loop's descriptors are
	 * this process's copies: closing them leaves the parent's alone. */
	for (h = placing; h; h = next) {
		/* Given back by shutdown(): on the placing list only. */
		next = h->next_place;
		if (!h->shut)
			continue;
		if (h->run)
			se_run_forget(h->run);
		close_run_fds(h);
		free(h->line);
		free(h);
	}
	for (fd = 0; fd < se_fdtab_end(); fd++) {
		struct se_fdslot *sl = se_fdtab_get((int)fd);

		if (sl && (sl->has & HAS_ENTRY)) {
			struct watched *e = sl->entry;

			if (e->state == RUNNING) {
				/* No loop here to put the run's winner on the
				 * number: the child gets the program's own
				 * socket there instead of the stand-in, the
				 * kernel's attempt as without softerr (or, the
				 * run decided, what it left: connected, or
				 * reset). Then this process's copies of the
				 * run's descriptors go. */
				child_takes_socket(e);
				if (e->run)
					se_run_forget(e->run);
				close_run_fds(e);
			}
			free(e->line);
			free(e);
			sl->entry = NULL;
		}
		if (sl)
			sl->has &= (unsigned char)~HAS_ENTRY;
	}
	while (gone) {
		struct watched *e = gone;

		gone = e->next_gone;
		if (e->run)
			se_run_forget(e->run);
		if (e->run || e->placing)
			close_run_fds(e);
		free(e->line);
		free(e);
	}
	placing = NULL;		/* freed above, from tab, gone or handed */
	destroy_loop();
	loop_pid = 0;
	free_graves();
	pthread_mutex_init(&lock, NULL);
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

void se_watch_shutdown(void)
{
	struct timespec until;

	if (!loop || dead || loop_pid != getpid() || pthread_mutex_trylock(&lock) != 0)
		return;
	stopping = true;
	poke(wake_fd[1]);
	pthread_mutex_unlock(&lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_timedjoin_np(thread, NULL, &until) == 0)
		destroy_loop();
}
