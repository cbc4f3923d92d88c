/* softerr.conf: precedence, matching, the lookup order, and every way a
 * file can be broken (one message naming file and line, the rest kept). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conf.h"
#include "suites.h"

/* --- A fake environment and a message catcher ---------------------------- */

static const char *env_vals[16][2];
static char said[8192];
static unsigned n_said;

static char *fake_getenv(const char *name)
{
	unsigned i;

	for (i = 0; i < 16 && env_vals[i][0]; i++)
		if (strcmp(env_vals[i][0], name) == 0)
			return (char *)env_vals[i][1];
	return NULL;
}

static void set_env(const char *name, const char *value)
{
	unsigned i;

	for (i = 0; i < 15 && env_vals[i][0]; i++)
		if (strcmp(env_vals[i][0], name) == 0)
			break;
	env_vals[i][0] = name;
	env_vals[i][1] = value;
}

static void catch_msg(const char *msg)
{
	strncat(said, msg, sizeof(said) - strlen(said) - 1);
	n_said++;
}

static char tmpdir[64];

static void setup(void)
{
	memset(env_vals, 0, sizeof(env_vals));
	said[0] = '\0';
	n_said = 0;
	strcpy(tmpdir, "/tmp/check-conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct se_conf_source source(const char *program)
{
	struct se_conf_source src = {
		.program = program,
		.program_path = "/usr/bin/curl",
		.getenv_fn = fake_getenv,
		.system_file = NULL,
		.warn = catch_msg,
	};

	return src;
}

/* Parses text as the file "test.conf" for program. */
static struct se_conf *parse_as(const char *program, const char *text)
{
	static struct se_conf c;
	struct se_conf_source src = source(program);
	char *copy = malloc(strlen(text) + 1);

	ck_assert_ptr_nonnull(copy);
	strcpy(copy, text);
	se_conf_parse(&c, "test.conf", copy, strlen(text), &src);
	free(copy);
	return &c;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* --- Precedence ---------------------------------------------------------- */

START_TEST(global_then_program_then_destination_then_environment)
{
	static const char text[] =
		"# global\n"
		"policy = confirm\n"
		"attempt_delay = 100ms\n"
		"max_attempts = 3\n"
		"[program wget]\n"
		"policy = rfc1122\n"
		"[program cu*]\n"
		"attempt_delay = 50ms\n"
		"[program curl]\n"
		"attempt_delay = 60ms   # the later section wins\n"
		"[destination 192.0.2.0/24]\n"
		"policy = abort\n"
		"max_attempts = 2\n";
	struct se_conf *c;
	const struct se_settings *s;
	struct se_addr in = se_test_addr("192.0.2.9"), out = se_test_addr("198.51.100.1");

	c = parse_as("curl", text);
	ck_assert_uint_eq(n_said, 0);
	ck_assert_int_eq(c->base.policy, SE_POLICY_CONFIRM);
	ck_assert_uint_eq(c->base.attempt_delay_ms, 60);
	ck_assert_uint_eq(c->base.max_attempts, 3);
	ck_assert_uint_eq(c->base.establish_timeout_ms, 75000);	/* default */
	s = se_conf_for(c, NULL, &in);
	ck_assert_int_eq(s->policy, SE_POLICY_ABORT);
	ck_assert_uint_eq(s->max_attempts, 2);
	ck_assert_uint_eq(s->attempt_delay_ms, 60);	/* from the program */
	ck_assert_ptr_eq(se_conf_for(c, NULL, &out), &c->base);

	c = parse_as("wget", text);
	ck_assert_int_eq(c->base.policy, SE_POLICY_RFC1122);
	ck_assert_uint_eq(c->base.attempt_delay_ms, 100);

	/* The environment beats every part of the file. */
	set_env("SOFTERR_POLICY", "kernel");
	set_env("SOFTERR_ATTEMPT_DELAY", "20ms");
	c = parse_as("curl", text);
	ck_assert_int_eq(c->base.policy, SE_POLICY_KERNEL);
	ck_assert_uint_eq(c->base.attempt_delay_ms, 20);
	s = se_conf_for(c, NULL, &in);
	ck_assert_int_eq(s->policy, SE_POLICY_KERNEL);
	ck_assert_uint_eq(s->max_attempts, 2);
	ck_assert_uint_eq(n_said, 0);
}
END_TEST

START_TEST(program_by_full_path)
{
	struct se_conf *c = parse_as("curl", "[program /usr/bin/*]\npolicy = abort\n"
				     "[program /opt/*]\npolicy = rfc1122\n");

	ck_assert_int_eq(c->base.policy, SE_POLICY_ABORT);
	c = parse_as("curl", "[program wget ssh]\npolicy = abort\n");
	ck_assert_int_eq(c->base.policy, SE_POLICY_ADAPTIVE);
}
END_TEST

START_TEST(destinations)
{
	static const char text[] =
		"[destination *.Example.COM 203.0.113.7]\n"
		"policy = abort\n"
		"[destination 2001:db8:1::/48 10.0.0.0/9]\n"
		"policy = rfc1122\n"
		"[destination *]\n"
		"policy = confirm\n";
	struct se_conf *c = parse_as("x", text);
	struct se_addr a;

	ck_assert_uint_eq(n_said, 0);
	ck_assert_uint_eq(c->n_dest, 3);
	ck_assert(c->dest_by_name);
	a = se_test_addr("198.51.100.1");
	/* A name glob, case-insensitive; the first section that matches. */
	ck_assert_int_eq(se_conf_for(c, "www.example.com", &a)->policy, SE_POLICY_ABORT);
	ck_assert_int_eq(se_conf_for(c, "example.com", &a)->policy, SE_POLICY_CONFIRM);
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_ADAPTIVE);
	a = se_test_addr("203.0.113.7");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_ABORT);
	a = se_test_addr("203.0.113.8");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_ADAPTIVE);
	/* Prefixes, to the bit. */
	a = se_test_addr("2001:db8:1:ffff::1");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_RFC1122);
	a = se_test_addr("2001:db8:2::1");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_ADAPTIVE);
	a = se_test_addr("10.127.255.255");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_RFC1122);
	a = se_test_addr("10.128.0.0");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_ADAPTIVE);
	/* An IPv4-mapped address is its IPv4 address, as connect() on an
	 * AF_INET6 socket reaches it. */
	a = se_test_addr("::ffff:10.0.0.1");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_RFC1122);
	a = se_test_addr("::ffff:10.128.0.1");
	ck_assert_int_eq(se_conf_for(c, NULL, &a)->policy, SE_POLICY_ADAPTIVE);
}
END_TEST

