/* The policy table of DESIGN.md 3, one function. */
#include "config.h"

#include "policy.h"

/* RFC 5461 4.2: abort once both counters exceed their maxima. */
static bool confirmed(const struct se_settings *s,
		      const struct se_attempt_counts *c)
{
	return c->nsofterror > s->max_soft_errors &&
	       c->nsynrexmit > s->max_syn_retransmits;
}

enum se_action se_policy_step(const struct se_settings *s,
			      struct se_attempt_counts *c, enum se_event ev,
			      bool alternative)
{
	enum se_policy p = s->policy;
	bool ended;

	switch (ev) {
	case SE_EV_REXMIT:
		c->nsynrexmit++;
		return SE_ACT_WAIT;
	case SE_EV_HARD:
		return SE_ACT_END;
	case SE_EV_SOFT:
	case SE_EV_SOFT_ENDED:
		c->nsofterror++;
		break;
	case SE_EV_ENDED:
		break;
	}
	ended = ev != SE_EV_SOFT;

	if (p == SE_POLICY_ADAPTIVE)
		p = alternative ? SE_POLICY_ABORT : SE_POLICY_CONFIRM;

	switch (p) {
	case SE_POLICY_KERNEL:
		/* Whatever the kernel did stands. */
		return ended ? SE_ACT_END : SE_ACT_WAIT;
	case SE_POLICY_RFC1122:
		return ended ? SE_ACT_RESEND : SE_ACT_WAIT;
	case SE_POLICY_ABORT:
		return SE_ACT_END;
	case SE_POLICY_CONFIRM:
	case SE_POLICY_ADAPTIVE:
		if (confirmed(s, c))
			return SE_ACT_END;
		return ended ? SE_ACT_RESEND : SE_ACT_WAIT;
	}
	return SE_ACT_END;
}

const char *se_action_name(enum se_action a)
{
	switch (a) {
	case SE_ACT_WAIT:
		return "wait";
	case SE_ACT_RESEND:
		return "resend";
	case SE_ACT_END:
		break;
	}
	return "end";
}

bool se_policy_acts(const struct se_settings *s)
{
	return s->policy != SE_POLICY_KERNEL;
}

bool se_policy_may_persist(const struct se_settings *s)
{
	return s->policy == SE_POLICY_ADAPTIVE;
}

bool se_policy_ends_early(const struct se_settings *s, bool alternative)
{
	return s->policy == SE_POLICY_ABORT ||
	       (s->policy == SE_POLICY_ADAPTIVE && alternative);
}
