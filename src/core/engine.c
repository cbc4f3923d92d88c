/* The blocking connect() engine.
 *
 * Every attempt runs non-blocking. A healthy connect (the SYN answered at
 * once, as on a LAN) is over after a second connect() on the program's own
 * socket. Anything slower runs under a private libev loop (poll backend: no
 * descriptor of its own, nothing to inherit across fork or exec) that
 * watches the attempts and the timers: the error queue of each socket, the
 * policy's resends, the staggered start of the next candidate (RFC 8305)
 * and the connection-establishment timer.
 *
 * The first attempt is made on the program's socket; later ones on it too
 * when it is free and the candidate is of the family it was used for, else
 * on private sockets that carry what the program set on its own
 * (sockrec.h). A private winner is put in the program's place with dup3()
 * (by the watcher, for its runs). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "engine.h"
#include "errq.h"
#include "icmp.h"
#include "log.h"
#include "ownfd.h"
#include "policy.h"
#include "sockrec.h"
#include "sys.h"

#define RTO_INITIAL_MS 1000u	/* RFC 6298 initial RTO, as Linux uses */
#define RTO_MAX_MS 60000u
#define MAX_INFLIGHT 16		/* the bound of max_attempts */
/* The longest single wait: shorter than libev's own longest (MAX_BLOCKTIME,
 * 59.743 s), after which ev_run() returns with no watcher fired, as when a
 * signal interrupted it. */
#define MAX_WAIT_MS 30000u

struct run;

/* Blocking runs with handlers of both kinds: the signalfd watching those
 * without SA_RESTART (fd -1: none), over set. */
struct sigwatch {
	int fd;
	bool woke;
	sigset_t set;
	ev_io io;
};

/* One connection attempt to one candidate, on one socket. */
struct attempt {
	struct run *r;
	int fd;			/* -1: this slot is free */
	bool own;		/* the program's socket */
	size_t cand;		/* index in r->cand */
	int family;		/* of the socket */
	union {			/* the candidate's address and port */
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer;
	socklen_t peerlen;
	unsigned lvl_ours;	/* RECVERR levels we turned on */
	unsigned lvl_known;	/* RECVERR levels whose setting we know */

	struct se_attempt_counts counts;
	unsigned kernel_rexmit;	/* tcpi_total_retrans seen in this SYN's life */
	bool alive;		/* in SYN-SENT in the kernel */
	bool soft_seen;
	/* adaptive, no alternative: the attempt persists after its first
	 * soft error until then (0: it does not persist) */
	uint64_t persist_until;
	bool lost_checked;	/* the history asked whether it was lost */
	bool lost_before;	/* ... and it was: no persistence */
	uint64_t t0, resend_at;
	unsigned syn_index;	/* SYNs so far on TCP's backoff schedule */
	struct se_icmp_seen icmp;	/* the last ICMP of this attempt */
	bool has_icmp;
	uint64_t t0_us;
	struct se_report_entry *rep;	/* NULL: no report */
	ev_io io;
};

struct run {
	const struct se_settings *s;
	struct se_names *names;
	const struct se_candidates *given;	/* the API's candidates */
	/* The program's sockaddr: which getaddrinfo() answer it came from
	 * (names.h). Compared, never read. */
	const void *asked_key;
	struct se_report *report;
	struct se_history *hist;
	uint64_t t0_us;
	int fd, domain;		/* the program's socket */
	int rec_fd;		/* its number in the program (sockrec, log) */
	/* Driven by the watcher's loop for a non-blocking connect(): done
	 * is called when it is decided, and the run frees itself. */
	bool async;
	se_run_done_fn done;
	void *done_arg;
	uint16_t port;		/* network order */
	int flags;		/* the program's file status flags */
	int errno_in;		/* errno at entry, given back on success */
	bool ask_recverr;	/* the program may have set RECVERR itself */
	void (*replacing)(int num);	/* ctx->replacing */
	/* fd's file (know_program_socket()), once private sockets start,
	 * and in a visible run */
	ino_t fd_ino;
	dev_t fd_dev;

	bool cand_loaded;
	bool v6only;		/* the program's AF_INET6 socket is v6-only */
	bool can_private;	/* attempts on private sockets are possible */
	unsigned cap;		/* attempts in flight at most */
	size_t next;		/* the next candidate to start */
	uint64_t stagger_at;	/* when the next candidate starts anyway */
	bool rtt_spent;		/* a delay from the history was taken */
	unsigned inflight;
	/* att[0] to att[nused - 1] have been used (their fd -1 when free);
	 * those after, never: the healthy path looks at one. */
	unsigned nused;

	uint64_t t0, deadline, sndtimeo_deadline;
	int soft_err;		/* the latest soft error's errno, any attempt */
	int last_err;		/* how the latest attempt ended */
	bool last_hard;

	enum { RUNNING, CONNECTED, FAILED, LEFT_IN_PROGRESS } state;
	int fail_errno;

	bool logging;
	bool said_unseen;	/* the log told why an unseen lookup matters */
	bool closing;		/* cancelled: the caller closes the sockets */
	bool held;		/* the program took its socket back */
	bool deciding;		/* an attempt connected: the others go */
	/* se_now_ms() when the program let go of the run before a loop had
	 * it (se_run_let_go()); 0: it did not. */
	uint64_t let_go_at;
	int winner;		/* async: a private winner, for done() */
	struct ev_loop *loop;
	ev_timer timer;
	bool fired;
	/* A blocking run's watch of the signals (run_loop()'s; NULL in a
	 * watcher's run). */
	struct sigwatch *sig;

