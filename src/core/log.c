#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sys.h"

void se_line_init(struct se_line *l)
{
	l->len = 0;
	l->buf[0] = '\0';
}

void se_line_add(struct se_line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->buf) - 5;	/* "...\n" and the NUL */
	va_list ap;
	int n;

	if (l->len >= room)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, room - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room - l->len) {
		l->len = room;
		memcpy(l->buf + l->len, "...", 4);
		l->len += 3;
	} else {
		l->len += (size_t)n;
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* One datagram to the local syslog daemon in the form syslog(3) uses
 * (facility user, level info, the program's name and pid as tag), on a
 * socket of its own that is closed at once: the program's own openlog()
 * state and descriptors are left alone. */
static void to_syslog(const char *msg, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	char pkt[sizeof(((struct se_line *)0)->buf) + 128];
	char stamp[32] = "";
	struct tm tm;
	time_t now = time(NULL);
	int fd, n;

	if (localtime_r(&now, &tm))
		strftime(stamp, sizeof(stamp), "%b %e %T ", &tm);
	n = snprintf(pkt, sizeof(pkt), "<%d>%s%s[%ld]: %.*s",
		     LOG_USER | LOG_INFO, stamp, program_invocation_short_name,
		     (long)getpid(), (int)len, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(pkt))
		n = sizeof(pkt) - 1;
	fd = se_sys.socket ? se_sys.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) :
	     (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, pkt, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
	       (struct sockaddr *)&sun, sizeof(sun));
	se_close(fd);
}

static void to_file(const char *path, const char *msg, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		      0600);

	if (fd < 0)
		return;
	write_all(fd, msg, len);
	se_close(fd);
}

/* Lines a deferring thread emitted, written by se_log_flush(): each a
 * target, a length and the line with its newline, packed. Only the loop's
 * thread defers, but an idle one ending may meet the next one starting:
 * the queue has a lock of its own, held only to copy (never across a
 * write), and taken around fork() (se_log_fork_*()). */
#define QUEUE_SIZE 16384
static __thread bool deferring __attribute__((tls_model("initial-exec")));
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static char queue[QUEUE_SIZE];
static size_t queued;		/* written under the lock */

struct queued_line {
	const struct se_log_target *t;
	size_t len;
};

void se_log_defer_here(bool on)
{
	deferring = on;
}

static void write_line(const struct se_log_target *t, const char *msg, size_t len)
{
	switch (t->to) {
	case SE_LOG_OFF:
		break;
	case SE_LOG_STDERR:
		write_all(STDERR_FILENO, msg, len);
		break;
	case SE_LOG_SYSLOG:
		to_syslog(msg, len - 1);
		break;
	case SE_LOG_FILE:
		to_file(t->path, msg, len);
		break;
	}
}

/* Queued when deferring and there is room; else false. */
static bool enqueue(const struct se_log_target *t, const char *msg, size_t len)
{
	struct queued_line q = { t, len };
	bool done = false;

	pthread_mutex_lock(&queue_lock);
	if (sizeof(queue) - queued >= sizeof(q) + len) {
		memcpy(queue + queued, &q, sizeof(q));
		memcpy(queue + queued + sizeof(q), msg, len);
		__atomic_store_n(&queued, queued + sizeof(q) + len, __ATOMIC_RELAXED);
		done = true;
	}
	pthread_mutex_unlock(&queue_lock);
	return done;
}

void se_line_emit(struct se_line *l, const struct se_log_target *t)
{
	int saved = errno;

	if (t->to == SE_LOG_OFF)
		return;
	l->buf[l->len] = '\n';
	if (!deferring || !enqueue(t, l->buf, l->len + 1))
		write_line(t, l->buf, l->len + 1);
	l->buf[l->len] = '\0';
	errno = saved;
}

void se_log_flush(void)
{
	char lines[QUEUE_SIZE];
	size_t n;
	int saved = errno;

	/* Asked at every turn of the loop: nothing queued, no lock taken
	 * (only a deferring thread adds, and it asks after it added). */
	if (!__atomic_load_n(&queued, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&queue_lock);
	n = queued;
	memcpy(lines, queue, n);
	__atomic_store_n(&queued, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&queue_lock);
	for (size_t at = 0; at < n; ) {
		struct queued_line q;

		memcpy(&q, lines + at, sizeof(q));
		write_line(q.t, lines + at + sizeof(q), q.len);
		at += sizeof(q) + q.len;
	}
	errno = saved;
}

void se_log_fork_prepare(void)
{
	pthread_mutex_lock(&queue_lock);
}

void se_log_fork_parent(void)
{
	pthread_mutex_unlock(&queue_lock);
}

void se_log_fork_child(void)
{
	/* The lines are the parent's to write; its thread is not here. */
	queued = 0;
	pthread_mutex_init(&queue_lock, NULL);
}

void se_log_raw(const char *msg)
{
	int saved = errno;

	write_all(STDERR_FILENO, msg, strlen(msg));
	errno = saved;
}
