/* The library's own descriptors, known by their files: a number closed
 * behind the library's back and reused is never taken for its own. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/ownfd.h"
#include "core/sys.h"
#include "suites.h"

static void setup(void)
{
	ck_assert_int_eq(se_sys_init(), 0);
}

/* A new pipe whose read end is on number at. */
static int pipe_on(int at, int *other)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	if (p[0] != at) {
		ck_assert_int_eq(dup2(p[0], at), at);
		close(p[0]);
	}
	*other = p[1];
	return at;
}

START_TEST(owned_until_disowned)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert(!se_owns(p[0]));
	ck_assert(!se_owns_any((unsigned)p[0], (unsigned)p[0]));
	se_own(p[0]);
	errno = 1234;
	ck_assert(se_owns(p[0]));
	ck_assert_int_eq(errno, 1234);
	ck_assert(se_owns_any(0, ~0U));
	ck_assert(!se_owns(p[1]));
	se_disown(p[0]);
	ck_assert(!se_owns(p[0]));
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Closed with the raw system call (as libuv does) and the number reused:
 * the program's file, not the library's; se_close_own() leaves it open. */
START_TEST(reused_number_is_not_ours)
{
	int p[2], other, fd;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	se_own(p[0]);
	fd = p[0];
	ck_assert_int_eq(syscall(SYS_close, fd), 0);
	pipe_on(fd, &other);
	ck_assert(!se_owns(fd));
	se_own(fd);		/* recorded anew ... */
	ck_assert(se_owns(fd));
	close(other);
	ck_assert_int_eq(syscall(SYS_close, fd), 0);
	pipe_on(fd, &other);	/* ... and replaced again */
	se_close_own(fd);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);	/* still open */
	close(fd);
	close(other);
	close(p[1]);
}
END_TEST

/* Every epoll instance has the same inode: one is known by a descriptor
 * registered in it, and another epoll instance on the number is not it
 * (nor does the question leave the probe registered there). */
START_TEST(epoll_known_by_its_probe)
{
	struct epoll_event ev = { .events = 0 };
	int p[2], ep, ep2;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), 0);
	se_own_epoll(ep, p[1]);
	ck_assert(se_owns(ep));
	ck_assert(se_owns(ep));		/* asking changes nothing */
	ck_assert_int_eq(syscall(SYS_close, ep), 0);
	ep2 = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_eq(ep2, ep);	/* the lowest free number */
	ck_assert(!se_owns(ep2));
	/* The probe was not left in the program's instance. */
	ck_assert_int_eq(epoll_ctl(ep2, EPOLL_CTL_DEL, p[1], NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(ep2);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The highest number this process may have (the soft limit raised to the
 * hard one): recorded, spared, found by se_own_next(), as any other. The
 * table has no cap of its own (check_fdtab.c goes past 2^20); a real
 * descriptor above 65536 needs a hard limit that high (CAP_SYS_RESOURCE
 * to raise it). */
START_TEST(as_high_as_the_limit)
{
	struct rlimit rl;
	int p[2], top;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max > 1 << 24 ? 1 << 24 : rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	top = (int)rl.rlim_cur - 1;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(dup2(p[0], top), top);
	ck_assert(!se_owns_any(0, ~0U));
	se_own(top);
	ck_assert(se_owns(top));
	ck_assert_int_eq(se_own_next(0, ~0U), top);
	ck_assert_int_eq(se_own_next(0, (unsigned)top - 1), -1);
	se_close_own(top);
	ck_assert_int_eq(fcntl(top, F_GETFD), -1);
	ck_assert(!se_owns(top));
	ck_assert(!se_owns(-1));
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The library's descriptors go out of the program's way: from FD_SETSIZE
 * up when the limit leaves room, else the top eighth under the limit; the
 * lowest free number stays the program's. */
START_TEST(moved_out_of_the_way)
{
	struct rlimit rl, saved_rl;
	int p[2], fd, base;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_rl), 0);
	rl = saved_rl;
	if (rl.rlim_max >= 4096) {
		rl.rlim_cur = 4096;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
		ck_assert_int_eq(se_own_base(), FD_SETSIZE);
	}
	rl.rlim_cur = 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	base = se_own_base();
	ck_assert_int_eq(base, 1024 - 128);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	errno = 1234;
	fd = se_own_move(p[0]);
	ck_assert_int_eq(errno, 1234);
	ck_assert_int_ge(fd, base);
	ck_assert_int_lt(fd, 1024);
	ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);	/* the low number is free */
	ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
	/* No number free up there: it stays (a limit just above it puts the
	 * base there too). */
	close(fd);
	fd = -1;
	rl.rlim_cur = (rlim_t)p[1] + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(se_own_move(p[1]), p[1]);
	close(p[1]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_rl), 0);
}
END_TEST

/* Whether the program shares a library with softerr: read from the objects'
 * needed lists. This test program needs libev itself (the engine is linked
 * in): as the caller's own object, it does not count. */
START_TEST(other_objects_needs)
{
	const void *self = (const void *)se_other_object_needs;

	/* libev (and every other library) needs the C library. */
	ck_assert(se_other_object_needs("libc.so.6", self));
	/* Nothing but this program needs libev. */
	ck_assert(!se_other_object_needs("libev.so", self));
	ck_assert(!se_other_object_needs("libno-such-library.so", self));
}
END_TEST

Suite *ownfd_suite(void)
{
	Suite *s = suite_create("ownfd");
	TCase *tc = tcase_create("identity");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, owned_until_disowned);
	tcase_add_test(tc, reused_number_is_not_ours);
	tcase_add_test(tc, epoll_known_by_its_probe);
	tcase_add_test(tc, as_high_as_the_limit);
	tcase_add_test(tc, moved_out_of_the_way);
	tcase_add_test(tc, other_objects_needs);
	suite_add_tcase(s, tc);
	return s;
}
