/* The blocking connect() engine.
 *
 * The attempt runs non-blocking. Healthy connects (the SYN answered at once,
 * as on loopback) finish after a single poll(); anything slower runs under a
 * private libev loop (poll backend: no descriptor of its own, nothing to
 * inherit across fork or exec) that watches the socket and the timers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <ev.h>

#include "engine.h"
#include "icmp.h"
#include "log.h"
#include "policy.h"
#include "sys.h"

#define RTO_INITIAL_MS 1000u	/* RFC 6298 initial RTO, as Linux uses */
#define RTO_MAX_MS 60000u
#define DRAIN_MAX 32		/* error queue entries read per wake-up */

enum { LVL_IP = 1, LVL_IPV6 = 2 };

struct icmp_seen {
	enum se_icmp_class cls;
	int family;
	uint8_t type, code;
	int err;
	struct se_addr offender;
	bool has_offender;
};

struct run {
	const struct se_settings *s;
	struct se_names *names;
	int fd, domain;
	uint16_t port;		/* network order */
	int flags;		/* the program's file status flags */
	int errno_in;		/* errno at entry, given back on success */
	unsigned lvl_ours;	/* RECVERR levels we turned on */
	unsigned lvl_known;	/* RECVERR levels whose setting we know */
	bool ask_recverr;	/* the program may have set RECVERR itself */

	struct se_candidates cand;
	bool cand_loaded;	/* cand holds the name's other addresses */
	size_t cur;
	struct sockaddr_storage ss;	/* the current candidate, as connected to */
	socklen_t sslen;

	/* the current attempt */
	struct se_attempt_counts counts;
	unsigned kernel_rexmit;	/* tcpi_total_retrans seen in this SYN's life */
	bool alive;		/* in SYN-SENT in the kernel */
	bool soft_seen;		/* this attempt saw a soft error */
	uint64_t attempt_t0, resend_at;
	unsigned syn_index;	/* SYNs so far on TCP's backoff schedule */
	struct icmp_seen icmp;	/* the last ICMP of this attempt */

	uint64_t t0, deadline, sndtimeo_deadline;
	int soft_err;		/* the latest soft error's errno, any attempt */
	int last_err;		/* how the latest attempt ended */
	bool last_hard;

	enum { RUNNING, CONNECTED, FAILED, LEFT_IN_PROGRESS } state;
	int fail_errno;

	bool logging;
	struct se_line line;

	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	bool fired;
};

static int recverr_level(const struct run *r, const struct se_addr *a)
{
	return r->domain == AF_INET6 && a->family == AF_INET6 ? LVL_IPV6 : LVL_IP;
}

static int set_recverr(int fd, unsigned lvl, int on)
{
	if (lvl == LVL_IPV6)
		return se_sys.setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
	return se_sys.setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
}

/* Turns the error queue on at lvl unless the program had it on already. */
static int want_recverr(struct run *r, unsigned lvl)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (r->lvl_known & lvl)
		return 0;
	if (r->ask_recverr &&
	    getsockopt(r->fd, lvl == LVL_IPV6 ? SOL_IPV6 : SOL_IP,
		       lvl == LVL_IPV6 ? IPV6_RECVERR : IP_RECVERR, &on, &len) < 0)
		return -1;
	r->lvl_known |= lvl;
	if (on)
		return 0;
	if (set_recverr(r->fd, lvl, 1) < 0)
		return -1;
	r->lvl_ours |= lvl;
	return 0;
}

/* Puts back what the program had: RECVERR off where we turned it on (which
 * also empties the queue) and its file status flags. */
