/* What the wrappers share: lazy initialisation, the real functions, the
 * settings, the candidate memory, and the guard against recursion. */
#ifndef SOFTERR_PRELOAD_H
#define SOFTERR_PRELOAD_H

#include <netdb.h>
#include <stdbool.h>

#include "core/conf.h"
#include "core/history.h"
#include "core/names.h"
#include "core/settings.h"

#define SE_EXPORT __attribute__((visibility("default")))

struct se_real {
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t,
			       struct hostent **, int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *,
				size_t, struct hostent **, int *);
	int (*dup2)(int, int);
	void (*freeaddrinfo)(struct addrinfo *);
	/* NULL where the C library has none: the system call is made. */
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
};

extern struct se_real se_real;
/* Set once the program has called setsockopt() for IP_RECVERR or
 * IPV6_RECVERR: from then on the engine asks each socket before it
 * changes them. */
extern bool se_program_uses_recverr;
/* softerr.conf and the environment: se_conf.base, or a destination's. */
extern struct se_conf se_conf;
/* What each address did lately (history.h). */
extern struct se_history se_history;

/* Asks rtnetlink whether the network changed since the last call (the
 * first call takes its fingerprint) and forgets the history if it did. */
void se_preload_network_check(void);
/* The first connect() the library manages in this process: the warnings
 * about the settings kept since they were read, and (when s logs) one line
 * saying that softerr is active, which settings file it read and where the
 * history lives. Once; cheap after. */
void se_announce(const struct se_settings *s);
extern struct se_names se_names;

/* Enters the library from a wrapper, which must then se_leave(). Returns
 * false when the call is nested in the library's own work (a signal
 * handler, a resolver module) and must pass straight through. A call that
 * finds the library still marked busy from a frame that no longer exists
 * (a signal handler longjmp()ed out of it) frees what that call left and
 * enters. */
#define SE_ENTER() se_enter(__builtin_frame_address(0))
bool se_enter(void *frame);
void se_leave(void);

/* Initialises once; true when the library may act (the real functions were
 * found; in secure-execution mode, the settings allow it too). Safe to
 * call from every wrapper, first or not; makes no system call. */
bool se_ready(void);
/* se_ready(), and the settings and the history loaded (once): for the
 * wrappers that act on them (connect() beyond loopback, the resolvers). */
bool se_configured(void);

/* Remembers a host entry's addresses under name, first putting those the
 * address history saw fail lately last in its list. */
void se_remember_hostent(const char *name, struct hostent *h);

#endif
