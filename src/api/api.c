/* The public API (softerr.h): the engine of the preloaded library, called
 * by name. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softerr.h"
#include "core/conf.h"
#include "core/engine.h"
#include "core/history.h"
#include "core/lazy.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/sockrec.h"
#include "core/sys.h"

#define API __attribute__((visibility("default")))
#define SETS_MAX 32

struct softerr_options {
	struct se_conf conf;
	int family;
	/* What softerr_options_set() said, given again after a load. */
	size_t n_sets;
	char *sets[SETS_MAX][2];
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int sys_ok;

static char *api_getenv(const char *name);

/* The settings, the address history (shared with the preloaded library's
 * through the same file) and the fork handlers are the process's
 * (runtime.h): softerr.conf's global and program parts, then the
 * environment, as the preloaded library reads them; not one options
 * object's. */
static void init(void)
{
	/* The settings' warnings are said by softerr_options_load(), if
	 * asked. The API acts in secure-execution mode too (the program
	 * asked for it by name), on the system's file alone. */
	static const struct se_runtime_setup setup = { .getenv_fn = api_getenv };

	sys_ok = se_runtime_start();
	se_runtime_configure(&setup);
}

static void defaults(struct softerr_options *o)
{
	o->conf.n_dest = 0;
	o->conf.dest_by_name = false;
	o->conf.path[0] = '\0';
	se_settings_defaults(&o->conf.base);
}

API struct softerr_options *softerr_options_new(void)
{
	struct softerr_options *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	defaults(o);
	o->family = AF_UNSPEC;
	return o;
}

API void softerr_options_free(struct softerr_options *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->n_sets; i++) {
		free(o->sets[i][0]);
		free(o->sets[i][1]);
	}
	free(o);
}

/* key = value for the common settings and every destination's. */
static int set_everywhere(struct softerr_options *o, const char *key,
			  const char *value)
{
	struct se_settings check = o->conf.base;
	unsigned i;

	if (strcmp(key, "family") == 0) {
		if (strcmp(value, "any") == 0)
			o->family = AF_UNSPEC;
		else if (strcmp(value, "ipv4") == 0)
			o->family = AF_INET;
		else if (strcmp(value, "ipv6") == 0)
			o->family = AF_INET6;
		else
			return -1;
		return 0;
	}
	if (se_settings_set(&check, key, value, NULL) < 0)
		return -1;
	o->conf.base = check;
	for (i = 0; i < o->conf.n_dest; i++)
		se_settings_set(&o->conf.dest[i].s, key, value, NULL);
	return 0;
}

