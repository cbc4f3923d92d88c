/* The lab's server: listens on [::]:PORT (IPv4 too), answers an HTTP GET
 * with a short page and echoes anything else. Exits after SECONDS.
 * MODE banner: speaks first ("220 softerr\r\n") and closes at once (FIN);
 * banner-reset: the same, then a reset instead of a FIN.
 *
 *   se-server PORT SECONDS [banner|banner-reset] */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char banner[] = "220 softerr\r\n";

/* Speaks first and is gone: a FIN, or a reset when reset. */
static void speak_and_close(int c, int reset)
{
	struct linger lg = { 1, 0 };

	if (write(c, banner, sizeof(banner) - 1) < 0)
		_exit(1);
	if (reset)
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
	_exit(0);
}

static void serve(int c)
{
	static const char page[] =
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
		"Content-Length: 14\r\nConnection: close\r\n\r\nhello softerr\n";
	char buf[4096];
	ssize_t n;
	int first = 1;

	alarm(30);
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
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int fd, off = 0, on = 1, mode = 0;

	if (argc == 4 && strcmp(argv[3], "banner") == 0)
		mode = 1;
	else if (argc == 4 && strcmp(argv[3], "banner-reset") == 0)
		mode = 2;
	else if (argc != 3) {
		fprintf(stderr, "usage: se-server PORT SECONDS [banner|banner-reset]\n");
		return 2;
	}
	sa.sin6_port = htons((uint16_t)atoi(argv[1]));
	signal(SIGCHLD, SIG_IGN);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 512) < 0) {
		perror("se-server");
		return 1;
	}
	alarm((unsigned)atoi(argv[2]));
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("se-server: accept");
			return 1;
		}
		switch (fork()) {
		case 0:
			close(fd);
			if (mode)
				speak_and_close(c, mode == 2);
			serve(c);
			break;
		default:
			close(c);
		}
	}
}
