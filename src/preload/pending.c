/* The answers for a pending descriptor, and the visible mode (pending.h).
 *
 * Each watched number has an entry (entry.h) in its slot of the descriptor
 * table (core/fdtab.h), read and written under the loop's lock
 * (core/loop.h); what is known of the number without the lock is in
 * known.h. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "core/errq.h"
#include "core/fdtab.h"
#include "core/history.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/ownfd.h"
#include "core/runtime.h"
#include "core/policy.h"
#include "core/sockrec.h"
#include "core/sys.h"
#include "entry.h"
#include "epmirror.h"
#include "known.h"
#include "pending.h"

/* Entries whose number the program closed, for the thread to end, and
 * how many. Those of runs the thread had not looked at yet need it only
 * to free their memory: the program's thread does not wake it for them,
 * but sets the alarm GONE_DELAY_MS ahead, unless GONE_BATCH wait. */
static struct se_pending *gone;
static unsigned gone_n;
#define GONE_BATCH 32
#define GONE_DELAY_MS 100

/* The visible mode's registrations (se_loop_watch_fd()) carry this bit,
 * the entry's gen and its number; standin.c's have the bit clear. */
#define VISIBLE_EVENT ((uint64_t)1 << 63)
static uint32_t gens;

struct se_pending *se_entry_get(int num)
{
	struct se_fdslot *sl = se_fdtab_get(num);

	return sl ? sl->entry : NULL;
}

/* num has a slot when e is set (se_watch_connect() made it). */
void se_entry_set(int num, struct se_pending *e)
{
	struct se_fdslot *sl = se_fdtab_get(num);

	if (!sl)
		return;
	sl->entry = e;
	if (e)
		se_known_mark(num, SE_KNOWN_ENTRY);
	else
		se_known_unmark(num, SE_KNOWN_ENTRY);
}

/* --- Entries ------------------------------------------------------------- */

int se_entry_know_file(struct se_pending *e)
{
	struct stat st;

	if (fstat(e->num, &st) < 0)
		return -1;
	e->st_dev = st.st_dev;
	e->st_ino = st.st_ino;
	return 0;
}

bool se_entry_still_there(const struct se_pending *e)
{
	struct stat st;
	int saved = errno;
	bool there = fstat(e->num, &st) == 0 && st.st_dev == e->st_dev &&
		     st.st_ino == e->st_ino;

	errno = saved;
	return there;
}

static uint64_t visible_data(const struct se_pending *e)
{
	return VISIBLE_EVENT | (uint64_t)(e->gen & 0x7fffffffu) << 32 | (uint32_t)e->num;
}

/* Stops watching e's socket while the number still holds e's file. One
 * left on a file the program closed behind the wrappers' back goes with
 * the file, or fires once and is told from a later entry's on the same
 * number by its gen. */
static void unwatch(struct se_pending *e)
{
	if (e->state == PENDING && se_entry_get(e->num) == e && se_entry_still_there(e))
		se_loop_unwatch_fd(e->num);
}

void se_entry_drop(struct se_pending *e)
{
	unwatch(e);
	/* Its number only while it is still e's (not another attempt's). */
	if (se_entry_get(e->num) == e)
		se_entry_set(e->num, NULL);
	free(e);
}

/* The engine decided e's visible run (core/engine.h's se_run_done_fn):
 * connected, or left to the kernel, the socket is the program's alone;
 * ended by the policy (the socket cancelled: the program's poll() wakes),
 * SO_ERROR or a second connect() hands the program err. */
static void visible_done(struct se_run *run, void *arg, bool connected, int err,
			 int winner)
{
	struct se_pending *e = arg;

	(void)run;
	(void)winner;
	e->run = NULL;
	if (e->gone)
		return;		/* bury_gone() frees it */
	if (connected || !err) {
		se_entry_drop(e);
		return;
	}
	unwatch(e);
	e->state = VISIBLE;
	e->visible_err = err;
}

/* The thread ends what the program let go of (se_watch_forget()), without
 * touching the numbers, which may hold something else by now. */
