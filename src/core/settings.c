/* Parsing of settings; no I/O except through the callers' functions. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "settings.h"

static const char *const policy_names[] = {
	[SE_POLICY_KERNEL] = "kernel",
	[SE_POLICY_RFC1122] = "rfc1122",
	[SE_POLICY_ABORT] = "abort",
	[SE_POLICY_CONFIRM] = "confirm",
	[SE_POLICY_ADAPTIVE] = "adaptive",
};

#define N_POLICIES (sizeof(policy_names) / sizeof(policy_names[0]))

const char *se_policy_name(enum se_policy p)
{
	return (unsigned)p < N_POLICIES ? policy_names[p] : "?";
}

void se_settings_defaults(struct se_settings *s)
{
	s->policy = SE_POLICY_ADAPTIVE;
	s->max_soft_errors = 1;		/* BSD: abort on the second error */
	s->max_syn_retransmits = 3;	/* BSD: after more than 3 SYN retransmits */
	s->establish_timeout_ms = 75000; /* BSD's connection-establishment timer */
	s->attempt_delay_ms = 250;	/* RFC 8305's recommended delay */
	/* The SYNs at 0, 1 and 3 s on TCP's backoff schedule, and a whole
	 * initial RTO for the last one's answer: what a route converging, a
	 * neighbour being resolved (3 s) or a tunnel coming back takes. The
	 * next SYN would go at 7 s. */
	s->persist_timeout_ms = 4000;
	s->max_attempts = 4;
	s->race = true;
	s->transparent = true;
	s->history = true;
	s->history_lifetime_ms = 600 * 1000;
	s->history_share = true;
	s->history_path[0] = '\0';
	s->secure_programs = false;
	s->log.to = SE_LOG_OFF;
	s->log.path[0] = '\0';
	s->icmp.n = 0;
}

/* A decimal count in [lo, hi]: digits only, and no leading zero, which
 * some read as octal ("010"). */
static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9' || (v[0] == '0' && v[1] != '\0'))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* A duration: a decimal number, with an optional fraction and an optional
 * unit ms or s (default s), in [lo_ms, hi_ms] milliseconds, rounded to the
 * nearest: "75", "0.5", ".25", "250ms". Read digit by digit, not with
 * strtod(), which takes "0x10" as 16, "1e3" as 1000, and the program's
 * locale's decimal point; a sign, white space, or a leading zero before
 * another digit (octal to some) is refused as well. */
static int parse_duration_ms(const char *v, unsigned lo_ms, unsigned hi_ms,
			     unsigned *out)
{
	uint64_t whole = 0, frac = 0, scale = 1, x;
	const char *p = v;
	bool digits = false;

	if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits = true) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > hi_ms)	/* too long, whatever the unit */
			return -1;
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
			if (scale < 1000000) {	/* beyond, nothing changes */
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	if (!digits)
		return -1;
	/* x: the duration in milliseconds, times scale (exact). */
	x = whole * scale + frac;
	if (strcmp(p, "ms") == 0)
		;
	else if (*p == '\0' || strcmp(p, "s") == 0)
		x *= 1000;
	else
		return -1;
	if (x < (uint64_t)lo_ms * scale || x > (uint64_t)hi_ms * scale)
		return -1;
	*out = (unsigned)((x + scale / 2) / scale);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

#define SWITCH_EXPECT "1, yes, on, true, 0, no, off or false"

/* Every setting but the policy: its key, its kind, its range, and where it
 * lives in struct se_settings. */
static const struct key {
	const char *name;
	enum { COUNT, DURATION, SWITCH } kind;
	unsigned lo, hi;		/* COUNT: the number; DURATION: ms */
	size_t offset;
	const char *expect;
} keys[] = {
	{ "max_soft_errors", COUNT, 0, 100, offsetof(struct se_settings, max_soft_errors),
	  "a whole number from 0 to 100" },
	{ "max_syn_retransmits", COUNT, 0, 100, offsetof(struct se_settings, max_syn_retransmits),
	  "a whole number from 0 to 100" },
	{ "establish_timeout", DURATION, 100, 3600 * 1000,
	  offsetof(struct se_settings, establish_timeout_ms),
	  "a duration from 100ms to 3600s, such as 75 or 500ms" },
	{ "attempt_delay", DURATION, 10, 2000, offsetof(struct se_settings, attempt_delay_ms),
	  "a duration from 10ms to 2s, such as 250ms or 0.5" },
	{ "persist_timeout", DURATION, 0, 3600 * 1000,
	  offsetof(struct se_settings, persist_timeout_ms),
	  "a duration from 0 to 3600s, such as 4 or 500ms" },
	{ "max_attempts", COUNT, 1, 16, offsetof(struct se_settings, max_attempts),
	  "a whole number from 1 to 16" },
	{ "race", SWITCH, 0, 1, offsetof(struct se_settings, race),
	  SWITCH_EXPECT },
	{ "transparent", SWITCH, 0, 1, offsetof(struct se_settings, transparent),
	  SWITCH_EXPECT },
	{ "history", SWITCH, 0, 1, offsetof(struct se_settings, history),
	  SWITCH_EXPECT },
	{ "history_lifetime", DURATION, 1000, 86400 * 1000,
	  offsetof(struct se_settings, history_lifetime_ms),
	  "a duration from 1s to 86400s, such as 600 or 30s" },
	{ "history_share", SWITCH, 0, 1, offsetof(struct se_settings, history_share),
	  SWITCH_EXPECT },
	{ "secure_programs", SWITCH, 0, 1, offsetof(struct se_settings, secure_programs),
	  SWITCH_EXPECT },
};

#define LOG_EXPECT "off, on, stderr, syslog, or an absolute file name"

/* log: off, on (standard error), stderr, syslog, or a file. */
static int set_log(struct se_settings *s, const char *v)
{
	bool b;

	if (parse_bool(v, &b) == 0)
		s->log.to = b ? SE_LOG_STDERR : SE_LOG_OFF;
	else if (strcasecmp(v, "stderr") == 0)
		s->log.to = SE_LOG_STDERR;
	else if (strcasecmp(v, "syslog") == 0)
		s->log.to = SE_LOG_SYSLOG;
	else if (v[0] == '/' && strlen(v) < sizeof(s->log.path)) {
		strcpy(s->log.path, v);
		s->log.to = SE_LOG_FILE;
	} else
		return -1;
	return 0;
}

/* The keys that change RFC 5461 Table 1. */
static const struct {
	const char *name;
	int family;
	enum se_icmp_class cls;
} icmp_keys[] = {
	{ "icmp_soft", AF_INET, SE_ICMP_SOFT },
	{ "icmp_hard", AF_INET, SE_ICMP_HARD },
	{ "icmp6_soft", AF_INET6, SE_ICMP_SOFT },
	{ "icmp6_hard", AF_INET6, SE_ICMP_HARD },
};

#define ICMP_EXPECT "ICMP messages as TYPE, TYPE/CODE or names such as " \
	"host-unreachable, at most 16 rules in all"

bool se_settings_known(const char *key)
{
	size_t i;

	if (strcmp(key, "policy") == 0 || strcmp(key, "log") == 0 ||
	    strcmp(key, "history_path") == 0)
		return true;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i].name) == 0)
			return true;
	for (i = 0; i < sizeof(icmp_keys) / sizeof(icmp_keys[0]); i++)
		if (strcmp(key, icmp_keys[i].name) == 0)
			return true;
	return false;
}

