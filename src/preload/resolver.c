/* getaddrinfo() and gethostbyname*(): remember which addresses belong to a
 * name, and put the addresses that failed lately last (the address
 * history; RFC 8305 section 4 allows such use of historical data). The
 * memory holds copies, so the program's freeaddrinfo() (before, during or
 * after its connects) changes none of it, but for the answer's sockaddr
 * pointers, which tell a connect() from this very answer until
 * freeaddrinfo() lets them be reused (names.h). Only names with more than
 * one address are remembered (a lone address has no alternative anyway),
 * unless softerr.conf has destination sections that match names. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/history.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/sys.h"
#include "core/lazy.h"
#include "preload.h"

/* Is the memory of names used at all? Not under the kernel policy, unless
 * a destination section may choose another. */
static bool se_conf_remembers(void)
{
	return se_policy_acts(&se_conf.base) || se_conf.n_dest > 0;
}

/* Is node an address rather than a name ("192.0.2.1", "2001:db8::1",
 * "fe80::1%eth0")? Its lookup says nothing of a name's other addresses:
 * aria2c and others pass the addresses their own resolver found. */
static bool literal(const char *node)
{
	struct in_addr a;

	return strchr(node, ':') || inet_aton(node, &a);
}

#define NODES_MAX 96	/* nodes of one answer reordered at most */

/* Is a a loopback address? An answer made only of them (localhost's) is
 * left alone: their connects are the kernel's, so the history knows
 * nothing of them, and ordering them, or loading what a connect beyond
 * loopback needs, would only cost. */
static bool is_loopback(const struct se_addr *a)
{
	static const uint8_t v6[16] = { [15] = 1 };

	return a->family == AF_INET ? a->bytes[0] == 127 :
	       memcmp(a->bytes, v6, 16) == 0;
}

/* A name beyond loopback was resolved: a connect() is likely to follow.
 * What it needs is loaded now, while a descriptor is surely free (a
 * program at its limit has none left by then). */
static void connect_may_follow(void)
{
	se_lazy_load_mnl();
	se_lazy_load_ev();
}

/* Reorders *res (its k nodes, node j an address of addrs[of[j]]) so that
 * the addresses the history saw fail lately come after the others, and
 * addrs with them; the nodes of one address (one per socket type) stay
 * together and each group keeps the resolver's order. The canonical name
 * stays on the first node, where the program looks for it. */
static void order_by_history(const char *node, struct addrinfo **res,
			     struct addrinfo **nodes, const size_t *of, size_t k,
			     struct se_addr *addrs, size_t n)
{
	struct addrinfo *head = NULL, **tail = &head;
	struct se_hist_info why[SE_NAME_ADDRS_MAX];
	size_t order[SE_NAME_ADDRS_MAX], i, j, failed;
	char *canon = (*res)->ai_canonname;

	failed = se_runtime_order(addrs, n, order, why);
	if (!failed)
		return;
	for (i = 0; i < n; i++)
		for (j = 0; j < k; j++)
			if (of[j] == order[i]) {
				*tail = nodes[j];
				tail = &nodes[j]->ai_next;
			}
	*tail = NULL;
	if (head != *res && canon) {
		(*res)->ai_canonname = NULL;
		head->ai_canonname = canon;
	}
	*res = head;
	if (se_conf.base.log.to) {
		struct se_line line;
		char abuf[INET6_ADDRSTRLEN], what[96];

		se_line_init(&line);
		se_line_add(&line, "softerr: getaddrinfo %.*s:", SE_NAME_LEN, node);
		for (i = n - failed; i < n; i++)
			se_line_add(&line, " %s tried last (%s);",
				    se_addr_str(&addrs[i], abuf, sizeof(abuf)),
				    se_history_describe(&why[i], addrs[i].family,
							what, sizeof(what)));
		se_line_emit(&line, &se_conf.base.log);
	}
}

/* One pass over getaddrinfo()'s answer: its distinct addresses, put in the
 * history's order (the nodes with them) when every node is one of them,
 * then remembered as the name's candidates. */
