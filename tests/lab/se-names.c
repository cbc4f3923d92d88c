/* A client that resolves several names sharing addresses, then connects
 * to one of them with the classic loop over its addresses, and tells
 * whether it ended on an address of the name it asked for.
 *
 *   se-names [--nb] [--copy] [--hostent] [--threads] [--rounds N]
 *            -t TARGET PORT NAME...
 *
 * Resolves every NAME (TARGET among them, or it is resolved last) in the
 * order given, each in a thread of its own with --threads (the connects
 * then run in the main thread, another than the lookup's), with
 * getaddrinfo() or, with --hostent, gethostbyname2(AF_INET). Then tries
 * TARGET's addresses in order, one connect() each: blocking, or
 * non-blocking and waited for with poll() (--nb). The sockaddr given to
 * connect() is the answer's own ai_addr unless --copy (or --hostent) copies
 * it first. Prints per attempt "attempt ADDRESS ok|ERRNO" and then
 * "result ok PEER" or "result fail ERRNO", and "wrong peer PEER" when the
 * connected peer is not one of TARGET's addresses. --rounds repeats the
 * whole (the lookups included). Exit status: 0 connected to TARGET's
 * address in every round, 1 a round failed to connect, 3 a wrong peer,
 * 2 bad usage. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "labutil.h"

#define NAMES_MAX 8
#define ADDRS_MAX 16

static const char *port;

struct lookup {
	const char *name;
	bool hostent;
	struct addrinfo *res;		/* getaddrinfo() */
	struct sockaddr_in sin[ADDRS_MAX];	/* gethostbyname2() */
	size_t n;
};

static struct lookup lk[NAMES_MAX];
static size_t n_names;

static void *resolve(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };

	if (l->hostent) {
		struct hostent *h = gethostbyname2(l->name, AF_INET);
		char **p;

		for (p = h ? h->h_addr_list : NULL; p && *p && l->n < ADDRS_MAX; p++) {
			l->sin[l->n].sin_family = AF_INET;
			l->sin[l->n].sin_port = htons((uint16_t)atoi(port));
			memcpy(&l->sin[l->n++].sin_addr, *p, 4);
		}
	} else if (getaddrinfo(l->name, port, &hints, &l->res) != 0) {
		l->res = NULL;
	}
	return NULL;
}

static bool same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	char x[64], y[64];

	return strcmp(lab_addr_str(a, x, sizeof(x)), lab_addr_str(b, y, sizeof(y))) == 0;
}

/* One connect() to sa; 0 with the peer in *peer, or the errno. */
static int attempt(const struct sockaddr *sa, socklen_t len, bool nb,
		   struct sockaddr_storage *peer)
{
	socklen_t plen = sizeof(*peer);
	int fd, err = 0;

	fd = socket(sa->sa_family, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return errno;
	if (connect(fd, sa, len) < 0) {
		err = errno;
		if (nb && err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t elen = sizeof(err);

			err = ETIMEDOUT;
			if (poll(&p, 1, 10000) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
				err = errno;
		}
	}
	if (!err && getpeername(fd, (struct sockaddr *)peer, &plen) < 0)
		err = errno;
	close(fd);
	return err;
}

static int one_round(const char *target, bool nb, bool copy, bool hostent,
		     bool threads)
{
	struct sockaddr_storage peer;
	pthread_t th[NAMES_MAX];
	struct lookup *t = NULL;
	char buf[64];
	size_t i, j;
	int rc = 1;

	for (i = 0; i < n_names; i++) {
		lk[i].hostent = hostent;
		lk[i].res = NULL;
		lk[i].n = 0;
		if (strcmp(lk[i].name, target) == 0)
			t = &lk[i];
		if (!threads)
			resolve(&lk[i]);
		else if (pthread_create(&th[i], NULL, resolve, &lk[i]) != 0)
			return 2;
	}
	for (i = 0; threads && i < n_names; i++)
		pthread_join(th[i], NULL);

	/* TARGET's addresses, in the resolver's order. */
	const struct sockaddr *sa[ADDRS_MAX];
	socklen_t sl[ADDRS_MAX];
	size_t n = 0;

	if (t->hostent) {
		for (i = 0; i < t->n; i++) {
			sa[n] = (struct sockaddr *)&t->sin[i];
			sl[n++] = sizeof(t->sin[i]);
		}
	} else {
		for (struct addrinfo *ai = t->res; ai && n < ADDRS_MAX; ai = ai->ai_next) {
			sa[n] = ai->ai_addr;
			sl[n++] = ai->ai_addrlen;
		}
	}
	for (i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		const struct sockaddr *to = sa[i];
		int err;

		if (copy || t->hostent) {
			memcpy(&ss, sa[i], sl[i]);
			to = (struct sockaddr *)&ss;
		}
		err = attempt(to, sl[i], nb, &peer);
		printf("attempt %s %s\n", lab_addr_str(sa[i], buf, sizeof(buf)),
		       err ? lab_errname(err) : "ok");
		if (err)
			continue;
		rc = 3;
		for (j = 0; j < n; j++)
			if (same_host((struct sockaddr *)&peer, sa[j]))
				rc = 0;
		printf("%s %s\n", rc ? "wrong peer" : "result ok",
		       lab_addr_str((struct sockaddr *)&peer, buf, sizeof(buf)));
		break;
	}
	if (rc == 1)
		printf("result fail\n");
	for (i = 0; i < n_names; i++)
		if (lk[i].res)
			freeaddrinfo(lk[i].res);
	return rc;
}

int main(int argc, char **argv)
{
	bool nb = false, copy = false, hostent = false, threads = false;
	const char *target = NULL;
	int rounds = 1, i, rc = 0, r;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--nb") == 0)
			nb = true;
		else if (strcmp(argv[i], "--copy") == 0)
			copy = true;
		else if (strcmp(argv[i], "--hostent") == 0)
			hostent = true;
		else if (strcmp(argv[i], "--threads") == 0)
			threads = true;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			target = argv[++i];
		else
			break;
	}
	if (!target || i >= argc || argc - i - 1 > NAMES_MAX - 1) {
		fprintf(stderr, "usage: se-names [--nb] [--copy] [--hostent] [--threads] "
			"[--rounds N] -t TARGET PORT NAME...\n");
		return 2;
	}
	port = argv[i++];
	for (; i < argc; i++)
		lk[n_names++].name = argv[i];
	for (i = 0; i < (int)n_names && strcmp(lk[i].name, target) != 0; i++)
		;
	if (i == (int)n_names)
		lk[n_names++].name = target;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < rounds; i++) {
		r = one_round(target, nb, copy, hostent, threads);
		if (r > rc)
			rc = r;
	}
	return rc;
}
