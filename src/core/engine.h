/* The blocking connect() engine: candidates, the error queue, the policy,
 * staggered attempts.
 *
 * No interposition here: the preload layer decides which calls come in, and
 * the engine calls the real connect() through se_sys. */
#ifndef SOFTERR_CORE_ENGINE_H
#define SOFTERR_CORE_ENGINE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "errq.h"
#include "history.h"
#include "names.h"
#include "settings.h"

/* What became of one attempt, for the API's report. */
enum se_outcome {
	SE_OUT_NOT_TRIED = 0,
	SE_OUT_CONNECTED,
	SE_OUT_REFUSED,		/* a TCP reset */
	SE_OUT_SOFT,		/* ended on a soft error (policy) */
	SE_OUT_HARD,		/* ended on a hard error */
	SE_OUT_SILENT,		/* no answer: gave way to the next address */
	SE_OUT_CANCELLED,	/* another attempt connected first */
	SE_OUT_TIMED_OUT,	/* the establishment timer ran out */
	SE_OUT_LEFT,		/* interrupted: left to the kernel */
	SE_OUT_LOCAL,		/* no socket could be had for it */
};

struct se_report_entry {
	struct se_addr addr;
	enum se_outcome outcome;
	int err;			/* errno of the outcome; 0 connected */
	uint64_t start_us, end_us;	/* since the connect() began */
	unsigned syns;			/* SYNs sent (the kernel's own too) */
	unsigned icmps;			/* ICMP errors received */
	bool has_icmp;
	struct se_icmp_seen icmp;	/* the last one */
};

/* Filled in start order by a run given one. */
struct se_report {
	size_t n;
	struct se_report_entry e[SE_NAME_ADDRS_MAX];
	/* The delay before the second address started (or would have) and
	 * where it came from ("15 ms from sibling 203.0.113.20 (srtt 5.0
	 * ms)"); -1 and "": the first address answered before one was
	 * needed. */
	int delay_ms;
	char delay_why[128];
};

struct se_engine_ctx {
	const struct se_settings *settings;
	struct se_names *names;		/* NULL: the asked address alone */
	/* Not NULL: these are the candidates (the API resolved them), in
	 * this order, the first the asked address; names is then unused. */
	const struct se_candidates *candidates;
	struct se_report *report;	/* NULL: none wanted */
	/* What each address did lately: orders the candidates, shortens the
	 * attempt delay, and learns from this run. NULL: none. */
	struct se_history *history;
	/* false when the program cannot have turned IP_RECVERR/IPV6_RECVERR
	 * on (it never called setsockopt() for them): the engine then need
	 * not ask the socket before it turns them on and off. */
	bool program_may_use_recverr;
	/* Called just before the engine puts another file on the program's
	 * number num (a private winner of a blocking connect(), dup3()), so
	 * that the caller forgets what it knew of the file there (the
	 * preload layer's records of it). NULL: nothing to tell. */
	void (*replacing)(int num);
};

/* connect() for fd, a blocking SOCK_STREAM TCP socket of family domain
 * (AF_INET or AF_INET6) whose file status flags are flags, to sa, under
 * ctx's policy: fails over to the other candidates of sa's name, on the same
 * socket where it can reach them, racing them on private sockets after the
 * attempt delay; a private winner replaces the socket on fd (dup3(), after
 * ctx->replacing(fd)).
 *
 * Returns 0 with errno untouched, or -1 with errno set as connect() would:
 * the most informative error of the attempts (a soft error's beats
 * ETIMEDOUT; the last attempt's when it was refused or hit a hard error),
 * EINTR as the kernel would give it, EINPROGRESS when SO_SNDTIMEO ran out.
 * The socket's flags and the program's own IP_RECVERR/IPV6_RECVERR settings
 * are as they were; on success the error queue is empty. */
int se_connect_blocking(const struct se_engine_ctx *ctx, int fd, int domain,
			int flags, const struct sockaddr *sa, socklen_t len);

/* A non-blocking connect()'s run, driven by the watcher's loop. */
struct se_run;
struct ev_loop;

