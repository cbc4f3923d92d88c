/* rtnetlink through libmnl: the network as read, and the path to a
 * destination chosen in the process. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "history.h"
#include "netwatch.h"
#include "sys.h"

#ifndef IFF_LOWER_UP		/* in linux/if.h, which net/if.h cannot join */
#define IFF_LOWER_UP 0x10000
#endif

#define FNV_START 14695981039346656037ull

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static size_t addr_len(unsigned family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* Grows *v (of *n objects of size sz) by one, up to max; the new object's
 * address, or NULL. */
static void *grow(void **v, size_t *n, size_t sz, size_t max, bool *overflow)
{
	void *p;

	if (*n >= max) {
		*overflow = true;
		return NULL;
	}
	/* Doubled at each power of two: 8, 16, 32, ... */
	if (*n >= 8 && (*n & (*n - 1)) == 0) {
		p = realloc(*v, *n * 2 * sz);
		if (!p) {
			*overflow = true;
			return NULL;
		}
		*v = p;
	} else if (*n == 0) {
		*v = malloc(8 * sz);
		if (!*v) {
			*overflow = true;
			return NULL;
		}
	}
	return (char *)*v + (*n)++ * sz;
}

bool se_nettab_add_route(struct se_nettab *t, const struct se_nt_route *r)
{
	struct se_nt_route *p = grow((void **)&t->route, &t->n_route, sizeof(*r),
				     SE_NT_ROUTES_MAX, &t->overflow);

	if (p)
		*p = *r;
	return p != NULL;
}

bool se_nettab_add_addr(struct se_nettab *t, const struct se_nt_addr *a)
{
	struct se_nt_addr *p = grow((void **)&t->addr, &t->n_addr, sizeof(*a),
				    SE_NT_ADDRS_MAX, &t->overflow);

	if (p)
		*p = *a;
	return p != NULL;
}

bool se_nettab_add_link(struct se_nettab *t, const struct se_nt_link *l)
{
	struct se_nt_link *p = grow((void **)&t->link, &t->n_link, sizeof(*l),
				    SE_NT_LINKS_MAX, &t->overflow);

	if (p)
		*p = *l;
	return p != NULL;
}

void se_nettab_free(struct se_nettab *t)
{
	free(t->route);
	free(t->addr);
	free(t->link);
	memset(t, 0, sizeof(*t));
}

/* The objects' hashes summed: the same network in any order, the same
 * fingerprint. Every field the path choice reads is in it, so a table
 * whose fingerprint did not change chooses the same paths. */
void se_nettab_seal(struct se_nettab *t)
{
	uint64_t sum = 0, h;
	size_t i;

	for (i = 0; i < t->n_route; i++) {
		const struct se_nt_route *r = &t->route[i];

		h = mix(FNV_START, "r", 1);
		h = mix(h, &r->family, 1);
		h = mix(h, &r->dst_len, 1);
		h = mix(h, &r->type, 1);
		h = mix(h, &r->has_gw, 1);
		h = mix(h, &r->has_prefsrc, 1);
		h = mix(h, &r->unmodelled, 1);
		h = mix(h, r->dst, sizeof(r->dst));
		h = mix(h, r->gw, sizeof(r->gw));
		h = mix(h, r->prefsrc, sizeof(r->prefsrc));
		h = mix(h, &r->oif, sizeof(r->oif));
		h = mix(h, &r->metric, sizeof(r->metric));
		sum += h;
	}
	for (i = 0; i < t->n_addr; i++) {
		const struct se_nt_addr *a = &t->addr[i];

		h = mix(FNV_START, "a", 1);
		h = mix(h, &a->family, 1);
		h = mix(h, &a->prefixlen, 1);
		h = mix(h, &a->scope, 1);
		h = mix(h, a->addr, sizeof(a->addr));
		h = mix(h, &a->ifindex, sizeof(a->ifindex));
		sum += h;
	}
	for (i = 0; i < t->n_link; i++) {
		const struct se_nt_link *l = &t->link[i];

		h = mix(FNV_START, "l", 1);
		h = mix(h, &l->ifindex, sizeof(l->ifindex));
		h = mix(h, l->name, sizeof(l->name));
		h = mix(h, l->hw, l->hw_len);
		h = mix(h, &l->up, sizeof(l->up));
		sum += h;
	}
	h = mix(FNV_START, t->odd_rules, sizeof(t->odd_rules));
	h = mix(h, &t->overflow, 1);
	h = mix(h, &t->rules, sizeof(t->rules));
	t->whole = sum + h + ((uint64_t)(t->n_route + t->n_addr + t->n_link) << 48);
}

/* Is a within the prefix p/len (of n bytes)? */
static bool in_prefix(const uint8_t *a, const uint8_t *p, unsigned len, size_t n)
{
	unsigned full = len / 8, rest = len % 8;

	if (len > n * 8)
		return false;
	if (memcmp(a, p, full) != 0)
		return false;
	return !rest || ((a[full] ^ p[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static uint64_t nonzero(uint64_t h)
{
	return h ? h : 1;
}

/* The path of what is not modelled: the whole network. */
static uint64_t whole_path(const struct se_nettab *t)
{
	return nonzero(mix(t->whole, "w", 1));
}

static bool is_local(const struct se_nettab *t, const struct se_addr *a)
{
	static const uint8_t loop6[16] = { [15] = 1 };
	size_t i, n = addr_len(a->family);

	if ((a->family == AF_INET && a->bytes[0] == 127) ||
	    (a->family == AF_INET6 && memcmp(a->bytes, loop6, 16) == 0))
		return true;
	for (i = 0; i < t->n_addr; i++)
		if (t->addr[i].family == a->family &&
		    memcmp(t->addr[i].addr, a->bytes, n) == 0)
			return true;
	return false;
}

/* The source address a route without a preferred source leaves to the
 * kernel: one of its interface's addresses of the family and of global
 * scope, which one depending on rules (RFC 6724's for IPv6) not modelled:
 * all of them, so that a change in any is a change of the path. */
static uint64_t sources(const struct se_nettab *t, unsigned family, uint32_t oif)
{
	uint64_t sum = 0, h;
	size_t i;

	for (i = 0; i < t->n_addr; i++) {
		const struct se_nt_addr *a = &t->addr[i];

		if (a->family != family || a->ifindex != oif ||
		    a->scope != RT_SCOPE_UNIVERSE)
			continue;
		h = mix(FNV_START, a->addr, addr_len(family));
		sum += mix(h, &a->prefixlen, 1);
	}
	return sum;
}

uint64_t se_nettab_path(const struct se_nettab *t, const struct se_addr *a)
{
	const struct se_nt_route *best = NULL;
	const struct se_nt_link *link = NULL;
	size_t i, n = addr_len(a->family);
	bool tie = false;
	uint64_t h, src;

	if (t->overflow || t->odd_rules[a->family == AF_INET6])
		return whole_path(t);
	if (is_local(t, a))
		return nonzero(mix(FNV_START, "local", 5));
	for (i = 0; i < t->n_route; i++) {
		const struct se_nt_route *r = &t->route[i];

		if (r->family != a->family || !in_prefix(a->bytes, r->dst, r->dst_len, n))
			continue;
		if (!best || r->dst_len > best->dst_len ||
		    (r->dst_len == best->dst_len && r->metric < best->metric)) {
			best = r;
			tie = false;
		} else if (r->dst_len == best->dst_len && r->metric == best->metric) {
			tie = true;	/* routes the kernel may share out */
		}
	}
	/* No route in the main table: the default table, or ENETUNREACH;
	 * not modelled. */
	if (!best || tie || best->unmodelled)
		return whole_path(t);
	switch (best->type) {
	case RTN_UNICAST:
		break;
	case RTN_BLACKHOLE:
	case RTN_UNREACHABLE:
	case RTN_PROHIBIT:
		h = mix(FNV_START, "x", 1);
		h = mix(h, &best->type, 1);
		h = mix(h, &best->dst_len, 1);
		return nonzero(mix(h, best->dst, n));
	default:		/* throw, and the kinds TCP does not meet */
		return whole_path(t);
	}
	for (i = 0; i < t->n_link && !link; i++)
		if (t->link[i].ifindex == best->oif)
			link = &t->link[i];
	if (!link)
		return whole_path(t);
	h = mix(FNV_START, "p", 1);
	h = mix(h, &a->family, sizeof(a->family));
	if (best->has_gw)
		h = mix(h, best->gw, n);
	h = mix(h, link->name, sizeof(link->name));
	h = mix(h, link->hw, link->hw_len);
	if (best->has_prefsrc)
		h = mix(h, best->prefsrc, n);
	else {
		src = sources(t, a->family, best->oif);
		h = mix(h, &src, sizeof(src));
	}
	return nonzero(h);
}

/* Reading ---------------------------------------------------------------*/

#define ATTR_MAX_ALL 64

struct attrs {
	const struct nlattr *tb[ATTR_MAX_ALL + 1];
	unsigned max;
	bool other;		/* an attribute of a type outside tb */
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	unsigned type = mnl_attr_get_type(a);

	if (type <= at->max && type <= ATTR_MAX_ALL)
		at->tb[type] = a;
	else
		at->other = true;
	return MNL_CB_OK;
}

/* Copies an address attribute of family's length into to. */
static bool get_addr(const struct nlattr *a, unsigned family, uint8_t *to)
{
	size_t n = addr_len(family);

	if (!a || mnl_attr_get_payload_len(a) != n)
		return false;
	memcpy(to, mnl_attr_get_payload(a), n);
	return true;
}

static uint32_t get_u32(const struct nlattr *a, uint32_t dflt)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : dflt;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct se_nettab *t = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { .max = RTA_MAX };
	struct se_nt_route r;

	if (nlh->nlmsg_type != RTM_NEWROUTE || (rt->rtm_flags & RTM_F_CLONED) ||
	    (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rt), attr_cb, &at);
	if (get_u32(at.tb[RTA_TABLE], rt->rtm_table) != RT_TABLE_MAIN)
		return MNL_CB_OK;
	memset(&r, 0, sizeof(r));
	r.family = rt->rtm_family;
	r.dst_len = rt->rtm_dst_len;
	r.type = rt->rtm_type;
	get_addr(at.tb[RTA_DST], r.family, r.dst);
	r.has_gw = get_addr(at.tb[RTA_GATEWAY], r.family, r.gw);
	r.has_prefsrc = get_addr(at.tb[RTA_PREFSRC], r.family, r.prefsrc);
	r.oif = get_u32(at.tb[RTA_OIF], 0);
	r.metric = get_u32(at.tb[RTA_PRIORITY], 0);
	/* Several next hops, a gateway of the other family, a next-hop
	 * object, a source-specific (IPv6) or TOS route: not modelled. */
	r.unmodelled = at.tb[RTA_MULTIPATH] || at.tb[RTA_VIA] || at.tb[RTA_NH_ID] ||
		       rt->rtm_src_len || rt->rtm_tos;
	se_nettab_add_route(t, &r);
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct se_nettab *t = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { .max = IFA_MAX };
	uint32_t flags = ifa->ifa_flags;
	struct se_nt_addr a;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &at);
	flags = get_u32(at.tb[IFA_FLAGS], flags);
	/* Privacy addresses come and go on their own schedule; the others
	 * are not chosen as a source. */
	if (flags & (IFA_F_TEMPORARY | IFA_F_TENTATIVE | IFA_F_DEPRECATED |
		     IFA_F_DADFAILED))
		return MNL_CB_OK;
	memset(&a, 0, sizeof(a));
	a.family = ifa->ifa_family;
	a.prefixlen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.ifindex = ifa->ifa_index;
	/* IFA_LOCAL is the address itself on a point-to-point link, where
	 * IFA_ADDRESS is the peer's. */
	if (!get_addr(at.tb[IFA_LOCAL], a.family, a.addr) &&
	    !get_addr(at.tb[IFA_ADDRESS], a.family, a.addr))
		return MNL_CB_OK;
	se_nettab_add_addr(t, &a);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct se_nettab *t = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { .max = IFLA_MAX };
	struct se_nt_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &at);
	memset(&l, 0, sizeof(l));
	l.ifindex = (uint32_t)ifi->ifi_index;
	l.up = ifi->ifi_flags & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
	if (at.tb[IFLA_IFNAME])
		strncpy(l.name, mnl_attr_get_payload(at.tb[IFLA_IFNAME]),
			sizeof(l.name) - 1);
	if (at.tb[IFLA_ADDRESS]) {
		size_t n = mnl_attr_get_payload_len(at.tb[IFLA_ADDRESS]);

		l.hw_len = (uint8_t)(n < sizeof(l.hw) ? n : sizeof(l.hw));
		memcpy(l.hw, mnl_attr_get_payload(at.tb[IFLA_ADDRESS]), l.hw_len);
	}
	se_nettab_add_link(t, &l);
	return MNL_CB_OK;
}

/* Is the rule one of those the kernel starts with (lookup local, main,
 * default, for every packet)? */
static bool default_rule(const struct fib_rule_hdr *frh, const struct attrs *at)
{
	uint32_t table = get_u32(at->tb[FRA_TABLE], frh->table);
	unsigned i;

	if (frh->action != FR_ACT_TO_TBL || frh->dst_len || frh->src_len ||
	    frh->tos || frh->flags || at->other ||
	    (table != RT_TABLE_LOCAL && table != RT_TABLE_MAIN &&
	     table != RT_TABLE_DEFAULT))
		return false;
	for (i = 1; i <= FRA_MAX && i <= ATTR_MAX_ALL; i++) {
		if (!at->tb[i] || i == FRA_TABLE || i == FRA_PRIORITY ||
		    i == FRA_PROTOCOL || i == FRA_PAD)
			continue;
		/* "No suppression" is said with all ones. */
		if ((i == FRA_SUPPRESS_PREFIXLEN || i == FRA_SUPPRESS_IFGROUP) &&
		    get_u32(at->tb[i], 0) == 0xffffffffu)
			continue;
		return false;
	}
	return true;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct se_nettab *t = data;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { .max = FRA_MAX };

	if (nlh->nlmsg_type != RTM_NEWRULE ||
	    (frh->family != AF_INET && frh->family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*frh), attr_cb, &at);
	t->rules++;
	if (!default_rule(frh, &at))
		t->odd_rules[frh->family == AF_INET6] = true;
	return MNL_CB_OK;
}

/* One dump request of type for family, its answers through cb. */
static int dump(struct mnl_socket *nl, uint16_t type, uint8_t family,
		size_t hdrlen, mnl_cb_t cb, struct se_nettab *t, unsigned seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	ssize_t n;
	int rc;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* The family is the first byte of every request header. */
	g = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	g->rtgen_family = family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		rc = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, t);
		if (rc <= MNL_CB_STOP)
			return rc == MNL_CB_STOP ? 0 : -1;
	}
}

