/* The address history: ordering, expiry, bounds, the shared file under
 * concurrent writers, and damaged files. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/history.h"
#include "suites.h"

static char dir[64], path[128];
static struct se_history h;

static void setup(void)
{
	strcpy(dir, "/tmp/check-history.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/history", dir);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#define NOW 1000000u

START_TEST(failed_go_last_in_order)
{
	struct se_addr a[5] = { se_test_addr("2001:db8::1"), se_test_addr("192.0.2.1"),
				se_test_addr("2001:db8::2"), se_test_addr("192.0.2.2"),
				se_test_addr("2001:db8::3") };
	size_t order[5];

	se_history_init(&h, true, 600000, NULL);
	ck_assert_uint_eq(se_history_order(&h, a, 5, NOW, order, NULL), 0);
	ck_assert_uint_eq(order[0], 0);
	ck_assert_uint_eq(order[4], 4);
	se_history_record(&h, &a[0], SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW);
	se_history_record(&h, &a[3], SE_HIST_SOFT, 3, 1, 0, NOW);
	se_history_record(&h, &a[1], SE_HIST_CONNECTED, 0, 0, 900, NOW);
	ck_assert_uint_eq(se_history_order(&h, a, 5, NOW + 10, order, NULL), 2);
	/* The others keep their order (families still alternating), the
	 * failed ones follow in theirs: nothing is dropped. */
	ck_assert_uint_eq(order[0], 1);
	ck_assert_uint_eq(order[1], 2);
	ck_assert_uint_eq(order[2], 4);
	ck_assert_uint_eq(order[3], 0);
	ck_assert_uint_eq(order[4], 3);
}
END_TEST

START_TEST(latest_outcome_wins_and_expiry)
{
	struct se_addr a = se_test_addr("203.0.113.7");
	struct se_hist_info i;
	char buf[96];

	se_history_init(&h, true, 60000, NULL);
	ck_assert(!se_history_get(&h, &a, NOW, &i));
	se_history_record(&h, &a, SE_HIST_SOFT, 3, 1, 0, NOW);
	ck_assert(se_history_get(&h, &a, NOW + 40000, &i));
	ck_assert(se_history_failed(&i));
	ck_assert_uint_eq(i.age_ms, 40000);
	ck_assert_str_eq(se_history_describe(&i, AF_INET, buf, sizeof(buf)),
			 "soft host-unreachable 40 s ago");
	/* Past the lifetime: forgotten. */
	ck_assert(!se_history_get(&h, &a, NOW + 60000, &i));
	/* A later success replaces the failure. */
	se_history_record(&h, &a, SE_HIST_CONNECTED, 0, 0, 1500, NOW + 1);
	ck_assert(se_history_get(&h, &a, NOW + 2, &i));
	ck_assert(!se_history_failed(&i));
	ck_assert_uint_eq(i.rtt_us, 1500);
	se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW + 3);
	ck_assert(se_history_get(&h, &a, NOW + 5003, &i));
	ck_assert_str_eq(se_history_describe(&i, AF_INET, buf, sizeof(buf)),
			 "no answer 5 s ago");
	/* From the future (a damaged clock or file): not believed. */
	se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW + 100000);
	ck_assert(!se_history_get(&h, &a, NOW, &i));
	/* Off: nothing known, nothing kept. */
	se_history_init(&h, false, 60000, NULL);
	se_history_record(&h, &a, SE_HIST_SOFT, 3, 1, 0, NOW);
	ck_assert(!se_history_get(&h, &a, NOW, &i));
}
END_TEST

START_TEST(bounded)
{
	struct se_hist_info i;
	struct se_addr a;
	unsigned n, known = 0;
	char text[64];

	se_history_init(&h, true, 600000, NULL);
	for (n = 0; n < 4 * SE_HIST_SLOTS; n++) {
		snprintf(text, sizeof(text), "2001:db8::%x", n + 1);
		a = se_test_addr(text);
		se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW + n);
	}
	for (n = 0; n < 4 * SE_HIST_SLOTS; n++) {
		snprintf(text, sizeof(text), "2001:db8::%x", n + 1);
		a = se_test_addr(text);
		known += se_history_get(&h, &a, NOW + 4 * SE_HIST_SLOTS, &i);
	}
	/* Never more than the table holds, and the newest kept. */
	ck_assert_uint_le(known, SE_HIST_SLOTS);
	ck_assert_uint_ge(known, SE_HIST_SLOTS / 2);
	ck_assert(se_history_get(&h, &a, NOW + 4 * SE_HIST_SLOTS, &i));
}
END_TEST

