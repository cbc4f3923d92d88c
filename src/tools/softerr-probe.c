/* softerr-probe: connect to HOST PORT with softerr's engine (the public API)
 * and show, address by address, what happened and when. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softerr.h"
#include "json.h"

#define EXIT_CONNECTED 0
#define EXIT_NOT_CONNECTED 1
#define EXIT_USAGE 2
#define ALL_MAX 32

static const char *prog = "softerr-probe";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]... HOST PORT\n"
"Connect to HOST PORT with softerr's engine and show, address by address,\n"
"what happened and when: ICMP errors by type, code, name and sender, SYNs,\n"
"the policy's decisions, the times.\n"
"\n"
"  -4, -6                         IPv4 or IPv6 addresses only\n"
"  -a, --all                      try every address on its own, all at once,\n"
"                                 instead of stopping at the first that\n"
"                                 connects (establishment timeout 10s unless\n"
"                                 -t says otherwise)\n"
"  -p, --policy=POLICY            adaptive, abort, confirm, rfc1122 or kernel\n"
"  -d, --attempt-delay=DURATION   silence before the next address starts\n"
"  -t, --establish-timeout=DURATION\n"
"                                 bound on the whole connect\n"
"  -m, --max-attempts=N           attempts in flight at once (1 to 16)\n"
"      --no-race                  one attempt at a time\n"
"  -c, --config=FILE              settings from FILE (default: the\n"
"                                 softerr.conf the library reads)\n"
"      --no-config                the built-in defaults and the options only\n"
"  -j, --json                     one JSON object on standard output\n"
"  -h, --help                     this help, then exit\n"
"  -V, --version                  the version, then exit\n"
"\n"
"Exit status: 0 connected (with --all: some address did), 1 not, 2 bad\n"
"usage. See softerr-probe(1).\n", prog);
}

/* --- Writing one result -------------------------------------------------- */

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (!inet_ntop(ss->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static const char *err_name(int err)
{
	const char *n = err ? strerrorname_np(err) : NULL;

	return n ? n : "0";
}

static void print_attempt(const struct softerr_attempt *a)
{
	char abuf[INET6_ADDRSTRLEN], obuf[INET6_ADDRSTRLEN];

	printf("  %-28s ", addr_str(&a->address, abuf, sizeof(abuf)));
	if (a->outcome == SOFTERR_NOT_TRIED) {
		if (a->history[0])
			printf("not tried (tried last: %s)\n", a->history);
		else
			printf("not tried\n");
		return;
	}
	printf("sent at %8.1f ms  %s", a->started_ms, softerr_outcome_name(a->outcome));
	if (a->ended_ms >= 0)
		printf(" at %.1f ms", a->ended_ms);
	if (a->error && a->outcome != SOFTERR_CANCELLED)
		printf(" (%s)", err_name(a->error));
	if (a->icmp_errors) {
		printf(": %s %s (%s type %d code %d)", a->icmp_soft ? "soft" : "hard",
		       a->icmp_name, a->icmp_family == AF_INET6 ? "ICMPv6" : "ICMP",
		       a->icmp_type, a->icmp_code);
		if (a->icmp_from_len)
			printf(" from %s", addr_str(&a->icmp_from, obuf, sizeof(obuf)));
		if (a->icmp_errors > 1)
			printf(", %u ICMP errors", a->icmp_errors);
	}
	printf("; %u SYN%s", a->syns, a->syns == 1 ? "" : "s");
	if (a->history[0])
		printf(" (tried last: %s)", a->history);
	putchar('\n');
}

static void json_attempt(const struct softerr_attempt *a)
{
	char abuf[INET6_ADDRSTRLEN];
	unsigned port = ntohs(((const struct sockaddr_in *)&a->address)->sin_port);

	printf("{\"address\":\"%s\",\"port\":%u,\"family\":\"%s\",\"outcome\":\"%s\",",
	       addr_str(&a->address, abuf, sizeof(abuf)), port,
	       a->address.ss_family == AF_INET6 ? "ipv6" : "ipv4",
	       softerr_outcome_name(a->outcome));
	if (a->error)
		printf("\"error\":\"%s\",", err_name(a->error));
	else
		printf("\"error\":null,");
	if (a->started_ms >= 0)
		printf("\"started_ms\":%.3f,", a->started_ms);
	else
		printf("\"started_ms\":null,");
	if (a->ended_ms >= 0)
		printf("\"ended_ms\":%.3f,", a->ended_ms);
	else
		printf("\"ended_ms\":null,");
	printf("\"syns\":%u,\"history\":", a->syns);
	if (a->history[0])
		json_str(a->history);
	else
		printf("null");
	printf(",\"icmp\":");
	if (!a->icmp_errors) {
		printf("null}");
		return;
	}
	printf("{\"family\":\"%s\",\"type\":%d,\"code\":%d,\"name\":\"%s\","
	       "\"class\":\"%s\",\"count\":%u,\"from\":",
	       a->icmp_family == AF_INET6 ? "icmp6" : "icmp", a->icmp_type,
	       a->icmp_code, a->icmp_name, a->icmp_soft ? "soft" : "hard",
	       a->icmp_errors);
	if (a->icmp_from_len)
		printf("\"%s\"}}", addr_str(&a->icmp_from, abuf, sizeof(abuf)));
	else
		printf("null}}");
}

/* --- Probing ------------------------------------------------------------- */

struct one {
	char host[INET6_ADDRSTRLEN];
	const char *port;
	const struct softerr_options *o;
	int fd;
	struct softerr_report *report;
	pthread_t thread;
	bool started;
};

static void *probe_one(void *arg)
{
	struct one *x = arg;

	x->fd = softerr_connect(x->host, x->port, x->o, &x->report);
	return NULL;
}

/* --all: every address of host on its own, in parallel threads. */
static int probe_all(const char *host, const char *port, int family,
		     const struct softerr_options *o, bool json)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
				  .ai_protocol = IPPROTO_TCP };
	struct addrinfo *res, *ai;
	static struct one all[ALL_MAX];
	size_t n = 0, i, j, shown = 0;
	bool any = false;
	int rc;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		if (json) {
			printf("{\"host\":");
			json_str(host);
			printf(",\"service\":");
			json_str(port);
			printf(",\"resolve_error\":");
			json_str(gai_strerror(rc));
			printf(",\"connected\":false,\"attempts\":[]}\n");
		} else {
			printf("%s port %s: %s\n", host, port, gai_strerror(rc));
		}
		return EXIT_NOT_CONNECTED;
	}
	for (ai = res; ai && n < ALL_MAX; ai = ai->ai_next) {
		struct sockaddr_storage ss;

		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		addr_str(&ss, all[n].host, sizeof(all[n].host));
		for (j = 0; j < n && strcmp(all[j].host, all[n].host); j++)
			;
		if (j < n)
			continue;
		all[n].port = port;
		all[n].o = o;
		n++;
	}
	freeaddrinfo(res);
	for (i = 0; i < n; i++) {
		all[i].started = pthread_create(&all[i].thread, NULL, probe_one,
						&all[i]) == 0;
		if (!all[i].started)
			probe_one(&all[i]);
	}
	for (i = 0; i < n; i++)
		if (all[i].started)
			pthread_join(all[i].thread, NULL);

	if (json) {
		printf("{\"host\":");
		json_str(host);
		printf(",\"service\":");
		json_str(port);
		printf(",\"mode\":\"all\",\"attempts\":[");
	} else {
		printf("%s port %s: %zu address%s, each on its own\n", host, port, n,
		       n == 1 ? "" : "es");
	}
	for (i = 0; i < n; i++) {
		const struct softerr_report *r = all[i].report;

		if (all[i].fd >= 0) {
			any = true;
			close(all[i].fd);
		}
		if (!r || r->n_attempts == 0)
			continue;
		if (json) {
			if (shown++)
				putchar(',');
			json_attempt(&r->attempts[0]);
		} else {
			print_attempt(&r->attempts[0]);
		}
		softerr_report_free(all[i].report);
	}
	if (json)
		printf("],\"connected\":%s}\n", any ? "true" : "false");
	else
		printf("%s\n", any ? "some address connected" : "no address connected");
	return any ? EXIT_CONNECTED : EXIT_NOT_CONNECTED;
}

