/* Many threads connecting at once through the library's failover, with a
 * fork() in the middle whose child connects too.
 *
 *   se-threads [--nonblocking] NAME PORT THREADS CONNECTS
 *
 * Each connect walks NAME's addresses in order, blocking (or non-blocking,
 * waiting in poll() and reading SO_ERROR); every one must end connected
 * (NAME's first address is dead, the second alive). Prints "threads ok N"
 * with the number of connects, and "descriptors left K". Exit 0 when all
 * connected and nothing leaked. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labutil.h"

static const char *name, *port;
static int connects, nonblocking;
static struct addrinfo *early;	/* resolved before fork(), for the child */
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Walks the addresses of res in order until one connects. */
static int walk(const struct addrinfo *res)
{
	const struct addrinfo *ai;
	int fd, rc = -1;

	for (ai = res; ai && rc < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int err = -1;
			socklen_t len = sizeof(err);

			if (poll(&p, 1, 5000) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
				rc = 0;
		}
		close(fd);
	}
	return rc;
}

static int one_connect(void)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, port, &hints, &res) != 0)
		return -1;
	rc = walk(res);
	freeaddrinfo(res);
	return rc;
}

static void *worker(void *arg)
{
	int i, bad = 0;

	(void)arg;
	for (i = 0; i < connects; i++)
		if (one_connect() < 0)
			bad++;
	pthread_mutex_lock(&lock);
	failures += bad;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int n, i, before, status = 0;
	pid_t child;

	if (argc > 1 && strcmp(argv[1], "--nonblocking") == 0) {
		nonblocking = 1;
		argv++;
		argc--;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: se-threads [--nonblocking] NAME PORT THREADS CONNECTS\n");
		return 2;
	}
	name = argv[1];
	port = argv[2];
	n = atoi(argv[3]);
	connects = atoi(argv[4]);
	t = calloc((size_t)n, sizeof(*t));
	/* A library may keep descriptors of its own for the whole process
	 * (softerr's watcher: an epoll and an eventfd); one connect first
	 * lets them appear before counting. */
	if (one_connect() < 0)
		failures++;
	{
		struct addrinfo hints;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(name, port, &hints, &early) != 0)
			return 1;
	}
	before = lab_count_fds();
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	/* fork() while the others are inside connect(): the child must not
	 * inherit a held lock. */
	usleep(20000);
	child = fork();
	if (child == 0) {
		int k, bad = 0;

		/* Only what is safe after fork() in a threaded program: no
		 * getaddrinfo() (glibc's own locks may be held by a thread that
		 * is not here); the addresses resolved before. */
		for (k = 0; k < connects; k++)
			if (walk(early) < 0)
				bad++;
		_exit(bad ? 1 : 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (child < 0 || waitpid(child, &status, 0) != child)
		status = 1;
	printf("threads %s %d, child %s\n", failures ? "failed" : "ok", n * connects,
	       status == 0 ? "ok" : "failed");
	printf("descriptors left %d\n", lab_count_fds() - before);
	freeaddrinfo(early);
	free(t);
	return failures || status || lab_count_fds() != before;
}
