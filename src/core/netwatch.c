/* rtnetlink through libmnl: the network's fingerprint and its changes. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "history.h"
#include "netwatch.h"
#include "sys.h"

#ifndef IFF_LOWER_UP		/* in linux/if.h, which net/if.h cannot join */
#define IFF_LOWER_UP 0x10000
#endif

/* An order-independent sum of per-object hashes. */
struct print {
	uint64_t sum;
	unsigned count;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static void add_attr(uint64_t *h, const struct nlattr *a)
{
	uint16_t type;

	if (!a)
		return;
	type = mnl_attr_get_type(a);
	*h = mix(*h, &type, sizeof(type));
	*h = mix(*h, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
}

struct attrs {
	const struct nlattr *tb[(RTA_MAX > IFA_MAX ? RTA_MAX : IFA_MAX) + 1];
	unsigned max;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	unsigned type = mnl_attr_get_type(a);

	if (type <= at->max && mnl_attr_type_valid(a, (uint16_t)at->max) > 0)
		at->tb[type] = a;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct print *p = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { .max = RTA_MAX };
	uint64_t h = 14695981039346656037ull;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || (rt->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rt), attr_cb, &at);
	table = at.tb[RTA_TABLE] ? mnl_attr_get_u32(at.tb[RTA_TABLE]) : rt->rtm_table;
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	h = mix(h, "r", 1);
	h = mix(h, &rt->rtm_family, 1);
	h = mix(h, &rt->rtm_dst_len, 1);
	h = mix(h, &rt->rtm_type, 1);
	add_attr(&h, at.tb[RTA_DST]);
	add_attr(&h, at.tb[RTA_GATEWAY]);
	add_attr(&h, at.tb[RTA_OIF]);
	add_attr(&h, at.tb[RTA_PRIORITY]);
	add_attr(&h, at.tb[RTA_MULTIPATH]);
	p->sum += h;
	p->count++;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct print *p = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { .max = IFA_MAX };
	uint64_t h = 14695981039346656037ull;
	uint32_t flags = ifa->ifa_flags;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &at);
	if (at.tb[IFA_FLAGS])
		flags = mnl_attr_get_u32(at.tb[IFA_FLAGS]);
	/* Privacy addresses come and go on their own schedule. */
	if (flags & IFA_F_TEMPORARY)
		return MNL_CB_OK;
	h = mix(h, "a", 1);
	h = mix(h, &ifa->ifa_family, 1);
	h = mix(h, &ifa->ifa_prefixlen, 1);
	h = mix(h, &ifa->ifa_index, sizeof(ifa->ifa_index));
	add_attr(&h, at.tb[IFA_ADDRESS]);
	add_attr(&h, at.tb[IFA_LOCAL]);
	p->sum += h;
	p->count++;
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct print *p = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	uint64_t h = 14695981039346656037ull;
	unsigned up = ifi->ifi_flags & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP);

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	h = mix(h, "l", 1);
	h = mix(h, &ifi->ifi_index, sizeof(ifi->ifi_index));
	h = mix(h, &up, sizeof(up));
	p->sum += h;
	p->count++;
	return MNL_CB_OK;
}

/* One dump request of type for family, its answers through cb. */
static int dump(struct mnl_socket *nl, uint16_t type, uint8_t family,
		size_t hdrlen, mnl_cb_t cb, struct print *p, unsigned seq)
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
		rc = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, p);
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

int se_netwatch_fingerprint(uint64_t *fp)
{
	struct print p = { 0, 0 };
	unsigned seq = (unsigned)time(NULL);
	struct mnl_socket *nl;
	int fd, rc;

	nl = route_socket(&fd);
	if (!nl)
		return -1;
	rc = dump(nl, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), route_cb, &p, seq);
	if (rc == 0)
		rc = dump(nl, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg), route_cb, &p, seq + 1);
	if (rc == 0)
		rc = dump(nl, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), addr_cb, &p, seq + 2);
	if (rc == 0)
		rc = dump(nl, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), link_cb, &p, seq + 3);
	free(nl);
	se_close(fd);
	if (rc < 0)
		return -1;
	*fp = p.sum ^ ((uint64_t)p.count << 48) ^ 0x5e5e;
	return 0;
}

void se_network_check(struct se_netstate *ns, struct se_history *h)
{
	uint64_t fp, now = se_boot_ms();

	pthread_mutex_lock(&ns->lock);
	if (!ns->known || now - ns->checked_ms >= SE_NETWATCH_EVERY_MS) {
		ns->known = true;
		ns->checked_ms = now;
		if (se_netwatch_fingerprint(&fp) == 0)
			se_history_network(h, fp);
	}
	pthread_mutex_unlock(&ns->lock);
}
