/* Programs that handle their descriptors behind the library's back, and
 * what must hold for them all the same: the library never acts on, nor
 * answers for, a number it no longer owns.
 *
 *   se-hostile [--wait MS] [--idle MS] [--epoll] rawclose HOST PORT
 *   se-hostile [--count N] [--keep] closerange|closefrom|closeloop HOST PORT
 *   se-hostile fill HOST PORT
 *   se-hostile [--count N] dup2 HOST PORT
 *
 * HOST's first address is silent (a black hole), its last one answers (the
 * lab's server, which echoes).
 *
 * rawclose, as libuv (so Node.js) gives up on an address: a non-blocking
 * connect() to the first address, a wait of MS (default 300) for it with
 * poll(), or with --epoll in an epoll instance made beforehand, as libuv's
 * loop is (the number is removed from it before the close, as libuv does);
 * then syscall(SYS_close), which no wrapper sees, and at once a new
 * non-blocking TCP socket, which gets the same number, connected to the
 * last address; with --idle, only after MS without a call (the library
 * must notice the close on its own). It must connect (SO_ERROR 0, the peer the last address),
 * carry data, and stay the very socket the program made. Lines:
 *   first ADDRESS ok|pending|ERRNO-NAME MS
 *   reuse FD same|other NEWFD
 *   result ok PEER MS read echoed | result fail WHAT MS
 *
 * closerange, closefrom, closeloop, as daemons and programs about to exec
 * clean up: N (default 2) non-blocking connects to the first address are
 * left pending for 100 ms (a run each, with the library's descriptors),
 * a file of the program's is open, then every number from 3 up is closed:
 * close_range(3, ~0U, 0), closefrom(3), or close() on each of 3..1023.
 * With --keep, closerange and closeloop spare the pending sockets and the
 * program waits on them afterwards. The file is opened again, and NFILES
 * more, so that they take the numbers the library used; after 1 s, a new
 * non-blocking connect() to the last address must work, and after it no
 * file may have been written to, replaced or closed, and the process is
 * alive. Lines:
 *   kept FD pending | kept FD ok PEER read echoed | kept FD fail WHAT (--keep)
 *   file FD intact|written|replaced|closed PATH   (only when not intact)
 *   files intact N | files damaged N
 *   fresh ok PEER read echoed | fresh fail WHAT
 *   result ok MS | result fail MS
 *
 * dup2, as a program that puts its files on numbers it believes free: the
 * same N pending connects, and after 400 ms (past the attempt delay, so
 * that private sockets race too), every open number the program did not
 * open itself (the library's, if any) gets a new file of the program's
 * with dup2(), which must return that number and leave the file on it;
 * then as above, without the clean-up: a fresh connect must work, and
 * every file (those on the library's numbers among them) must be intact,
 * the process alive. Lines as above, and before them:
 *   dup2 N numbers from LOWEST, the library's from BASE | dup2 fail FD ERRNO-NAME
 *
 * fill, as a server near its descriptor limit: non-blocking connects to
 * the first address, left pending, until one cannot be had (EMFILE, or
 * 4096 of them); then one more is tried after closing one. Lines:
 *   pending N ERRNO-NAME
 *   result ok MS | result fail WHAT MS
 *
 * The exit status is 0 when all held, 1 when not, 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "labutil.h"

#define NFILES 24	/* files the program opens after the clean-up */
#define NDUP 64		/* ... or puts on the library's numbers (dup2) */
#define MAXPEND 16

static double t0;
/* The numbers open when the program started (inherited): not the
 * library's. */
static unsigned char at_start[65536];

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits at most ms for fd to be writable: 1 if it is, 0 if not. With ep
 * >= 0, in that epoll instance (fd registered in it already). */
static int wait_out(int fd, int ep, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct epoll_event ev;

	if (ep >= 0)
		return epoll_wait(ep, &ev, 1, ms) == 1 && ev.data.fd == fd;
	return poll(&p, 1, ms) == 1;
}

static const char *addr_of(const struct addrinfo *ai, char *buf, size_t len)
{
	return lab_addr_str(ai->ai_addr, buf, len);
}

/* Writes a line to fd and reads it back from the server: true when it came
 * back whole. */
