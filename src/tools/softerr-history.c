/* softerr-history: what the address history holds for the user running it,
 * and forgetting it, address by address or all of it.
 *
 *   softerr-history [--json] [NAME|ADDRESS]...
 *   softerr-history --forget NAME|ADDRESS...
 *   softerr-history --forget-all
 *
 * The file is the one the library picks for this user (history.h), read
 * and written as the library does, under its lock. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/history.h"
#include "core/icmp.h"
#include "core/names.h"
#include "core/netwatch.h"
#include "core/sys.h"
#include "json.h"

#define EXIT_TROUBLE 1		/* a name unresolved, a file refused */
#define EXIT_USAGE 2
#define ADDRS_MAX 64		/* of one name */

static const char *prog = "softerr-history";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [--json] [NAME|ADDRESS]...\n"
"  or:  %s --forget NAME|ADDRESS...\n"
"  or:  %s --forget-all\n"
"Show what softerr's address history holds for you (every address, or\n"
"those of each NAME): the last outcome, how long ago, the handshake time,\n"
"and whether programs try the address last because of it; or forget it.\n"
"\n"
"      --forget                   forget each ADDRESS, and every address of\n"
"                                 each NAME\n"
"      --forget-all, --clear      forget everything\n"
"  -j, --json                     one JSON object on standard output\n"
"  -h, --help                     this help, then exit\n"
"  -V, --version                  the version, then exit\n"
"\n"
"The history file is the one the library uses: SOFTERR_HISTORY_PATH or\n"
"history_path, else under XDG_RUNTIME_DIR (see softerr.conf(5)).\n"
"Exit status: 0 done (also when there is no history to show), 1 a NAME\n"
"did not resolve or the history file is refused or cannot be written,\n"
"2 bad usage. See softerr-history(1).\n", prog, prog, prog);
}

static struct se_history hist;
static struct se_netstate netstate = SE_NETSTATE_INIT;
static struct se_conf conf;	/* large: not on the stack */
static char hist_path[256], hist_why[320];
static bool json;
static unsigned shown;		/* entries (or JSON objects) written */
static int addr_width = 15;	/* of the text's address column */

/* --- Writing ------------------------------------------------------------- */

static const char *kind_name(enum se_hist_kind k)
{
	switch (k) {
	case SE_HIST_CONNECTED:
		return "connected";
	case SE_HIST_REFUSED:
		return "refused";
	case SE_HIST_SOFT:
		return "soft";
	case SE_HIST_HARD:
		return "hard";
	case SE_HIST_SILENT:
		return "no-answer";
	case SE_HIST_SOFT_ONCE:
		return "soft-unconfirmed";
	case SE_HIST_PERSIST_LOST:
		return "persisted-and-lost";
	default:
		return "other";
	}
}

/* How much longer a failure puts a last; 0 for anything else. */
static uint64_t last_for_ms(const struct se_hist_info *i)
{
	uint64_t life = conf.base.history_lifetime_ms;

	return se_history_failed(i) && i->age_ms < life ? life - i->age_ms : 0;
}

/* One address: i NULL when nothing is known of it; name the NAME it came
 * from (or NULL); forgot -1 when listing, else whether an entry went. */
