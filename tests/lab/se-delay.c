/* The lab's long link: copies IP packets between two TUN devices, each in
 * its own network namespace, after a fixed delay each way, so that a router
 * behind it is as far away as a router on the Internet (the lab's kernel
 * has no netem).
 *
 *   se-delay NETNS-A TUN-A NETNS-B TUN-B DELAY-MS SECONDS
 *
 * The TUN devices exist already (ip tuntap add ... mode tun), TUN-A in the
 * namespace named NETNS-A (/run/netns/NETNS-A), TUN-B in NETNS-B; the relay
 * attaches to both and then returns to the namespace it was started in (so
 * that `ip netns pids` of that namespace finds it). A packet read from one
 * device is written to the other DELAY-MS later. A packet that finds its
 * direction's queue full is dropped, as a router's would be. The relay ends
 * after SECONDS, after 1,000,000 packets, or when its parent dies (SIGTERM).
 * Exit status 0 when it ended so, 1 when it could not attach, 2 on bad usage. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define QUEUE		512		/* packets in flight each way */
#define SLOT		2048		/* bytes of one: the TUN's MTU is 1500 */
#define MAX_PACKETS	1000000L

struct packet {
	struct timespec due;
	size_t len;
	unsigned char data[SLOT];
};

/* One direction: a ring of packets in the order they were read, which is
 * also the order they are due in. */
struct queue {
	struct packet p[QUEUE];
	unsigned head, count;
};

static struct queue queues[2];		/* [0]: from A to B, [1]: from B to A */

static void add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* a - b in nanoseconds (the spans here are at most SECONDS long). */
static long long diff_ns(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec - b->tv_sec) * 1000000000LL + (a->tv_nsec - b->tv_nsec);
}

/* Enters the namespace named ns and attaches to its TUN device name.
 * Returns the device's descriptor (non-blocking), or -1 with a message. */
static int attach(const char *ns, const char *name)
{
	char path[PATH_MAX];
	struct ifreq ifr;
	int nsfd, fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "se-delay: namespace %s: %s\n", ns, strerror(errno));
		if (nsfd >= 0)
			close(nsfd);
		return -1;
	}
	close(nsfd);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "se-delay: %s: name too long\n", name);
		return -1;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "se-delay: %s in %s: %s\n", name, ns, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads what fd has (a bounded number of packets, so that the other
 * direction gets its turn) into q, each due delay_ms from now. */
static void take(int fd, struct queue *q, long delay_ms)
{
	static unsigned char scratch[SLOT];
	struct timespec now;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	add_ms(&now, delay_ms);
	for (i = 0; i < 64; i++) {
		struct packet *p = NULL;
		ssize_t n;

		if (q->count < QUEUE)
			p = &q->p[(q->head + q->count) % QUEUE];
		n = read(fd, p ? p->data : scratch, SLOT);
		if (n <= 0)
			return;		/* EAGAIN: nothing more */
		if (!p)
			continue;	/* the queue is full: dropped */
		p->len = (size_t)n;
		p->due = now;
		q->count++;
	}
}

/* Writes q's packets that are due to fd; returns how many. */
static long give(int fd, struct queue *q, const struct timespec *now)
{
	long n = 0;

	while (q->count && diff_ns(&q->p[q->head].due, now) <= 0) {
		/* A write the device refuses (it is down) loses the packet,
		 * as a link would. */
		(void)!write(fd, q->p[q->head].data, q->p[q->head].len);
		q->head = (q->head + 1) % QUEUE;
		q->count--;
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2];
	struct timespec now, end;
	long delay_ms, seconds, packets = 0;
	pid_t parent = getppid();
	int home, i;

	if (argc != 7 || (delay_ms = atol(argv[5])) < 0 || delay_ms > 10000 ||
	    (seconds = atol(argv[6])) <= 0 || seconds > 3600) {
		fprintf(stderr, "usage: se-delay NETNS-A TUN-A NETNS-B TUN-B DELAY-MS SECONDS\n");
		return 2;
	}
	/* Gone with the script that started it, even when it is killed. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		return 0;
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) {
		perror("se-delay: /proc/self/ns/net");
		return 1;
	}
	pfd[0].fd = attach(argv[1], argv[2]);
	pfd[1].fd = pfd[0].fd < 0 ? -1 : attach(argv[3], argv[4]);
	if (pfd[1].fd < 0 || setns(home, CLONE_NEWNET) < 0)
		return 1;
	close(home);
	pfd[0].events = pfd[1].events = POLLIN;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	for (;;) {
		struct timespec wait, *next = &end;
		long long ns;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (diff_ns(&end, &now) <= 0 || packets >= MAX_PACKETS)
			return 0;
		packets += give(pfd[1].fd, &queues[0], &now);
		packets += give(pfd[0].fd, &queues[1], &now);
		for (i = 0; i < 2; i++)
			if (queues[i].count &&
			    diff_ns(&queues[i].p[queues[i].head].due, next) < 0)
				next = &queues[i].p[queues[i].head].due;
		ns = diff_ns(next, &now);
		if (ns < 0)
			ns = 0;
		wait.tv_sec = ns / 1000000000LL;
		wait.tv_nsec = ns % 1000000000LL;
		if (ppoll(pfd, 2, &wait, NULL) < 0 && errno != EINTR) {
			perror("se-delay: ppoll");
			return 1;
		}
		for (i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				take(pfd[i].fd, &queues[i], delay_ms);
	}
}