static void restore_socket(struct run *r)
{
	if (r->lvl_ours & LVL_IP)
		set_recverr(r->fd, LVL_IP, 0);
	if (r->lvl_ours & LVL_IPV6)
		set_recverr(r->fd, LVL_IPV6, 0);
	r->lvl_ours = 0;
	fcntl(r->fd, F_SETFL, r->flags);
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
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

/* Reads the error queue: the last ICMP of the batch into r->icmp, all of
 * them into seen[] (at most max). Returns how many. */
static size_t drain_errqueue(struct run *r, struct icmp_seen *seen, size_t max)
{
	size_t n = 0;
	int i;

	for (i = 0; i < DRAIN_MAX; i++) {
		char cbuf[512];
		char data[64];
		struct iovec iov = { data, sizeof(data) };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;

		if (recvmsg(r->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			const struct sock_extended_err *ee;
			const struct sockaddr *off;
			struct icmp_seen one;

			if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
				continue;
			ee = (const struct sock_extended_err *)CMSG_DATA(cm);
			if (ee->ee_origin != SO_EE_ORIGIN_ICMP &&
			    ee->ee_origin != SO_EE_ORIGIN_ICMP6)
				continue;
			memset(&one, 0, sizeof(one));
			one.family = ee->ee_origin == SO_EE_ORIGIN_ICMP6 ? AF_INET6 : AF_INET;
			one.type = ee->ee_type;
			one.code = ee->ee_code;
			one.err = (int)ee->ee_errno;
			one.cls = se_icmp_classify(one.family, one.type, one.code);
			off = SO_EE_OFFENDER(ee);
			one.has_offender = off->sa_family != AF_UNSPEC &&
				se_addr_from_sockaddr(&one.offender, off,
						      sizeof(struct sockaddr_in6)) == 0;
			if (n < max)
				seen[n++] = one;
			r->icmp = one;
		}
	}
	return n;
}

static void log_icmp(struct run *r, const struct icmp_seen *ic)
{
	char nbuf[48], abuf[INET6_ADDRSTRLEN];

	se_line_add(&r->line, " %s %s (type %u code %u)",
		    se_icmp_class_name(ic->cls),
		    se_icmp_name(ic->family, ic->type, ic->code, nbuf, sizeof(nbuf)),
		    ic->type, ic->code);
	if (ic->has_offender)
		se_line_add(&r->line, " from %s",
			    se_addr_str(&ic->offender, abuf, sizeof(abuf)));
}

static void log_attempt_end(struct run *r, const char *what)
{
	if (!r->logging)
		return;
	se_line_add(&r->line, " at %llu ms: %s;",
		    (unsigned long long)(se_now_ms() - r->attempt_t0), what);
}

/* Ends the attempt in the kernel, whatever state it is in, and leaves the
 * socket ready for another connect(): AF_UNSPEC cancels a SYN-SENT attempt
 * and resets a failed one; SO_ERROR then clears what that left behind. */
static void reset_socket(struct run *r)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	struct icmp_seen junk[1];

	se_sys.connect(r->fd, &sa, sizeof(sa));
	sock_error(r->fd);
	drain_errqueue(r, junk, 0);
	r->alive = false;
}

/* Loads the other addresses of the asked one's name, once, when the run
 * first needs them: the healthy path never does. */
static void load_candidates(struct run *r)
{
	struct se_addr asked = r->cand.addr[0];
	bool v6only = false;
	size_t i, n;

	if (r->cand_loaded)
		return;
	if (r->names && r->s->policy != SE_POLICY_KERNEL) {
		se_names_candidates(r->names, &asked, se_now_ms(), &r->cand);
	} else {
		r->cand.name[0] = '\0';
		r->cand.persist_spent = false;
		r->cand.n = 1;
	}
	if (r->cand.n > 1 && r->domain == AF_INET6) {
		int on = 0;
		socklen_t len = sizeof(on);

		if (getsockopt(r->fd, SOL_IPV6, IPV6_V6ONLY, &on, &len) == 0)
			v6only = on != 0;
	}
	/* Keep what this socket can reach: its own family, and IPv4 through
	 * mapped addresses on an AF_INET6 socket that allows them. */
	for (i = n = 1; i < r->cand.n; i++) {
		const struct se_addr *a = &r->cand.addr[i];

		if (a->family == r->domain ||
		    (r->domain == AF_INET6 && a->family == AF_INET && !v6only))
			r->cand.addr[n++] = *a;
	}
	r->cand.n = n;
	r->cand_loaded = true;
}

static bool alternative(struct run *r)
{
	load_candidates(r);
	if (r->cur + 1 < r->cand.n)
		return true;
	/* Persistence was spent on this name moments ago: do not spend it
	 * again on each address the program tries after that. */
	return r->s->policy == SE_POLICY_ADAPTIVE && r->cand.persist_spent;
}

static void finish(struct run *r, int state, int err)
{
	r->state = state;
	r->fail_errno = err;
}

static void start_attempt(struct run *r);

/* The current attempt is over; the next candidate starts, or the run fails. */
static void end_attempt(struct run *r, int err, bool hard)
{
	const struct se_addr *a = &r->cand.addr[r->cur];
	uint64_t now = se_now_ms();

	if (r->logging)
		log_attempt_end(r, hard ? "hard, ended" : "ended");
	r->last_err = err;
	r->last_hard = hard;
	reset_socket(r);
	if (r->names)
		se_names_mark_failed(r->names, a, now);
	load_candidates(r);
	if (r->s->policy != SE_POLICY_KERNEL && r->cur + 1 < r->cand.n) {
		r->cur++;
		start_attempt(r);
		return;
	}
	finish(r, FAILED, 0);
}

/* The attempt is established. A second connect() moves the socket from
 * "connecting" to "connected" as a blocking connect() leaves it (a third
 * then says EISCONN, as the kernel's would); slow is true when a soft error
 * may have been recorded for an earlier candidate, which SO_ERROR clears. */
static void connected(struct run *r, bool slow)
{
	if (slow) {
		sock_error(r->fd);
		se_sys.connect(r->fd, (struct sockaddr *)&r->ss, r->sslen);
	}
	if (r->logging)
		log_attempt_end(r, "connected");
	finish(r, CONNECTED, 0);
}

static void send_syn(struct run *r)
{
	const struct se_addr *a = &r->cand.addr[r->cur];

	r->sslen = se_addr_to_sockaddr(a, r->port,
				       r->domain == AF_INET6 && a->family == AF_INET,
				       &r->ss);
	r->kernel_rexmit = 0;
	r->resend_at = 0;
	if (se_sys.connect(r->fd, (struct sockaddr *)&r->ss, r->sslen) == 0) {
		connected(r, true);
		return;
	}
	if (errno == EINPROGRESS) {
		r->alive = true;
		return;
	}
	if (!network_errno(errno) && r->cur == 0 && r->syn_index == 0) {
		/* Not about the network (EBADF, EISCONN, EADDRINUSE...): the
		 * program hears it exactly as the kernel said it. */
		finish(r, FAILED, errno);
		r->last_err = errno;
		return;
	}
	end_attempt(r, errno, true);
}

static void start_attempt(struct run *r)
{
	const struct se_addr *a = &r->cand.addr[r->cur];

	memset(&r->counts, 0, sizeof(r->counts));
	r->soft_seen = false;
	r->syn_index = 0;
	memset(&r->icmp, 0, sizeof(r->icmp));
	r->attempt_t0 = se_now_ms();
	if (want_recverr(r, recverr_level(r, a)) < 0) {
		/* Without the error queue this attempt is the kernel's alone. */
		if (r->logging)
			se_line_add(&r->line, " (no error queue: %s)", strerror(errno));
	}
	if (r->logging) {
		char abuf[INET6_ADDRSTRLEN];

		se_line_add(&r->line, " %s", se_addr_str(a, abuf, sizeof(abuf)));
	}
	send_syn(r);
}

/* The next SYN on TCP's backoff schedule counted from the attempt's first
 * SYN (1 s, 3 s, 7 s, ...), at or after now. */
static uint64_t next_syn_time(struct run *r, uint64_t now)
{
	uint64_t t = r->attempt_t0, rto = RTO_INITIAL_MS;
	unsigned i;

	for (i = 0; i <= r->syn_index || t < now; i++) {
		t += rto;
		if (rto < RTO_MAX_MS)
			rto *= 2;
	}
	r->syn_index = i;
	return t;
}

static void act(struct run *r, enum se_action a, int err)
{
	switch (a) {
	case SE_ACT_WAIT:
		return;
	case SE_ACT_END:
		end_attempt(r, err, false);
		return;
	case SE_ACT_RESEND:
		reset_socket(r);
		r->resend_at = next_syn_time(r, se_now_ms());
		if (r->logging)
			se_line_add(&r->line, " resend in %llu ms,",
				    (unsigned long long)(r->resend_at - se_now_ms()));
		return;
	}
}

/* Something happened on the socket: errors queued, connected, or failed.
 * ended_err: the attempt is known to have failed with this errno (a
 * connect() said so and reset the socket); 0 when the socket must tell. */
static void on_socket(struct run *r, int ended_err)
{
	struct icmp_seen seen[DRAIN_MAX];
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	size_t n, i, last_soft = DRAIN_MAX;
	bool ended;
	int err = 0;
	enum se_action a;

	n = drain_errqueue(r, seen, DRAIN_MAX);
	memset(&ti, 0, sizeof(ti));
	if (ended_err)
		ti.tcpi_state = TCP_CLOSE;
	else if (getsockopt(r->fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0)
		ti.tcpi_state = TCP_CLOSE;
	if (ti.tcpi_state == TCP_ESTABLISHED) {
		connected(r, true);
		return;
	}
	while (r->kernel_rexmit < ti.tcpi_total_retrans) {
		r->kernel_rexmit++;
		se_policy_step(r->s, &r->counts, SE_EV_REXMIT, alternative(r));
	}
	ended = ti.tcpi_state == TCP_CLOSE;
	if (ended) {
		r->alive = false;
		err = ended_err ? ended_err : sock_error(r->fd);
	}
	for (i = 0; i < n; i++)
		if (seen[i].cls == SE_ICMP_SOFT)
			last_soft = i;
	for (i = 0; i < n; i++) {
		const struct icmp_seen *ic = &seen[i];

		if (r->logging)
			log_icmp(r, ic);
		if (ic->cls == SE_ICMP_IGNORE)
			continue;
		if (ic->cls == SE_ICMP_HARD) {
			end_attempt(r, ic->err ? ic->err : err, true);
			return;
		}
		r->soft_seen = true;
		r->soft_err = ic->err;
		a = se_policy_step(r->s, &r->counts,
				   ended && i == last_soft ? SE_EV_SOFT_ENDED : SE_EV_SOFT,
				   alternative(r));
		if (a != SE_ACT_WAIT || (ended && i == last_soft)) {
			act(r, a, ic->err);
			return;
		}
	}
	if (!ended)
		return;
	if (r->soft_seen && (err == 0 || err == r->icmp.err)) {
		/* Ended by a soft error an earlier wake-up counted. */
		a = se_policy_step(r->s, &r->counts, SE_EV_ENDED, alternative(r));
		act(r, a, r->icmp.err);
		return;
	}
	/* Refused (RST), or the kernel gave up on its own retransmissions. */
	end_attempt(r, err ? err : ECONNABORTED, err != ETIMEDOUT);
}

static void on_resend(struct run *r)
{
	se_policy_step(r->s, &r->counts, SE_EV_REXMIT, alternative(r));
	if (r->logging)
		se_line_add(&r->line, " SYN again;");
	send_syn(r);
}

static uint64_t next_wake(const struct run *r)
{
	uint64_t t = r->deadline;

	if (r->sndtimeo_deadline && r->sndtimeo_deadline < t)
		t = r->sndtimeo_deadline;
	if (r->resend_at && r->resend_at < t)
		t = r->resend_at;
	return t;
}

static void on_time(struct run *r)
{
	uint64_t now = se_now_ms();

	if (r->resend_at && now >= r->resend_at && now < r->deadline &&
	    (!r->sndtimeo_deadline || now < r->sndtimeo_deadline)) {
		on_resend(r);
		return;
	}
	if (r->sndtimeo_deadline && now >= r->sndtimeo_deadline &&
	    r->sndtimeo_deadline <= r->deadline && r->alive) {
		/* SO_SNDTIMEO ran out: the kernel answers EINPROGRESS and lets
		 * the attempt go on. */
		if (r->logging)
			se_line_add(&r->line, " SO_SNDTIMEO ran out, still trying;");
		finish(r, LEFT_IN_PROGRESS, EINPROGRESS);
		return;
	}
	if (now >= r->deadline ||
	    (r->sndtimeo_deadline && now >= r->sndtimeo_deadline)) {
		if (r->logging)
			log_attempt_end(r, "establishment timer ran out");
		r->last_err = ETIMEDOUT;
		r->last_hard = false;
		reset_socket(r);
		finish(r, FAILED, 0);
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct run *r = w->data;

	r->fired = true;
	on_socket(r, 0);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	r->fired = true;
	on_time(r);
}

/* A signal interrupted the wait. Would the kernel have restarted connect()?
 * It does for a handler installed with SA_RESTART on a socket without
 * SO_SNDTIMEO. Which signal came is not known here, so a restart happens
 * only when every handled signal asked for it. */
static bool restartable(const struct run *r)
{
	int sig;

	if (r->sndtimeo_deadline)
		return false;
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

static uint64_t sndtimeo_ms(int fd)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)(tv.tv_usec + 999) / 1000u;
}

/* The slow path: wait under a private loop until the run is decided.
 * Returns -1 if no loop could be made. */
static int run_loop(struct run *r)
{
	uint64_t snd = sndtimeo_ms(r->fd);

	if (snd)
		r->sndtimeo_deadline = r->t0 + snd;
	r->loop = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
	if (!r->loop)
		return -1;
	ev_io_init(&r->io, io_cb, r->fd, EV_WRITE);
	r->io.data = r;
	ev_timer_init(&r->timer, timer_cb, 0., 0.);
	r->timer.data = r;

	while (r->state == RUNNING) {
		uint64_t now = se_now_ms(), wake = next_wake(r);

		if (r->alive && !ev_is_active(&r->io))
			ev_io_start(r->loop, &r->io);
		else if (!r->alive && ev_is_active(&r->io))
			ev_io_stop(r->loop, &r->io);
		ev_timer_stop(r->loop, &r->timer);
		ev_now_update(r->loop);
		ev_timer_set(&r->timer, wake > now ? (double)(wake - now) / 1000.0 : 0., 0.);
		ev_timer_start(r->loop, &r->timer);

		r->fired = false;
		ev_run(r->loop, EVRUN_ONCE);
		if (!r->fired && r->state == RUNNING && !restartable(r)) {
			if (r->logging)
				se_line_add(&r->line, " interrupted;");
			finish(r, LEFT_IN_PROGRESS, EINTR);
		}
	}
	ev_io_stop(r->loop, &r->io);
	ev_timer_stop(r->loop, &r->timer);
	ev_loop_destroy(r->loop);
	r->loop = NULL;
	return 0;
}

/* One line per connect(): who, to what, under which policy, then each
 * attempt as it went, then the outcome. */
static void emit_log(struct run *r, const char *outcome)
{
	struct se_line out;
	char abuf[INET6_ADDRSTRLEN];

	se_line_init(&out);
	se_line_add(&out, "softerr: connect fd %d to %s port %u, policy %s, "
		    "%zu candidate%s:%s %s", r->fd,
		    r->cand.name[0] ? r->cand.name :
		    se_addr_str(&r->cand.addr[0], abuf, sizeof(abuf)),
		    ntohs(r->port), se_policy_name(r->s->policy), r->cand.n,
		    r->cand.n == 1 ? "" : "s", r->line.buf, outcome);
	se_line_emit(&out);
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

int se_connect_blocking(const struct se_engine_ctx *ctx, int fd, int domain,
			int flags, const struct sockaddr *sa, socklen_t len)
{
	struct run r;
	struct se_addr asked;
	int err;

	memset(&r, 0, sizeof(r));
	r.errno_in = errno;
	r.s = ctx->settings;
	r.names = ctx->names;
	r.fd = fd;
	r.domain = domain;
	r.logging = r.s->log;
	r.ask_recverr = ctx->program_may_use_recverr;
	if (se_addr_from_sockaddr(&asked, sa, len) < 0)
		return se_sys.connect(fd, sa, len);
	r.port = ((const struct sockaddr_in *)sa)->sin_port;
	r.flags = flags;
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return se_sys.connect(fd, sa, len);

	r.t0 = se_now_ms();
	r.deadline = r.t0 + r.s->establish_timeout_ms;
	r.cand.n = 1;
	r.cand.addr[0] = asked;
	if (r.logging)
		se_line_init(&r.line);
	start_attempt(&r);
	if (r.state == FAILED && r.fail_errno == EALREADY) {
		/* An attempt the program started earlier (and a signal cut short)
		 * is still going: a blocking connect() waits for it. */
		restore_socket(&r);
		return se_sys.connect(fd, sa, len);
	}
	if (r.state == RUNNING && r.alive) {
		/* Healthy and near (loopback, a LAN): the handshake is often
		 * over already, and a second connect() both tells it and
		 * leaves the socket as a blocking connect() would. */
		if (se_sys.connect(fd, (struct sockaddr *)&r.ss, r.sslen) == 0)
			connected(&r, false);
		else if (errno != EALREADY)
			on_socket(&r, errno);
	}
	if (r.state == RUNNING) {
		/* Something went wrong or is slow: now the name's other
		 * addresses matter. */
		load_candidates(&r);
		if (run_loop(&r) < 0) {
			/* No loop: wait the kernel's way on this attempt. */
			restore_socket(&r);
			if (r.logging)
				emit_log(&r, "no event loop, left to the kernel");
			return se_sys.connect(fd, sa, len);
		}
	}
	if (r.state == FAILED && r.names && r.soft_err && !r.last_hard &&
	    r.s->policy == SE_POLICY_ADAPTIVE)
		/* adaptive persisted on the last candidate and lost: the
		 * program's own loop over the rest need not wait again. */
		se_names_mark_persisted(r.names, &r.cand.addr[r.cur], se_now_ms());
	restore_socket(&r);
	if (r.logging) {
		char what[96];

		if (r.state == CONNECTED)
			snprintf(what, sizeof(what), "connected in %llu ms",
				 (unsigned long long)(se_now_ms() - r.t0));
		else
			snprintf(what, sizeof(what), "failed in %llu ms: %s",
				 (unsigned long long)(se_now_ms() - r.t0),
				 strerror(result_errno(&r)));
		emit_log(&r, what);
	}
	if (r.state == CONNECTED) {
		errno = r.errno_in;
		return 0;
	}
	err = result_errno(&r);
	errno = err;
	return -1;
}