static bool echoes(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char got[16];
	ssize_t n;

	if (write(fd, "echoed\n", 7) != 7 || poll(&p, 1, 2000) != 1)
		return false;
	n = read(fd, got, sizeof(got));
	return n == 7 && memcmp(got, "echoed\n", 7) == 0;
}

/* Is fd a socket connected to want (an address as text)? On no, what is
 * wrong, in why. */
static bool connected_to(int fd, const char *want, char *why, size_t len)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char addr[INET6_ADDRSTRLEN];
	int so = -1;
	socklen_t slen = sizeof(so);
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(why, len, "fstat-%s", lab_errname(errno));
		return false;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, len, "not-a-socket(mode-0%o)", (unsigned)(st.st_mode & S_IFMT));
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &slen) < 0) {
		snprintf(why, len, "SO_ERROR-getsockopt-%s", lab_errname(errno));
		return false;
	}
	if (so != 0) {
		snprintf(why, len, "SO_ERROR-%s", lab_errname(so));
		return false;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
		snprintf(why, len, "getpeername-%s", lab_errname(errno));
		return false;
	}
	lab_addr_str((struct sockaddr *)&peer, addr, sizeof(addr));
	if (want && strcmp(addr, want) != 0) {
		snprintf(why, len, "peer-%s", addr);
		return false;
	}
	if (!echoes(fd)) {
		snprintf(why, len, "no-echo-from-%s", addr);
		return false;
	}
	snprintf(why, len, "%s", addr);
	return true;
}

static bool same_file(int fd, const struct stat *was)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == was->st_dev && st.st_ino == was->st_ino;
}

