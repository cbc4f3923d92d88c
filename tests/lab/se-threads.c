/* Many threads connecting at once through the library's failover, with a
 * fork() in the middle whose child connects too.
 *
 *   se-threads [--nonblocking] [--signals] NAMES PORT THREADS CONNECTS
 *
 * NAMES is one name or several, comma-separated: thread i connects to the
 * (i mod n)th, the child to the first (built with AddressSanitizer, no
 * child: see FORK_CHILD). Each connect walks the name's
 * addresses in order, blocking (or non-blocking, waiting in poll() and
 * reading SO_ERROR); every one must end connected (the names' last address
 * is alive). Prints "threads ok N" with the number of connects, and
 * "descriptors left K". Exit 0 when all connected and nothing leaked.
 *
 * --signals: another thread sends the workers SIGUSR1 all along, whose
 * handler closes the socket the worker is connecting (dup2() of /dev/null
 * over it: the socket is closed, and its number stays taken until the
 * worker closes it, so no other thread's socket can land on a number the
 * worker still uses). A connect so cut is made again, without signals
 * cutting it, and not counted; prints "closed by a signal handler K". */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "labutil.h"

#define MAX_NAMES 8

/* GCC 12's AddressSanitizer takes no lock around fork() (later ones do):
 * a child forked while other threads allocate may inherit a lock of its
 * allocator's held by a thread the child does not have, and hang in its
 * first malloc() or free() of that size, the program's or a library's.
 * CI's AddressSanitizer pass hung so in the child of this soak (gdb: the
 * library's loop thread waiting on the allocator's region mutex). Built
 * with it, the soak forks no child and says "child none"; the plain and
 * ThreadSanitizer builds, whose fork() is safe, run the child. */
#ifdef __SANITIZE_ADDRESS__
#define FORK_CHILD 0
#else
#define FORK_CHILD 1
#endif

static char *names[MAX_NAMES];
static int n_names;
static const char *port;
static int connects, nonblocking;
static struct addrinfo *early;	/* resolved before fork(), for the child */
static int failures, cut_total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* --signals: the socket this thread is connecting, for the handler. */
static int null_fd = -1;
static int all_done, finished;	/* atomic */
static __thread volatile sig_atomic_t current = -1;
static __thread volatile sig_atomic_t armed;	/* this connect may be cut */
static __thread volatile sig_atomic_t cut;

static void on_usr1(int sig)
{
	int fd = current, saved = errno;

	(void)sig;
	if (fd >= 0 && armed) {
		armed = 0;
		current = -1;
		dup2(null_fd, fd);
		cut++;
	}
	errno = saved;
}

/* SIGUSR1 blocked (how = SIG_BLOCK) or not, around what the handler must
 * not see half done. */
static void usr1(int how)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(how, &s, NULL);
}

/* Waits for fd to connect (5 s at most), through signals, peeking at
 * SO_ERROR every millisecond as some clients do. */
static int wait_connected(int fd, int *why)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = -1, n, ms = 0;
	socklen_t len = sizeof(err);

	do {
		n = poll(&p, 1, 1);
		if (n == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
			*why = err;
			return -1;
		}
	} while ((n == 0 || (n < 0 && errno == EINTR)) && current == fd && ++ms < 5000);
	len = sizeof(err);
	if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
		return 0;
	*why = n == 0 ? ETIMEDOUT : err > 0 ? err : errno;
	return -1;
}

/* Walks the addresses of res in order until one connects. Returns 0, -1,
 * or 1 when a signal handler closed the socket. On -1, *err is the last
 * address's error. */