	/* Large, and set up only as far as used: everything above is zeroed
	 * at the start of each connect(), nothing below. */
	struct se_candidates cand;
	struct se_line *line;	/* when logging */
	/* What the program set, for private sockets (NULL in a visible run,
	 * which has none). */
	struct se_sockrec *rec;
	/* Room for natt attempts: MAX_INFLIGHT in a blocking connect(), as
	 * many as the settings let race in a watcher's run, one in a visible
	 * run (a pending connect costs the memory it can use, no more). */
	unsigned natt;
	/* A watcher's run that the program sees (se_run_new()): one
	 * attempt, on the program's socket, which the caller watches
	 * (se_run_poke()). Set with the memory, never from a context. */
	bool visible;
	struct attempt att[];
};

/* What this thread's run holds that outlives its stack frame: the private
 * sockets (with their inode, to know them again) and the loop. A program
 * whose signal handler longjmp()s out of connect() (wget --timeout does)
 * leaves them behind; se_engine_reclaim() frees them. */
static __thread struct {
	struct ev_loop *loop;
	int fd[MAX_INFLIGHT];	/* known by their files (ownfd.h) */
} held __attribute__((tls_model("initial-exec")));

/* Notes which file the program's number holds, once: its socket. */
static void know_program_socket(struct run *r)
{
	struct stat st;

	if (!r->fd_ino && fstat(r->fd, &st) == 0) {
		r->fd_ino = st.st_ino;
		r->fd_dev = st.st_dev;
	}
}

/* Does the program's number still hold the file know_program_socket()
 * noted? The program may have closed it meanwhile (a signal handler, or
 * the raw system call behind the wrappers' back) and put a file of its
 * own there. */
static bool program_socket_there(const struct run *r)
{
	struct stat st;

	return fstat(r->fd, &st) == 0 && st.st_ino == r->fd_ino &&
	       st.st_dev == r->fd_dev;
}

static void hold_fd(struct run *r, int fd)
{
	unsigned i;

	/* A watcher's run is never longjmp()ed out of. */
	if (r->async)
		return;
	/* To know at the end that the program's number still holds its
	 * socket (a signal handler may close it meanwhile). */
	know_program_socket(r);
	for (i = 0; i < MAX_INFLIGHT; i++)
		if (held.fd[i] <= 0) {
			held.fd[i] = fd + 1;	/* 0: a free entry */
			return;
		}
}

/* Closes a private socket the run made. */
static void close_private(int fd)
{
	unsigned i;

	for (i = 0; i < MAX_INFLIGHT; i++)
		if (held.fd[i] == fd + 1)
			held.fd[i] = 0;
	se_close_own(fd);
}

void se_engine_reclaim(void)
{
	unsigned i;

	for (i = 0; i < MAX_INFLIGHT; i++) {
		int fd = held.fd[i] - 1;

		held.fd[i] = 0;
		/* Closed only if the number still holds our socket. */
		if (fd >= 0)
			se_close_own(fd);
	}
	if (held.loop) {
		ev_loop_destroy(held.loop);
		held.loop = NULL;
	}
}

static uint64_t since(const struct run *r)
{
	return se_now_ms() - r->t0;
}

/* Records how at ended, for a report. */
static void outcome(struct attempt *at, enum se_outcome o, int err)
{
	if (!at->rep || at->rep->outcome != SE_OUT_NOT_TRIED)
		return;
	at->rep->outcome = o;
	at->rep->err = err;
	at->rep->end_us = se_now_us() - at->r->t0_us;
}

static const char *addr_of(const struct attempt *at, char *buf, size_t len)
{
	return se_addr_str(&at->r->cand.addr[at->cand], buf, len);
}

static void note(struct attempt *at, const char *what)
{
	char abuf[INET6_ADDRSTRLEN];
	struct run *r = at->r;

	if (r->logging)
		se_line_add(r->line, " %s %s at %llu ms;", addr_of(at, abuf, sizeof(abuf)),
			    what, (unsigned long long)since(r));
}

/* Tells the address history how at went. */
static void remember(struct attempt *at, enum se_hist_kind kind, uint32_t rtt_us)
{
	struct run *r = at->r;

	if (!r->hist)
		return;
	if (kind == SE_HIST_CONNECTED) {
		/* Smoothed with what it showed before: the attempt delays
		 * come from it. */
		se_history_handshake(r->hist, &r->cand.addr[at->cand], rtt_us,
				     se_boot_ms());
		return;
	}
	se_history_record(r->hist, &r->cand.addr[at->cand], kind,
			  at->has_icmp ? at->icmp.type : SE_HIST_NO_ICMP,
			  at->has_icmp ? at->icmp.code : 0, rtt_us, se_boot_ms());
}

/* Was at silent long enough, against the handshake times its address or
 * its name's others usually show, for its end without an answer to teach
 * the history "no answer"? When another attempt of the run connected: as
 * long as the attempt delay those times give (se_rtt_delay_ms()), the
 * silence the race itself judged by; else (the program gave up on it
 * after a delay of its own: curl races the other family after 200 ms and
 * closes the silent attempt) se_rtt_silence_ms(). */
static bool long_silent(const struct attempt *at)
{
	struct run *r = at->r;
	struct se_rtt rt;
	uint64_t need;

	if (!r->hist || !at->alive || at->soft_seen)
		return false;
	se_history_rtt(r->hist, &r->cand.addr[at->cand], r->cand.addr, r->cand.n,
		       se_boot_ms(), &rt);
	if (r->deciding && !r->closing)
		need = se_rtt_delay_ms(&rt, r->s->attempt_delay_ms);
	else
		need = se_rtt_silence_ms(&rt);
	return (r->let_go_at ? r->let_go_at : se_now_ms()) - at->t0 >= need;
}

/* What the history knows of a, if it is asked at all. */
static bool hist_get(const struct run *r, const struct se_addr *a,
		     struct se_hist_info *i)
{
	return r->hist && se_history_get(r->hist, a, se_boot_ms(), i);
}

/* Says what the delay after the attempt just started is and why (why:
 * se_rtt_describe()'s), in the log and, the first time, the report. */
static void tell_delay(struct run *r, unsigned ms, const char *why)
{
	if (r->next >= r->cand.n)
		return;		/* no other to start */
	if (r->logging)
		se_line_add(r->line, " delay %s;", why);
	if (r->report && r->report->delay_ms < 0) {
		r->report->delay_ms = (int)ms;
		snprintf(r->report->delay_why, sizeof(r->report->delay_why), "%s", why);
	}
}

/* The attempt delay after candidate c started: from the handshake times
 * the history expects of c, its name's others or its /24 or /48
 * (se_rtt_delay_ms()), else attempt_delay; why says which. A delay
 * shorter than attempt_delay is taken once per run: a path slower than
 * its history (a route changed, a far address among near ones) then pays
 * one needless SYN at most, and later candidates wait as without the
 * history. Not where attempts go one at a time: there the delay ends the
 * silent attempt rather than races it. */
static unsigned next_delay(struct run *r, size_t c, char *why, size_t len)
{
	struct se_rtt rt;
	unsigned d;

	memset(&rt, 0, sizeof(rt));
	if (r->hist && !r->rtt_spent && r->can_private && r->cap > 1)
		se_history_rtt(r->hist, &r->cand.addr[c], r->cand.addr, r->cand.n,
			       se_boot_ms(), &rt);
	d = se_rtt_delay_ms(&rt, r->s->attempt_delay_ms);
	if (d < r->s->attempt_delay_ms)
		r->rtt_spent = true;
	se_rtt_describe(&rt, d, why, len);
	return d;
}

/* --- The error queue and the socket's state ------------------------------ */

/* Turns the error queue on at lvl unless it is on already. A private
 * socket is asked (it holds what was replayed); the program's only when the
 * program may have set it. */
static int want_recverr(struct attempt *at, unsigned lvl)
{
	int on = 0;

	if (at->lvl_known & lvl)
		return 0;
	if ((!at->own || at->r->ask_recverr) && (on = se_recverr_get(at->fd, lvl)) < 0)
		return -1;
	at->lvl_known |= lvl;
	if (on)
		return 0;
	if (se_recverr_set(at->fd, lvl, 1) < 0)
		return -1;
	at->lvl_ours |= lvl;
	return 0;
}

static bool network_errno(int err)
{
	switch (err) {
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case EPROTO:
	case ENONET:
	case EHOSTDOWN:
	case EACCES:
	case EPERM:
	case EADDRNOTAVAIL:
		return true;
	}
	return false;
}

static void log_icmp(struct attempt *at, const struct se_icmp_seen *ic)
{
	char what[160];

	if (at->r->logging)
		note(at, se_icmp_describe(ic, what, sizeof(what)));
}

/* Ends the attempt in the kernel whatever state it is in, and leaves the
 * socket ready for another connect(): AF_UNSPEC cancels a SYN-SENT attempt
 * and resets a failed one; SO_ERROR then clears what that left behind. */
static void reset_socket(struct attempt *at)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	se_sys.connect(at->fd, &sa, sizeof(sa));
	/* The program's socket at the end of a non-blocking run is not used
	 * for another attempt: the ECONNRESET the reset left stays, for a
	 * child forked meanwhile, which holds the socket too, to read (the
	 * watcher answers SO_ERROR for the program itself), and in the
	 * visible mode for the program's poll() to see as POLLERR. */
	if (!(at->own && at->r->async &&
	      (at->r->visible || at->r->deciding || at->r->state != RUNNING)))
		se_sock_error(at->fd);
	se_errq_drain(at->fd, NULL, NULL, 0);
	at->alive = false;
}

/* --- Candidates ---------------------------------------------------------- */

/* Can the program's socket reach a? Its own family, and IPv4 through mapped
 * addresses on an AF_INET6 socket that allows them. */
static bool own_reaches(const struct run *r, const struct se_addr *a)
{
	return a->family == r->domain ||
	       (r->domain == AF_INET6 && a->family == AF_INET && !r->v6only);
}

/* The family of a socket that reaches a: the program's when it can. */
static int family_for(const struct run *r, const struct se_addr *a)
{
	return own_reaches(r, a) ? r->domain : a->family;
}

/* May the program's socket carry an attempt to a? Only to the family it
 * was used for (the asked address's; a mapped address counts as IPv4):
 * Linux keeps sending the SYNs of an AF_INET6 socket that connected to a
 * mapped address as IPv4 to that address, even after connect(AF_UNSPEC)
 * and a native IPv6 address (Java's and Python's dual-stack sockets would
 * wait out the timer). The other family goes on a fresh private socket. */
static bool own_carries(const struct run *r, const struct se_addr *a)
{
	return own_reaches(r, a) && a->family == r->cand.addr[0].family;
}

