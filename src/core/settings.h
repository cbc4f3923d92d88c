/* The library's settings, one source of truth for every way of giving them.
 *
 * Each setting has a key (the name softerr.conf uses), most also an
 * environment variable. se_settings_set() is the one parser: the
 * configuration file, the environment, softerr-run and the API all feed it
 * the same keys and values. */
#ifndef SOFTERR_CORE_SETTINGS_H
#define SOFTERR_CORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "icmp.h"
#include "log.h"

enum se_policy {
	SE_POLICY_KERNEL = 0,	/* observe and log only */
	SE_POLICY_RFC1122,	/* a soft error never ends an attempt */
	SE_POLICY_ABORT,	/* RFC 5461 4.1: the first soft error ends it */
	SE_POLICY_CONFIRM,	/* RFC 5461 4.2: repeated confirmation */
	SE_POLICY_ADAPTIVE,	/* abort with an alternative, else confirm */
};

struct se_settings {
	enum se_policy policy;
	unsigned max_soft_errors;	/* confirm: nsofterror must exceed it */
	unsigned max_syn_retransmits;	/* confirm: nsynrexmit must exceed it */
	unsigned establish_timeout_ms;	/* bounds one connect() */
	unsigned attempt_delay_ms;	/* silence before the next attempt starts */
	/* adaptive: how long an attempt to a name's last address persists
	 * after its first soft error; 0: it does not */
	unsigned persist_timeout_ms;
	unsigned max_attempts;		/* attempts in flight at once */
	bool race;			/* staggered parallel attempts */
	/* Non-blocking connects run the whole policy behind a stand-in on
	 * the program's descriptor (src/preload/pending.h); off: the first ICMP error is
	 * made visible, the program fails over itself. */
	bool transparent;
	bool history;			/* remember what each address did */
	unsigned history_lifetime_ms;	/* for this long */
	bool history_share;		/* with the user's other processes */
	/* The shared history's file; "" for the default place (history.h) */
	char history_path[SE_LOG_PATH_MAX];
	/* Act in set-user-ID and other secure-execution programs too (read
	 * from the system's file only: there nothing else is read). */
	bool secure_programs;
	struct se_log_target log;	/* one line per managed connect */
	struct se_icmp_rules icmp;	/* changes to RFC 5461 Table 1 */
};

/* Fills s with the defaults (adaptive, 1, 3, 75 s, 250 ms, 4 s, 4, race and
 * transparent on, history on for 10 minutes and shared, no log, RFC 5461 Table 1 as it
 * is). */
void se_settings_defaults(struct se_settings *s);

/* Sets key to value. Returns 0, or -1 when the key is unknown or the value
 * bad: s is then untouched and *why (if why is not NULL) says what was
 * expected, as a static string. */
int se_settings_set(struct se_settings *s, const char *key, const char *value,
		    const char **why);

/* Is key a setting? */
bool se_settings_known(const char *key);

/* Reads every SOFTERR_* variable through getenv_fn (secure_getenv in the
 * library). A bad value is reported once through warn(), naming the
 * variable, and the value s held before is kept; warn may be NULL. */
void se_settings_from_env(struct se_settings *s,
			  char *(*getenv_fn)(const char *),
			  void (*warn)(const char *msg));

const char *se_policy_name(enum se_policy p);

#endif