START_TEST(icmp_rules_from_the_file)
{
	struct se_conf *c = parse_as("x", "icmp_soft = admin-prohibited 3/10\n"
				     "icmp6_hard = 1/3\n");

	ck_assert_uint_eq(n_said, 0);
	ck_assert_int_eq(se_icmp_classify_by(&c->base.icmp, AF_INET, 3, 13), SE_ICMP_SOFT);
	ck_assert_int_eq(se_icmp_classify_by(&c->base.icmp, AF_INET, 3, 10), SE_ICMP_SOFT);
	ck_assert_int_eq(se_icmp_classify_by(&c->base.icmp, AF_INET, 3, 9), SE_ICMP_HARD);
	ck_assert_int_eq(se_icmp_classify_by(&c->base.icmp, AF_INET6, 1, 3), SE_ICMP_HARD);
	ck_assert_int_eq(se_icmp_classify_by(&c->base.icmp, AF_INET6, 1, 0), SE_ICMP_SOFT);
}
END_TEST

/* --- Broken files -------------------------------------------------------- */

static const struct broken {
	const char *text;
	const char *message;	/* what the one message says */
} broken[] = {
	{ "policy = abort\nmax_attempts\nrace = off\n",
	  "test.conf:2: expected \"key = value\"" },
	{ "policy = abort\npolcy = confirm\nrace = off\n",
	  "test.conf:2: unknown setting \"polcy\"" },
	{ "policy = abort\nattempt_delay = 9h\nrace = off\n",
	  "test.conf:2: attempt_delay = \"9h\" is not valid (expected a duration" },
	{ "policy = abort\nrace = off\n[server x]\npolicy = confirm\n",
	  "test.conf:3: unknown section kind \"server\"" },
	{ "policy = abort\nrace = off\n[program x\npolicy = confirm\n",
	  "test.conf:3: a section header must be" },
	{ "policy = abort\nrace = off\n[program]\npolicy = confirm\n",
	  "test.conf:3: a program section names no program" },
	{ "policy = abort\nrace = off\n[destination]\npolicy = confirm\n",
	  "test.conf:3: a destination section names no destination" },
	{ "policy = abort\nrace = off\n[destination 192.0.2.0/33]\npolicy = confirm\n",
	  "test.conf:3: \"192.0.2.0/33\" is neither an address prefix" },
	{ "policy = abort\nrace = off\nlog = relative.log\n",
	  "test.conf:3: log = \"relative.log\" is not valid" },
	{ "policy = abort\nrace = off\nicmp_soft = 3/300\n",
	  "test.conf:3: icmp_soft = \"3/300\" is not valid" },
	/* Decimal numbers only: "0x10" is not 16 s. */
	{ "policy = abort\nrace = off\nattempt_delay = 0x10ms\n",
	  "test.conf:3: attempt_delay = \"0x10ms\" is not valid" },
	{ "policy = abort\nrace = off\nattempt_delay = 1e2ms\n",
	  "test.conf:3: attempt_delay = \"1e2ms\" is not valid" },
	{ "policy = abort\nrace = off\nattempt_delay = +0.5\n",
	  "test.conf:3: attempt_delay = \"+0.5\" is not valid" },
};

