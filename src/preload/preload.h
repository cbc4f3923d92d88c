/* What the wrappers share: lazy initialisation, the real functions, the
 * settings, the candidate memory, and the guard against recursion. */
#ifndef SOFTERR_PRELOAD_H
#define SOFTERR_PRELOAD_H

#include <netdb.h>
#include <stdbool.h>

#include "core/conf.h"
#include "core/history.h"
#include "core/names.h"
#include "core/runtime.h"
#include "core/settings.h"
#include "core/sys.h"

#define SE_EXPORT __attribute__((visibility("default")))

/* Set once the program has called setsockopt() for IP_RECVERR or
 * IPV6_RECVERR: from then on the engine asks each socket before it
 * changes them. */
extern bool se_program_uses_recverr;
/* se_conf (the settings), se_history (the address history) and se_names
 * (the memory of names) are the runtime's (runtime.h). */

/* The first connect() the library manages in this process: the warnings
 * about the settings kept since they were read, and (when s logs) one line
 * saying that softerr is active, which settings file it read and where the
 * history lives. Once; cheap after. */
void se_announce(const struct se_settings *s);

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
