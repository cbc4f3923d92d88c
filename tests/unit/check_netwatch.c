/* The path to a destination, chosen in the process from the network as
 * rtnetlink shows it: longest prefix, metric, gateway, interface, source;
 * what is not modelled falls back to the whole network. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "core/netwatch.h"
#include "suites.h"

static struct se_nettab t;

static void teardown(void)
{
	se_nettab_free(&t);
}

static void bytes_of(const char *text, uint8_t *to)
{
	struct se_addr a = se_test_addr(text);

	memcpy(to, a.bytes, a.family == AF_INET ? 4 : 16);
}

/* A route: dst "0.0.0.0/0" style, gw or NULL, oif, metric. */
static void route(const char *dst, unsigned len, const char *gw, uint32_t oif,
		  uint32_t metric)
{
	struct se_nt_route r;

	memset(&r, 0, sizeof(r));
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	r.dst_len = (uint8_t)len;
	r.type = RTN_UNICAST;
	bytes_of(dst, r.dst);
	if (gw) {
		r.has_gw = true;
		bytes_of(gw, r.gw);
	}
	r.oif = oif;
	r.metric = metric;
	ck_assert(se_nettab_add_route(&t, &r));
}

static void addr(const char *text, unsigned len, uint32_t ifindex, uint8_t scope)
{
	struct se_nt_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	a.prefixlen = (uint8_t)len;
	a.scope = scope;
	a.ifindex = ifindex;
	bytes_of(text, a.addr);
	ck_assert(se_nettab_add_addr(&t, &a));
}

static void link_(uint32_t ifindex, const char *name, uint8_t hw_last)
{
	struct se_nt_link l;

	memset(&l, 0, sizeof(l));
	l.ifindex = ifindex;
	snprintf(l.name, sizeof(l.name), "%s", name);
	l.hw_len = 6;
	l.hw[0] = 0x02;
	l.hw[5] = hw_last;
	l.up = 1;
	ck_assert(se_nettab_add_link(&t, &l));
}

/* A laptop: eth0 (2) with a default route, wlan0 (3) with a worse one,
 * a VPN tun0 (4) for 203.0.113.0/24, IPv6 through eth0. */
static void laptop(void)
{
	memset(&t, 0, sizeof(t));
	link_(1, "lo", 0);
	link_(2, "eth0", 0x22);
	link_(3, "wlan0", 0x33);
	link_(4, "tun0", 0);
	t.link[3].hw_len = 0;
	addr("127.0.0.1", 8, 1, RT_SCOPE_HOST);
	addr("192.0.2.10", 24, 2, RT_SCOPE_UNIVERSE);
	addr("198.51.100.10", 24, 3, RT_SCOPE_UNIVERSE);
	addr("192.0.2.200", 32, 4, RT_SCOPE_UNIVERSE);
	addr("2001:db8:1::10", 64, 2, RT_SCOPE_UNIVERSE);
	addr("fe80::10", 64, 2, RT_SCOPE_LINK);
	route("0.0.0.0", 0, "192.0.2.1", 2, 100);
	route("0.0.0.0", 0, "198.51.100.1", 3, 600);
	route("192.0.2.0", 24, NULL, 2, 100);
	route("198.51.100.0", 24, NULL, 3, 600);
	route("203.0.113.0", 24, NULL, 4, 0);
	route("::", 0, "fe80::1", 2, 1024);
	route("2001:db8:1::", 64, NULL, 2, 256);
	route("fe80::", 64, NULL, 2, 256);
	se_nettab_seal(&t);
}

static uint64_t path(const char *text)
{
	struct se_addr a = se_test_addr(text);

	return se_nettab_path(&t, &a);
}

START_TEST(longest_prefix_then_metric)
{
	uint64_t def, lan, vpn, v6;

	laptop();
	def = path("198.18.0.1");
	lan = path("192.0.2.99");
	vpn = path("203.0.113.11");
	v6 = path("2001:db8:9::1");
	ck_assert_uint_ne(def, 0);
	/* Every destination the default route takes shares its path. */
	ck_assert_uint_eq(path("8.8.8.8"), def);
	/* wlan0's default has the worse metric: not chosen for them, but
	 * its own subnet is on-link there. */
	ck_assert_uint_ne(path("198.51.100.77"), def);
	ck_assert_uint_ne(lan, def);
	ck_assert_uint_ne(vpn, def);
	ck_assert_uint_ne(vpn, lan);
	ck_assert_uint_ne(v6, def);
	ck_assert_uint_ne(path("2001:db8:1::99"), v6);
	/* The prefix's bits count, not its bytes. */
	se_nettab_free(&t);
	laptop();
	route("203.0.113.128", 25, "192.0.2.1", 2, 0);
	se_nettab_seal(&t);
	ck_assert_uint_eq(path("203.0.113.11"), vpn);
	ck_assert_uint_eq(path("203.0.113.127"), vpn);
	ck_assert_uint_ne(path("203.0.113.128"), vpn);
	/* The better default gone, the worse one is the path. */
	se_nettab_free(&t);
	laptop();
	t.route[0].metric = 1000;
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("198.18.0.1"), def);
	ck_assert_uint_eq(path("198.18.0.1"), path("8.8.4.4"));
}
END_TEST

