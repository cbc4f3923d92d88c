/* What a program sees from connect() in cases the library must not change.
 * Run without and with libsofterr.so; the two outputs must be identical.
 *
 *   se-passthrough LIVE4 LIVE6 PORT NAME
 *
 * LIVE4/LIVE6: addresses with a listener on PORT; NAME: a name whose first
 * address is dead and second alive (the library fails over there). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "labutil.h"

static void show(const char *what, int fd, int rc, int err)
{
	int on = -1, fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	socklen_t len = sizeof(on);

	if (fd < 0 || getsockopt(fd, SOL_IP, IP_RECVERR, &on, &len) < 0)
		on = -1;
	printf("%-34s rc=%d errno=%s recverr=%d nonblock=%d\n", what, rc,
	       rc < 0 ? strerror(err) : (err == 4242 ? "kept" : strerror(err)),
	       on, fl >= 0 ? !!(fl & O_NONBLOCK) : -1);
}

static struct sockaddr_storage addr(const char *a, int port, socklen_t *len)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
	} else {
		inet_pton(AF_INET6, a, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
	}
	return ss;
}

#define TRY(what, fd, call)                                   \
	do {                                                  \
		int rc_, e_;                                  \
		errno = 4242;                                 \
		rc_ = (call);                                 \
		e_ = errno;                                   \
		show(what, fd, rc_, e_);                      \
	} while (0)

int main(int argc, char **argv)
{
	struct sockaddr_storage v4, v6;
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/nonexistent/softerr" };
	socklen_t l4, l6;
	int port, fd, on = 1, before, i, leaked;

	if (argc != 5) {
		fprintf(stderr, "usage: se-passthrough LIVE4 LIVE6 PORT NAME\n");
		return 2;
	}
	port = atoi(argv[3]);
	v4 = addr(argv[1], port, &l4);
	v6 = addr(argv[2], port, &l6);
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
	TRY("udp with its own IP_RECVERR", fd, connect(fd, (struct sockaddr *)&v4, l4));
	close(fd);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	TRY("unix stream", fd, connect(fd, (struct sockaddr *)&un, sizeof(un)));
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	TRY("tcp non-blocking", fd, connect(fd, (struct sockaddr *)&v4, l4));
	close(fd);

	fd = open("/dev/null", O_RDONLY);
	TRY("not a socket", fd, connect(fd, (struct sockaddr *)&v4, l4));
	close(fd);
	TRY("bad descriptor", -1, connect(-1, (struct sockaddr *)&v4, l4));

	fd = socket(AF_INET, SOCK_STREAM, 0);
	TRY("tcp short address", fd, connect(fd, (struct sockaddr *)&v4, 8));
	TRY("tcp null address", fd, connect(fd, NULL, 0));
	TRY("tcp ipv6 address on ipv4 socket", fd, connect(fd, (struct sockaddr *)&v6, l6));
	TRY("tcp blocking, healthy", fd, connect(fd, (struct sockaddr *)&v4, l4));
	TRY("tcp connect again", fd, connect(fd, (struct sockaddr *)&v4, l4));
	TRY("tcp connect a third time", fd, connect(fd, (struct sockaddr *)&v4, l4));
	close(fd);

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TRY("tcp6 blocking, healthy", fd, connect(fd, (struct sockaddr *)&v6, l6));
	printf("%-34s %d\n", "close-on-exec kept", !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
	TRY("tcp with its own IP_RECVERR", fd, connect(fd, (struct sockaddr *)&v4, l4));
	close(fd);

	/* Managed connects (with the library they fail over): no descriptor
	 * may be left behind. */
	before = lab_count_fds();
	for (i = 0; i < 300; i++) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;

		if (getaddrinfo(argv[4], argv[3], &hints, &res) != 0)
			break;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		connect(fd, res->ai_addr, res->ai_addrlen);
		close(fd);
		freeaddrinfo(res);
	}
	leaked = lab_count_fds() - before;
	printf("%-34s %d\n", "descriptors left after 300", leaked);
	return 0;
}
