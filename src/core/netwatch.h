/* The network as rtnetlink shows it (libmnl), for the address history: the
 * path the kernel would send a packet to a destination on (gateway, output
 * interface, source address), so that what was learned on one path is used
 * on that path only. A change that does not touch a destination's path
 * forgets nothing about it (a container's veth link coming and going, a
 * route elsewhere); one that does makes its entries unused until the path
 * comes back (a VPN or a Wi-Fi network left and rejoined), within the
 * history's lifetime.
 *
 * The main table's routes, the addresses, the links and the policy rules
 * of both families are read at most once a second per process, when the
 * history is about to be used; the route choice is made here, in the
 * process (longest prefix, then lowest metric), and kept per destination
 * until the next read that finds the network changed.
 *
 * Not modelled: policy routing (any rule but the kernel's defaults), routes
 * with a TOS, multipath routes, a destination the main table has no route
 * for, more routes, addresses or links than the caps below. For such a
 * destination the path is the fingerprint of the whole network, as before
 * paths: any change anywhere makes what was learned for it unused.
 *
 * Why not a subscribed socket kept open? It would be a descriptor in every
 * program that resolves a name: one the program's fd accounting sees, and
 * one that can take the lowest number a daemon that closed its standard
 * descriptors expects open() to return. The history matters only when it
 * is consulted, and a fresh look then tells what a listener would have. */
#ifndef SOFTERR_CORE_NETWATCH_H
#define SOFTERR_CORE_NETWATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define SE_NT_ROUTES_MAX 4096
#define SE_NT_ADDRS_MAX 1024
#define SE_NT_LINKS_MAX 1024

/* One route of the main table. */
struct se_nt_route {
	uint8_t family, dst_len, type;	/* RTN_UNICAST, RTN_BLACKHOLE, ... */
	bool has_gw, has_prefsrc;
	bool unmodelled;		/* several next hops, a TOS, a source prefix */
	uint8_t dst[16], gw[16], prefsrc[16];
	uint32_t oif, metric;
};

/* One address of an interface (temporary, tentative, deprecated and
 * failed ones are not kept: they come and go on their own schedule, and
 * are not chosen as a source). */
struct se_nt_addr {
	uint8_t family, prefixlen, scope;
	uint8_t addr[16];
	uint32_t ifindex;
};

/* One link: how a path names its interface. */
struct se_nt_link {
	uint32_t ifindex;
	char name[16];
	uint8_t hw[32];
	uint8_t hw_len;
	unsigned up;			/* IFF_UP, IFF_RUNNING, IFF_LOWER_UP */
};

/* The network as read once. */
struct se_nettab {
	struct se_nt_route *route;
	struct se_nt_addr *addr;
	struct se_nt_link *link;
	size_t n_route, n_addr, n_link;
	bool odd_rules[2];		/* [0] IPv4, [1] IPv6: rules not modelled */
	bool overflow;			/* more than the caps: nothing modelled */
	unsigned rules;			/* how many rules, of both families */
	uint64_t whole;			/* everything, in any order */
};

/* Adds one object to t (the tests build tables with these); false when
 * the cap is reached (t->overflow is then set) or memory is short. */
bool se_nettab_add_route(struct se_nettab *t, const struct se_nt_route *r);
bool se_nettab_add_addr(struct se_nettab *t, const struct se_nt_addr *a);
bool se_nettab_add_link(struct se_nettab *t, const struct se_nt_link *l);

/* Frees what t holds; t is then empty. */
void se_nettab_free(struct se_nettab *t);

/* Folds what the objects added so far are into t->whole (the read does it
 * as it goes; the tests call it after adding). */
void se_nettab_seal(struct se_nettab *t);

/* The path to a, never 0: a hash of the route's gateway, the output
 * interface's name and hardware address, and the source address (the
 * route's preferred source, else the interface's addresses of a's family
 * and global scope); of the route's type and prefix for an unreachable,
 * blackhole or prohibit route; a's own address is "local"; what is not
 * modelled (above) is t->whole. The interface is named by name and
 * hardware address, not by index: a link deleted and made again with the
 * same name and hardware address (a VPN's tun device, a re-plugged
 * adapter) is the same path, a new veth link (a new random address) is
 * another. */
uint64_t se_nettab_path(const struct se_nettab *t, const struct se_addr *a);

/* Reads the network into t (empty before). Returns 0, or -1 when rtnetlink
 * cannot be asked (t is then empty). */
int se_netwatch_read(struct se_nettab *t);

/* A process's view of the network, for the history. */
#define SE_NETWATCH_CACHE 64
struct se_netstate {
	pthread_mutex_t lock;	/* never under the history's (loop.h) */
	bool known;			/* a read was tried */
	bool have;			/* tab holds a read */
	uint64_t checked_ms;		/* when (se_boot_ms) */
	struct se_nettab tab;
	unsigned gen;			/* one more at each table changed */
	struct {
		unsigned gen;		/* 0: empty */
		uint8_t family;
		uint8_t addr[16];
		uint64_t path;
	} cache[SE_NETWATCH_CACHE];
};

#define SE_NETSTATE_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }
#define SE_NETWATCH_EVERY_MS 1000

/* Reads the network again, unless it was read less than
 * SE_NETWATCH_EVERY_MS ago; a read that finds it unchanged keeps the
 * paths known per destination. */
void se_netstate_refresh(struct se_netstate *ns);

/* Puts t (taken over, left empty) in ns as if just read: for the tests. */
void se_netstate_set(struct se_netstate *ns, struct se_nettab *t);

/* The path to a now (se_netstate_refresh() first), or 0 when the network
 * could not be read: what was learned then is used whatever the path. */
uint64_t se_netstate_path(struct se_netstate *ns, const struct se_addr *a);

struct se_history;

/* Gives h the view of the network its entries are keyed by (done once, at
 * the history's start, also by se_network_check()) and reads it again if
 * due. */
void se_network_check(struct se_netstate *ns, struct se_history *h);

#endif