static void learn_addrinfo(const char *node, struct addrinfo **res)
{
	struct addrinfo *nodes[NODES_MAX], *ai;
	struct se_addr addrs[SE_NAME_ADDRS_MAX], a;
	size_t of[NODES_MAX], n = 0, k = 0, i;
	bool whole = true, beyond = false;	/* beyond loopback */

	for (ai = *res; ai; ai = ai->ai_next) {
		if (!ai->ai_addr ||
		    se_addr_from_sockaddr(&a, ai->ai_addr, ai->ai_addrlen) < 0) {
			whole = false;	/* not ours to reorder */
			continue;
		}
		beyond |= !is_loopback(&a);
		i = se_addr_put(addrs, &n, SE_NAME_ADDRS_MAX, &a);
		if (i == SE_NAME_ADDRS_MAX) {
			whole = false;
			break;
		}
		if (k == NODES_MAX) {
			whole = false;
		} else {
			of[k] = i;
			nodes[k++] = ai;
		}
	}
	if (beyond)
		connect_may_follow();
	if (whole && n > 1 && se_history.enabled && beyond) {
		order_by_history(node, res, nodes, of, k, addrs, n);
	} else if (n == 1 && se_history.enabled && beyond) {
		/* A lone address: the history is read now (not in connect()),
		 * so that a connect that succeeds at once knows it must clear
		 * a failure the history holds for it (the network too, when
		 * the history holds the address: libmnl is loaded). */
		struct se_hist_info known;

		se_history_get(&se_history, &addrs[0], se_boot_ms(), &known);
	}
	/* A lone address too: it is then known as its name's last, which the
	 * adaptive policy persists on (an address of no known name it does
	 * not: the program may have others, resolved where it is not seen). */
	if (n > 1 || (n == 1 && (se_conf.dest_by_name || !literal(node)))) {
		const void *keys[NODES_MAX];

		for (i = 0; i < k; i++)
			keys[i] = nodes[i]->ai_addr;
		se_names_remember(&se_names, node, addrs, n, se_now_ms(), *res,
				  keys, k);
	}
}

SE_EXPORT int getaddrinfo(const char *node, const char *service,
			  const struct addrinfo *hints, struct addrinfo **res)
{
	int rc;

	if (!se_configured()) {
		if (se_sys.getaddrinfo)
			return se_sys.getaddrinfo(node, service, hints, res);
		return EAI_SYSTEM;
	}
	if (!SE_ENTER())
		return se_sys.getaddrinfo(node, service, hints, res);
	rc = se_sys.getaddrinfo(node, service, hints, res);
	if (rc == 0 && node && se_conf_remembers()) {
		int saved = errno;

		if (*res)
			learn_addrinfo(node, res);
		errno = saved;
	}
	se_leave();
	return rc;
}

void se_remember_hostent(const char *name, struct hostent *h)
{
	struct se_addr addrs[SE_NAME_ADDRS_MAX];
	size_t n = 0, i;
	bool beyond = false;	/* beyond loopback */
	char **p;

	if (!h || !h->h_addr_list || !se_conf_remembers())
		return;
	if (!((h->h_addrtype == AF_INET && h->h_length == 4) ||
	      (h->h_addrtype == AF_INET6 && h->h_length == 16)))
		return;
	for (p = h->h_addr_list; *p && n < SE_NAME_ADDRS_MAX; p++) {
		struct sockaddr_in s4 = { .sin_family = AF_INET };
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
		struct sockaddr *sa;
		socklen_t len;

		if (h->h_addrtype == AF_INET) {
			memcpy(&s4.sin_addr, *p, 4);
			sa = (struct sockaddr *)&s4;
			len = sizeof(s4);
		} else {
			memcpy(&s6.sin6_addr, *p, 16);
			sa = (struct sockaddr *)&s6;
			len = sizeof(s6);
		}
		se_addr_from_sockaddr(&addrs[n], sa, len);
		beyond |= !is_loopback(&addrs[n++]);
	}
	if (beyond)
		connect_may_follow();
	if (se_history.enabled && n > 1 && !*p && beyond) {
		/* The history's order, as for getaddrinfo(): the pointers of
		 * the list are moved, the addresses stay where they are. */
		size_t order[SE_NAME_ADDRS_MAX];
		char *ptr[SE_NAME_ADDRS_MAX];

		if (se_runtime_order(addrs, n, order, NULL) > 0) {
			memcpy(ptr, h->h_addr_list, n * sizeof(ptr[0]));
			for (i = 0; i < n; i++)
				h->h_addr_list[i] = ptr[order[i]];
		}
	}
	if (n > 1 || (n == 1 && (se_conf.dest_by_name || (name && !literal(name)))))
		se_names_remember(&se_names, name, addrs, n, se_now_ms(),
				  NULL, NULL, 0);
}

SE_EXPORT void freeaddrinfo(struct addrinfo *res)
{
	if (!se_ready()) {
		if (se_sys.freeaddrinfo)
			se_sys.freeaddrinfo(res);
		return;
	}
	se_names_forget_answer(&se_names, res);
	se_sys.freeaddrinfo(res);
}
