/* Messages from inside someone else's program: one line, in a single
 * write, to standard error, to syslog, or to a file; never more than asked
 * for, and no descriptor kept open between lines. */
#ifndef SOFTERR_CORE_LOG_H
#define SOFTERR_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum se_log_to {
	SE_LOG_OFF = 0,
	SE_LOG_STDERR,
	SE_LOG_SYSLOG,		/* a datagram to /dev/log, as syslog(3) sends */
	SE_LOG_FILE,		/* appended, the file created mode 0600 */
};

#define SE_LOG_PATH_MAX 256

struct se_log_target {
	enum se_log_to to;
	char path[SE_LOG_PATH_MAX];	/* SE_LOG_FILE: an absolute path */
};

/* A growing line: appended to with se_line_add(), written with se_line_emit().
 * Truncated (with "...") rather than lost when it outgrows its buffer. */
struct se_line {
	char buf[1536];
	size_t len;
};

void se_line_init(struct se_line *l);
void se_line_add(struct se_line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes the line (which starts "softerr: ") to t, keeping errno. A target
 * that cannot be written to (no syslog daemon, an unwritable file) loses
 * the line: a program's connect() is never made to fail by its log. */
void se_line_emit(struct se_line *l, const struct se_log_target *t);

/* Lines the calling thread emits from now on (on: true) are queued and
 * written by se_log_flush(), so that a thread holding a lock the
 * program's threads wait for (the loop's, loop.h) never blocks on a full
 * pipe or a slow file with it. A line the queue (16 KB) has no room for
 * is written at once. Per thread; off unless set. */
void se_log_defer_here(bool on);
/* Writes the queued lines, in order. Call it with no lock of the
 * library's held. Keeps errno. */
void se_log_flush(void);
/* fork(): the queue's lock is held across it (runtime.c); the child
 * starts with an empty queue. */
void se_log_fork_prepare(void);
void se_log_fork_parent(void);
void se_log_fork_child(void);

/* Writes msg as it is to fd 2, keeping errno: warnings, which always go
 * to standard error. */
void se_log_raw(const char *msg);

#endif
