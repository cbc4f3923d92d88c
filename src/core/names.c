/* The candidate memory: a ring of recently resolved names. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

/* Only the counters: the slots (over 100 KB) are read up to used alone,
 * and each is zeroed as it is first taken. Zeroing them all here would
 * fault in every page of them, zero already in a static, in every process
 * the library is preloaded into, at its first socket call. */
void se_names_init(struct se_names *m)
{
	m->next = 0;
	m->used = 0;
	pthread_mutex_init(&m->lock, NULL);
}

int se_addr_from_sockaddr(struct se_addr *a, const struct sockaddr *sa,
			  socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		a->family = AF_INET;
		memcpy(a->bytes, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(a->bytes, &s6->sin6_addr.s6_addr[12], 4);
			return 0;
		}
		a->family = AF_INET6;
		a->scope_id = s6->sin6_scope_id;
		memcpy(a->bytes, &s6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

bool se_addr_equal(const struct se_addr *a, const struct se_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return memcmp(a->bytes, b->bytes, 4) == 0;
	return a->scope_id == b->scope_id && memcmp(a->bytes, b->bytes, 16) == 0;
}

size_t se_addr_put(struct se_addr *addrs, size_t *n, size_t max,
		   const struct se_addr *a)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (se_addr_equal(&addrs[i], a))
			return i;
	if (*n == max)
		return max;
	addrs[(*n)++] = *a;
	return i;
}

socklen_t se_addr_to_sockaddr(const struct se_addr *a, uint16_t port,
			      bool v4mapped, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET && !v4mapped) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = port;
		memcpy(&s4->sin_addr, a->bytes, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = port;
	if (a->family == AF_INET) {
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], a->bytes, 4);
	} else {
		memcpy(&s6->sin6_addr, a->bytes, 16);
		s6->sin6_scope_id = a->scope_id;
	}
	return sizeof(*s6);
}

