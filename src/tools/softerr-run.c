/* softerr-run: run a program with libsofterr.so preloaded.
 *
 *   softerr-run [options] [--] command [args]
 *
 * Exit status as env(1): the command's own, 125 for softerr-run's errors,
 * 126 when the command cannot be run, 127 when it is not found. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/settings.h"

#define EXIT_OWN 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

static const char *prog = "softerr-run";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]... [--] COMMAND [ARG]...\n"
"Run COMMAND with softerr: TCP's reaction to ICMP soft errors (RFC 5461)\n"
"and to addresses that never answer, without changing the system.\n"
"\n"
"  -p, --policy=POLICY            adaptive (default), abort, confirm, rfc1122\n"
"                                 or kernel\n"
"  -d, --attempt-delay=DURATION   silence before the next address starts in\n"
"                                 parallel (10ms to 2s; default 250ms)\n"
"  -t, --establish-timeout=DURATION\n"
"                                 bound on one connect() (default 75s)\n"
"      --persist-timeout=DURATION adaptive: how long the last address of a\n"
"                                 name is retried after a soft error\n"
"                                 (default 4s; 0: not at all)\n"
"  -m, --max-attempts=N           attempts in flight at once (1 to 16)\n"
"      --no-race                  one attempt at a time\n"
"  -c, --config=FILE              settings from FILE instead of softerr.conf\n"
"      --no-config                no configuration file at all\n"
"  -l, --log=TARGET               one line per connect() to stderr, syslog,\n"
"                                 or a file (appended to)\n"
"  -v, --verbose                  the same as --log=stderr\n"
"  -h, --help                     this help, then exit\n"
"  -V, --version                  the version, then exit\n"
"\n"
"Durations: a number of seconds, or with the unit ms or s.\n"
"Exit status: COMMAND's, or 125 if softerr-run itself failed, 126 if\n"
"COMMAND cannot be run, 127 if it is not found.\n"
"See softerr-run(1) and libsofterr(7).\n", prog);
}

/* Sets the library's variable for key after checking value with the
 * library's own parser. */
static void set(const char *key, const char *var, const char *value)
{
	struct se_settings s;
	const char *why;

	se_settings_defaults(&s);
	if (se_settings_set(&s, key, value, &why) < 0) {
		fprintf(stderr, "%s: %s \"%s\" is not valid: expected %s\n",
			prog, key, value, why);
		exit(EXIT_OWN);
	}
	setenv(var, value, 1);
}

/* The way from BINDIR to LIBDIR ("../lib"), so that an installed tree
 * moved elsewhere (a staged install, DESTDIR) finds its own library before
 * the one LIBDIR names. Empty if it cannot be said. */
static void bindir_to_libdir(char *rel, size_t len)
{
	const char *b = BINDIR, *l = LIBDIR;
	size_t common = 0, i, used = 0;

	rel[0] = '\0';
	if (b[0] != '/' || l[0] != '/')
		return;
	/* The longest common prefix made of whole components. */
	for (i = 0; b[i] && b[i] == l[i]; i++)
		if (b[i] == '/')
			common = i;
	if (!b[i] && (l[i] == '/' || !l[i]))
		common = i;
	else if (!l[i] && b[i] == '/')
		common = i;
	/* One ".." per component of BINDIR past it, then LIBDIR's rest. */
	for (i = common; b[i]; i++) {
		if (b[i] != '/' || !b[i + 1])
			continue;
		if (used + 4 >= len)
			return;
		used += (size_t)sprintf(rel + used, "%s..", used ? "/" : "");
	}
	if (l[common] && used + strlen(l + common) + 1 < len)
		strcpy(rel + used, used ? l + common : l + common + 1);
	if (!rel[0] && used + 2 < len)
		strcpy(rel, ".");
}

/* Is dir/name readable? Then found holds its canonical path. */
static bool found_at(const char *dir, const char *name, char *found)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return false;
	return access(path, R_OK) == 0 && realpath(path, found);
}

/* The library: next to this program in the build tree, then in the
 * installed tree this program is part of, then in LIBDIR; as a canonical
 * path, so that it is found in LD_PRELOAD however written. */
static const char *find_library(void)
{
	static char found[PATH_MAX];
	char self[PATH_MAX], dir[PATH_MAX], rel[PATH_MAX];
	char *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (found_at(self, "../preload/.libs/libsofterr.so", found))
				return found;
			bindir_to_libdir(rel, sizeof(rel));
			if (rel[0] && (size_t)snprintf(dir, sizeof(dir), "%s/%s", self, rel) < sizeof(dir) &&
			    found_at(dir, "libsofterr.so", found))
				return found;
		}
	}
	return found_at(LIBDIR, "libsofterr.so", found) ? found : NULL;
}

/* Is the LD_PRELOAD entry tok the library lib? */
static bool same_library(const char *tok, const char *lib)
{
	char real[PATH_MAX];

	return strcmp(tok, lib) == 0 || (realpath(tok, real) && strcmp(real, lib) == 0);
}

/* LD_PRELOAD with lib in it once, first; what was there is kept. */
static void add_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *copy, *tok, *save, *next;
	size_t len;

	if (!old || !*old) {
		setenv("LD_PRELOAD", lib, 1);
		return;
	}
	copy = strdup(old);
	len = strlen(lib) + strlen(old) + 2;
	next = malloc(len);
	if (!copy || !next) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_OWN);
	}
	strcpy(next, lib);
	for (tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save))
		if (!same_library(tok, lib)) {
			strcat(next, ":");
			strcat(next, tok);
		}
	setenv("LD_PRELOAD", next, 1);
	free(copy);
	free(next);
}