static void show(const char *name, const struct se_addr *a,
		 const struct se_hist_info *i, int forgot)
{
	char abuf[INET6_ADDRSTRLEN + 8], what[96], nbuf[40];

	se_addr_str(a, abuf, sizeof(abuf));
	if (i)
		se_history_describe(i, a->family, what, sizeof(what));
	if (json) {
		printf("%s{\"address\":\"%s\",\"family\":\"%s\",\"name\":", shown++ ? "," : "",
		       abuf, a->family == AF_INET6 ? "ipv6" : "ipv4");
		if (name)
			json_str(name);
		else
			printf("null");
		if (!i) {
			printf(",\"known\":false");
		} else {
			printf(",\"known\":true,\"outcome\":\"%s\",\"text\":", kind_name(i->kind));
			json_str(what);
			printf(",\"age_ms\":%llu,\"handshake_ms\":", (unsigned long long)i->age_ms);
			if (i->kind == SE_HIST_CONNECTED)
				printf("%.3f", i->rtt_us / 1000.0);
			else
				printf("null");
			printf(",\"icmp\":");
			if ((i->kind == SE_HIST_SOFT || i->kind == SE_HIST_HARD) &&
			    i->icmp_type != SE_HIST_NO_ICMP)
				printf("{\"family\":\"%s\",\"type\":%u,\"code\":%u,\"name\":\"%s\"}",
				       a->family == AF_INET6 ? "icmp6" : "icmp", i->icmp_type,
				       i->icmp_code, se_icmp_name(a->family, i->icmp_type,
								  i->icmp_code, nbuf, sizeof(nbuf)));
			else
				printf("null");
			printf(",\"tried_last\":%s,\"tried_last_for_ms\":",
			       se_history_failed(i) ? "true" : "false");
			if (se_history_failed(i))
				printf("%llu", (unsigned long long)last_for_ms(i));
			else
				printf("null");
		}
		if (forgot >= 0)
			printf(",\"forgotten\":%s", forgot ? "true" : "false");
		putchar('}');
		return;
	}
	shown++;
	if (forgot > 0)
		printf("forgot %s%s%s%s\n", abuf, i ? " (" : "", i ? what : "", i ? ")" : "");
	else if (forgot == 0)
		printf("%s: nothing known\n", abuf);
	else if (!i)
		printf("  %-*s  nothing known\n", addr_width, abuf);
	else if (i->kind == SE_HIST_CONNECTED)
		printf("  %-*s  %-32s  handshake %.1f ms\n", addr_width, abuf, what,
		       i->rtt_us / 1000.0);
	else if (se_history_failed(i))
		printf("  %-*s  %-32s  tried last for %llu s more\n", addr_width, abuf,
		       what, (unsigned long long)((last_for_ms(i) + 999) / 1000));
	else
		printf("  %-*s  %s\n", addr_width, abuf, what);
}

/* The address column at least as wide as a. */
static void widen(const struct se_addr *a)
{
	char abuf[INET6_ADDRSTRLEN + 8];
	int w = (int)strlen(se_addr_str(a, abuf, sizeof(abuf)));

	if (w > addr_width)
		addr_width = w;
}

/* --- The history --------------------------------------------------------- */

/* Settings and the file, as the library picks them for a program of this
 * user's. Returns whether there is a shared file to read (hist_why says
 * where, or why not); *refused whether the place was refused rather than
 * the history off or not shared by the settings. */
static bool open_history(bool *refused)
{
	static const struct se_log_target to_stderr = { .to = SE_LOG_STDERR };
	char exe[512];
	struct se_conf_source src = se_conf_source_self(prog, exe, sizeof(exe),
							secure_getenv, se_log_raw);
	bool found;

	/* The engine's own calls (rtnetlink for the network's fingerprint)
	 * go through se_sys; when one is missing, the network is not looked
	 * at, as in the library. */
	(void)se_sys_init();
	se_conf_load(&conf, &src);
	found = se_history_choose(&conf.base, false, secure_getenv("XDG_RUNTIME_DIR"),
				  hist_path, sizeof(hist_path), hist_why, sizeof(hist_why));
	*refused = !found && conf.base.history && conf.base.history_share;
	se_history_init(&hist, found, conf.base.history_lifetime_ms, hist_path);
	/* Why the file is refused, in the library's own words. */
	hist.log = &to_stderr;
	return found;
}

static bool file_exists(void)
{
	struct stat st;

	return lstat(hist_path, &st) == 0 || errno != ENOENT;
}

static void json_head(void)
{
	printf("{\"history\":{\"file\":");
	if (hist_path[0])
		json_str(hist_path);
	else
		printf("null");
	printf(",\"why\":");
	json_str(hist_why);
	printf(",\"exists\":%s,\"lifetime_ms\":%u},", hist_path[0] && file_exists() ?
	       "true" : "false", conf.base.history_lifetime_ms);
}

