/* Many threads connecting at once through the library's failover, with a
 * fork() in the middle whose child connects too.
 *
 *   se-threads NAME PORT THREADS CONNECTS
 *
 * Every connect() must succeed (NAME's first address is dead, the second
 * alive); prints "threads ok N" with the number of connects, and
 * "descriptors left K". Exit 0 when all connected and nothing leaked. */
#include <dirent.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name, *port;
static int connects;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int one_connect(void)
{
	struct addrinfo hints, *res;
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	rc = connect(fd, res->ai_addr, res->ai_addrlen);
	close(fd);
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

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int n, i, before, status = 0;
	pid_t child;

	if (argc != 5) {
		fprintf(stderr, "usage: se-threads NAME PORT THREADS CONNECTS\n");
		return 2;
	}
	name = argv[1];
	port = argv[2];
	n = atoi(argv[3]);
	connects = atoi(argv[4]);
	t = calloc((size_t)n, sizeof(*t));
	before = count_fds();
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	/* fork() while the others are inside connect(): the child must not
	 * inherit a held lock. */
	usleep(20000);
	child = fork();
	if (child == 0) {
		int k, bad = 0;

		for (k = 0; k < connects; k++)
			if (one_connect() < 0)
				bad++;
		_exit(bad ? 1 : 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (child < 0 || waitpid(child, &status, 0) != child)
		status = 1;
	printf("threads %s %d, child %s\n", failures ? "failed" : "ok", n * connects,
	       status == 0 ? "ok" : "failed");
	printf("descriptors left %d\n", count_fds() - before);
	free(t);
	return failures || status || count_fds() != before;
}