static int walk(const struct addrinfo *res, int *err)
{
	const struct addrinfo *ai;
	int fd, rc = -1, was_cut;

	for (ai = res; ai && rc < 0; ai = ai->ai_next) {
		usr1(SIG_BLOCK);
		fd = socket(ai->ai_family, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
		current = fd;
		usr1(SIG_UNBLOCK);
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		/* A blocking connect() that a signal interrupted goes on in
		 * the kernel (EINTR; EALREADY when SA_RESTART made it again). */
		*err = errno;
		if (rc < 0 && (errno == EINPROGRESS || errno == EINTR || errno == EALREADY))
			rc = wait_connected(fd, err);
		usr1(SIG_BLOCK);
		was_cut = current != fd;
		current = -1;
		if (rc == 0 && !was_cut) {
			/* Closed with a reset: tens of thousands of connects
			 * would leave the client's ports all in TIME_WAIT. */
			struct linger lg = { 1, 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
		usr1(SIG_UNBLOCK);
		if (was_cut)
			return 1;
	}
	return rc;
}

/* Connects to name; a failure is said on stderr with the name, the last
 * address's error, how long the connect took and when it ended (the wall
 * clock in ms, to set it against the soak's route flaps). */
static int one_connect(const char *name)
{
	struct addrinfo hints, *res;
	int rc, err = 0, gai;
	double t0 = lab_now_ms();

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(name, port, &hints, &res)) != 0) {
		fprintf(stderr, "connect to %s failed: getaddrinfo: %s\n", name,
			gai_strerror(gai));
		return -1;
	}
	rc = walk(res, &err);
	freeaddrinfo(res);
	if (rc < 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		fprintf(stderr, "connect to %s failed: %s after %.0f ms, ended at %lld\n",
			name, strerror(err), lab_now_ms() - t0,
			(long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	}
	return rc;
}

static void *worker(void *arg)
{
	const char *name = names[(long)arg % n_names];
	int i, bad = 0, rc;

	for (i = 0; i < connects; i++) {
		/* A connect may be cut by the handler once; made again, it is
		 * not cut: each ends, however slow the machine. */
		armed = 1;
		rc = one_connect(name);
		armed = 0;
		if (rc == 1)
			rc = one_connect(name);
		if (rc != 0)
			bad++;
	}
	pthread_mutex_lock(&lock);
	failures += bad;
	cut_total += cut;
	pthread_mutex_unlock(&lock);
	__atomic_add_fetch(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* --signals: SIGUSR1 to a worker every 100 us, round robin, until they
 * are done. */
static pthread_t *workers;
static int n_workers;

static void *signaller(void *arg)
{
	struct timespec gap = { 0, 100000 };
	long k;

	(void)arg;
	for (k = 0; !__atomic_load_n(&all_done, __ATOMIC_RELAXED); k++) {
		pthread_kill(workers[k % n_workers], SIGUSR1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

/* "fd N TARGET" lines for every open descriptor, into buf. */
static void list_fds(char *buf, size_t size)
{
	char path[64], target[256];
	size_t at = 0;
	ssize_t len;

	buf[0] = '\0';
	for (int i = 0; i < 65536 && at < size; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		if ((len = readlink(path, target, sizeof(target) - 1)) > 0) {
			int w;

			target[len] = '\0';
			w = snprintf(buf + at, size - at, "fd %d %s\n", i, target);
			if (w > 0)
				at += (size_t)w;
		}
	}
}

static char start_list[16384];

int main(int argc, char **argv)
{
	pthread_t *t, sig_thread;
	int n, i, before, after, status = 0, signals = 0;
	char lib_why[320];
	bool lib_idle;
	char *tok, *save = NULL;
	pid_t child;

	for (; argc > 1 && strncmp(argv[1], "--", 2) == 0; argv++, argc--) {
		if (strcmp(argv[1], "--nonblocking") == 0)
			nonblocking = 1;
		else if (strcmp(argv[1], "--signals") == 0)
			signals = 1;
		else
			break;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: se-threads [--nonblocking] [--signals] NAMES PORT THREADS CONNECTS\n");
		return 2;
	}
	for (tok = strtok_r(argv[1], ",", &save); tok && n_names < MAX_NAMES;
	     tok = strtok_r(NULL, ",", &save))
		names[n_names++] = tok;
	port = argv[2];
	n = atoi(argv[3]);
	connects = atoi(argv[4]);
	if (n_names == 0 || n <= 0)
		return 2;
	t = calloc((size_t)n, sizeof(*t));
	if (signals) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	}
	/* A library may keep descriptors of its own while it works
	 * (softerr's loop: its epoll instances and wake-up pipe, until it has
	 * been idle 30 s). One connect to each name first opens what the
	 * program keeps; its numbers are counted apart from the library's
	 * (labutil.h), which must be no more than its loop's at the end. */
	for (i = 0; i < n_names; i++)
		if (one_connect(names[i]) != 0)
			failures++;
	{
		struct addrinfo hints;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(names[0], port, &hints, &early) != 0)
			return 1;
	}
	list_fds(start_list, sizeof(start_list));
	before = lab_count_program_fds();
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)i);
	workers = t;
	n_workers = n;
	if (signals)
		pthread_create(&sig_thread, NULL, signaller, NULL);
	/* fork() while the others are inside connect(): the child must not
	 * inherit a held lock. */
	usleep(20000);
	child = FORK_CHILD ? fork() : -2;
	if (child == 0) {
		int k, bad = 0, err;

		/* Only what is safe after fork() in a threaded program: no
		 * getaddrinfo() (glibc's own locks may be held by a thread that
		 * is not here); the addresses resolved before. */
		for (k = 0; k < connects; k++)
			if (walk(early, &err) != 0)
				bad++;
		_exit(bad ? 1 : 0);
	}
	if (signals) {
		/* No signal to a thread once joined (its pthread_t is gone):
		 * the signaller stops first. */
		while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < n)
			usleep(1000);
		__atomic_store_n(&all_done, 1, __ATOMIC_RELAXED);
		pthread_join(sig_thread, NULL);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (child != -2 && (child < 0 || waitpid(child, &status, 0) != child))
		status = 1;
	printf("threads %s %d, child %s\n", failures ? "failed" : "ok", n * connects,
	       child == -2 ? "none (AddressSanitizer)" : status == 0 ? "ok" : "failed");
	if (signals)
		printf("closed by a signal handler %d\n", cut_total);
	/* The thread may still be closing what the last connects used:
	 * a leak stays, that goes (at most 5 s). */
	for (i = 0; i < 100; i++) {
		after = lab_count_program_fds();
		lib_idle = lab_library_fds_idle(lib_why, sizeof(lib_why));
		if (after == before && lib_idle)
			break;
		usleep(50000);
	}
	printf("descriptors left %d\n", after - before);
	if (!lib_idle)
		printf("the library holds more than its loop: %s\n", lib_why);
	if (after != before || !lib_idle) {
		/* What was open and is, to tell whose it is. */
		static char end_list[16384];

		list_fds(end_list, sizeof(end_list));
		printf("at the start:\n%sat the end:\n%s", start_list, end_list);
	}
	freeaddrinfo(early);
	free(t);
	return failures || status || after != before || !lib_idle;
}