static bool reachable(const struct run *r, const struct se_addr *a)
{
	if (own_carries(r, a))
		return true;
	if (!r->can_private)
		return false;
	/* A local address the program bound fixes the family. */
	return !r->rec->bound || r->rec->local.sin6_family == a->family;
}

/* Loads the other addresses of the asked one's name, once, when the run
 * first needs them: the healthy path never does. */
static void load_candidates(struct run *r)
{
	struct se_addr asked = r->cand.addr[0];
	size_t i, n;

	if (r->cand_loaded)
		return;
	r->cand_loaded = true;
	if (r->given && se_policy_acts(r->s))
		r->cand = *r->given;
	else if (!r->names || !se_policy_acts(r->s))
		return;
	else
		se_names_candidates(r->names, &asked, r->asked_key, se_now_ms(),
				    &r->cand);
	/* A visible run's others are the program's to try: that there are
	 * some is all the policy asks. */
	if (r->cand.n == 1 || r->visible)
		return;
	if (r->domain == AF_INET6) {
		int on = 0;
		socklen_t len = sizeof(on);

		if (se_sys.getsockopt(r->fd, SOL_IPV6, IPV6_V6ONLY, &on, &len) == 0)
			r->v6only = on != 0;
	}
	/* Private sockets need to know all the program set on its own, and
	 * cannot share a local port it bound. */
	r->can_private = se_sockrec_get(r->rec_fd, r->rec) == 0 &&
			 se_sockrec_port(r->rec) == 0;
	r->cap = r->can_private && r->s->race ? r->s->max_attempts : 1;
	if (r->cap > r->natt)
		r->cap = r->natt;
	se_candidates_interleave(&r->cand);
	if (r->hist && r->cand.n > 2) {
		/* What failed lately goes last (the asked address stays
		 * first: it is the program's attempt). */
		size_t order[SE_NAME_ADDRS_MAX];

		se_history_order(r->hist, r->cand.addr + 1, r->cand.n - 1,
				 se_boot_ms(), order, NULL);
	}
	for (i = n = 1; i < r->cand.n; i++)
		if (reachable(r, &r->cand.addr[i]))
			r->cand.addr[n++] = r->cand.addr[i];
	r->cand.n = n;
}

/* Did a process persist on at's address lately, and lose? Then this one
 * does not persist on it again: asked once per attempt. */
static bool lost_before(struct run *r, struct attempt *a)
{
	struct se_hist_info hi;

	if (a->lost_checked)
		return a->lost_before;
	a->lost_checked = true;
	if (hist_get(r, &r->cand.addr[a->cand], &hi) &&
	    hi.kind == SE_HIST_PERSIST_LOST) {
		a->lost_before = true;
		if (r->logging) {
			char what[96];

			se_line_add(r->line, " (history: %s: no persistence)",
				    se_history_describe(&hi, r->cand.addr[a->cand].family,
							what, sizeof(what)));
		}
	}
	return a->lost_before;
}

/* Is there another way to connect besides at: an untried candidate or
 * another attempt in flight? Under adaptive also true where the attempt
 * must not persist: the address's name is not known to end with it, or
 * persistence on it was spent or lost lately. */
static bool alternative(struct run *r, struct attempt *at)
{
	load_candidates(r);
	/* An untried candidate: the run's to start, or in a visible run
	 * (which starts none) the program's. */
	if (r->next < r->cand.n || (r->visible && r->cand.n > 1) || r->inflight > 1)
		return true;
	if (!se_policy_may_persist(r->s))
		return false;
	/* Persistence was spent on this name moments ago: do not spend it
	 * again on each address the program tries after that. Nor is it spent
	 * on an address that several names share: it is not known to be the
	 * last of the program's name, whose others the program may try. */
	if (r->cand.persist_spent || r->cand.source == SE_CAND_SHARED ||
	    !r->s->persist_timeout_ms)
		return true;
	/* What follows matters for a soft error only (a retransmission is
	 * counted whatever the answer): neither logged nor asked before. */
	if (!at->soft_seen)
		return false;
	if (r->cand.source == SE_CAND_NONE) {
		/* No lookup of the program's holds it (a literal address, or a
		 * resolver the library does not see: c-ares, a child process,
		 * Java's cache): the program may well have another address
		 * to try, and the kernel would have ended the attempt. */
		if (r->logging && !r->said_unseen)
			se_line_add(r->line, " (no lookup seen: no persistence)");
		r->said_unseen = true;
		return true;
	}
	return lost_before(r, at);
}

/* --- Attempts ------------------------------------------------------------ */

static void finish(struct run *r, int state, int err)
{
	r->state = state;
	r->fail_errno = err;
}

/* Frees at's slot and leaves its socket as it is, but for the error queue
 * we turned on. */
static void vacate(struct attempt *at)
{
	if (at->r->loop)
		ev_io_stop(at->r->loop, &at->io);
	se_recverr_restore(at->fd, &at->lvl_ours);
	at->fd = -1;
	at->r->inflight--;
}

/* Frees at's slot: a private socket is closed, the program's is reset. */
static void release(struct attempt *at)
{
	int fd = at->fd;

	if (fd < 0)
		return;
	if (at->own) {
		/* Reset for the program to use again, unless it goes: a reset
		 * would only wake the watcher's loop for a closed socket. */
		if (at->r->closing)
			at->lvl_ours = 0;
		else
			reset_socket(at);
		vacate(at);
		return;
	}
	at->lvl_ours = 0;	/* closed: nothing to turn off */
	vacate(at);
	close_private(fd);
}

/* Ends at from outside (another attempt won, a timer ran out, the program
 * gave up): what becomes of it is o, and a silence as long as the attempt
 * delay teaches the history "no answer". */
static void give_up(struct attempt *at, const char *why, enum se_outcome o, int err)
{
	note(at, why);
	outcome(at, o, err);
	if (at->persist_until)
		remember(at, SE_HIST_PERSIST_LOST, 0);
	else if (long_silent(at))
		remember(at, SE_HIST_SILENT, 0);
	release(at);
}

/* at is over; the next candidate starts at once (advance()). */
static void end_attempt(struct attempt *at, int err, bool hard)
{
	struct run *r = at->r;

	note(at, hard ? "hard, ended" : "ended");
	if (err == ECONNREFUSED) {
		outcome(at, SE_OUT_REFUSED, err);
		remember(at, SE_HIST_REFUSED, 0);
	} else if (hard) {
		outcome(at, SE_OUT_HARD, err);
		remember(at, SE_HIST_HARD, 0);
	} else if (at->soft_seen) {
		/* RFC 5461 6: one ICMP error may be forged. It demotes the
		 * address in this process (se_names_mark_failed()); others
		 * learn of it when it was confirmed: a second error, or a
		 * persistence that no SYN-ACK answered. */
		outcome(at, SE_OUT_SOFT, err);
		remember(at, at->persist_until ? SE_HIST_PERSIST_LOST :
			 at->counts.nsofterror > 1 ? SE_HIST_SOFT : SE_HIST_SOFT_ONCE, 0);
	} else {
		outcome(at, SE_OUT_SILENT, err);
		remember(at, SE_HIST_SILENT, 0);
	}
	r->last_err = err;
	r->last_hard = hard;
	if (r->names)
		se_names_mark_failed(r->names, &r->cand.addr[at->cand], se_now_ms());
	release(at);
	r->stagger_at = se_now_ms();
	if (!se_policy_acts(r->s))
		finish(r, FAILED, 0);
}

/* A blocking run's private winner fd (of at, vacated) goes on the
 * program's number, and its private number is closed. Returns 0, or the
 * errno connect() is to fail with. Its file status flags become the
 * program's when the run ends, as the program's own socket's do. The
 * caller hears first that the file on the program's number changes. */
static int put_in_place(struct attempt *at, int fd)
{
	struct run *r = at->r;
	int err;

	if (!program_socket_there(r)) {
		/* The program closed or replaced its socket meanwhile (a
		 * signal handler did): the number is not the program's socket
		 * any more, and a connect() restarted there would say EBADF. */
		note(at, "not put in place: the program closed its socket");
		close_private(fd);
		return EBADF;
	}
	if (r->replacing)
		r->replacing(r->fd);
	err = se_dup_onto(fd, r->fd) < 0 ? errno : 0;
	if (err)
		note(at, "could not be put in place");
	close_private(fd);
	return err;
}