START_TEST(shared_between_processes)
{
	struct se_addr a = se_test_addr("192.0.2.9");
	struct se_hist_info i;
	struct stat st;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct se_history c;

		se_history_init(&c, true, 600000, path);
		se_history_record(&c, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
		_exit(c.path[0] ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	se_history_init(&h, true, 600000, path);
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_int_eq(i.kind, SE_HIST_SILENT);
	/* Forgotten by one: forgotten for all. */
	se_history_forget(&h);
	{
		struct se_history other;

		se_history_init(&other, true, 600000, path);
		ck_assert(!se_history_get(&other, &a, se_boot_ms(), &i));
	}
}
END_TEST

/* 16 writer processes let go at the same moment, each recording its own 6
 * addresses, some of them twice: afterwards every address reads back as
 * its writer last left it and none is lost (without the file's lock, two
 * writers pick the same free slot and one address disappears). */
#define WRITERS 16
#define EACH 6

START_TEST(sixteen_concurrent_writers)
{
	pid_t pid[WRITERS];
	struct se_hist_info info;
	int w, k, r, status, found = 0, go[2];
	char c;

	ck_assert_int_eq(pipe(go), 0);
	for (w = 0; w < WRITERS; w++) {
		pid[w] = fork();
		ck_assert_int_ge(pid[w], 0);
		if (pid[w] == 0) {
			struct se_history mine;

			close(go[1]);
			se_history_init(&mine, true, 600000, path);
			if (read(go[0], &c, 1) != 0)
				_exit(2);
			for (r = 0; r < 2; r++)
				for (k = 0; k < EACH; k++) {
					char text[64];
					struct se_addr a;

					snprintf(text, sizeof(text), "2001:db8:%x::%x", w + 1, k + 1);
					a = se_test_addr(text);
					se_history_record(&mine, &a, r ? SE_HIST_SOFT :
							  SE_HIST_CONNECTED, 3, 1,
							  (uint32_t)(w * 100 + k), se_boot_ms());
				}
			_exit(mine.path[0] ? 0 : 1);
		}
	}
	close(go[0]);
	usleep(100000);
	close(go[1]);		/* all go */
	for (w = 0; w < WRITERS; w++) {
		ck_assert_int_eq(waitpid(pid[w], &status, 0), pid[w]);
		ck_assert_int_eq(status, 0);
	}
	se_history_init(&h, true, 600000, path);
	for (w = 0; w < WRITERS; w++)
		for (k = 0; k < EACH; k++) {
			char text[64];
			struct se_addr a;

			snprintf(text, sizeof(text), "2001:db8:%x::%x", w + 1, k + 1);
			a = se_test_addr(text);
			if (se_history_get(&h, &a, se_boot_ms(), &info)) {
				found++;
				/* The last write was a soft error with this
				 * writer's own figures: no torn entry. */
				ck_assert_int_eq(info.kind, SE_HIST_SOFT);
				ck_assert_uint_eq(info.rtt_us, (uint32_t)(w * 100 + k));
			}
		}
	ck_assert_int_eq(found, WRITERS * EACH);
}
END_TEST

static void write_raw(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

START_TEST(damaged_files)
{
	struct se_addr a = se_test_addr("198.51.100.4");
	struct se_hist_info i;
	char junk[20000];
	struct stat st;
	size_t n;

	/* Garbage, of every length: read as empty, rebuilt on the next
	 * write, never a crash. */
	for (n = 0; n < sizeof(junk); n++)
		junk[n] = (char)(n * 7 + 13);
	for (n = 0; n < sizeof(junk); n += 997) {
		write_raw(junk, n);
		se_history_init(&h, true, 600000, path);
		ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
		se_history_record(&h, &a, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
		ck_assert(h.path[0]);
		ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_size, sizeof(struct se_hist_head) +
				  SE_HIST_SLOTS * sizeof(struct se_hist_entry));
	}
	/* Truncated in the middle of the table: what is left of it is
	 * ignored, and the next write rebuilds it. */
	ck_assert_int_eq(truncate(path, 1000), 0);
	se_history_init(&h, true, 600000, path);
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	/* An entry whose bytes were changed is not believed. */
	se_history_record(&h, &a, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	{
		int fd = open(path, O_RDWR);
		struct se_hist_entry e[SE_HIST_SLOTS];
		unsigned k;

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, e, sizeof(e), sizeof(struct se_hist_head)),
				 (ssize_t)sizeof(e));
		for (k = 0; k < SE_HIST_SLOTS; k++)
			if (e[k].check)
				e[k].kind ^= 0x40;
		ck_assert_int_eq(pwrite(fd, e, sizeof(e), sizeof(struct se_hist_head)),
				 (ssize_t)sizeof(e));
		close(fd);
	}
	se_history_init(&h, true, 600000, path);
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	/* A file another user could write: not used (the history stays this
	 * process's own). */
	chmod(path, 0666);
	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &a, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert_str_eq(h.path, "");
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
}
END_TEST

START_TEST(network_change_forgets)
{
	struct se_addr a = se_test_addr("203.0.113.11");
	struct se_hist_info i;

	se_history_init(&h, true, 600000, path);
	se_history_network(&h, 111);
	se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	/* The same network in another process: kept. */
	{
		struct se_history o;

		se_history_init(&o, true, 600000, path);
		se_history_network(&o, 111);
		ck_assert(se_history_get(&o, &a, se_boot_ms(), &i));
		/* Another network: forgotten, for everyone. */
		se_history_network(&o, 222);
		ck_assert(!se_history_get(&o, &a, se_boot_ms(), &i));
	}
	h.read_at_ms = 0;
	ck_assert(!se_history_get(&h, &a, se_boot_ms() + 100, &i));
}
END_TEST

START_TEST(path_rules)
{
	char buf[256], rt[128];

	ck_assert(!se_history_path(NULL, buf, sizeof(buf)));
	ck_assert(!se_history_path("relative", buf, sizeof(buf)));
	ck_assert(!se_history_path("/nonexistent-dir", buf, sizeof(buf)));
	/* A runtime directory others can read is not used. */
	snprintf(rt, sizeof(rt), "%s/rt", dir);
	ck_assert_int_eq(mkdir(rt, 0755), 0);
	ck_assert(!se_history_path(rt, buf, sizeof(buf)));
	ck_assert_int_eq(chmod(rt, 0700), 0);
	ck_assert(se_history_path(rt, buf, sizeof(buf)));
	ck_assert(strstr(buf, "/rt/softerr/history"));
}
END_TEST

Suite *history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, failed_go_last_in_order);
	tcase_add_test(tc, latest_outcome_wins_and_expiry);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, shared_between_processes);
	tcase_add_test(tc, sixteen_concurrent_writers);
	tcase_add_test(tc, damaged_files);
	tcase_add_test(tc, network_change_forgets);
	tcase_add_test(tc, path_rules);
	suite_add_tcase(s, tc);
	return s;
}
