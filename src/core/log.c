#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

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

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void se_line_emit(struct se_line *l)
{
	int saved = errno;

	l->buf[l->len] = '\n';
	write_all(l->buf, l->len + 1);
	l->buf[l->len] = '\0';
	errno = saved;
}

void se_log_raw(const char *msg)
{
	int saved = errno;

	write_all(msg, strlen(msg));
	errno = saved;
}