API int softerr_options_set(struct softerr_options *o, const char *key,
			    const char *value)
{
	char *k, *v;

	if (!o || !key || !value || set_everywhere(o, key, value) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (o->n_sets < SETS_MAX) {
		k = strdup(key);
		v = strdup(value);
		if (!k || !v) {
			free(k);
			free(v);
			errno = ENOMEM;
			return -1;
		}
		o->sets[o->n_sets][0] = k;
		o->sets[o->n_sets][1] = v;
		o->n_sets++;
	}
	return 0;
}

static char *api_getenv(const char *name)
{
	return secure_getenv(name);
}

API int softerr_options_load(struct softerr_options *o, const char *path)
{
	char exe[512];
	struct se_conf_source src = se_conf_source_self(program_invocation_short_name,
							exe, sizeof(exe), api_getenv, se_log_raw);
	size_t i;

	if (!o) {
		errno = EINVAL;
		return -1;
	}
	pthread_once(&once, init);
	if (!path) {
		se_conf_load(&o->conf, &src);
	} else if (!*path) {
		defaults(o);
	} else {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return -1;
		se_close(fd);
		src.getenv_fn = NULL;
		src.system_file = path;
		se_conf_load(&o->conf, &src);
	}
	for (i = 0; i < o->n_sets; i++)
		set_everywhere(o, o->sets[i][0], o->sets[i][1]);
	return 0;
}

API const char *softerr_outcome_name(enum softerr_outcome outcome)
{
	static const char *const names[] = {
		[SOFTERR_NOT_TRIED] = "not-tried",
		[SOFTERR_CONNECTED] = "connected",
		[SOFTERR_REFUSED] = "refused",
		[SOFTERR_SOFT_ERROR] = "soft-error",
		[SOFTERR_HARD_ERROR] = "hard-error",
		[SOFTERR_NO_ANSWER] = "no-answer",
		[SOFTERR_CANCELLED] = "cancelled",
		[SOFTERR_TIMED_OUT] = "timed-out",
		[SOFTERR_INTERRUPTED] = "interrupted",
		[SOFTERR_NO_SOCKET] = "no-socket",
	};

	if ((unsigned)outcome < sizeof(names) / sizeof(names[0]))
		return names[outcome];
	return "?";
}

static const enum softerr_outcome from_core[] = {
	[SE_OUT_NOT_TRIED] = SOFTERR_NOT_TRIED,
	[SE_OUT_CONNECTED] = SOFTERR_CONNECTED,
	[SE_OUT_REFUSED] = SOFTERR_REFUSED,
	[SE_OUT_SOFT] = SOFTERR_SOFT_ERROR,
	[SE_OUT_HARD] = SOFTERR_HARD_ERROR,
	[SE_OUT_SILENT] = SOFTERR_NO_ANSWER,
	[SE_OUT_CANCELLED] = SOFTERR_CANCELLED,
	[SE_OUT_TIMED_OUT] = SOFTERR_TIMED_OUT,
	[SE_OUT_LEFT] = SOFTERR_INTERRUPTED,
	[SE_OUT_LOCAL] = SOFTERR_NO_SOCKET,
};

static void fill_attempt(struct softerr_attempt *a, const struct se_report_entry *e,
			 uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->address_len = se_addr_to_sockaddr(&e->addr, port, false, &a->address);
	a->outcome = from_core[e->outcome];
	a->error = e->err;
	a->started_ms = e->outcome == SE_OUT_NOT_TRIED ? -1 : e->start_us / 1000.0;
	a->ended_ms = e->outcome == SE_OUT_NOT_TRIED || !e->end_us ? -1 :
		      e->end_us / 1000.0;
	a->syns = e->syns;
	a->icmp_errors = e->icmps;
	if (e->has_icmp) {
		char buf[40];

		a->icmp_family = e->icmp.family;
		a->icmp_type = e->icmp.type;
		a->icmp_code = e->icmp.code;
		a->icmp_soft = e->icmp.cls == SE_ICMP_SOFT;
		snprintf(a->icmp_name, sizeof(a->icmp_name), "%s",
			 se_icmp_name(e->icmp.family, e->icmp.type, e->icmp.code,
				      buf, sizeof(buf)));
		if (e->icmp.has_offender)
			a->icmp_from_len = se_addr_to_sockaddr(&e->icmp.offender, 0,
							       false, &a->icmp_from);
	}
}

/* The report: the attempts in start order, then the addresses never
 * tried, in the resolver's order. */
static struct softerr_report *make_report(const char *host, const char *service,
					  const struct se_settings *s,
					  const struct se_report *rep,
					  const struct se_candidates *cand,
					  uint16_t port)
{
	struct softerr_report *r = calloc(1, sizeof(*r));
	size_t i, j, n = 0;

	if (!r)
		return NULL;
	snprintf(r->host, sizeof(r->host), "%s", host ? host : "");
	snprintf(r->service, sizeof(r->service), "%s", service ? service : "");
	snprintf(r->policy, sizeof(r->policy), "%s", se_policy_name(s->policy));
	snprintf(r->history, sizeof(r->history), "%s",
		 s->history ? se_history_why : "off (history = off)");
	r->connected = -1;
	r->delay_ms = rep->delay_ms;
	snprintf(r->delay, sizeof(r->delay), "%s", rep->delay_why);
	r->attempts = calloc(cand->n + rep->n + 1, sizeof(*r->attempts));
	if (!r->attempts) {
		free(r);
		return NULL;
	}
	for (i = 0; i < rep->n; i++) {
		fill_attempt(&r->attempts[n], &rep->e[i], port);
		if (rep->e[i].outcome == SE_OUT_CONNECTED)
			r->connected = (int)n;
		n++;
	}
	for (i = 0; i < cand->n; i++) {
		struct se_report_entry e;

		for (j = 0; j < rep->n && !se_addr_equal(&rep->e[j].addr, &cand->addr[i]); j++)
			;
		if (j < rep->n)
			continue;
		memset(&e, 0, sizeof(e));
		e.addr = cand->addr[i];
		fill_attempt(&r->attempts[n++], &e, port);
	}
	r->n_attempts = n;
	return r;
}

API void softerr_report_free(struct softerr_report *r)
{
	if (!r)
		return;
	free(r->attempts);
	free(r);
}

/* Puts the addresses the history saw fail lately last, keeping each
 * group's order; text[i] tells why for each moved, in the new order.
 * Returns how many moved. */
static size_t order_by_history(struct se_candidates *c, char (*text)[64])
{
	struct se_hist_info why[SE_NAME_ADDRS_MAX];
	size_t order[SE_NAME_ADDRS_MAX], i, failed;

	failed = se_runtime_order(c->addr, c->n, order, why);
	for (i = 0; i < c->n; i++) {
		text[i][0] = '\0';
		if (i >= c->n - failed)
			se_history_describe(&why[i], c->addr[i].family, text[i], 64);
	}
	return failed;
}

/* The history's reasons, on the report's attempts. */
static void add_history(struct softerr_report *r, const struct se_candidates *c,
			char (*text)[64], size_t moved)
{
	size_t i, j;

	if (!moved)
		return;
	for (i = 0; i < r->n_attempts; i++) {
		struct se_addr a;

		if (se_addr_from_sockaddr(&a, (struct sockaddr *)&r->attempts[i].address,
					  r->attempts[i].address_len) < 0)
			continue;
		for (j = 0; j < c->n; j++)
			if (se_addr_equal(&a, &c->addr[j]) && text[j][0])
				snprintf(r->attempts[i].history,
					 sizeof(r->attempts[i].history), "%s", text[j]);
	}
}

/* The addresses of res, without repeats, in its order; the port. */
static void candidates_of(const char *host, const struct addrinfo *res,
			  struct se_candidates *c, uint16_t *port)
{
	snprintf(c->name, sizeof(c->name), "%s", host);
	c->source = SE_CAND_ANSWER;
	c->n_names = 0;
	c->persist_spent = false;
	c->n = 0;
	*port = 0;
	for (; res && c->n < SE_NAME_ADDRS_MAX; res = res->ai_next) {
		struct se_addr a;

		if (!res->ai_addr ||
		    se_addr_from_sockaddr(&a, res->ai_addr, res->ai_addrlen) < 0)
			continue;
		if (c->n == 0)
			*port = ((const struct sockaddr_in *)res->ai_addr)->sin_port;
		se_addr_put(c->addr, &c->n, SE_NAME_ADDRS_MAX, &a);
	}
}

API int softerr_connect(const char *host, const char *service,
			const struct softerr_options *o,
			struct softerr_report **report)
{
	struct softerr_options *mine = NULL;
	struct addrinfo hints, *res = NULL;
	struct se_candidates *cand = NULL;
	struct se_report *rep = NULL;
	struct se_engine_ctx ctx;
	struct sockaddr_storage ss;
	const struct se_settings *s;
	socklen_t sslen;
	uint64_t t0;
	uint16_t port = 0;
	int fd = -1, rc, err = 0, gai;
	char (*hist_text)[64] = NULL;
	size_t moved = 0;

	if (report)
		*report = NULL;
	if (!host || !service) {
		errno = EINVAL;
		return -1;
	}
	pthread_once(&once, init);
	if (!sys_ok) {
		errno = ENOSYS;
		return -1;
	}
	if (!o) {
		mine = softerr_options_new();
		if (!mine)
			return -1;
		o = mine;
	}
	cand = calloc(1, sizeof(*cand));
	rep = calloc(1, sizeof(*rep));
	hist_text = calloc(SE_NAME_ADDRS_MAX, sizeof(*hist_text));
	if (!cand || !rep || !hist_text) {
		err = ENOMEM;
		goto out;
	}
	rep->delay_ms = -1;	/* none needed, until the engine says */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = o->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	t0 = se_now_us();
	gai = getaddrinfo(host, service, &hints, &res);
	if (gai != 0) {
		err = gai == EAI_SYSTEM ? errno : ENXIO;
		cand->n = 0;
		s = &o->conf.base;
		if (report && (*report = make_report(host, service, s, rep, cand, 0))) {
			(*report)->resolve_error = gai;
			(*report)->resolve_ms = (se_now_us() - t0) / 1000.0;
			(*report)->error = err;
		}
		goto out;
	}
	candidates_of(host, res, cand, &port);
	freeaddrinfo(res);
	s = se_conf_for(&o->conf, host, &cand->addr[0]);
	if (s->history && se_history.enabled && cand->n > 1)
		moved = order_by_history(cand, hist_text);

	memset(&ctx, 0, sizeof(ctx));
	ctx.settings = s;
	ctx.candidates = cand;
	ctx.report = rep;
	ctx.history = s->history ? &se_history : NULL;
	ctx.program_may_use_recverr = false;
	t0 = (se_now_us() - t0);	/* now: the resolver's time */
	fd = se_sys.socket(cand->addr[0].family, SOCK_STREAM | SOCK_CLOEXEC,
			   IPPROTO_TCP);
	if (fd < 0) {
		err = errno;
	} else {
		uint64_t c0 = se_now_us();

		se_sockrec_socket(fd, cand->addr[0].family, SOCK_STREAM, IPPROTO_TCP);
		sslen = se_addr_to_sockaddr(&cand->addr[0], port, false, &ss);
		se_lazy_load_ev();	/* before the engine takes a lock */
		se_lazy_load_mnl();
		rc = se_connect_blocking(&ctx, fd, cand->addr[0].family,
					 fcntl(fd, F_GETFL), (struct sockaddr *)&ss,
					 sslen);
		err = rc == 0 ? 0 : errno;
		if (report && (*report = make_report(host, service, s, rep, cand, port))) {
			add_history(*report, cand, hist_text, moved);
			(*report)->resolve_ms = t0 / 1000.0;
			(*report)->elapsed_ms = (se_now_us() - c0) / 1000.0;
			(*report)->error = err;
		}
		if (rc < 0) {
			se_close(fd);
			fd = -1;
		}
	}
out:
	free(cand);
	free(rep);
	free(hist_text);
	softerr_options_free(mine);
	if (fd < 0)
		errno = err;
	return fd;
}