/* Called once when the run is decided (connected, or failed with err;
 * err 0: a visible run left to the kernel, whose answer the socket holds),
 * from inside the loop, just before the run frees itself. winner: the
 * private socket that connected, now the callee's to put in place and
 * close; -1 when the run's own socket (fd) connected, or none did. */
typedef void (*se_run_done_fn)(struct se_run *run, void *arg, bool connected,
			       int err, int winner);

/* Memory for a run under s (NULL when there is none): room for as many
 * attempts in flight as s lets race, and for its log line when s logs.
 *
 * visible: the run is visible. Its one attempt is the program's own, on
 * the program's number, which the caller watches (se_run_poke(); no libev
 * watcher is put on a number the program may close behind the library's
 * back). The other addresses of the name only tell the policy that there
 * are others: the program tries them itself. The run ends with that
 * attempt: connected, ended by the policy (the socket cancelled, with the
 * error for the program to read), or left to the kernel where the kernel
 * ended it (refused, or its own timeout). */
struct se_run *se_run_new(const struct se_settings *s, bool visible);
/* Frees a run that se_run_adopt() was not given, or that was cancelled
 * (se_run_cancel()). A decided run frees itself. */
void se_run_free(struct se_run *run);

/* Takes over a non-blocking connect() that the program's socket, now on
 * the private number fd (the program's number is rec_fd), has begun to sa
 * with the RECVERR levels lvl turned on for it: runs the policy, the
 * staggered attempts and the timers as se_connect_blocking() does, once a
 * loop has it (se_run_resume()). Until then nothing of the run is in a
 * loop, so the caller may close fd without one knowing (se_run_cancel()
 * then leaves it alone). A private winner goes to done, for the caller
 * to put in place. done may be called before this returns, but for a
 * visible run, whose fd is the program's number itself (rec_fd too).
 *
 * Returns when the run needs its loop if nothing happens on fd meanwhile
 * (se_now_ms()'s clock: the attempt delay, the establishment timer); 0:
 * at once (done was called, or private attempts began already). */
uint64_t se_run_adopt(struct se_run *run, const struct se_engine_ctx *ctx, int fd,
		      int rec_fd, int domain, const struct sockaddr *sa, socklen_t len,
		      unsigned lvl, se_run_done_fn done, void *arg);

/* loop takes the run adopted: it watches its sockets and timers from now
 * on (in the loop's thread, or with its lock held). done may be called
 * before this returns. */
void se_run_resume(struct se_run *run, struct ev_loop *loop);

/* Something happened on a visible run's socket, or the program asks about
 * it (SO_ERROR, connect() again): the run looks now. done may be called
 * before this returns, and the run is then freed. With the loop's lock
 * held, after se_run_resume(). */
void se_run_poke(struct se_run *run);

/* The program gave up (closed its descriptor): every attempt ends, the
 * history learns what was silent long enough (done is not called). fd is
 * left as it is, for the caller to close (or closed already), and run for
 * the caller to free (se_run_free()). */
void se_run_cancel(struct se_run *run, const char *why);

/* The program let go of a run no loop has yet (se_run_resume()), and its
 * caller closed fd: nothing runs it until se_run_cancel(), which judges
 * its silence as of now. Async-signal-safe (close() may come from a signal
 * handler). */
void se_run_let_go(struct se_run *run);

/* The program takes its socket back while the run goes on (shutdown()):
 * the error queue is turned off on it as the program had it, and the run
 * does nothing more, with that socket or any other, until se_run_cancel().
 * Async-signal-safe (no memory, no libev); with the loop's lock held. */
void se_run_hold(struct se_run *run);

/* The program set an option on its socket while the run goes on: the
 * private attempts in flight get it, and those started later. */
void se_run_setsockopt(struct se_run *run, int level, int name,
		       const void *val, socklen_t len);

/* In a child after fork(): closes the child's copies of the private
 * sockets and frees the run, touching nothing the parent shares. */
void se_run_forget(struct se_run *run);
/* Does one of run's attempts use the number fd? */
bool se_run_holds(const struct se_run *run, int fd);

/* Frees what this thread's last run left behind when a signal handler
 * longjmp()ed out of it: its private sockets and its loop. The program's
 * own socket is left as it is (the program may have closed it, and the
 * number may hold something else now). */
void se_engine_reclaim(void);

#endif