START_TEST(broken_files)
{
	const struct broken *b = &broken[_i];
	struct se_conf *c = parse_as("x", b->text);

	/* One message, naming file and line; the good lines still count,
	 * and what was wrong keeps its default. */
	ck_assert_uint_eq(n_said, 1);
	ck_assert_msg(strstr(said, b->message), "said: %s", said);
	ck_assert(strncmp(said, "softerr: ", 9) == 0);
	ck_assert(said[strlen(said) - 1] == '\n');
	ck_assert_int_eq(c->base.policy, SE_POLICY_ABORT);
	ck_assert(!c->base.race);
	ck_assert_uint_eq(c->base.attempt_delay_ms, 250);
	ck_assert_int_eq(c->base.log.to, SE_LOG_OFF);
	ck_assert_uint_eq(c->base.icmp.n, 0);
}
END_TEST

START_TEST(binary_and_long_lines)
{
	char text[4096];
	struct se_conf *c;

	c = parse_as("x", "policy = abort\n\x01\x02\xff\xfe garbage\n");
	ck_assert_uint_eq(n_said, 1);
	ck_assert_int_eq(c->base.policy, SE_POLICY_ABORT);

	memset(text, 'x', sizeof(text));
	memcpy(text, "policy = abort\n", 15);
	text[sizeof(text) - 1] = '\0';
	said[0] = '\0';
	n_said = 0;
	c = parse_as("x", text);
	ck_assert_uint_eq(n_said, 1);
	ck_assert_msg(strstr(said, "test.conf:2: line longer than"), "said: %s", said);
	ck_assert_int_eq(c->base.policy, SE_POLICY_ABORT);
}
END_TEST

START_TEST(too_many_destinations)
{
	char text[8192] = "";
	struct se_conf *c;
	int i;

	for (i = 0; i < SE_CONF_DEST_MAX + 3; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "[destination 192.0.2.%d]\npolicy = abort\n", i);
	c = parse_as("x", text);
	ck_assert_uint_eq(c->n_dest, SE_CONF_DEST_MAX);
	ck_assert_uint_eq(n_said, 3);
}
END_TEST

/* --- Finding the file ---------------------------------------------------- */

static struct se_conf loaded;

static void load(const char *system_file, bool secure)
{
	struct se_conf_source src = source("x");

	src.system_file = system_file;
	if (secure)
		src.getenv_fn = NULL;
	se_conf_load(&loaded, &src);
}

