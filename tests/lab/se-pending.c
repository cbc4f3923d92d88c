/* What a program sees of a non-blocking connect() while it is pending:
 * with softerr, its number must behave as the connecting TCP socket does
 * without it.
 *
 *   se-pending answers HOST PORT
 *   se-pending shutdown HOW HOST PORT	(HOW: rd, wr, rdwr, or unspec:
 *					 connect() to AF_UNSPEC instead)
 *   se-pending fork HOST PORT
 *
 * HOST's first address is silent (a black hole), its last one answers (the
 * lab's server, which echoes). Each mode starts a non-blocking connect()
 * to the first address and, while it is pending (within 100 ms, well
 * before the attempt delay the test sets), asks:
 *
 * answers: what send(), write(), recv() and read() say, what poll() sees
 * in 100 ms, and SO_ERROR; then waits in poll() for the connection (3 s at
 * most). Lines:
 *   file socket|fifo|other
 *   send ERRNO-NAME | send N
 *   write ERRNO-NAME | write N
 *   recv ERRNO-NAME | recv N
 *   read ERRNO-NAME | read N
 *   poll REVENTS
 *   so_error ERRNO-NAME
 *   result ok PEER MS read echoed | result pending MS | result fail WHAT MS
 *
 * shutdown: shutdown(HOW), then what poll() sees (1 s at most), SO_ERROR,
 * send() and recv(); 1.5 s later (past the attempt delay: nothing may have
 * connected the socket again), the same once more; the descriptors the
 * process holds after close() against before the connect():
 *   shutdown RC-OR-ERRNO-NAME (unspec: unspec RC-OR-ERRNO-NAME)
 *   after poll REVENTS | after so_error E | after send E | after recv E
 *   later poll REVENTS | later so_error E | later peer ERRNO-NAME|PEER
 *   fds left N
 *
 * fork: fork()s while pending; the child reports what it holds on the
 * number and what becomes of it in 3 s, then the parent waits for its own
 * connection:
 *   child file socket|fifo|other
 *   child outcome connected PEER | child outcome error ERRNO-NAME |
 *     child outcome pending
 *   result ...as for answers
 *
 * REVENTS: the poll() bits as text ("-" for none). The exit status is 0
 * when the program ran to its end, 1 when something could not be set up,
 * 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "labutil.h"

static double t0;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *file_kind(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return lab_errname(errno);
	if (S_ISSOCK(st.st_mode))
		return "socket";
	if (S_ISFIFO(st.st_mode))
		return "fifo";
	return "other";
}

static const char *revents_str(short r, char *buf, size_t len)
{
	static const struct { short bit; const char *name; } bits[] = {
		{ POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" },
		{ POLLERR, "ERR" }, { POLLHUP, "HUP" }, { POLLNVAL, "NVAL" },
	};
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (r & bits[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "", bits[i].name);
	if (!n)
		snprintf(buf, len, "-");
	return buf;
}

/* poll() on fd for ms with every event asked: the events, as text. */
static const char *poll_str(int fd, int ms, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };

	if (poll(&p, 1, ms) < 0)
		return lab_errname(errno);
	return revents_str(p.revents, buf, len);
}

static const char *io_str(ssize_t n, char *buf, size_t len)
{
	if (n < 0)
		return lab_errname(errno);
	snprintf(buf, len, "%zd", n);
	return buf;
}

static int so_error(int fd)
{
	int so = -1;
	socklen_t slen = sizeof(so);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &slen) < 0)
		return errno;
	return so;
}

static const char *peer_str(int fd, char *buf, size_t len)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		return lab_errname(errno);
	return lab_addr_str((struct sockaddr *)&peer, buf, len);
}

/* Writes a line and reads it back from the lab's server. */
static bool echoes(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char got[16];

	if (write(fd, "echoed\n", 7) != 7 || poll(&p, 1, 2000) != 1)
		return false;
	return read(fd, got, sizeof(got)) == 7 && memcmp(got, "echoed\n", 7) == 0;
}

/* Waits up to ms for fd's connect() to end; prints the result line. */
static void result(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	char peer[64];
	int so;

	if (poll(&p, 1, ms) != 1) {
		printf("result pending %.1f\n", lab_now_ms() - t0);
		return;
	}
	so = so_error(fd);
	if (so != 0) {
		printf("result fail SO_ERROR-%s %.1f\n", lab_errname(so), lab_now_ms() - t0);
		return;
	}
	peer_str(fd, peer, sizeof(peer));
	if (!echoes(fd)) {
		printf("result fail no-echo-%s %.1f\n", peer, lab_now_ms() - t0);
		return;
	}
	printf("result ok %s %.1f read echoed\n", peer, lab_now_ms() - t0);
}

