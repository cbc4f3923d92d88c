/* The candidate memory: order, bounds, expiry, rounds. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/names.h"
#include "suites.h"

static struct se_names m;

static void want(const struct se_candidates *c, size_t n, const char *const *addrs)
{
	char buf[64];
	size_t i;

	ck_assert_uint_eq(c->n, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(se_addr_str(&c->addr[i], buf, sizeof(buf)), addrs[i]);
}

static void setup(void)
{
	se_names_init(&m);
}

static void remember3(const char *name, uint64_t now)
{
	struct se_addr a[4] = { se_test_addr("192.0.2.1"), se_test_addr("2001:db8::1"), se_test_addr("192.0.2.2"),
				se_test_addr("192.0.2.1") /* duplicate: dropped */ };

	se_names_remember(&m, name, a, 4, now,
			  NULL, NULL, 0);
}

START_TEST(unknown_address_alone)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("198.51.100.7");

	remember3("x.example", 1000);
	se_names_candidates(&m, &a, NULL, 1000, &c);
	want(&c, 1, (const char *[]){ "198.51.100.7" });
	ck_assert_str_eq(c.name, "");
}
END_TEST

START_TEST(resolver_order_after_asked)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("192.0.2.1"), b = se_test_addr("2001:db8::1");

	remember3("x.example", 1000);
	se_names_candidates(&m, &a, NULL, 1500, &c);
	want(&c, 3, (const char *[]){ "192.0.2.1", "2001:db8::1", "192.0.2.2" });
	ck_assert_str_eq(c.name, "x.example");
	/* Asked for the second: the third, then the first. */
	se_names_candidates(&m, &b, NULL, 1500, &c);
	want(&c, 3, (const char *[]){ "2001:db8::1", "192.0.2.2", "192.0.2.1" });
}
END_TEST

START_TEST(v4mapped_matches_ipv4)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("::ffff:192.0.2.2");

	ck_assert_int_eq(a.family, AF_INET);
	remember3("x.example", 1000);
	se_names_candidates(&m, &a, NULL, 1000, &c);
	ck_assert_uint_eq(c.n, 3);
}
END_TEST

START_TEST(expires)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("192.0.2.1");

	remember3("x.example", 1000);
	se_names_candidates(&m, &a, NULL, 1000 + SE_NAME_TTL_MS - 1, &c);
	ck_assert_uint_eq(c.n, 3);
	se_names_candidates(&m, &a, NULL, 1000 + SE_NAME_TTL_MS, &c);
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

START_TEST(bounded_in_names)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("192.0.2.1");
	char name[32];
	int i;

	remember3("first.example", 1000);
	/* SE_NAMES_MAX other names push the first out. */
	for (i = 0; i < SE_NAMES_MAX; i++) {
		struct se_addr two[2] = { se_test_addr("203.0.113.1"), se_test_addr("203.0.113.2") };

		snprintf(name, sizeof(name), "n%d.example", i);
		se_names_remember(&m, name, two, 2, 1001,
			  NULL, NULL, 0);
	}
	se_names_candidates(&m, &a, NULL, 1002, &c);
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

