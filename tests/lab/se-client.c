/* A test client with the classic blocking getaddrinfo() loop.
 *
 *   se-client [-4|-6] [--first] [--echo-after MS] HOST PORT
 *
 * Tries the addresses in the resolver's order (only the first with --first),
 * one blocking connect() each, and prints one line per attempt:
 *   attempt ADDRESS ok|ERRNO-NAME MILLISECONDS
 * and a last line:
 *   result ok ADDRESS MILLISECONDS   or   result fail ERRNO-NAME MILLISECONDS
 * (milliseconds since just before getaddrinfo(), to a tenth).
 * With --echo-after, once connected it sends a line, waits MS milliseconds,
 * sends another and prints "echo ok" if both come back. Exit status 0 when
 * connected (and echoed), 1 otherwise, 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *errname(int e)
{
	switch (e) {
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPROTO: return "EPROTO";
	case EINTR: return "EINTR";
	case EINPROGRESS: return "EINPROGRESS";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ECONNRESET: return "ECONNRESET";
	case EPIPE: return "EPIPE";
	case EAGAIN: return "EAGAIN";
	}
	return "EOTHER";
}

static int echo_line(int fd, const char *line)
{
	char buf[256];
	size_t want = strlen(line), got = 0;

	if (write(fd, line, want) != (ssize_t)want)
		return -1;
	while (got < want) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return memcmp(buf, line, want) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	int family = AF_UNSPEC, first = 0, echo_after = -1, i, rc, err = 0;
	double t0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-4") == 0)
			family = AF_INET;
		else if (strcmp(argv[i], "-6") == 0)
			family = AF_INET6;
		else if (strcmp(argv[i], "--first") == 0)
			first = 1;
		else if (strcmp(argv[i], "--echo-after") == 0 && i + 1 < argc)
			echo_after = atoi(argv[++i]);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: se-client [-4|-6] [--first] [--echo-after MS] HOST PORT\n");
		return 2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	t0 = now_ms();
	rc = getaddrinfo(argv[i], argv[i + 1], &hints, &res);
	if (rc != 0) {
		printf("result fail resolve %s\n", gai_strerror(rc));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (ai = res; ai; ai = first ? NULL : ai->ai_next) {
		char addr[INET6_ADDRSTRLEN];
		int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		const void *a = ai->ai_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		inet_ntop(ai->ai_family, a, addr, sizeof(addr));
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			char peer[INET6_ADDRSTRLEN] = "?";

			if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
				inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
					  (void *)&((struct sockaddr_in *)&ss)->sin_addr :
					  (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
					  peer, sizeof(peer));
			printf("attempt %s ok %.1f\n", addr, now_ms() - t0);
			printf("result ok %s %.1f\n", peer, now_ms() - t0);
			freeaddrinfo(res);
			if (echo_after >= 0) {
				struct timeval tv = { 15, 0 };

				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
				if (echo_line(fd, "one\n") < 0) {
					printf("echo fail %s\n", errname(errno));
					return 1;
				}
				usleep((useconds_t)echo_after * 1000);
				if (echo_line(fd, "two\n") < 0) {
					printf("echo fail %s\n", errname(errno));
					return 1;
				}
				printf("echo ok\n");
			}
			close(fd);
			return 0;
		}
		err = errno;
		printf("attempt %s %s %.1f\n", addr, errname(err), now_ms() - t0);
		close(fd);
	}
	freeaddrinfo(res);
	printf("result fail %s %.1f\n", errname(err), now_ms() - t0);
	return 1;
}
