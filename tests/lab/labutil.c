#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <time.h>

#include "labutil.h"

double lab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int lab_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The lowest number softerr moves its own descriptors to (ownfd.h). */
static int library_base(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < FD_SETSIZE + FD_SETSIZE / 8)
		return (int)(rl.rlim_cur - rl.rlim_cur / 8);
	return FD_SETSIZE;
}

int lab_count_program_fds(void)
{
	int base = library_base(), n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) < base &&
		    atoi(de->d_name) != dirfd(d))
			n++;
	if (d)
		closedir(d);
	return n;
}

bool lab_library_fds_idle(char *why, size_t len)
{
	int base = library_base(), epolls = 0, timers = 0, pipe_ends = 0, num;
	unsigned long pipe_ino = 0, ino;
	char path[64], target[256];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	ssize_t n;

	why[0] = '\0';
	while (d && (de = readdir(d))) {
		num = atoi(de->d_name);
		if (de->d_name[0] == '.' || num < base || num == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", num);
		if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventpoll]") == 0 && ++epolls <= 2)
			continue;
		if (strcmp(target, "anon_inode:[timerfd]") == 0 && ++timers <= 1)
			continue;
		if (sscanf(target, "pipe:[%lu]", &ino) == 1 &&
		    (pipe_ino == 0 || pipe_ino == ino) && ++pipe_ends <= 2) {
			pipe_ino = ino;
			continue;
		}
		snprintf(why, len, "fd %d %s", num, target);
		break;
	}
	if (d)
		closedir(d);
	if (!why[0] && pipe_ends == 1)
		snprintf(why, len, "one end of pipe:[%lu]", pipe_ino);
	return !why[0];
}

const char *lab_errname(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ 0, "0" }, { ENETUNREACH, "ENETUNREACH" },
		{ EHOSTUNREACH, "EHOSTUNREACH" }, { ECONNREFUSED, "ECONNREFUSED" },
		{ EMFILE, "EMFILE" },
		{ ETIMEDOUT, "ETIMEDOUT" }, { EPROTO, "EPROTO" }, { EINTR, "EINTR" },
		{ EINPROGRESS, "EINPROGRESS" }, { EACCES, "EACCES" }, { EPERM, "EPERM" },
		{ ECONNRESET, "ECONNRESET" }, { ECONNABORTED, "ECONNABORTED" },
		{ EISCONN, "EISCONN" }, { EALREADY, "EALREADY" }, { EPIPE, "EPIPE" },
		{ EAGAIN, "EAGAIN" }, { ENOTCONN, "ENOTCONN" }, { ENOTSOCK, "ENOTSOCK" },
		{ EBADF, "EBADF" }, { EMSGSIZE, "EMSGSIZE" },
	};
	static __thread char buf[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

const char *lab_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int lab_numbers_from(int n)
{
	struct rlimit rl;
	int fd, i;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < (rlim_t)n + 1024)
		return -1;
	rl.rlim_cur = (rlim_t)n + 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || (fd = open("/dev/null", O_RDONLY)) < 0)
		return -1;
	for (i = 3; i < n; i++)
		if (i != fd && fcntl(i, F_GETFD) < 0 && dup2(fd, i) < 0)
			return -1;
	return 0;
}

int lab_nb_connect(const struct addrinfo *ai, int *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e;

	if (err)
		*err = 0;
	if (fd < 0) {
		if (err)
			*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		e = errno;
		close(fd);
		if (err)
			*err = e;
		return -1;
	}
	return fd;
}
