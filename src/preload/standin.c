/* The transparent run: a stand-in on the program's number, the program's
 * socket under the engine's run on a private number (pending.h).
 *
 * The stand-in is the read end of a pipe whose write end the watcher
 * holds. Nothing makes it readable or writable, so every way of waiting
 * sleeps on it; the program's socket goes on, on a private number, under
 * the engine's run. The winner (or the failed socket) is put in its place
 * with dup3(), the program's epoll registrations are carried over
 * (epmirror.h), and closing the write end wakes every poll() and select()
 * sleeping on the stand-in: they look at the number again and find the
 * socket. shutdown() and fork() meanwhile put the program's own socket
 * back on the number (se_watch_shut(), se_watch_fork_child()). A pipe
 * rather than a socket that answers send() and recv() as a connecting one
 * would (EAGAIN): that costs 10 to 18 us more per pending connect, every
 * connect over a real network, for calls no program surveyed makes before
 * its socket is writable (libsofterr(7)).
 *
 * Everything here with the loop's lock held (core/loop.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "core/engine.h"
#include "core/fdtab.h"
#include "core/loop.h"
#include "core/ownfd.h"
#include "core/sys.h"
#include "entry.h"
#include "epmirror.h"
#include "known.h"
#include "pending.h"

static ev_timer placer;			/* puts decided runs in place */
static struct se_pending *placing;	/* ... these, linked by next_place */
/* The numbers of the runs begun since the thread last looked (fresh): the
 * thread takes them from this list, not from a walk of the whole table
 * (which it falls back on when the list could not grow). */
static int *fresh_nums;
static size_t fresh_len, fresh_cap;
static bool fresh_lost;
#define FRESH_KEEP 4096		/* a larger list is freed once taken */

/* The data of the registration that tells once when no reader of e's
 * stand-in (on num) is left (se_standin_reader_gone()). It goes with the
 * write end when the run ends. */
static uint64_t reader_data(const struct se_pending *e, int num)
{
	return (uint64_t)(uint32_t)num | (uint64_t)(uint32_t)e->wake << 32;
}

void se_standin_reader_gone(uint64_t data)
{
	int num = (int)(uint32_t)data;
	int wake = (int)(uint32_t)(data >> 32);
	struct se_pending *e = se_entry_get(num);

	/* If its number no longer holds it, the program let go of the
	 * attempt behind the wrappers' back, and se_entry_current() ends the
	 * run as close() would have. A stand-in the run itself replaced (its
	 * outcome put in place) passes the check. */
	if (e && e->state == RUNNING && e->run && e->wake == wake)
		se_entry_current(e);
}

/* Puts the stand-in on num, the socket on a private number. Returns 0, or
 * -1 with nothing changed. */