static void bury_gone(void)
{
	gone_n = 0;
	while (gone) {
		struct se_pending *e = gone;

		gone = e->next_gone;
		if (e->run) {
			/* Given up on by the program (its own timeout, or
			 * another address won): what was silent long enough
			 * teaches the history "no answer". */
			se_run_cancel(e->run, "closed by the program");
			se_run_free(e->run);
			e->run = NULL;
			if (e->state == RUNNING)
				se_standin_end_run(e);
		} else if (e->placing) {
			se_standin_unplace(e);
			se_standin_end_run(e);
		}
		free(e);
	}
}

bool se_entry_current(struct se_pending *e)
{
	if (e->gone)
		return false;
	if (se_entry_still_there(e))
		return true;
	se_entry_forget(e->num, false);
	bury_gone();
	return false;
}

/* An event of a registration (core/loop.h's fd_event): a stand-in's
 * reader gone, or a visible attempt's socket ready or in error. */
static void fd_event(uint64_t data)
{
	int num = (int)(uint32_t)data;
	struct se_pending *e;

	if (!(data & VISIBLE_EVENT)) {
		se_standin_reader_gone(data);
		return;
	}
	e = se_entry_get(num);
	if (!e || e->state != PENDING || !e->run || visible_data(e) != data ||
	    !se_entry_current(e))
		return;
	se_run_poke(e->run);
	/* Still pending (only errors the rules ignore): asked again. */
	e = se_entry_get(num);
	if (e && e->state == PENDING && visible_data(e) == data)
		se_loop_rearm_fd(num, EPOLLOUT, data);
}

/* --- The loop's turns ---------------------------------------------------- */

static void woken(void)
{
	se_standin_resume();	/* first: the gone list's entries are freed next */
	bury_gone();
	se_standin_arm();	/* for runs given back by shutdown() */
}

/* The loop stands aside (core/loop.h): every attempt goes back to the
 * kernel as it is, the program's socket back on its number where the
 * stand-in still is. */
static void abandoned(void)
{
	unsigned num;

	for (num = 0; num < se_fdtab_end(); num++) {
		struct se_pending *e = se_entry_get((int)num);

		if (!e)
			continue;
		if (e->state == RUNNING)
			se_standin_give_up(e);
		else if (e->state == PENDING && e->run && se_entry_still_there(e))
			se_run_hold(e->run);	/* the error queue as it was */
		se_entry_set((int)num, NULL);
	}
}

/* Nothing for the loop to do: no entry on any number, none to end. */
static bool idle(void)
{
	unsigned num;

	if (gone || se_standin_placing())
		return false;
	for (num = 0; num < se_fdtab_end(); num++)
		if (se_entry_get((int)num))
			return false;
	return true;
}

/* The thread's records of what each attempt did, and its log lines, wait
 * for the lock to be let go: the shared history file's flock() may wait
 * on another process, a log line on a full pipe (history.h, log.h). */
static void thread_begins(void)
{
	se_history_defer_here(true);
	se_log_defer_here(true);
}

static void unlocked(void)
{
	se_history_flush(&se_history);
	se_log_flush();
}

static const struct se_loop_hooks hooks = {
	.thread_begins = thread_begins,
	.unlocked = unlocked,
	.idle = idle,
	.started = se_standin_started,
	.woken = woken,
	.fd_event = fd_event,
	.keep_lock = se_standin_placing,
	.abandon = abandoned,
};

/* --- What the wrappers call ---------------------------------------------- */

/* The loop's lock, taken by a program's thread (never the loop's, which
 * holds it) for a call that may end an attempt: the history's record and
 * the log line it makes wait for the lock to be let go, as the thread's
 * own do (core/loop.h's order: no program thread waits behind another
 * process's flock() or a full pipe for want of this lock), and are
 * written by give_deferred(). */
static void take_deferred(sigset_t *old)
{
	se_loop_take(old);
	se_history_defer_here(true);
	se_log_defer_here(true);
}

/* Gives the lock back (waking the thread if wake says so), then writes
 * what waited. errno is kept. */
