#!/bin/bash
# Blocking connect() in the lab: every scenario is run without and with
# libsofterr.so, with real ICMP from a real router namespace, and the
# assertions compare the two. Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"

# A program with a handler installed without SA_RESTART (Python, Java) and
# a black hole: libev's longest single wait (59.7 s) ends with no watcher
# fired, which must not read as a signal (EINTR at 59.8 s). It takes a
# minute: started now, checked at the end.
LONG_OUT=$(mktemp)
in_client env "LD_PRELOAD=${SOFTERR_PRELOAD:-$SOFTERR_LIB}" SOFTERR_ESTABLISH_TIMEOUT=62 \
	timeout 90 "$CLIENT" -4 --first --idle-handler holeonly.lab $LAB_PORT \
	>"$LONG_OUT" 2>&1 </dev/null &
LONG_PID=$!

# --- A soft error on the first address, near router ----------------------
for fam in 4 6; do
	name=soft.lab; [ $fam = 6 ] && name=reject6.lab
	run without -- "$CLIENT" -$fam $name $LAB_PORT
	check "IPv$fam soft error: without softerr the loop waits for the retransmission" \
		eval 'rc_is 0 && slower $BEFORE_MS'
	run with -- "$CLIENT" -$fam $name $LAB_PORT
	check "IPv$fam soft error: with softerr connected before the first retransmission" \
		eval 'rc_is 0 && faster $BEFORE_MS && has "result ok"'
	run without -- "$CLIENT" -$fam --first $name $LAB_PORT
	check "IPv$fam soft error: a first-address-only client fails without softerr" \
		eval 'rc_is 1 && has "result fail EHOSTUNREACH"'
	run with -- "$CLIENT" -$fam --first $name $LAB_PORT
	check "IPv$fam soft error: a first-address-only client connects with softerr" \
		eval 'rc_is 0 && faster $BEFORE_MS'
done

# --- A soft error from a far router ----------------------------------------
# Its error arrives after connect() has let go of the socket, and Linux ends
# the attempt itself (RFC 5461 4.1): a program that loops over the
# addresses moves on without softerr too. One that tries only the first
# address fails without softerr and connects through the second with it.
lab_far_up
for fam in 4 6; do
	name=farsoft.lab dead=203.0.113.100 live=203.0.113.110
	[ $fam = 6 ] && name=farsoft6.lab dead=2001:db8:4::100 live=2001:db8:4::110
	run without -- "$CLIENT" -$fam $name $LAB_PORT
	check "IPv$fam far soft error: without softerr the kernel ends the attempt and the loop moves on" \
		eval 'rc_is 0 && has "attempt $dead EHOSTUNREACH" && has "result ok $live"'
	run without -- "$CLIENT" -$fam --first $name $LAB_PORT
	check "IPv$fam far soft error: a first-address-only client fails without softerr" \
		eval 'rc_is 1 && has "result fail EHOSTUNREACH"'
	run with -- "$CLIENT" -$fam --first $name $LAB_PORT
	check "IPv$fam far soft error: a first-address-only client connects through the second with softerr" \
		eval 'rc_is 0 && has "result ok $live"'
	run with -- "$CLIENT" -$fam $name $LAB_PORT
	check "IPv$fam far soft error: the loop connects with softerr" \
		eval 'rc_is 0 && has "result ok $live"'
done
run without -- "$CLIENT" -4 --first farnet.lab $LAB_PORT
check "far net-unreachable: a first-address-only client fails without softerr" \
	eval 'rc_is 1 && has "result fail ENETUNREACH"'
run with -- "$CLIENT" -4 --first farnet.lab $LAB_PORT
check "far net-unreachable: a first-address-only client connects with softerr" \
	eval 'rc_is 0 && has "result ok 203.0.113.110"'
run without -- sh -c "echo softerr-echo | socat - TCP:farsoft.lab:$LAB_PORT"
rc0=$RC
run with SOFTERR_LOG=1 -- sh -c "echo softerr-echo | socat - TCP:farsoft.lab:$LAB_PORT"
check "socat (first address only) and a far soft error: fails without ($rc0), connects with softerr" \
	eval '[ $rc0 != 0 ] && rc_is 0 && has softerr-echo'

run with -- "$CLIENT" -4 --first netunreach.lab $LAB_PORT
check "net-unreachable (code 0) is soft: failover" eval 'rc_is 0 && faster $BEFORE_MS'
run with -- "$CLIENT" -6 --first soft6.lab $LAB_PORT
check "ICMPv6 no-route from an unreachable route: failover" eval 'rc_is 0 && faster $BEFORE_MS'
run with -- "$CLIENT" -4 --first admin.lab $LAB_PORT
check "admin-prohibited (hard) on the first address: failover" eval 'rc_is 0 && faster $BEFORE_MS'

