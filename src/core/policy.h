/* The reaction to errors during connection establishment, RFC 5461.
 *
 * Pure: it sees events and counters, and answers with an action. The engine
 * turns system calls into events and actions into system calls. */
#ifndef SOFTERR_CORE_POLICY_H
#define SOFTERR_CORE_POLICY_H

#include <stdbool.h>

#include "settings.h"

enum se_event {
	SE_EV_SOFT,		/* soft ICMP; the kernel keeps the attempt */
	SE_EV_SOFT_ENDED,	/* soft ICMP; the kernel ended the attempt */
	SE_EV_ENDED,		/* the kernel ended the attempt on a soft ICMP
				 * that an earlier SE_EV_SOFT counted already */
	SE_EV_HARD,		/* hard ICMP, RST, or another fatal error */
	SE_EV_REXMIT,		/* a SYN was sent again (by the kernel or us) */
};

enum se_action {
	SE_ACT_WAIT,		/* let the attempt go on */
	SE_ACT_END,		/* end the attempt; the next candidate may start */
	SE_ACT_RESEND,		/* the kernel ended it: send the SYN again */
};

/* One attempt's counters, RFC 5461 4.2. */
struct se_attempt_counts {
	unsigned nsofterror;
	unsigned nsynrexmit;
};

/* Feeds ev into the counters of one attempt and says what to do.
 * alternative: another candidate is untried or pending (adaptive). */
enum se_action se_policy_step(const struct se_settings *s,
			      struct se_attempt_counts *c, enum se_event ev,
			      bool alternative);

const char *se_action_name(enum se_action a);

/* The questions the rest of the library asks of the policy, so that it
 * reads s->policy nowhere else. */

/* Does softerr act on attempts under s (fail over to other candidates,
 * end or resend attempts)? false: the kernel's policy, observed and logged
 * only. */
bool se_policy_acts(const struct se_settings *s);
/* May an attempt persist past its first soft error for want of an
 * alternative (adaptive)? Whether there is an alternative then matters. */
bool se_policy_may_persist(const struct se_settings *s);
/* Does the first soft error end the attempt (abort; adaptive while there
 * is an alternative)? */
bool se_policy_ends_early(const struct se_settings *s, bool alternative);

#endif