START_TEST(unrelated_changes_keep_the_path)
{
	uint64_t def, v6, whole;
	unsigned i;
	char name[16], dst[32];

	laptop();
	def = path("198.18.0.1");
	v6 = path("2001:db8:9::1");
	whole = t.whole;
	se_nettab_free(&t);
	laptop();
	/* 100 containers: a veth link each, an address and a route on it:
	 * none on the path. */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "veth%u", i);
		link_(10 + i, name, (uint8_t)i);
		snprintf(dst, sizeof(dst), "10.%u.0.0", i);
		route(dst, 16, NULL, 10 + i, 0);
		snprintf(dst, sizeof(dst), "10.%u.0.1", i);
		addr(dst, 16, 10 + i, RT_SCOPE_UNIVERSE);
	}
	/* A second address on wlan0, a route elsewhere. */
	addr("198.51.100.11", 24, 3, RT_SCOPE_UNIVERSE);
	route("198.18.0.0", 15, "192.0.2.1", 2, 0);
	se_nettab_seal(&t);
	ck_assert_uint_ne(t.whole, whole);
	ck_assert_uint_eq(path("8.8.8.8"), def);
	ck_assert_uint_eq(path("2001:db8:9::1"), v6);
}
END_TEST

START_TEST(changes_on_the_path_change_it)
{
	uint64_t def, v6;

	laptop();
	def = path("8.8.8.8");
	v6 = path("2001:db8:9::1");
	se_nettab_free(&t);

	/* Another gateway (a Wi-Fi roam to another network). */
	laptop();
	bytes_of("192.0.2.254", t.route[0].gw);
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("8.8.8.8"), def);
	se_nettab_free(&t);
	/* Another source address on the interface (a new DHCP lease). */
	laptop();
	bytes_of("192.0.2.11", t.addr[1].addr);
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("8.8.8.8"), def);
	/* ... but not one of the other family, nor a link-local one. */
	ck_assert_uint_eq(path("2001:db8:9::1"), v6);
	se_nettab_free(&t);
	laptop();
	bytes_of("fe80::11", t.addr[5].addr);
	se_nettab_seal(&t);
	ck_assert_uint_eq(path("2001:db8:9::1"), v6);
	se_nettab_free(&t);
	/* A preferred source on the route. */
	laptop();
	t.route[0].has_prefsrc = true;
	bytes_of("192.0.2.10", t.route[0].prefsrc);
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("8.8.8.8"), def);
	se_nettab_free(&t);
	/* The VPN up over the default route: its destinations move. */
	laptop();
	route("0.0.0.0", 1, NULL, 4, 0);
	route("128.0.0.0", 1, NULL, 4, 0);
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("8.8.8.8"), def);
	ck_assert_uint_eq(path("8.8.8.8"), path("198.18.0.1"));
	se_nettab_free(&t);
	/* ... and down again: back to what it was. */
	laptop();
	ck_assert_uint_eq(path("8.8.8.8"), def);
}
END_TEST

START_TEST(a_link_made_again)
{
	uint64_t def, vpn;

	laptop();
	def = path("8.8.8.8");
	vpn = path("203.0.113.11");
	se_nettab_free(&t);
	/* tun0 and eth0 deleted and made again: new indexes, the same names
	 * and hardware addresses (none for tun0): the same paths. */
	laptop();
	t.link[1].ifindex = 42;
	t.link[3].ifindex = 43;
	t.route[0].oif = t.route[2].oif = 42;
	t.route[4].oif = 43;
	t.addr[1].ifindex = 42;
	t.addr[3].ifindex = 43;
	se_nettab_seal(&t);
	ck_assert_uint_eq(path("8.8.8.8"), def);
	ck_assert_uint_eq(path("203.0.113.11"), vpn);
	se_nettab_free(&t);
	/* Another adapter under the same name (another hardware address):
	 * another path. */
	laptop();
	t.link[1].hw[5] = 0x99;
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("8.8.8.8"), def);
	/* The route's interface unknown: not modelled, the whole network's
	 * (which any change changes). */
	t.route[4].oif = 77;
	se_nettab_seal(&t);
	vpn = path("203.0.113.11");
	ck_assert_uint_eq(path("192.0.2.99") == vpn, 0);
	t.link[0].up = 0;
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("203.0.113.11"), vpn);
}
END_TEST

