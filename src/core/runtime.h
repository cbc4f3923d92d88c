/* What a process's softerr holds once, whichever library set it up: the
 * preloaded one (libsofterr.so) or the API (libsofterr-api.so). The real
 * functions, the memory of names, the settings (softerr.conf and the
 * environment), the address history, this process's view of the network,
 * and the fork handlers that keep their locks whole in a child.
 *
 * Two stages, each to be run once by the caller (pthread_once()), so that
 * the preloaded library costs nothing where it does nothing:
 * se_runtime_start() makes no system call; se_runtime_configure() reads
 * files and is put off by the preloaded library until a connect() beyond
 * loopback or a lookup needs it.
 *
 * The locks and their order: loop.h, where the outermost is defined. */
#ifndef SOFTERR_CORE_RUNTIME_H
#define SOFTERR_CORE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/conf.h"
#include "core/history.h"
#include "core/names.h"

/* softerr.conf and the environment, as read by se_runtime_configure():
 * se_conf.base, or a destination's. Zero before. */
extern struct se_conf se_conf;
/* What each address did lately (history.h): off until configured. */
extern struct se_history se_history;
/* Which addresses belong to which names (names.h). */
extern struct se_names se_names;
/* Where the history lives, or why it is off: for the log and the API's
 * reports. "" before se_runtime_configure(). */
extern char se_history_why[320];

/* Stage one: the real functions (se_sys, sys.h) and the memory of names.
 * No system call. Returns false when a real function could not be found
 * (se_sys_init()); the caller then stands aside. */
bool se_runtime_start(void);

struct se_runtime_setup {
	/* Reads the environment (secure_getenv()); NULL: it is not read. In
	 * secure-execution mode it is never read, nor are the user's files:
	 * only the system's softerr.conf, and nothing is remembered. */
	char *(*getenv_fn)(const char *name);
	/* Where the settings' warnings go, one line each; NULL: not said. */
	void (*warn)(const char *msg);
	/* In secure-execution mode, stand aside unless the system's file
	 * asks for the library there (secure_programs). */
	bool stand_aside_when_secure;
	/* The caller's own part of fork(): prepare runs before the runtime's
	 * locks are taken, parent and child after they are released. Each
	 * may be NULL. */
	void (*fork_prepare)(void);
	void (*fork_parent)(void);
	void (*fork_child)(void);
};

/* Stage two, after stage one: reads the settings into se_conf, chooses
 * where the history lives and opens it with the settings' history,
 * history_share, history_path and history_lifetime, keys it by the network
 * (read when a path is first needed), and registers the fork handlers
 * (pthread_atfork()). Returns whether softerr acts in this process: false
 * only when setup->stand_aside_when_secure in secure-execution mode
 * without secure_programs, and then nothing but se_conf is set up. errno
 * is left as it was. */
bool se_runtime_configure(const struct se_runtime_setup *setup);

/* se_history_order() on the process's history as of now (libmnl loaded
 * first, for the network a path needs: call it with no lock of softerr's
 * held): addrs[0..n) in place, those that failed
 * lately last; order[i] where the i-th came from; why[i] (may be NULL)
 * what the history knew of it. Returns how many failed (the last ones);
 * 0 when the history is off. */
size_t se_runtime_order(struct se_addr *addrs, size_t n, size_t *order,
			struct se_hist_info *why);

#endif
