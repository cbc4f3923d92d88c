/* A test client with the classic blocking getaddrinfo() loop.
 *
 *   se-client [-4|-6] [--first] [--echo-after MS] [--hostent|--hostent-r]
 *             [--alarm MS|--alarm-restart MS] [--sndtimeo MS]
 *             [--setup] [--bind ADDR[,PORT]] [--longjmp MS] HOST PORT
 *
 * Tries the addresses in the resolver's order (only the first with --first),
 * one blocking connect() each, and prints one line per attempt:
 *   attempt ADDRESS ok|ERRNO-NAME MILLISECONDS
 * and a last line:
 *   result ok ADDRESS MILLISECONDS   or   result fail ERRNO-NAME MILLISECONDS
 * (milliseconds since just before getaddrinfo(), to a tenth).
 * With --echo-after, once connected it sends a line, waits MS milliseconds,
 * sends another and prints "echo ok" if both come back. --hostent resolves
 * with gethostbyname2(), --hostent-r with gethostbyname2_r(), instead of
 * getaddrinfo(). --alarm sends SIGALRM after MS to a handler installed
 * without SA_RESTART (--alarm-restart: with it). --sndtimeo sets SO_SNDTIMEO
 * before connect(). --setup creates the socket close-on-exec and sets
 * TCP_NODELAY, SO_KEEPALIVE and SO_RCVBUF 65536 before connect(), --bind
 * binds it; once connected, a line "socket ..." tells what the connected
 * descriptor has. --longjmp gives each connect() MS milliseconds and then
 * siglongjmp()s out of it from a SIGALRM handler, as wget --timeout does
 * (the attempt then reads "attempt ADDRESS jumped"), and tells at the end
 * how many descriptors were left open. --again-after MS (first of all
 * options) does the whole again, resolving included, MS milliseconds after
 * the first run, in the same process; the exit status is then the second
 * run's. --read reads what the server sends once connected, until it is
 * gone, and prints "read BYTES eof|ERRNO-NAME". --dual connects AF_INET6
 * sockets only, to IPv4 addresses through mapped ones (::ffff:a.b.c.d), as
 * Java does. --idle-handler installs a SIGUSR2 handler without SA_RESTART
 * that nothing sends (as Python and Java have); --child-after MS installs a
 * SIGCHLD handler with SA_RESTART and forks a child that exits after MS.
 * --nofile N lowers RLIMIT_NOFILE to N first; --high N makes its sockets
 * number N and above, as in a busy server. Exit status 0 when connected (and echoed), 1 otherwise, 2 on bad usage. */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "labutil.h"

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, level, name, &v, &len);
	return v;
}

/* What the program's descriptor holds after connect(). */
static void describe(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char local[INET6_ADDRSTRLEN] = "?";
	int port = 0, domain = opt(fd, SOL_SOCKET, SO_DOMAIN);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, local, sizeof(local));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, local, sizeof(local));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	printf("socket family=%s nodelay=%d keepalive=%d rcvbuf=%d local=%s port=%d "
	       "cloexec=%d nonblock=%d recverr=%d\n",
	       domain == AF_INET ? "inet" : domain == AF_INET6 ? "inet6" : "?",
	       opt(fd, IPPROTO_TCP, TCP_NODELAY), opt(fd, SOL_SOCKET, SO_KEEPALIVE),
	       opt(fd, SOL_SOCKET, SO_RCVBUF), local, port,
	       !!(fcntl(fd, F_GETFD) & FD_CLOEXEC), !!(fcntl(fd, F_GETFL) & O_NONBLOCK),
	       opt(fd, domain == AF_INET6 ? SOL_IPV6 : SOL_IP,
		   domain == AF_INET6 ? IPV6_RECVERR : IP_RECVERR));
}

static void on_alarm(int sig)
{
	(void)sig;
}

static sigjmp_buf jump;

/* The options (file scope: they live across sigsetjmp()). */
static int family = AF_UNSPEC, first, echo_after = -1, err;
static int hostent, alarm_ms, restart, sndtimeo, setup, jump_ms, fds_before;
static int read_all, dual, idle_handler, child_ms, nofile, high;
static const char *bind_to;

