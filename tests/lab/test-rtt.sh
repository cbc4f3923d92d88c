#!/bin/bash
# Attempt delays from the handshake times the address history measured,
# and what a program gives up on: a black-holed first address whose other
# address answers in about 5 ms gives way after tens of ms, not the
# attempt delay; paths far slower than their history (300 and 600 ms
# handshakes) never fail and pay one needless SYN at most; curl, which
# races IPv4 200 ms after a silent IPv6 address and closes it, teaches the
# history, and the next curl goes to the live address first. Needs root;
# run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

# The far router about 5 ms away (2 ms each way and the relay's own time).
LAB_FAR_DELAY=2
lab_up
lab_far_up
echo "# lab up: $LAB_C $LAB_R $LAB_S $LAB_F"
T=$(mktemp -d)
chmod 700 "$T"
trap 'rm -rf "$T"; lab_down' EXIT
mkdir -m 700 "$T/a" "$T/b"
H="XDG_RUNTIME_DIR=$T/a SOFTERR_HISTORY_SHARE=on SOFTERR_LOG=1"

# farhole.lab: 203.0.113.99 (the far router drops it), then 203.0.113.110.
run with SOFTERR_LOG=1 -- "$CLIENT" -4 farhole.lab $LAB_PORT
check "no history: the black hole costs the configured delay (${MS} ms)" \
	eval 'rc_is 0 && has "^result ok 203.0.113.110" && ! took_under 240 && has "delay 250 ms configured"'
printf '%s\n' "$OUT" | sed -n 's/.*farhole.lab.*; connected in \([0-9]*\) ms$/# figure: black hole first, no history: connected in \1 ms/p'

# The history learns 203.0.113.110's handshake (farpair.lab: .110, .111).
run with $H -- "$CLIENT" -4 farpair.lab $LAB_PORT
run with $H -- "$CLIENT" -4 farhole.lab $LAB_PORT
# (Not the wall time: the delay comes from the handshake time measured on
# this machine, loaded or not.)
check "the first process through the black hole races after twice its sibling's handshake time, not 250 ms" \
	eval 'rc_is 0 && has "^result ok 203.0.113.110" && has "203.0.113.99 sent at [0-9]* ms; delay [0-9]* ms from sibling 203.0.113.110 (srtt [0-9.]* ms); 203.0.113.110 sent on a new socket at \([0-9]\|[0-9][0-9]\|1[0-9][0-9]\|2[0-3][0-9]\) ms;"'
printf '%s\n' "$OUT" | sed -n 's/.*farhole.lab.*; connected in \([0-9]*\) ms$/# figure: black hole first, 5 ms sibling known: connected in \1 ms/p'
printf '%s\n' "$OUT" | grep "softerr: connect" | sed 's/^/# /'
run with $H -- "$CLIENT" -4 farhole.lab $LAB_PORT
check "... and the black hole is remembered: the second process goes to the live address first" \
	eval 'rc_is 0 && has "^attempt 203.0.113.110 ok" && has "getaddrinfo farhole.lab: 203.0.113.99 tried last (no answer"'

# The prober, each time with a history that knows 203.0.113.110's
# handshake and nothing of 203.0.113.99 (one that saw it stay silent
# tries it last, and needs no delay).
fresh() {	# fresh DIR: $P, a history that has seen farpair.lab only
	mkdir -m 700 "$T/$1"
	P="XDG_RUNTIME_DIR=$T/$1 SOFTERR_HISTORY_SHARE=on"
	run with $P -- "$CLIENT" -4 farpair.lab $LAB_PORT
}
fresh p1
run without $P -- "$top_builddir/src/tools/softerr-probe" farhole.lab $LAB_PORT
check "softerr-probe says the delay and where it came from" \
	eval 'rc_is 0 && has "^attempt delay: [0-9]* ms from sibling 203.0.113.110 (srtt [0-9.]* ms)$"'
fresh p2
run without $P -- "$top_builddir/src/tools/softerr-probe" --json farhole.lab $LAB_PORT
check "... in JSON too" \
	eval 'rc_is 0 && has "\"delay_ms\":[0-9]*,\"delay\":\"[0-9]* ms from sibling 203.0.113.110 (srtt [0-9.]* ms)\""'
run without SOFTERR_HISTORY=off -- "$top_builddir/src/tools/softerr-probe" --json farhole.lab $LAB_PORT
check "... and without a history: the configured one" \
	eval 'rc_is 0 && has "\"delay_ms\":250,\"delay\":\"250 ms configured\""'

# Slow paths: the far router 300 ms, then 600 ms away, while the history
# still says 5 ms. Every connect succeeds; each pays one extra SYN at most
# (without the history: the second address after 250 ms, one extra too).
for d in 150 300; do
	lab_far_delay $d
	s0=$(lab_far_syns)
	ok=0
	for i in 1 2 3 4; do
		run with $H -- "$CLIENT" -4 farpair.lab $LAB_PORT
		has "^result ok 203.0.113.11[01] " && ok=$((ok + 1))
	done
	syns=$(( $(lab_far_syns) - s0 ))
	echo "# figure: $((2 * d)) ms handshakes: $ok of 4 connected, $syns SYNs ($((syns - 4)) extra)"
	check "a $((2 * d)) ms path the history thought 5 ms: 4 of 4 connect, one extra SYN each at most ($syns SYNs)" \
		eval '[ $ok = 4 ] && [ $syns -le 8 ]'
done

# curl through bhmix.lab: 2001:db8:3::11 (a black hole), then
# 203.0.113.20. curl starts IPv4 itself after 200 ms of silence and closes
# the IPv6 attempt: that silence is evidence; the second curl goes to the
# live address first. softerr's own race waits 1 s here, so that it is
# curl's giving up that teaches the history, also on a loaded machine.
C="XDG_RUNTIME_DIR=$T/b SOFTERR_HISTORY_SHARE=on SOFTERR_LOG=1 SOFTERR_ATTEMPT_DELAY=1s"
first_try() { printf '%s\n' "$OUT" | grep -m1 -o 'Trying [^ ]*'; }
run with $C -- curl -v -s -o /dev/null -w '%{remote_ip}\n' http://bhmix.lab:$LAB_PORT/
check "the first curl tries the silent IPv6 address first and gives up on it itself ($(first_try))" \
	eval 'rc_is 0 && [ "$(first_try)" = "Trying [2001:db8:3::11]:$LAB_PORT..." ] && has "^203.0.113.20$" && has "2001:db8:3::11 closed by the program"'
run with $C -- curl -v -s -o /dev/null -w '%{remote_ip}\n' http://bhmix.lab:$LAB_PORT/
check "the second curl goes to the live address first ($(first_try))" \
	eval 'rc_is 0 && [ "$(first_try)" = "Trying 203.0.113.20:$LAB_PORT..." ] && has "^203.0.113.20$" && has "getaddrinfo bhmix.lab: 2001:db8:3::11 tried last (no answer"'

summary