START_TEST(not_modelled_is_the_whole_network)
{
	uint64_t w;

	/* Policy rules: every IPv4 path is the whole network's, IPv6 not. */
	laptop();
	t.odd_rules[0] = true;
	se_nettab_seal(&t);
	w = path("8.8.8.8");
	ck_assert_uint_eq(path("203.0.113.11"), w);
	ck_assert_uint_eq(path("192.0.2.99"), w);
	ck_assert_uint_ne(path("2001:db8:9::1"), w);
	link_(50, "veth0", 0x50);
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("8.8.8.8"), w);
	se_nettab_free(&t);
	/* Two equal routes (the kernel may spread the load), a multipath
	 * route, no route at all, a throw route. */
	laptop();
	route("203.0.113.0", 24, NULL, 3, 0);
	route("198.18.0.0", 15, "192.0.2.1", 2, 0);
	t.route[t.n_route - 1].unmodelled = true;
	se_nettab_seal(&t);
	w = path("203.0.113.11");
	ck_assert_uint_eq(path("198.18.0.1"), w);
	t.route[2].type = RTN_THROW;
	se_nettab_seal(&t);
	ck_assert_uint_eq(path("192.0.2.77"), path("198.18.0.1"));
	se_nettab_free(&t);
	laptop();
	t.route[0].dst_len = 1;		/* 0.0.0.0/1: no route to 198.18/15 */
	t.route[1].dst_len = 1;
	se_nettab_seal(&t);
	ck_assert_uint_ne(path("198.18.0.1"), path("8.8.8.8"));
	se_nettab_free(&t);
	/* More than the caps: nothing modelled. */
	memset(&t, 0, sizeof(t));
	{
		struct se_nt_link l;
		unsigned i;

		memset(&l, 0, sizeof(l));
		for (i = 0; i < SE_NT_LINKS_MAX; i++) {
			l.ifindex = i + 1;
			ck_assert(se_nettab_add_link(&t, &l));
		}
		ck_assert(!se_nettab_add_link(&t, &l));
		ck_assert(t.overflow);
	}
}
END_TEST

START_TEST(blackholes_and_local_addresses)
{
	struct se_nt_route r;
	uint64_t bh;

	laptop();
	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.type = RTN_BLACKHOLE;
	r.dst_len = 32;
	bytes_of("203.0.113.11", r.dst);
	ck_assert(se_nettab_add_route(&t, &r));
	se_nettab_seal(&t);
	bh = path("203.0.113.11");
	ck_assert_uint_ne(bh, path("203.0.113.12"));
	ck_assert_uint_ne(bh, 0);
	/* Our own addresses and loopback: local, whatever the routes. */
	ck_assert_uint_eq(path("192.0.2.10"), path("127.0.0.1"));
	ck_assert_uint_eq(path("2001:db8:1::10"), path("::1"));
	ck_assert_uint_ne(path("192.0.2.10"), path("192.0.2.11"));
}
END_TEST

/* The network this process is in, as read through rtnetlink: at least
 * loopback, and a path for loopback. */
START_TEST(reads_the_network)
{
	struct se_netstate ns = SE_NETSTATE_INIT;
	struct se_addr a = se_test_addr("127.0.0.1");
	uint64_t p;

	ck_assert_int_eq(se_netwatch_read(&t), 0);
	ck_assert_uint_ge(t.n_link, 1);
	ck_assert_uint_ne(t.whole, 0);
	p = se_netstate_path(&ns, &a);
	ck_assert_uint_ne(p, 0);
	/* Asked again: the same, from the cache. */
	ck_assert_uint_eq(se_netstate_path(&ns, &a), p);
	se_nettab_free(&ns.tab);
}
END_TEST

Suite *netwatch_suite(void)
{
	Suite *s = suite_create("netwatch");
	TCase *tc = tcase_create("path");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, longest_prefix_then_metric);
	tcase_add_test(tc, unrelated_changes_keep_the_path);
	tcase_add_test(tc, changes_on_the_path_change_it);
	tcase_add_test(tc, a_link_made_again);
	tcase_add_test(tc, not_modelled_is_the_whole_network);
	tcase_add_test(tc, blackholes_and_local_addresses);
	tcase_add_test(tc, reads_the_network);
	suite_add_tcase(s, tc);
	return s;
}
