/* Lazy, once-only initialisation of the preloaded library. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/engine.h"
#include "core/history.h"
#include "core/lazy.h"
#include "core/netwatch.h"
#include "core/log.h"
#include "pending.h"
#include "core/sys.h"
#include "preload.h"

struct se_real se_real;
struct se_conf se_conf;
struct se_history se_history;
static struct se_netstate netstate = SE_NETSTATE_INIT;
struct se_names se_names;
bool se_program_uses_recverr;
/* Set while this thread runs inside the library (or inside a call the
 * library made): every wrapper then passes straight through. */
static __thread int se_inside __attribute__((tls_model("initial-exec")));
/* The frame of the wrapper that entered the library, while se_inside. */
static __thread void *se_frame __attribute__((tls_model("initial-exec")));

/* Two stages, each once: the real functions (no system call: every
 * wrapper needs them), then the settings and the history (files read,
 * directories looked at), only when a wrapper that acts on them is called:
 * a process that never connects beyond loopback nor resolves a name pays
 * none of that (a shell asks getpeername() of its standard input as it
 * starts). */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_once_t once_conf = PTHREAD_ONCE_INIT;
static bool ready, configured;

SE_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len);
SE_EXPORT int setsockopt(int fd, int level, int name, const void *val,
			 socklen_t len);
SE_EXPORT int socket(int domain, int type, int protocol);
SE_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len);
SE_EXPORT int close(int fd);