# The debug line names the ICMP, its offender and the decision.
run with SOFTERR_LOG=1 -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "the debug line tells what happened" \
	has 'to soft.lab port 8080, policy adaptive, 2 candidates: 203.0.113.13 sent at [0-9]* ms; delay 250 ms configured; 203.0.113.13 soft host-unreachable (type 3 code 1) from 192.0.2.1 at [0-9]* ms; 203.0.113.13 ended at [0-9]* ms; 203.0.113.20 sent at [0-9]* ms; 203.0.113.20 connected at [0-9]* ms; connected in [0-9]* ms$'

# A bad setting is named once and the default is used.
run with SOFTERR_POLICY=fastest -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "a bad SOFTERR_POLICY is named once and the default applies" \
	eval 'rc_is 0 && [ "$(printf "%s\n" "$OUT" | grep -c "SOFTERR_POLICY=\"fastest\" is not valid")" = 1 ]'

# kernel policy: exactly what the kernel does.
run with SOFTERR_POLICY=kernel -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "policy kernel: no failover" eval 'rc_is 1 && has "result fail EHOSTUNREACH"'

# --- What must not change --------------------------------------------------
PASSTHROUGH=$top_builddir/tests/lab/se-passthrough
run without -- "$PASSTHROUGH" 203.0.113.20 2001:db8:3::20 $LAB_PORT refused.lab
plain=$OUT
run with -- "$PASSTHROUGH" 203.0.113.20 2001:db8:3::20 $LAB_PORT refused.lab
check "non-TCP, non-blocking, bad arguments, errno, flags, close-on-exec, IP_RECVERR: as without softerr" \
	eval '[ "$OUT" = "$plain" ] && has "descriptors left after 300 *0"'
[ "$OUT" = "$plain" ] || diff <(echo "$plain") <(echo "$OUT") | sed 's/^/#   /'

# Threads and fork(): 8 threads and a forked child failing over at once.
run with -- "$top_builddir/tests/lab/se-threads" soft.lab $LAB_PORT 8 100
check "8 threads x 100 failovers and a fork() in the middle: all connected, nothing leaked$(no_child)" \
	eval 'rc_is 0 && has "threads ok 800, child $CHILD_OK" && has "descriptors left 0"'
# ... and 16 threads x 1,000 through mixed scenarios, a signal handler
# closing the sockets being connected (the engine must end a run whose
# socket is gone, not wait out the black hole), and a fork().
RUN_LIMIT=240 run with -- "$top_builddir/tests/lab/se-threads" --signals \
	reject6.lab,soft.lab,hole.lab,live.lab $LAB_PORT 16 $SOAK
check "16 threads x $SOAK blocking connects, mixed scenarios, a signal handler closing sockets, a fork(): all connected, nothing leaked (${MS} ms$(no_child))" \
	eval 'rc_is 0 && has "threads ok $((16 * SOAK)), child $CHILD_OK" && has "closed by a signal handler [1-9]" && has "descriptors left 0"'

# --- gethostbyname*() feed the candidates too ----------------------------
for how in --hostent --hostent-r; do
	run with -- "$CLIENT" -4 --first $how soft.lab $LAB_PORT
	check "candidates from ${how#--} (gethostbyname2${how#--hostent})" \
		eval 'rc_is 0 && has "result ok 203.0.113.20" && faster $BEFORE_MS'
done

# --- Signals and SO_SNDTIMEO, as the kernel answers them -------------------
run without -- "$CLIENT" -4 --first --alarm 300 holeonly.lab $LAB_PORT
check "a signal without SA_RESTART: EINTR without softerr" eval 'has "attempt 203.0.113.11 EINTR"'
run with -- "$CLIENT" -4 --first --alarm 300 holeonly.lab $LAB_PORT
check "a signal without SA_RESTART: EINTR with softerr (${MS} ms)" \
	eval 'has "attempt 203.0.113.11 EINTR" && faster 1500'
run with SOFTERR_ESTABLISH_TIMEOUT=2 SOFTERR_POLICY=rfc1122 -- \
	"$CLIENT" -4 --first --alarm-restart 300 holeonly.lab $LAB_PORT
check "a signal with SA_RESTART: connect() goes on until its timer (${MS} ms)" \
	eval 'has "attempt 203.0.113.11 ETIMEDOUT" && slower 1900'