START_TEST(bounded_in_addresses)
{
	struct se_addr many[SE_NAME_ADDRS_MAX + 10];
	struct se_candidates c;
	char buf[32];
	int i;

	for (i = 0; i < SE_NAME_ADDRS_MAX + 10; i++) {
		snprintf(buf, sizeof(buf), "198.51.100.%d", i + 1);
		many[i] = se_test_addr(buf);
	}
	se_names_remember(&m, "big.example", many, SE_NAME_ADDRS_MAX + 10, 5,
			  NULL, NULL, 0);
	se_names_candidates(&m, &many[0], NULL, 5, &c);
	ck_assert_uint_eq(c.n, SE_NAME_ADDRS_MAX);
	/* One beyond the bound was never kept: asked alone. */
	se_names_candidates(&m, &many[SE_NAME_ADDRS_MAX], NULL, 5, &c);
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

/* Names that share an address (virtual hosting, a CDN): a connect() to it
 * never fails over to an address only another name has. */
START_TEST(shared_address_common_only)
{
	struct se_candidates c;
	struct se_addr x = se_test_addr("192.0.2.1");
	struct se_addr a[3] = { se_test_addr("192.0.2.1"), se_test_addr("192.0.2.7"),
				se_test_addr("198.51.100.9") };
	struct se_addr b[3] = { se_test_addr("192.0.2.1"), se_test_addr("198.51.100.9"),
				se_test_addr("192.0.2.8") };
	struct se_addr z[2] = { se_test_addr("192.0.2.1"), se_test_addr("192.0.2.8") };

	se_names_remember(&m, "a.example", a, 3, 1000, NULL, NULL, 0);
	se_names_candidates(&m, &x, NULL, 1000, &c);
	ck_assert_int_eq(c.source, SE_CAND_NAME);
	want(&c, 3, (const char *[]){ "192.0.2.1", "192.0.2.7", "198.51.100.9" });
	/* In either order of the lookups. */
	se_names_remember(&m, "b.example", b, 3, 2000, NULL, NULL, 0);
	se_names_candidates(&m, &x, NULL, 2000, &c);
	ck_assert_int_eq(c.source, SE_CAND_SHARED);
	ck_assert_uint_eq(c.n_names, 2);
	ck_assert_str_eq(c.name, "");
	want(&c, 2, (const char *[]){ "192.0.2.1", "198.51.100.9" });
	se_names_remember(&m, "a.example", a, 3, 3000, NULL, NULL, 0);
	se_names_candidates(&m, &x, NULL, 3000, &c);
	want(&c, 2, (const char *[]){ "192.0.2.1", "198.51.100.9" });
	/* A third name sharing only the address: no failover at all. */
	se_names_remember(&m, "z.example", z, 2, 3000, NULL, NULL, 0);
	se_names_candidates(&m, &x, NULL, 3000, &c);
	ck_assert_uint_eq(c.n_names, 3);
	want(&c, 1, (const char *[]){ "192.0.2.1" });
	/* An address only one of them has is that name's. */
	se_names_candidates(&m, &a[1], NULL, 3000, &c);
	ck_assert_int_eq(c.source, SE_CAND_NAME);
	ck_assert_str_eq(c.name, "a.example");
	want(&c, 3, (const char *[]){ "192.0.2.7", "198.51.100.9", "192.0.2.1" });
	/* Once the others expire, the name alone again. */
	se_names_remember(&m, "a.example", a, 3, 3000 + SE_NAME_TTL_MS, NULL, NULL, 0);
	se_names_candidates(&m, &x, NULL, 3000 + SE_NAME_TTL_MS, &c);
	ck_assert_int_eq(c.source, SE_CAND_NAME);
	ck_assert_uint_eq(c.n, 3);
}
END_TEST

/* The program connects with a sockaddr of a getaddrinfo() answer: that
 * answer's name, whatever other names hold the address, until the answer
 * is freed. */
START_TEST(answer_key_decides)
{
	struct se_candidates c;
	struct se_addr x = se_test_addr("192.0.2.1");
	struct se_addr a[2] = { se_test_addr("192.0.2.1"), se_test_addr("192.0.2.7") };
	struct se_addr b[2] = { se_test_addr("192.0.2.1"), se_test_addr("192.0.2.8") };
	int list_a, list_b, node_a[2], node_b[2];
	const void *keys_a[2] = { &node_a[0], &node_a[1] };
	const void *keys_b[2] = { &node_b[0], &node_b[1] };

	se_names_remember(&m, "a.example", a, 2, 1000, &list_a, keys_a, 2);
	se_names_remember(&m, "b.example", b, 2, 1001, &list_b, keys_b, 2);
	se_names_candidates(&m, &x, &node_a[0], 1002, &c);
	ck_assert_int_eq(c.source, SE_CAND_ANSWER);
	ck_assert_str_eq(c.name, "a.example");
	want(&c, 2, (const char *[]){ "192.0.2.1", "192.0.2.7" });
	se_names_candidates(&m, &x, &node_b[0], 1002, &c);
	ck_assert_str_eq(c.name, "b.example");
	want(&c, 2, (const char *[]){ "192.0.2.1", "192.0.2.8" });
	/* A key of a's answer given with an address a does not hold: not
	 * that answer's. */
	se_names_candidates(&m, &b[1], &node_a[1], 1002, &c);
	ck_assert_str_eq(c.name, "b.example");
	/* Freed: the pointer may be anything's now. */
	se_names_forget_answer(&m, &list_a);
	se_names_candidates(&m, &x, &node_a[0], 1002, &c);
	ck_assert_int_eq(c.source, SE_CAND_SHARED);
	want(&c, 1, (const char *[]){ "192.0.2.1" });
}
END_TEST

START_TEST(failed_this_round_skipped_then_back)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("192.0.2.1"), b = se_test_addr("2001:db8::1");

	remember3("x.example", 1000);
	se_names_mark_failed(&m, &a, 1100);
	se_names_candidates(&m, &b, NULL, 1200, &c);
	want(&c, 2, (const char *[]){ "2001:db8::1", "192.0.2.2" });
	/* The address asked for is always tried, failed or not. */
	se_names_candidates(&m, &a, NULL, 1200, &c);
	ck_assert_uint_eq(c.n, 3);
	/* The round is over: back in. */
	se_names_candidates(&m, &b, NULL, 1100 + SE_ROUND_MS, &c);
	ck_assert_uint_eq(c.n, 3);
	/* Resolving again starts a new round at once. */
	se_names_mark_failed(&m, &a, 1300);
	remember3("x.example", 1400);
	se_names_candidates(&m, &b, NULL, 1400, &c);
	ck_assert_uint_eq(c.n, 3);
}
END_TEST

