/* Messages from inside someone else's program: to standard error, each in a
 * single write(2), never more than asked for. */
#ifndef SOFTERR_CORE_LOG_H
#define SOFTERR_CORE_LOG_H

#include <stddef.h>

/* A growing line: appended to with se_line_add(), written with se_line_emit().
 * Truncated (with "...") rather than lost when it outgrows its buffer. */
struct se_line {
	char buf[1536];
	size_t len;
};

void se_line_init(struct se_line *l);
void se_line_add(struct se_line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes the line and a newline to fd 2, keeping errno. */
void se_line_emit(struct se_line *l);

/* Writes msg as it is to fd 2, keeping errno. */
void se_log_raw(const char *msg);

#endif
