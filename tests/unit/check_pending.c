/* The pending-descriptor layer (src/preload/pending.h, entry.h): the
 * answers for a non-blocking connect whose attempt the library holds, the
 * stand-in, the winner put in place, shutdown(), connect(AF_UNSPEC), a
 * number closed behind the library's back, fork(). Without interposition:
 * the calls the wrappers make are made here, on real loopback sockets and
 * with the real loop thread.
 *
 * An attempt stays pending on loopback against a listener whose accept
 * queue is full (listen(0) and one connection not accepted): the kernel
 * drops the SYN, and the next is a second away. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fdtab.h"
#include "core/lazy.h"
#include "core/loop.h"
#include "core/settings.h"
#include "core/sockrec.h"
#include "preload/entry.h"
#include "preload/pending.h"
#include "suites.h"

static struct se_settings settings;
static struct se_engine_ctx ctx;
/* The full listener (127.0.0.1), an open one (127.0.0.2, the same port). */
static struct sockaddr_in full, open_l;
static int full_fd, filler_fd, open_fd;

/* A listener on 127.0.0.host, port port (0: any), with backlog backlog;
 * its address into sin. */
static int listener(int host, uint16_t port, int backlog, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + (uint32_t)host);
	sin->sin_port = port;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* Descriptors this process holds whose target begins with kind
 * ("socket:", "pipe:"). */
static int holds(const char *kind)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], target[64];
	int n = 0;
	ssize_t len;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0 && (target[len] = '\0', strncmp(target, kind, strlen(kind)) == 0))
			n++;
	}
	closedir(d);
	return n;
}

static int sockets(void)
{
	return holds("socket:");
}

/* Is the file whose inode is ino registered in an epoll instance of this
 * process (its fdinfo names each registration's inode, in hex)? */
static bool registered(ino_t ino)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], target[64], line[256], want[64];
	bool found = false;
	ssize_t len;
	FILE *f;

	ck_assert_ptr_nonnull(d);
	snprintf(want, sizeof(want), " ino:%lx ", (unsigned long)ino);
	while (!found && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0 || (target[len] = '\0', strcmp(target, "anon_inode:[eventpoll]") != 0))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (!found && fgets(line, sizeof(line), f))
			found = strncmp(line, "tfd:", 4) == 0 && strstr(line, want);
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Waits (3 s at most) until the process holds n sockets. */
static bool sockets_back_to(int n)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 3000; i++) {
		if (sockets() == n)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

static void setup(void)
{
	ck_assert(se_lazy_load_ev());
	se_settings_defaults(&settings);
	settings.transparent = true;
	settings.attempt_delay_ms = 5000;
	memset(&ctx, 0, sizeof(ctx));
	ctx.settings = &settings;
	full_fd = listener(1, 0, 0, &full);
	/* The one connection its queue holds: the next SYN is dropped. */
	filler_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(filler_fd, (struct sockaddr *)&full, sizeof(full)), 0);
	/* Another address, the same port: the name's second address. */
	open_fd = listener(2, full.sin_port, 16, &open_l);
}

static void teardown(void)
{
	se_watch_shutdown();
	close(open_fd);
	close(filler_fd);
	close(full_fd);
}

/* A non-blocking socket whose connect() to the full listener the layer
 * holds behind a stand-in; its inode into *ino. Recorded (as the socket()
 * wrapper records what it makes), the engine may race private sockets
 * for it; else it tries one address at a time on this socket. */
