#!/bin/bash
# Non-blocking connect(): the first ICMP error made visible at once, under
# every way of waiting, without and with libsofterr.so. Needs root; run by
# `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

NB=$top_builddir/tests/lab/se-nbclient
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"

# IPv6: Linux leaves a non-blocking connect waiting for its SYN
# retransmission when the ICMP error came while connect() held the socket.
for mode in poll ppoll select pselect epoll epoll-et epoll-oneshot; do
	run without -- "$NB" --wait $mode reject6.lab $LAB_PORT
	check "$mode, IPv6 soft error: without softerr seen after the retransmission (${MS} ms)" \
		eval 'rc_is 0 && has "attempt 2001:db8:3::13 EHOSTUNREACH 1[0-9][0-9][0-9]"'
	run with -- "$NB" --wait $mode reject6.lab $LAB_PORT
	check "$mode, IPv6 soft error: with softerr SO_ERROR says EHOSTUNREACH at once, connect() again ECONNABORTED (${MS} ms)" \
		eval 'rc_is 0 && has "attempt 2001:db8:3::13 EHOSTUNREACH [0-9]*\.[0-9] again ECONNABORTED" && has "result ok 2001:db8:3::20" && faster $BEFORE_MS'
done
run with -- "$NB" --wait epoll soft6.lab $LAB_PORT
check "ICMPv6 no-route (an unreachable route): ENETUNREACH at once" \
	eval 'rc_is 0 && has "attempt 2001:db8:3::10 ENETUNREACH [0-9]*\.[0-9] again ECONNABORTED" && faster $BEFORE_MS'

# IPv4: Linux already reports the recorded error to a poller but lets the
# attempt go on; with softerr the attempt ends with it.
run without -- "$NB" --wait poll soft.lab $LAB_PORT
check "IPv4 soft error without softerr: reported, attempt still going (EALREADY)" \
	eval 'rc_is 0 && has "attempt 203.0.113.13 EHOSTUNREACH .* again EALREADY"'
run with -- "$NB" --wait poll soft.lab $LAB_PORT
check "IPv4 soft error with softerr: reported and ended (ECONNABORTED)" \
	eval 'rc_is 0 && has "attempt 203.0.113.13 EHOSTUNREACH .* again ECONNABORTED" && faster $BEFORE_MS'

# Healthy: what the kernel says, untouched.
run without -- "$NB" --wait epoll live6.lab $LAB_PORT
plain=$OUT
run with -- "$NB" --wait epoll live6.lab $LAB_PORT
check "a healthy non-blocking connect answers as without softerr (SO_ERROR 0, connect() again 0)" \
	eval 'rc_is 0 && has "attempt 2001:db8:3::20 ok .* again 0"'

# Persisting policies leave non-blocking attempts to the kernel.
run with SOFTERR_POLICY=rfc1122 -- "$NB" --first --wait poll reject6.lab $LAB_PORT
check "rfc1122: a non-blocking attempt is the kernel's (seen after the retransmission)" \
	eval 'has "EHOSTUNREACH 1[0-9][0-9][0-9]"'
run with -- "$NB" --first --wait poll flap6.lab $LAB_PORT
check "adaptive on a lone address: the kernel's (no alternative to fail over to)" \
	eval 'rc_is 0 || has "timeout"'
run with SOFTERR_POLICY=abort -- "$NB" --first --wait poll adminonly.lab $LAB_PORT
check "abort on a lone address, hard error: ended at once" \
	eval 'rc_is 1 && has "attempt 203.0.113.14 EHOSTUNREACH .* again ECONNABORTED" && faster $BEFORE_MS'

# A second connect() while the attempt is pending: EALREADY, as ever.
run without -- "$NB" --first --early --timeout 100 --wait poll holeonly.lab $LAB_PORT
plain=$OUT
run with SOFTERR_POLICY=abort -- "$NB" --first --early --timeout 100 --wait poll holeonly.lab $LAB_PORT
check "connect() again while pending: EALREADY with softerr as without" \
	eval 'has "^early EALREADY" && [ "$(printf "%s\n" "$plain" | grep -c "^early EALREADY")" = 1 ]'
# With an ICMP error already queued, that second connect() reports it, as
# the kernel's does for an attempt it ended (and a third starts anew).
run with SOFTERR_POLICY=abort -- "$NB" --first --early --wait poll reject6only.lab $LAB_PORT
check "connect() again after the ICMP error: the error, seen at once (${MS} ms)" \
	eval '(has "^early EHOSTUNREACH" || has "^early EALREADY") && has "attempt 2001:db8:3::13 EHOSTUNREACH [0-9]*\.[0-9] " && faster $BEFORE_MS'

# The program closes a watched socket while it is pending (a black hole):
# nothing breaks, nothing leaks.
run with -- "$NB" --timeout 100 --wait epoll hole.lab $LAB_PORT
check "a pending watched socket closed by the program: the next address connects" \
	eval 'rc_is 0 && has "attempt 203.0.113.11 timeout" && has "result ok 203.0.113.20"'

# Real programs that connect with non-blocking sockets.
compare_real "curl, IPv6" "hello softerr" $BEFORE_MS $BEFORE_MS curl -sS "http://reject6.lab:$LAB_PORT/"
compare_real "nc -z, IPv6" "succeeded" $BEFORE_MS $BEFORE_MS nc -vz reject6.lab $LAB_PORT
compare_real "ncat, IPv6" "Connected to" $BEFORE_MS $BEFORE_MS ncat -v --send-only reject6.lab $LAB_PORT

# Threads: 16 threads, 1,000 non-blocking connects each through a dead
# first address, with a fork() in the middle.
RUN_LIMIT=180 run with -- "$top_builddir/tests/lab/se-threads" --nonblocking reject6.lab $LAB_PORT 16 1000
check "16 threads x 1,000 non-blocking connects and a fork(): all connected, nothing leaked (${MS} ms)" \
	eval 'rc_is 0 && has "threads ok 16000, child ok" && has "descriptors left 0"'

summary
