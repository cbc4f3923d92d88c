/* A program in which a new thread never runs, as in the child of a threaded
 * program where a thread the child does not have held a lock across fork()
 * that every new thread takes (AddressSanitizer's allocator has such a
 * lock). softerr starts its loop's thread at the first connect() that
 * stays pending: the program must not be left waiting on it.
 *
 *   se-stuck HOST PORT
 *
 * The program's own pthread_create() (exported, so a preloaded library's
 * calls reach it) starts threads that sleep instead of running their
 * routine. A non-blocking connect() to HOST's first address (one farther
 * away than connect() takes to return, so that it is pending), waited for
 * with poll() up to 5 s, must connect and carry data, on the socket the
 * program made; then the process exits. Lines:
 *   result ok PEER MS | result fail WHAT MS
 * The exit status is 0 when it connected, 1 when not, 2 on a usage error. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labutil.h"

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Every thread started in this process sleeps from its first instruction
 * to the process's end (the routine it was asked to run never runs).
 * Exported despite -fvisibility=hidden. */
__attribute__((visibility("default")))
int pthread_create(pthread_t *t, const pthread_attr_t *attr,
		   void *(*routine)(void *), void *arg)
{
	int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
		dlsym(RTLD_NEXT, "pthread_create");

	(void)routine;
	(void)arg;
	if (!real)
		return EAGAIN;
	return real(t, attr, sleeper, NULL);
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	struct pollfd p = { .events = POLLOUT };
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer), elen;
	struct stat before, after;
	char addr[64], buf[16];
	int fd, err = 0, gai;
	double t0;

	if (argc != 3) {
		fprintf(stderr, "usage: se-stuck HOST PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = lab_now_ms();
	if ((gai = getaddrinfo(argv[1], argv[2], &hints, &res)) != 0) {
		printf("result fail resolve %s %.0f\n", gai_strerror(gai), lab_now_ms() - t0);
		return 1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || fstat(fd, &before) < 0) {
		printf("result fail socket %.0f\n", lab_now_ms() - t0);
		return 1;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		printf("result fail connect %s %.0f\n", lab_errname(errno), lab_now_ms() - t0);
		return 1;
	}
	p.fd = fd;
	elen = sizeof(err);
	if (poll(&p, 1, 5000) != 1) {
		printf("result fail waited-5s %.0f\n", lab_now_ms() - t0);
		return 1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		printf("result fail %s %.0f\n", lab_errname(err ? err : errno), lab_now_ms() - t0);
		return 1;
	}
	if (fstat(fd, &after) < 0 || after.st_ino != before.st_ino ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
		printf("result fail not-the-program's-socket %.0f\n", lab_now_ms() - t0);
		return 1;
	}
	fcntl(fd, F_SETFL, 0);
	if (write(fd, "stuck\n", 6) != 6 || read(fd, buf, sizeof(buf)) <= 0) {
		printf("result fail no-echo %.0f\n", lab_now_ms() - t0);
		return 1;
	}
	printf("result ok %s %.0f\n",
	       lab_addr_str((struct sockaddr *)&peer, addr, sizeof(addr)), lab_now_ms() - t0);
	close(fd);
	freeaddrinfo(res);
	return 0;
}
