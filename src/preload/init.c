/* Lazy, once-only initialisation of the preloaded library. */
#include "config.h"

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

#include "core/engine.h"
#include "core/log.h"
#include "core/runtime.h"
#include "pending.h"
#include "core/sys.h"
#include "preload.h"

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
		    se_conf.path[0] ? se_conf.path : "no file", se_history_why);
	se_line_emit(&line, &s->log);
}

/* softerr.conf and the environment, the history, the network watch, and
 * the watcher's part of fork() (its thread is not in the child). In
 * secure-execution mode (set-user-ID and the like) neither the environment
 * nor the user's files count: only the system's file, which must ask for
 * the library to act there at all. */
static void init_conf(void)
{
	static const struct se_runtime_setup setup = {
		.getenv_fn = read_env,
		.warn = warn_later,
		.stand_aside_when_secure = true,
		.fork_prepare = se_watch_fork_prepare,
		.fork_parent = se_watch_fork_parent,
		.fork_child = se_watch_fork_child,
	};

	configured = se_runtime_configure(&setup);
}

static void init(void)
{
	int saved = errno;

	if (!se_runtime_start() || se_sys.connect == connect ||
	    se_sys.setsockopt == setsockopt || se_sys.socket == socket ||
	    se_sys.bind == bind || se_sys.close == close || se_sys.dup3 == dup3 ||
	    se_sys.dup2 == dup2 || se_sys.getaddrinfo == getaddrinfo ||
	    se_sys.freeaddrinfo == freeaddrinfo ||
	    se_sys.gethostbyname == gethostbyname ||
	    se_sys.gethostbyname2 == gethostbyname2 ||
	    se_sys.gethostbyname_r == gethostbyname_r ||
	    se_sys.gethostbyname2_r == gethostbyname2_r ||
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