const char *se_addr_str(const struct se_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* Is at_ms within ms before now_ms? A time after now_ms is too: another
 * thread may have read the clock after the caller and written under the
 * lock first (unsigned, now_ms - at_ms would then be huge, and a name
 * just resolved by one thread not live for another's connect). */
static bool within(uint64_t at_ms, uint64_t now_ms, uint64_t ms)
{
	return at_ms && (now_ms <= at_ms || now_ms - at_ms < ms);
}

static bool live(const struct se_name *e, uint64_t now_ms)
{
	return within(e->resolved_at_ms, now_ms, SE_NAME_TTL_MS);
}

static bool in_round(uint64_t at_ms, uint64_t now_ms)
{
	return within(at_ms, now_ms, SE_ROUND_MS);
}

static int find_addr(const struct se_name *e, const struct se_addr *a)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (se_addr_equal(&e->addrs[i].addr, a))
			return (int)i;
	return -1;
}

/* Does e hold exactly addrs (n of them, duplicates already dropped)? */
static bool same_addrs(const struct se_name *e, const struct se_addr *addrs,
		       size_t n)
{
	size_t i;

	if (e->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (!se_addr_equal(&e->addrs[i].addr, &addrs[i]))
			return false;
	return true;
}

/* Keeps the answer's keys in e (with the lock held). */
static void set_keys(struct se_name *e, const void *answer,
		     const void *const *keys, size_t n_keys)
{
	/* Those past the room are not known again: their connects go by the
	 * address alone. */
	e->answer = answer;
	e->n_keys = n_keys < SE_NAME_KEYS ? n_keys : SE_NAME_KEYS;
	if (e->n_keys)
		memcpy(e->keys, keys, e->n_keys * sizeof(keys[0]));
}

void se_names_remember(struct se_names *m, const char *name,
		       const struct se_addr *addrs, size_t n, uint64_t now_ms,
		       const void *answer, const void *const *keys, size_t n_keys)
{
	struct se_name *e = NULL;
	size_t i;

	if (!name)
		name = "";
	pthread_mutex_lock(&m->lock);
	for (i = 0; *name && i < m->used; i++)
		if (m->slot[i].resolved_at_ms &&
		    strncmp(m->slot[i].name, name, SE_NAME_LEN - 1) == 0) {
			e = &m->slot[i];
			break;
		}
	if (e && n <= SE_NAME_ADDRS_MAX && same_addrs(e, addrs, n)) {
		/* The common case, the same answer again: a new round. */
		for (i = 0; i < e->n; i++)
			e->addrs[i].failed_at_ms = 0;
	} else {
		if (!e) {
			e = &m->slot[m->next];
			if (m->next == m->used)	/* never taken: as new */
				memset(e, 0, sizeof(*e));
			m->next = (m->next + 1) % SE_NAMES_MAX;
			if (m->used < SE_NAMES_MAX)
				__atomic_store_n(&m->used, m->used + 1,
						 __ATOMIC_RELEASE);
		}
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->n = 0;
		for (i = 0; i < n && e->n < SE_NAME_ADDRS_MAX; i++)
			if (find_addr(e, &addrs[i]) < 0) {
				e->addrs[e->n].addr = addrs[i];
				e->addrs[e->n++].failed_at_ms = 0;
			}
	}
	set_keys(e, answer, keys, n_keys);
	e->persisted_at_ms = 0;
	e->persist_lost = false;
	e->resolved_at_ms = now_ms ? now_ms : 1;
	pthread_mutex_unlock(&m->lock);
}

void se_names_forget_answer(struct se_names *m, const void *answer)
{
	unsigned i;

	if (!answer || __atomic_load_n(&m->used, __ATOMIC_ACQUIRE) == 0)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->used; i++)
		if (m->slot[i].answer == answer)
			set_keys(&m->slot[i], NULL, NULL, 0);
	pthread_mutex_unlock(&m->lock);
}

/* The newest live name holding a, and a's index in it; NULL if none.
 * Called with the lock held. */
static struct se_name *newest_holding(struct se_names *m,
				      const struct se_addr *a,
				      uint64_t now_ms, int *index)
{
	struct se_name *best = NULL;
	unsigned i;
	int k;

	for (i = 0; i < m->used; i++) {
		struct se_name *e = &m->slot[i];

		if (!live(e, now_ms) ||
		    (best && e->resolved_at_ms <= best->resolved_at_ms))
			continue;
		k = find_addr(e, a);
		if (k >= 0) {
			best = e;
			*index = k;
		}
	}
	return best;
}

bool se_names_name_of(struct se_names *m, const struct se_addr *a,
		      uint64_t now_ms, char *buf, size_t len)
{
	struct se_name *e;
	int k;

	buf[0] = '\0';
	if (__atomic_load_n(&m->used, __ATOMIC_RELAXED) == 0)
		return false;
	pthread_mutex_lock(&m->lock);
	e = newest_holding(m, a, now_ms, &k);
	if (e)
		snprintf(buf, len, "%s", e->name);
	pthread_mutex_unlock(&m->lock);
	return buf[0] != '\0';
}

/* The live name whose answer holds key for a; NULL if none. Called with
 * the lock held. */
static struct se_name *answer_of(struct se_names *m, const struct se_addr *a,
				 const void *key, uint64_t now_ms, int *index)
{
	unsigned i;
	size_t j;

	for (i = 0; key && i < m->used; i++) {
		struct se_name *e = &m->slot[i];

		if (!live(e, now_ms))
			continue;
		for (j = 0; j < e->n_keys; j++)
			if (e->keys[j] == key && (*index = find_addr(e, a)) >= 0)
				return e;
	}
	return NULL;
}

/* Does every live name holding a, but e, hold b too? Counts them in *n.
 * Called with the lock held. */
static bool all_hold(struct se_names *m, const struct se_name *e,
		     const struct se_addr *a, const struct se_addr *b,
		     uint64_t now_ms, unsigned *n)
{
	bool all = true;
	unsigned i;

	*n = 1;
	for (i = 0; i < m->used; i++) {
		const struct se_name *o = &m->slot[i];

		if (o == e || !live(o, now_ms) || find_addr(o, a) < 0)
			continue;
		++*n;
		if (find_addr(o, b) < 0)
			all = false;
	}
	return all;
}

void se_names_candidates(struct se_names *m, const struct se_addr *asked,
			 const void *key, uint64_t now_ms,
			 struct se_candidates *out)
{
	struct se_name *e;
	unsigned holders = 1;
	int k = 0;
	size_t i;

	out->name[0] = '\0';
	out->source = SE_CAND_NONE;
	out->n_names = 0;
	out->persist_spent = false;
	out->n = 1;
	out->addr[0] = *asked;
	if (__atomic_load_n(&m->used, __ATOMIC_ACQUIRE) == 0)
		return;

	pthread_mutex_lock(&m->lock);
	e = answer_of(m, asked, key, now_ms, &k);
	if (e) {
		out->source = SE_CAND_ANSWER;
	} else if ((e = newest_holding(m, asked, now_ms, &k))) {
		out->source = SE_CAND_NAME;
		/* asked with itself: counts the names holding it. */
		all_hold(m, e, asked, asked, now_ms, &holders);
		if (holders > 1) {
			out->source = SE_CAND_SHARED;
			out->n_names = holders;
		}
	}
	if (e) {
		/* Which of the names the program connects to is not known. */
		if (out->source != SE_CAND_SHARED)
			memcpy(out->name, e->name, sizeof(out->name));
		out->persist_spent = in_round(e->persisted_at_ms, now_ms) &&
				     (e->persist_lost ||
				      !se_addr_equal(&e->persisted_on, asked));
		for (i = 1; i < e->n; i++) {
			const struct se_name_addr *c = &e->addrs[(k + i) % e->n];

			if (in_round(c->failed_at_ms, now_ms))
				continue;
			if (out->source == SE_CAND_SHARED &&
			    !all_hold(m, e, asked, &c->addr, now_ms, &holders))
				continue;
			out->addr[out->n++] = c->addr;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static void mark(struct se_names *m, const struct se_addr *a, uint64_t now_ms,
		 bool persisted, bool lost)
{
	unsigned i;
	int k;

	if (__atomic_load_n(&m->used, __ATOMIC_RELAXED) == 0)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->used; i++) {
		struct se_name *e = &m->slot[i];

		if (!live(e, now_ms) || (k = find_addr(e, a)) < 0)
			continue;
		if (persisted) {
			/* A loss stays a loss for the round, whoever starts
			 * persisting after it. */
			e->persist_lost = lost ||
				(e->persist_lost && in_round(e->persisted_at_ms, now_ms));
			e->persisted_at_ms = now_ms;
			e->persisted_on = *a;
		} else
			e->addrs[k].failed_at_ms = now_ms;
	}
	pthread_mutex_unlock(&m->lock);
}

void se_names_mark_failed(struct se_names *m, const struct se_addr *a,
			  uint64_t now_ms)
{
	mark(m, a, now_ms, false, false);
}

void se_names_mark_persisted(struct se_names *m, const struct se_addr *a,
			     uint64_t now_ms, bool lost)
{
	mark(m, a, now_ms, true, lost);
}

void se_candidates_interleave(struct se_candidates *c)
{
	struct se_addr same[SE_NAME_ADDRS_MAX], other[SE_NAME_ADDRS_MAX];
	size_t ns = 0, no = 0, i, j, k, n = 1;

	for (i = 1; i < c->n; i++) {
		if (c->addr[i].family == c->addr[0].family)
			same[ns++] = c->addr[i];
		else
			other[no++] = c->addr[i];
	}
	for (j = k = 0; j < no || k < ns;) {
		if (j < no)
			c->addr[n++] = other[j++];
		if (k < ns)
			c->addr[n++] = same[k++];
	}
}