# The signal that came decides, not the other handlers: a SIGCHLD handler
# with SA_RESTART firing, beside a handler without it that nothing sends
# (Python, Java), restarts; a SIGALRM without SA_RESTART then interrupts.
run without -- "$CLIENT" -4 --first --idle-handler --child-after 300 --alarm 1200 holeonly.lab $LAB_PORT
ms0=$MS
run with -- "$CLIENT" -4 --first --idle-handler --child-after 300 --alarm 1200 holeonly.lab $LAB_PORT
check "SIGCHLD with SA_RESTART, then SIGALRM without: EINTR at the SIGALRM, as without softerr ($ms0 ms; with ${MS} ms)" \
	eval 'has "attempt 203.0.113.11 EINTR 1[12][0-9][0-9]" && [ $ms0 -ge 1150 ]'
run with SOFTERR_ESTABLISH_TIMEOUT=2 SOFTERR_POLICY=rfc1122 -- \
	"$CLIENT" -4 --first --idle-handler --child-after 300 holeonly.lab $LAB_PORT
check "SIGCHLD with SA_RESTART beside an idle handler without it: connect() goes on until its timer (${MS} ms)" \
	eval 'has "attempt 203.0.113.11 ETIMEDOUT" && slower 1900'
run without -- "$CLIENT" -4 --first --sndtimeo 500 holeonly.lab $LAB_PORT
check "SO_SNDTIMEO: EINPROGRESS without softerr" eval 'has "attempt 203.0.113.11 EINPROGRESS"'
run with -- "$CLIENT" -4 --first --sndtimeo 500 holeonly.lab $LAB_PORT
check "SO_SNDTIMEO: EINPROGRESS with softerr (${MS} ms)" \
	eval 'has "attempt 203.0.113.11 EINPROGRESS" && slower 450 && faster 1500'

# --- A connection that is over before the engine looks -------------------
# The server speaks first and closes at once (FIN, or a reset). The client
# fails over to it (soft.lab: an ICMP error, then the server) and is
# stopped while its SYN is held; the kernel completes the handshake and
# takes in the banner and the close meanwhile, and the engine, let go,
# finds the socket in CLOSE_WAIT (or closed after a handshake): a
# connection, not an attempt still going (it would spin until the timer).
late_look() {	# late_look PORT: sets OUT, RC, MS
	local pidf=$LAB_TMP/late.pid out=$LAB_TMP/late.out pid t0 i
	lab_hold "$1"
	t0=$(now_ms)
	in_client sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" env \
		"LD_PRELOAD=${SOFTERR_PRELOAD:-$SOFTERR_LIB}" SOFTERR_ESTABLISH_TIMEOUT=4 \
		"$CLIENT" -4 --first --read soft.lab "$1" >"$out" 2>&1 </dev/null &
	for i in $(seq 1 50); do [ -s "$pidf" ] && break; sleep 0.01; done
	pid=$(cat "$pidf")
	sleep 0.4			# the SYN to .20 is out, and dropped
	kill -STOP "$pid"
	lab_unhold "$1"		# the kernel's resend at 1 s gets through
	sleep 1.6
	kill -CONT "$pid"
	wait $!
	RC=$?
	MS=$(( $(now_ms) - t0 ))
	OUT=$(cat "$out")
	rm -f "$pidf" "$out"
}
LAB_TMP=$(mktemp -d)
late_look $LAB_BANNER_PORT
check "a server that spoke and closed before the engine looked: connected, the banner read (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && has "read 13 eof"'
late_look $LAB_RESET_PORT
check "... and one that spoke and reset: connected, the banner then the reset read (${MS} ms)" \
	eval 'rc_is 0 && has "result ok" && has "read 13 ECONNRESET"'
rmdir "$LAB_TMP"

# --- Real, unmodified programs from Debian --------------------------------
compare_real "wget" "hello softerr" $BEFORE_MS $BEFORE_MS wget -q -O - --tries=1 "http://soft.lab:$LAB_PORT/"
compare_real "wget IPv6" "hello softerr" $BEFORE_MS $BEFORE_MS wget -6 -q -O - --tries=1 "http://reject6.lab:$LAB_PORT/"
compare_real "telnet" "Connected to soft.lab" $BEFORE_MS $BEFORE_MS telnet soft.lab $LAB_PORT
# socat tries the first address only: without softerr it fails.
run without -- sh -c "echo softerr-echo | socat - TCP:soft.lab:$LAB_PORT"
rc0=$RC
run with SOFTERR_LOG=1 -- sh -c "echo softerr-echo | socat - TCP:soft.lab:$LAB_PORT"
check "socat (first address only): fails without ($rc0), connects with softerr" \
	eval '[ $rc0 != 0 ] && rc_is 0 && has softerr-echo && faster $BEFORE_MS'

