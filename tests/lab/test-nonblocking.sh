#!/bin/bash
# Non-blocking connect(): transparent failover under every way of waiting
# (poll, ppoll, select, pselect, epoll level-triggered, edge-triggered and
# one-shot), without and with libsofterr.so; the visible mode; real
# programs; threads and fork. Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

NB=$top_builddir/tests/lab/se-nbclient
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
MODES="poll ppoll select pselect epoll epoll-et epoll-oneshot"

# An ICMPv6 soft error on the first address: without softerr the program
# waits for the SYN retransmission, then moves on itself; with it, the very
# same connect() ends connected to the second address, and the program's
# wait, SO_ERROR, getpeername(), a second connect() and the data all say so.
for mode in $MODES; do
	run without -- "$NB" --wait $mode reject6.lab $LAB_PORT
	check "$mode, ICMPv6 soft error: without softerr seen after the retransmission (${MS} ms)" \
		eval 'rc_is 0 && has "attempt 2001:db8:3::13 EHOSTUNREACH 1[0-9][0-9][0-9]"'
	run with -- "$NB" --wait $mode reject6.lab $LAB_PORT
	check "$mode, ICMPv6 soft error: with softerr the first connect() ends on the second address (${MS} ms)" \
		eval 'rc_is 0 && has "^attempt 2001:db8:3::13 ok [0-9.]* again 0$" && has "result ok 2001:db8:3::20 .* read echoed" && faster $BEFORE_MS'
done
# Registered with epoll before connect(): the registration moves too.
for mode in epoll epoll-et epoll-oneshot; do
	run with -- "$NB" --before --wait $mode reject6.lab $LAB_PORT
	check "$mode registered before connect(): carried over to the winner (${MS} ms)" \
		eval 'rc_is 0 && has "^attempt 2001:db8:3::13 ok" && has "result ok 2001:db8:3::20 .* read echoed" && faster $BEFORE_MS'
done

# Sockets numbered far above 1024, as in a busy server or proxy: the
# records of what the program set up reach them too (racing on a private
# socket; an epoll registration made before connect() carried over), up to
# the highest number the hard RLIMIT_NOFILE leaves (the client raises its
# soft limit to N + 1024). Past 65536 only where the hard limit allows it:
# raising that needs CAP_SYS_RESOURCE (the unit tests go past 2^20).
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
top=$(( hard - 1024 ))
[ $top -gt 1047552 ] && top=1047552
highs="1500 10000"
[ $top -gt 10000 ] && highs="$highs $top"
[ $top -gt 70000 ] && highs="$highs 70000"
for high in $highs; do
	run with SOFTERR_LOG=1 -- "$CLIENT" --high $high hole.lab $LAB_PORT
	check "a blocking socket numbered $high: raced on a private socket, connected (${MS} ms)" \
		eval 'rc_is 0 && has "connect fd $high " && has "sent on a new socket" && has "result ok 203.0.113.20"'
	run with -- "$NB" --high $high --before --wait epoll-et reject6.lab $LAB_PORT
	check "a non-blocking socket numbered $high, registered with epoll before connect(): carried over (${MS} ms)" \
		eval 'rc_is 0 && has "^attempt 2001:db8:3::13 ok" && has "result ok 2001:db8:3::20 .* read echoed"'
done

# IPv4: Linux reports the recorded error to a poller at once; with softerr
# the program never sees it and is connected to the next address.
run without -- "$NB" --wait poll soft.lab $LAB_PORT
check "IPv4 soft error without softerr: reported to the program (EHOSTUNREACH, attempt still going)" \
	eval 'rc_is 0 && has "attempt 203.0.113.13 EHOSTUNREACH .* again EALREADY"'
run with -- "$NB" --wait select soft.lab $LAB_PORT
check "IPv4 soft error with softerr: connected to the next address (${MS} ms)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.13 ok" && has "result ok 203.0.113.20 .* read echoed" && faster $BEFORE_MS'
run with -- "$NB" --wait epoll-et soft6.lab $LAB_PORT
check "ICMPv6 no-route near: connected to the next address (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 2001:db8:3::20 .* read echoed" && faster $BEFORE_MS'

# A black hole first: the next address is raced after the attempt delay.
for mode in ppoll epoll-oneshot; do
	run without -- "$NB" --timeout 1500 --wait $mode hole.lab $LAB_PORT
	check "$mode, black hole: without softerr the program's own timeout (${MS} ms)" \
		eval 'has "attempt 203.0.113.11 timeout"'
	run with -- "$NB" --timeout 1500 --wait $mode hole.lab $LAB_PORT
	check "$mode, black hole: with softerr connected to the next address after the attempt delay (${MS} ms)" \
		eval 'rc_is 0 && has "^attempt 203.0.113.11 ok 2[4-9][0-9]\." && has "result ok 203.0.113.20 .* read echoed"'
done