static int probe(const char *host, const char *port, const struct softerr_options *o,
		 bool json)
{
	struct softerr_report *r;
	char abuf[INET6_ADDRSTRLEN];
	int fd = softerr_connect(host, port, o, &r);
	int err = errno;
	size_t i;

	if (!r) {
		fprintf(stderr, "%s: %s\n", prog, strerror(err));
		return EXIT_NOT_CONNECTED;
	}
	if (json) {
		printf("{\"host\":");
		json_str(r->host);
		printf(",\"service\":");
		json_str(r->service);
		printf(",\"mode\":\"connect\",\"policy\":\"%s\",\"history\":", r->policy);
		json_str(r->history);
		printf(",\"delay_ms\":");
		if (r->delay_ms >= 0) {
			printf("%d,\"delay\":", r->delay_ms);
			json_str(r->delay);
		} else {
			printf("null,\"delay\":null");
		}
		printf(",\"resolve_ms\":%.3f,\"resolve_error\":", r->resolve_ms);
		if (r->resolve_error)
			json_str(gai_strerror(r->resolve_error));
		else
			printf("null");
		printf(",\"elapsed_ms\":%.3f,\"connected\":%s,\"address\":",
		       r->elapsed_ms, fd >= 0 ? "true" : "false");
		if (r->connected >= 0)
			printf("\"%s\"", addr_str(&r->attempts[r->connected].address,
						  abuf, sizeof(abuf)));
		else
			printf("null");
		printf(",\"error\":");
		if (fd < 0)
			printf("\"%s\"", err_name(err));
		else
			printf("null");
		printf(",\"attempts\":[");
		for (i = 0; i < r->n_attempts; i++) {
			if (i)
				putchar(',');
			json_attempt(&r->attempts[i]);
		}
		printf("]}\n");
	} else if (r->resolve_error) {
		printf("%s port %s: %s\n", r->host, r->service,
		       gai_strerror(r->resolve_error));
	} else {
		printf("%s port %s: %zu address%s, policy %s (resolved in %.1f ms)\n",
		       r->host, r->service, r->n_attempts,
		       r->n_attempts == 1 ? "" : "es", r->policy, r->resolve_ms);
		printf("history: %s\n", r->history);
		if (r->delay_ms >= 0)
			printf("attempt delay: %s\n", r->delay);
		for (i = 0; i < r->n_attempts; i++)
			print_attempt(&r->attempts[i]);
		if (fd >= 0)
			printf("connected to %s in %.1f ms\n",
			       addr_str(&r->attempts[r->connected].address, abuf,
					sizeof(abuf)), r->elapsed_ms);
		else
			printf("not connected after %.1f ms: %s (%s)\n", r->elapsed_ms,
			       strerror(err), err_name(err));
	}
	softerr_report_free(r);
	if (fd >= 0) {
		close(fd);
		return EXIT_CONNECTED;
	}
	return EXIT_NOT_CONNECTED;
}