static int pending_as(ino_t *ino, bool recorded)
{
	struct stat st;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	if (recorded)
		se_sockrec_socket(fd, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*ino = st.st_ino;
	errno = 0;
	ck_assert_int_eq(se_watch_connect(&ctx, fd, AF_INET, (struct sockaddr *)&full,
					  sizeof(full)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	ck_assert(se_watch_has(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_msg(S_ISFIFO(st.st_mode), "no stand-in on the number");
	return fd;
}

static int pending(ino_t *ino)
{
	return pending_as(ino, false);
}

START_TEST(stand_in_answers)
{
	int base = sockets(), fd, rc, err = -1;
	socklen_t len = sizeof(err);
	struct sockaddr_storage ss;
	ino_t ino;

	fd = pending(&ino);
	/* The program's socket on the run's private number. */
	ck_assert_int_eq(sockets(), base + 1);
	ck_assert(se_watch_sockopt(fd, false, SOL_SOCKET, SO_ERROR, &err, &len, &rc));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(err, 0);
	ck_assert(se_watch_connect_again(fd, &rc));
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, EALREADY);
	len = sizeof(ss);
	ck_assert(se_watch_name(fd, true, (struct sockaddr *)&ss, &len, &rc));
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, ENOTCONN);
	/* The program closes it: the run ends, its socket is closed. */
	se_watch_forget(fd);
	ck_assert(!se_watch_has(fd));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_msg(sockets_back_to(base), "the run's socket stayed open (%d sockets, %d before)",
		      sockets(), base);
}
END_TEST

/* The program closes the number before the thread has looked at the run
 * (nothing wakes it here: the SYN is dropped, and the attempt delay is 5
 * s): the close() itself ends the attempt, its socket and the stand-in's
 * other end gone when it returns, not after a wake-up of the thread. Many
 * times: a thread woken to close them would win some of the races. */
START_TEST(close_before_the_thread_looks)
{
	int base = sockets(), pipe_ends, fd, orig, wake, i;
	ino_t ino;

	/* The first starts the thread (its wake-up pipe). */
	fd = pending(&ino);
	pipe_ends = holds("pipe:");
	se_watch_forget(fd);
	close(fd);
	for (i = 0; i < 20; i++) {
		fd = pending(&ino);
		ck_assert_int_eq(sockets(), base + 1);
		ck_assert_int_eq(holds("pipe:"), pipe_ends);
		orig = se_entry_get(fd)->orig;
		wake = se_entry_get(fd)->wake;
		se_watch_forget(fd);
		/* Asked at once, before any thread could have closed them. */
		ck_assert_int_eq(fcntl(orig, F_GETFD), -1);
		ck_assert_int_eq(fcntl(wake, F_GETFD), -1);
		ck_assert_int_eq(sockets(), base);
		ck_assert_int_eq(close(fd), 0);
		ck_assert_int_eq(holds("pipe:"), pipe_ends - 2);
	}
}
END_TEST

/* The program's wait on fd wakes with it connected to to: the socket in
 * place, the wrappers' next call the kernel's (it waits for the thread to
 * finish putting the socket there: the lock). Returns the socket's inode. */
static ino_t woke_connected(int fd, const struct sockaddr_in *to)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct sockaddr_in peer;
	socklen_t len = sizeof(int);
	int err = -1, rc;
	struct stat st;

	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_int_eq(p.revents & (POLLOUT | POLLERR), POLLOUT);
	ck_assert(!se_watch_sockopt(fd, false, SOL_SOCKET, SO_ERROR, &err, &len, &rc));
	ck_assert(!se_watch_has(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	len = sizeof(peer);
	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
	ck_assert_int_eq(peer.sin_addr.s_addr, to->sin_addr.s_addr);
	return st.st_ino;
}

/* The name's second address (127.0.0.2) is tried after 100 ms and
 * connects: that socket goes on the program's number, and the program's
 * wait wakes there. Raced on a private socket (recorded), the winner is
 * another socket and the program's own is closed; else the program's own
 * socket gave up the first address for the second. */
static void second_address_wins(bool recorded)
{
	struct se_candidates cand = { .source = SE_CAND_NAME, .n = 2 };
	int base = sockets(), fd;
	ino_t ino;

	strcpy(cand.name, "pending.test");
	ck_assert_int_eq(se_addr_from_sockaddr(&cand.addr[0], (struct sockaddr *)&full,
					       sizeof(full)), 0);
	ck_assert_int_eq(se_addr_from_sockaddr(&cand.addr[1], (struct sockaddr *)&open_l,
					       sizeof(open_l)), 0);
	ctx.candidates = &cand;
	settings.attempt_delay_ms = 100;
	if (getenv("CHECK_PENDING_LOG"))
		se_settings_set(&settings, "log", "stderr", NULL);
	fd = pending_as(&ino, recorded);
	if (recorded)
		ck_assert_msg(woke_connected(fd, &open_l) != ino, "not the private winner");
	else
		ck_assert_msg(woke_connected(fd, &open_l) == ino, "not the program's own socket");
	/* Nothing else stays. */
	ck_assert_msg(sockets_back_to(base + 1), "%d sockets, %d expected", sockets(), base + 1);
	close(fd);
}

START_TEST(private_winner_put_in_place)
{
	second_address_wins(true);
}
END_TEST

START_TEST(own_socket_tries_the_next)
{
	second_address_wins(false);
}
END_TEST

/* The program's own attempt connects (the listener's queue frees, and
 * the kernel's second SYN, a second later, is answered): its own socket
 * goes back on the number, connected. */
START_TEST(own_socket_wins)
{
	int base = sockets(), fd, taken;
	ino_t ino;

	fd = pending(&ino);
	taken = accept(full_fd, NULL, NULL);
	ck_assert_int_ge(taken, 0);
	close(taken);
	ck_assert_msg(woke_connected(fd, &full) == ino, "not the program's own socket");
	/* The run's private copy of it is closed, and the library keeps no
	 * registration of it. */
	ck_assert_msg(sockets_back_to(base + 1), "%d sockets, %d expected", sockets(), base + 1);
	ck_assert_msg(!registered(ino), "the library's epoll instance still holds the socket");
	close(fd);
}
END_TEST

/* The visible mode (transparent off, a policy that ends attempts early):
 * the program's own socket stays on the number, the kernel answers, and
 * closing it forgets the attempt. */
START_TEST(visible_keeps_the_socket)
{
	int base = sockets(), fd, rc, err = -1;
	socklen_t len = sizeof(err);
	struct stat st;
	ino_t ino;

	settings.transparent = false;
	settings.policy = SE_POLICY_ABORT;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ino = st.st_ino;
	ck_assert_int_eq(se_watch_connect(&ctx, fd, AF_INET, (struct sockaddr *)&full,
					  sizeof(full)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	ck_assert(se_watch_has(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(st.st_ino == ino);
	ck_assert(se_watch_sockopt(fd, false, SOL_SOCKET, SO_ERROR, &err, &len, &rc));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(sockets(), base + 1);
	se_watch_forget(fd);
	ck_assert(!se_watch_has(fd));
	close(fd);
	ck_assert_int_eq(sockets(), base);
}
END_TEST

/* The same, closed with the raw system call at once (before the thread
 * has looked), the number reused by a socket of the program's: the loop
 * never registers the number (libev would abort on the closed one, or
 * watch the program's new file), and the new socket is the program's. */
START_TEST(visible_raw_close)
{
	struct timespec ms50 = { 0, 50000000 };
	int base = sockets(), fd, again, rc, val = 1;
	socklen_t len = sizeof(val);

	settings.transparent = false;
	settings.policy = SE_POLICY_ABORT;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(se_watch_connect(&ctx, fd, AF_INET, (struct sockaddr *)&full,
					  sizeof(full)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	ck_assert_int_eq(close(fd), 0);
	again = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(again, fd);
	nanosleep(&ms50, NULL);
	ck_assert(!se_watch_sockopt(again, true, SOL_SOCKET, SO_KEEPALIVE, &val, &len, &rc));
	ck_assert(!se_watch_has(again));
	rc = connect(again, (struct sockaddr *)&open_l, sizeof(open_l));
	ck_assert(rc == 0 || errno == EINPROGRESS);
	close(again);
	ck_assert_int_eq(sockets(), base);
}
END_TEST

/* The visible mode's establishment timer: the attempt ends when it runs
 * out, not before; the program's wait wakes (the socket cancelled), and
 * SO_ERROR, then a second connect(), answer as the kernel's would after
 * a timeout: ETIMEDOUT once, then ECONNABORTED. The same socket stays on
 * the number, and no registration of it is left. */
START_TEST(visible_timer_ends_the_attempt)
{
	struct pollfd p = { .events = POLLOUT };
	int fd, rc, err = -1;
	socklen_t len = sizeof(err);
	struct timespec t0, t1;
	struct stat st;
	double ms;
	ino_t ino;

	settings.transparent = false;
	settings.policy = SE_POLICY_ABORT;
	settings.establish_timeout_ms = 150;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ino = st.st_ino;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(se_watch_connect(&ctx, fd, AF_INET, (struct sockaddr *)&full,
					  sizeof(full)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	p.fd = fd;
	ck_assert_int_eq(poll(&p, 1, 3000), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms >= 145, "woke after %.1f ms, before the timer", ms);
	ck_assert_msg(p.revents & POLLERR, "revents %#x", (unsigned)p.revents);
	ck_assert(se_watch_sockopt(fd, false, SOL_SOCKET, SO_ERROR, &err, &len, &rc));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(err, ETIMEDOUT);
	ck_assert(se_watch_connect_again(fd, &rc));
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, ECONNABORTED);
	ck_assert(!se_watch_has(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(st.st_ino == ino);
	ck_assert_msg(!registered(ino), "the library's epoll instance still holds the socket");
	close(fd);
}
END_TEST

/* The number closed with the raw system call while the visible attempt
 * waits, and reused at once by a socket the program connects: when the
 * establishment timer runs out, the program's new connection is not
 * touched (the attempt ended there would cancel it). */
START_TEST(visible_timer_spares_a_reused_number)
{
	struct timespec ms400 = { 0, 400000000 };
	struct pollfd p = { .events = POLLOUT };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, again, rc, err = -1;

	settings.transparent = false;
	settings.policy = SE_POLICY_ABORT;
	settings.establish_timeout_ms = 150;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(se_watch_connect(&ctx, fd, AF_INET, (struct sockaddr *)&full,
					  sizeof(full)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	ck_assert_int_eq(syscall(SYS_close, fd), 0);
	again = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(again, fd);
	rc = connect(again, (struct sockaddr *)&open_l, sizeof(open_l));
	ck_assert(rc == 0 || errno == EINPROGRESS);
	p.fd = again;
	ck_assert_int_eq(poll(&p, 1, 3000), 1);
	nanosleep(&ms400, NULL);
	ck_assert_int_eq(getpeername(again, (struct sockaddr *)&ss, &len), 0);
	len = sizeof(err);
	ck_assert_int_eq(getsockopt(again, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	ck_assert(!se_watch_sockopt(again, false, SOL_SOCKET, SO_ERROR, &err, &len, &rc));
	ck_assert(!se_watch_has(again));
	close(again);
}
END_TEST

/* shutdown() (how 1) or connect(AF_UNSPEC) (how 0) while the stand-in
 * holds the number: the program's own socket comes back, its attempt ended
 * by the kernel's answer. */
static void give_back(bool shut)
{
	int base = sockets(), fd, rc = -2, err = -1;
	socklen_t len = sizeof(err);
	struct stat st;
	ino_t ino;

	fd = pending(&ino);
	if (shut)
		ck_assert(se_watch_shut(fd, SHUT_RDWR, &rc));
	else
		ck_assert(se_watch_dissolve(fd, &rc));
	ck_assert_int_eq(rc, 0);
	ck_assert(!se_watch_has(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_msg(st.st_ino == ino, "not the program's own socket");
	if (shut) {
		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
		ck_assert_int_eq(err, ECONNRESET);
	} else {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		/* Unconnected: free to connect again, elsewhere. */
		rc = connect(fd, (struct sockaddr *)&open_l, sizeof(open_l));
		ck_assert(rc == 0 || errno == EINPROGRESS);
		ck_assert_int_eq(poll(&p, 1, 3000), 1);
		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
		ck_assert_int_eq(err, 0);
	}
	/* The run's copy goes after the loop's next poll; the library keeps
	 * no registration of the socket. */
	ck_assert_msg(sockets_back_to(base + 1), "%d sockets, %d expected", sockets(), base + 1);
	ck_assert_msg(!registered(ino), "the library's epoll instance still holds the socket");
	close(fd);
}

START_TEST(shutdown_gives_back)
{
	give_back(true);
}
END_TEST

START_TEST(unspec_gives_back)
{
	give_back(false);
}
END_TEST

/* The program closes the number with the raw system call (as libuv does)
 * and makes no call after: the thread notices that the stand-in has no
 * reader and ends the run. Then a new socket on the same number is the
 * program's: nothing is answered for it. */
START_TEST(raw_close_noticed)
{
	int base = sockets(), fd, again, rc, err = -1;
	socklen_t len = sizeof(err);
	ino_t ino;

	fd = pending(&ino);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_msg(sockets_back_to(base), "the run's socket stayed open (%d sockets, %d before)",
		      sockets(), base);
	again = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(again, fd);
	ck_assert(!se_watch_sockopt(again, false, SOL_SOCKET, SO_ERROR, &err, &len, &rc));
	ck_assert(!se_watch_connect_again(again, &rc));
	ck_assert(!se_watch_has(again));
	close(again);
}
END_TEST

/* The program closes the run's private number with the raw system call
 * (close_range() over every number) before the thread has looked at the
 * run: when it looks, libev never sees that number (it would abort on a
 * closed one), and the run ends as if the program had closed its socket:
 * the stand-in wakes, and the number is the kernel's again. */
START_TEST(private_number_closed_before_the_thread_looks)
{
	struct pollfd p;
	sigset_t old;
	ino_t ino;
	int fd;

	fd = pending(&ino);
	ck_assert_int_eq(syscall(SYS_close, se_entry_get(fd)->orig), 0);
	se_loop_take(&old);
	se_loop_give_wake(&old, true);
	p.fd = fd;
	p.events = POLLIN;
	ck_assert_int_eq(poll(&p, 1, 3000), 1);
	ck_assert(!se_watch_has(fd));
	close(fd);
}
END_TEST

/* The same, and the new socket's first call comes before the thread has
 * noticed: the entry is let go of at that call. */
START_TEST(raw_close_reused_at_once)
{
	int fd, again, rc, val = 1;
	socklen_t len = sizeof(val);
	ino_t ino;

	fd = pending(&ino);
	ck_assert_int_eq(close(fd), 0);
	again = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(again, fd);
	ck_assert(!se_watch_sockopt(again, true, SOL_SOCKET, SO_KEEPALIVE, &val, &len, &rc));
	ck_assert(!se_watch_has(again));
	close(again);
}
END_TEST

/* fork() while the stand-in holds the number: the child gets the program's
 * own socket there, the parent keeps its run. */
START_TEST(fork_child_gets_the_socket)
{
	struct stat st;
	int fd, status;
	pid_t child;
	ino_t ino;

	fd = pending(&ino);
	se_watch_fork_prepare();
	child = fork();
	if (child == 0) {
		se_watch_fork_child();
		_exit(fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino &&
		      !se_watch_has(fd) ? 0 : 1);
	}
	se_watch_fork_parent();
	ck_assert_int_gt(child, 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child did not find the program's socket on the number");
	ck_assert(se_watch_has(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	se_watch_forget(fd);
	close(fd);
}
END_TEST

/* An entry dropped after another took its number leaves that one alone. */
START_TEST(drop_spares_another_entry)
{
	struct se_pending *e1 = calloc(1, sizeof(*e1)), *e2 = calloc(1, sizeof(*e2));
	int num = 700;

	ck_assert_ptr_nonnull(e1);
	ck_assert_ptr_nonnull(e2);
	ck_assert(se_fdtab_make(num));
	e1->num = e2->num = num;
	se_entry_set(num, e1);
	se_entry_set(num, e2);
	se_entry_drop(e1);
	ck_assert_ptr_eq(se_entry_get(num), e2);
	ck_assert(se_watch_has(num));
	se_entry_drop(e2);
	ck_assert_ptr_null(se_entry_get(num));
	ck_assert(!se_watch_has(num));
}
END_TEST

Suite *pending_suite(void)
{
	Suite *s = suite_create("pending");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stand_in_answers);
	tcase_add_test(tc, close_before_the_thread_looks);
	tcase_add_test(tc, private_winner_put_in_place);
	tcase_add_test(tc, own_socket_tries_the_next);
	tcase_add_test(tc, own_socket_wins);
	tcase_add_test(tc, visible_keeps_the_socket);
	tcase_add_test(tc, visible_raw_close);
	tcase_add_test(tc, visible_timer_ends_the_attempt);
	tcase_add_test(tc, visible_timer_spares_a_reused_number);
	tcase_add_test(tc, shutdown_gives_back);
	tcase_add_test(tc, unspec_gives_back);
	tcase_add_test(tc, raw_close_noticed);
	tcase_add_test(tc, private_number_closed_before_the_thread_looks);
	tcase_add_test(tc, raw_close_reused_at_once);
	tcase_add_test(tc, fork_child_gets_the_socket);
	tcase_add_test(tc, drop_spares_another_entry);
	suite_add_tcase(s, tc);
	return s;
}