int se_settings_set(struct se_settings *s, const char *key, const char *value,
		    const char **why)
{
	const char *expect = "a known setting";
	unsigned n;
	bool b;
	size_t i;

	if (strcmp(key, "policy") == 0) {
		for (i = 0; i < N_POLICIES; i++)
			if (strcasecmp(value, policy_names[i]) == 0) {
				s->policy = (enum se_policy)i;
				return 0;
			}
		expect = "one of kernel, rfc1122, abort, confirm, adaptive";
	}
	if (strcmp(key, "log") == 0) {
		if (set_log(s, value) == 0)
			return 0;
		expect = LOG_EXPECT;
	}
	if (strcmp(key, "history_path") == 0) {
		if (value[0] == '/' && strlen(value) < sizeof(s->history_path)) {
			strcpy(s->history_path, value);
			return 0;
		}
		expect = "an absolute file name";
	}
	for (i = 0; i < sizeof(icmp_keys) / sizeof(icmp_keys[0]); i++)
		if (strcmp(key, icmp_keys[i].name) == 0) {
			if (se_icmp_rules_set(&s->icmp, icmp_keys[i].family,
					      icmp_keys[i].cls, value) == 0)
				return 0;
			expect = ICMP_EXPECT;
		}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		char *field = (char *)s + k->offset;

		if (strcmp(key, k->name) != 0)
			continue;
		expect = k->expect;
		if (k->kind == SWITCH && parse_bool(value, &b) == 0) {
			*(bool *)field = b;
			return 0;
		}
		if ((k->kind == COUNT ? parse_uint(value, k->lo, k->hi, &n) :
		     k->kind == DURATION ? parse_duration_ms(value, k->lo, k->hi, &n) :
		     -1) == 0) {
			*(unsigned *)field = n;
			return 0;
		}
	}
	if (why)
		*why = expect;
	return -1;
}

static const struct {
	const char *env;
	const char *key;
} env_keys[] = {
	{ "SOFTERR_POLICY", "policy" },
	{ "SOFTERR_MAX_SOFT_ERRORS", "max_soft_errors" },
	{ "SOFTERR_MAX_SYN_RETRANSMITS", "max_syn_retransmits" },
	{ "SOFTERR_ESTABLISH_TIMEOUT", "establish_timeout" },
	{ "SOFTERR_ATTEMPT_DELAY", "attempt_delay" },
	{ "SOFTERR_PERSIST_TIMEOUT", "persist_timeout" },
	{ "SOFTERR_MAX_ATTEMPTS", "max_attempts" },
	{ "SOFTERR_RACE", "race" },
	{ "SOFTERR_TRANSPARENT", "transparent" },
	{ "SOFTERR_HISTORY", "history" },
	{ "SOFTERR_HISTORY_LIFETIME", "history_lifetime" },
	{ "SOFTERR_HISTORY_SHARE", "history_share" },
	{ "SOFTERR_HISTORY_PATH", "history_path" },
	{ "SOFTERR_LOG", "log" },
};

void se_settings_from_env(struct se_settings *s,
			  char *(*getenv_fn)(const char *),
			  void (*warn)(const char *msg))
{
	char msg[256];
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
		const char *v = getenv_fn(env_keys[i].env);

		if (!v)
			continue;
		if (se_settings_set(s, env_keys[i].key, v, &why) == 0)
			continue;
		snprintf(msg, sizeof(msg),
			 "softerr: %s=\"%.64s\" is not valid (expected %s); "
			 "the value in force before is kept\n",
			 env_keys[i].env, v, why);
		if (warn)
			warn(msg);
	}
}
