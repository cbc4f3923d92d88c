/* The engine against the real kernel on loopback: success, refusal,
 * failover on the same socket, and what the program must find afterwards. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/sys.h"
#include "suites.h"

static struct se_settings settings;
static struct se_names names;
static struct se_engine_ctx ctx;
static int listener = -1;
static uint16_t port;		/* network order; nothing listens on 127.0.0.2 */

static void setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	se_settings_defaults(&settings);
	se_names_init(&names);
	ctx.settings = &settings;
	ctx.names = &names;
	ctx.program_may_use_recverr = true;
	inet_pton(AF_INET, "127.0.0.3", &sa.sin_addr);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(listener, 128), 0);
	ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&sa, &len), 0);
	port = sa.sin_port;
}

static void teardown(void)
{
	close(listener);
}

static struct sockaddr_in v4(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = port };

	ck_assert_int_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	return sa;
}

static struct sockaddr_in6 v6(const char *addr)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = port };

	ck_assert_int_eq(inet_pton(AF_INET6, addr, &sa.sin6_addr), 1);
	return sa;
}

static void remember(const char *name, const char *a, const char *b)
{
	struct sockaddr_in sa = v4(a), sb = v4(b);
	struct se_addr addrs[2];

	se_addr_from_sockaddr(&addrs[0], (struct sockaddr *)&sa, sizeof(sa));
	se_addr_from_sockaddr(&addrs[1], (struct sockaddr *)&sb, sizeof(sb));
	se_names_remember(&names, name, addrs, 2, se_now_ms(),
			  NULL, NULL, 0);
}

static int engine_connect(int fd, const void *sa, socklen_t len)
{
	int domain = ((const struct sockaddr *)sa)->sa_family;

	return se_connect_blocking(&ctx, fd, domain, fcntl(fd, F_GETFL), sa, len);
}

static int recverr(int fd, int level, int opt)
{
	int on = -1;
	socklen_t len = sizeof(on);

	ck_assert_int_eq(getsockopt(fd, level, opt, &on, &len), 0);
	return on;
}

static const char *peer(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return "none";
	if (ss.ss_family == AF_INET)
		return inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, (socklen_t)len);
}

START_TEST(healthy_leaves_no_trace)
{
	struct sockaddr_in sa = v4("127.0.0.3");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int flags = fcntl(fd, F_GETFL), err = 0;
	socklen_t len = sizeof(err);
	char buf[64];

	errno = 4242;
	ck_assert_int_eq(engine_connect(fd, &sa, sizeof(sa)), 0);
	ck_assert_int_eq(errno, 4242);
	ck_assert_int_eq(fcntl(fd, F_GETFL), flags);
	ck_assert_int_eq(recverr(fd, SOL_IP, IP_RECVERR), 0);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	ck_assert_str_eq(peer(fd, buf, sizeof(buf)), "127.0.0.3");
	close(fd);
}
END_TEST

START_TEST(programs_own_recverr_kept)
{
	struct sockaddr_in sa = v4("127.0.0.3");
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;

	ck_assert_int_eq(setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on)), 0);
	ck_assert_int_eq(engine_connect(fd, &sa, sizeof(sa)), 0);
	ck_assert_int_eq(recverr(fd, SOL_IP, IP_RECVERR), 1);
	close(fd);
}
END_TEST

START_TEST(recverr_not_asked_when_program_never_set_it)
{
	struct sockaddr_in sa = v4("127.0.0.3");
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ctx.program_may_use_recverr = false;
	ck_assert_int_eq(engine_connect(fd, &sa, sizeof(sa)), 0);
	ck_assert_int_eq(recverr(fd, SOL_IP, IP_RECVERR), 0);
	close(fd);
}
END_TEST

START_TEST(refused_alone)
{
	struct sockaddr_in dead = v4("127.0.0.2"), live = v4("127.0.0.3");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int flags = fcntl(fd, F_GETFL);

	ck_assert_int_eq(engine_connect(fd, &dead, sizeof(dead)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_int_eq(fcntl(fd, F_GETFL), flags);
	ck_assert_int_eq(recverr(fd, SOL_IP, IP_RECVERR), 0);
	/* The same socket connects again, as after a plain failed connect(). */
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&live, sizeof(live)), 0);
	close(fd);
}
END_TEST

