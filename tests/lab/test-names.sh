#!/bin/bash
# Failover never leaves the name the program connects to. Names that share
# a dead address (virtual hosting, a CDN, a load balancer) each have live
# addresses of their own: a connect() to the shared address, for one name,
# must end on an address of that name, never on another's, whatever order
# the names were looked up in, from whichever thread, blocking or not,
# through getaddrinfo() or gethostbyname2(), and whether the program passes
# the answer's own sockaddr or a copy. Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

NAMES=$top_builddir/tests/lab/se-names
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"

# sharea.lab = 203.0.113.13 (ICMP host-unreachable) and .20,
# shareb.lab = .13 and .21, sharec.lab = .13 and 2001:db8:3::21.
for order in "sharea.lab shareb.lab" "shareb.lab sharea.lab" \
	     "sharea.lab shareb.lab sharec.lab" "sharec.lab shareb.lab sharea.lab" \
	     "shareb.lab sharea.lab sharec.lab"; do
	for how in "" --copy --nb "--nb --copy" --threads "--threads --copy --nb"; do
		run with -- "$NAMES" $how -t sharea.lab $LAB_PORT $order
		check "looked up: $order; ${how:-blocking} connect for sharea.lab ends on its own address" \
			eval 'rc_is 0 && has "^attempt 203.0.113.13 " && has "^result ok 203.0.113.20$"'
	done
	run with -- "$NAMES" --hostent -t sharea.lab $LAB_PORT $order
	check "looked up with gethostbyname2(): $order; connect for sharea.lab ends on its own address" \
		eval 'rc_is 0 && has "^result ok 203.0.113.20$"'
done

# The answer's own sockaddr tells the name: failover within the one
# connect(), to the name's own address.
run with -- "$NAMES" -t shareb.lab $LAB_PORT sharea.lab shareb.lab sharec.lab
check "the answer's sockaddr: shareb.lab fails over within connect() to its own .21" \
	eval 'rc_is 0 && has "^attempt 203.0.113.13 ok$" && has "^result ok 203.0.113.21$"'
run with -- "$NAMES" --nb -t shareb.lab $LAB_PORT shareb.lab sharea.lab sharec.lab
check "the answer's sockaddr, non-blocking: shareb.lab fails over to its own .21" \
	eval 'rc_is 0 && has "^attempt 203.0.113.13 ok$" && has "^result ok 203.0.113.21$"'

# A copy: the name cannot be told; only what the names share is a
# candidate (nothing here), the attempt ends at the first soft error and
# the program moves on itself. The log says why.
run with SOFTERR_LOG=1 -- "$NAMES" --copy -t sharea.lab $LAB_PORT sharea.lab shareb.lab
check "a copied sockaddr of a shared address: no failover, said in the log, the program's own next address" \
	eval 'rc_is 0 && has "^attempt 203.0.113.13 EHOSTUNREACH$" && has "1 candidate (the address of 2 names: only what they share)" && has "^result ok 203.0.113.20$"'

# A black hole shared by two names: the race starts the asked name's own
# next address, never the other's.
for how in "" --nb; do
	run with -- "$NAMES" $how -t holeb.lab $LAB_PORT holeb.lab holea.lab
	check "black hole shared, ${how:-blocking}: raced to holeb.lab's own .21" \
		eval 'rc_is 0 && has "^result ok 203.0.113.21$"'
done

# Many rounds, threads: never a wrong peer.
run with -- "$NAMES" --threads --rounds 50 -t shareb.lab $LAB_PORT sharec.lab sharea.lab shareb.lab
check "50 rounds from threads: every connect for shareb.lab ended on shareb.lab's address" \
	eval 'rc_is 0 && ! has "wrong peer"'
run with -- "$NAMES" --threads --copy --nb --rounds 50 -t sharea.lab $LAB_PORT shareb.lab sharea.lab sharec.lab
check "50 rounds, copies, non-blocking: every connect for sharea.lab ended on sharea.lab's address" \
	eval 'rc_is 0 && ! has "wrong peer"'

summary
