/* The public API (softerr.h) against the lab: what a program linking
 * -lsofterr-api relies on. Prints "ok - ..." or "not ok - ..." per check and
 * exits 1 if any failed. Run by test-probe.sh in the client namespace;
 * "se-api fork" (a shared history under $XDG_RUNTIME_DIR) by
 * test-api-runtime.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "softerr.h"
#include "labutil.h"

static int failed;

static void check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	if (!ok)
		failed = 1;
}

static const char *addr_of(const struct softerr_attempt *a, char *buf)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->address;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->address;

	if (a->address.ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &s6->sin6_addr, buf, INET6_ADDRSTRLEN);
	return inet_ntop(AF_INET, &s4->sin_addr, buf, INET6_ADDRSTRLEN);
}

static void soft_error_failover(void)
{
	struct softerr_report *r;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char buf[INET6_ADDRSTRLEN], pbuf[INET6_ADDRSTRLEN];
	int fd, fl, fdfl;

	fd = softerr_connect("soft.lab", "8080", NULL, &r);
	check(fd >= 0, "soft.lab: connected");
	check(r && r->error == 0 && r->n_attempts == 2 && r->connected == 1,
	      "soft.lab: report of two addresses, the second connected");
	if (!r || r->n_attempts != 2 || fd < 0)
		return;
	check(r->attempts[0].outcome == SOFTERR_SOFT_ERROR &&
	      r->attempts[0].error == EHOSTUNREACH &&
	      strcmp(addr_of(&r->attempts[0], buf), "203.0.113.13") == 0,
	      "soft.lab: the first address ended on a soft error, EHOSTUNREACH");
	check(r->attempts[0].icmp_errors >= 1 && r->attempts[0].icmp_family == AF_INET &&
	      r->attempts[0].icmp_type == 3 && r->attempts[0].icmp_code == 1 &&
	      r->attempts[0].icmp_soft &&
	      strcmp(r->attempts[0].icmp_name, "host-unreachable") == 0,
	      "soft.lab: its ICMP type 3 code 1, host-unreachable, soft");
	check(r->attempts[0].icmp_from_len > 0 &&
	      inet_ntop(AF_INET, &((struct sockaddr_in *)&r->attempts[0].icmp_from)->sin_addr,
			buf, sizeof(buf)) && strcmp(buf, "192.0.2.1") == 0,
	      "soft.lab: sent by the router, 192.0.2.1");
	check(r->attempts[1].outcome == SOFTERR_CONNECTED && r->attempts[1].error == 0 &&
	      ntohs(((struct sockaddr_in *)&r->attempts[1].address)->sin_port) == 8080,
	      "soft.lab: the second connected, port 8080 in its address");
	check(r->attempts[0].started_ms >= 0 &&
	      r->attempts[0].ended_ms >= r->attempts[0].started_ms &&
	      r->attempts[1].started_ms >= r->attempts[0].ended_ms - 0.01 &&
	      r->elapsed_ms < 900 && r->resolve_ms >= 0,
	      "soft.lab: times in order, before the first retransmission");
	check(strcmp(r->policy, "adaptive") == 0 && strcmp(r->host, "soft.lab") == 0 &&
	      strcmp(r->service, "8080") == 0, "soft.lab: policy, host and service");
	check(getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 &&
	      strcmp(addr_of(&r->attempts[1], pbuf),
		     inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, buf,
			       sizeof(buf))) == 0,
	      "the descriptor is connected to the winner");
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	check(fl >= 0 && !(fl & O_NONBLOCK) && fdfl >= 0 && (fdfl & FD_CLOEXEC),
	      "the descriptor is blocking and close-on-exec");
	check(write(fd, "x", 1) == 1, "the descriptor can be written to");
	close(fd);
	softerr_report_free(r);
}

static void black_hole_raced(void)
{
	struct softerr_report *r;
	struct softerr_options *o = softerr_options_new();
	double t0 = lab_now_ms();
	int fd;

	/* Without the history: what this process learned of 203.0.113.20
	 * (soft.lab) would shorten the delay (libsofterr(7)). */
	softerr_options_set(o, "history", "off");
	fd = softerr_connect("hole.lab", "8080", o, &r);
	check(fd >= 0 && lab_now_ms() - t0 < 1000,
	      "hole.lab: connected through the second address after the attempt delay");
	check(r && r->n_attempts == 2 && r->attempts[0].outcome == SOFTERR_CANCELLED &&
	      r->attempts[1].outcome == SOFTERR_CONNECTED &&
	      r->attempts[1].started_ms >= 240,
	      "hole.lab: the silent first cancelled, the second started after 250 ms");
	check(r && r->delay_ms == 250 && strcmp(r->delay, "250 ms configured") == 0,
	      "hole.lab: the report says the delay and where it came from");
	if (fd >= 0)
		close(fd);
	softerr_report_free(r);
	softerr_options_free(o);
}

