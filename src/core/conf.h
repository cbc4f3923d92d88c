/* softerr.conf: the configuration file, and the settings it gives each
 * connect().
 *
 * A file has global settings (key = value), then sections: [program GLOB...]
 * (matched against the program's short name, or its full path when the glob
 * holds a '/') and [destination PATTERN...] (a host-name glob, an address, or
 * an address prefix). Precedence, from weakest: the built-in defaults, the
 * global settings, each matching program section in file order, the first
 * matching destination section, the environment. */
#ifndef SOFTERR_CORE_CONF_H
#define SOFTERR_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"
#include "settings.h"

#define SE_CONF_DEST_MAX 32
#define SE_CONF_PATTERNS_MAX 8
#define SE_CONF_FILE_MAX (64 * 1024)
#define SE_CONF_LINE_MAX 1024

struct se_dest_pattern {
	bool is_name;
	struct se_addr addr;		/* !is_name: the prefix */
	unsigned bits;
	char glob[SE_NAME_LEN];		/* is_name */
};

struct se_conf_dest {
	unsigned n;
	struct se_dest_pattern pat[SE_CONF_PATTERNS_MAX];
	struct se_settings s;		/* everything, with the section applied */
};

struct se_conf {
	struct se_settings base;	/* for every destination no section names */
	unsigned n_dest;
	bool dest_by_name;		/* a destination pattern is a name glob */
	char path[256];			/* the file read; "" when none */
	struct se_conf_dest dest[SE_CONF_DEST_MAX];
};

/* Where the settings come from, and where complaints go. */
struct se_conf_source {
	const char *program;		/* the short name, "curl" */
	const char *program_path;	/* "/usr/bin/curl"; may be NULL */
	/* The environment (secure_getenv in the library); NULL in
	 * secure-execution mode: then neither variables nor user files are
	 * read, only system_file. */
	char *(*getenv_fn)(const char *);
	const char *system_file;	/* SYSCONFDIR/softerr.conf */
	void (*warn)(const char *msg);	/* one line each, NULL: silent */
};

/* The source for this process: program (its short name), its path read
 * from /proc/self/exe into exe (NULL when it cannot be), SYSCONFDIR's
 * softerr.conf, and getenv_fn and warn as given. errno is kept. */
struct se_conf_source se_conf_source_self(const char *program, char *exe,
					  size_t len,
					  char *(*getenv_fn)(const char *),
					  void (*warn)(const char *msg));

/* Finds the file ($SOFTERR_CONF, $XDG_CONFIG_HOME/softerr/softerr.conf or
 * ~/.config/softerr/softerr.conf, then system_file: the first that exists;
 * SOFTERR_CONF set but empty means none), reads it and fills c. Never
 * fails: whatever is wrong is said through warn, naming file and line, and
 * what was wrong is left at its default. */
void se_conf_load(struct se_conf *c, const struct se_conf_source *src);

/* The same for a file's text, as read from path (named in messages);
 * text is modified. */
void se_conf_parse(struct se_conf *c, const char *path, char *text, size_t len,
		   const struct se_conf_source *src);

/* The settings for a connect() to a, an address of name (NULL when not
 * known): the first destination section that matches, else c->base. */
const struct se_settings *se_conf_for(const struct se_conf *c, const char *name,
				      const struct se_addr *a);

#endif
