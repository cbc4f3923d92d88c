#!/bin/bash
# Staggered parallel attempts for blocking connect(): addresses that never
# answer (black holes), in the lab, without and with libsofterr.so. Needs
# root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
# The attempt delay is 250 ms: "raced" means connected after it, and well
# before the kernel would have given up on the black hole (127 s).
DELAY=250
RACED_MS=1500
# Without the library a black hole holds connect() for about two minutes:
# the runs without it are cut off at 3 s.
WAITED_MS=2900

without_cut() { RUN_LIMIT=3 run without -- "$@"; }

# --- One family -------------------------------------------------------------
for name in hole.lab hole6.lab; do
	without_cut "$CLIENT" $name $LAB_PORT
	check "$name: without softerr still waiting on the black hole when cut off at 3 s" \
		eval 'rc_is 124 && slower $WAITED_MS'
	run with -- "$CLIENT" $name $LAB_PORT
	check "$name: with softerr connected through the second address (${MS} ms)" \
		eval 'rc_is 0 && has "result ok .*:*20 " && slower $DELAY && faster $RACED_MS'
done

# --- Both families ----------------------------------------------------------
run with -- "$CLIENT" --setup bhmix.lab $LAB_PORT
check "IPv6 black hole first, IPv4 second: connected on the program's IPv6 socket (${MS} ms)" \
	eval 'rc_is 0 && has "result ok ::ffff:203.0.113.20" && has "socket family=inet6" && faster $RACED_MS'
lab_prefer_ipv4 on
run with -- "$CLIENT" --setup bhmix4.lab $LAB_PORT
lab_prefer_ipv4 off
check "IPv4 black hole first, IPv6 second: an IPv6 winner in the program's IPv4 descriptor (${MS} ms)" \
	eval 'rc_is 0 && has "attempt 203.0.113.11 ok" && has "result ok 2001:db8:3::20" && has "socket family=inet6" && faster $RACED_MS'

# --- One socket, one family -------------------------------------------------
# A dual-stack (AF_INET6) socket, as Java's and Python's, to a name whose
# IPv4 address answers with a soft error and whose IPv6 address is live.
# Linux keeps sending the SYNs of a socket that connected to a mapped
# address as IPv4, even after connect(AF_UNSPEC) to a native IPv6 address:
# the IPv6 attempt must go on a fresh socket (it would wait out the timer).
lab_prefer_ipv4 on
run without -- "$CLIENT" --dual soft4live6.lab $LAB_PORT
check "dual-stack socket, soft IPv4 then live IPv6: without softerr the program's loop connects after the retransmission (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 2001:db8:3::20" && slower $BEFORE_MS'
for first in "" --first; do
	run with SOFTERR_ESTABLISH_TIMEOUT=5 -- "$CLIENT" --dual $first soft4live6.lab $LAB_PORT
	# Timed by the client (a loaded machine slows the namespace's exec).
	check "dual-stack socket, soft IPv4 then live IPv6${first:+ ($first)}: with softerr the IPv6 address at once (${MS} ms)" \
		eval 'rc_is 0 && has "result ok 2001:db8:3::20 [0-8]\?[0-9]\{1,2\}\."'
done
# No private socket (a bound local port): not tried on that socket; the
# program's next socket reaches it (under abort: adaptive would persist on
# the only candidate left).
run with SOFTERR_ESTABLISH_TIMEOUT=5 SOFTERR_POLICY=abort -- \
	"$CLIENT" --dual --bind ::,40123 soft4live6.lab $LAB_PORT
check "... a bound local port (no private socket): the soft error at once, the IPv6 address on the next socket (${MS} ms)" \
	eval 'rc_is 0 && has "attempt 203.0.113.13 EHOSTUNREACH" && has "result ok 2001:db8:3::20 [0-8]\?[0-9]\{1,2\}\."'
lab_prefer_ipv4 off

# --- Black hole, ICMP, and a live one --------------------------------------
run with SOFTERR_LOG=1 -- "$CLIENT" -4 --first bhicmp.lab $LAB_PORT
check "black hole, soft ICMP, live: the ICMP ends its attempt and the next starts at once (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && has "203.0.113.13 soft host-unreachable" && has "203.0.113.13 ended" && has "203.0.113.11 cancelled" && faster $RACED_MS'

# --- Every address a black hole ---------------------------------------------
run with SOFTERR_ESTABLISH_TIMEOUT=2 -- "$CLIENT" --first allholes.lab $LAB_PORT
check "all black holes: ETIMEDOUT when the establishment timer ends (${MS} ms)" \
	eval 'rc_is 1 && has "result fail ETIMEDOUT" && slower 1900 && faster 3500'

# --- The cap on attempts in flight -----------------------------------------
run with SOFTERR_LOG=1 SOFTERR_ATTEMPT_DELAY=100ms SOFTERR_ESTABLISH_TIMEOUT=2 -- \
	"$CLIENT" -4 --first manyholes.lab $LAB_PORT
check "five black holes before the live one, cap 4: four attempts, then the timer (${MS} ms)" \
	eval 'rc_is 1 && [ "$(count " sent")" = 4 ] && has "result fail ETIMEDOUT"'