/* at is established: it wins, the others are closed, and the winner is put
 * in the program's place. closed: it was over already (the peer reset it
 * after the handshake): its SO_ERROR is the program's to read, and a
 * second connect() would take it. */
static void connected(struct attempt *at, bool slow, bool closed)
{
	struct run *r = at->r;
	unsigned i;
	int fd, err = 0;

	/* A second connect() moves the socket from "connecting" to
	 * "connected" as a blocking connect() leaves it (a third then says
	 * EISCONN, as the kernel's would). SO_ERROR clears a soft error the
	 * kernel may have recorded for an earlier candidate. */
	if (slow && !closed) {
		se_sock_error(at->fd);
		/* A non-blocking connect() leaves that to the program. */
		if (!r->async)
			se_sys.connect(at->fd, &at->peer.sa, at->peerlen);
	}
	note(at, "connected");
	outcome(at, SE_OUT_CONNECTED, 0);
	r->deciding = true;
	if (r->hist) {
		struct se_hist_info hi;

		/* The healthy path tells the history only what it must
		 * correct, and asks only when there may be something. */
		if (slow || (se_history_any_failed(r->hist) &&
			     hist_get(r, &r->cand.addr[at->cand], &hi) &&
			     se_history_doubtful(&hi)))
			remember(at, SE_HIST_CONNECTED,
				 (uint32_t)(se_now_us() - at->t0_us));
	}
	for (i = 0; i < r->nused; i++)
		if (&r->att[i] != at && r->att[i].fd >= 0)
			give_up(&r->att[i], "cancelled", SE_OUT_CANCELLED, 0);
	fd = at->fd;
	vacate(at);
	if (!at->own && r->async)
		r->winner = fd;	/* the watcher puts it in place (done()) */
	else if (!at->own)
		err = put_in_place(at, fd);
	finish(r, err ? FAILED : CONNECTED, err);
}

static struct attempt *free_slot(struct run *r)
{
	unsigned i;

	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd < 0)
			return &r->att[i];
	return r->nused < r->natt ? &r->att[r->nused] : NULL;
}

/* The program's attempt, if it is in flight. */
static struct attempt *own_attempt(struct run *r)
{
	unsigned i;

	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && r->att[i].own)
			return &r->att[i];
	return NULL;
}

/* The program's number no longer holds its socket: a signal handler
 * closed it, or put another file there. Nothing can be put in its place any
 * more: the run ends, and connect() says what a restarted one would (err:
 * EBADF, ENOTSOCK). */
static bool socket_gone(int err)
{
	return err == EBADF || err == ENOTSOCK;
}

static void lost_socket(struct run *r, struct attempt *own, int err)
{
	unsigned i;

	note(own, "lost: the program closed its socket");
	outcome(own, SE_OUT_LOCAL, err);
	own->lvl_ours = 0;	/* nothing of ours to turn off there */
	vacate(own);
	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0)
			give_up(&r->att[i], "cancelled", SE_OUT_CANCELLED, 0);
	r->last_err = err;
	finish(r, FAILED, err);
}

/* Is at's private socket gone from its number (the program put a file of
 * its own there with dup2(), or closed it behind the library's back)? The
 * attempt then ends as one no socket could be had for, and the number,
 * the program's now, is not touched again. */
static bool private_lost(struct attempt *at)
{
	if (at->own || at->fd < 0 || se_owns(at->fd))
		return false;
	at->lvl_ours = 0;
	note(at, "lost: the program took its number");
	outcome(at, SE_OUT_LOCAL, EBADF);
	release(at);
	at->r->stagger_at = se_now_ms();
	return true;
}

/* Starts at's watcher when the run has a loop; a visible run's socket is
 * the caller's to watch. */
static void watch_io(struct attempt *at)
{
	if (at->r->loop && !at->r->visible)
		ev_io_start(at->r->loop, &at->io);
}

/* Sends the attempt's SYN (again). */
static void send_syn(struct attempt *at)
{
	struct run *r = at->r;

	if (private_lost(at))
		return;

	at->kernel_rexmit = 0;
	at->resend_at = 0;
	if (at->rep)
		at->rep->syns++;
	if (se_sys.connect(at->fd, &at->peer.sa, at->peerlen) == 0) {
		connected(at, true, false);
		return;
	}
	if (errno == EINPROGRESS) {
		at->alive = true;
		watch_io(at);
		return;
	}
	if (!network_errno(errno) && at->own && at->cand == 0 && at->syn_index == 0) {
		/* Not about the network (EBADF, EISCONN, EALREADY...): the
		 * program hears it exactly as the kernel said it, and its
		 * socket is left as it was. */
		int err = errno;

		vacate(at);
		r->last_err = err;
		finish(r, FAILED, err);
		return;
	}
	if (at->own && socket_gone(errno)) {
		lost_socket(r, at, errno);
		return;
	}
	end_attempt(at, errno, true);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);

/* A new non-blocking socket of family for a, set up as the program set up
 * its own. Returns it, or -1 with *why. */
static int private_socket(struct run *r, int family, const struct se_addr *a,
			  const char **why)
{
	int fd, off = 0;

	if (!se_own_room(1)) {
		/* The program's descriptors are the program's. */
		*why = "the library's descriptor budget is spent";
		return -1;
	}
	fd = se_sys.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   IPPROTO_TCP);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	fd = se_own_move(fd);
	hold_fd(r, fd);
	if (se_sockrec_apply(r->rec, fd, family, why) < 0) {
		close_private(fd);
		return -1;
	}
	/* IPv4 through a mapped address, even where bindv6only=1. */
	if (family == AF_INET6 && a->family == AF_INET &&
	    se_sys.setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) {
		*why = "IPV6_V6ONLY cannot be turned off";
		close_private(fd);
		return -1;
	}
	return fd;
}

/* No private socket could be had for candidate c (why: EMFILE, or the
 * library's descriptor budget spent): the candidates go one at a time on
 * the program's socket from now on, c first, rather than be dropped. */
static void one_at_a_time(struct run *r, size_t c, const char *why)
{
	size_t i, n;

	if (r->logging)
		se_line_add(r->line, " no private socket (%s): one at a time;", why);
	r->can_private = false;
	r->next = c;
	for (i = n = c; i < r->cand.n; i++)
		if (own_carries(r, &r->cand.addr[i]))
			r->cand.addr[n++] = r->cand.addr[i];
	r->cand.n = n;
}

/* Starts candidate c on the program's socket (own) or a private one.
 * Returns false if no socket could be had for it. adopted: the program's
 * connect() sent the SYN already, with RECVERR levels *adopted turned on
 * for it; NULL: send it. */
static bool start_attempt(struct run *r, struct attempt *at, size_t c, bool own,
			  const unsigned *adopted)
{
	const struct se_addr *a = &r->cand.addr[c];
	struct sockaddr_storage ss;
	const char *why = "?";

	memset(at, 0, sizeof(*at));
	if (at - r->att >= (ptrdiff_t)r->nused)
		r->nused = (unsigned)(at - r->att) + 1;
	at->r = r;
	at->cand = c;
	at->own = own;
	at->family = family_for(r, a);
	at->t0_us = se_now_us();
	at->t0 = at->t0_us / 1000;	/* what se_now_ms() says now */
	at->fd = own ? r->fd : private_socket(r, at->family, a, &why);
	if (at->fd < 0 && !own && own_carries(r, a)) {
		one_at_a_time(r, c, why);
		return false;
	}
	if (r->report && r->report->n < SE_NAME_ADDRS_MAX) {
		at->rep = &r->report->e[r->report->n++];
		memset(at->rep, 0, sizeof(*at->rep));
		at->rep->addr = *a;
		at->rep->start_us = at->t0_us - r->t0_us;
		if (at->fd < 0)
			outcome(at, SE_OUT_LOCAL, errno);
	}
	if (at->fd < 0) {
		if (r->logging) {
			char abuf[INET6_ADDRSTRLEN];

			se_line_add(r->line, " %s skipped: %s;",
				    se_addr_str(a, abuf, sizeof(abuf)), why);
		}
		return false;
	}
	r->inflight++;
	at->peerlen = se_addr_to_sockaddr(a, r->port,
					  at->family == AF_INET6 && a->family == AF_INET,
					  &ss);
	memcpy(&at->peer, &ss, at->peerlen);
	ev_io_init(&at->io, io_cb, at->fd, EV_WRITE);
	at->io.data = at;
	if (adopted) {
		at->lvl_ours = at->lvl_known = *adopted;
		if (at->rep)
			at->rep->syns++;
		at->alive = true;
		watch_io(at);
		note(at, "sent");
		return true;
	}
	if (want_recverr(at, se_recverr_level(at->family, a->family)) < 0 &&
	    r->logging)
		se_line_add(r->line, " (no error queue: %s)", strerror(errno));
	note(at, own ? "sent" : "sent on a new socket");
	send_syn(at);
	return true;
}

