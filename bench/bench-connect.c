/* Micro-benchmarks of the healthy path, run bare and preloaded by run.sh.
 *
 *   bench-connect serve PORT              accept and close (any address)
 *   bench-connect connect N ADDR PORT     N x (socket, connect, close)
 *   bench-connect nbconnect N ADDR PORT   the same non-blocking: connect,
 *                                         poll() for POLLOUT, SO_ERROR
 *   bench-connect nbstart N ADDR PORT     non-blocking connect, left
 *                                         pending, and close (an address
 *                                         that does not answer at once)
 *   bench-connect gai N NAME              N x (getaddrinfo, freeaddrinfo)
 *   bench-connect socket N                N x (a TCP socket, close)
 *   bench-connect syscall N               N x getpid() through syscall():
 *                                         what one system call costs on
 *                                         this machine (the library's cost
 *                                         is mostly system calls)
 *   bench-connect http PORT               an HTTP/1.0 server: every request
 *                                         gets an empty 200 answer
 *
 * Prints the mean nanoseconds per operation. connect closes with SO_LINGER
 * 0 (an RST) so that 100,000 connects leave no TIME_WAIT behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A listening socket on every address's port, or -1 (said, as what); the
 * process ends 15 minutes later (alarm()). */
static int listener(int port, const char *what)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;

	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		perror(what);
		return -1;
	}
	alarm(900);
	return fd;
}

static int serve(int port)
{
	int fd = listener(port, "bench-connect serve");

	if (fd < 0)
		return 1;
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

/* For curl: one read of the request (a client that sends nothing more
 * within a second is given up on), an empty answer, close. */
static int serve_http(int port)
{
	static const char answer[] = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct timeval tv = { 1, 0 };
	int fd = listener(port, "bench-connect http");
	char buf[4096];

	if (fd < 0)
		return 1;
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (recv(c, buf, sizeof(buf), 0) > 0)
			send(c, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
		close(c);
	}
}

static int bench_socket(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0) {
			perror("bench-connect socket");
			return 1;
		}
		close(fd);
	}
	printf("%.0f\n", (now_ns() - t0) / (double)n);
	return 0;
}

static int bench_syscall(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++)
		syscall(SYS_getpid);
	printf("%.0f\n", (now_ns() - t0) / (double)n);
	return 0;
}

/* connect() on a non-blocking socket, as an event loop does it: wait for
 * writability, then read the outcome. */
static int nb_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t elen = sizeof(err);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS || poll(&p, 1, 5000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -1;
	errno = err;
	return err ? -1 : 0;
}

/* 0: blocking connect(); 1: non-blocking, waited for; 2: non-blocking,
 * closed while pending. */
static int bench_connect(long n, const char *addr, int port, int nonblocking)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct linger lg = { 1, 0 };
	double t0;
	long i;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 2;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);

		if (nonblocking == 2) {
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
			    errno != EINPROGRESS) {
				fprintf(stderr, "bench-connect: %s:%d answered at once\n", addr, port);
				return 1;
			}
			close(fd);
			continue;
		}
		if (fd < 0 ||
		    (nonblocking ? nb_connect(fd, (struct sockaddr *)&sa, sizeof(sa))
				 : connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0) {
			perror("bench-connect connect");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	printf("%.0f\n", (now_ns() - t0) / (double)n);
	return 0;
}

static int bench_gai(long n, const char *name)
{
	struct addrinfo hints, *res;
	double t0;
	long i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (getaddrinfo(name, "80", &hints, &res) != 0) {
			fprintf(stderr, "bench-connect: cannot resolve %s\n", name);
			return 1;
		}
		freeaddrinfo(res);
	}
	printf("%.0f\n", (now_ns() - t0) / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "connect") == 0)
		return bench_connect(atol(argv[2]), argv[3], atoi(argv[4]), 0);
	if (argc == 5 && strcmp(argv[1], "nbconnect") == 0)
		return bench_connect(atol(argv[2]), argv[3], atoi(argv[4]), 1);
	if (argc == 5 && strcmp(argv[1], "nbstart") == 0)
		return bench_connect(atol(argv[2]), argv[3], atoi(argv[4]), 2);
	if (argc == 4 && strcmp(argv[1], "gai") == 0)
		return bench_gai(atol(argv[2]), argv[3]);
	if (argc == 3 && strcmp(argv[1], "socket") == 0)
		return bench_socket(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "syscall") == 0)
		return bench_syscall(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "http") == 0)
		return serve_http(atoi(argv[2]));
	fprintf(stderr, "usage: bench-connect serve PORT | http PORT | {connect|nbconnect|nbstart} N ADDR PORT\n"
		"       | gai N NAME | socket N | syscall N\n");
	return 2;
}
