/* The policy engine as tables: a sequence of events, the actions expected. */
#include "config.h"

#include <string.h>

#include "core/policy.h"
#include "suites.h"

#define S SE_EV_SOFT
#define SE SE_EV_SOFT_ENDED
#define E SE_EV_ENDED
#define H SE_EV_HARD
#define R SE_EV_REXMIT
#define W SE_ACT_WAIT
#define X SE_ACT_END
#define Y SE_ACT_RESEND

struct row {
	const char *what;
	enum se_policy policy;
	bool alternative;
	int n;
	enum se_event ev[10];
	enum se_action want[10];
};

static const struct row rows[] = {
	/* kernel: whatever the kernel did stands */
	{ "kernel keeps a recorded soft error", SE_POLICY_KERNEL, true, 2, { S, S }, { W, W } },
	{ "kernel ends with the kernel", SE_POLICY_KERNEL, true, 2, { S, SE }, { W, X } },
	{ "kernel hard", SE_POLICY_KERNEL, false, 1, { H }, { X } },
	/* rfc1122: a soft error never ends an attempt */
	{ "rfc1122 waits", SE_POLICY_RFC1122, true, 3, { S, R, S }, { W, W, W } },
	{ "rfc1122 resends what the kernel ended", SE_POLICY_RFC1122, true, 4,
	  { S, R, SE, R }, { W, W, Y, W } },
	{ "rfc1122 resends after many", SE_POLICY_RFC1122, false, 8,
	  { SE, R, SE, R, SE, R, SE, E }, { Y, W, Y, W, Y, W, Y, Y } },
	{ "rfc1122 hard", SE_POLICY_RFC1122, false, 2, { S, H }, { W, X } },
	/* abort, RFC 5461 4.1 */
	{ "abort on the first recorded", SE_POLICY_ABORT, false, 1, { S }, { X } },
	{ "abort on the first ended", SE_POLICY_ABORT, false, 1, { SE }, { X } },
	{ "abort when ended later", SE_POLICY_ABORT, true, 1, { E }, { X } },
	/* confirm, RFC 5461 4.2 with BSD's 1 and 3 */
	{ "confirm needs both counters", SE_POLICY_CONFIRM, true, 9,
	  { S, R, S, R, S, R, S, R, S }, { W, W, W, W, W, W, W, W, X } },
	{ "confirm resends before confirmed", SE_POLICY_CONFIRM, false, 4,
	  { SE, R, SE, R }, { Y, W, Y, W } },
	{ "confirm: retransmissions alone are not enough", SE_POLICY_CONFIRM, false, 6,
	  { R, R, R, R, R, S }, { W, W, W, W, W, W } },
	{ "confirm: errors alone are not enough", SE_POLICY_CONFIRM, false, 5,
	  { S, S, S, S, S }, { W, W, W, W, W } },
	{ "confirm ends an ended attempt once confirmed", SE_POLICY_CONFIRM, false, 6,
	  { S, R, R, R, R, SE }, { W, W, W, W, W, X } },
	{ "confirm: E does not count an error twice", SE_POLICY_CONFIRM, false, 6,
	  { S, R, R, R, R, E }, { W, W, W, W, W, Y } },
	{ "confirm hard", SE_POLICY_CONFIRM, false, 1, { H }, { X } },
	/* adaptive: abort with an alternative, confirm without */
	{ "adaptive with an alternative", SE_POLICY_ADAPTIVE, true, 1, { S }, { X } },
	{ "adaptive on the last candidate", SE_POLICY_ADAPTIVE, false, 3,
	  { S, R, SE }, { W, W, Y } },
	{ "adaptive last, confirmed", SE_POLICY_ADAPTIVE, false, 8,
	  { S, R, SE, R, R, R, SE, R }, { W, W, Y, W, W, W, X, W } },
};

START_TEST(policy_table)
{
	const struct row *row = &rows[_i];
	struct se_settings s;
	struct se_attempt_counts c;
	int i;

	se_settings_defaults(&s);
	s.policy = row->policy;
	memset(&c, 0, sizeof(c));
	for (i = 0; i < row->n; i++) {
		enum se_action a = se_policy_step(&s, &c, row->ev[i], row->alternative);

		ck_assert_msg(a == row->want[i], "%s: event %d: %s, expected %s",
			      row->what, i, se_action_name(a),
			      se_action_name(row->want[i]));
	}
}
END_TEST

START_TEST(counters_follow_settings)
{
	struct se_settings s;
	struct se_attempt_counts c = { 0, 0 };

	se_settings_defaults(&s);
	s.policy = SE_POLICY_CONFIRM;
	s.max_soft_errors = 0;
	s.max_syn_retransmits = 0;
	ck_assert_int_eq(se_policy_step(&s, &c, SE_EV_SOFT, false), SE_ACT_WAIT);
	ck_assert_int_eq(se_policy_step(&s, &c, SE_EV_REXMIT, false), SE_ACT_WAIT);
	ck_assert_int_eq(se_policy_step(&s, &c, SE_EV_SOFT, false), SE_ACT_END);
	ck_assert_uint_eq(c.nsofterror, 2);
	ck_assert_uint_eq(c.nsynrexmit, 1);
}
END_TEST

/* The questions asked of the policy elsewhere: what each policy answers. */
START_TEST(predicates)
{
	static const struct {
		enum se_policy p;
		bool acts, persists, early_alt, early_none;
	} t[] = {
		{ SE_POLICY_KERNEL, false, false, false, false },
		{ SE_POLICY_RFC1122, true, false, false, false },
		{ SE_POLICY_ABORT, true, false, true, true },
		{ SE_POLICY_CONFIRM, true, false, false, false },
		{ SE_POLICY_ADAPTIVE, true, true, true, false },
	};
	struct se_settings s;
	size_t i;

	se_settings_defaults(&s);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s.policy = t[i].p;
		ck_assert_msg(se_policy_acts(&s) == t[i].acts, "acts %zu", i);
		ck_assert_msg(se_policy_may_persist(&s) == t[i].persists, "persists %zu", i);
		ck_assert_msg(se_policy_ends_early(&s, true) == t[i].early_alt, "early %zu", i);
		ck_assert_msg(se_policy_ends_early(&s, false) == t[i].early_none, "early-none %zu", i);
	}
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, policy_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, counters_follow_settings);
	tcase_add_test(tc, predicates);
	suite_add_tcase(s, tc);
	return s;
}
