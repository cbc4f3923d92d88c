/* Many pending non-blocking connects at once: the memory each costs, and
 * how fast one more, whose first address draws an ICMP soft error, is
 * answered while they wait (with softerr: connected to SOFT's next
 * address; without: the error seen).
 *
 *   bench-pending N HOLE SOFT PORT
 *
 * Resolves HOLE (a name whose first address never answers) and SOFT (a
 * name whose first address draws an ICMP soft error), starts N
 * non-blocking connects to HOLE's first address and leaves them pending,
 * then one to SOFT's first address and waits in poll() for its error.
 * Prints
 *   rss_kb_before K
 *   rss_kb_after K
 *   bytes_per_pending B
 *   answered_ms T ERRNO-or-none
 * Exit status 0, or 1 when something could not be set up. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static struct addrinfo *resolve(const char *name, const char *port)
{
	struct addrinfo hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, port, &hints, &res) != 0)
		return NULL;
	return res;
}

static int start(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct addrinfo *hole, *soft;
	struct rlimit rl;
	struct pollfd p;
	long n, i, before, after;
	int *fds, fd, err = 0;
	socklen_t len = sizeof(err);
	double t0, t;

	if (argc != 5 || (n = atol(argv[1])) < 0) {
		fprintf(stderr, "usage: bench-pending N HOLE SOFT PORT\n");
		return 2;
	}
	/* Room for softerr's two descriptors per pending connect, and for
	 * its limit on them (an eighth of the descriptor limit). */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("getrlimit");
		return 1;
	}
	/* As much as the hard limit allows (raising it needs a privilege a
	 * container may lack): past an eighth of it, the visible mode. */
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)n * 8 + 256)
		rl.rlim_max = (rlim_t)n * 8 + 256;
	if (rl.rlim_max < (rlim_t)n + 256)
		rl.rlim_max = (rlim_t)n + 256;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("setrlimit");
		return 1;
	}
	hole = resolve(argv[2], argv[4]);
	soft = resolve(argv[3], argv[4]);
	fds = calloc((size_t)n + 1, sizeof(*fds));
	if (!hole || !soft || !fds) {
		fprintf(stderr, "bench-pending: cannot resolve or allocate\n");
		return 1;
	}
	before = rss_kb();
	for (i = 0; i < n; i++)
		if ((fds[i] = start(hole)) < 0) {
			perror("connect");
			return 1;
		}
	/* Let the library's watcher take them all in. */
	usleep(200000);
	after = rss_kb();
	t0 = now_ms();
	fd = start(soft);
	if (fd < 0) {
		perror("connect");
		return 1;
	}
	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	if (poll(&p, 1, 10000) != 1) {
		fprintf(stderr, "bench-pending: no answer within 10 s\n");
		return 1;
	}
	t = now_ms() - t0;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("rss_kb_before %ld\nrss_kb_after %ld\nbytes_per_pending %ld\n"
	       "answered_ms %.2f %s\n", before, after,
	       n ? (after - before) * 1024 / n : 0, t, err ? strerror(err) : "none");
	close(fd);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	freeaddrinfo(hole);
	freeaddrinfo(soft);
	return 0;
}