static void give_deferred(const sigset_t *old, bool wake)
{
	int err = errno;

	se_history_defer_here(false);
	se_log_defer_here(false);
	se_loop_give_wake(old, wake);
	se_history_flush(&se_history);
	se_log_flush();
	errno = err;
}

/* Does the policy end an attempt to a on the first soft error? */
static bool ends_early(const struct se_engine_ctx *ctx, const struct se_addr *a,
		       const void *key)
{
	struct se_candidates c;

	if (!se_policy_may_persist(ctx->settings) || !ctx->names)
		return se_policy_ends_early(ctx->settings, false);
	/* An alternative: the name has another address to try, or the
	 * program may have one the library did not see it resolve. */
	se_names_candidates(ctx->names, a, key, se_now_ms(), &c);
	return se_policy_ends_early(ctx->settings,
				    (c.n > 1 && !c.persist_spent) ||
				    c.source == SE_CAND_SHARED || c.source == SE_CAND_NONE);
}

/* Watches e's attempt on num in the visible mode, a visible run of the
 * engine (the lock held, the thread running). Returns false when it
 * cannot: nothing changed. Else *wake says whether the thread must be
 * woken to see it. */
static bool watch_visible(const struct se_engine_ctx *ctx, struct se_pending *e,
			  int num, int domain, const struct sockaddr *sa,
			  socklen_t len, unsigned lvl, bool *wake)
{
	uint64_t at;

	e->num = num;
	if (se_entry_know_file(e) < 0 || !(e->run = se_run_new(ctx->settings, true)))
		return false;
	/* Registered now, while num is certainly the program's socket (the
	 * program may close it the moment connect() returns). An error
	 * queued already is reported at once. */
	e->gen = ++gens;
	if (se_loop_watch_fd(num, EPOLLOUT, visible_data(e)) < 0) {
		se_run_free(e->run);
		e->run = NULL;
		return false;
	}
	e->state = PENDING;
	se_entry_set(num, e);
	/* Not decided here: nothing has been looked at yet. */
	at = se_run_adopt(e->run, ctx, num, num, domain, sa, len, lvl,
			  visible_done, e);
	/* The loop takes it at once: the registration brings its events,
	 * the alarm its timer's. */
	se_run_resume(e->run, se_loop_get());
	*wake = se_loop_wake_at(at) < 0;
	return true;
}

/* The kernel's connect() of num to sa, with the error queue's level lvl
 * turned on for it. Returns true when it is pending and not connected at
 * once: there is something to watch. Else *rc (errno set) is the
 * program's answer, the error queue as the program had it. */
static bool kernel_connect(const struct se_engine_ctx *ctx, int num,
			   const struct sockaddr *sa, socklen_t len,
			   unsigned lvl, int *rc)
{
	struct pollfd pfd;
	int err, saved = errno;

	/* A program that reads the error queue itself keeps it to itself. */
	if ((ctx->program_may_use_recverr && se_recverr_get(num, lvl) != 0) ||
	    se_recverr_set(num, lvl, 1) < 0) {
		errno = saved;
		*rc = se_sys.connect(num, sa, len);
		return false;
	}
	*rc = se_sys.connect(num, sa, len);
	if (*rc == 0 || errno != EINPROGRESS) {
		err = *rc == 0 ? saved : errno;
		se_recverr_set(num, lvl, 0);
		errno = err;
		return false;
	}
	/* Healthy and near: often connected already. */
	pfd.fd = num;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) == POLLOUT) {
		se_recverr_set(num, lvl, 0);
		errno = EINPROGRESS;
		return false;
	}
	return true;
}