/* Could the next candidate start now, time aside? Without private
 * sockets it waits for the program's socket to be free. */
static bool startable(struct run *r)
{
	return r->next < r->cand.n && r->inflight < r->cap &&
	       (r->can_private ||
		(own_carries(r, &r->cand.addr[r->next]) && !own_attempt(r)));
}

/* One attempt at a time (a bound local port, SOFTERR_RACE=off, or no
 * private sockets): the attempt that stays silent for the attempt delay
 * gives way to the next candidate; the last one is left to run. Returns
 * that attempt, if there is one. */
static struct attempt *silent_one(struct run *r)
{
	struct attempt *own;
	unsigned i;

	if (r->next >= r->cand.n)
		return NULL;
	if (!r->can_private) {
		/* The program's socket takes the candidates one at a time
		 * (private attempts begun before it came to that go on). */
		own = own_attempt(r);
		return own && own->alive && !own->soft_seen ? own : NULL;
	}
	if (r->cap != 1 || r->inflight != 1)
		return NULL;
	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && r->att[i].alive && !r->att[i].soft_seen)
			return &r->att[i];
	return NULL;
}

/* Starts what is due: the next candidate when nothing is in flight or the
 * attempt delay has passed, within the cap; ends the run when nothing is
 * left to wait for. */
static void advance(struct run *r)
{
	struct attempt *silent = silent_one(r);

	if (r->state == RUNNING && silent && se_now_ms() >= r->stagger_at) {
		note(silent, "silent, gives way");
		end_attempt(silent, ETIMEDOUT, false);
	}
	while (r->state == RUNNING && startable(r) &&
	       (r->inflight == 0 || se_now_ms() >= r->stagger_at)) {
		size_t c = r->next;
		bool own = own_carries(r, &r->cand.addr[c]) && !own_attempt(r);
		struct attempt *at = free_slot(r);
		char why[128];

		if (!at)
			break;
		r->next++;
		r->stagger_at = se_now_ms() + next_delay(r, c, why, sizeof(why));
		if (!start_attempt(r, at, c, own, NULL))
			r->stagger_at = se_now_ms();
		else if (r->state == RUNNING && at->fd >= 0)
			tell_delay(r, (unsigned)(r->stagger_at - se_now_ms()), why);
	}
	if (r->state == RUNNING && r->inflight == 0 && r->next >= r->cand.n)
		finish(r, FAILED, 0);
}

/* The next SYN on TCP's backoff schedule counted from the attempt's first
 * SYN (1 s, 3 s, 7 s, ...), at or after now. */
static uint64_t next_syn_time(struct attempt *at, uint64_t now)
{
	uint64_t t = at->t0, rto = RTO_INITIAL_MS;
	unsigned i;

	for (i = 0; i <= at->syn_index || t < now; i++) {
		t += rto;
		if (rto < RTO_MAX_MS)
			rto *= 2;
	}
	at->syn_index = i;
	return t;
}

/* The policy let at go on after a soft error. Under adaptive that is
 * persistence on the last address, within its budget (on_time()). */
static void persisting(struct attempt *at)
{
	struct run *r = at->r;
	char what[64];

	if (!se_policy_may_persist(r->s) || at->persist_until)
		return;
	at->persist_until = se_now_ms() + r->s->persist_timeout_ms;
	/* Spent for the name's other addresses now, not when lost: the
	 * program's own attempts at them meanwhile (curl races its addresses
	 * itself) do not persist in parallel, each for the whole budget. */
	if (r->names)
		se_names_mark_persisted(r->names, &r->cand.addr[at->cand], se_now_ms(),
					false);
	snprintf(what, sizeof(what), "persists for up to %u ms,",
		 r->s->persist_timeout_ms);
	note(at, what);
}

static void act(struct attempt *at, enum se_action a, int err)
{
	char what[64];

	switch (a) {
	case SE_ACT_WAIT:
		return;
	case SE_ACT_END:
		end_attempt(at, err, false);
		return;
	case SE_ACT_RESEND:
		if (at->r->visible) {
			/* The program's own attempt, which the kernel ended:
			 * the library sends no SYN of its own on it. */
			end_attempt(at, err, false);
			return;
		}
		reset_socket(at);
		if (at->r->loop)
			ev_io_stop(at->r->loop, &at->io);
		at->resend_at = next_syn_time(at, se_now_ms());
		snprintf(what, sizeof(what), "persists, SYN again in %llu ms,",
			 (unsigned long long)(at->resend_at - se_now_ms()));
		note(at, what);
		return;
	}
}

/* The ICMP errors seen[0..n) of at, in order, through the policy (ended:
 * the kernel ended the attempt, with err). Returns whether one of them
 * decided what becomes of at. */
static bool take_icmp(struct attempt *at, const struct se_icmp_seen *seen, size_t n,
		      bool ended, int err)
{
	struct run *r = at->r;
	size_t i, last_soft = SE_ERRQ_MAX;
	enum se_action a;

	for (i = 0; i < n; i++)
		if (seen[i].cls == SE_ICMP_SOFT)
			last_soft = i;
	for (i = 0; i < n; i++) {
		const struct se_icmp_seen *ic = &seen[i];

		at->icmp = *ic;
		at->has_icmp = true;
		if (at->rep) {
			at->rep->icmps++;
			at->rep->has_icmp = true;
			at->rep->icmp = *ic;
		}
		log_icmp(at, ic);
		if (ic->cls == SE_ICMP_IGNORE)
			continue;
		if (ic->cls == SE_ICMP_HARD) {
			end_attempt(at, ic->err ? ic->err : err, true);
			return true;
		}
		at->soft_seen = true;
		r->soft_err = ic->err;
		a = se_policy_step(r->s, &at->counts,
				   ended && i == last_soft ? SE_EV_SOFT_ENDED : SE_EV_SOFT,
				   alternative(r, at));
		if (a != SE_ACT_END)
			persisting(at);
		if (a != SE_ACT_WAIT || (ended && i == last_soft)) {
			act(at, a, ic->err);
			return true;
		}
	}
	return false;
}

/* The kernel ended at with err (0: not read, in a visible run), and no
 * ICMP error of this look decided it. */
static void kernel_ended(struct attempt *at, int err)
{
	struct run *r = at->r;
	enum se_action a;

	if (at->soft_seen && (err == 0 || err == at->icmp.err)) {
		/* Ended by a soft error an earlier wake-up counted. */
		a = se_policy_step(r->s, &at->counts, SE_EV_ENDED, alternative(r, at));
		if (a != SE_ACT_END)
			persisting(at);
		act(at, a, at->icmp.err);
		return;
	}
	if (r->visible) {
		/* Refused (RST), or the kernel gave up: the program reads it
		 * as the kernel left it. */
		note(at, "ended by the kernel");
		outcome(at, SE_OUT_LEFT, 0);
		vacate(at);
		finish(r, LEFT_IN_PROGRESS, 0);
		return;
	}
	/* Refused (RST), or the kernel gave up on its own retransmissions. */
	end_attempt(at, err ? err : ECONNABORTED, err != ETIMEDOUT);
}

/* Something happened on at's socket: errors queued, connected, or failed.
 * ended_err: the attempt is known to have failed with this errno (a
 * connect() said so and reset the socket); 0 when the socket must tell. */
