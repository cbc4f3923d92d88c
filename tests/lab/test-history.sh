#!/bin/bash
# The address history in the lab: a name whose first address is a black
# hole costs the attempt delay once, not in every process; what is learned
# is kept across changes of the network that do not touch the path to the
# address (100 links made and deleted), not used when its path changes,
# used again when the path comes back; off, unshared, damaged. Needs root;
# run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
chmod 700 "$T"
trap 'rm -rf "$T"; lab_down' EXIT
RT="XDG_RUNTIME_DIR=$T SOFTERR_HISTORY_SHARE=on"
HIST=$T/softerr/history
URL=http://hole.lab:$LAB_PORT/
# curl's own time to connected (-w '%{remote_ip} %{time_connect}'): did it
# go to the live address without the attempt delay (250 ms)? Its own
# clock, which a loaded machine's process start-up does not blur.
curl_s() { printf '%s\n' "$OUT" | awk '/^203\.0\.113\.[0-9]+ [0-9.]+$/ { t = $2 } END { print t }'; }
curl_live_at_once() {
	printf '%s\n' "$OUT" | awk '/^203\.0\.113\.[0-9]+ [0-9.]+$/ { ip = $1; t = $2 }
		END { exit !(ip == "203.0.113.20" && t < 0.24) }'
}

# hole.lab: 203.0.113.11 (the router drops it), then 203.0.113.20.
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "the first process pays the attempt delay (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && ! faster 240'
check "the history file: mode 0600 in a 0700 directory" \
	eval '[ "$(stat -c %a "$HIST")" = 600 ] && [ "$(stat -c %a "$T/softerr")" = 700 ]'
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 hole.lab $LAB_PORT
check "a second process tries the live address first (${MS} ms)" \
	eval 'rc_is 0 && took_under 240 && has "^attempt 203.0.113.20 ok" && has "getaddrinfo hole.lab: 203.0.113.11 tried last (no answer [0-9]* s ago)"'
run with $RT -- "$CLIENT" --hostent hole.lab $LAB_PORT
check "gethostbyname2() answers in the same order (${MS} ms)" \
	eval 'rc_is 0 && took_under 240 && has "^attempt 203.0.113.20 ok"'
run with $RT -- "$CLIENT" --hostent-r hole.lab $LAB_PORT
check "... and gethostbyname2_r() (${MS} ms)" \
	eval 'rc_is 0 && took_under 240 && has "^attempt 203.0.113.20 ok"'
run with $RT -- curl -s -o /dev/null -w '%{remote_ip} %{time_connect}\n' "$URL"
check "curl, unmodified, goes straight to the live address (${MS} ms; curl's connect time $(curl_s) s)" \
	eval 'rc_is 0 && curl_live_at_once'
run with $RT SOFTERR_LOG=1 -- wget -q -O /dev/null --tries=1 "$URL"
check "wget too (${MS} ms, connected in $(lib_ms) ms)" eval 'rc_is 0 && faster 240'
run with $RT SOFTERR_LOG=1 -- sh -c "echo x | socat - TCP:hole.lab:$LAB_PORT"
check "socat, which tries the first address only, connects at once (${MS} ms, connected in $(lib_ms) ms)" \
	eval 'rc_is 0 && faster 240'

# The prober says what the history did.
run without $RT -- "$top_builddir/src/tools/softerr-probe" hole.lab $LAB_PORT
check "the prober: the live address first, the dead one not tried, and why" \
	eval 'rc_is 0 && has "^  203.0.113.20 .*sent at *0\.[0-9] ms *connected" && has "^  203.0.113.11 .*not tried (tried last: no answer [0-9]* s ago)"'

# Non-blocking connects teach the history too (the watcher records them).
T2=$(mktemp -d)
chmod 700 "$T2"
# One soft error may be forged (RFC 5461 6): a second confirms it.
run with XDG_RUNTIME_DIR=$T2 SOFTERR_HISTORY_SHARE=on -- "$top_builddir/tests/lab/se-nbclient" --wait epoll reject6.lab $LAB_PORT
run with XDG_RUNTIME_DIR=$T2 SOFTERR_HISTORY_SHARE=on -- "$CLIENT" -6 reject6.lab $LAB_PORT
check "a non-blocking client's ICMPv6 soft error, one alone, demotes nothing: the next process tries it first" \
	eval 'rc_is 0 && has "^attempt 2001:db8:3::13 " && has "^result ok 2001:db8:3::20"'