START_TEST(lookup_order)
{
	char sys[128], named[128], xdg[128], home[128], dir[128];

	snprintf(sys, sizeof(sys), "%s/system.conf", tmpdir);
	snprintf(named, sizeof(named), "%s/named.conf", tmpdir);
	snprintf(dir, sizeof(dir), "%s/xdg/softerr", tmpdir);
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	ck_assert_int_eq(mkdir(xdg, 0700), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(home, sizeof(home), "%s/home/.config/softerr", tmpdir);
	snprintf(dir, sizeof(dir), "%s/home", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/home/.config", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(home, 0700), 0);

	write_file(sys, "policy = rfc1122\n");
	write_file(named, "policy = abort\n");
	snprintf(dir, sizeof(dir), "%s/xdg/softerr/softerr.conf", tmpdir);
	write_file(dir, "policy = confirm\n");
	snprintf(dir, sizeof(dir), "%s/home/.config/softerr/softerr.conf", tmpdir);
	write_file(dir, "policy = kernel\n");

	/* Nothing but the system's file. */
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_RFC1122);
	ck_assert_str_eq(loaded.path, sys);
	/* ~/.config before it. */
	snprintf(dir, sizeof(dir), "%s/home", tmpdir);
	set_env("HOME", dir);
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_KERNEL);
	/* $XDG_CONFIG_HOME instead of ~/.config. */
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	set_env("XDG_CONFIG_HOME", xdg);
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_CONFIRM);
	/* $SOFTERR_CONF before all. */
	set_env("SOFTERR_CONF", named);
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ABORT);
	ck_assert_uint_eq(n_said, 0);
	/* Empty: no file at all. */
	set_env("SOFTERR_CONF", "");
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ADAPTIVE);
	ck_assert_str_eq(loaded.path, "");
	/* Named but missing: said, and the defaults (not another file). */
	set_env("SOFTERR_CONF", "/nonexistent/softerr.conf");
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ADAPTIVE);
	ck_assert_uint_eq(n_said, 1);
	ck_assert(strstr(said, "cannot use /nonexistent/softerr.conf"));
	/* Secure-execution mode: the system's file only, whatever the
	 * environment names, and no SOFTERR_* variable either. */
	set_env("SOFTERR_CONF", named);
	set_env("SOFTERR_POLICY", "abort");
	load(sys, true);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_RFC1122);
	/* A missing user file falls through to the system's. */
	set_env("SOFTERR_CONF", NULL);
	set_env("SOFTERR_POLICY", NULL);
	set_env("XDG_CONFIG_HOME", "/nonexistent");
	set_env("HOME", "/nonexistent");
	load(sys, false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_RFC1122);
	/* No file anywhere: the defaults, silently. */
	said[0] = '\0';
	n_said = 0;
	load("/nonexistent/system.conf", false);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ADAPTIVE);
	ck_assert_uint_eq(n_said, 0);
}
END_TEST

START_TEST(unusable_files)
{
	char path[128], big[SE_CONF_FILE_MAX + 100];

	/* A directory. */
	set_env("SOFTERR_CONF", tmpdir);
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	ck_assert(strstr(said, "not a regular file"));
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ADAPTIVE);
	/* Too large. */
	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(path, big);
	set_env("SOFTERR_CONF", path);
	said[0] = '\0';
	n_said = 0;
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	ck_assert(strstr(said, "larger than 64 KiB"));
	/* Empty, and truncated in the middle of a line: fine. */
	write_file(path, "");
	said[0] = '\0';
	n_said = 0;
	load(NULL, false);
	ck_assert_uint_eq(n_said, 0);
	write_file(path, "policy = abort\nattempt_del");
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	ck_assert(strstr(said, ":2: expected"));
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ABORT);
}
END_TEST

/* A file of nothing but faults: ten of them said, then one line for the
 * rest, not one line each at every start of every program. */
START_TEST(warnings_capped_per_file)
{
	char path[128], *text;
	size_t i;
	const char *last;

	text = malloc(SE_CONF_FILE_MAX);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i + 2 <= SE_CONF_FILE_MAX - 1000; i += 2)
		memcpy(text + i, "x\n", 2);
	text[i] = '\0';
	snprintf(path, sizeof(path), "%s/faults.conf", tmpdir);
	write_file(path, text);
	free(text);
	set_env("SOFTERR_CONF", path);
	load(NULL, false);
	ck_assert_uint_eq(n_said, 11);
	ck_assert_msg(strstr(said, "faults.conf:10: expected"), "said: %s", said);
	ck_assert(!strstr(said, "faults.conf:11:"));
	last = said + strlen(said) - 1;
	while (last > said && last[-1] != '\n')
		last--;
	ck_assert_msg(strstr(last, "faults.conf: ") && strstr(last, "32258 more"),
		      "last: %s", last);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ADAPTIVE);

	/* The cap is per file: a good file after it says nothing, and a file
	 * with a few faults says each. */
	said[0] = '\0';
	n_said = 0;
	parse_as("x", "a\nb\nc\npolicy = abort\n");
	ck_assert_uint_eq(n_said, 3);
	said[0] = '\0';
	n_said = 0;
	parse_as("x", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\npolicy = abort\n");
	ck_assert_uint_eq(n_said, 10);
	ck_assert(!strstr(said, "more"));
	said[0] = '\0';
	n_said = 0;
	parse_as("x", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\npolicy = abort\n");
	ck_assert_uint_eq(n_said, 11);
	ck_assert_msg(strstr(said, "test.conf: 1 more"), "said: %s", said);
}
END_TEST

/* Every message is one whole line, "softerr: ...\n", whatever the length
 * of the file's name. */
static void each_line_whole(void)
{
	const char *p = said;

	ck_assert_uint_gt(n_said, 0);
	while (*p) {
		const char *nl = strchr(p, '\n');

		ck_assert_msg(nl, "a message without its newline: %s", p);
		ck_assert(strncmp(p, "softerr: ", 9) == 0);
		ck_assert_uint_le(nl - p, 1023);
		p = nl + 1;
	}
}

/* tmpdir, then components of 199 characters, to len or a little more. */
static void long_dir(char *buf, size_t size, size_t len, bool make)
{
	snprintf(buf, size, "%s", tmpdir);
	while (strlen(buf) < len) {
		size_t at = strlen(buf);

		buf[at] = '/';
		memset(buf + at + 1, 'd', 199);
		buf[at + 200] = '\0';
		if (make)
			ck_assert(mkdir(buf, 0700) == 0 || errno == EEXIST);
	}
}

START_TEST(long_file_names)
{
	static char path[3200];

	/* Missing, with a name of 640 characters: said, whole. */
	long_dir(path, sizeof(path), 480, false);
	strcat(path, "/missing-softerr.conf");
	set_env("SOFTERR_CONF", path);
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	each_line_whole();
	ck_assert_msg(strstr(said, "missing-softerr.conf: "), "said: %s", said);
	/* 635 characters, a bad line in it: said (it was dropped), with the
	 * end of the name and the line number. */
	said[0] = '\0';
	n_said = 0;
	long_dir(path, sizeof(path), 540, true);
	strcat(path, "/softerr.conf");
	write_file(path, "policy = abort\nattempt_delay = soon\n");
	ck_assert_uint_gt(strlen(path), 512);
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	each_line_whole();
	ck_assert_msg(strstr(said, "/softerr.conf:2: attempt_delay = \"soon\""), "said: %s",
		      said);
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ABORT);
	/* 3020 characters, and a directory: said, whole. */
	said[0] = '\0';
	n_said = 0;
	long_dir(path, sizeof(path), 3000, true);
	ck_assert_uint_gt(strlen(path), 2800);
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	each_line_whole();
	ck_assert_msg(strstr(said, "not a regular file"), "said: %s", said);
}
END_TEST