static void on_alarm_jump(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

/* Builds an addrinfo list from gethostbyname2() or gethostbyname2_r(), in
 * the order they gave. */
static struct addrinfo *resolve_hostent(const char *host, int fam,
					int port, int reentrant)
{
	static char buf[8192];
	struct hostent he, *h = NULL;
	struct addrinfo *head = NULL, **tail = &head;
	int herr, i;

	if (fam == AF_UNSPEC)
		fam = AF_INET;
	if (reentrant) {
		if (gethostbyname2_r(host, fam, &he, buf, sizeof(buf), &h, &herr) != 0)
			h = NULL;
	} else {
		h = gethostbyname2(host, fam);
	}
	if (!h)
		return NULL;
	for (i = 0; h->h_addr_list[i]; i++) {
		struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(ai + 1);
		struct sockaddr_in *s4 = (struct sockaddr_in *)(ai + 1);

		ai->ai_family = fam;
		ai->ai_socktype = SOCK_STREAM;
		ai->ai_addr = (struct sockaddr *)(ai + 1);
		if (fam == AF_INET) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			memcpy(&s4->sin_addr, h->h_addr_list[i], 4);
			ai->ai_addrlen = sizeof(*s4);
		} else {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			memcpy(&s6->sin6_addr, h->h_addr_list[i], 16);
			ai->ai_addrlen = sizeof(*s6);
		}
		*tail = ai;
		tail = &ai->ai_next;
	}
	return head;
}

