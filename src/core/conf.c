/* softerr.conf: finding, reading and applying the configuration file. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "sys.h"

#define ENTRIES_MAX 512

enum { SEC_GLOBAL, SEC_PROGRAM, SEC_DEST, SEC_BAD };

struct entry {
	unsigned section;		/* index in sections[] */
	unsigned line;
	const char *key, *value;
};

struct section {
	int kind;
	bool applies;			/* SEC_PROGRAM: matches this program */
	int dest;			/* SEC_DEST: index in c->dest, or -1 */
};

struct parse {
	struct se_conf *c;
	const struct se_conf_source *src;
	const char *path;
	struct entry *entry;
	size_t n_entry;
	struct section sec[SE_CONF_DEST_MAX * 4 + 1];
	size_t n_sec;
	unsigned said, unsaid;		/* warnings given, and held back */
};

#define WARN_MAX 10		/* per file; then one line says how many more */
#define PATH_SHOWN 256		/* the end of a longer file name is shown */
#define WARN_LEN 1024

/* One warning, "softerr: LEADPATH[:LINE]: ...\n", whole: a long file name
 * is shown by its end ("softerr: ...dir/softerr.conf:3: ..."), an overlong
 * message is cut with "...", and the line always ends with its newline. */
static void vwarn(const struct se_conf_source *src, const char *lead,
		  const char *path, unsigned line, const char *fmt, va_list ap)
{
	char msg[WARN_LEN];
	size_t room = sizeof(msg) - 5;	/* "...\n" and the NUL */
	size_t plen = strlen(path), n;
	const char *cut = "";
	int k, r;

	if (!src->warn)
		return;
	if (plen > PATH_SHOWN) {
		cut = "...";
		path += plen - PATH_SHOWN;
	}
	k = line ? snprintf(msg, room, "softerr: %s%s%s:%u: ", lead, cut, path, line) :
		   snprintf(msg, room, "softerr: %s%s%s: ", lead, cut, path);
	if (k < 0 || (size_t)k >= room)
		return;
	r = vsnprintf(msg + k, room - (size_t)k, fmt, ap);
	if (r < 0)
		msg[k] = '\0';
	n = strlen(msg);
	if (r >= 0 && (size_t)r >= room - (size_t)k) {
		memcpy(msg + n, "...", 3);
		n += 3;
	}
	msg[n++] = '\n';
	msg[n] = '\0';
	src->warn(msg);
}