static void on_socket(struct attempt *at, int ended_err)
{
	struct run *r = at->r;
	struct se_icmp_seen seen[SE_ERRQ_MAX];
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	size_t n;
	bool ended;
	int err = 0;

	if (private_lost(at))
		return;
	n = se_errq_drain(at->fd, &r->s->icmp, seen, SE_ERRQ_MAX);
	memset(&ti, 0, sizeof(ti));
	if (ended_err) {
		ti.tcpi_state = TCP_CLOSE;
	} else if (se_sys.getsockopt(at->fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0) {
		ti.tcpi_state = TCP_CLOSE;
		if (socket_gone(errno))
			ended_err = errno;
	}
	if (at->own && socket_gone(ended_err)) {
		lost_socket(r, at, ended_err);
		return;
	}
	/* Connected, also when it is over already: a server that speaks first
	 * and closes may have done both before the loop looked. */
	if (se_tcp_handshake_done(&ti)) {
		connected(at, true, ti.tcpi_state == TCP_CLOSE);
		return;
	}
	while (at->kernel_rexmit < ti.tcpi_total_retrans) {
		at->kernel_rexmit++;
		if (at->rep)
			at->rep->syns++;
		se_policy_step(r->s, &at->counts, SE_EV_REXMIT, alternative(r, at));
	}
	ended = ti.tcpi_state == TCP_CLOSE;
	if (ended) {
		at->alive = false;
		/* A visible run leaves the kernel's error to the program
		 * (POLLERR, SO_ERROR). */
		err = ended_err || r->visible ? ended_err : se_sock_error(at->fd);
	}
	if (!take_icmp(at, seen, n, ended, err) && ended)
		kernel_ended(at, err);
}

/* --- Time ---------------------------------------------------------------- */

static uint64_t next_wake(struct run *r)
{
	uint64_t t = r->deadline;
	unsigned i;

	if (r->sndtimeo_deadline && r->sndtimeo_deadline < t)
		t = r->sndtimeo_deadline;
	if ((startable(r) || silent_one(r)) && r->stagger_at < t)
		t = r->stagger_at;
	for (i = 0; i < r->nused; i++) {
		if (r->att[i].fd >= 0 && r->att[i].resend_at && r->att[i].resend_at < t)
			t = r->att[i].resend_at;
		if (r->att[i].fd >= 0 && r->att[i].persist_until &&
		    r->att[i].persist_until < t)
			t = r->att[i].persist_until;
	}
	return t;
}

/* Ends the run's private attempts and leaves the program's, if it is in
 * flight, to the kernel, as an interrupted or timed-out connect() leaves
 * it. Returns whether the program's attempt was left running. */
static bool leave_to_kernel(struct run *r, const char *why)
{
	struct attempt *own = own_attempt(r);
	bool left = own && own->alive;
	unsigned i;

	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && !(left && &r->att[i] == own))
			release(&r->att[i]);
	if (left) {
		note(own, why);
		outcome(own, SE_OUT_LEFT, EINPROGRESS);
		vacate(own);
	}
	return left;
}

static void on_time(struct run *r)
{
	uint64_t now = se_now_ms();
	unsigned i;

	if (now >= r->deadline) {
		for (i = 0; i < r->nused; i++)
			if (r->att[i].fd >= 0)
				give_up(&r->att[i], "establishment timer ran out",
					SE_OUT_TIMED_OUT, ETIMEDOUT);
		r->last_err = ETIMEDOUT;
		r->last_hard = false;
		finish(r, FAILED, 0);
		return;
	}
	if (r->sndtimeo_deadline && now >= r->sndtimeo_deadline) {
		/* SO_SNDTIMEO ran out: the kernel answers EINPROGRESS and lets
		 * its attempt go on. */
		if (leave_to_kernel(r, "SO_SNDTIMEO ran out, left to the kernel")) {
			finish(r, LEFT_IN_PROGRESS, EINPROGRESS);
		} else {
			r->last_err = ETIMEDOUT;
			r->last_hard = false;
			finish(r, FAILED, 0);
		}
		return;
	}
	for (i = 0; i < r->nused && r->state == RUNNING; i++) {
		struct attempt *at = &r->att[i];

		if (at->fd >= 0 && at->persist_until && now >= at->persist_until) {
			/* The budget is spent: the destination is down rather
			 * than unreachable for a moment. */
			note(at, "persistence budget spent,");
			end_attempt(at, at->icmp.err ? at->icmp.err : EHOSTUNREACH, false);
			continue;
		}
		if (at->fd >= 0 && at->resend_at && now >= at->resend_at) {
			se_policy_step(r->s, &at->counts, SE_EV_REXMIT, alternative(r, at));
			note(at, "SYN again");
			send_syn(at);
		}
	}
}

static uint64_t settle(struct run *r);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attempt *at = w->data;
	struct run *r = at->r;

	if (r->held) {
		/* The program took its socket back: se_run_cancel() comes. */
		ev_io_stop(loop, w);
		return;
	}
	r->fired = true;
	if (r->state == RUNNING && at->fd >= 0)
		on_socket(at, 0);
	if (r->async)
		settle(r);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	struct attempt *own = own_attempt(r);

	if (r->held)
		return;
	r->fired = true;
	/* A timer is no event of a visible run's socket: its number is
	 * checked before the run acts on it. */
	if (r->visible && own && !program_socket_there(r))
		lost_socket(r, own, EBADF);
	else
		on_time(r);
	if (r->async)
		settle(r);
}

/* --- Signals ------------------------------------------------------------ */

/* A signal that interrupts connect() makes the kernel restart it when its
 * handler was installed with SA_RESTART (and the socket has no
 * SO_SNDTIMEO), and fail with EINTR otherwise: the signal that came
 * decides, not the others the program handles. poll() says EINTR
 * whichever it was, and the library cannot see a handler run without
 * wrapping every handler of the program. So, when the program has handlers
 * of both kinds, the loop also watches a signalfd over those without
 * SA_RESTART, and never reads it (the program's handler takes the signal):
 * poll() finds such a signal pending, returns with it, and the handler runs
 * on the way out; a wait cut short while the signalfd stayed quiet was cut
 * by a handler with SA_RESTART. Only in the program's main thread, to which
 * the kernel gives what is sent to the process: in another thread the
 * signalfd could see a signal pending that another thread then takes. */

enum { HANDLED_RESTART = 1, HANDLED_NORESTART = 2 };

/* The signals that can interrupt this thread with a handler: handled, not
 * blocked here, and not faults (those come from the thread's own
 * instructions, never in the middle of a wait: their handlers, crash
 * reporters and sanitizers, say nothing about an interruption). Fills
 * *norestart with those whose handler lacks SA_RESTART; returns which
 * kinds there are. */
static unsigned handled_signals(sigset_t *norestart)
{
	sigset_t blocked;
	unsigned kinds = 0;
	int sig;

	sigemptyset(norestart);
	if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0)
		sigemptyset(&blocked);
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE ||
		    sig == SIGILL || sig == SIGTRAP || sig == SIGSYS)
			continue;
		if (sigismember(&blocked, sig) == 1 || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		if (sa.sa_flags & SA_RESTART) {
			kinds |= HANDLED_RESTART;
		} else {
			kinds |= HANDLED_NORESTART;
			sigaddset(norestart, sig);
		}
	}
	return kinds;
}

static void sig_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct run *r = w->data;

	r->fired = true;
	r->sig->woke = true;
}

/* Watches the signals without SA_RESTART when there are both kinds (see
 * above); without a signalfd, any interruption is one of those. */
static void watch_signals(struct run *r)
{
	r->sig->fd = -1;
	if (r->sndtimeo_deadline || gettid() != getpid() ||
	    handled_signals(&r->sig->set) != (HANDLED_RESTART | HANDLED_NORESTART))
		return;
	r->sig->fd = signalfd(-1, &r->sig->set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sig->fd < 0)
		return;
	hold_fd(r, r->sig->fd);
	ev_io_init(&r->sig->io, sig_cb, r->sig->fd, EV_READ);
	r->sig->io.data = r;
	ev_io_start(r->loop, &r->sig->io);
}

static void unwatch_signals(struct run *r)
{
	if (r->sig->fd < 0)
		return;
	ev_io_stop(r->loop, &r->sig->io);
	close_private(r->sig->fd);
	r->sig->fd = -1;
}