run with XDG_RUNTIME_DIR=$T2 SOFTERR_HISTORY_SHARE=on -- "$top_builddir/tests/lab/se-nbclient" --wait epoll reject6.lab $LAB_PORT
run with XDG_RUNTIME_DIR=$T2 SOFTERR_HISTORY_SHARE=on -- "$CLIENT" -6 reject6.lab $LAB_PORT
check "... confirmed by the next non-blocking client's: the next process starts with the live address" \
	eval 'rc_is 0 && has "^attempt 2001:db8:3::20 ok" && ! has "2001:db8:3::13"'
rm -rf "$T2"; T2=$(mktemp -d); chmod 700 "$T2"
run with XDG_RUNTIME_DIR=$T2 SOFTERR_HISTORY_SHARE=on -- curl -s -o /dev/null --connect-timeout 1 "$URL"
run with XDG_RUNTIME_DIR=$T2 SOFTERR_HISTORY_SHARE=on -- curl -s -o /dev/null -w '%{remote_ip} %{time_connect}\n' --connect-timeout 1 "$URL"
check "curl gave up on the silent address (its own timeout): the next curl goes straight to the live one (${MS} ms; curl's connect time $(curl_s) s)" \
	eval 'rc_is 0 && curl_live_at_once'
rm -rf "$T2"

# What does not share: each process pays again.
run with $RT SOFTERR_HISTORY=off -- "$CLIENT" -4 hole.lab $LAB_PORT
check "SOFTERR_HISTORY=off: the delay again (${MS} ms)" \
	eval 'rc_is 0 && ! faster 240'
run with $RT SOFTERR_HISTORY_SHARE=off -- "$CLIENT" -4 hole.lab $LAB_PORT
check "SOFTERR_HISTORY_SHARE=off: this process's own, the delay again (${MS} ms)" \
	eval 'rc_is 0 && ! faster 240'