run with SOFTERR_LOG=1 SOFTERR_ATTEMPT_DELAY=100ms SOFTERR_MAX_ATTEMPTS=6 -- \
	"$CLIENT" -4 --first manyholes.lab $LAB_PORT
check "the same with SOFTERR_MAX_ATTEMPTS=6: the sixth connects (${MS} ms)" \
	eval 'rc_is 0 && [ "$(count " sent")" = 6 ] && has "result ok 203.0.113.20" && slower 500'

# --- What the program set up travels with the winner -----------------------
run with -- "$CLIENT" -4 --first --setup --bind 192.0.2.2 hole.lab $LAB_PORT
check "TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF, bind(), close-on-exec and blocking mode on the winning socket" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && has "socket family=inet nodelay=1 keepalive=1 rcvbuf=131072 local=192.0.2.2 port=[0-9]* cloexec=1 nonblock=0 recverr=0"'
run with -- "$CLIENT" -4 --first --bind 192.0.2.2 hole.lab $LAB_PORT
check "a descriptor without close-on-exec stays without it" \
	eval 'rc_is 0 && has "nodelay=0 keepalive=0 .* cloexec=0 nonblock=0"'
run with -- "$CLIENT" -4 --first --bind 192.0.2.2,40000 hole.lab $LAB_PORT
check "a bound local port: one attempt at a time on the program's socket (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && has "local=192.0.2.2 port=40000" && slower $DELAY && faster $RACED_MS'
run with SOFTERR_RACE=off SOFTERR_LOG=1 -- "$CLIENT" -4 --first hole.lab $LAB_PORT
check "SOFTERR_RACE=off: the silent attempt gives way after the delay, one at a time (${MS} ms)" \
	eval 'rc_is 0 && has "203.0.113.11 silent, gives way" && has "result ok 203.0.113.20" && slower $DELAY && faster $RACED_MS'

# --- No descriptor left for a private socket ---------------------------------
# RLIMIT_NOFILE leaves the program its own socket and nothing more (EMFILE
# for a private one): the candidates go one at a time on the program's
# socket rather than the live one be dropped (it waited out the timer).
run with SOFTERR_ESTABLISH_TIMEOUT=3 -- "$CLIENT" -4 --first --nofile 4 hole.lab $LAB_PORT
check "no descriptor for a private socket: the silent attempt gives way on the program's socket (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && faster $BEFORE_MS'

# --- Real, unmodified programs ---------------------------------------------
# Without the library these wait on the black hole until cut off at 3 s.
export WITHOUT_LIMIT=3 WITHOUT_RC=124
compare_real "wget" "hello softerr" $WAITED_MS $RACED_MS wget -q -O - --tries=1 "http://hole.lab:$LAB_PORT/"
compare_real "telnet" "Connected to hole.lab" $WAITED_MS $RACED_MS telnet hole.lab $LAB_PORT
compare_real "socat" "softerr-echo" $WAITED_MS $RACED_MS sh -c "echo softerr-echo | socat - TCP:hole.lab:$LAB_PORT"

unset WITHOUT_LIMIT WITHOUT_RC

# --- A signal handler that longjmp()s out of connect() (wget --timeout) ----
run with SOFTERR_RACE=off SOFTERR_ATTEMPT_DELAY=2 SOFTERR_LOG=1 -- \
	"$CLIENT" -4 --longjmp 400 longjmp.lab $LAB_PORT
check "longjmp out of connect() twice: the library recovers for the third, nothing left open" \
	eval 'rc_is 0 && has "attempt 203.0.113.11 jumped" && has "attempt 203.0.113.41 jumped" && has "connect fd [0-9]* to 203.0.113.20 port 8080.*connected in" && has "descriptors left 0"'
run with SOFTERR_ATTEMPT_DELAY=300ms -- "$CLIENT" -4 --longjmp 400 longjmp.lab $LAB_PORT
check "longjmp out of a race: its private socket is closed on the next call (${MS} ms)" \
	eval 'rc_is 0 && has "attempt 203.0.113.11 jumped" && has "result ok 203.0.113.20" && has "descriptors left 0"'
RUN_LIMIT=10 run without -- wget -T 1 --tries=1 -q -O - "http://longjmp.lab:$LAB_PORT/"
rc0=$RC ms0=$MS
run with -- wget -T 1 --tries=1 -q -O - "http://longjmp.lab:$LAB_PORT/"
check "wget -T 1 through two black holes: ${ms0} ms without softerr, ${MS} ms with" \
	eval '[ $rc0 = 0 ] && [ $ms0 -ge 1900 ] && rc_is 0 && has "hello softerr" && faster 1000'

# --- 10,000 races, 4 threads and a forked child: nothing leaked -------------
RUN_LIMIT=120 run with SOFTERR_ATTEMPT_DELAY=10ms -- \
	"$top_builddir/tests/lab/se-threads" hole.lab $LAB_PORT 4 2500
check "10,000 races in 4 threads (and 2,500 in a child): all connected, no descriptor left (${MS} ms$(no_child))" \
	eval 'rc_is 0 && has "threads ok 10000, child $CHILD_OK" && has "descriptors left 0"'

summary
