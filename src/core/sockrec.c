/* Records of the options and local address the program gave its sockets. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "fdtab.h"
#include "sockrec.h"
#include "sys.h"

/* The records live in the per-descriptor table (fdtab.h): a slot is made
 * the first time socket() returns its number for a TCP socket, so readers
 * need no lock: a number without a slot holds no record.
 *
 * fd's slot; NULL when there is none and make is false (or none can be
 * made). Async-signal-safe. */
static struct se_fdslot *slot_of(int fd, bool make)
{
	return make ? se_fdtab_make(fd) : se_fdtab_get(fd);
}

static struct se_fdslot *claim_slot(struct se_fdslot *s)
{
	if (!s)
		return NULL;
	if (__atomic_exchange_n(&s->rec_busy, 1, __ATOMIC_ACQUIRE)) {
		/* Another thread (or a signal handler) is at it: the record
		 * can no longer be trusted, and is not waited for. */
		__atomic_store_n(&s->rec.unusable, true, __ATOMIC_RELAXED);
		return NULL;
	}
	return s;
}

/* fd's record, to change or read it; NULL when there is none or another
 * thread is at it. */
static struct se_fdslot *claim(int fd)
{
	return claim_slot(slot_of(fd, false));
}

static void release(struct se_fdslot *s)
{
	__atomic_store_n(&s->rec_busy, 0, __ATOMIC_RELEASE);
}

bool se_sockrec_is_tcp(int fd)
{
	struct se_fdslot *s = slot_of(fd, false);

	return s && __atomic_load_n(&s->rec.tracked, __ATOMIC_RELAXED);
}

bool se_sockrec_fresh(int fd)
{
	struct se_fdslot *s = slot_of(fd, false);

	return s && __atomic_load_n(&s->rec.fresh, __ATOMIC_RELAXED);
}

void se_sockrec_connect(int fd)
{
	struct se_fdslot *s = slot_of(fd, false);

	if (s)
		__atomic_store_n(&s->rec.fresh, false, __ATOMIC_RELAXED);
}

void se_sockrec_socket(int fd, int domain, int type, int protocol)
{
	bool tcp = (domain == AF_INET || domain == AF_INET6) &&
		   (type & 0xf) == SOCK_STREAM &&
		   (protocol == 0 || protocol == IPPROTO_TCP);
	/* A block is mapped for a TCP socket only: an old record of the
	 * number is ended all the same. */
	struct se_fdslot *s = claim_slot(slot_of(fd, tcp));

	if (!s)
		return;
	/* A fresh record: the options past n and the address unless bound
	 * are never read. tracked and fresh are read without the busy flag. */
	__atomic_store_n(&s->rec.unusable, false, __ATOMIC_RELAXED);
	s->rec.bound = false;
	s->rec.n = 0;
	__atomic_store_n(&s->rec.tracked, tcp, __ATOMIC_RELAXED);
	__atomic_store_n(&s->rec.fresh, tcp, __ATOMIC_RELAXED);
	release(s);
}


void se_sockrec_setsockopt(int fd, int level, int name, const void *val,
			   socklen_t len)
{
	struct se_fdslot *s;
	struct se_sockopt *o;
	unsigned i;

	if (!se_sockrec_is_tcp(fd))
		return;
	s = claim(fd);
	if (!s)
		return;
	if (len > SE_SOCKREC_VAL || !val) {
		__atomic_store_n(&s->rec.unusable, true, __ATOMIC_RELAXED);
		release(s);
		return;
	}
	/* Setting an option again replaces it where it stood. */
	for (i = 0, o = NULL; i < s->rec.n; i++)
		if (s->rec.opt[i].level == level && s->rec.opt[i].name == name)
			o = &s->rec.opt[i];
	if (!o) {
		if (s->rec.n == SE_SOCKREC_OPTS) {
			__atomic_store_n(&s->rec.unusable, true,
					 __ATOMIC_RELAXED);
			release(s);
			return;
		}
		o = &s->rec.opt[s->rec.n++];
	}
	o->level = level;
	o->name = name;
	o->len = len;
	memcpy(o->val, val, len);
	release(s);
}