/* The wait was cut short and the signalfd, if any, stayed quiet: would the
 * kernel have restarted connect()? With SO_SNDTIMEO never; else when no
 * handler lacks SA_RESTART, or when those that do are all watched. */
static bool restartable(const struct run *r)
{
	sigset_t norestart;
	int sig;

	if (r->sndtimeo_deadline)
		return false;
	if (!(handled_signals(&norestart) & HANDLED_NORESTART))
		return true;
	if (r->sig->fd < 0)
		return false;
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&norestart, sig) == 1 &&
		    sigismember(&r->sig->set, sig) != 1)
			return false;	/* installed since: unwatched */
	return true;
}

/* Interrupted: the program's attempt goes on in the kernel as after an
 * interrupted connect(); the private ones end. */
static void interrupted(struct run *r)
{
	leave_to_kernel(r, "interrupted, left to the kernel");
	finish(r, LEFT_IN_PROGRESS, EINTR);
}

static uint64_t sndtimeo_ms(int fd)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);

	if (se_sys.getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)(tv.tv_usec + 999) / 1000u;
}

/* Sets the run's timer for what is due next, or for MAX_WAIT_MS: every
 * wait then ends with a watcher fired unless a signal cut it short. */
static void arm_timer(struct run *r)
{
	uint64_t now = se_now_ms(), wake = next_wake(r);

	if (wake > now + MAX_WAIT_MS)
		wake = now + MAX_WAIT_MS;

	ev_timer_stop(r->loop, &r->timer);
	ev_now_update(r->loop);
	ev_timer_set(&r->timer, wake > now ? (double)(wake - now) / 1000.0 : 0., 0.);
	ev_timer_start(r->loop, &r->timer);
}

/* Ends every attempt still in flight and stops the timer. */
static void release_all(struct run *r)
{
	unsigned i;

	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0)
			release(&r->att[i]);
	if (r->loop)
		ev_timer_stop(r->loop, &r->timer);
}

/* The slow path: wait under a private loop until the run is decided.
 * Returns -1 if no loop could be made. */
static int run_loop(struct run *r)
{
	uint64_t snd = sndtimeo_ms(r->fd);
	struct sigwatch sig = { .fd = -1 };
	unsigned i;

	if (snd)
		r->sndtimeo_deadline = r->t0 + snd;
	r->loop = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
	if (!r->loop)
		return -1;
	held.loop = r->loop;
	ev_timer_init(&r->timer, timer_cb, 0., 0.);
	r->timer.data = r;
	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && r->att[i].alive)
			watch_io(&r->att[i]);
	r->sig = &sig;
	watch_signals(r);

	while (r->state == RUNNING) {
		advance(r);
		if (r->state != RUNNING)
			break;
		arm_timer(r);
		r->fired = false;
		ev_run(r->loop, EVRUN_ONCE);
		if (r->state == RUNNING &&
		    (r->sig->woke || (!r->fired && !restartable(r))))
			interrupted(r);
	}
	release_all(r);
	unwatch_signals(r);
	r->sig = NULL;
	held.loop = NULL;
	ev_loop_destroy(r->loop);
	r->loop = NULL;
	return 0;
}

/* --- The whole connect() ------------------------------------------------- */

/* One line per connect(): who, to what, under which policy, then what each
 * attempt did, then the outcome. */
static void emit_log(struct run *r, const char *outcome)
{
	struct se_line out;
	char abuf[INET6_ADDRSTRLEN], shared[64] = "";

	if (r->cand.source == SE_CAND_SHARED)
		snprintf(shared, sizeof(shared), " (the address of %u names: "
			 "only what they share)", r->cand.n_names);
	se_line_init(&out);
	se_line_add(&out, "softerr: %sconnect fd %d to %s port %u, policy %s, "
		    "%zu candidate%s%s:%s %s", r->async ? "non-blocking " : "",
		    r->rec_fd, r->cand.name[0] ? r->cand.name :
		    se_addr_str(&r->cand.addr[0], abuf, sizeof(abuf)),
		    ntohs(r->port), se_policy_name(r->s->policy), r->cand.n,
		    r->cand.n == 1 ? "" : "s", shared, r->line->buf, outcome);
	se_line_emit(&out, &r->s->log);
}

static int result_errno(const struct run *r)
{
	if (r->fail_errno)
		return r->fail_errno;
	if (r->last_hard && r->last_err)
		return r->last_err;
	if (r->soft_err)
		return r->soft_err;
	return r->last_err ? r->last_err : ETIMEDOUT;
}

/* Sets r up for a connect() of fd (the program's number rec_fd) to sa.
 * Returns -1 if sa is not an address the engine handles. */
static int run_init(struct run *r, const struct se_engine_ctx *ctx, int fd,
		    int rec_fd, int domain, const struct sockaddr *sa, socklen_t len)
{
	memset(r, 0, offsetof(struct run, cand));
	r->cand.name[0] = '\0';
	r->cand.source = SE_CAND_NONE;
	r->cand.persist_spent = false;
	r->errno_in = errno;
	r->s = ctx->settings;
	r->names = ctx->candidates ? NULL : ctx->names;
	r->given = ctx->candidates;
	r->asked_key = sa;
	r->report = ctx->report;
	r->hist = ctx->history && ctx->history->enabled ? ctx->history : NULL;
	if (r->report) {
		r->report->n = 0;
		r->report->delay_ms = -1;
		r->report->delay_why[0] = '\0';
		r->t0_us = se_now_us();
	}
	r->fd = fd;
	r->rec_fd = rec_fd;
	r->domain = domain;
	r->logging = r->s->log.to != SE_LOG_OFF && r->line;
	r->ask_recverr = ctx->program_may_use_recverr;
	r->replacing = ctx->replacing;
	r->cap = 1;
	if (se_addr_from_sockaddr(&r->cand.addr[0], sa, len) < 0)
		return -1;
	r->cand.n = 1;
	r->port = ((const struct sockaddr_in *)sa)->sin_port;
	r->t0 = se_now_ms();
	r->deadline = r->t0 + r->s->establish_timeout_ms;
	if (r->logging)
		se_line_init(r->line);
	r->next = 1;
	r->stagger_at = r->t0 + r->s->attempt_delay_ms;
	return 0;
}

/* The first attempt was not answered at once: now the name's other
 * addresses, and what the history knows, matter. */
static void slow_start(struct run *r)
{
	struct se_hist_info hi;
	bool known = hist_get(r, &r->cand.addr[0], &hi);
	char what[96], why[128];
	unsigned d;

	load_candidates(r);
	if (known && se_history_failed(&hi)) {
		/* Known to have failed lately: the next address need not wait
		 * for it. */
		r->stagger_at = r->t0;
		se_history_describe(&hi, r->cand.addr[0].family, what, sizeof(what));
		if (r->logging)
			se_line_add(r->line, " (history: %s, the next starts at once)",
				    what);
		if (r->report && r->next < r->cand.n) {
			r->report->delay_ms = 0;
			snprintf(r->report->delay_why, sizeof(r->report->delay_why),
				 "0 ms: %s", what);
		}
	} else {
		d = next_delay(r, 0, why, sizeof(why));
		r->stagger_at = r->t0 + d;
		tell_delay(r, d, why);
	}
}

/* The run is decided: what the name memory learns, the program's socket
 * reset if it did not win, the log line. */
static void wrap_up(struct run *r)
{
	struct attempt *first = &r->att[0];

	if (r->state == FAILED && r->names && r->soft_err && !r->last_hard &&
	    !r->visible && se_policy_may_persist(r->s))
		/* adaptive persisted on the last candidate and lost: the
		 * program's own loop over the rest need not wait again. */
		se_names_mark_persisted(r->names, &r->cand.addr[0], se_now_ms(), true);
	if (first->fd >= 0 && r->state != CONNECTED)
		release(first);
	if (r->logging) {
		char what[96];

		if (r->state == CONNECTED)
			snprintf(what, sizeof(what), "connected in %llu ms",
				 (unsigned long long)since(r));
		else if (r->state == LEFT_IN_PROGRESS && !r->fail_errno)
			snprintf(what, sizeof(what), "left to the kernel in %llu ms",
				 (unsigned long long)since(r));
		else
			snprintf(what, sizeof(what), "%s in %llu ms: %s",
				 r->state == FAILED ? "failed" : "returned",
				 (unsigned long long)since(r),
				 strerror(result_errno(r)));
		emit_log(r, what);
	}
}