static void set(struct softerr_options *o, const char *key, const char *value)
{
	if (softerr_options_set(o, key, value) < 0) {
		fprintf(stderr, "%s: %s \"%s\" is not valid; see softerr.conf(5)\n",
			prog, key, value);
		exit(EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "policy", required_argument, NULL, 'p' },
		{ "attempt-delay", required_argument, NULL, 'd' },
		{ "establish-timeout", required_argument, NULL, 't' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "no-race", no_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'c' },
		{ "no-config", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct softerr_options *o = softerr_options_new();
	const char *config = NULL;
	bool all = false, json = false, timeout_set = false;
	int c, family = AF_UNSPEC, rc;

	if (!o) {
		perror(prog);
		return EXIT_USAGE;
	}
	/* Two passes: the file is read first, so that the options win. */
	while ((c = getopt_long(argc, argv, "46ap:d:t:m:c:jhV", opts, NULL)) != -1) {
		switch (c) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'a':
			all = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			config = "";
			break;
		case 'j':
			json = true;
			break;
		case 'p': case 'd': case 't': case 'm': case 'R':
			break;	/* after the file, below */
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("softerr-probe (softerr) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: expected HOST and PORT\n", prog);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (softerr_options_load(o, config) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, config, strerror(errno));
		return EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "46ap:d:t:m:c:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			set(o, "policy", optarg);
			break;
		case 'd':
			set(o, "attempt_delay", optarg);
			break;
		case 't':
			set(o, "establish_timeout", optarg);
			timeout_set = true;
			break;
		case 'm':
			set(o, "max_attempts", optarg);
			break;
		case 'R':
			set(o, "race", "off");
			break;
		}
	}
	if (family != AF_UNSPEC)
		set(o, "family", family == AF_INET ? "ipv4" : "ipv6");
	if (all && !timeout_set)
		set(o, "establish_timeout", "10");
	rc = all ? probe_all(argv[optind], argv[optind + 1], family, o, json) :
		   probe(argv[optind], argv[optind + 1], o, json);
	softerr_options_free(o);
	fflush(stdout);
	return rc;
}