# --- Every candidate dead ------------------------------------------------
run with SOFTERR_POLICY=abort -- "$CLIENT" -4 dead.lab $LAB_PORT
check "all dead, abort: fast failure with a soft errno" \
	eval 'rc_is 1 && has "result fail ENETUNREACH\|result fail EHOSTUNREACH" && faster $BEFORE_MS'
run with SOFTERR_ESTABLISH_TIMEOUT=3 -- "$CLIENT" -4 dead.lab $LAB_PORT
check "all dead, adaptive: persists on the last one until the timer, soft errno not ETIMEDOUT" \
	eval 'rc_is 1 && has "result fail E[HN][OE]" && slower 2900 && faster 6000'

# --- Hard errors are not retried on the same address ----------------------
syn0=$(lab_syn14)
run without -- "$CLIENT" -4 adminonly.lab $LAB_PORT
syn1=$(lab_syn14)
run with SOFTERR_POLICY=rfc1122 -- "$CLIENT" -4 adminonly.lab $LAB_PORT
syn2=$(lab_syn14)
check "hard error under rfc1122: fails at once after one SYN ($((syn2 - syn1)) SYNs; without softerr $((syn1 - syn0)) SYNs, ${MS} ms)" \
	eval 'rc_is 1 && has "result fail EHOSTUNREACH" && faster $BEFORE_MS && [ $((syn2 - syn1)) = 1 ]'
run with SOFTERR_POLICY=rfc1122 -- "$CLIENT" -4 portonly.lab $LAB_PORT
check "port-unreachable is hard: ECONNREFUSED at once" \
	eval 'rc_is 1 && has "result fail ECONNREFUSED" && faster $BEFORE_MS'

# --- A route that answers unreachable for a while, then works -------------
flap() {	# flap POLICY-or-"" FAMILY: runs the client through a 2 s flap
	local envs=(-- ) mode=with
	[ "$1" = none ] && mode=without
	[ "$1" != none ] && envs=("SOFTERR_POLICY=$1" --)
	local addr=203.0.113.30 name=flap.lab
	[ "$2" = 6 ] && addr=2001:db8:3::30 name=flap6.lab
	lab_flap $addr 2
	run $mode "${envs[@]}" "$CLIENT" -$2 $name $LAB_PORT
	lab_unflap $addr
	lab_flap_wait
}
for fam in 4 6; do
	flap none $fam
	check "IPv$fam flapping route: without softerr the attempt fails (${MS} ms)" \
		eval 'rc_is 1 && has "result fail E[HN]"'
	flap adaptive $fam
	check "IPv$fam flapping route: adaptive persists and connects (${MS} ms)" \
		eval 'rc_is 0 && slower 1900'
	flap rfc1122 $fam
	check "IPv$fam flapping route: rfc1122 persists and connects (${MS} ms)" \
		eval 'rc_is 0 && slower 1900'
	flap abort $fam
	check "IPv$fam flapping route: abort gives up at once (${MS} ms)" \
		eval 'rc_is 1 && faster $BEFORE_MS'
done
flap confirm 4
check "flapping route: confirm persists and connects (${MS} ms)" eval 'rc_is 0 && slower 1900'

# --- An established connection and a later transient ICMP -----------------
# The route goes once the connection is established (at most 10 s of
# waiting, however slow the client's start) and comes back 3 s later; the
# client writes 2 s after connecting, into the outage.
for mode in without with; do
	( for _ in $(seq 200); do
		in_client ss -Htn state established dst 203.0.113.20 | grep -q . && break
		sleep 0.05
	  done
	  in_router nft add element inet selab flap4 '{ 203.0.113.20 }'
	  sleep 3; lab_unflap 203.0.113.20 ) &
	pid=$!
	run $mode -- "$CLIENT" -4 --echo-after 2000 live.lab $LAB_PORT
	# A run read from the first pass (the sanitizer passes' without)
	# connected nothing: the flapper is not waited out.
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	lab_unflap 203.0.113.20
	check "established connection survives a transient ICMP error ($mode softerr)" \
		eval 'rc_is 0 && has "echo ok"'
done

wait $LONG_PID
RC=$? MS=; OUT=$(cat "$LONG_OUT")
rm -f "$LONG_OUT"
check "a handler without SA_RESTART, nothing sent: the establishment timer holds past libev's longest wait (62 s)" \
	eval 'rc_is 1 && has "attempt 203.0.113.11 ETIMEDOUT 6[2-9][0-9][0-9][0-9]"'

summary