# Where there is no XDG_RUNTIME_DIR (root from sudo or su, cron, a service,
# a container): the history is shared all the same, in a private directory
# of the user's. Each case runs in a private mount namespace whose /run and
# /tmp are new, empty tmpfs (the machine's are never touched), and starts
# curl twice as a service would start it: env -i, as root or as nobody.
# private WHO SETUP [VAR=value]: SETUP (shell, as root) lays out the
# directories, then the two curls run; OUT holds their lines: "IP SECONDS"
# and the library's log.
private() {
	local lib=${SOFTERR_REAL_PRELOAD:-$SOFTERR_LIB}
	# The library is read through a descriptor opened before /tmp is
	# covered: the build tree may be under /tmp.
	OUT=$(in_client unshare -m --propagation private sh -c '
		exec 3<"$1" &&
		mount -t tmpfs -o mode=755 selab-run /run &&
		mount -t tmpfs -o mode=1777 selab-tmp /tmp &&
		mkdir -m 755 /tmp/.lib && cat <&3 >/tmp/.lib/libsofterr.so &&
		chmod 644 /tmp/.lib/libsofterr.so || exit 99
		exec 3<&-
		eval "$2" || exit 98
		as=; [ "$3" = nobody ] && as="setpriv --reuid=65534 --regid=65534 --clear-groups"
		for i in 1 2; do
			$as env -i PATH=/usr/bin:/bin $4 SOFTERR_LOG=stderr \
				LD_PRELOAD=/tmp/.lib/libsofterr.so timeout 20 \
				curl -s -o /dev/null -w "%{remote_ip} %{time_connect}\n" "$5"
		done
		[ -d /run/softerr ] && echo "made /run/softerr $(stat -c %a /run/softerr)"
		ls -d /tmp/softerr-* 2>/dev/null | while read -r d; do
			echo "made $d $(stat -c "%a %U" "$d")"; done' \
		sh "$lib" "$2" "$1" "${3:-}" "$URL" 2>&1)
	RC=$?
}
# Did the second curl go straight to the live address (history shared)?
second_fast() {
	printf '%s\n' "$OUT" | awk '/^203\.0\.113\.[0-9]+ [0-9.]+$/ { n++; ip[n] = $1; t[n] = $2 }
		END { exit !(n == 2 && t[1] >= 0.24 && ip[2] == "203.0.113.20" && t[2] < 0.24) }'
}
second_slow() {
	printf '%s\n' "$OUT" | awk '/^203\.0\.113\.[0-9]+ [0-9.]+$/ { n++; t[n] = $2 }
		END { exit !(n == 2 && t[2] >= 0.24) }'
}
private root :
check "root, no XDG_RUNTIME_DIR: shared through /run/softerr (made 0700), the second curl at once" \
	eval 'second_fast && has "history /run/softerr/history" && has "^made /run/softerr 700$"'
private nobody :
check "a user, no XDG_RUNTIME_DIR: /tmp/softerr-UID (made 0700, the user's), the second curl at once" \
	eval 'second_fast && has "history /tmp/softerr-65534/history" && has "^made /tmp/softerr-65534 700 nobody$"'
private nobody 'mkdir -p -m 755 /run/user && mkdir -m 700 /run/user/65534 && chown nobody /run/user/65534'
check "a user with a login session's /run/user/UID but no XDG_RUNTIME_DIR: there" \
	eval 'second_fast && has "history /run/user/65534/softerr/history$"'
private nobody 'mkdir -p -m 755 /run/user && mkdir -m 700 /run/user/65534 && chown nobody /run/user/65534' XDG_RUNTIME_DIR=/run/user/65534
check "a user with XDG_RUNTIME_DIR: there, and the log says why" \
	eval 'second_fast && has "history /run/user/65534/softerr/history (XDG_RUNTIME_DIR)"'
private nobody 'mkdir -m 700 /tmp/elsewhere && chown nobody /tmp/elsewhere && ln -s /tmp/elsewhere /tmp/softerr-65534'
check "/tmp/softerr-UID a symbolic link: refused, the history not shared, the log says why" \
	eval 'second_slow && has "history off: /tmp/softerr-65534 is not a directory"'
private nobody 'mkdir -m 700 /tmp/softerr-65534'
check "/tmp/softerr-UID another user's: refused" \
	eval 'second_slow && has "history off: /tmp/softerr-65534 belongs to user 0"'
private nobody 'mkdir -m 777 /tmp/softerr-65534 && chown nobody /tmp/softerr-65534'
check "/tmp/softerr-UID open to others: refused" \
	eval 'second_slow && has "history off: /tmp/softerr-65534 is open to others (mode 777)"'
private root 'mkdir -m 700 /tmp/h' SOFTERR_HISTORY_PATH=/tmp/h/file
check "history_path: the file named, shared" \
	eval 'second_fast && has "history /tmp/h/file (history_path)"'

# A damaged file: ignored, rebuilt, no harm.
head -c 3000 /dev/urandom >"$HIST"
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "a damaged file: the program runs as without it (${MS} ms)" \
	eval 'rc_is 0 && has "result ok 203.0.113.20" && ! faster 240'
check "... and the file is rebuilt whole" \
	eval '[ "$(stat -c %s "$HIST")" = 12336 ]'
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "... and learns again (${MS} ms)" eval 'rc_is 0 && took_under 240'
: >"$HIST"
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "an emptied file: the same" eval 'rc_is 0 && has "result ok 203.0.113.20"'
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "... learned again (${MS} ms)" eval 'rc_is 0 && took_under 240'

# Unrelated churn: links made and deleted in the client's namespace, as
# containers starting and stopping do on a host. The path to each dead
# address (gateway 192.0.2.1, the client's link, its address) stays, and
# so does what was learned on it. DEAD: names whose first address fails.
DEAD="hole.lab reject.lab netunreach.lab admin.lab refused.lab hole6.lab reject6.lab"
# Twice: a soft error is believed once a second process meets it.
for n in $DEAD $DEAD; do
	run with $RT -- "$CLIENT" $n $LAB_PORT
done
# known: how many of $DEAD the history knows a failure of (the first
# address tried last), into KNOWN; every one connects.
known() {
	local n ok=0
	KNOWN=0
	for n in $DEAD; do
		run with $RT SOFTERR_LOG=1 -- "$CLIENT" $n $LAB_PORT
		rc_is 0 && ok=$((ok + 1))
		has "getaddrinfo $n: .* tried last (" && KNOWN=$((KNOWN + 1))
	done
	[ "$ok" = 7 ]
}
known
K0=$KNOWN
# link_batch add|del: 100 veth pairs, both ends in the client namespace,
# up (made) or gone (deleted), one ip -batch each way.
link_batch() {
	local i
	for i in $(seq 1 100); do
		if [ "$1" = add ]; then
			echo "link add ${LAB}v$i type veth peer name ${LAB}w$i"
			echo "link set ${LAB}v$i up"
			echo "link set ${LAB}w$i up"
		else
			echo "link del ${LAB}v$i"
		fi
	done | ip -n "$LAB_C" -batch -
}
link_batch add
check "100 links made: $(in_client ip -o link | wc -l) links in the client's namespace" \
	eval '[ "$(in_client ip -o link | wc -l)" -ge 202 ]'
known
K1=$KNOWN
link_batch del
known
K2=$KNOWN
echo "# entries kept: $K0 known before, $K1 with 100 links more, $K2 after they were deleted"
check "what was learned is kept across 100 unrelated links made and deleted ($K0, $K1, $K2 of 7)" \
	eval '[ "$K0" = 7 ] && [ "$K1" = 7 ] && [ "$K2" = 7 ]'

# A second path from the client to the router: another link, gateway and
# source address (192.0.2.130 to 192.0.2.129, point to point).
ip link add "${LAB}g" netns "$LAB_C" type veth peer name "${LAB}h" netns "$LAB_R" ||
	lab_fail "cannot create the second path"
ip -n "$LAB_C" addr add 192.0.2.130/32 peer 192.0.2.129/32 dev "${LAB}g"
ip -n "$LAB_R" addr add 192.0.2.129/32 peer 192.0.2.130/32 dev "${LAB}h"
ip -n "$LAB_C" link set "${LAB}g" up
ip -n "$LAB_R" link set "${LAB}h" up
SECOND="203.0.113.0/24 via 192.0.2.129"

# The route to the dead address moves to the second path: what was
# learned on the first is not used there; back, it is used again.
in_client ip route add $SECOND
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 hole.lab $LAB_PORT
check "the path to 203.0.113.11 changed: what was learned on the old one is not used, it is tried first again (${MS} ms)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.11 " && ! has "tried last" && has "result ok 203.0.113.20" && ! took_under 240'
in_client ip route del $SECOND
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 hole.lab $LAB_PORT
check "the old path back: what was learned on it is used again (${MS} ms)" \
	eval 'rc_is 0 && took_under 240 && has "^attempt 203.0.113.20 ok" && has "hole.lab: 203.0.113.11 tried last (no answer"'

# 203.0.113.11 comes to life behind the router, reached through the
# second path, with a history of its own (T4) that saw it dead on the
# first.
T4=$(mktemp -d)
chmod 700 "$T4"
R4="XDG_RUNTIME_DIR=$T4 SOFTERR_HISTORY_SHARE=on"
run with $R4 -- "$CLIENT" -4 hole.lab $LAB_PORT
ip -n "$LAB_S" addr add 203.0.113.11/32 dev lo
ip -n "$LAB_R" route del blackhole 203.0.113.11/32
in_client ip route add $SECOND
run with $R4 -- "$CLIENT" -4 hole.lab $LAB_PORT
check "alive on the new path: nothing learned there, 203.0.113.11 first, and it connects" \
	eval 'rc_is 0 && has "^attempt 203.0.113.11 ok" && took_under 240'

# A long-lived process sees a change itself (rtnetlink, read again when
# the history is next consulted a second or more later): it connects to
# 203.0.113.11 on the new path, the route goes back to the first path,
# where 203.0.113.11 was seen dead, and the same process resolves and
# connects again.
( sleep 1; in_client ip route del $SECOND ) &
run with $R4 -- "$CLIENT" --again-after 2000 -4 hole.lab $LAB_PORT
wait
check "a process whose path changed uses what was learned on the new one: 203.0.113.11 first, then last" \
	eval 'rc_is 0 && printf "%s\n" "$OUT" | sed -n "1,/^again$/p" | grep -q "^attempt 203.0.113.11 ok" && printf "%s\n" "$OUT" | sed -n "/^again$/,\$p" | grep -q "^attempt 203.0.113.20 ok" && ! printf "%s\n" "$OUT" | sed -n "/^again$/,\$p" | grep -q "^attempt 203.0.113.11"'

# Dead again on the new path: the first run goes straight to it (it was
# alive there), the second pays the delay.
in_client ip route add $SECOND
( sleep 1
  ip -n "$LAB_R" route add blackhole 203.0.113.11/32
  ip -n "$LAB_S" addr del 203.0.113.11/32 dev lo ) &
run with $R4 -- "$CLIENT" --again-after 2000 -4 hole.lab $LAB_PORT
wait
check "dead again: the first run went straight to it (it was alive), the second paid the delay" \
	eval 'rc_is 0 && has "^again$" && has "^result ok 203.0.113.11" && has "^result ok 203.0.113.20 2[4-9][0-9]"'
in_client ip route del $SECOND
rm -rf "$T4"

summary
