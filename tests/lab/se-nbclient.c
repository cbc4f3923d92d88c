/* A test client with non-blocking connects, waiting as event loops do.
 *
 *   se-nbclient [-4|-6] [--first] [--timeout MS] [--early] [--before]
 *               [--high N] --wait MODE HOST PORT
 *
 * MODE: poll, ppoll, select, pselect, epoll (level-triggered), epoll-et,
 * epoll-oneshot. For each address in the resolver's order (only the first
 * with --first): a non-blocking socket, connect() (EINPROGRESS), a wait of
 * at most MS (default 3000) for writability, SO_ERROR, then a second
 * connect() as some programs check with (with --early, one more right
 * after the first, printed as "early ERRNO-NAME"). With --before, the epoll
 * modes register the socket before connect(), as some event loops do.
 * With --high, its descriptors are numbered N and above. One
 * line per attempt:
 *   attempt ADDRESS ok|ERRNO-NAME|timeout MILLISECONDS again ERRNO-NAME|0
 * and a last line: result ok PEER MS READ, or result fail ERRNO-NAME MS,
 * where PEER is what getpeername() says and READ what the server echoed
 * ("echoed": the connection works). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "labutil.h"

static int before;	/* --before */
static int high;	/* --high */

/* An epoll instance with fd registered for writability as mode says. */
static int epoll_for(int fd, const char *mode)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = 0x5eed };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (strcmp(mode, "epoll-et") == 0)
		ev.events |= EPOLLET;
	else if (strcmp(mode, "epoll-oneshot") == 0)
		ev.events |= EPOLLONESHOT;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ep;
}

/* Waits for fd to be writable (or in error); 1 when it is, 0 on timeout.
 * ep: an epoll instance fd is registered in already, or -1. */
static int wait_for(int fd, const char *mode, int ms, int ep)
{
	if (strcmp(mode, "poll") == 0 || strcmp(mode, "ppoll") == 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		if (mode[0] == 'p' && mode[1] == 'p')
			return ppoll(&p, 1, &ts, NULL) > 0;
		return poll(&p, 1, ms) > 0;
	}
	if (strcmp(mode, "select") == 0 || strcmp(mode, "pselect") == 0) {
		fd_set w;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		FD_ZERO(&w);
		FD_SET(fd, &w);
		if (mode[0] == 'p')
			return pselect(fd + 1, NULL, &w, NULL, &ts, NULL) > 0;
		return select(fd + 1, NULL, &w, NULL, &tv) > 0;
	}
	if (strncmp(mode, "epoll", 5) == 0) {
		struct epoll_event ev;
		int n;

		if (ep < 0)
			ep = epoll_for(fd, mode);
		n = epoll_wait(ep, &ev, 1, ms);
		close(ep);
		return n == 1 && ev.data.u64 == 0x5eed;
	}
	fprintf(stderr, "se-nbclient: unknown wait mode %s\n", mode);
	exit(2);
}

int main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	const char *mode = NULL;
	int family = AF_UNSPEC, first = 0, timeout = 3000, i, err = 0, early = 0;
	double t0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-4") == 0)
			family = AF_INET;
		else if (strcmp(argv[i], "-6") == 0)
			family = AF_INET6;
		else if (strcmp(argv[i], "--first") == 0)
			first = 1;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (strcmp(argv[i], "--early") == 0)
			early = 1;
		else if (strcmp(argv[i], "--before") == 0)
			before = 1;
		else if (strcmp(argv[i], "--high") == 0 && i + 1 < argc)
			high = atoi(argv[++i]);
		else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
			mode = argv[++i];
		else
			break;
	}
	if (argc - i != 2 || !mode) {
		fprintf(stderr, "usage: se-nbclient [-4|-6] [--first] [--timeout MS] "
			"[--early] [--before] [--high N] --wait MODE HOST PORT\n");
		return 2;
	}
	if (high && lab_numbers_from(high) < 0) {
		printf("result fail high\n");
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = lab_now_ms();
	if (getaddrinfo(argv[i], argv[i + 1], &hints, &res) != 0) {
		printf("result fail resolve\n");
		return 1;
	}
	for (ai = res; ai; ai = first ? NULL : ai->ai_next) {
		char addr[INET6_ADDRSTRLEN];
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int so = -1, again_rc, again_err, ep = -1;
		socklen_t len = sizeof(so);

		inet_ntop(ai->ai_family, ai->ai_family == AF_INET ?
			  (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			  (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			  addr, sizeof(addr));
		if (before && strncmp(mode, "epoll", 5) == 0)
			ep = epoll_for(fd, mode);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			printf("attempt %s %s %.1f immediately\n", addr, lab_errname(err), lab_now_ms() - t0);
			close(fd);
			continue;
		}
		if (early) {
			int e = connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? errno : 0;

			printf("early %s\n", lab_errname(e));
		}
		if (!wait_for(fd, mode, timeout, ep)) {
			err = ETIMEDOUT;
			printf("attempt %s timeout %.1f\n", addr, lab_now_ms() - t0);
			close(fd);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
		again_rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		again_err = again_rc < 0 ? errno : 0;
		printf("attempt %s %s %.1f again %s\n", addr, so ? lab_errname(so) : "ok",
		       lab_now_ms() - t0, lab_errname(again_err));
		if (so == 0) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			struct pollfd p = { .fd = fd, .events = POLLIN };
			char got[32] = "nothing";
			ssize_t n;

			if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
				lab_addr_str((struct sockaddr *)&peer, addr, sizeof(addr));
			else
				snprintf(addr, sizeof(addr), "%s", lab_errname(errno));
			if (write(fd, "echoed\n", 7) == 7 && poll(&p, 1, 2000) == 1 &&
			    (n = read(fd, got, sizeof(got) - 1)) > 0) {
				got[n] = '\0';
				got[strcspn(got, " \r\n")] = '\0';
			}
			printf("result ok %s %.1f read %s\n", addr, lab_now_ms() - t0, got);
			close(fd);
			freeaddrinfo(res);
			return 0;
		}
		err = so;
		close(fd);
	}
	freeaddrinfo(res);
	printf("result fail %s %.1f\n", lab_errname(err), lab_now_ms() - t0);
	return 1;
}