/* Files whose size says nothing true of what reading them gives: not
 * parsed (what they hold is not a configuration, and what was read may
 * be cut anywhere), said in one line, the defaults used. */
START_TEST(size_and_content_disagree)
{
	struct stat st;

	/* A /proc file: size 0, yet it reads as text. */
	ck_assert_int_eq(stat("/proc/self/status", &st), 0);
	ck_assert(S_ISREG(st.st_mode) && st.st_size == 0);
	set_env("SOFTERR_CONF", "/proc/self/status");
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	each_line_whole();
	ck_assert_msg(strstr(said, "cannot use /proc/self/status: its size is 0 but it "
			     "is not empty"), "said: %s", said);
	ck_assert(strstr(said, "the defaults are used\n"));
	ck_assert_int_eq(loaded.base.policy, SE_POLICY_ADAPTIVE);
	/* A /sys file: size 4096, a few bytes in it. */
	ck_assert_int_eq(stat("/sys/kernel/uevent_seqnum", &st), 0);
	ck_assert(S_ISREG(st.st_mode) && st.st_size == 4096);
	said[0] = '\0';
	n_said = 0;
	set_env("SOFTERR_CONF", "/sys/kernel/uevent_seqnum");
	load(NULL, false);
	ck_assert_uint_eq(n_said, 1);
	each_line_whole();
	ck_assert_msg(strstr(said, "cannot use /sys/kernel/uevent_seqnum: it reads as "),
		      "said: %s", said);
	ck_assert_msg(strstr(said, " bytes, its size is 4096"), "said: %s", said);
	/* An empty regular file is only empty: nothing to say. */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
		write_file(path, "");
		said[0] = '\0';
		n_said = 0;
		set_env("SOFTERR_CONF", path);
		load(NULL, false);
		ck_assert_uint_eq(n_said, 0);
	}
}
END_TEST

Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, global_then_program_then_destination_then_environment);
	tcase_add_test(tc, program_by_full_path);
	tcase_add_test(tc, destinations);
	tcase_add_test(tc, icmp_rules_from_the_file);
	tcase_add_loop_test(tc, broken_files, 0, sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(tc, binary_and_long_lines);
	tcase_add_test(tc, too_many_destinations);
	tcase_add_test(tc, lookup_order);
	tcase_add_test(tc, unusable_files);
	tcase_add_test(tc, warnings_capped_per_file);
	tcase_add_test(tc, long_file_names);
	tcase_add_test(tc, size_and_content_disagree);
	suite_add_tcase(s, tc);
	return s;
}