/* A run with room for every attempt, on a blocking connect()'s stack (a
 * union may hold a structure with a flexible array member; a structure
 * may not). */
union run_room {
	struct run r;
	unsigned char room[sizeof(struct run) + MAX_INFLIGHT * sizeof(struct attempt)];
};

/* No loop could be had: the program's attempt waits the kernel's way. */
static int kernel_way(struct run *r, const struct sockaddr *sa, socklen_t len)
{
	struct attempt *first = &r->att[0];
	unsigned i;

	for (i = 1; i < r->nused; i++)
		release(&r->att[i]);
	if (r->logging)
		emit_log(r, "no event loop, left to the kernel");
	if (first->fd >= 0)
		se_recverr_restore(first->fd, &first->lvl_ours);
	fcntl(r->fd, F_SETFL, r->flags);
	return se_sys.connect(r->fd, sa, len);
}

int se_connect_blocking(const struct se_engine_ctx *ctx, int fd, int domain,
			int flags, const struct sockaddr *sa, socklen_t len)
{
	union run_room u;
	struct run *r = &u.r;
	struct se_line line;
	struct se_sockrec rec;
	struct attempt *first;

	r->natt = MAX_INFLIGHT;
	r->visible = false;
	r->line = &line;
	r->rec = &rec;
	if (run_init(r, ctx, fd, fd, domain, sa, len) < 0)
		return se_sys.connect(fd, sa, len);
	r->flags = flags;
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return se_sys.connect(fd, sa, len);

	first = &r->att[0];
	start_attempt(r, first, 0, true, NULL);
	if (r->state == FAILED && r->fail_errno == EALREADY) {
		/* An attempt the program started earlier (and a signal cut short)
		 * is still going: a blocking connect() waits for it. */
		fcntl(fd, F_SETFL, flags);
		return se_sys.connect(fd, sa, len);
	}
	if (r->state == RUNNING && first->fd >= 0 && first->alive) {
		/* Healthy and near (a LAN): the handshake is often over
		 * already, and a second connect() both tells it and leaves the
		 * socket as a blocking connect() would. */
		if (se_sys.connect(fd, &first->peer.sa, first->peerlen) == 0)
			connected(first, false, false);
		else if (errno != EALREADY)
			on_socket(first, errno);
	}
	if (r->state == RUNNING) {
		slow_start(r);
		if (run_loop(r) < 0)
			return kernel_way(r, sa, len);
	}
	wrap_up(r);
	fcntl(fd, F_SETFL, flags);
	if (r->state == CONNECTED) {
		errno = r->errno_in;
		return 0;
	}
	errno = result_errno(r);
	return -1;
}

/* --- Non-blocking connect(): runs in the watcher's loop ------------------- */

/* After each event: start what is due, or, decided, tell the watcher and
 * free the run. Returns, for a run not yet in a loop, when the loop must
 * take it (se_run_resume()) if nothing happens on the program's socket
 * meanwhile; 0: at once (decided, freed, or with private attempts of its
 * own in flight, whose events only the loop would see). */
static uint64_t settle(struct run *r)
{
	if (r->state == RUNNING)
		advance(r);
	if (r->state == RUNNING) {
		if (r->loop) {
			arm_timer(r);
			return 0;
		}
		return r->inflight == 1 && own_attempt(r) ? next_wake(r) : 0;
	}
	release_all(r);
	wrap_up(r);
	r->done((struct se_run *)r, r->done_arg, r->state == CONNECTED,
		r->state == CONNECTED || r->state == LEFT_IN_PROGRESS ? 0 :
		result_errno(r), r->state == CONNECTED ? r->winner : -1);
	se_run_free((struct se_run *)r);
	return 0;
}

struct se_run *se_run_new(const struct se_settings *s, bool visible)
{
	unsigned n = visible ? 1 : s->max_attempts;
	struct run *r;

	if (n < 1)
		n = 1;
	if (n > MAX_INFLIGHT)
		n = MAX_INFLIGHT;
	r = malloc(sizeof(*r) + n * sizeof(r->att[0]) +
		   (visible ? 0 : sizeof(struct se_sockrec)));
	if (!r)
		return NULL;
	r->natt = n;
	r->visible = visible;
	r->rec = visible ? NULL : (struct se_sockrec *)(r->att + n);
	r->line = NULL;
	if (s->log.to != SE_LOG_OFF)
		r->line = malloc(sizeof(*r->line));	/* NULL: no log line */
	return (struct se_run *)r;
}

void se_run_free(struct se_run *run)
{
	struct run *r = (struct run *)run;

	if (r) {
		free(r->line);
		free(r);
	}
}

uint64_t se_run_adopt(struct se_run *run, const struct se_engine_ctx *ctx, int fd,
		      int rec_fd, int domain, const struct sockaddr *sa, socklen_t len,
		      unsigned lvl, se_run_done_fn done, void *arg)
{
	struct run *r = (struct run *)run;

	run_init(r, ctx, fd, rec_fd, domain, sa, len);
	r->async = true;
	if (r->visible)
		know_program_socket(r);
	r->winner = -1;
	r->done = done;
	r->done_arg = arg;
	ev_timer_init(&r->timer, timer_cb, 0., 0.);
	r->timer.data = r;
	start_attempt(r, &r->att[0], 0, true, &lvl);
	if (r->visible) {
		/* The name's others are the program's to start: none is the
		 * run's, and the run ends with its one attempt. */
		load_candidates(r);
		r->next = r->cand.n;
	} else {
		slow_start(r);
	}
	return settle(r);
}

void se_run_resume(struct se_run *run, struct ev_loop *loop)
{
	struct run *r = (struct run *)run;
	unsigned i;

	r->loop = loop;
	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && r->att[i].alive)
			watch_io(&r->att[i]);
	settle(r);
}

void se_run_poke(struct se_run *run)
{
	struct run *r = (struct run *)run;
	struct attempt *own = own_attempt(r);

	if (r->state == RUNNING && own)
		on_socket(own, 0);
	settle(r);
}

void se_run_let_go(struct se_run *run)
{
	struct run *r = (struct run *)run;

	r->let_go_at = se_now_ms();
}

void se_run_cancel(struct se_run *run, const char *why)
{
	struct run *r = (struct run *)run;
	unsigned i;

	r->closing = true;
	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0)
			give_up(&r->att[i], why, SE_OUT_CANCELLED, 0);
	if (r->loop)
		ev_timer_stop(r->loop, &r->timer);
	if (r->logging)
		emit_log(r, why);
}

void se_run_hold(struct se_run *run)
{
	struct run *r = (struct run *)run;
	struct attempt *own = own_attempt(r);

	r->held = true;
	if (own)
		se_recverr_restore(own->fd, &own->lvl_ours);
}

void se_run_setsockopt(struct se_run *run, int level, int name,
		       const void *val, socklen_t len)
{
	struct run *r = (struct run *)run;
	struct se_sockrec one = { .tracked = true, .n = 1 };
	const char *why;
	unsigned i;

	if (len > SE_SOCKREC_VAL)
		return;
	one.opt[0].level = level;
	one.opt[0].name = name;
	one.opt[0].len = len;
	memcpy(one.opt[0].val, val, len);
	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && !r->att[i].own)
			se_sockrec_apply(&one, r->att[i].fd, r->att[i].family, &why);
	/* Sockets started later get it from the record. */
	if (r->can_private && se_sockrec_get(r->rec_fd, r->rec) < 0)
		r->can_private = false;
}

bool se_run_holds(const struct se_run *run, int fd)
{
	const struct run *r = (const struct run *)run;
	unsigned i;

	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd == fd)
			return true;
	return false;
}

void se_run_forget(struct se_run *run)
{
	struct run *r = (struct run *)run;
	unsigned i;

	for (i = 0; i < r->nused; i++)
		if (r->att[i].fd >= 0 && !r->att[i].own)
			se_close_own(r->att[i].fd);
	se_run_free(run);
}
