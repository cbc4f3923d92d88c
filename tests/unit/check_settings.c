/* Settings: good values, bad values, and the environment. */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "suites.h"

START_TEST(defaults)
{
	struct se_settings s;

	se_settings_defaults(&s);
	ck_assert_int_eq(s.policy, SE_POLICY_ADAPTIVE);
	ck_assert_uint_eq(s.max_soft_errors, 1);
	ck_assert_uint_eq(s.max_syn_retransmits, 3);
	ck_assert_uint_eq(s.establish_timeout_ms, 75000);
	ck_assert_uint_eq(s.attempt_delay_ms, 250);
	ck_assert_uint_eq(s.persist_timeout_ms, 4000);
	ck_assert_uint_eq(s.max_attempts, 4);
	ck_assert(s.race);
	ck_assert(s.transparent);
	ck_assert_int_eq(s.log.to, SE_LOG_OFF);
}
END_TEST

START_TEST(good_values)
{
	struct se_settings s;

	se_settings_defaults(&s);
	ck_assert_int_eq(se_settings_set(&s, "policy", "RFC1122", NULL), 0);
	ck_assert_int_eq(s.policy, SE_POLICY_RFC1122);
	ck_assert_int_eq(se_settings_set(&s, "policy", "abort", NULL), 0);
	ck_assert_int_eq(s.policy, SE_POLICY_ABORT);
	ck_assert_int_eq(se_settings_set(&s, "max_soft_errors", "0", NULL), 0);
	ck_assert_uint_eq(s.max_soft_errors, 0);
	ck_assert_int_eq(se_settings_set(&s, "max_syn_retransmits", "6", NULL), 0);
	ck_assert_uint_eq(s.max_syn_retransmits, 6);
	ck_assert_int_eq(se_settings_set(&s, "establish_timeout", "20", NULL), 0);
	ck_assert_uint_eq(s.establish_timeout_ms, 20000);
	ck_assert_int_eq(se_settings_set(&s, "establish_timeout", "1.5s", NULL), 0);
	ck_assert_uint_eq(s.establish_timeout_ms, 1500);
	ck_assert_int_eq(se_settings_set(&s, "establish_timeout", "250ms", NULL), 0);
	ck_assert_uint_eq(s.establish_timeout_ms, 250);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "10ms", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 10);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "2", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 2000);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "0.5", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 500);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", ".25", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 250);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "1.", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 1000);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "12.4ms", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 12);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "12.5ms", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 13);
	ck_assert_int_eq(se_settings_set(&s, "attempt_delay", "0.0105", NULL), 0);
	ck_assert_uint_eq(s.attempt_delay_ms, 11);
	ck_assert_int_eq(se_settings_set(&s, "history_lifetime", "86400", NULL), 0);
	ck_assert_uint_eq(s.history_lifetime_ms, 86400000);
	ck_assert_int_eq(se_settings_set(&s, "history_lifetime", "1.000000001", NULL), 0);
	ck_assert_uint_eq(s.history_lifetime_ms, 1000);
	ck_assert_int_eq(se_settings_set(&s, "establish_timeout", "0.1", NULL), 0);
	ck_assert_uint_eq(s.establish_timeout_ms, 100);
	ck_assert_int_eq(se_settings_set(&s, "persist_timeout", "0", NULL), 0);
	ck_assert_uint_eq(s.persist_timeout_ms, 0);
	ck_assert_int_eq(se_settings_set(&s, "persist_timeout", "2.5", NULL), 0);
	ck_assert_uint_eq(s.persist_timeout_ms, 2500);
	ck_assert_int_eq(se_settings_set(&s, "persist_timeout", "3600s", NULL), 0);
	ck_assert_uint_eq(s.persist_timeout_ms, 3600000);
	ck_assert_int_eq(se_settings_set(&s, "max_attempts", "16", NULL), 0);
	ck_assert_uint_eq(s.max_attempts, 16);
	ck_assert_int_eq(se_settings_set(&s, "race", "off", NULL), 0);
	ck_assert(!s.race);
	ck_assert_int_eq(se_settings_set(&s, "transparent", "off", NULL), 0);
	ck_assert(!s.transparent);
	ck_assert_int_eq(se_settings_set(&s, "transparent", "on", NULL), 0);
	ck_assert(s.transparent);
	ck_assert_int_eq(se_settings_set(&s, "log", "yes", NULL), 0);
	ck_assert_int_eq(s.log.to, SE_LOG_STDERR);
	ck_assert_int_eq(se_settings_set(&s, "log", "0", NULL), 0);
	ck_assert_int_eq(s.log.to, SE_LOG_OFF);
	ck_assert_int_eq(se_settings_set(&s, "log", "syslog", NULL), 0);
	ck_assert_int_eq(s.log.to, SE_LOG_SYSLOG);
	ck_assert_int_eq(se_settings_set(&s, "log", "/var/log/softerr.log", NULL), 0);
	ck_assert_int_eq(s.log.to, SE_LOG_FILE);
	ck_assert_str_eq(s.log.path, "/var/log/softerr.log");
	ck_assert_int_eq(se_settings_set(&s, "log", "stderr", NULL), 0);
	ck_assert_int_eq(s.log.to, SE_LOG_STDERR);
	ck_assert_int_eq(se_settings_set(&s, "icmp_soft", "3/13, 3/9", NULL), 0);
	ck_assert_uint_eq(s.icmp.n, 2);
	ck_assert_int_eq(se_settings_set(&s, "icmp6_hard", "no-route", NULL), 0);
	ck_assert_uint_eq(s.icmp.n, 3);
	/* A key given again replaces its own rules only. */
	ck_assert_int_eq(se_settings_set(&s, "icmp_soft", "", NULL), 0);
	ck_assert_uint_eq(s.icmp.n, 1);
}
END_TEST

