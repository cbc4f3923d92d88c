#!/bin/bash
# The address history in the lab: a name whose first address is a black
# hole costs the attempt delay once, not in every process; a route change
# (the dead address comes back) forgets it; off, unshared, damaged. Needs
# root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
chmod 700 "$T"
trap 'rm -rf "$T"; lab_down' EXIT
RT=XDG_RUNTIME_DIR=$T
HIST=$T/softerr/history
URL=http://hole.lab:$LAB_PORT/

# hole.lab: 203.0.113.11 (the router drops it), then 203.0.113.20.
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "the first process pays the attempt delay (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && ! faster 240'
check "the history file: mode 0600 in a 0700 directory" \
	eval '[ "$(stat -c %a "$HIST")" = 600 ] && [ "$(stat -c %a "$T/softerr")" = 700 ]'
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 hole.lab $LAB_PORT
check "a second process tries the live address first (${MS} ms)" \
	eval 'rc_is 0 && faster 100 && has "^attempt 203.0.113.20 ok" && has "getaddrinfo hole.lab: 203.0.113.11 tried last (no answer [0-9]* s ago)"'
run with $RT -- "$CLIENT" --hostent hole.lab $LAB_PORT
check "gethostbyname2() answers in the same order (${MS} ms)" \
	eval 'rc_is 0 && faster 100 && has "^attempt 203.0.113.20 ok"'
run with $RT -- "$CLIENT" --hostent-r hole.lab $LAB_PORT
check "... and gethostbyname2_r() (${MS} ms)" \
	eval 'rc_is 0 && faster 100 && has "^attempt 203.0.113.20 ok"'
run with $RT -- curl -s -o /dev/null -w '%{remote_ip}\n' "$URL"
check "curl, unmodified, goes straight to the live address (${MS} ms)" \
	eval 'rc_is 0 && has "^203.0.113.20$" && faster 200'
run with $RT -- wget -q -O /dev/null --tries=1 "$URL"
check "wget too (${MS} ms)" eval 'rc_is 0 && faster 200'
run with $RT -- sh -c "echo x | socat - TCP:hole.lab:$LAB_PORT"
check "socat, which tries the first address only, connects at once (${MS} ms)" \
	eval 'rc_is 0 && faster 200'

# The prober says what the history did.
run without $RT -- "$top_builddir/src/tools/softerr-probe" hole.lab $LAB_PORT
check "the prober: the live address first, the dead one not tried, and why" \
	eval 'rc_is 0 && has "^  203.0.113.20 .*sent at *0\.[0-9] ms *connected" && has "^  203.0.113.11 .*not tried (tried last: no answer [0-9]* s ago)"'

# Non-blocking connects teach the history too (the watcher records them).
T2=$(mktemp -d)
chmod 700 "$T2"
run with XDG_RUNTIME_DIR=$T2 -- "$top_builddir/tests/lab/se-nbclient" --wait epoll reject6.lab $LAB_PORT
run with XDG_RUNTIME_DIR=$T2 -- "$CLIENT" -6 reject6.lab $LAB_PORT
check "a non-blocking client's ICMPv6 soft error is remembered: the next process starts with the live address" \
	eval 'rc_is 0 && has "^attempt 2001:db8:3::20 ok" && ! has "2001:db8:3::13"'
rm -rf "$T2"; T2=$(mktemp -d); chmod 700 "$T2"
run with XDG_RUNTIME_DIR=$T2 -- curl -s -o /dev/null --connect-timeout 1 "$URL"
run with XDG_RUNTIME_DIR=$T2 -- curl -s -o /dev/null -w '%{remote_ip}\n' --connect-timeout 1 "$URL"
check "curl gave up on the silent address (its own timeout): the next curl goes straight to the live one (${MS} ms)" \
	eval 'rc_is 0 && has "^203.0.113.20$" && faster 200'
rm -rf "$T2"

# What does not share: each process pays again.
run with $RT SOFTERR_HISTORY=off -- "$CLIENT" -4 hole.lab $LAB_PORT
check "SOFTERR_HISTORY=off: the delay again (${MS} ms)" \
	eval 'rc_is 0 && ! faster 240'
run with $RT SOFTERR_HISTORY_SHARE=off -- "$CLIENT" -4 hole.lab $LAB_PORT
check "SOFTERR_HISTORY_SHARE=off: this process's own, the delay again (${MS} ms)" \
	eval 'rc_is 0 && ! faster 240'
run with -- "$CLIENT" -4 hole.lab $LAB_PORT
check "no XDG_RUNTIME_DIR: nothing shared (${MS} ms)" eval 'rc_is 0 && ! faster 240'

# A damaged file: ignored, rebuilt, no harm.
head -c 3000 /dev/urandom >"$HIST"
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "a damaged file: the program runs as without it (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && ! faster 240'
check "... and the file is rebuilt whole" \
	eval '[ "$(stat -c %s "$HIST")" = 10296 ]'
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "... and learns again (${MS} ms)" eval 'rc_is 0 && faster 100'
: >"$HIST"
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "an emptied file: the same" eval 'rc_is 0 && has "result ok 203.0.113.20"'
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "... learned again (${MS} ms)" eval 'rc_is 0 && faster 100'

# The network changes: 203.0.113.11 comes to life behind the router, and
# the client's routes change. The next process sees another network,
# forgets, and the first address is first again.
ip -n "$LAB_S" addr add 203.0.113.11/32 dev lo
ip -n "$LAB_R" route del blackhole 203.0.113.11/32
in_client ip route add 203.0.113.0/24 via 192.0.2.1
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "after a route change the history is forgotten: 203.0.113.11 first again, and alive" \
	eval 'rc_is 0 && has "^attempt 203.0.113.11 ok" && faster 100'

# A long-lived process sees a change itself (the rtnetlink fingerprint,
# taken again when the history is next consulted a second or more later):
# it connects, 203.0.113.11 dies, and the same process resolves and
# connects again; then the client's routes change between its two runs.
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
( sleep 1
  ip -n "$LAB_R" route add blackhole 203.0.113.11/32
  ip -n "$LAB_S" addr del 203.0.113.11/32 dev lo ) &
run with $RT -- "$CLIENT" --again-after 2000 -4 hole.lab $LAB_PORT
wait
check "dead again: the first run went straight to it (it was alive), the second paid the delay" \
	eval 'rc_is 0 && has "^again$" && has "^result ok 203.0.113.11" && has "^result ok 203.0.113.20 2[4-9][0-9]"'
( sleep 1; in_client ip route del 203.0.113.0/24 via 192.0.2.1 ) &
run with $RT -- "$CLIENT" --again-after 2000 -4 hole.lab $LAB_PORT
wait
check "a process that saw a route change forgets: 203.0.113.11 first again in its second run" \
	eval 'rc_is 0 && printf "%s\n" "$OUT" | sed -n "/^again$/,\$p" | grep -q "^attempt 203.0.113.11 " && printf "%s\n" "$OUT" | sed -n "1,/^again$/p" | grep -q "^attempt 203.0.113.20 ok"'

summary