static void free_list(struct addrinfo *res, int from_hostent)
{
	while (from_hostent && res) {
		struct addrinfo *next = res->ai_next;

		free(res);
		res = next;
	}
	if (!from_hostent)
		freeaddrinfo(res);
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

static int client(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	int i, rc;

	fds_before = lab_count_fds();
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
		else if (strcmp(argv[i], "--hostent") == 0)
			hostent = 1;
		else if (strcmp(argv[i], "--hostent-r") == 0)
			hostent = 2;
		else if (strcmp(argv[i], "--alarm") == 0 && i + 1 < argc)
			alarm_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--alarm-restart") == 0 && i + 1 < argc)
			alarm_ms = atoi(argv[++i]), restart = 1;
		else if (strcmp(argv[i], "--sndtimeo") == 0 && i + 1 < argc)
			sndtimeo = atoi(argv[++i]);
		else if (strcmp(argv[i], "--setup") == 0)
			setup = 1;
		else if (strcmp(argv[i], "--longjmp") == 0 && i + 1 < argc)
			jump_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
			bind_to = argv[++i];
		else if (strcmp(argv[i], "--read") == 0)
			read_all = 1;
		else if (strcmp(argv[i], "--dual") == 0)
			dual = 1;
		else if (strcmp(argv[i], "--idle-handler") == 0)
			idle_handler = 1;
		else if (strcmp(argv[i], "--child-after") == 0 && i + 1 < argc)
			child_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--nofile") == 0 && i + 1 < argc)
			nofile = atoi(argv[++i]);
		else if (strcmp(argv[i], "--high") == 0 && i + 1 < argc)
			high = atoi(argv[++i]);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: se-client [-4|-6] [--first] [--echo-after MS] "
			"[--hostent|--hostent-r] [--alarm MS|--alarm-restart MS] "
			"[--sndtimeo MS] [--setup] [--bind ADDR[,PORT]] [--longjmp MS] "
			"[--read] [--dual] [--idle-handler] [--child-after MS] [--nofile N] "
			"[--high N] HOST PORT\n");
		return 2;
	}
	if (nofile) {
		struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };

		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (high && lab_numbers_from(high) < 0) {
		printf("result fail high\n");
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	t0 = lab_now_ms();
	if (hostent) {
		res = resolve_hostent(argv[i], family, atoi(argv[i + 1]), hostent == 2);
		if (!res) {
			printf("result fail resolve\n");
			return 1;
		}
	} else {
		rc = getaddrinfo(argv[i], argv[i + 1], &hints, &res);
		if (rc != 0) {
			printf("result fail resolve %s\n", gai_strerror(rc));
			return 1;
		}
	}
	if (alarm_ms) {
		struct sigaction sa;
		struct itimerval it = { { 0, 0 }, { alarm_ms / 1000, (alarm_ms % 1000) * 1000 } };

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	if (idle_handler) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGUSR2, &sa, NULL);
	}
	if (child_ms) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGCHLD, &sa, NULL);
		fflush(stdout);
		if (fork() == 0) {
			usleep((useconds_t)child_ms * 1000);
			_exit(0);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (ai = res; ai; ai = first ? NULL : ai->ai_next) {
		char addr[INET6_ADDRSTRLEN];
		struct sockaddr_in6 mapped;
		struct sockaddr *volatile to = ai->ai_addr;
		volatile socklen_t tolen = ai->ai_addrlen;
		int fd = socket(dual ? AF_INET6 : ai->ai_family,
				ai->ai_socktype | (setup ? SOCK_CLOEXEC : 0),
				ai->ai_protocol);
		const void *a = ai->ai_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		inet_ntop(ai->ai_family, a, addr, sizeof(addr));
		if (dual && ai->ai_family == AF_INET) {
			memset(&mapped, 0, sizeof(mapped));
			mapped.sin6_family = AF_INET6;
			mapped.sin6_port = ((struct sockaddr_in *)ai->ai_addr)->sin_port;
			mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&mapped.sin6_addr.s6_addr[12], a, 4);
			to = (struct sockaddr *)&mapped;
			tolen = sizeof(mapped);
		}
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (setup) {
			int on = 1, buf = 65536;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		}
		if (bind_to) {
			char la[64], *comma;
			struct sockaddr_storage ls;
			socklen_t ll;
			int on = 1;

			snprintf(la, sizeof(la), "%s", bind_to);
			comma = strchr(la, ',');
			if (comma)
				*comma++ = '\0';
			memset(&ls, 0, sizeof(ls));
			if (!dual && ai->ai_family == AF_INET) {
				struct sockaddr_in *l4 = (struct sockaddr_in *)&ls;

				l4->sin_family = AF_INET;
				inet_pton(AF_INET, la, &l4->sin_addr);
				l4->sin_port = htons((uint16_t)(comma ? atoi(comma) : 0));
				ll = sizeof(*l4);
			} else {
				struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&ls;

				l6->sin6_family = AF_INET6;
				inet_pton(AF_INET6, la, &l6->sin6_addr);
				l6->sin6_port = htons((uint16_t)(comma ? atoi(comma) : 0));
				ll = sizeof(*l6);
			}
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
			if (bind(fd, (struct sockaddr *)&ls, ll) < 0) {
				printf("bind %s failed: %s\n", bind_to, strerror(errno));
				close(fd);
				continue;
			}
		}
		if (sndtimeo) {
			struct timeval tv = { sndtimeo / 1000, (sndtimeo % 1000) * 1000 };

			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		if (jump_ms) {
			struct itimerval it = { { 0, 0 }, { jump_ms / 1000, (jump_ms % 1000) * 1000 } };

			signal(SIGALRM, on_alarm_jump);
			if (sigsetjmp(jump, 1)) {
				printf("attempt %s jumped %.1f\n", addr, lab_now_ms() - t0);
				close(fd);
				continue;
			}
			setitimer(ITIMER_REAL, &it, NULL);
		}
		if (connect(fd, to, tolen) == 0) {
			if (jump_ms) {
				struct itimerval off = { { 0, 0 }, { 0, 0 } };

				setitimer(ITIMER_REAL, &off, NULL);
			}
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			char peer[INET6_ADDRSTRLEN] = "?";

			if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
				inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
					  (void *)&((struct sockaddr_in *)&ss)->sin_addr :
					  (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
					  peer, sizeof(peer));
			printf("attempt %s ok %.1f\n", addr, lab_now_ms() - t0);
			printf("result ok %s %.1f\n", peer, lab_now_ms() - t0);
			if (setup || bind_to)
				describe(fd);
			if (read_all) {
				struct timeval tv = { 5, 0 };
				char buf[512];
				ssize_t n;
				long got = 0;

				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
				while ((n = read(fd, buf, sizeof(buf))) > 0)
					got += n;
				printf("read %ld %s\n", got, n == 0 ? "eof" : lab_errname(errno));
			}
			free_list(res, hostent);
			if (jump_ms) {
				close(fd);
				printf("descriptors left %d\n", lab_count_fds() - fds_before);
				return 0;
			}
			if (echo_after >= 0) {
				struct timeval tv = { 15, 0 };

				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
				if (echo_line(fd, "one\n") < 0) {
					printf("echo fail %s\n", lab_errname(errno));
					return 1;
				}
				usleep((useconds_t)echo_after * 1000);
				if (echo_line(fd, "two\n") < 0) {
					printf("echo fail %s\n", lab_errname(errno));
					return 1;
				}
				printf("echo ok\n");
			}
			close(fd);
			return 0;
		}
		err = errno;
		printf("attempt %s %s %.1f\n", addr, lab_errname(err), lab_now_ms() - t0);
		close(fd);
	}
	free_list(res, hostent);
	printf("result fail %s %.1f\n", lab_errname(err), lab_now_ms() - t0);
	return 1;
}

int main(int argc, char **argv)
{
	int again_ms;

	if (argc > 2 && strcmp(argv[1], "--again-after") == 0) {
		again_ms = atoi(argv[2]);
		argv[2] = argv[0];
		client(argc - 2, argv + 2);
		fflush(stdout);
		usleep((useconds_t)again_ms * 1000);
		printf("again\n");
		return client(argc - 2, argv + 2);
	}
	return client(argc, argv);
}