static void *next_symbol(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* No lock may be held across fork() by a thread that does not exist in
 * the child; the watcher's thread is not in the child at all. */
static void before_fork(void)
{
	se_watch_fork_prepare();
	pthread_mutex_lock(&netstate.lock);
	pthread_mutex_lock(&se_history.lock);
	pthread_mutex_lock(&se_names.lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&se_names.lock);
	pthread_mutex_unlock(&se_history.lock);
	pthread_mutex_unlock(&netstate.lock);
	se_watch_fork_parent();
}

static void after_fork_child(void)
{
	pthread_mutex_unlock(&se_names.lock);
	pthread_mutex_unlock(&se_history.lock);
	pthread_mutex_unlock(&netstate.lock);
	se_watch_fork_child();
}

void se_preload_network_check(void)
{
	se_lazy_load_mnl();
	se_network_check(&netstate, &se_history);
}

/* At exit the watcher's thread stops and its loop is freed. */
__attribute__((destructor)) static void fini(void)
{
	if (ready)
		se_watch_shutdown();
}

static char *read_env(const char *name)
{
#ifdef HAVE_SECURE_GETENV
	return secure_getenv(name);
#else
	return getenv(name);
#endif
}

/* Warnings about the settings wait for the first connect() the library
 * manages, and are said then, once: a stray SOFTERR_* variable must not make
 * every shell and pipeline of the session complain. */
static char warnings[2048];
static size_t warnings_len;
static bool warnings_lost;	/* some did not fit */
static bool announced;
/* Where the history lives, or why it is off: for the first log line. */
static char history_why[320];

static void warn_later(const char *msg)
{
	size_t n = strlen(msg);

	if (warnings_len + n < sizeof(warnings)) {
		memcpy(warnings + warnings_len, msg, n + 1);
		warnings_len += n;
	} else {
		warnings_lost = true;
	}
}

void se_announce(const struct se_settings *s)
{
	struct se_line line;

	if (__atomic_load_n(&announced, __ATOMIC_ACQUIRE) ||
	    __atomic_exchange_n(&announced, true, __ATOMIC_ACQ_REL))
		return;
	if (warnings_len)
		se_log_raw(warnings);
	if (warnings_lost)
		se_log_raw("softerr: more warnings not shown\n");
	if (!s->log.to)
		return;
	se_line_init(&line);
	se_line_add(&line, "softerr: active in %s[%d], settings from %s; history %s",
		    program_invocation_short_name, (int)getpid(),
		    se_conf.path[0] ? se_conf.path : "no file", history_why);
	se_line_emit(&line, &s->log);
}

/* softerr.conf and the environment. In secure-execution mode (set-user-ID
 * and the like) neither the environment nor the user's files count: only
 * the system's file, which must ask for the library to act there at all.
 * Returns whether the library acts in this process. */
static bool load_conf(void)
{
	bool secure = getauxval(AT_SECURE) != 0;
	char exe[512], hist[256] = "";
	struct se_conf_source src = se_conf_source_self(program_invocation_short_name,
							exe, sizeof(exe),
							secure ? NULL : read_env,
							warn_later);

	se_conf_load(&se_conf, &src);
	if (secure && !se_conf.base.secure_programs)
		return false;
	/* Shared only between processes of the same user, and never in
	 * secure-execution mode, where nothing is remembered at all. */
	se_history_choose(&se_conf.base, secure, read_env("XDG_RUNTIME_DIR"),
			  hist, sizeof(hist), history_why, sizeof(history_why));
	se_history_init(&se_history, se_conf.base.history && !secure,
			se_conf.base.history_lifetime_ms, hist);
	se_history.log = &se_conf.base.log;
	se_history_use_network(&se_history, &netstate);
	return true;
}

static void init_conf(void)
{
	int saved = errno;

	if (load_conf()) {
		pthread_atfork(before_fork, after_fork_parent, after_fork_child);
		configured = true;
	}
	errno = saved;
}

static void init(void)
{
	int saved = errno;

	se_names_init(&se_names);

	*(void **)&se_real.getaddrinfo = next_symbol("getaddrinfo");
	*(void **)&se_real.gethostbyname = next_symbol("gethostbyname");
	*(void **)&se_real.gethostbyname2 = next_symbol("gethostbyname2");
	*(void **)&se_real.gethostbyname_r = next_symbol("gethostbyname_r");
	*(void **)&se_real.gethostbyname2_r = next_symbol("gethostbyname2_r");
	*(void **)&se_real.dup2 = next_symbol("dup2");
	*(void **)&se_real.freeaddrinfo = next_symbol("freeaddrinfo");
	*(void **)&se_real.close_range = next_symbol("close_range");
	*(void **)&se_real.closefrom = next_symbol("closefrom");

	if (se_sys_init() < 0 || se_sys.connect == connect ||
	    se_sys.setsockopt == setsockopt || se_sys.socket == socket ||
	    se_sys.bind == bind ||
	    !se_real.getaddrinfo || !se_real.gethostbyname ||
	    !se_real.gethostbyname2 || !se_real.gethostbyname_r ||
	    !se_real.gethostbyname2_r || !se_real.dup2 ||
	    !se_real.freeaddrinfo ||
	    se_sys.close == close || se_sys.dup3 == dup3 ||
	    se_sys.epoll_ctl == epoll_ctl || se_sys.getsockname == getsockname ||
	    se_sys.getpeername == getpeername) {
		/* Without the real functions every call would fail or recurse:
		 * say so, and keep out of the way (wrappers cannot pass through
		 * either, so they fail with ENOSYS). */
		se_log_raw("softerr: the real socket functions were not found; "
			   "softerr is inactive\n");
	} else if (getauxval(AT_SECURE)) {
		/* Secure-execution mode: the library stands entirely aside
		 * unless the system's settings say otherwise, which are read
		 * now. */
		ready = true;
		pthread_once(&once_conf, init_conf);
		ready = configured;
	} else {
		ready = true;
	}
	errno = saved;
}

/* Is this thread running on its alternate signal stack? */
static bool on_altstack(void)
{
	stack_t ss;

	return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

bool se_enter(void *frame)
{
	if (se_inside) {
		/* The stack grows down: a deeper frame is a nested call. */
		if ((uintptr_t)frame < (uintptr_t)se_frame || on_altstack())
			return false;
		/* The frame that entered is gone: a longjmp() left it. */
		se_engine_reclaim();
	}
	se_inside = 1;
	se_frame = frame;
	return true;
}

void se_leave(void)
{
	se_inside = 0;
	se_frame = NULL;
}

bool se_ready(void)
{
	pthread_once(&once, init);
	return ready;
}

bool se_configured(void)
{
	if (!se_ready())
		return false;
	pthread_once(&once_conf, init_conf);
	return configured;
}
