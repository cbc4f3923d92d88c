/* The loop thread (core/loop.h): its lock, start, wake-up, reaper and stop,
 * without interposition. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/lazy.h"
#include "core/loop.h"
#include "core/sys.h"
#include "suites.h"

static unsigned started, woken;
static uint64_t woken_at;	/* se_now_ms() at the last wake-up */

static void on_started(void)
{
	__atomic_add_fetch(&started, 1, __ATOMIC_ACQ_REL);
}

static void on_woken(void)
{
	__atomic_store_n(&woken_at, se_now_ms(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&woken, 1, __ATOMIC_ACQ_REL);
}

static void on_fd_event(uint64_t data)
{
	(void)data;
}

static bool keep_lock(void)
{
	return false;
}

static bool idle(void)
{
	return true;
}

static void on_abandon(void)
{
}

static const struct se_loop_hooks hooks = {
	.started = on_started,
	.woken = on_woken,
	.fd_event = on_fd_event,
	.keep_lock = keep_lock,
	.idle = idle,
	.abandon = on_abandon,
};

/* Entries of a /proc/self directory. */
static int count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Waits (at most 3 s) until the directory dir has n entries. */
static bool back_to(const char *dir, int n)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 3000; i++) {
		if (count(dir) == n)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* Waits (at most 2 s) until *v is at least want. */
static bool reaches(unsigned *v, unsigned want)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 2000; i++) {
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

START_TEST(lock_keeps_mask_and_errno)
{
	sigset_t old, in, after;

	sigemptyset(&old);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	se_loop_take(&old);
	pthread_sigmask(SIG_SETMASK, NULL, &in);
	ck_assert(sigismember(&in, SIGINT) && sigismember(&in, SIGTERM));
	errno = EAGAIN;
	se_loop_give(&old);
	ck_assert_int_eq(errno, EAGAIN);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	ck_assert(!sigismember(&after, SIGINT) && !sigismember(&after, SIGTERM));
}
END_TEST

START_TEST(starts_wakes_reaps_stops)
{
	int tasks = count("/proc/self/task"), fds = count("/proc/self/fd");
	struct se_grave *g = malloc(sizeof(*g));
	sigset_t old;

	ck_assert(se_lazy_load_ev());
	ck_assert(!se_loop_here());
	se_loop_take(&old);
	ck_assert_int_eq(se_loop_ensure(&hooks), 0);
	ck_assert_int_eq(se_loop_ensure(&hooks), 0);	/* once */
	ck_assert(se_loop_alive());
	ck_assert_ptr_nonnull(se_loop_get());
	ck_assert(!se_loop_in_thread());
	/* A record let go of outside the thread waits for it. */
	ck_assert_ptr_nonnull(g);
	se_loop_bury(g);
	ck_assert(se_loop_has_graves());
	se_loop_give_wake(&old, true);
	ck_assert_uint_eq(started, 1);
	ck_assert_int_eq(count("/proc/self/task"), tasks + 1);
	ck_assert_int_ge(count("/proc/self/fd"), fds + 3);
	/* The wake-up reaches the thread, which frees what was buried. */
	ck_assert(reaches(&woken, 1));
	se_loop_take(&old);
	ck_assert(!se_loop_has_graves());
	se_loop_give(&old);

	/* Stopped, it leaves no thread and no descriptor behind... */
	se_loop_shutdown();
	ck_assert(!se_loop_here());
	ck_assert_int_eq(count("/proc/self/task"), tasks);
	ck_assert_int_eq(count("/proc/self/fd"), fds);
	/* ... and starts again on the next need. */
	se_loop_take(&old);
	ck_assert_int_eq(se_loop_ensure(&hooks), 0);
	se_loop_give_wake(&old, true);
	ck_assert_uint_eq(started, 2);
	ck_assert(reaches(&woken, 2));
	/* A wake-up is no stop: the thread goes on waiting. */
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	ck_assert_int_eq(count("/proc/self/task"), tasks + 1);
	se_loop_shutdown();
	ck_assert_int_eq(count("/proc/self/task"), tasks);
	ck_assert_int_eq(count("/proc/self/fd"), fds);
}
END_TEST

START_TEST(lets_go_when_idle)
{
	int tasks = count("/proc/self/task"), fds = count("/proc/self/fd");
	sigset_t old;
	int round;

	ck_assert(se_lazy_load_ev());
	se_loop_set_idle(200);
	for (round = 1; round <= 2; round++) {
		se_loop_take(&old);
		ck_assert_int_eq(se_loop_ensure(&hooks), 0);
		se_loop_give_wake(&old, true);
		ck_assert_int_eq(count("/proc/self/task"), tasks + 1);
		ck_assert_int_ge(count("/proc/self/fd"), fds + 3);
		/* Idle: the thread and its descriptors go by themselves... */
		ck_assert(back_to("/proc/self/task", tasks));
		ck_assert(back_to("/proc/self/fd", fds));
		se_loop_take(&old);
		ck_assert(!se_loop_here());
		se_loop_give(&old);
		/* ... and the next need starts it again. */
	}
	ck_assert_uint_eq(started, 2);
	se_loop_shutdown();	/* nothing left to stop */
	ck_assert_int_eq(count("/proc/self/task"), tasks);
}
END_TEST

/* A program's thread has the thread woken later, or by an event, without
 * waking it now: the alarm rings at the time asked (an earlier one is set
 * anew, a later one is left), a nudge's registration wakes it at its
 * event. */
START_TEST(alarm_and_nudge)
{
	struct timespec ms50 = { 0, 50000000 };
	uint64_t t0;
	unsigned w;
	sigset_t old;
	int p[2];

	ck_assert(se_lazy_load_ev());
	se_loop_take(&old);
	ck_assert_int_eq(se_loop_ensure(&hooks), 0);
	se_loop_give(&old);
	w = __atomic_load_n(&woken, __ATOMIC_ACQUIRE);

	se_loop_take(&old);
	t0 = se_now_ms();
	ck_assert_int_eq(se_loop_wake_at(t0 + 5000), 0);
	ck_assert_int_eq(se_loop_wake_at(t0 + 300), 0);		/* earlier: set anew */
	ck_assert_int_eq(se_loop_wake_at(t0 + 4000), 0);	/* later: left */
	ck_assert_int_eq(se_loop_wake_at(t0 - 1), -1);		/* past: the caller wakes it */
	se_loop_give(&old);
	nanosleep(&ms50, NULL);
	ck_assert_uint_eq(__atomic_load_n(&woken, __ATOMIC_ACQUIRE), w);
	ck_assert(reaches(&woken, w + 1));
	ck_assert_uint_ge(__atomic_load_n(&woken_at, __ATOMIC_RELAXED), t0 + 300);
	ck_assert_uint_lt(__atomic_load_n(&woken_at, __ATOMIC_RELAXED), t0 + 2000);
	w++;

	/* A nudge: the write end of an empty pipe is writable at once. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	se_loop_take(&old);
	ck_assert_int_eq(se_loop_watch_fd(p[1], EPOLLOUT, SE_LOOP_NUDGE), 0);
	se_loop_give(&old);
	ck_assert(reaches(&woken, w + 1));
	close(p[0]);
	close(p[1]);
	se_loop_shutdown();
}
END_TEST

START_TEST(not_the_thread)
{
	/* Outside the thread, nothing is the loop's to close or adopt. */
	ck_assert(!se_loop_in_thread());
	ck_assert(!se_loop_closes(0));
	ck_assert_int_eq(se_loop_epoll_made(-1), -1);
	ck_assert_int_eq(se_loop_epoll_made(1), 1);
}
END_TEST

Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("thread");

	tcase_add_test(tc, lock_keeps_mask_and_errno);
	tcase_add_test(tc, starts_wakes_reaps_stops);
	tcase_add_test(tc, lets_go_when_idle);
	tcase_add_test(tc, not_the_thread);
	tcase_add_test(tc, alarm_and_nudge);
	suite_add_tcase(s, tc);
	return s;
}