START_TEST(fails_over_on_the_same_socket)
{
	struct sockaddr_in dead = v4("127.0.0.2");
	int fd = socket(AF_INET, SOCK_STREAM, 0), err = -1;
	socklen_t len = sizeof(err);
	char buf[64];

	remember("two.test", "127.0.0.2", "127.0.0.3");
	ck_assert_int_eq(engine_connect(fd, &dead, sizeof(dead)), 0);
	ck_assert_str_eq(peer(fd, buf, sizeof(buf)), "127.0.0.3");
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	close(fd);
}
END_TEST

START_TEST(kernel_policy_does_not_fail_over)
{
	struct sockaddr_in dead = v4("127.0.0.2");
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	settings.policy = SE_POLICY_KERNEL;
	remember("two.test", "127.0.0.2", "127.0.0.3");
	ck_assert_int_eq(engine_connect(fd, &dead, sizeof(dead)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
}
END_TEST

START_TEST(ipv6_socket_reaches_mapped_candidates)
{
	struct sockaddr_in6 dead = v6("::ffff:127.0.0.2");
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	char buf[64];

	remember("two.test", "127.0.0.2", "127.0.0.3");
	ck_assert_int_eq(engine_connect(fd, &dead, sizeof(dead)), 0);
	ck_assert_str_eq(peer(fd, buf, sizeof(buf)), "::ffff:127.0.0.3");
	ck_assert_int_eq(recverr(fd, SOL_IP, IP_RECVERR), 0);
	ck_assert_int_eq(recverr(fd, SOL_IPV6, IPV6_RECVERR), 0);
	close(fd);
}
END_TEST

START_TEST(v6only_socket_keeps_to_ipv6)
{
	struct sockaddr_in6 dead = v6("::1");
	int fd = socket(AF_INET6, SOCK_STREAM, 0), on = 1;

	/* ::1 has no listener on this port; the IPv4 candidate is out of
	 * reach of a v6-only socket, so the refusal stands. */
	ck_assert_int_eq(setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &on, sizeof(on)), 0);
	{
		struct se_addr addrs[2];
		struct sockaddr_in live = v4("127.0.0.3");

		se_addr_from_sockaddr(&addrs[0], (struct sockaddr *)&dead, sizeof(dead));
		se_addr_from_sockaddr(&addrs[1], (struct sockaddr *)&live, sizeof(live));
		se_names_remember(&names, "mixed.test", addrs, 2, se_now_ms(),
			  NULL, NULL, 0);
	}
	ck_assert_int_eq(engine_connect(fd, &dead, sizeof(dead)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
}
END_TEST

START_TEST(not_about_the_network_is_passed_on)
{
	struct sockaddr_in live = v4("127.0.0.3");
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_eq(engine_connect(fd, &live, sizeof(live)), 0);
	ck_assert_int_eq(engine_connect(fd, &live, sizeof(live)), -1);
	ck_assert_int_eq(errno, EISCONN);
	close(fd);
}
END_TEST

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

START_TEST(no_descriptor_leaks)
{
	struct sockaddr_in dead = v4("127.0.0.2");
	int before, i;

	remember("two.test", "127.0.0.2", "127.0.0.3");
	before = count_fds();
	for (i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), c;

		ck_assert_msg(engine_connect(fd, &dead, sizeof(dead)) == 0,
			      "connect %d: %s", i, strerror(errno));
		close(fd);
		c = accept(listener, NULL, NULL);
		ck_assert_int_ge(c, 0);
		close(c);
	}
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, healthy_leaves_no_trace);
	tcase_add_test(tc, programs_own_recverr_kept);
	tcase_add_test(tc, recverr_not_asked_when_program_never_set_it);
	tcase_add_test(tc, refused_alone);
	tcase_add_test(tc, fails_over_on_the_same_socket);
	tcase_add_test(tc, kernel_policy_does_not_fail_over);
	tcase_add_test(tc, ipv6_socket_reaches_mapped_candidates);
	tcase_add_test(tc, v6only_socket_keeps_to_ipv6);
	tcase_add_test(tc, not_about_the_network_is_passed_on);
	tcase_add_test(tc, no_descriptor_leaks);
	suite_add_tcase(s, tc);
	return s;
}