int se_watch_connect(const struct se_engine_ctx *ctx, int num, int domain,
		     const struct sockaddr *sa, socklen_t len)
{
	sigset_t old;
	struct se_addr a;
	struct se_pending *e;
	unsigned lvl;
	bool transparent, wake;
	int rc;

	transparent = ctx->settings->transparent && se_policy_acts(ctx->settings);
	/* The slot for num's entry is made here, where the program's thread
	 * may allocate. */
	if (!se_fdtab_make(num) || se_addr_from_sockaddr(&a, sa, len) < 0 ||
	    (!transparent && !ends_early(ctx, &a, sa)))
		return se_sys.connect(num, sa, len);
	lvl = se_recverr_level(domain, a.family);
	if (!kernel_connect(ctx, num, sa, len, lvl, &rc))
		return rc;

	e = calloc(1, sizeof(*e));
	take_deferred(&old);
	if (!e || se_loop_ensure(&hooks) < 0)
		goto kernel;
	/* An entry left on the number is of a socket closed behind the
	 * wrappers' back: let go of without touching the number, which holds
	 * the program's new socket. */
	if (se_entry_get(num))
		se_entry_forget(num, false);
	if (transparent && se_standin_take_over(ctx, e, num, domain, sa, len, lvl, &wake)) {
		give_deferred(&old, wake);
		errno = EINPROGRESS;
		return -1;
	}
	/* The visible mode: transparent off (the policy ends attempts early,
	 * or this connect() would not be here), or no room for a run. The
	 * name memory's lock comes after the loop's (core/loop.h). */
	if ((transparent && !ends_early(ctx, &a, sa)) ||
	    !watch_visible(ctx, e, num, domain, sa, len, lvl, &wake))
		goto kernel;
	give_deferred(&old, wake);
	errno = EINPROGRESS;
	return -1;

kernel:
	/* Nobody to watch it, or nothing to watch for: the kernel's way. */
	give_deferred(&old, false);
	free(e);
	se_recverr_set(num, lvl, 0);
	errno = EINPROGRESS;
	return -1;
}

/* The number num no longer holds what the watcher knew there: its entry
 * goes on the gone list for the thread and its registrations are
 * forgotten (regs_too). Returns whether the thread is to be woken. Only
 * what must happen before the number can be used again happens here:
 * close() may come from a signal handler, where libev (which allocates)
 * and free() must not be called. The thread ends the attempt
 * (bury_gone()). */
bool se_entry_forget(int num, bool regs_too)
{
	struct se_pending *e = se_entry_get(num);
	bool wake_thread = false;

	if (e) {
		se_entry_set(num, NULL);
		e->gone = true;
		e->next_gone = gone;
		gone = e;
		gone_n++;
		if (e->fresh) {
			/* Nothing of the run is in libev yet: its sockets go
			 * now (the program's attempt ends, as its close()
			 * ends it; the stand-in's other end first, whose
			 * registration goes with it, unheard), its memory
			 * when the thread next wakes, and the run does
			 * nothing meanwhile. */
			se_run_let_go(e->run);
			se_close_own(e->wake);
			se_close_own(e->orig);
			e->wake = e->orig = -1;
			e->fresh = false;
			wake_thread = gone_n >= GONE_BATCH ||
				      se_loop_wake_at(se_now_ms() + GONE_DELAY_MS) < 0;
		} else {
			wake_thread = true;
		}
	}
	if (regs_too)
		se_epmirror_forget(num);
	return (wake_thread || se_loop_has_graves()) && se_loop_here();
}

void se_watch_forget(int num)
{
	sigset_t old;

	if (!se_watch_known(num))
		return;
	se_loop_take(&old);
	se_loop_give_wake(&old, se_entry_forget(num, true));
}

void se_watch_forget_range(unsigned lo, unsigned hi)
{
	unsigned num;

	for (num = lo; num <= hi && num < se_fdtab_end(); num++)
		if (se_watch_known((int)num))
			se_watch_forget((int)num);
}

struct se_pending *se_entry_find(int num, bool *woken)
{
	struct se_pending *e = se_entry_get(num);

	if (e && !se_entry_still_there(e)) {
		*woken = se_entry_forget(num, true) || *woken;
		return NULL;
	}
	return e;
}