/* A netlink route socket of our own, made without the program's wrappers. */
static struct mnl_socket *route_socket(int *fd)
{
	struct mnl_socket *nl;

	*fd = se_sys.socket ? se_sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
					    NETLINK_ROUTE) : -1;
	if (*fd < 0)
		return NULL;
	nl = mnl_socket_fdopen(*fd);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		free(nl);
		se_close(*fd);
		*fd = -1;
		return NULL;
	}
	return nl;
}

int se_netwatch_read(struct se_nettab *t)
{
	unsigned seq = (unsigned)time(NULL);
	struct mnl_socket *nl;
	int fd, rc;

	memset(t, 0, sizeof(*t));
	nl = route_socket(&fd);
	if (!nl)
		return -1;
	rc = dump(nl, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), route_cb, t, seq);
	if (rc == 0)
		rc = dump(nl, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg), route_cb, t, seq + 1);
	if (rc == 0)
		rc = dump(nl, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), addr_cb, t, seq + 2);
	if (rc == 0)
		rc = dump(nl, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), link_cb, t, seq + 3);
	if (rc == 0)
		rc = dump(nl, RTM_GETRULE, AF_INET, sizeof(struct fib_rule_hdr), rule_cb, t, seq + 4);
	/* IPv6 may be off in this kernel: its rules then cannot be read,
	 * and no IPv6 path is modelled. */
	if (rc == 0 && dump(nl, RTM_GETRULE, AF_INET6, sizeof(struct fib_rule_hdr),
			    rule_cb, t, seq + 5) < 0)
		t->odd_rules[1] = true;
	free(nl);
	se_close(fd);
	if (rc < 0) {
		se_nettab_free(t);
		return -1;
	}
	se_nettab_seal(t);
	return 0;
}

