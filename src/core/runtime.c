/* One setup per process for the preloaded library and the API library. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "core/lazy.h"
#include "core/log.h"
#include "core/netwatch.h"
#include "core/sys.h"
#include "runtime.h"

struct se_conf se_conf;
struct se_history se_history;
struct se_names se_names;
char se_history_why[320];
static struct se_netstate netstate = SE_NETSTATE_INIT;
/* The caller's part of fork() (se_runtime_setup). */
static void (*fork_prepare)(void), (*fork_parent)(void), (*fork_child)(void);

bool se_runtime_start(void)
{
	se_names_init(&se_names);
	return se_sys_init() == 0;
}

/* No lock may be held across fork() by a thread that does not exist in
 * the child: a child that connects or resolves would wait for it forever.
 * So each is taken before (in the order of loop.h) and given back on
 * both sides. */
static void before_fork(void)
{
	if (fork_prepare)
		fork_prepare();
	pthread_mutex_lock(&netstate.lock);
	pthread_mutex_lock(&se_history.lock);
	pthread_mutex_lock(&se_names.lock);
	se_log_fork_prepare();
}

static void release(void)
{
	pthread_mutex_unlock(&se_names.lock);
	pthread_mutex_unlock(&se_history.lock);
	pthread_mutex_unlock(&netstate.lock);
}

static void after_fork_parent(void)
{
	se_log_fork_parent();
	release();
	if (fork_parent)
		fork_parent();
}

static void after_fork_child(void)
{
	se_log_fork_child();
	release();
	if (fork_child)
		fork_child();
}

bool se_runtime_configure(const struct se_runtime_setup *setup)
{
	int saved = errno;
	bool secure = getauxval(AT_SECURE) != 0;
	char *(*env)(const char *) = secure ? NULL : setup->getenv_fn;
	char exe[512], hist[256] = "";
	struct se_conf_source src = se_conf_source_self(program_invocation_short_name,
							exe, sizeof(exe), env,
							setup->warn);

	se_conf_load(&se_conf, &src);
	if (secure && setup->stand_aside_when_secure && !se_conf.base.secure_programs) {
		errno = saved;
		return false;
	}
	/* Shared only between processes of the same user, and never in
	 * secure-execution mode, where nothing is remembered at all. */
	se_history_choose(&se_conf.base, secure, env ? env("XDG_RUNTIME_DIR") : NULL,
			  hist, sizeof(hist), se_history_why, sizeof(se_history_why));
	se_history_init(&se_history, se_conf.base.history && !secure,
			se_conf.base.history_lifetime_ms, hist);
	se_history.log = &se_conf.base.log;
	se_history_use_network(&se_history, &netstate);
	fork_prepare = setup->fork_prepare;
	fork_parent = setup->fork_parent;
	fork_child = setup->fork_child;
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	errno = saved;
	return true;
}

size_t se_runtime_order(struct se_addr *addrs, size_t n, size_t *order,
			struct se_hist_info *why)
{
	if (!se_history.enabled)
		return 0;
	se_lazy_load_mnl();	/* for the paths, should the network be read */
	return se_history_order(&se_history, addrs, n, se_boot_ms(), order, why);
}
