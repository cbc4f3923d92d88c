/* The address history: ordering, expiry, bounds, the shared file under
 * concurrent writers, and damaged files. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/history.h"
#include "core/netwatch.h"
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

/* RFC 5461 6: one soft error (maybe forged) demotes nothing in the shared
 * history; a second confirms it; a success clears it; a lost persistence
 * is a failure that an unconfirmed soft error does not overwrite. */
START_TEST(one_soft_error_is_not_confirmed)
{
	struct se_addr a = se_test_addr("192.0.2.7"), b = se_test_addr("2001:db8::7");
	struct se_addr order_in[2];
	struct se_hist_info i;
	size_t order[2];
	char what[96];

	se_history_init(&h, true, 600000, NULL);
	se_history_record(&h, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW);
	ck_assert(se_history_get(&h, &a, NOW + 1, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT_ONCE);
	ck_assert(!se_history_failed(&i));
	ck_assert(se_history_doubtful(&i));
	/* The healthy path must still look, to correct it on success. */
	ck_assert(se_history_any_failed(&h));
	order_in[0] = a;
	order_in[1] = b;
	ck_assert_uint_eq(se_history_order(&h, order_in, 2, NOW + 1, order, NULL), 0);
	ck_assert_uint_eq(order[0], 0);
	ck_assert_str_eq(se_history_describe(&i, AF_INET, what, sizeof(what)),
			 "unconfirmed soft host-unreachable 0 s ago");

	/* A second one confirms it. */
	se_history_record(&h, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW + 2000);
	ck_assert(se_history_get(&h, &a, NOW + 2001, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT);
	ck_assert(se_history_failed(&i));

	/* A connect that succeeds restores the address at once. */
	se_history_record(&h, &a, SE_HIST_CONNECTED, 0, 0, 800, NOW + 3000);
	ck_assert(se_history_get(&h, &a, NOW + 3001, &i));
	ck_assert_int_eq(i.kind, SE_HIST_CONNECTED);
	ck_assert(!se_history_doubtful(&i));
	/* ... and the next single error is unconfirmed again. */
	se_history_record(&h, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW + 4000);
	ck_assert(se_history_get(&h, &a, NOW + 4001, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT_ONCE);

	/* Any failure before it confirms it too. */
	se_history_record(&h, &b, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW);
	se_history_record(&h, &b, SE_HIST_SOFT_ONCE, 1, 3, 0, NOW + 10);
	ck_assert(se_history_get(&h, &b, NOW + 11, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT);

	/* Unconfirmed, then past the lifetime: unconfirmed again. */
	se_history_record(&h, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW + 4000 + 600000);
	ck_assert(se_history_get(&h, &a, NOW + 4001 + 600000, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT_ONCE);
}
END_TEST

START_TEST(persistence_lost)
{
	struct se_addr a = se_test_addr("192.0.2.8");
	struct se_hist_info i;
	char what[96];

	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &a, SE_HIST_PERSIST_LOST, 3, 1, 0, NOW);
	ck_assert(se_history_get(&h, &a, NOW + 20000, &i));
	ck_assert_int_eq(i.kind, SE_HIST_PERSIST_LOST);
	ck_assert(se_history_failed(&i));
	ck_assert_str_eq(se_history_describe(&i, AF_INET, what, sizeof(what)),
			 "persisted and lost 20 s ago");
	/* A later process that ends at the first soft error keeps it as it
	 * was, with its age. */
	se_history_record(&h, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW + 20000);
	{
		struct se_history other;

		se_history_init(&other, true, 600000, path);
		ck_assert(se_history_get(&other, &a, NOW + 20001, &i));
		ck_assert_int_eq(i.kind, SE_HIST_PERSIST_LOST);
		ck_assert_uint_eq(i.age_ms, 20001);
	}
	/* A connect that succeeds clears it. */
	se_history_record(&h, &a, SE_HIST_CONNECTED, 0, 0, 500, NOW + 30000);
	ck_assert(se_history_get(&h, &a, NOW + 30001, &i));
	ck_assert_int_eq(i.kind, SE_HIST_CONNECTED);
}
END_TEST

/* A deferring thread's records: known in the process at once, in the file
 * only after the flush, merged with what another process wrote meanwhile
 * as if written at once; and never waiting on the file's lock. */
START_TEST(deferred_records_written_at_flush)
{
	struct se_addr a = se_test_addr("192.0.2.10"), b = se_test_addr("192.0.2.11");
	struct se_hist_info i;
	struct se_history other;
	int fd;

	se_history_init(&h, true, 600000, path);
	se_history_defer_here(true);
	se_history_record(&h, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW);
	ck_assert(se_history_get(&h, &a, NOW + 1, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT_ONCE);
	ck_assert_uint_eq(h.queued, 1);
	se_history_defer_here(false);	/* per thread: "other" writes at once */
	se_history_init(&other, true, 600000, path);
	ck_assert(!se_history_get(&other, &a, NOW + 1, &i));
	/* Another process's own evidence meanwhile: the flush merges. */
	se_history_record(&other, &a, SE_HIST_SOFT_ONCE, 3, 1, 0, NOW + 5);
	se_history_record(&other, &b, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW + 5);
	/* With the file's lock held elsewhere, a record only queues. */
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	se_history_defer_here(true);
	se_history_record(&h, &b, SE_HIST_CONNECTED, 0, 0, 700, NOW + 10);
	ck_assert_uint_eq(h.queued, 2);
	close(fd);
	se_history_defer_here(false);
	se_history_flush(&h);
	ck_assert_uint_eq(h.queued, 0);
	se_history_init(&other, true, 600000, path);
	ck_assert(se_history_get(&other, &a, NOW + 20, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SOFT);		/* confirmed by the two */
	ck_assert(se_history_get(&other, &b, NOW + 20, &i));
	ck_assert_int_eq(i.kind, SE_HIST_CONNECTED);

	/* A full queue is written at once, the queued ones with it. */
	se_history_defer_here(true);
	for (unsigned n = 0; n <= SE_HIST_QUEUE; n++) {
		struct se_addr c = se_test_addr("198.51.100.1");

		c.bytes[3] = (uint8_t)(n + 1);
		se_history_record(&h, &c, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW + 30);
	}
	se_history_defer_here(false);
	ck_assert_uint_eq(h.queued, 0);
	se_history_init(&other, true, 600000, path);
	for (unsigned n = 0; n <= SE_HIST_QUEUE; n++) {
		struct se_addr c = se_test_addr("198.51.100.1");

		c.bytes[3] = (uint8_t)(n + 1);
		ck_assert(se_history_get(&other, &c, NOW + 31, &i));
		ck_assert_int_eq(i.kind, SE_HIST_SILENT);
	}
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

/* --- Files that must not be used -----------------------------------------
 * The shared file is read only when it is a regular file of this user's
 * (the effective uid: as root, a file of another user's is refused too),
 * mode 0600 or stricter, of the size softerr makes it; each is checked on
 * the open descriptor at every read. A file that fails is never used; one
 * that is not ours is never touched either, and the history stays this
 * process's own. */

#define FILE_SIZE (sizeof(struct se_hist_head) + \
		   SE_HIST_SLOTS * sizeof(struct se_hist_entry))

static const char *dead = "198.51.100.66";

/* A good file at path whose one entry says dead gave no answer; its bytes
 * into copy (FILE_SIZE of them). */
static void good_file(const char *at, char *copy)
{
	struct se_history w;
	struct se_addr a = se_test_addr(dead);
	struct se_hist_info i;
	int fd;

	se_history_init(&w, true, 600000, at);
	se_history_record(&w, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert_str_eq(w.path, at);
	/* Good as it is: another process reads it. */
	se_history_init(&h, true, 600000, at);
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	fd = open(at, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, copy, FILE_SIZE), (ssize_t)FILE_SIZE);
	close(fd);
}

/* The file at path still holds exactly copy, and is as st0 said. */
static void untouched(const char *at, const char *copy, const struct stat *st0)
{
	static char now[FILE_SIZE + 1];
	struct stat st;
	int fd;

	ck_assert_int_eq(lstat(at, &st), 0);
	ck_assert_uint_eq(st.st_uid, st0->st_uid);
	ck_assert_uint_eq(st.st_mode, st0->st_mode);
	ck_assert_uint_eq(st.st_size, FILE_SIZE);
	ck_assert_uint_eq(st.st_ino, st0->st_ino);
	fd = open(at, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, now, sizeof(now)), (ssize_t)FILE_SIZE);
	close(fd);
	ck_assert_mem_eq(now, copy, FILE_SIZE);
}

/* A reader of the file as it now is: knows nothing, keeps its own, and
 * says why in its debug log, once. */
static void refused_by_reader(const char *why)
{
	struct se_addr a = se_test_addr(dead), b = se_test_addr("192.0.2.77");
	struct se_log_target logt = { .to = SE_LOG_FILE };
	struct se_hist_info i;
	char said[512] = "";
	ssize_t n;
	int fd;

	snprintf(logt.path, sizeof(logt.path), "%s/debug.log", dir);
	unlink(logt.path);
	se_history_init(&h, true, 600000, path);
	h.log = &logt;
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	/* Known to be unusable at the read already, not only at a write. */
	ck_assert_str_eq(h.path, "");
	/* The history still works, in this process. */
	se_history_record(&h, &b, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert(se_history_get(&h, &b, se_boot_ms(), &i));
	ck_assert_str_eq(h.path, "");
	fd = open(logt.path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, said, sizeof(said) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(strncmp(said, "softerr: history file ", 22) == 0 && strstr(said, why) &&
		      strchr(said, '\n') == said + n - 1, "said: %s", said);
	h.log = NULL;
}

START_TEST(wrong_size_not_used_and_rebuilt)
{
	static char copy[FILE_SIZE];
	struct se_addr a = se_test_addr(dead);
	struct se_hist_info i;
	struct stat st;

	/* Longer than softerr makes it, the table itself intact: not
	 * believed. It is ours, so the next write rebuilds it. */
	good_file(path, copy);
	ck_assert_int_eq(truncate(path, FILE_SIZE + sizeof(struct se_hist_entry)), 0);
	se_history_init(&h, true, 600000, path);
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_str_eq(h.path, path);
	se_history_record(&h, &a, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert_str_eq(h.path, path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_size, FILE_SIZE);
	se_history_init(&h, true, 600000, path);
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_int_eq(i.kind, SE_HIST_REFUSED);
	/* Made longer under a reader that had read it good: no longer
	 * believed by it either (checked at every read). */
	ck_assert_int_eq(truncate(path, FILE_SIZE + 1), 0);
	h.read_at_ms = 0;
	ck_assert(!se_history_get(&h, &a, se_boot_ms() + 100, &i));
}
END_TEST

START_TEST(not_a_regular_file)
{
	struct se_addr b = se_test_addr("192.0.2.77");
	struct stat st;

	/* A directory. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	refused_by_reader("not a regular file");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(rmdir(path), 0);
	/* A FIFO: refused without blocking, left as it is. */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	refused_by_reader("not a regular file");
	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &b, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert_str_eq(h.path, "");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
}
END_TEST

START_TEST(symlink_not_followed)
{
	static char copy[FILE_SIZE];
	struct se_addr b = se_test_addr("192.0.2.77");
	char target[160];
	struct stat st0;

	/* A link to a good file of ours: neither read nor written through. */
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	good_file(target, copy);
	ck_assert_int_eq(lstat(target, &st0), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	refused_by_reader("a symbolic link");
	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &b, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	untouched(target, copy, &st0);
}
END_TEST

/* _i: the mode given to a good file. */
static const mode_t open_modes[] = { 0620, 0602, 0660, 0606, 0640, 0604 };

START_TEST(open_to_others)
{
	static char copy[FILE_SIZE];
	struct se_addr b = se_test_addr("192.0.2.77");
	struct stat st0;

	good_file(path, copy);
	ck_assert_int_eq(chmod(path, open_modes[_i]), 0);
	ck_assert_int_eq(lstat(path, &st0), 0);
	refused_by_reader("open to other users");
	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &b, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	untouched(path, copy, &st0);
}
END_TEST

START_TEST(another_users_file)
{
	static char copy[FILE_SIZE];
	struct se_addr b = se_test_addr("192.0.2.77");
	struct stat st0;

	/* Another user's, mode 0600, good in every other way; the tests run
	 * as root, who could read and write it: refused all the same. */
	good_file(path, copy);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(lstat(path, &st0), 0);
	ck_assert_uint_ne(st0.st_uid, geteuid());
	refused_by_reader("owned by uid 65534");
	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &b, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	se_history_forget(&h);
	untouched(path, copy, &st0);
}
END_TEST

/* A network of one link (eth0) and a default route through gw, with
 * extra unrelated links, put in ns as if read. */
static void network(struct se_netstate *ns, const char *gw, unsigned extra)
{
	struct se_nettab t;
	struct se_nt_link l = { .ifindex = 2, .name = "eth0", .hw_len = 6,
				.hw = { 2, 0, 0, 0, 0, 1 }, .up = 1 };
	struct se_nt_addr ad = { .family = AF_INET, .prefixlen = 24, .ifindex = 2 };
	struct se_nt_route r = { .family = AF_INET, .type = 1 /* unicast */,
				 .has_gw = true, .oif = 2 };
	struct se_addr g = se_test_addr(gw), me = se_test_addr("192.0.2.2");
	unsigned i;

	memset(&t, 0, sizeof(t));
	memcpy(r.gw, g.bytes, 4);
	memcpy(ad.addr, me.bytes, 4);
	ck_assert(se_nettab_add_link(&t, &l));
	ck_assert(se_nettab_add_addr(&t, &ad));
	ck_assert(se_nettab_add_route(&t, &r));
	for (i = 0; i < extra; i++) {
		l.ifindex = 100 + i;
		snprintf(l.name, sizeof(l.name), "veth%u", i);
		ck_assert(se_nettab_add_link(&t, &l));
	}
	se_nettab_seal(&t);
	se_netstate_set(ns, &t);
}

START_TEST(keyed_by_path)
{
	struct se_netstate ns = SE_NETSTATE_INIT, ons = SE_NETSTATE_INIT;
	struct se_addr a = se_test_addr("203.0.113.11");
	struct se_hist_info i;
	struct se_history o;
	unsigned n;

	se_history_init(&h, true, 600000, path);
	se_history_use_network(&h, &ns);
	network(&ns, "192.0.2.1", 0);
	se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	/* 100 links come and go, one at a time: the path stays, so does
	 * what was learned on it. */
	for (n = 1; n <= 100; n++) {
		network(&ns, "192.0.2.1", n % 2 ? n : 0);
		ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
		ck_assert_int_eq(i.kind, SE_HIST_SILENT);
	}
	/* Another process on the same network, through the file: the same. */
	se_history_init(&o, true, 600000, path);
	se_history_use_network(&o, &ons);
	network(&ons, "192.0.2.1", 7);
	ck_assert(se_history_get(&o, &a, se_boot_ms(), &i));
	/* Another gateway: not used; learned anew there. */
	network(&ns, "192.0.2.254", 0);
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	se_history_record(&h, &a, SE_HIST_CONNECTED, 0, 0, 700, se_boot_ms());
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_int_eq(i.kind, SE_HIST_CONNECTED);
	/* The other process, still on the first path, keeps its entry ... */
	o.read_at_ms = 0;
	ck_assert(se_history_get(&o, &a, se_boot_ms() + 100, &i));
	ck_assert_int_eq(i.kind, SE_HIST_SILENT);
	/* ... and coming back to it brings it back here too. */
	network(&ns, "192.0.2.1", 3);
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_int_eq(i.kind, SE_HIST_SILENT);
	network(&ns, "192.0.2.254", 0);
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_int_eq(i.kind, SE_HIST_CONNECTED);
	/* Lifetimes still hold per entry. */
	ck_assert(!se_history_get(&h, &a, se_boot_ms() + 600000, &i));
	se_nettab_free(&ns.tab);
	se_nettab_free(&ons.tab);
}
END_TEST

/* An address the history does not hold needs no path: the network is not
 * read for it, so a process whose addresses never failed reads none. A
 * record needs its path, and a lookup of an address held reads it. */
START_TEST(unknown_address_reads_no_network)
{
	struct se_netstate ns = SE_NETSTATE_INIT;
	struct se_addr a = se_test_addr("203.0.113.11"), b = se_test_addr("203.0.113.12");
	struct se_addr ab[2] = { a, b };
	struct se_hist_info i;
	size_t order[2];

	se_history_init(&h, true, 600000, path);
	se_history_use_network(&h, &ns);
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	ck_assert_uint_eq(se_history_order(&h, ab, 2, se_boot_ms(), order, NULL), 0);
	ck_assert_msg(!ns.known, "the network was read for addresses the history does not hold");
	se_history_record(&h, &b, SE_HIST_REFUSED, SE_HIST_NO_ICMP, 0, 0, se_boot_ms());
	ck_assert_msg(ns.known, "a record was keyed without its path");
	ck_assert(se_history_get(&h, &b, se_boot_ms(), &i));
	ck_assert_int_eq(i.kind, SE_HIST_REFUSED);
	ck_assert(!se_history_get(&h, &a, se_boot_ms(), &i));
	se_nettab_free(&ns.tab);
}
END_TEST

/* Entries of other paths are kept while there is room, and make room for
 * the current path's when there is none. */
START_TEST(paths_share_an_address_slots)
{
	struct se_netstate ns = SE_NETSTATE_INIT;
	struct se_addr a = se_test_addr("203.0.113.11");
	struct se_hist_info i;
	char gw[32];
	unsigned n, known = 0;

	se_history_init(&h, true, 600000, NULL);
	se_history_use_network(&h, &ns);
	for (n = 0; n < SE_HIST_PROBE + 2; n++) {
		snprintf(gw, sizeof(gw), "192.0.2.%u", n + 1);
		network(&ns, gw, 0);
		se_history_record(&h, &a, SE_HIST_SOFT, 3, 1, 0, NOW + n);
	}
	for (n = 0; n < SE_HIST_PROBE + 2; n++) {
		snprintf(gw, sizeof(gw), "192.0.2.%u", n + 1);
		network(&ns, gw, 0);
		known += se_history_get(&h, &a, NOW + 100, &i);
	}
	/* The newest SE_HIST_PROBE, the two oldest gone. */
	ck_assert_uint_eq(known, SE_HIST_PROBE);
	network(&ns, "192.0.2.1", 0);
	ck_assert(!se_history_get(&h, &a, NOW + 100, &i));
	network(&ns, "192.0.2.3", 0);
	ck_assert(se_history_get(&h, &a, NOW + 100, &i));
	se_nettab_free(&ns.tab);
}
END_TEST

/* No view of the network (rtnetlink unavailable, or none given): every
 * path is 0, and the history works as it did without paths. */
START_TEST(no_network_no_paths)
{
	struct se_addr a = se_test_addr("203.0.113.11");
	struct se_hist_info i;
	unsigned n, held = 0;

	se_history_init(&h, true, 600000, path);
	se_history_record(&h, &a, SE_HIST_HARD, 3, 13, 0, se_boot_ms());
	ck_assert(se_history_get(&h, &a, se_boot_ms(), &i));
	for (n = 0; n < SE_HIST_SLOTS; n++)
		if (h.e[n].check) {
			ck_assert_uint_eq(h.e[n].path, 0);
			held++;
		}
	ck_assert_uint_eq(held, 1);
}
END_TEST

/* The roots of the places, under the test's directory. */
static char ru[128], run[128], tmp[128];

static struct se_history_places places_in(const char *configured, const char *rt)
{
	struct se_history_places p = {
		.configured = configured, .runtime_dir = rt,
		.run_user = ru, .run = run, .tmp = tmp,
	};

	snprintf(ru, sizeof(ru), "%s/run-user", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	mkdir(ru, 0755);
	mkdir(run, 0755);
	mkdir(tmp, 01777);
	return p;
}

START_TEST(locate_runtime_dir_first)
{
	char buf[256], why[320], rt[128];
	struct se_history_places p;

	snprintf(rt, sizeof(rt), "%s/rt", dir);
	p = places_in(NULL, rt);
	/* A runtime directory others can enter is passed over. */
	ck_assert_int_eq(mkdir(rt, 0755), 0);
	ck_assert(se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert(!strstr(buf, "/rt/"));
	ck_assert_int_eq(chmod(rt, 0700), 0);
	ck_assert(se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert(strstr(buf, "/rt/softerr/history"));
	ck_assert(strstr(why, "(XDG_RUNTIME_DIR)"));
	/* A relative one is no runtime directory. */
	p.runtime_dir = "relative";
	ck_assert(se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert(!strstr(buf, "relative"));
}
END_TEST

START_TEST(locate_without_runtime_dir)
{
	char buf[256], why[320], mine[160], want[200];
	struct se_history_places p = places_in(NULL, NULL);
	struct stat st;

	/* No XDG_RUNTIME_DIR: /run/user/UID when the system made it. */
	snprintf(mine, sizeof(mine), "%s/%u", ru, (unsigned)geteuid());
	ck_assert_int_eq(mkdir(mine, 0700), 0);
	ck_assert(se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	snprintf(want, sizeof(want), "%s/softerr/history", mine);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(rmdir(strcat(mine, "/softerr")), 0);
	*strrchr(mine, '/') = '\0';
	ck_assert_int_eq(rmdir(mine), 0);
	/* Else root's /run/softerr, everyone else's /tmp/softerr-UID, made
	 * private. */
	ck_assert(se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	if (geteuid() == 0)
		snprintf(want, sizeof(want), "%s/softerr/history", run);
	else
		snprintf(want, sizeof(want), "%s/softerr-%u/history", tmp, (unsigned)geteuid());
	ck_assert_str_eq(buf, want);
	*strrchr(want, '/') = '\0';
	ck_assert_int_eq(lstat(want, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
}
END_TEST

/* /tmp/softerr-UID laid out by someone else: never used. */
START_TEST(locate_refuses_hostile_layouts)
{
	char buf[256], why[320], t[200], other[200];
	struct se_history_places p = places_in(NULL, NULL);

	/* /run/softerr out of reach too (root): the last place decides. */
	ck_assert_int_eq(rmdir(run), 0);
	ck_assert_int_eq(close(open(run, O_CREAT | O_WRONLY, 0600)), 0);
	snprintf(t, sizeof(t), "%s/softerr-%u", tmp, (unsigned)geteuid());
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	ck_assert_int_eq(mkdir(other, 0700), 0);

	/* A symbolic link, even to a private directory of the user's. */
	ck_assert_int_eq(symlink(other, t), 0);
	ck_assert(!se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert_str_eq(buf, "");
	ck_assert(strncmp(why, "off: ", 5) == 0);
	ck_assert(strstr(why, "not a directory"));
	ck_assert_int_eq(unlink(t), 0);

	/* Open to others. */
	ck_assert_int_eq(mkdir(t, 0700), 0);
	ck_assert_int_eq(chmod(t, 0755), 0);
	ck_assert(!se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert(strstr(why, "open to others"));

	/* Another user's (only root can make one here). */
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(t, 0700), 0);
		ck_assert_int_eq(chown(t, 12345, 12345), 0);
		ck_assert(!se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
		ck_assert(strstr(why, "belongs to user 12345"));
	}
}
END_TEST

START_TEST(locate_history_path)
{
	char buf[256], why[320], f[200], open_dir[160];
	struct se_history_places p = places_in(NULL, NULL);

	snprintf(f, sizeof(f), "%s/mine/h", dir);
	ck_assert_int_eq(mkdir(strcat(strcpy(open_dir, dir), "/mine"), 0755), 0);
	p.configured = f;
	ck_assert(se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert_str_eq(buf, f);
	ck_assert(strstr(why, "(history_path)"));
	/* A directory others may write to is refused, not passed over. */
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	ck_assert(!se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert(strstr(why, "history_path"));
	p.configured = "relative/h";
	ck_assert(!se_history_locate(&p, buf, sizeof(buf), why, sizeof(why)));
	ck_assert(strstr(why, "absolute"));
}
END_TEST

/* No shared file when the settings or secure-execution mode say so, and
 * why, in the words the log and the prober use. */
START_TEST(choose_says_why_none)
{
	char buf[256], why[320];
	struct se_settings st;

	se_settings_defaults(&st);
	ck_assert(!se_history_choose(&st, true, NULL, buf, sizeof(buf), why, sizeof(why)));
	ck_assert_str_eq(why, "off (a set-user-ID program)");
	ck_assert_str_eq(buf, "");
	st.history_share = false;
	ck_assert(!se_history_choose(&st, false, NULL, buf, sizeof(buf), why, sizeof(why)));
	ck_assert_str_eq(why, "kept in this process (history_share = off)");
	st.history = false;
	ck_assert(!se_history_choose(&st, false, NULL, buf, sizeof(buf), why, sizeof(why)));
	ck_assert_str_eq(why, "off (history = off)");
	/* Shared: history_path, as se_history_locate() takes it. */
	se_settings_defaults(&st);
	snprintf(st.history_path, sizeof(st.history_path), "%s/h", dir);
	ck_assert(se_history_choose(&st, false, NULL, buf, sizeof(buf), why, sizeof(why)));
	ck_assert_str_eq(buf, st.history_path);
}
END_TEST

/* --- Seeing and forgetting what is remembered (softerr-history) -------- */

struct seen {
	unsigned n, stop_after;
	char addr[8][48];
	struct se_hist_info i[8];
};

static bool collect(const struct se_addr *a, const struct se_hist_info *i, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		se_addr_str(a, s->addr[s->n], sizeof(s->addr[0]));
		s->i[s->n] = *i;
	}
	s->n++;
	return s->n != s->stop_after;
}

/* The entry of seen for text, or NULL. */
static const struct se_hist_info *seen_of(const struct seen *s, const char *text)
{
	unsigned k;

	for (k = 0; k < s->n && k < 8; k++)
		if (strcmp(s->addr[k], text) == 0)
			return &s->i[k];
	return NULL;
}

START_TEST(each_lists_the_shared_file)
{
	struct se_addr a = se_test_addr("192.0.2.9"), b = se_test_addr("2001:db8::9"),
		       c = se_test_addr("198.51.100.9");
	struct se_history w;
	struct seen s = { 0 };
	const struct se_hist_info *i;
	uint64_t now = 10 * NOW;

	/* A missing file holds nothing, and is not made by a look. */
	se_history_init(&h, true, 600000, path);
	ck_assert_int_eq(se_history_each(&h, now, collect, &s), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Written by another process's history; read afresh. */
	se_history_init(&w, true, 600000, path);
	se_history_record(&w, &a, SE_HIST_SOFT, 3, 1, 0, now - 12000);
	se_history_record(&w, &b, SE_HIST_CONNECTED, 0, 0, 1500, now - 3000);
	se_history_record(&w, &c, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, now - 700000);
	ck_assert_int_eq(se_history_each(&h, now, collect, &s), 2);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_ptr_nonnull(i = seen_of(&s, "192.0.2.9"));
	ck_assert_int_eq(i->kind, SE_HIST_SOFT);
	ck_assert_uint_eq(i->icmp_type, 3);
	ck_assert_uint_eq(i->icmp_code, 1);
	ck_assert_uint_eq(i->age_ms, 12000);
	ck_assert_ptr_nonnull(i = seen_of(&s, "2001:db8::9"));
	ck_assert_int_eq(i->kind, SE_HIST_CONNECTED);
	ck_assert_uint_eq(i->rtt_us, 1500);
	ck_assert_uint_eq(i->age_ms, 3000);
	/* Past the lifetime: not listed, as not used. */
	ck_assert_ptr_null(seen_of(&s, "198.51.100.9"));
	/* fn stops it. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	ck_assert_int_eq(se_history_each(&h, now, collect, &s), 1);
	ck_assert_uint_eq(s.n, 1);
	/* Off: nothing. */
	memset(&s, 0, sizeof(s));
	se_history_init(&h, false, 600000, path);
	ck_assert_int_eq(se_history_each(&h, now, collect, &s), 0);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(each_refuses_as_readers_do)
{
	static char copy[FILE_SIZE];
	struct seen s = { 0 };
	struct stat st0;

	/* Damaged: nothing known, and said. */
	write_raw("damaged", 7);
	se_history_init(&h, true, 600000, path);
	errno = 0;
	ck_assert_int_eq(se_history_each(&h, se_boot_ms(), collect, &s), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_str_eq(h.path, path);
	/* Another user's: refused, left as it is. */
	unlink(path);
	good_file(path, copy);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(lstat(path, &st0), 0);
	se_history_init(&h, true, 600000, path);
	errno = 0;
	ck_assert_int_eq(se_history_each(&h, se_boot_ms(), collect, &s), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_str_eq(h.path, "");
	untouched(path, copy, &st0);
}
END_TEST

START_TEST(forget_one_address)
{
	struct se_addr a = se_test_addr("192.0.2.9"), b = se_test_addr("2001:db8::9"),
		       a6 = se_test_addr("c000:209::");
	struct se_history w, r;
	struct se_hist_info i;
	struct seen s = { 0 };
	uint64_t now = 10 * NOW;

	/* No file: nothing to forget, and no file made for it. */
	se_history_init(&w, true, 600000, path);
	ck_assert_int_eq(se_history_forget_addr(&w, &a), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	se_history_record(&w, &a, SE_HIST_SOFT, 3, 1, 0, now);
	se_history_record(&w, &b, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, now);
	/* Forgotten through another process's history: gone for all, the
	 * other address kept. */
	se_history_init(&h, true, 600000, path);
	ck_assert_int_eq(se_history_forget_addr(&h, &a), 1);
	ck_assert_int_eq(se_history_forget_addr(&h, &a), 0);
	se_history_init(&r, true, 600000, path);
	ck_assert(!se_history_get(&r, &a, now + 1, &i));
	ck_assert(se_history_get(&r, &b, now + 1, &i));
	w.read_at_ms = 0;
	ck_assert(!se_history_get(&w, &a, now + 200, &i));
	ck_assert_int_eq(se_history_each(&r, now + 1, collect, &s), 1);
	ck_assert_str_eq(s.addr[0], "2001:db8::9");
	/* Only that address: an IPv6 address that starts with a's bytes
	 * is another. */
	se_history_record(&w, &a6, SE_HIST_SOFT, 3, 1, 0, now);
	ck_assert_int_eq(se_history_forget_addr(&h, &a), 0);
	ck_assert(se_history_get(&r, &a6, now + 300, &i));
	/* Within this process only. */
	se_history_init(&h, true, 600000, NULL);
	se_history_record(&h, &a, SE_HIST_SOFT, 3, 1, 0, now);
	ck_assert(se_history_any_failed(&h));
	ck_assert_int_eq(se_history_forget_addr(&h, &a), 1);
	ck_assert(!se_history_get(&h, &a, now, &i));
	ck_assert(!se_history_any_failed(&h));
}
END_TEST

START_TEST(forget_addr_refused_file_untouched)
{
	static char copy[FILE_SIZE];
	struct se_addr a = se_test_addr(dead);
	struct stat st0;

	good_file(path, copy);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(lstat(path, &st0), 0);
	se_history_init(&h, true, 600000, path);
	ck_assert_int_eq(se_history_forget_addr(&h, &a), -1);
	ck_assert_str_eq(h.path, "");
	untouched(path, copy, &st0);
}
END_TEST

/* The smoothed handshake time: the first sample as it is, then 1/8 of
 * each new one; a failure in between starts it anew. */
START_TEST(handshakes_smoothed)
{
	struct se_addr a = se_test_addr("203.0.113.7");
	struct se_hist_info i;

	ck_assert_uint_eq(se_hist_smooth(0, 9000), 9000);
	ck_assert_uint_eq(se_hist_smooth(8000, 16000), 9000);
	ck_assert_uint_eq(se_hist_smooth(16000, 8000), 15000);
	ck_assert_uint_eq(se_hist_smooth(0, 0), 1);
	se_history_init(&h, true, 600000, NULL);
	se_history_handshake(&h, &a, 8000, NOW);
	se_history_handshake(&h, &a, 16000, NOW + 1);
	ck_assert(se_history_get(&h, &a, NOW + 2, &i));
	ck_assert_int_eq(i.kind, SE_HIST_CONNECTED);
	ck_assert_uint_eq(i.rtt_us, 9000);
	se_history_record(&h, &a, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW + 3);
	se_history_handshake(&h, &a, 300000, NOW + 4);
	ck_assert(se_history_get(&h, &a, NOW + 5, &i));
	ck_assert_uint_eq(i.rtt_us, 300000);
}
END_TEST

/* Where the expected handshake time comes from: the address, else the
 * slowest of its name's others, else the slowest of its /24 or /48. */
START_TEST(rtt_own_sibling_prefix)
{
	struct se_addr hole = se_test_addr("203.0.113.11"),
		       live = se_test_addr("203.0.113.20"),
		       slow = se_test_addr("203.0.113.21"),
		       other = se_test_addr("198.51.100.9"),
		       hole6 = se_test_addr("2001:db8:3::11"),
		       near6 = se_test_addr("2001:db8:3:ff::20"),
		       far6 = se_test_addr("2001:db8:4::20");
	struct se_addr name[3] = { hole, live, slow };
	struct se_rtt r;
	char buf[128];

	se_history_init(&h, true, 600000, NULL);
	ck_assert(!se_history_rtt(&h, &hole, name, 3, NOW, &r));
	ck_assert_int_eq(r.from, SE_RTT_NONE);
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 250);
	ck_assert_str_eq(se_rtt_describe(&r, 250, buf, sizeof(buf)), "250 ms configured");

	/* The /24, its slowest. */
	se_history_handshake(&h, &live, 5000, NOW);
	se_history_handshake(&h, &slow, 7000, NOW);
	se_history_handshake(&h, &other, 90000, NOW);
	ck_assert(se_history_rtt(&h, &hole, NULL, 0, NOW, &r));
	ck_assert_int_eq(r.from, SE_RTT_PREFIX);
	ck_assert_uint_eq(r.srtt_us, 7000);
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 19);
	ck_assert_str_eq(se_rtt_describe(&r, 19, buf, sizeof(buf)),
			 "19 ms from 203.0.113.0/24 (srtt 7.0 ms)");

	/* The name's others come first. */
	ck_assert(se_history_rtt(&h, &hole, name, 2, NOW, &r));
	ck_assert_int_eq(r.from, SE_RTT_SIBLING);
	ck_assert_uint_eq(r.srtt_us, 5000);
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 15);
	ck_assert_str_eq(se_rtt_describe(&r, 15, buf, sizeof(buf)),
			 "15 ms from sibling 203.0.113.20 (srtt 5.0 ms)");

	/* Its own, before all. */
	se_history_handshake(&h, &hole, 9000, NOW);
	ck_assert(se_history_rtt(&h, &hole, name, 3, NOW, &r));
	ck_assert_int_eq(r.from, SE_RTT_OWN);
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 23);
	ck_assert_str_eq(se_rtt_describe(&r, 23, buf, sizeof(buf)),
			 "23 ms from this address's handshakes (srtt 9.0 ms)");
	/* ... and a failure of its own is no handshake time: the others'
	 * do not stand in for it. */
	se_history_record(&h, &hole, SE_HIST_SILENT, SE_HIST_NO_ICMP, 0, 0, NOW);
	ck_assert(!se_history_rtt(&h, &hole, name, 3, NOW, &r));

	/* IPv6: the /48, not beyond. */
	se_history_handshake(&h, &near6, 2000, NOW);
	se_history_handshake(&h, &far6, 80000, NOW);
	ck_assert(se_history_rtt(&h, &hole6, NULL, 0, NOW, &r));
	ck_assert_int_eq(r.from, SE_RTT_PREFIX);
	ck_assert_uint_eq(r.srtt_us, 2000);
	ck_assert_str_eq(se_rtt_describe(&r, 10, buf, sizeof(buf)),
			 "10 ms from 2001:db8:3::/48 (srtt 2.0 ms)");
	/* Past the lifetime: nothing. */
	ck_assert(!se_history_rtt(&h, &hole6, NULL, 0, NOW + 600000, &r));
	/* Off: nothing. */
	se_history_init(&h, false, 600000, NULL);
	ck_assert(!se_history_rtt(&h, &hole6, NULL, 0, NOW, &r));
}
END_TEST

/* The delay: 2 SRTT + 5 ms within [10 ms, attempt_delay]; the silence
 * that teaches "no answer": 3 SRTT, at least 100 ms. */
START_TEST(delay_and_silence_from_rtt)
{
	struct se_rtt r = { .from = SE_RTT_OWN };

	r.srtt_us = 400;
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 10);
	ck_assert_uint_eq(se_rtt_silence_ms(&r), 100);
	r.srtt_us = 9000;
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 23);
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 15), 15);
	r.srtt_us = 40000;
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 85);
	ck_assert_uint_eq(se_rtt_silence_ms(&r), 120);
	/* A slow path: never more than attempt_delay, and its silence is
	 * no failure before three of its handshakes. */
	r.srtt_us = 300000;
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 250);
	ck_assert_uint_eq(se_rtt_silence_ms(&r), 900);
	r.srtt_us = UINT32_MAX;
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 2000), 2000);
	r.from = SE_RTT_NONE;
	ck_assert_uint_eq(se_rtt_delay_ms(&r, 250), 250);
	ck_assert_uint_eq(se_rtt_silence_ms(&r), 100);
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
	tcase_add_test(tc, one_soft_error_is_not_confirmed);
	tcase_add_test(tc, persistence_lost);
	tcase_add_test(tc, shared_between_processes);
	tcase_add_test(tc, deferred_records_written_at_flush);
	tcase_add_test(tc, sixteen_concurrent_writers);
	tcase_add_test(tc, damaged_files);
	tcase_add_test(tc, wrong_size_not_used_and_rebuilt);
	tcase_add_test(tc, not_a_regular_file);
	tcase_add_test(tc, symlink_not_followed);
	tcase_add_loop_test(tc, open_to_others, 0,
			    sizeof(open_modes) / sizeof(open_modes[0]));
	tcase_add_test(tc, another_users_file);
	tcase_add_test(tc, keyed_by_path);
	tcase_add_test(tc, paths_share_an_address_slots);
	tcase_add_test(tc, no_network_no_paths);
	tcase_add_test(tc, locate_runtime_dir_first);
	tcase_add_test(tc, locate_without_runtime_dir);
	tcase_add_test(tc, locate_refuses_hostile_layouts);
	tcase_add_test(tc, locate_history_path);
	tcase_add_test(tc, choose_says_why_none);
	tcase_add_test(tc, each_lists_the_shared_file);
	tcase_add_test(tc, each_refuses_as_readers_do);
	tcase_add_test(tc, forget_one_address);
	tcase_add_test(tc, unknown_address_reads_no_network);
	tcase_add_test(tc, forget_addr_refused_file_untouched);
	tcase_add_test(tc, handshakes_smoothed);
	tcase_add_test(tc, rtt_own_sibling_prefix);
	tcase_add_test(tc, delay_and_silence_from_rtt);
	suite_add_tcase(s, tc);
	return s;
}