/* Another thread may remember the name with a clock read after the one a
 * connect took its "now" from: the name is live for that connect all the
 * same (it was not: the lone address then looked unresolved, and a route
 * flap failed connects at their first soft error). */
START_TEST(remembered_a_moment_later)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("192.0.2.2");

	remember3("x.example", 2000);
	se_names_candidates(&m, &a, NULL, 1999, &c);
	ck_assert_int_eq(c.source, SE_CAND_NAME);
	ck_assert_uint_eq(c.n, 3);
	se_names_mark_failed(&m, &a, 2100);
	se_names_mark_persisted(&m, &a, 2100, true);
	se_names_candidates(&m, &a, NULL, 2099, &c);
	ck_assert(c.persist_spent);
}
END_TEST

START_TEST(persistence_spent)
{
	struct se_candidates c;
	struct se_addr a = se_test_addr("192.0.2.2");
	struct se_addr b = se_test_addr("192.0.2.1");

	remember3("x.example", 1000);
	se_names_candidates(&m, &a, NULL, 1000, &c);
	ck_assert(!c.persist_spent);
	/* Persisting on a: spent for the name's other addresses, not for
	 * concurrent connects to a itself. */
	se_names_mark_persisted(&m, &a, 1500, false);
	se_names_candidates(&m, &b, NULL, 1600, &c);
	ck_assert(c.persist_spent);
	se_names_candidates(&m, &a, NULL, 1600, &c);
	ck_assert(!c.persist_spent);
	/* Lost: spent for all, even when another connect starts persisting
	 * after; until the round is over. */
	se_names_mark_persisted(&m, &a, 1700, true);
	se_names_candidates(&m, &a, NULL, 1800, &c);
	ck_assert(c.persist_spent);
	se_names_mark_persisted(&m, &a, 1900, false);
	se_names_candidates(&m, &a, NULL, 2000, &c);
	ck_assert(c.persist_spent);
	se_names_candidates(&m, &a, NULL, 1900 + SE_ROUND_MS, &c);
	ck_assert(!c.persist_spent);
}
END_TEST