static void failures(void)
{
	struct softerr_options *o = softerr_options_new();
	struct softerr_report *r;
	int fd, fds = lab_count_fds();

	check(o && softerr_options_set(o, "policy", "abort") == 0,
	      "options: policy abort accepted");
	errno = 0;
	check(softerr_options_set(o, "policy", "fastest") == -1 && errno == EINVAL,
	      "options: a bad value is EINVAL");
	errno = 0;
	check(softerr_options_set(o, "no_such_key", "1") == -1 && errno == EINVAL,
	      "options: an unknown key is EINVAL");
	check(softerr_options_set(o, "family", "ipv6") == 0 &&
	      softerr_options_set(o, "family", "ipv5") == -1,
	      "options: family");
	softerr_options_set(o, "family", "any");

	fd = softerr_connect("dead.lab", "8080", o, &r);
	check(fd == -1 && (errno == EHOSTUNREACH || errno == ENETUNREACH),
	      "dead.lab under abort: -1 with the soft error's errno");
	check(r && r->error == errno && r->connected == -1 && r->n_attempts == 2 &&
	      r->attempts[0].outcome == SOFTERR_SOFT_ERROR &&
	      r->attempts[1].outcome == SOFTERR_SOFT_ERROR,
	      "dead.lab: the report says both ended on soft errors");
	softerr_report_free(r);

	fd = softerr_connect("portonly.lab", "8080", o, NULL);
	check(fd == -1 && errno == ECONNREFUSED,
	      "port-unreachable (hard): ECONNREFUSED, no report asked for");

	fd = softerr_connect("no-such-name.lab", "8080", o, &r);
	check(fd == -1 && errno == ENXIO && r && r->resolve_error != 0 &&
	      r->n_attempts == 0, "a name that does not resolve: ENXIO, resolve_error");
	softerr_report_free(r);

	/* Without the history, which learned above that soft.lab's first
	 * address fails and would put it last. */
	softerr_options_set(o, "policy", "kernel");
	softerr_options_set(o, "history", "off");
	fd = softerr_connect("soft.lab", "8080", o, &r);
	check(fd == -1 && r && r->n_attempts == 2 &&
	      r->attempts[1].outcome == SOFTERR_NOT_TRIED && r->attempts[1].started_ms < 0,
	      "policy kernel: no failover, the second address not tried");
	softerr_report_free(r);
	softerr_options_free(o);
	check(lab_count_fds() == fds, "no descriptor left behind");
	if (lab_count_fds() != fds && system("ls -l /proc/$PPID/fd >&2") != 0)
		fprintf(stderr, "(cannot list the descriptors)\n");
	errno = 0;
	check(softerr_connect(NULL, "80", NULL, NULL) == -1 && errno == EINVAL,
	      "a NULL host: EINVAL");
	check(strcmp(softerr_outcome_name(SOFTERR_NO_ANSWER), "no-answer") == 0 &&
	      strcmp(softerr_outcome_name((enum softerr_outcome)99), "?") == 0,
	      "outcome names");
}

