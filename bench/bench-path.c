/* The cost of keying the history by path, in this network namespace:
 *
 *   bench-path [N [ADDRESS...]]
 *
 * For each address (default 192.0.2.1 and 2001:db8::1): the path chosen
 * in the process from the table as read (no cache), the lookup the history
 * makes (se_netstate_path: the cache, the clock, the lock), and a whole
 * se_history_get() of a process-private history. Then one read of the
 * network through rtnetlink (what a process does at most once a second),
 * and what it holds. Prints mean nanoseconds per operation. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/history.h"
#include "core/netwatch.h"
#include "core/sys.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const char *const dflt[] = { "192.0.2.1", "2001:db8::1" };
	static struct se_netstate ns = SE_NETSTATE_INIT;
	static struct se_history h;
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int i, count = argc > 2 ? argc - 2 : 2;
	struct se_hist_info info;
	struct se_nettab t;
	double t0;
	long k;

	if (n <= 0 || se_sys_init() < 0 || se_netwatch_read(&t) < 0) {
		fprintf(stderr, "bench-path: rtnetlink cannot be read\n");
		return 1;
	}
	printf("network: %zu routes, %zu addresses, %zu links, %u rules, "
	       "rules modelled: IPv4 %s, IPv6 %s\n", t.n_route, t.n_addr, t.n_link,
	       t.rules, t.odd_rules[0] ? "no" : "yes", t.odd_rules[1] ? "no" : "yes");
	se_history_init(&h, true, 600000, NULL);
	se_history_use_network(&h, &ns);
	for (i = 0; i < count; i++) {
		const char *text = argc > 2 ? argv[i + 2] : dflt[i];
		struct se_addr a;

		memset(&a, 0, sizeof(a));
		if (inet_pton(AF_INET, text, a.bytes) == 1)
			a.family = AF_INET;
		else if (inet_pton(AF_INET6, text, a.bytes) == 1)
			a.family = AF_INET6;
		else
			continue;
		printf("%s: path %016llx\n", text, (unsigned long long)se_nettab_path(&t, &a));
		t0 = now_ns();
		for (k = 0; k < n; k++)
			se_nettab_path(&t, &a);
		printf("  route choice (uncached)   %8.1f ns\n", (now_ns() - t0) / n);
		se_netstate_path(&ns, &a);
		t0 = now_ns();
		for (k = 0; k < n; k++)
			se_netstate_path(&ns, &a);
		printf("  path lookup (cached)      %8.1f ns\n", (now_ns() - t0) / n);
		se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
		t0 = now_ns();
		for (k = 0; k < n; k++)
			se_history_get(&h, &a, se_boot_ms(), &info);
		printf("  se_history_get            %8.1f ns\n", (now_ns() - t0) / n);
	}
	se_nettab_free(&t);
	t0 = now_ns();
	for (k = 0; k < 200; k++) {
		se_netwatch_read(&t);
		se_nettab_free(&t);
	}
	printf("read of the network         %8.1f us\n", (now_ns() - t0) / 200 / 1000);
	return 0;
}