static int stand_in(struct se_pending *e, int num)
{
	struct stat st;
	int p[2], orig;

	orig = se_own_dup(num);
	if (orig < 0 && (orig = fcntl(num, F_DUPFD_CLOEXEC, 0)) >= 0)
		se_own(orig);
	if (orig < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		se_close_own(orig);
		return -1;
	}
	/* One inode for both ends: the stand-in's, and the write end's
	 * record. */
	if (fstat(p[0], &st) < 0) {
		se_sys.close(p[0]);
		se_sys.close(p[1]);
		se_close_own(orig);
		return -1;
	}
	p[1] = se_own_move_as(p[1], &st);
	if (se_epmirror_put(p[0], num) < 0) {
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
	return 0;
}

/* The program's socket on orig goes back to its number: the nudge
 * registered on it at the connect goes first (one-shot, it may have fired
 * and be spent, but it would stay with the socket for its life). */
static void unnudge(struct se_pending *e)
{
	if (e->nudging)
		se_loop_unwatch_fd(e->orig);
	e->nudging = false;
}

/* This process's copies of e's run's descriptors go; only what is still
 * the library's: a number closed behind its back may hold a file of the
 * program's now. */
static void close_run_fds(struct se_pending *e)
{
	if (e->orig >= 0)
		se_close_own(e->orig);
	se_close_own(e->wake);
}

/* The run's descriptors go (closing the pipe's write end wakes every poll()
 * and select() sleeping on the stand-in, and a read() blocked there returns
 * 0). */
void se_standin_end_run(struct se_pending *e)
{
	close_run_fds(e);
	e->run = NULL;
}

/* What the program set with fcntl(F_SETFL) while the stand-in was on the
 * number, it set on the stand-in: e's socket gets it. */
static void carry_flags(struct se_pending *e)
{
	int fl = fcntl(e->num, F_GETFL);

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

void se_standin_unplace(struct se_pending *e)
{
	struct se_pending **p = &placing;

	while (*p && *p != e)
		p = &(*p)->next_place;
	if (*p)
		*p = e->next_place;
	e->placing = false;
}

bool se_standin_placing(void)
{
	return placing != NULL;
}

/* The decided run of e goes on the program's number: connected, or failed
 * with visible_err for the program to read. Every waiter wakes. */
static void place(struct se_pending *e)
{
	bool there = se_entry_still_there(e);

	if (!se_owns(e->orig)) {
		/* The socket was closed behind the library's back (its number
		 * may hold a file of the program's now): nothing is put in
		 * place, and the entry is let go of. */
		e->orig = -1;
		se_standin_end_run(e);
		se_entry_forget(e->num, false);
		return;
	}
	if (there) {
		carry_flags(e);
		unnudge(e);
		se_epmirror_put(e->orig, e->num);
	}
	se_standin_end_run(e);
	if (e->place_connected || !there) {
		/* A connected socket is the program's alone now. */
		se_epmirror_drop(e->num);
		se_entry_drop(e);
		return;
	}
	e->state = VISIBLE;
	if (se_entry_know_file(e) < 0) {
		se_epmirror_drop(e->num);
		se_entry_drop(e);
	}
}

static void place_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	unsigned now = ev_iteration(l);
	struct se_pending **p = &placing;

	while (*p) {
		struct se_pending *e = *p;

		if (e->shut && e->run) {
			/* Given back (se_watch_shut()): the held run ends now;
			 * the socket's private number after the next poll. */
			se_run_cancel(e->run, "shut down by the program");
			se_run_free(e->run);
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
			se_standin_end_run(e);
			free(e);
		} else if (e->gone) {
			se_standin_end_run(e);	/* the gone list frees it */
		} else {
			place(e);
		}
	}
	if (placing) {
		ev_timer_set(w, 0., 0.);
		ev_timer_start(l, w);
	}
}

/* e waits on the placing list for the loop's next poll (no memory, no
 * libev: se_watch_shut() may run in a signal handler). */
static void queue_place(struct se_pending *e)
{
	if (e->placing)
		return;
	e->placing = true;
	e->place_iteration = ev_iteration(se_loop_get());
	e->next_place = placing;
	placing = e;
}

void se_standin_started(void)
{
	ev_timer_init(&placer, place_cb, 0., 0.);
}

void se_standin_arm(void)
{
	struct ev_loop *loop = se_loop_get();

	if (placing && loop && !ev_is_active(&placer)) {
		ev_timer_set(&placer, 0., 0.);
		ev_timer_start(loop, &placer);
	}
}

/* The run is decided: the losing socket goes, and the one to put in place
 * waits for the loop's next poll (place()). */
static void run_done(struct se_run *run, void *arg, bool connected, int err,
		     int winner)
{
	struct se_pending *e = arg;

	if (winner >= 0) {
		/* The program's own socket lost: nothing else holds it (its
		 * nudge goes with it). */
		se_close_own(e->orig);
		e->orig = winner;
		e->nudging = false;
	}
	e->run = NULL;
	e->fresh = false;
	if (e->gone) {
		/* The program let go of the number: the socket is nobody's. */
		se_standin_end_run(e);
		return;
	}
	e->place_connected = connected;
	e->visible_err = err;
	queue_place(e);
	se_standin_arm();
}

/* May another transparent run start? Each holds two descriptors more than
 * the program's own (its socket, the stand-in's other end) and maybe private
 * sockets, within the library's budget (ownfd.h). */
static bool room_for_run(void)
{
	return se_own_room(2);
}

static void note_fresh(int num)
{
	if (fresh_len == fresh_cap) {
		size_t cap = fresh_cap ? 2 * fresh_cap : 64;
		int *n = realloc(fresh_nums, cap * sizeof(*n));

		if (!n) {
			fresh_lost = true;
			return;
		}
		fresh_nums = n;
		fresh_cap = cap;
	}
	fresh_nums[fresh_len++] = num;
}

bool se_standin_take_over(const struct se_engine_ctx *ctx, struct se_pending *e,
			  int num, int domain, const struct sockaddr *sa,
			  socklen_t len, unsigned lvl, bool *wake)
{
	struct se_loop_watch w[2];
	struct se_run *run;
	uint64_t when;
	int rc = -1;

	/* One read of the descriptor limit for the room and both copies. */
	se_own_limit_hold(true);
	if (room_for_run() && (run = se_run_new(ctx->settings, false)) &&
	    (rc = stand_in(e, num)) < 0)
		se_run_free(run);
	se_own_limit_hold(false);
	if (rc < 0)
		return false;
	e->num = num;
	e->state = RUNNING;
	e->run = run;
	e->fresh = true;
	note_fresh(num);
	se_entry_set(num, e);
	/* The thread hears when the stand-in loses its last reader (the
	 * program closed the number behind the wrappers' back), and an event
	 * on the socket nudges it (it then takes the run, se_standin_resume());
	 * the alarm rings when the run needs it anyway. */
	w[0] = (struct se_loop_watch){ e->wake, 0, reader_data(e, num) };
	w[1] = (struct se_loop_watch){ e->orig, EPOLLOUT, SE_LOOP_NUDGE };
	e->nudging = se_loop_watch_fds(w, 2) == 2;
	/* The run may be decided at once; run_done() then acts on e. */
	when = se_run_adopt(run, ctx, e->orig, num, domain, sa, len, lvl, run_done, e);
	/* Only a decided run, or one with private sockets already, wakes it
	 * now. */
	*wake = !e->fresh || when == 0 || !e->nudging || se_loop_wake_at(when) < 0;
	return true;
}

/* The thread takes num's run if it is still fresh (a number listed twice,
 * or whose run the program let go of, is passed over). */
static void resume(struct ev_loop *loop, int num)
{
	struct se_pending *e = se_entry_get(num);

	if (!e || !e->fresh)
		return;
	e->fresh = false;
	if (e->state != RUNNING || !e->run)
		return;
	if (!se_owns(e->orig)) {
		/* Its socket was closed behind the library's back since the
		 * connect (a raw close_range() over the library's numbers):
		 * libev never sees the number (it aborts on a closed one), and
		 * the run ends as if the program had closed its own (woken()
		 * buries it next). */
		se_entry_forget(num, false);
		return;
	}
	se_run_resume(e->run, loop);
}

void se_standin_resume(void)
{
	struct ev_loop *loop = se_loop_get();
	unsigned num;
	size_t i;

	if (fresh_lost)
		for (num = 0; num < se_fdtab_end(); num++)
			resume(loop, (int)num);
	else
		for (i = 0; i < fresh_len; i++)
			resume(loop, fresh_nums[i]);
	fresh_len = 0;
	fresh_lost = false;
	if (fresh_cap > FRESH_KEEP) {
		free(fresh_nums);
		fresh_nums = NULL;
		fresh_cap = 0;
	}
}

void se_standin_give_up(struct se_pending *e)
{
	if (se_entry_still_there(e) && se_owns(e->orig))
		se_epmirror_put(e->orig, e->num);
}

/* The program ends the attempt on num itself (shutdown(), or connect() to
 * AF_UNSPEC): without softerr the number holds the socket whose attempt it
 * ends, so it gets it back, as the run left it, and answer(num, arg) (the
 * kernel's call on it) is the answer. The run does nothing more with it.
 * Returns false (nothing done) unless a transparent run holds num. */
static bool give_back(int num, int (*answer)(int num, const void *arg),
		      const void *arg, int *rc)
{
	sigset_t old;
	struct se_pending *e;
	bool answered = false, woken = false;
	int err = 0;

	se_loop_take(&old);
	e = se_entry_find(num, &woken);
	if (e && e->state == RUNNING && se_owns(e->orig)) {
		if (e->run)
			se_run_hold(e->run);
		carry_flags(e);
		unnudge(e);
		se_epmirror_put(e->orig, num);
		*rc = answer(num, arg);
		err = errno;
		answered = true;
		/* The program's now: the thread ends the run and closes the
		 * private number after its next poll (place_cb()), a decided
		 * run's too. The records of its epoll registrations stay, as
		 * for a socket not yet connected: it may connect again.
		 * Nothing here frees or calls libev: a signal handler may shut
		 * a socket down. */
		se_entry_set(num, NULL);
		e->shut = true;
		queue_place(e);
		woken = true;
	}
	se_loop_give_wake(&old, woken);
	if (answered)
		errno = err;
	return answered;
}

static int shut_answer(int num, const void *arg)
{
	return se_sys.shutdown(num, *(const int *)arg);
}

bool se_watch_shut(int num, int how, int *rc)
{
	return give_back(num, shut_answer, &how, rc);
}

static int unspec_answer(int num, const void *arg)
{
	const struct sockaddr sa = { .sa_family = AF_UNSPEC };

	(void)arg;
	return se_sys.connect(num, &sa, sizeof(sa));
}

bool se_watch_dissolve(int num, int *rc)
{
	return give_back(num, unspec_answer, NULL, rc);
}

/* The program puts a file of its own on num, a number a transparent run
 * holds (the program's socket kept privately, the stand-in's other end, an
 * attempt's socket): before the number changes, the run ends (its private
 * sockets closed; the program's socket left as the kernel has it), the
 * program's socket goes back on the program's number, and the entry is
 * let go of. That connect is the kernel's from now on, as without softerr;
 * nothing of the loop is left on the number (libev would act on it and
 * find the program's file there). */
void se_standin_hand_back_holder(int num)
{
	unsigned n;

	for (n = 0; n < se_fdtab_end(); n++) {
		struct se_pending *e = se_entry_get((int)n);

		if (!e || e->state != RUNNING ||
		    !(e->orig == num || e->wake == num || (e->run && se_run_holds(e->run, num))))
			continue;
		if (e->run) {
			se_run_cancel(e->run, "the program put a file of its own on a number of the run's");
			se_run_free(e->run);
			e->run = NULL;
		} else if (e->placing) {
			se_standin_unplace(e);
		}
		se_standin_give_up(e);
		se_standin_end_run(e);
		se_epmirror_drop(e->num);
		se_entry_drop(e);
		return;
	}
}

void se_standin_forget_run(struct se_pending *e)
{
	if (e->run)
		se_run_forget(e->run);
	close_run_fds(e);
}

void se_standin_child(struct se_pending *e)
{
	/* No loop here to put the run's winner on the number: the child gets
	 * the program's own socket there instead of the stand-in, the
	 * kernel's attempt as without softerr (or, the run decided, what it
	 * left: connected, or reset). dup3() alone: the epoll instances are
	 * the parent's too, and their registrations stay as they are. Then
	 * this process's copies of the run's descriptors go. */
	if (se_entry_still_there(e) && se_owns(e->orig)) {
		carry_flags(e);
		se_dup_onto(e->orig, e->num);
	}
	se_standin_forget_run(e);
}

void se_standin_fork_child(void)
{
	struct se_pending *h, *next;

	for (h = placing; h; h = next) {
		/* Given back by shutdown(): on the placing list only. */
		next = h->next_place;
		if (!h->shut)
			continue;
		se_standin_forget_run(h);
		free(h);
	}
	placing = NULL;		/* the others are freed from the table or the gone list */
	fresh_len = 0;
	fresh_lost = false;
}
