/* The lab's server: listens on [::]:PORT (IPv4 too), answers an HTTP GET
 * with a short page and echoes anything else. Exits after SECONDS.
 * MODE banner: speaks first ("220 softerr\r\n") and closes at once (FIN);
 * banner-reset: the same, then a reset instead of a FIN.
 *
 * A thread per connection and the kernel's largest backlog: the soak
 * (bench/soak.sh) connects thousands of times a second, and a server that
 * forked per connection behind a backlog of 512 dropped SYNs at that pace
 * (TcpExtListenOverflows), which made the clients' figures the server's.
 * A connection idle for 30 s is closed.
 *
 *   se-server PORT SECONDS [banner|banner-reset] */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char banner[] = "220 softerr\r\n";
static int mode;		/* 0 serve, 1 banner, 2 banner-reset */

enum { ACCEPTORS = 4 };

/* Speaks first and is gone: a FIN, or a reset when reset. */
static void speak_and_close(int c, int reset)
{
	struct linger lg = { 1, 0 };

	if (write(c, banner, sizeof(banner) - 1) >= 0 && reset)
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
}

static void serve(int c)
{
	static const char page[] =
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
		"Content-Length: 14\r\nConnection: close\r\n\r\nhello softerr\n";
	struct timeval idle = { 30, 0 };
	char buf[4096];
	ssize_t n;
	int first = 1;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle));
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		if (first && n >= 4 && memcmp(buf, "GET ", 4) == 0) {
			if (write(c, page, sizeof(page) - 1) < 0)
				break;
			shutdown(c, SHUT_WR);
			while (read(c, buf, sizeof(buf)) > 0)
				;
			break;
		}
		first = 0;
		if (write(c, buf, (size_t)n) != n)
			break;
	}
	close(c);
}

static void *conn_main(void *arg)
{
	int c = (int)(intptr_t)arg;

	if (mode)
		speak_and_close(c, mode == 2);
	else
		serve(c);
	return NULL;
}

/* Accepts and hands each connection to a thread of its own. */
static void *acceptor(void *arg)
{
	pthread_attr_t attr;
	int fd = (int)(intptr_t)arg;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		pthread_t t;
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				usleep(10000);	/* a connection ends soon */
				continue;
			}
			perror("se-server: accept");
			exit(1);
		}
		if (pthread_create(&t, &attr, conn_main, (void *)(intptr_t)c)) {
			close(c);	/* the client sees a FIN: counted, not hidden */
			usleep(1000);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	struct rlimit rl;
	int fd, off = 0, on = 1;

	if (argc == 4 && strcmp(argv[3], "banner") == 0)
		mode = 1;
	else if (argc == 4 && strcmp(argv[3], "banner-reset") == 0)
		mode = 2;
	else if (argc != 3) {
		fprintf(stderr, "usage: se-server PORT SECONDS [banner|banner-reset]\n");
		return 2;
	}
	sa.sin6_port = htons((uint16_t)atoi(argv[1]));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;	/* a connection a descriptor */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 65535) < 0) {	/* capped at net.core.somaxconn */
		perror("se-server");
		return 1;
	}
	alarm((unsigned)atoi(argv[2]));	/* SIGALRM's default: the end */
	/* Acceptors enough to keep up on a loaded machine: a thread blocked
	 * in accept() costs nothing. */
	for (int i = 1; i < ACCEPTORS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, acceptor, (void *)(intptr_t)fd))
			break;
	}
	acceptor((void *)(intptr_t)fd);
	return 1;
}