/* The process's view ----------------------------------------------------*/

/* With ns->lock held. */
static void install(struct se_netstate *ns, struct se_nettab *t)
{
	if (ns->have && ns->tab.whole == t->whole) {
		/* The same network: the paths known stay. */
		se_nettab_free(t);
		return;
	}
	se_nettab_free(&ns->tab);
	ns->tab = *t;
	memset(t, 0, sizeof(*t));
	ns->have = true;
	if (++ns->gen == 0)
		ns->gen = 1;
}

/* With ns->lock held. */
static void refresh_locked(struct se_netstate *ns)
{
	uint64_t now = se_boot_ms();
	struct se_nettab t;
	int saved;

	if (ns->known && now - ns->checked_ms < SE_NETWATCH_EVERY_MS)
		return;
	ns->known = true;
	ns->checked_ms = now;
	/* Read inside the program's connect() too: its errno is not ours. */
	saved = errno;
	/* A read that fails keeps the last table (none: no paths). */
	if (se_netwatch_read(&t) == 0)
		install(ns, &t);
	errno = saved;
}

void se_netstate_refresh(struct se_netstate *ns)
{
	pthread_mutex_lock(&ns->lock);
	refresh_locked(ns);
	pthread_mutex_unlock(&ns->lock);
}

void se_netstate_set(struct se_netstate *ns, struct se_nettab *t)
{
	pthread_mutex_lock(&ns->lock);
	ns->known = true;
	ns->checked_ms = se_boot_ms();
	ns->have = false;	/* installed even when it looks the same */
	install(ns, t);
	pthread_mutex_unlock(&ns->lock);
}

uint64_t se_netstate_path(struct se_netstate *ns, const struct se_addr *a)
{
	size_t n = addr_len(a->family);
	uint64_t path = 0;
	unsigned k;

	pthread_mutex_lock(&ns->lock);
	refresh_locked(ns);
	if (ns->have) {
		k = (unsigned)(mix(FNV_START, a->bytes, n) % SE_NETWATCH_CACHE);
		if (ns->cache[k].gen == ns->gen && ns->cache[k].family == a->family &&
		    memcmp(ns->cache[k].addr, a->bytes, n) == 0) {
			path = ns->cache[k].path;
		} else {
			path = se_nettab_path(&ns->tab, a);
			ns->cache[k].gen = ns->gen;
			ns->cache[k].family = (uint8_t)a->family;
			memcpy(ns->cache[k].addr, a->bytes, n);
			ns->cache[k].path = path;
		}
	}
	pthread_mutex_unlock(&ns->lock);
	return path;
}

void se_network_check(struct se_netstate *ns, struct se_history *h)
{
	se_history_use_network(h, ns);
	se_netstate_refresh(ns);
}
