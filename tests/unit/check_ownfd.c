/* The library's own descriptors, known by their files: a number closed
 * behind the library's back and reused is never taken for its own. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
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

START_TEST(past_the_table)
{
	se_own(SE_OWN_FDS + 5);
	ck_assert(!se_owns(SE_OWN_FDS + 5));
	ck_assert(!se_owns(-1));
	ck_assert(!se_owns_any(SE_OWN_FDS, ~0U));
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
	tcase_add_test(tc, past_the_table);
	suite_add_tcase(s, tc);
	return s;
}