static void warn_file(const struct se_conf_source *src, const char *lead,
		      const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* About a whole file, one line: "softerr: cannot use PATH: why; the
 * defaults are used" (lead "cannot use "), never held back. */
static void warn_file(const struct se_conf_source *src, const char *lead,
		      const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(src, lead, path, 0, fmt, ap);
	va_end(ap);
}

static void say(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* About a line of the file: the first WARN_MAX are said, the rest counted
 * (said_more() tells how many), so that a file of nothing but faults does
 * not flood every program's standard error at every start. */
static void say(struct parse *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (p->said >= WARN_MAX) {
		p->unsaid++;
		return;
	}
	p->said++;
	va_start(ap, fmt);
	vwarn(p->src, "", p->path, line, fmt, ap);
	va_end(ap);
}

static void said_more(const struct parse *p)
{
	if (p->unsaid)
		warn_file(p->src, "", p->path, "%u more warning%s about this file "
			  "not shown", p->unsaid, p->unsaid == 1 ? "" : "s");
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* "192.0.2.0/24", "2001:db8::/32", "192.0.2.7": an address prefix. */
static int parse_prefix(const char *w, struct se_dest_pattern *pat)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(w, '/');
	size_t alen = slash ? (size_t)(slash - w) : strlen(w);
	unsigned max, bits;
	char *end;

	if (alen >= sizeof(buf) - 1)
		return -1;
	memcpy(buf, w, alen);
	buf[alen] = '\0';
	memset(&pat->addr, 0, sizeof(pat->addr));
	if (inet_pton(AF_INET, buf, pat->addr.bytes) == 1) {
		pat->addr.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, pat->addr.bytes) == 1) {
		pat->addr.family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	bits = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		errno = 0;
		bits = (unsigned)strtoul(slash + 1, &end, 10);
		if (errno || *end || bits > max)
			return -1;
	}
	pat->is_name = false;
	pat->bits = bits;
	return 0;
}

static bool prefix_match(const struct se_dest_pattern *pat, const struct se_addr *a)
{
	unsigned full = pat->bits / 8, rest = pat->bits % 8;

	if (a->family != pat->addr.family)
		return false;
	if (memcmp(a->bytes, pat->addr.bytes, full) != 0)
		return false;
	return rest == 0 ||
	       ((a->bytes[full] ^ pat->addr.bytes[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static bool program_match(const struct se_conf_source *src, const char *glob)
{
	if (strchr(glob, '/'))
		return src->program_path && fnmatch(glob, src->program_path, 0) == 0;
	return src->program && fnmatch(glob, src->program, 0) == 0;
}

/* A section header, "[program curl wget]": its kind and patterns. */
static void header(struct parse *p, char *h, unsigned line)
{
	struct section *sec = &p->sec[p->n_sec];
	char *save = NULL, *kind, *w;
	struct se_conf_dest *d = NULL;
	unsigned given = 0;		/* patterns given */

	sec->kind = SEC_BAD;
	sec->applies = false;
	sec->dest = -1;
	kind = strtok_r(h, " \t", &save);
	if (kind && strcmp(kind, "program") == 0) {
		sec->kind = SEC_PROGRAM;
	} else if (kind && strcmp(kind, "destination") == 0) {
		sec->kind = SEC_DEST;
		if (p->c->n_dest >= SE_CONF_DEST_MAX) {
			say(p, line, "more than %d destination sections; "
			    "this one is ignored", SE_CONF_DEST_MAX);
			sec->kind = SEC_BAD;
		} else {
			d = &p->c->dest[p->c->n_dest];
			d->n = 0;
		}
	} else {
		say(p, line, "unknown section kind \"%.40s\" (expected [program ...] "
		    "or [destination ...]); its settings are ignored", kind ? kind : "");
		p->n_sec++;
		return;
	}
	while ((w = strtok_r(NULL, " \t", &save))) {
		if (sec->kind == SEC_PROGRAM) {
			given++;
			if (program_match(p->src, w))
				sec->applies = true;
			continue;
		}
		if (!d)
			break;
		given++;
		if (d->n >= SE_CONF_PATTERNS_MAX) {
			say(p, line, "more than %d patterns; \"%.64s\" and the rest "
			    "are ignored", SE_CONF_PATTERNS_MAX, w);
			break;
		}
		if (parse_prefix(w, &d->pat[d->n]) == 0) {
			d->n++;
		} else if (strchr(w, '/') || strlen(w) >= SE_NAME_LEN) {
			say(p, line, "\"%.64s\" is neither an address prefix nor "
			    "a host name; ignored", w);
		} else {
			d->pat[d->n].is_name = true;
			strcpy(d->pat[d->n].glob, w);
			p->c->dest_by_name = true;
			d->n++;
		}
	}
	if (sec->kind == SEC_DEST && d) {
		if (d->n == 0) {
			if (given == 0)
				say(p, line, "a destination section names no "
				    "destination; its settings are ignored");
			sec->kind = SEC_BAD;
		} else {
			sec->dest = (int)p->c->n_dest++;
		}
	} else if (sec->kind == SEC_PROGRAM && given == 0) {
		say(p, line, "a program section names no program; its settings "
		    "are ignored");
		sec->kind = SEC_BAD;
	}
	p->n_sec++;
}

/* One line: a comment, a header or a setting. */
static void line_in(struct parse *p, char *s, unsigned line)
{
	struct se_settings scratch;
	const char *why = "";
	char *eq, *key, *value, *hash;

	/* A comment starts with '#' at the start or after white space. */
	for (hash = s; (hash = strchr(hash, '#')); hash++)
		if (hash == s || hash[-1] == ' ' || hash[-1] == '\t') {
			*hash = '\0';
			break;
		}
	s = trim(s);
	if (!*s)
		return;
	if (*s == '[') {
		char *rb = strchr(s, ']');

		if (p->n_sec >= sizeof(p->sec) / sizeof(p->sec[0])) {
			say(p, line, "too many sections; the rest of the file "
			    "is ignored");
			p->sec[p->n_sec - 1].kind = SEC_BAD;
			return;
		}
		if (!rb || *trim(rb + 1)) {
			say(p, line, "a section header must be \"[program ...]\" or "
			    "\"[destination ...]\" alone on its line; its settings "
			    "are ignored");
			p->sec[p->n_sec].kind = SEC_BAD;
			p->n_sec++;
			return;
		}
		*rb = '\0';
		header(p, trim(s + 1), line);
		return;
	}
	if (p->sec[p->n_sec - 1].kind == SEC_BAD)
		return;
	eq = strchr(s, '=');
	if (!eq) {
		say(p, line, "expected \"key = value\" or a section header; "
		    "line ignored");
		return;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!se_settings_known(key)) {
		say(p, line, "unknown setting \"%.40s\"; line ignored", key);
		return;
	}
	se_settings_defaults(&scratch);
	if (se_settings_set(&scratch, key, value, &why) < 0) {
		say(p, line, "%s = \"%.64s\" is not valid (expected %s); "
		    "line ignored", key, value, why);
		return;
	}
	if (p->n_entry >= ENTRIES_MAX) {
		say(p, line, "more than %d settings; the rest are ignored", ENTRIES_MAX);
		return;
	}
	p->entry[p->n_entry].section = (unsigned)(p->n_sec - 1);
	p->entry[p->n_entry].line = line;
	p->entry[p->n_entry].key = key;
	p->entry[p->n_entry].value = value;
	p->n_entry++;
}

static void apply(struct parse *p, struct se_settings *s, int kind, int dest)
{
	size_t i;

	for (i = 0; i < p->n_entry; i++) {
		const struct section *sec = &p->sec[p->entry[i].section];

		if (sec->kind != kind || (kind == SEC_PROGRAM && !sec->applies) ||
		    (kind == SEC_DEST && sec->dest != dest))
			continue;
		/* Checked when read; a list can still overflow the rules. */
		if (se_settings_set(s, p->entry[i].key, p->entry[i].value, NULL) < 0)
			say(p, p->entry[i].line, "%s: too many ICMP rules; line ignored",
			    p->entry[i].key);
	}
}

static void from_env(struct se_settings *s, const struct se_conf_source *src,
		     bool warn)
{
	if (src->getenv_fn)
		se_settings_from_env(s, src->getenv_fn, warn ? src->warn : NULL);
}

static void no_file(struct se_conf *c, const struct se_conf_source *src)
{
	se_settings_defaults(&c->base);
	from_env(&c->base, src, true);
}

void se_conf_parse(struct se_conf *c, const char *path, char *text, size_t len,
		   const struct se_conf_source *src)
{
	struct parse *p;
	struct se_settings file;
	char *line, *next;
	unsigned lineno = 0;
	unsigned i;

	c->n_dest = 0;
	c->dest_by_name = false;
	snprintf(c->path, sizeof(c->path), "%s", path);
	p = calloc(1, sizeof(*p));
	if (p)
		p->entry = calloc(ENTRIES_MAX, sizeof(*p->entry));
	if (!p || !p->entry) {
		if (src->warn)
			src->warn("softerr: out of memory reading the configuration; "
				  "the defaults are used\n");
		free(p);
		no_file(c, src);
		return;
	}
	p->c = c;
	p->src = src;
	p->path = path;
	p->sec[0].kind = SEC_GLOBAL;
	p->n_sec = 1;

	if (memchr(text, '\0', len)) {
		say(p, 0, "not a text file (it holds a NUL byte); ignored");
		len = 0;
	}
	text[len] = '\0';
	for (line = len ? text : NULL; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (strlen(line) > SE_CONF_LINE_MAX) {
			say(p, lineno, "line longer than %d characters; ignored",
			    SE_CONF_LINE_MAX);
			continue;
		}
		line_in(p, line, lineno);
	}

	se_settings_defaults(&file);
	apply(p, &file, SEC_GLOBAL, -1);
	apply(p, &file, SEC_PROGRAM, -1);
	for (i = 0; i < c->n_dest; i++) {
		c->dest[i].s = file;
		apply(p, &c->dest[i].s, SEC_DEST, (int)i);
		from_env(&c->dest[i].s, src, false);
	}
	c->base = file;
	said_more(p);
	from_env(&c->base, src, true);
	free(p->entry);
	free(p);
}

/* Opens path; 1 with *text and *len (malloc'd, NUL room), 0 when it does
 * not exist, -1 when it exists but cannot be used (said). Only a regular
 * file that reads as exactly the size fstat() gives it is used: a /proc
 * file says 0 and holds text, a /sys file says 4096 and holds a few bytes,
 * and a file that changed while read may be cut anywhere; none of these
 * is a configuration to act on in part. */
static int read_file(const char *path, char **text, size_t *len,
		     const struct se_conf_source *src)
{
	struct stat st;
	ssize_t n = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > SE_CONF_FILE_MAX) {
		const char *why = fd < 0 ? strerror(errno) :
				  !S_ISREG(st.st_mode) ? "not a regular file" :
				  "larger than 64 KiB";

		warn_file(src, "cannot use ", path, "%s; the defaults are used", why);
		if (fd >= 0)
			se_close(fd);
		return -1;
	}
	*text = malloc((size_t)st.st_size + 2);
	if (!*text) {
		se_close(fd);
		warn_file(src, "cannot use ", path, "out of memory; the defaults "
			  "are used");
		return -1;
	}
	/* One byte more than it should hold, to see that there is no more. */
	*len = 0;
	while (*len <= (size_t)st.st_size) {
		n = read(fd, *text + *len, (size_t)st.st_size + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	err = errno;
	se_close(fd);
	if (n >= 0 && *len == (size_t)st.st_size)
		return 1;
	if (n < 0)
		warn_file(src, "cannot use ", path, "%s; the defaults are used",
			  strerror(err));
	else if (st.st_size == 0)
		warn_file(src, "cannot use ", path, "its size is 0 but it is not "
			  "empty (a /proc file?); the defaults are used");
	else if (*len < (size_t)st.st_size)
		warn_file(src, "cannot use ", path, "it reads as %zu bytes, its size "
			  "is %lld (a /sys file, or cut while read); the defaults "
			  "are used", *len, (long long)st.st_size);
	else
		warn_file(src, "cannot use ", path, "it grew while read; the "
			  "defaults are used");
	free(*text);
	*text = NULL;
	return -1;
}

/* Reads path into c; false when it does not exist. */
static bool load_path(struct se_conf *c, const char *path,
		      const struct se_conf_source *src)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len, src);

	if (rc == 0)
		return false;
	if (rc > 0)
		se_conf_parse(c, path, text, len, src);
	else
		no_file(c, src);
	free(text);
	return true;
}

void se_conf_load(struct se_conf *c, const struct se_conf_source *src)
{
	const char *conf = NULL, *xdg, *home;
	char user[512] = "";

	c->n_dest = 0;
	c->dest_by_name = false;
	c->path[0] = '\0';
	if (src->getenv_fn) {
		conf = src->getenv_fn("SOFTERR_CONF");
		xdg = src->getenv_fn("XDG_CONFIG_HOME");
		home = src->getenv_fn("HOME");
		if (xdg && xdg[0] == '/')
			snprintf(user, sizeof(user), "%s/softerr/softerr.conf", xdg);
		else if (home && home[0] == '/')
			snprintf(user, sizeof(user), "%s/.config/softerr/softerr.conf",
				 home);
	}
	if (conf) {
		/* Named: that file or none, never another one. */
		if (*conf && !load_path(c, conf, src)) {
			warn_file(src, "cannot use ", conf, "%s; the defaults are used",
				  strerror(ENOENT));
			no_file(c, src);
		} else if (!*conf) {
			no_file(c, src);
		}
		return;
	}
	if (user[0] && load_path(c, user, src))
		return;
	if (src->system_file && load_path(c, src->system_file, src))
		return;
	no_file(c, src);
}

const struct se_settings *se_conf_for(const struct se_conf *c, const char *name,
				      const struct se_addr *a)
{
	unsigned i, j;

	for (i = 0; i < c->n_dest; i++) {
		const struct se_conf_dest *d = &c->dest[i];

		for (j = 0; j < d->n; j++) {
			const struct se_dest_pattern *pat = &d->pat[j];

			if (pat->is_name ? name && *name &&
					   fnmatch(pat->glob, name, FNM_CASEFOLD) == 0 :
			    a && prefix_match(pat, a))
				return &d->s;
		}
	}
	return &c->base;
}

struct se_conf_source se_conf_source_self(const char *program, char *exe,
					  size_t len,
					  char *(*getenv_fn)(const char *),
					  void (*warn)(const char *msg))
{
	int saved = errno;
	ssize_t n = readlink("/proc/self/exe", exe, len - 1);
	struct se_conf_source src = {
		.program = program,
		.program_path = n > 0 ? exe : NULL,
		.getenv_fn = getenv_fn,
		.system_file = SYSCONFDIR "/softerr.conf",
		.warn = warn,
	};

	if (n > 0)
		exe[n] = '\0';
	errno = saved;
	return src;
}