/* The file is refused (said by the library's line): what it means. */
static void say_refused(void)
{
	fprintf(stderr, "%s: %s is refused as every softerr process refuses it: "
		"nothing in it is used, and nothing is shared until it is removed\n",
		prog, hist_path);
}

struct entry {
	struct se_addr a;
	struct se_hist_info i;
};

/* The entries read, of one address (want) or of all. */
struct listed {
	const struct se_addr *want;	/* NULL: every entry */
	size_t n;
	struct entry all[SE_HIST_SLOTS];
};

static bool each_entry(const struct se_addr *a, const struct se_hist_info *i, void *arg)
{
	struct listed *l = arg;

	if ((!l->want || se_addr_equal(a, l->want)) && l->n < SE_HIST_SLOTS) {
		l->all[l->n].a = *a;
		l->all[l->n].i = *i;
		l->n++;
	}
	return true;
}

/* The latest first. */
static int by_age(const void *x, const void *y)
{
	uint64_t ax = ((const struct entry *)x)->i.age_ms,
		 ay = ((const struct entry *)y)->i.age_ms;

	return ax < ay ? -1 : ax > ay;
}

/* Reads the table into l through se_history_each(), the latest first:
 * false when the file is refused (said); a damaged file reads as empty,
 * and is said to be unless quiet. */
static bool read_all(struct listed *l, bool quiet)
{
	l->n = 0;
	if (se_history_each(&hist, se_boot_ms(), each_entry, l) >= 0) {
		qsort(l->all, l->n, sizeof(l->all[0]), by_age);
		return true;
	}
	if (errno == EPERM) {
		say_refused();
		return false;
	}
	if (!quiet)
		fprintf(stderr, "%s: %s is damaged, of another size or from before the "
			"last boot: nothing in it is known; the next program to record "
			"rebuilds it\n", prog, hist_path);
	return true;
}

/* --- Names --------------------------------------------------------------- */

/* The addresses of arg, a name or an address, in the resolver's order and
 * without duplicates; 0 when it does not resolve (said). */
static size_t resolve(const char *arg, struct se_addr *out, size_t max)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	size_t n = 0;
	int rc = getaddrinfo(arg, NULL, &hints, &res);

	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", prog, arg,
			rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return 0;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct se_addr a;

		if (se_addr_from_sockaddr(&a, ai->ai_addr, ai->ai_addrlen) == 0) {
			a.scope_id = 0;		/* not kept by the history */
			se_addr_put(out, &n, max, &a);
		}
	}
	freeaddrinfo(res);
	if (!n)
		fprintf(stderr, "%s: %s: no IPv4 or IPv6 address\n", prog, arg);
	return n;
}

/* Is arg an address rather than a name (for what is written)? */
static bool literal(const char *arg)
{
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 1];
	const char *pct = strchr(arg, '%');

	if (pct && (size_t)(pct - arg) < sizeof(buf)) {
		memcpy(buf, arg, (size_t)(pct - arg));
		buf[pct - arg] = '\0';
		arg = buf;
	}
	return inet_pton(AF_INET, arg, &a6) == 1 || inet_pton(AF_INET6, arg, &a6) == 1;
}

/* Lists (forget false) or forgets the addresses of each of args; returns
 * the exit status. */
static int by_name(char **args, int n, bool forget)
{
	static struct listed l;
	struct se_addr addrs[ADDRS_MAX];
	int k, status = 0;

	for (k = 0; k < n; k++) {
		const char *name = literal(args[k]) ? NULL : args[k];
		size_t m = resolve(args[k], addrs, ADDRS_MAX), j, e;

		if (!m) {
			status = EXIT_TROUBLE;
			continue;
		}
		if (!json && !forget && name)
			printf("%s: %zu address%s\n", name, m, m == 1 ? "" : "es");
		addr_width = 15;
		for (j = 0; j < m; j++)
			widen(&addrs[j]);
		for (j = 0; j < m; j++) {
			l.want = &addrs[j];
			if (!read_all(&l, true))
				return EXIT_TROUBLE;
			if (forget && se_history_forget_addr(&hist, &addrs[j]) < 0) {
				fprintf(stderr, "%s: %s could not be written\n", prog, hist_path);
				return EXIT_TROUBLE;
			}
			/* What was forgotten is said as it was read: an
			 * entry past its lifetime was known to no one. */
			if (!l.n)
				show(name, &addrs[j], NULL, forget ? 0 : -1);
			for (e = 0; e < l.n; e++)
				show(name, &l.all[e].a, &l.all[e].i, forget ? 1 : -1);
		}
	}
	return status;
}