static int answers(const struct addrinfo *first)
{
	char buf[64], out[24];
	int fd = lab_nb_connect(first, NULL);

	if (fd < 0) {
		printf("result fail connect-%s\n", lab_errname(errno));
		return 1;
	}
	printf("file %s\n", file_kind(fd));
	printf("send %s\n", io_str(send(fd, "x", 1, MSG_NOSIGNAL), out, sizeof(out)));
	printf("write %s\n", io_str(write(fd, "x", 1), out, sizeof(out)));
	printf("recv %s\n", io_str(recv(fd, buf, sizeof(buf), 0), out, sizeof(out)));
	printf("read %s\n", io_str(read(fd, buf, sizeof(buf)), out, sizeof(out)));
	printf("poll %s\n", poll_str(fd, 100, buf, sizeof(buf)));
	printf("so_error %s\n", lab_errname(so_error(fd)));
	result(fd, 3000);
	close(fd);
	return 0;
}

/* shut()'s HOW for connect() to AF_UNSPEC. */
#define UNSPEC 99

static int shut(const struct addrinfo *first, int how)
{
	char buf[64], out[24];
	int fd, before, rc;

	/* The library's thread and descriptors come with the first pending
	 * connect: one first, so that they are counted before. */
	fd = lab_nb_connect(first, NULL);
	if (fd < 0) {
		printf("result fail connect-%s\n", lab_errname(errno));
		return 1;
	}
	close(fd);
	sleep_ms(200);
	before = lab_count_fds();
	fd = lab_nb_connect(first, NULL);
	if (fd < 0) {
		printf("result fail connect-%s\n", lab_errname(errno));
		return 1;
	}
	sleep_ms(20);
	if (how == UNSPEC) {
		struct sockaddr sa = { .sa_family = AF_UNSPEC };

		rc = connect(fd, &sa, sizeof(sa));
		printf("unspec %s\n", rc == 0 ? "0" : lab_errname(errno));
	} else {
		rc = shutdown(fd, how);
		printf("shutdown %s\n", rc == 0 ? "0" : lab_errname(errno));
	}
	printf("after poll %s\n", poll_str(fd, 1000, buf, sizeof(buf)));
	printf("after so_error %s\n", lab_errname(so_error(fd)));
	printf("after send %s\n", io_str(send(fd, "x", 1, MSG_NOSIGNAL), out, sizeof(out)));
	printf("after recv %s\n", io_str(recv(fd, buf, sizeof(buf), 0), out, sizeof(out)));
	sleep_ms(1500);
	printf("later poll %s\n", poll_str(fd, 0, buf, sizeof(buf)));
	printf("later so_error %s\n", lab_errname(so_error(fd)));
	printf("later peer %s\n", peer_str(fd, buf, sizeof(buf)));
	close(fd);
	sleep_ms(300);
	printf("fds left %d\n", lab_count_fds() - before);
	return 0;
}

static int forked(const struct addrinfo *first)
{
	struct pollfd p = { .events = POLLOUT };
	char peer[64];
	pid_t pid;
	int fd = lab_nb_connect(first, NULL), st, so;

	if (fd < 0) {
		printf("result fail connect-%s\n", lab_errname(errno));
		return 1;
	}
	sleep_ms(20);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("result fail fork-%s\n", lab_errname(errno));
		return 1;
	}
	if (pid == 0) {
		printf("child file %s\n", file_kind(fd));
		p.fd = fd;
		if (poll(&p, 1, 3000) != 1) {
			printf("child outcome pending\n");
		} else if ((so = so_error(fd)) != 0) {
			printf("child outcome error %s\n", lab_errname(so));
		} else {
			peer_str(fd, peer, sizeof(peer));
			printf("child outcome connected %s\n", peer);
		}
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	result(fd, 3000);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct addrinfo hints, *res = NULL;
	const char *mode = argc > 1 ? argv[1] : "", *host, *port;
	int how = -1, rc;

	t0 = lab_now_ms();
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(mode, "shutdown") == 0) {
		how = strcmp(argv[2], "rd") == 0 ? SHUT_RD :
		      strcmp(argv[2], "wr") == 0 ? SHUT_WR :
		      strcmp(argv[2], "rdwr") == 0 ? SHUT_RDWR :
		      strcmp(argv[2], "unspec") == 0 ? UNSPEC : -1;
		host = argv[3];
		port = argv[4];
	} else if (argc == 4 && (strcmp(mode, "answers") == 0 || strcmp(mode, "fork") == 0)) {
		host = argv[2];
		port = argv[3];
	} else {
		goto usage;
	}
	if (strcmp(mode, "shutdown") == 0 && how < 0)
		goto usage;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
		printf("result fail resolve\n");
		return 1;
	}
	if (strcmp(mode, "answers") == 0)
		rc = answers(res);
	else if (strcmp(mode, "shutdown") == 0)
		rc = shut(res, how);
	else
		rc = forked(res);
	freeaddrinfo(res);
	return rc;

usage:
	fprintf(stderr, "usage: se-pending answers|fork HOST PORT | "
		"se-pending shutdown rd|wr|rdwr|unspec HOST PORT\n");
	return 2;
}