/* The file execvp() would run for cmd, or NULL. */
static const char *resolve(const char *cmd, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(cmd, '/'))
		return cmd;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(buf, len, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", cmd);
		if (access(buf, X_OK) == 0)
			return buf;
		if (!*end)
			return NULL;
	}
}

/* What keeps the library out of file, if anything. */
static const char *unreachable(const char *file)
{
	static char why[160];
	Elf64_Ehdr eh;
	struct stat st;
	int fd, i;
	bool interp = false, go = false;

	if (stat(file, &st) < 0)
		return NULL;
	if (st.st_mode & (S_ISUID | S_ISGID))
		return "is set-user-ID or set-group-ID: the dynamic linker ignores LD_PRELOAD for it";
	if (getxattr(file, "security.capability", NULL, 0) >= 0)
		return "has file capabilities: the dynamic linker ignores LD_PRELOAD for it";
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (read(fd, &eh, sizeof(eh)) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
		close(fd);
		return NULL;	/* a script, or not for this check */
	}
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph))
			break;
		if (ph.p_type == PT_INTERP)
			interp = true;
	}
	if (eh.e_shstrndx != SHN_UNDEF && eh.e_shnum > 0) {
		Elf64_Shdr strtab;

		if (pread(fd, &strtab, sizeof(strtab),
			  (off_t)(eh.e_shoff + (Elf64_Off)eh.e_shstrndx * eh.e_shentsize)) ==
		    (ssize_t)sizeof(strtab))
			for (i = 0; i < eh.e_shnum && !go; i++) {
				Elf64_Shdr sh;
				char name[24] = "";

				if (pread(fd, &sh, sizeof(sh),
					  (off_t)(eh.e_shoff + (Elf64_Off)i * eh.e_shentsize)) !=
				    (ssize_t)sizeof(sh))
					break;
				if (pread(fd, name, sizeof(name) - 1,
					  (off_t)(strtab.sh_offset + sh.sh_name)) <= 0)
					continue;
				go = strcmp(name, ".note.go.buildid") == 0 ||
				     strcmp(name, ".go.buildinfo") == 0;
			}
	}
	close(fd);
	if (go)
		return "is a Go program, which makes its own system calls: softerr cannot reach it";
	if (!interp) {
		snprintf(why, sizeof(why), "is statically linked: softerr cannot reach it");
		return why;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "attempt-delay", required_argument, NULL, 'd' },
		{ "establish-timeout", required_argument, NULL, 't' },
		{ "persist-timeout", required_argument, NULL, 'P' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "no-race", no_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'c' },
		{ "no-config", no_argument, NULL, 'C' },
		{ "log", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[PATH_MAX];
	const char *lib, *file, *why;
	int c;

	while ((c = getopt_long(argc, argv, "+p:d:t:m:c:l:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			set("policy", "SOFTERR_POLICY", optarg);
			break;
		case 'd':
			set("attempt_delay", "SOFTERR_ATTEMPT_DELAY", optarg);
			break;
		case 't':
			set("establish_timeout", "SOFTERR_ESTABLISH_TIMEOUT", optarg);
			break;
		case 'P':
			set("persist_timeout", "SOFTERR_PERSIST_TIMEOUT", optarg);
			break;
		case 'm':
			set("max_attempts", "SOFTERR_MAX_ATTEMPTS", optarg);
			break;
		case 'R':
			setenv("SOFTERR_RACE", "off", 1);
			break;
		case 'c':
			/* Absolute, so that the program's chdir() does not
			 * lose it. */
			if (!realpath(optarg, buf) || access(buf, R_OK) < 0) {
				fprintf(stderr, "%s: %s: %s\n", prog, optarg,
					strerror(errno));
				return EXIT_OWN;
			}
			setenv("SOFTERR_CONF", buf, 1);
			break;
		case 'C':
			setenv("SOFTERR_CONF", "", 1);
			break;
		case 'l':
			if (optarg[0] && optarg[0] != '/' && strcmp(optarg, "stderr") &&
			    strcmp(optarg, "syslog") && strcmp(optarg, "off")) {
				/* A file named from here: made absolute. */
				if (!getcwd(buf, sizeof(buf) - strlen(optarg) - 2)) {
					fprintf(stderr, "%s: %s\n", prog, strerror(errno));
					return EXIT_OWN;
				}
				strcat(buf, "/");
				strcat(buf, optarg);
				set("log", "SOFTERR_LOG", buf);
			} else {
				set("log", "SOFTERR_LOG", optarg);
			}
			break;
		case 'v':
			setenv("SOFTERR_LOG", "stderr", 1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("softerr-run (softerr) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_OWN;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given\n", prog);
		usage(stderr);
		return EXIT_OWN;
	}
	lib = find_library();
	if (!lib) {
		fprintf(stderr, "%s: libsofterr.so not found (looked in %s and beside %s)\n",
			prog, LIBDIR, prog);
		return EXIT_OWN;
	}
	file = resolve(argv[optind], buf, sizeof(buf));
	if (file && (why = unreachable(file)))
		fprintf(stderr, "%s: warning: %s %s; it runs without softerr\n",
			prog, file, why);
	add_preload(lib);
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, "%s: %s: %s\n", prog, argv[optind], strerror(c));
	return c == ENOENT || c == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