static const struct {
	const char *key, *value;
} bad[] = {
	{ "policy", "" }, { "policy", "fast" }, { "policy", "abort " },
	{ "max_soft_errors", "-1" }, { "max_soft_errors", "1x" },
	{ "max_soft_errors", "101" }, { "max_soft_errors", "" },
	{ "max_soft_errors", "99999999999999999999" },
	{ "max_syn_retransmits", " 3" }, { "establish_timeout", "0" },
	{ "establish_timeout", "10m" }, { "establish_timeout", "-5" },
	{ "establish_timeout", "99ms" }, { "establish_timeout", "3601" },
	{ "establish_timeout", "nan" }, { "establish_timeout", "inf" },
	{ "attempt_delay", "9ms" }, { "attempt_delay", "2001ms" },
	{ "attempt_delay", "3" }, { "persist_timeout", "3601" },
	{ "persist_timeout", "-1" }, { "persist_timeout", "soon" },
	{ "max_attempts", "0" }, { "max_attempts", "17" },
	{ "race", "sometimes" }, { "transparent", "2" },
	{ "log", "maybe" }, { "log", "relative/file" }, { "log", "" },
	{ "icmp_soft", "3/256" }, { "icmp_soft", "host-unreachable x" },
	{ "icmp6_soft", "3/1/2" }, { "icmp_hard", "no-route" },
	{ "icmp_soft", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17" },
	{ "no_such_key", "1" },
	/* Decimal only: strtod() and strtoul() take more than a person
	 * means ("0x10" was 16 s), and a leading zero reads as octal to some. */
	{ "establish_timeout", "0x10" }, { "establish_timeout", "0X10" },
	{ "establish_timeout", "0x1p4" }, { "establish_timeout", "1e3" },
	{ "establish_timeout", "1E1" }, { "establish_timeout", "010" },
	{ "establish_timeout", "+5" }, { "establish_timeout", " 5" },
	{ "establish_timeout", "5 " }, { "establish_timeout", "5\n" },
	{ "establish_timeout", "5 s" }, { "establish_timeout", "." },
	{ "establish_timeout", "1.2.3" }, { "establish_timeout", "5sec" },
	{ "establish_timeout", "infinity" }, { "establish_timeout", "" },
	{ "establish_timeout", "99999999999999999999999999" },
	{ "establish_timeout", "0.0999" },
	{ "attempt_delay", "0x10ms" }, { "attempt_delay", "1e2ms" },
	{ "attempt_delay", "00.5" }, { "attempt_delay", "9.99ms" },
	{ "history_lifetime", "0x3c" }, { "history_lifetime", "6e1" },
	{ "max_attempts", "010" }, { "max_attempts", "04" }, { "max_attempts", "+4" },
	{ "max_attempts", "0x4" }, { "max_attempts", "4 " }, { "max_soft_errors", "00" },
};

START_TEST(bad_values_leave_settings_alone)
{
	struct se_settings s, before;
	const char *why = NULL;

	se_settings_defaults(&s);
	before = s;
	ck_assert_int_eq(se_settings_set(&s, bad[_i].key, bad[_i].value, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_mem_eq(&s, &before, sizeof(s));
}
END_TEST

static char warned[512];
static int nwarn;

static void warn(const char *msg)
{
	nwarn++;
	snprintf(warned, sizeof(warned), "%s", msg);
}

START_TEST(environment)
{
	struct se_settings s;

	setenv("SOFTERR_POLICY", "confirm", 1);
	setenv("SOFTERR_MAX_SOFT_ERRORS", "many", 1);
	setenv("SOFTERR_ESTABLISH_TIMEOUT", "5", 1);
	setenv("SOFTERR_PERSIST_TIMEOUT", "1500ms", 1);
	setenv("SOFTERR_LOG", "1", 1);
	se_settings_defaults(&s);
	se_settings_from_env(&s, getenv, warn);
	ck_assert_int_eq(s.policy, SE_POLICY_CONFIRM);
	ck_assert_uint_eq(s.max_soft_errors, 1);
	ck_assert_uint_eq(s.establish_timeout_ms, 5000);
	ck_assert_uint_eq(s.persist_timeout_ms, 1500);
	ck_assert_int_eq(s.log.to, SE_LOG_STDERR);
	ck_assert_int_eq(nwarn, 1);
	ck_assert_ptr_nonnull(strstr(warned, "SOFTERR_MAX_SOFT_ERRORS=\"many\""));
	ck_assert_ptr_nonnull(strstr(warned, "kept"));
}
END_TEST

START_TEST(policy_names)
{
	ck_assert_str_eq(se_policy_name(SE_POLICY_KERNEL), "kernel");
	ck_assert_str_eq(se_policy_name(SE_POLICY_ADAPTIVE), "adaptive");
	ck_assert_str_eq(se_policy_name((enum se_policy)42), "?");
}
END_TEST

Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, good_values);
	tcase_add_loop_test(tc, bad_values_leave_settings_alone, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, environment);
	tcase_add_test(tc, policy_names);
	suite_add_tcase(s, tc);
	return s;
}
