/* Memory of which addresses belong to one name: the candidates.
 *
 * getaddrinfo() and gethostbyname*() results are copied in, so the memory
 * does not depend on the program's freeaddrinfo(). It is bounded in size
 * (SE_NAMES_MAX names of SE_NAME_ADDRS_MAX addresses) and in time (a name is
 * forgotten SE_NAME_TTL_MS after it was resolved). Thread-safe.
 *
 * A connect() never fails over beyond the name the program is connecting
 * to. Names share addresses (CDNs, virtual hosting, load balancers), so
 * the address alone does not always tell which name that is. In order of
 * certainty: the program passes the very sockaddr of a getaddrinfo()
 * answer still alive (its pointer, the "key", is remembered until
 * freeaddrinfo()); or one name alone holds the address; or several do, and
 * only the addresses they all share are candidates. */
#ifndef SOFTERR_CORE_NAMES_H
#define SOFTERR_CORE_NAMES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SE_NAMES_MAX 64
#define SE_NAME_ADDRS_MAX 32
#define SE_NAME_LEN 96
/* The sockaddr pointers of one getaddrinfo() answer kept to know it again
 * (an address per socket type: 3 nodes each for a lookup without hints). */
#define SE_NAME_KEYS 64
#define SE_NAME_TTL_MS (120 * 1000)
/* An address that failed, or a name on which persistence was spent, stays
 * so for this long: the program's own loop over the other addresses right
 * after a failed connect() then costs one quick attempt each. */
#define SE_ROUND_MS (10 * 1000)

/* An IP address; IPv4 also when it came as an IPv4-mapped IPv6 address. */
struct se_addr {
	sa_family_t family;		/* AF_INET or AF_INET6 */
	uint32_t scope_id;		/* AF_INET6 only */
	uint8_t bytes[16];		/* AF_INET: the first 4 */
};

struct se_name_addr {
	struct se_addr addr;
	uint64_t failed_at_ms;		/* 0: no failure this round */
};

struct se_name {
	uint64_t resolved_at_ms;	/* 0: slot unused */
	uint64_t persisted_at_ms;	/* 0: persistence not spent */
	struct se_addr persisted_on;	/* ... on this address, */
	bool persist_lost;		/* ... and lost */
	char name[SE_NAME_LEN];
	size_t n;
	struct se_name_addr addrs[SE_NAME_ADDRS_MAX];
	/* The latest getaddrinfo() answer of the name, until it is freed:
	 * its list (as freeaddrinfo() gets it) and its nodes' ai_addr. Only
	 * compared, never dereferenced. */
	const void *answer;
	size_t n_keys;
	const void *keys[SE_NAME_KEYS];
};

struct se_names {
	pthread_mutex_t lock;		/* after the loop's (core/loop.h: the order) */
	unsigned next;			/* the slot the next name takes */
	unsigned used;			/* slots ever filled, for a fast miss */
	struct se_name slot[SE_NAMES_MAX];
};

/* How the candidates of a connect() were found. */
enum se_cand_source {
	SE_CAND_NONE,		/* no name known holds the address: it alone */
	SE_CAND_ANSWER,		/* the program passed a sockaddr of the answer */
	SE_CAND_NAME,		/* one name holds the address */
	SE_CAND_SHARED,		/* several do: the addresses common to all */
};

/* What one connect() may try. */
struct se_candidates {
	char name[SE_NAME_LEN];		/* "" for an address with no known name;
					 * SE_CAND_SHARED: the newest name */
	enum se_cand_source source;
	unsigned n_names;		/* SE_CAND_SHARED: names holding it */
	bool persist_spent;
	size_t n;			/* at least 1: the address asked for */
	struct se_addr addr[SE_NAME_ADDRS_MAX];
};

/* Makes m empty; its slots need not be zeroed (only those taken are read). */
void se_names_init(struct se_names *m);

/* Fills a from sa; an IPv4-mapped IPv6 address becomes AF_INET. Returns 0,
 * or -1 for a family other than AF_INET and AF_INET6 or a short len. */
int se_addr_from_sockaddr(struct se_addr *a, const struct sockaddr *sa,
			  socklen_t len);
bool se_addr_equal(const struct se_addr *a, const struct se_addr *b);
/* The index of a among addrs[0] to addrs[*n - 1], appended (and *n grown)
 * when it is not there; max when it is not there and there is no room. */
size_t se_addr_put(struct se_addr *addrs, size_t *n, size_t max,
		   const struct se_addr *a);
/* Writes a into ss with port (network order); v4mapped turns an IPv4 address
 * into ::ffff:a.b.c.d for an AF_INET6 socket. Returns the sockaddr's length. */
socklen_t se_addr_to_sockaddr(const struct se_addr *a, uint16_t port,
			      bool v4mapped, struct sockaddr_storage *ss);
/* "192.0.2.1" or "2001:db8::1". */
const char *se_addr_str(const struct se_addr *a, char *buf, size_t len);

/* Remembers name (may be NULL) with addrs in the resolver's order; duplicates
 * are dropped, at most SE_NAME_ADDRS_MAX kept. A name already known is
 * replaced, starting a new round. answer and keys (n_keys of them; NULL and
 * 0 for a host entry): the getaddrinfo() list and its nodes' ai_addr, to
 * know a connect() from that answer (see se_names_candidates()). */
void se_names_remember(struct se_names *m, const char *name,
		       const struct se_addr *addrs, size_t n, uint64_t now_ms,
		       const void *answer, const void *const *keys, size_t n_keys);

/* freeaddrinfo(answer): its keys may be reused by any allocation now. */
void se_names_forget_answer(struct se_names *m, const void *answer);

/* The candidates for a connect() to asked, passed as the sockaddr at key:
 * asked first, then the other addresses of its name that did not fail this
 * round, those after asked in the resolver's order first, then those
 * before. The name is the one whose live answer key belongs to; else the
 * only live name holding asked; where several do, the candidates are the
 * addresses they all hold, in the newest one's order (never an address of
 * another name than the one connected to). With no such name, asked
 * alone. */
void se_names_candidates(struct se_names *m, const struct se_addr *asked,
			 const void *key, uint64_t now_ms,
			 struct se_candidates *out);

/* The newest live name holding a, into buf (of size len). Returns false,
 * buf "", when no name holds it. */
bool se_names_name_of(struct se_names *m, const struct se_addr *a,
		      uint64_t now_ms, char *buf, size_t len);

/* RFC 8305 section 4: keeps the first candidate, then alternates families
 * starting with the other one, each family in its own order. */
void se_candidates_interleave(struct se_candidates *c);

/* Notes that a failed this round, in every live name holding it. */
void se_names_mark_failed(struct se_names *m, const struct se_addr *a,
			  uint64_t now_ms);
/* Notes that a connect() persists on a (lost false) or persisted and gave
 * up (lost true): the name's persistence is spent for this round, on its
 * other addresses (the program's own attempts at them, as curl races its
 * addresses, would each wait the whole budget) and, once lost, on a too.
 * Concurrent connects to a itself, which wait at the same time, may each
 * persist while none has lost. */
void se_names_mark_persisted(struct se_names *m, const struct se_addr *a,
			     uint64_t now_ms, bool lost);

#endif