START_TEST(sockaddr_round_trip)
{
	struct sockaddr_storage ss;
	struct se_addr a = se_test_addr("192.0.2.5"), back;
	socklen_t len;

	len = se_addr_to_sockaddr(&a, htons(80), true, &ss);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(se_addr_from_sockaddr(&back, (struct sockaddr *)&ss, len), 0);
	ck_assert(se_addr_equal(&a, &back));
	len = se_addr_to_sockaddr(&a, htons(80), false, &ss);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(((struct sockaddr_in *)&ss)->sin_port, htons(80));
	ck_assert_int_eq(se_addr_from_sockaddr(&back, (struct sockaddr *)&ss, 3), -1);
}
END_TEST

START_TEST(put_keeps_addresses_distinct)
{
	struct se_addr addrs[2], a = se_test_addr("192.0.2.1"),
		b = se_test_addr("2001:db8::1"), c = se_test_addr("192.0.2.3");
	size_t n = 0;

	ck_assert_uint_eq(se_addr_put(addrs, &n, 2, &a), 0);
	ck_assert_uint_eq(se_addr_put(addrs, &n, 2, &b), 1);
	ck_assert_uint_eq(se_addr_put(addrs, &n, 2, &a), 0);	/* there already */
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(se_addr_put(addrs, &n, 2, &c), 2);	/* no room */
	ck_assert_uint_eq(se_addr_put(addrs, &n, 2, &b), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert(se_addr_equal(&addrs[0], &a) && se_addr_equal(&addrs[1], &b));
}
END_TEST

START_TEST(interleaves_families)
{
	struct se_candidates c;
	const char *order[] = { "2001:db8::1", "2001:db8::2", "2001:db8::3",
				"192.0.2.1", "192.0.2.2" };
	size_t i;

	c.n = 5;
	for (i = 0; i < 5; i++)
		c.addr[i] = se_test_addr(order[i]);
	se_candidates_interleave(&c);
	want(&c, 5, (const char *[]){ "2001:db8::1", "192.0.2.1", "2001:db8::2",
				      "192.0.2.2", "2001:db8::3" });
	/* One family: unchanged. */
	c.n = 3;
	for (i = 0; i < 3; i++)
		c.addr[i] = se_test_addr(order[i]);
	se_candidates_interleave(&c);
	want(&c, 3, (const char *[]){ "2001:db8::1", "2001:db8::2", "2001:db8::3" });
	/* IPv4 first, IPv6 after. */
	c.n = 4;
	c.addr[0] = se_test_addr("192.0.2.1");
	c.addr[1] = se_test_addr("192.0.2.2");
	c.addr[2] = se_test_addr("2001:db8::1");
	c.addr[3] = se_test_addr("2001:db8::2");
	se_candidates_interleave(&c);
	want(&c, 4, (const char *[]){ "192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2" });
}
END_TEST

Suite *names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("memory");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, unknown_address_alone);
	tcase_add_test(tc, resolver_order_after_asked);
	tcase_add_test(tc, v4mapped_matches_ipv4);
	tcase_add_test(tc, expires);
	tcase_add_test(tc, bounded_in_names);
	tcase_add_test(tc, bounded_in_addresses);
	tcase_add_test(tc, shared_address_common_only);
	tcase_add_test(tc, answer_key_decides);
	tcase_add_test(tc, failed_this_round_skipped_then_back);
	tcase_add_test(tc, persistence_spent);
	tcase_add_test(tc, remembered_a_moment_later);
	tcase_add_test(tc, sockaddr_round_trip);
	tcase_add_test(tc, put_keeps_addresses_distinct);
	tcase_add_test(tc, interleaves_families);
	suite_add_tcase(s, tc);
	return s;
}