bool se_watch_sockopt(int num, bool set, int level, int name, void *val,
		      socklen_t *len, int *rc)
{
	sigset_t old;
	bool so_error = !set && level == SOL_SOCKET && name == SO_ERROR &&
			val && *len >= sizeof(int);
	bool answered = true, woken = false;
	struct se_pending *e;

	take_deferred(&old);
	e = se_entry_find(num, &woken);
	if (e && e->state == PENDING && e->run && so_error)
		se_run_poke(e->run);	/* the program may be quicker than the thread */
	e = se_entry_get(num);
	if (e && e->state == RUNNING) {
		if (set) {
			*rc = se_sys.setsockopt(e->orig, level, name, val, *len);
			if (*rc == 0) {
				se_sockrec_setsockopt(num, level, name, val, *len);
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
		*rc = se_sys.getsockopt(num, level, name, val, len);
		if (*rc == 0 && e->state == VISIBLE && !e->delivered) {
			/* Instead of the ECONNRESET the cancel left. */
			memcpy(val, &e->visible_err, sizeof(int));
			e->delivered = true;
		}
	} else {
		answered = false;
	}
	give_deferred(&old, woken);
	return answered;
}

bool se_watch_name(int num, bool peer, struct sockaddr *sa, socklen_t *len, int *rc)
{
	sigset_t old;
	struct se_pending *e;
	bool answered = false, woken = false;

	se_loop_take(&old);
	e = se_entry_find(num, &woken);
	if (e && e->state == RUNNING) {
		answered = true;
		*rc = (peer ? se_sys.getpeername : se_sys.getsockname)(e->orig, sa, len);
	}
	se_loop_give_wake(&old, woken);
	return answered;
}

bool se_watch_connect_again(int num, int *rc)
{
	sigset_t old;
	struct se_pending *e;
	bool answered = false, woken = false;
	int err = 0;

	take_deferred(&old);
	e = se_entry_find(num, &woken);
	if (e && e->state == RUNNING) {
		/* Still connecting, as the kernel says. */
		give_deferred(&old, false);
		*rc = -1;
		errno = EALREADY;
		return true;
	}
	if (e && e->state == PENDING && e->run)
		se_run_poke(e->run);
	e = se_entry_get(num);
	if (e && e->state == VISIBLE) {
		/* The kernel's second connect() after a failed attempt: the
		 * error once, or ECONNABORTED if SO_ERROR took it; the socket
		 * can then connect anew. */
		err = e->delivered ? ECONNABORTED : e->visible_err;
		se_sock_error(num);
		se_entry_drop(e);
		answered = true;
	}
	give_deferred(&old, woken);
	if (answered) {
		*rc = -1;
		errno = err;
	}
	return answered;
}

int se_watch_own_dup(int oldfd, int newfd, int flags, bool is_dup2)
{
	sigset_t old;
	int rc;

	take_deferred(&old);
	if (se_loop_alive())
		se_standin_hand_back_holder(newfd);
	se_loop_let_go(newfd);
	rc = is_dup2 ? se_sys.dup3(oldfd, newfd, 0) : se_sys.dup3(oldfd, newfd, flags);
	give_deferred(&old, false);
	return rc;
}

/* --- fork() and exit ----------------------------------------------------- */

void se_watch_fork_prepare(void)
{
	se_loop_fork_prepare();
}

void se_watch_fork_parent(void)
{
	se_loop_fork_parent();
}

void se_watch_fork_child(void)
{
	unsigned num;

	/* The sockets are the parent's too, and its thread watches them:
	 * forget them here without touching them. */
	se_standin_fork_child();
	for (num = 0; num < se_fdtab_end(); num++) {
		struct se_fdslot *sl = se_fdtab_get((int)num);

		if (sl && (sl->has & SE_KNOWN_ENTRY)) {
			struct se_pending *e = sl->entry;

			if (e->state == RUNNING)
				se_standin_child(e);
			else if (e->run)
				se_run_forget(e->run);
			free(e);
			sl->entry = NULL;
		}
		if (sl)
			sl->has &= (unsigned char)~SE_KNOWN_ENTRY;
	}
	gone_n = 0;
	while (gone) {
		struct se_pending *e = gone;

		gone = e->next_gone;
		if (e->state == PENDING && e->run)
			se_run_forget(e->run);
		else if (e->run || e->placing)
			se_standin_forget_run(e);
		free(e);
	}
	se_loop_fork_child();
}

void se_watch_shutdown(void)
{
	se_loop_shutdown();
}
