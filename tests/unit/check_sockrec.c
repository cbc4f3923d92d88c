/* The record of what the program set on its sockets, and its replay. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "core/sockrec.h"
#include "suites.h"

static void setup(void)
{
	se_sockrec_reset();
}

static int getopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

START_TEST(only_tcp_streams_are_tracked)
{
	struct se_sockrec rec;
	int on = 1;

	se_sockrec_socket(5, AF_INET, SOCK_DGRAM, 0);
	se_sockrec_setsockopt(5, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	ck_assert_int_eq(se_sockrec_get(5, &rec), -1);
	se_sockrec_socket(5, AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_get(5, &rec), -1);
	se_sockrec_socket(5, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(se_sockrec_get(5, &rec), 0);
	ck_assert_uint_eq(rec.n, 0);
	ck_assert(se_sockrec_is_tcp(5));
	/* SCTP and MPTCP are stream sockets too, but not TCP. */
	se_sockrec_socket(5, AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	ck_assert(!se_sockrec_is_tcp(5));
	se_sockrec_socket(5, AF_INET, SOCK_STREAM, 262);
	ck_assert(!se_sockrec_is_tcp(5));
	se_sockrec_socket(5, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ck_assert(se_sockrec_is_tcp(5));
	/* Numbers far above 1024 (a busy server's) are recorded too. */
	se_sockrec_socket(70000, AF_INET6, SOCK_STREAM, 0);
	ck_assert(se_sockrec_is_tcp(70000) && se_sockrec_fresh(70000));
	ck_assert_int_eq(se_sockrec_get(70000, &rec), 0);
	se_sockrec_socket((1 << 20) - 1, AF_INET, SOCK_STREAM, 0);
	ck_assert(se_sockrec_is_tcp((1 << 20) - 1));
	/* ... and past 2^20, where a raised fs.nr_open lets a process go. */
	se_sockrec_socket((1 << 20) + 3, AF_INET, SOCK_STREAM, 0);
	ck_assert(se_sockrec_is_tcp((1 << 20) + 3));
	ck_assert(!se_sockrec_is_tcp((1 << 20) + 2));
	/* A number whose block nothing mapped: nothing known, and a socket
	 * that is not TCP maps none. */
	se_sockrec_socket(300000, AF_INET, SOCK_DGRAM, 0);
	ck_assert(!se_sockrec_is_tcp(300000));
	ck_assert_int_eq(se_sockrec_get(300001, &rec), -1);
	/* Not a descriptor: nothing known. */
	se_sockrec_socket(-1, AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_get(-1, &rec), -1);
}
END_TEST

START_TEST(records_in_order_and_replaces)
{
	struct se_sockrec rec;
	int on = 1, off = 0, buf = 65536;

	se_sockrec_socket(7, AF_INET, SOCK_STREAM, 0);
	se_sockrec_setsockopt(7, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	se_sockrec_setsockopt(7, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	se_sockrec_setsockopt(7, IPPROTO_TCP, TCP_NODELAY, &off, sizeof(off));
	ck_assert_int_eq(se_sockrec_get(7, &rec), 0);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_int_eq(rec.opt[0].name, TCP_NODELAY);
	ck_assert_int_eq(*(int *)rec.opt[0].val, 0);
	ck_assert_int_eq(rec.opt[1].name, SO_RCVBUF);
	/* A new socket() on the number starts over. */
	se_sockrec_socket(7, AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_get(7, &rec), 0);
	ck_assert_uint_eq(rec.n, 0);
}
END_TEST

START_TEST(what_cannot_be_recorded_makes_it_unusable)
{
	struct se_sockrec rec;
	char big[SE_SOCKREC_VAL + 1];
	int i, on = 1;

	memset(big, 0, sizeof(big));
	se_sockrec_socket(8, AF_INET, SOCK_STREAM, 0);
	se_sockrec_setsockopt(8, IPPROTO_TCP, TCP_MD5SIG, big, sizeof(big));
	ck_assert_int_eq(se_sockrec_get(8, &rec), -1);

	se_sockrec_socket(9, AF_INET, SOCK_STREAM, 0);
	for (i = 0; i <= SE_SOCKREC_OPTS; i++)
		se_sockrec_setsockopt(9, SOL_SOCKET, 1000 + i, &on, sizeof(on));
	ck_assert_int_eq(se_sockrec_get(9, &rec), -1);
}
END_TEST

START_TEST(bound_port)
{
	struct se_sockrec rec;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(40000) };

	se_sockrec_socket(10, AF_INET, SOCK_STREAM, 0);
	se_sockrec_get(10, &rec);
	ck_assert_uint_eq(se_sockrec_port(&rec), 0);
	se_sockrec_bind(10, (struct sockaddr *)&sa, sizeof(sa));
	ck_assert_int_eq(se_sockrec_get(10, &rec), 0);
	ck_assert(rec.bound);
	ck_assert_uint_eq(se_sockrec_port(&rec), htons(40000));
}
END_TEST

START_TEST(replays_onto_a_new_socket)
{
	struct se_sockrec rec;
	struct sockaddr_in local = { .sin_family = AF_INET };
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	const char *why = NULL;
	int on = 1, buf = 65536, tos = 0x20, fd;

	inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
	se_sockrec_socket(11, AF_INET, SOCK_STREAM, 0);
	se_sockrec_setsockopt(11, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	se_sockrec_setsockopt(11, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	se_sockrec_setsockopt(11, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	se_sockrec_setsockopt(11, SOL_IP, IP_TOS, &tos, sizeof(tos));
	se_sockrec_bind(11, (struct sockaddr *)&local, sizeof(local));
	ck_assert_int_eq(se_sockrec_get(11, &rec), 0);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_apply(&rec, fd, AF_INET, &why), 0);
	ck_assert_int_eq(getopt_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
	ck_assert_int_eq(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	ck_assert_int_eq(getopt_int(fd, SOL_SOCKET, SO_RCVBUF), 2 * 65536);
	ck_assert_int_eq(getopt_int(fd, SOL_IP, IP_TOS), 0x20);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&got, &len), 0);
	ck_assert_int_eq(got.sin_addr.s_addr, local.sin_addr.s_addr);
	close(fd);

	/* The other family: IP_TOS becomes IPV6_TCLASS; the IPv4 local
	 * address cannot follow. */
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_apply(&rec, fd, AF_INET6, &why), -1);
	ck_assert_str_eq(why, "a local address of the other family");
	close(fd);
	rec.bound = false;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_apply(&rec, fd, AF_INET6, &why), 0);
	close(fd);
}
END_TEST

START_TEST(ipv6_options_to_an_ipv4_socket)
{
	struct se_sockrec rec;
	const char *why = NULL;
	int tclass = 0x28, only = 1, hops = 7, fd;

	se_sockrec_socket(12, AF_INET6, SOCK_STREAM, 0);
	se_sockrec_setsockopt(12, SOL_IPV6, IPV6_V6ONLY, &only, sizeof(only));
	se_sockrec_setsockopt(12, SOL_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass));
	se_sockrec_setsockopt(12, SOL_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops));
	ck_assert_int_eq(se_sockrec_get(12, &rec), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_apply(&rec, fd, AF_INET, &why), 0);
	ck_assert_int_eq(getopt_int(fd, SOL_IP, IP_TOS), 0x28);
	ck_assert_int_eq(getopt_int(fd, SOL_IP, IP_TTL), 7);
	close(fd);
	/* An IPv6 option with no IPv4 twin cannot follow. */
	se_sockrec_setsockopt(12, SOL_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
	ck_assert_int_eq(se_sockrec_get(12, &rec), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(se_sockrec_apply(&rec, fd, AF_INET, &why), -1);
	close(fd);
}
END_TEST

Suite *sockrec_suite(void)
{
	Suite *s = suite_create("sockrec");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, only_tcp_streams_are_tracked);
	tcase_add_test(tc, records_in_order_and_replaces);
	tcase_add_test(tc, what_cannot_be_recorded_makes_it_unusable);
	tcase_add_test(tc, bound_port);
	tcase_add_test(tc, replays_onto_a_new_socket);
	tcase_add_test(tc, ipv6_options_to_an_ipv4_socket);
	suite_add_tcase(s, tc);
	return s;
}