static int rawclose(const struct addrinfo *first, const struct addrinfo *last,
		    int wait_ms, int idle_ms, bool use_epoll)
{
	char a1[INET6_ADDRSTRLEN], a2[INET6_ADDRSTRLEN], why[96];
	struct epoll_event ev = { .events = EPOLLOUT };
	struct stat mine;
	int ep = -1, fd, nfd, err, so = 0;
	socklen_t slen = sizeof(so);

	addr_of(first, a1, sizeof(a1));
	addr_of(last, a2, sizeof(a2));
	if (use_epoll && (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		printf("result fail epoll_create1-%s %.1f\n", lab_errname(errno), lab_now_ms() - t0);
		return 1;
	}
	fd = lab_nb_connect(first, &err);
	if (fd < 0) {
		printf("first %s %s %.1f\nresult fail first-connect %.1f\n", a1,
		       lab_errname(err), lab_now_ms() - t0, lab_now_ms() - t0);
		return 1;
	}
	ev.data.fd = fd;
	if (ep >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	if (wait_out(fd, ep, wait_ms)) {
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &slen);
		printf("first %s %s %.1f\n", a1, so ? lab_errname(so) : "ok", lab_now_ms() - t0);
	} else {
		printf("first %s pending %.1f\n", a1, lab_now_ms() - t0);
	}
	/* libuv: uv__platform_invalidate_fd(), then uv__close(). */
	if (ep >= 0)
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	syscall(SYS_close, fd);
	if (idle_ms > 0)
		sleep_ms(idle_ms);

	nfd = socket(last->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	printf("reuse %d %s %d\n", fd, nfd == fd ? "same" : "other", nfd);
	if (nfd < 0 || fstat(nfd, &mine) < 0) {
		printf("result fail socket-%s %.1f\n", lab_errname(errno), lab_now_ms() - t0);
		return 1;
	}
	if (connect(nfd, last->ai_addr, last->ai_addrlen) < 0 && errno != EINPROGRESS) {
		printf("result fail connect-%s %.1f\n", lab_errname(errno), lab_now_ms() - t0);
		return 1;
	}
	ev.data.fd = nfd;
	if (ep >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ev);
	if (!wait_out(nfd, ep, 2000)) {
		printf("result fail not-writable-in-2s %.1f\n", lab_now_ms() - t0);
		return 1;
	}
	if (!connected_to(nfd, a2, why, sizeof(why))) {
		printf("result fail %s %.1f\n", why, lab_now_ms() - t0);
		return 1;
	}
	if (!same_file(nfd, &mine)) {
		printf("result fail replaced-after-connect %.1f\n", lab_now_ms() - t0);
		return 1;
	}
	/* Whatever the library still had in flight for the old socket has
	 * had its time: the number is still the program's socket. */
	sleep_ms(500);
	if (!same_file(nfd, &mine) || !echoes(nfd)) {
		printf("result fail replaced-later %.1f\n", lab_now_ms() - t0);
		return 1;
	}
	if (nfd != fd) {
		/* The test is about a reused number: without one it proves
		 * nothing. */
		printf("result fail number-not-reused %.1f\n", lab_now_ms() - t0);
		return 1;
	}
	printf("result ok %s %.1f read echoed\n", why, lab_now_ms() - t0);
	close(nfd);
	return 0;
}

struct pfile {
	int fd;
	char path[4096];
	char text[64];
	struct stat st;
};

/* Creates (or opens again) the program's file f, its contents f->text. */
static int open_file(struct pfile *f, bool create)
{
	size_t n = strlen(f->text);

	f->fd = open(f->path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
	if (f->fd < 0)
		return -1;
	if (create && write(f->fd, f->text, n) != (ssize_t)n)
		return -1;
	return fstat(f->fd, &f->st);
}

/* Is f as the program left it: the same file on its number, with its
 * contents and nothing more? */
static const char *file_state(const struct pfile *f)
{
	char buf[128];
	size_t n = strlen(f->text);
	struct stat st;

	if (fcntl(f->fd, F_GETFD) < 0)
		return "closed";
	if (!same_file(f->fd, &f->st))
		return "replaced";
	if (fstat(f->fd, &st) < 0 || st.st_size != (off_t)n ||
	    pread(f->fd, buf, sizeof(buf), 0) != (ssize_t)n || memcmp(buf, f->text, n) != 0)
		return "written";
	return "intact";
}

/* Closes every number from 3 up, sparing keep[0..nkeep), the way mode
 * says. */
static void close_all(const char *mode, const int *keep, int nkeep)
{
	int fd, i, from = 3;

	if (strcmp(mode, "closefrom") == 0) {
		closefrom(3);
		return;
	}
	if (strcmp(mode, "closeloop") == 0) {
		for (fd = 3; fd < 1024; fd++) {
			for (i = 0; i < nkeep && keep[i] != fd; i++)
				;
			if (i == nkeep)
				close(fd);
		}
		return;
	}
	/* closerange: one call per gap between kept numbers. */
	for (fd = 3; fd < 1024; fd++) {
		for (i = 0; i < nkeep && keep[i] != fd; i++)
			;
		if (i < nkeep) {
			if (fd > from)
				close_range((unsigned)from, (unsigned)fd - 1, 0);
			from = fd + 1;
		}
	}
	close_range((unsigned)from, ~0U, 0);
}

static struct pfile files[NFILES + 1 + NDUP];

/* dup2 mode: a new file of the program's on every open number it did not
 * open itself (pend[0..count), files[0..nfiles) are its own). Returns the
 * number of files now, or -1. */
static int dup_onto_others(const int *pend, int count, int nfiles, const char *dir)
{
	struct rlimit rl;
	int fd, i, n = nfiles, hit = 0, lowest = -1;
	long base;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	for (fd = 3; fd < (int)rl.rlim_cur; fd++) {
		if (at_start[fd] || fcntl(fd, F_GETFD) < 0)
			continue;
		for (i = 0; i < count && pend[i] != fd; i++)
			;
		if (i < count)
			continue;
		for (i = 0; i < n && files[i].fd != fd; i++)
			;
		if (i < n)
			continue;
		if (n == NFILES + 1 + NDUP) {
			printf("dup2 fail %d too-many\n", fd);
			return -1;
		}
		snprintf(files[n].path, sizeof(files[n].path), "%s/dup%02d", dir, n);
		snprintf(files[n].text, sizeof(files[n].text), "the program's file on %d\n", fd);
		if (open_file(&files[n], true) < 0) {
			printf("dup2 fail %d open-%s\n", fd, lab_errname(errno));
			return -1;
		}
		if (dup2(files[n].fd, fd) != fd) {
			printf("dup2 fail %d %s\n", fd, lab_errname(errno));
			return -1;
		}
		close(files[n].fd);
		files[n].fd = fd;
		/* Its file on the number, as the program's own dup2() left it. */
		if (!same_file(fd, &files[n].st)) {
			printf("dup2 fail %d not-there\n", fd);
			return -1;
		}
		n++;
		if (!hit++)
			lowest = fd;
	}
	/* Where the library keeps its own: FD_SETSIZE, or under a limit too
	 * small for that, the top eighth below it (libsofterr(7)). */
	base = (long)rl.rlim_cur - (long)rl.rlim_cur / 8;
	if (base > 1024)
		base = 1024;
	printf("dup2 %d numbers from %d, the library's from %ld\n", hit, lowest, base);
	return n;
}

static int cleanup(const char *mode, const struct addrinfo *first,
		   const struct addrinfo *last, int count, bool keep)
{
	char a2[INET6_ADDRSTRLEN], why[96];
	int pend[MAXPEND], i, err, damaged = 0, fd, ok = 1, nfiles = NFILES + 1;
	bool dup = strcmp(mode, "dup2") == 0;
	const char *tmp = getenv("TMPDIR");
	/* Well within a file's path, with "/fileNN" after it. */
	char tmpl[1024];

	addr_of(last, a2, sizeof(a2));
	if (snprintf(tmpl, sizeof(tmpl), "%s/se-hostile.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(tmpl) || !mkdtemp(tmpl)) {
		printf("result fail mkdtemp %.1f\n", lab_now_ms() - t0);
		return 1;
	}
	for (i = 0; i < count; i++) {
		pend[i] = lab_nb_connect(first, &err);
		if (pend[i] < 0) {
			printf("result fail first-connect-%s %.1f\n", lab_errname(err),
			       lab_now_ms() - t0);
			return 1;
		}
	}
	/* The runs are under way, before the attempt delay (dup2: after it,
	 * the next address racing on a private socket). */
	sleep_ms(dup ? 400 : 100);
	for (i = 0; i <= NFILES; i++) {
		snprintf(files[i].path, sizeof(files[i].path), "%s/file%02d", tmpl, i);
		snprintf(files[i].text, sizeof(files[i].text), "the program's file %d\n", i);
	}
	if (open_file(&files[0], true) < 0) {
		printf("result fail open-%s %.1f\n", lab_errname(errno), lab_now_ms() - t0);
		return 1;
	}
	if (dup) {
		/* Its files, then one on each number it did not open. */
		for (i = 1; i <= NFILES; i++)
			if (open_file(&files[i], true) < 0) {
				printf("result fail open-%s %.1f\n", lab_errname(errno),
				       lab_now_ms() - t0);
				return 1;
			}
		nfiles = dup_onto_others(pend, count, NFILES + 1, tmpl);
		if (nfiles < 0) {
			printf("result fail dup2 %.1f\n", lab_now_ms() - t0);
			return 1;
		}
	} else {
		close_all(mode, pend, keep ? count : 0);
	}
	/* The program's file again, then more: on the lowest free numbers,
	 * the library's among them. */
	for (i = 0; !dup && i <= NFILES; i++)
		if (open_file(&files[i], i > 0) < 0) {
			printf("result fail open-%s %.1f\n", lab_errname(errno),
			       lab_now_ms() - t0);
			return 1;
		}
	/* The library's thread has its time: the attempt delay passes, the
	 * next address would start. */
	sleep_ms(1000);
	for (i = 0; keep && i < count; i++) {
		struct stat st;

		if (fstat(pend[i], &st) < 0 || !S_ISSOCK(st.st_mode)) {
			printf("kept %d fail %s\n", pend[i], fcntl(pend[i], F_GETFD) < 0 ?
			       "closed" : "not-a-socket");
			ok = 0;
		} else if (!wait_out(pend[i], -1, 0)) {
			/* Still at the black hole, as without the library. */
			printf("kept %d pending\n", pend[i]);
		} else if (connected_to(pend[i], NULL, why, sizeof(why))) {
			printf("kept %d ok %s read echoed\n", pend[i], why);
		} else {
			printf("kept %d fail %s\n", pend[i], why);
			ok = 0;
		}
	}
	fd = lab_nb_connect(last, &err);
	if (fd < 0) {
		printf("fresh fail connect-%s\n", lab_errname(err));
		ok = 0;
	} else if (!wait_out(fd, -1, 2000)) {
		printf("fresh fail not-writable-in-2s\n");
		ok = 0;
	} else if (!connected_to(fd, a2, why, sizeof(why))) {
		printf("fresh fail %s\n", why);
		ok = 0;
	} else {
		printf("fresh ok %s read echoed\n", why);
	}
	/* Whatever the connect() set off in the library has happened. */
	sleep_ms(100);
	for (i = 0; i < nfiles; i++) {
		const char *state = file_state(&files[i]);

		if (strcmp(state, "intact") != 0) {
			printf("file %d %s %s\n", files[i].fd, state, files[i].path);
			damaged++;
		}
	}
	if (damaged) {
		printf("files damaged %d\n", damaged);
		ok = 0;
	} else {
		printf("files intact %d\n", nfiles);
	}
	for (i = 0; i < nfiles; i++)
		unlink(files[i].path);
	rmdir(tmpl);
	printf("result %s %.1f\n", ok ? "ok" : "fail", lab_now_ms() - t0);
	return ok ? 0 : 1;
}

/* How many connects the program can hold pending: all the descriptors
 * its limit leaves it, with softerr as without. */
static int fill(const struct addrinfo *first)
{
	static int fds[4096];
	int n = 0, err = 0, i, fd;

	while (n < 4096 && (fd = lab_nb_connect(first, &err)) >= 0)
		fds[n++] = fd;
	printf("pending %d %s\n", n, lab_errname(err));
	/* One goes: the next takes its place. */
	if (n > 0) {
		close(fds[--n]);
		if ((fd = lab_nb_connect(first, &err)) < 0) {
			printf("result fail again %s %.1f\n", lab_errname(err), lab_now_ms() - t0);
			return 1;
		}
		fds[n++] = fd;
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	printf("result ok %.1f\n", lab_now_ms() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *last;
	int i, wait_ms = 300, idle_ms = 0, count = 2, rc, gai;
	bool use_epoll = false, keep = false;
	const char *mode;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
			wait_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc)
			idle_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (strcmp(argv[i], "--epoll") == 0)
			use_epoll = true;
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else
			break;
	}
	if (argc - i != 3 || count < 1 || count > MAXPEND ||
	    (strcmp(argv[i], "rawclose") != 0 && strcmp(argv[i], "closerange") != 0 &&
	     strcmp(argv[i], "fill") != 0 && strcmp(argv[i], "dup2") != 0 &&
	     strcmp(argv[i], "closefrom") != 0 && strcmp(argv[i], "closeloop") != 0) ||
	    (keep && (strcmp(argv[i], "closefrom") == 0 || strcmp(argv[i], "dup2") == 0))) {
		fprintf(stderr, "usage: se-hostile [--wait MS] [--idle MS] [--epoll] rawclose HOST PORT\n"
			"       se-hostile fill HOST PORT\n"
			"       se-hostile [--count N] dup2 HOST PORT\n"
			"       se-hostile [--count N] [--keep] "
			"closerange|closefrom|closeloop HOST PORT\n");
		return 2;
	}
	mode = argv[i];
	for (gai = 3; gai < (int)sizeof(at_start); gai++)
		at_start[gai] = fcntl(gai, F_GETFD) >= 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = lab_now_ms();
	if ((gai = getaddrinfo(argv[i + 1], argv[i + 2], &hints, &res)) != 0) {
		printf("result fail resolve %s\n", gai_strerror(gai));
		return 1;
	}
	for (last = res; last->ai_next; last = last->ai_next)
		;
	if (last == res) {
		printf("result fail one-address\n");
		return 1;
	}
	if (strcmp(mode, "rawclose") == 0)
		rc = rawclose(res, last, wait_ms, idle_ms, use_epoll);
	else if (strcmp(mode, "fill") == 0)
		rc = fill(res);
	else
		rc = cleanup(mode, res, last, count, keep);
	freeaddrinfo(res);
	return rc;
}