static void *worker(void *arg)
{
	int i, *ok = arg;

	for (i = 0; i < 50; i++) {
		int fd = softerr_connect(i % 2 ? "reject6.lab" : "bhicmp.lab", "8080",
					 NULL, NULL);

		if (fd < 0)
			return NULL;
		close(fd);
	}
	*ok = 1;
	return NULL;
}

static void threads(void)
{
	pthread_t t[8];
	int ok[8] = { 0 }, i, all = 1, fds = lab_count_fds();

	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, &ok[i]);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		all &= ok[i];
	}
	check(all, "8 threads x 50 connects through soft errors and black holes");
	check(lab_count_fds() == fds, "threads: no descriptor left behind");
}

/* --- fork() while another thread's connect holds the history ---------- */

struct in_flight {
	pid_t tid;
	int fd;
};

static void *connect_in_flight(void *arg)
{
	struct in_flight *f = arg;

	__atomic_store_n(&f->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	f->fd = softerr_connect("soft.lab", "8080", NULL, NULL);
	return NULL;
}

/* Is thread tid of this process in flock() now? */
static int in_flock(pid_t tid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_flock;
}

static void *release_later(void *arg)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	close(*(int *)arg);
	return NULL;
}

/* A thread's connect records what soft.lab's first address did in the
 * shared history, and waits there for the file's lock, which this process
 * holds through a descriptor of its own; the program forks meanwhile. The
 * fork must not leave the child a lock held by a thread it does not have:
 * the child connects through the API too. The file's lock is given back
 * 300 ms after the fork began, whether or not fork() returned. */
static void fork_during_connect(void)
{
	struct in_flight f = { 0, -1 };
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char path[512];
	pthread_t t, r;
	double t0;
	int fd, lockfd, status = -1, waited = 0, joined;
	struct timespec until;
	pid_t child;

	snprintf(path, sizeof(path), "%s/softerr/history", dir ? dir : "");
	fd = softerr_connect("soft.lab", "8080", NULL, NULL);
	check(fd >= 0 && access(path, F_OK) == 0,
	      "fork: a first connect made the shared history file");
	if (fd >= 0)
		close(fd);
	lockfd = open(path, O_RDWR | O_CLOEXEC);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		check(0, "fork: the history file locked by the test");
		return;
	}
	pthread_create(&t, NULL, connect_in_flight, &f);
	t0 = lab_now_ms();
	while (lab_now_ms() - t0 < 5000 &&
	       !(__atomic_load_n(&f.tid, __ATOMIC_ACQUIRE) && in_flock(f.tid)))
		usleep(1000);
	check(in_flock(f.tid), "fork: the thread's connect waits for the file's lock");
	pthread_create(&r, NULL, release_later, &lockfd);
	child = fork();
	if (child == 0) {
		close(lockfd);	/* the lock is the parent's to give back */
		alarm(10);
		fd = softerr_connect("soft.lab", "8080", NULL, NULL);
		_exit(fd >= 0 ? 0 : 1);
	}
	check(child > 0, "fork: forked");
	while (child > 0 && waited < 15000 && waitpid(child, &status, WNOHANG) == 0) {
		usleep(10000);
		waited += 10;
	}
	if (child > 0 && waited >= 15000) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	check(child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork: the child connects through the API, without waiting forever");
	pthread_join(r, NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	joined = pthread_timedjoin_np(t, NULL, &until) == 0;
	check(joined && f.fd >= 0, "fork: the parent's thread connected too");
	if (joined && f.fd >= 0)
		close(f.fd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "fork") == 0) {
		fork_during_connect();
		return failed;
	}
	soft_error_failover();
	black_hole_raced();
	failures();
	threads();
	return failed;
}