void se_sockrec_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct se_fdslot *s;

	if (!se_sockrec_is_tcp(fd))
		return;
	s = claim(fd);
	if (!s)
		return;
	if (!sa || len > sizeof(s->rec.local) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		__atomic_store_n(&s->rec.unusable, true, __ATOMIC_RELAXED);
	} else {
		memset(&s->rec.local, 0, sizeof(s->rec.local));
		memcpy(&s->rec.local, sa, len);
		s->rec.local_len = len;
		s->rec.bound = true;
	}
	release(s);
}

int se_sockrec_get(int fd, struct se_sockrec *out)
{
	struct se_fdslot *s;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!se_sockrec_is_tcp(fd))
		return -1;
	s = claim(fd);
	if (!s)
		return -1;
	/* The three flags are also written by threads that do not hold the
	 * busy flag (connect() clears fresh at any time), so they are read
	 * one by one; the rest is only written under it. */
	if (__atomic_load_n(&s->rec.tracked, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&s->rec.unusable, __ATOMIC_RELAXED)) {
		out->tracked = true;
		out->fresh = __atomic_load_n(&s->rec.fresh, __ATOMIC_RELAXED);
		out->bound = s->rec.bound;
		out->n = s->rec.n;
		out->local = s->rec.local;
		out->local_len = s->rec.local_len;
		memcpy(out->opt, s->rec.opt, sizeof(out->opt));
		rc = 0;
	}
	release(s);
	return rc;
}

uint16_t se_sockrec_port(const struct se_sockrec *rec)
{
	if (!rec->bound)
		return 0;
	if (rec->local.sin6_family == AF_INET)
		return ((const struct sockaddr_in *)&rec->local)->sin_port;
	return rec->local.sin6_port;
}

/* The option to set on a socket of family for what the program set; 0 when
 * it carries over as it is, -1 when it cannot. */
static int map_option(const struct se_sockopt *o, int family, int *level,
		      int *name)
{
	*level = o->level;
	*name = o->name;
	if (o->level == SOL_SOCKET || o->level == IPPROTO_TCP)
		return 0;
	if (family == AF_INET) {
		if (o->level == SOL_IP)
			return 0;
		if (o->level == SOL_IPV6 && o->name == IPV6_TCLASS)
			*level = SOL_IP, *name = IP_TOS;
		else if (o->level == SOL_IPV6 && o->name == IPV6_UNICAST_HOPS)
			*level = SOL_IP, *name = IP_TTL;
		else if (o->level == SOL_IPV6 && o->name == IPV6_V6ONLY)
			*level = -1;	/* meaningless on an IPv4 socket */
		else
			return -1;
		return 0;
	}
	/* AF_INET6: SOL_IP options also act on IPv4-mapped traffic. */
	if (o->level == SOL_IPV6 || o->level == SOL_IP)
		return 0;
	return -1;
}

int se_sockrec_apply(const struct se_sockrec *rec, int fd, int family,
		     const char **why)
{
	unsigned i;

	for (i = 0; i < rec->n; i++) {
		const struct se_sockopt *o = &rec->opt[i];
		int level, name;

		if (map_option(o, family, &level, &name) < 0) {
			*why = "an IP option of the other family";
			return -1;
		}
		if (level < 0)
			continue;
		if (se_sys.setsockopt(fd, level, name, o->val, o->len) < 0) {
			*why = "an option the new socket refused";
			return -1;
		}
	}
	if (rec->bound) {
		struct sockaddr_in6 local = rec->local;

		if (local.sin6_family != family) {
			*why = "a local address of the other family";
			return -1;
		}
		if (se_sys.bind(fd, (struct sockaddr *)&local, rec->local_len) < 0) {
			*why = "the local address";
			return -1;
		}
	}
	return 0;
}

void se_sockrec_reset(void)
{
	se_fdtab_reset();
}