/* --- Main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	enum { OPT_FORGET = 256, OPT_FORGET_ALL };
	static const struct option opts[] = {
		{ "forget", no_argument, NULL, OPT_FORGET },
		{ "forget-all", no_argument, NULL, OPT_FORGET_ALL },
		{ "clear", no_argument, NULL, OPT_FORGET_ALL },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool forget = false, forget_all = false, shared, refused;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "jhV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORGET:
			forget = true;
			break;
		case OPT_FORGET_ALL:
			forget_all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("softerr-history (softerr) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (forget && forget_all) {
		fprintf(stderr, "%s: --forget and --forget-all do not go together\n", prog);
		return EXIT_USAGE;
	}
	if (forget && optind == argc) {
		fprintf(stderr, "%s: --forget needs a NAME or ADDRESS (--forget-all "
			"forgets everything)\n", prog);
		return EXIT_USAGE;
	}
	if (forget_all && optind < argc) {
		fprintf(stderr, "%s: --forget-all takes no NAME or ADDRESS\n", prog);
		return EXIT_USAGE;
	}

	shared = open_history(&refused);
	/* A writer looks at the network first, as every process of the
	 * library does before it uses the history: the file it writes then
	 * carries the network's fingerprint, and the next process does not
	 * take what is learned after for something of another network. */
	if (shared && (forget || forget_all))
		se_network_check(&netstate, &hist);
	if (json)
		json_head();
	else
		printf("history: %s\n", hist_why);
	if (shared && !hist.path[0]) {
		/* Refused at that first look. */
		say_refused();
		if (json)
			printf("\"entries\":[]}\n");
		return EXIT_TROUBLE;
	}
	if (!shared) {
		/* Nothing is kept where this program could see it. */
		if (json)
			printf("\"entries\":[]}\n");
		else if (refused)
			printf("nothing is shared between programs\n");
		else if (!conf.base.history)
			printf("nothing is remembered\n");
		else
			printf("each program keeps its own, and forgets it when it exits\n");
		return refused ? EXIT_TROUBLE : 0;
	}

	if (forget_all) {
		static struct listed l;
		size_t n = 0;

		if (file_exists()) {
			if (!read_all(&l, true)) {
				if (json)
					printf("\"forgotten\":null}\n");
				return EXIT_TROUBLE;
			}
			n = l.n;
			se_history_forget(&hist);
			if (!hist.path[0]) {
				fprintf(stderr, "%s: %s could not be written\n", prog, hist_path);
				return EXIT_TROUBLE;
			}
		}
		if (json)
			printf("\"forgotten\":%zu}\n", n);
		else
			printf("forgot everything (%zu address%s)\n", n, n == 1 ? "" : "es");
		return 0;
	}

	if (json)
		printf("\"entries\":[");
	if (optind < argc) {
		status = by_name(argv + optind, argc - optind, forget);
	} else {
		static struct listed l;
		size_t k;

		if (!file_exists()) {
			if (!json)
				printf("nothing remembered yet (no file)\n");
		} else if (!read_all(&l, false)) {
			status = EXIT_TROUBLE;
		} else if (!l.n && !json) {
			printf("nothing remembered\n");
		}
		for (k = 0; k < l.n; k++)
			widen(&l.all[k].a);
		for (k = 0; k < l.n; k++)
			show(NULL, &l.all[k].a, &l.all[k].i, -1);
	}
	if (json)
		printf("]}\n");
	fflush(stdout);
	return status;
}