# Every address dead: one failure, the run's errno, when the policy gives up.
run with SOFTERR_POLICY=abort -- "$NB" --first --wait pselect dead.lab $LAB_PORT
check "all dead (abort): the program sees one failure at once, SO_ERROR the ICMP error's errno, connect() again ECONNABORTED (${MS} ms)" \
	eval 'rc_is 1 && has "^attempt 203.0.113.13 E[HN][A-Z]*UNREACH [0-9.]* again ECONNABORTED" && faster $BEFORE_MS'
run with SOFTERR_POLICY=abort -- "$NB" --first --wait poll adminonly.lab $LAB_PORT
check "a hard error on a lone address: ended at once" \
	eval 'rc_is 1 && has "attempt 203.0.113.14 EHOSTUNREACH .* again ECONNABORTED" && faster $BEFORE_MS'

# A route that answers unreachable for 2 s, then works, on a lone IPv4
# address: the kernel tells the program at once and it gives up; adaptive
# persists behind the stand-in and the program sees only the connection.
flap() {	# flap with|without
	lab_flap 203.0.113.30 2
	run $1 -- "$NB" --first --timeout 20000 --wait epoll flap.lab $LAB_PORT
	lab_unflap 203.0.113.30
	lab_flap_wait
}
flap without
check "IPv4 flapping route, lone address: without softerr the program sees EHOSTUNREACH (${MS} ms)" \
	eval 'rc_is 1 && has "attempt 203.0.113.30 EHOSTUNREACH"'
flap with
check "IPv4 flapping route, lone address: adaptive persists, the program sees only the connection (${MS} ms)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.30 ok" && has "read echoed" && slower 1900'

# Healthy: what the kernel says, untouched.
run without -- "$NB" --wait epoll live6.lab $LAB_PORT
plain=$OUT
run with -- "$NB" --wait epoll live6.lab $LAB_PORT
check "a healthy non-blocking connect answers as without softerr (SO_ERROR 0, connect() again 0)" \
	eval 'rc_is 0 && has "attempt 2001:db8:3::20 ok .* again 0" && has "read echoed"'

# The visible mode (transparent = off): the first ICMP error is the
# program's to see, at once, and it fails over itself.
for mode in poll epoll; do
	run with SOFTERR_TRANSPARENT=off -- "$NB" --wait $mode reject6.lab $LAB_PORT
	check "$mode, transparent off: SO_ERROR says EHOSTUNREACH at once, connect() again ECONNABORTED (${MS} ms)" \
		eval 'rc_is 0 && has "attempt 2001:db8:3::13 EHOSTUNREACH [0-9]*\.[0-9] again ECONNABORTED" && has "result ok 2001:db8:3::20" && faster $BEFORE_MS'
done

# A second connect() while the attempt is pending: EALREADY, as ever.
run without -- "$NB" --first --early --timeout 100 --wait poll holeonly.lab $LAB_PORT
plain=$OUT
run with -- "$NB" --first --early --timeout 100 --wait poll holeonly.lab $LAB_PORT
check "connect() again while pending: EALREADY with softerr as without" \
	eval 'has "^early EALREADY" && [ "$(printf "%s\n" "$plain" | grep -c "^early EALREADY")" = 1 ]'

# The program closes its socket while the run is in flight (its own 100 ms
# timeout on a black hole): nothing breaks, and its next address connects.
run with -- "$NB" --timeout 100 --wait epoll hole.lab $LAB_PORT
check "a pending socket closed by the program: the run ends, the next address connects" \
	eval 'rc_is 0 && has "attempt 203.0.113.11 timeout" && has "result ok 203.0.113.20"'

# Real programs that connect with non-blocking sockets.
compare_real "curl, IPv6" "hello softerr" $BEFORE_MS $BEFORE_MS curl -sS "http://reject6.lab:$LAB_PORT/"
compare_real "nc -z, IPv6" "succeeded" $BEFORE_MS $BEFORE_MS nc -vz reject6.lab $LAB_PORT
compare_real "ncat (epoll), IPv6" "Connected to" $BEFORE_MS $BEFORE_MS ncat -v --send-only reject6.lab $LAB_PORT
WITHOUT_LIMIT=3 WITHOUT_RC=124 compare_real "curl, a black hole first" "hello softerr" 2900 1000 curl -sS "http://hole.lab:$LAB_PORT/"

# Threads: 16 threads, 1,000 non-blocking connects each through mixed
# scenarios (ICMPv6 and IPv4 soft errors, a black hole, healthy), a signal
# handler closing the sockets being connected all along, and a fork() in the
# middle.
RUN_LIMIT=240 run with -- "$top_builddir/tests/lab/se-threads" --nonblocking --signals \
	reject6.lab,soft.lab,hole6.lab,live.lab $LAB_PORT 16 $SOAK
check "16 threads x $SOAK non-blocking connects, mixed scenarios, a signal handler closing sockets, a fork(): all connected, nothing leaked (${MS} ms$(no_child))" \
	eval 'rc_is 0 && has "threads ok $((16 * SOAK)), child $CHILD_OK" && has "closed by a signal handler [1-9]" && has "descriptors left 0"'

summary
