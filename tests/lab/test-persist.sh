#!/bin/bash
# Every address dead: never slower than Linux. The adaptive policy persists
# on the last address of a name for persist_timeout (4 s) at most, and only
# where the library saw the program's own lookup; a process that persisted
# and lost tells the others (the shared history), which then fail as fast
# as without softerr; one soft error (perhaps forged) demotes an address in
# its own process only. Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
chmod 700 "$T"
trap 'rm -rf "$T"; lab_down' EXIT
NB=$top_builddir/tests/lab/se-nbclient
# A fresh shared history for each case: newhist sets RT.
n=0
newhist() {
	n=$((n + 1))
	mkdir -m 700 "$T/$n"
	RT="XDG_RUNTIME_DIR=$T/$n SOFTERR_HISTORY_SHARE=on"
}
# The router answers host-unreachable for ADDR until lab_unflap ADDR.
unreachable() { in_router nft add element inet selab flap4 "{ $1 }"; }
# Room for a loaded machine on top of a figure measured in the same run.
SLACK=1500
# The lab client's own time from getaddrinfo() to its verdict ("result ok
# ADDRESS MS" or "result fail ERRNO MS"), which a loaded machine's process
# start-up does not blur: within LO and HI milliseconds?
own_ms() {
	printf '%s\n' "$OUT" | awk -v lo="$1" -v hi="$2" \
		'/^result / { t = $4 } END { exit !(t != "" && t >= lo && t < hi) }'
}

# --- The lab's clients on a name whose addresses all answer unreachable ----
# dead.lab: 203.0.113.13 (host-unreachable), 203.0.113.12 (net-unreachable),
# both from the near router, while connect() holds the socket: the kernel
# only records them and retransmits.
run without -- "$CLIENT" -4 dead.lab $LAB_PORT
ms0=$MS
check "all dead, without softerr: fails (${MS} ms)" eval 'rc_is 1'
newhist
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 dead.lab $LAB_PORT
check "all dead, blocking, first process: persists on the last address for persist_timeout at most (${MS} ms)" \
	eval 'rc_is 1 && has "result fail E[HN][OE]" && has "persists for up to 4000 ms" && has "persistence budget spent" && own_ms 3900 5000'
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 dead.lab $LAB_PORT
check "all dead, blocking, second process: no persistence, as fast as without softerr (${MS} ms, without ${ms0} ms)" \
	eval 'rc_is 1 && has "result fail E[HN][OE]" && has "(history: persisted and lost [0-9]* s ago: no persistence) 203.0.113.12 ended" && ! has "persists" && faster $((ms0 + SLACK)) && own_ms 0 $BEFORE_MS'

run without -- "$NB" -4 --timeout 10000 --wait poll dead.lab $LAB_PORT
ms0=$MS
newhist
run with $RT SOFTERR_LOG=1 -- "$NB" -4 --timeout 10000 --wait poll dead.lab $LAB_PORT
check "all dead, non-blocking, first process: persist_timeout at most (${MS} ms)" \
	eval 'rc_is 1 && has "persistence budget spent" && own_ms 3900 5000'
run with $RT SOFTERR_LOG=1 -- "$NB" -4 --timeout 10000 --wait poll dead.lab $LAB_PORT
check "all dead, non-blocking, second process: as fast as without softerr (${MS} ms, without ${ms0} ms)" \
	eval 'rc_is 1 && has "persisted and lost [0-9]* s ago" && ! has "persists" && faster $((ms0 + SLACK)) && own_ms 0 $BEFORE_MS'

# A lone address: the first process pays the budget, the next ones do not.
run without -- "$CLIENT" -6 reject6only.lab $LAB_PORT
ms0=$MS
newhist
run with $RT -- "$CLIENT" -6 reject6only.lab $LAB_PORT
check "a lone dead address, first process: persist_timeout (${MS} ms)" \
	eval 'rc_is 1 && own_ms 3900 5000'
run with $RT -- "$CLIENT" -6 reject6only.lab $LAB_PORT
check "... the second process fails as fast as without softerr (${MS} ms, without ${ms0} ms)" \
	eval 'rc_is 1 && faster $((ms0 + SLACK)) && own_ms 0 $BEFORE_MS'
run with $RT SOFTERR_PERSIST_TIMEOUT=0 SOFTERR_HISTORY_SHARE=off -- "$CLIENT" -6 reject6only.lab $LAB_PORT
check "persist_timeout = 0: no persistence at all (${MS} ms)" eval 'rc_is 1 && own_ms 0 $BEFORE_MS'

# --- A route unreachable for longer than the budget, then back -------------
# flap.lab is 203.0.113.30 alone. Lost once: the next process does not
# persist; a connect that succeeds clears that, and persistence is back.
newhist
unreachable 203.0.113.30
run with $RT -- "$CLIENT" -4 flap.lab $LAB_PORT
check "unreachable for a minute: the first process gives up after the budget (${MS} ms)" \
	eval 'rc_is 1 && own_ms 3900 5000'
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 flap.lab $LAB_PORT
check "... the next one at once, and the log says why (${MS} ms)" \
	eval 'rc_is 1 && own_ms 0 $BEFORE_MS && has "(history: persisted and lost [0-9]* s ago: no persistence)"'
lab_unflap 203.0.113.30
run with $RT -- "$CLIENT" -4 flap.lab $LAB_PORT
check "... back: connects" eval 'rc_is 0 && has "result ok 203.0.113.30"'
unreachable 203.0.113.30
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 flap.lab $LAB_PORT
check "... the connect cleared it: the next outage is persisted on again (${MS} ms)" \
	eval 'rc_is 1 && has "persists for up to 4000 ms" && own_ms 3900 5000'
lab_unflap 203.0.113.30

# --- Programs whose lookups softerr cannot see -----------------------------
# lftp resolves in a child process, aria2c with c-ares: to the library the
# connect() goes to an address of no known name, which may well not be the
# program's last. It ends at the first soft error, as Linux does when the
# error comes after connect() let go of the socket, and the program moves
# on; with softerr never slower than without.
LFTP_SET="set net:max-retries 1; set net:timeout 20; set net:reconnect-interval-base 1; set dns:order inet"
real() {	# real NAME: lftp and aria2c on http://NAME, without and with
	local name=$1 prog rc0 ms0
	for prog in lftp aria2c; do
		newhist
		if [ $prog = lftp ]; then
			set -- lftp -c "$LFTP_SET; cat http://$name:$LAB_PORT/"
		else
			set -- aria2c -q --max-tries=1 --connect-timeout=20 --dir="$T" \
				--allow-overwrite=true --async-dns=true http://$name:$LAB_PORT/
		fi
		run without -- "$@"
		rc0=$RC ms0=$MS
		run with $RT SOFTERR_LOG=1 -- "$@"
		check "$prog, $name: without softerr rc $rc0 in $ms0 ms; with softerr rc $RC in $MS ms, no persistence" \
			eval '{ [ $rc0 != 0 ] || rc_is 0; } && faster $((ms0 + SLACK)) && ! has "persists" && has "no lookup seen: no persistence\|connected"'
		run with $RT -- "$@"
		check "... and a second $prog with the history (${MS} ms)" \
			eval '{ [ $rc0 != 0 ] || rc_is 0; } && faster $((ms0 + SLACK))'
	done
}
real dead.lab
real soft.lab

# --- One soft error is not enough for the shared history (RFC 5461 6) -----
# flapfirst.lab: 203.0.113.30, then 203.0.113.20. A single unreachable for
# .30 (as a forged ICMP error would be): this process goes on to .20, the
# next process still tries .30 first. Two errors confirm it.
newhist
unreachable 203.0.113.30
run with $RT -- "$CLIENT" -4 flapfirst.lab $LAB_PORT
lab_unflap 203.0.113.30
check "one ICMP error on the first address: this process fails over" \
	eval 'rc_is 0 && has "result ok 203.0.113.20"'
run with $RT -- "$CLIENT" -4 flapfirst.lab $LAB_PORT
check "... the next process still goes to it first (one error, unconfirmed)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.30 ok"'
newhist
unreachable 203.0.113.30
run with $RT -- "$CLIENT" -4 flapfirst.lab $LAB_PORT
run with $RT -- "$CLIENT" -4 flapfirst.lab $LAB_PORT
lab_unflap 203.0.113.30
run with $RT SOFTERR_LOG=1 -- "$CLIENT" -4 flapfirst.lab $LAB_PORT
check "two processes saw it: confirmed, the next one goes to 203.0.113.20 first" \
	eval 'rc_is 0 && has "^attempt 203.0.113.20 ok" && has "203.0.113.30 tried last (soft"'

summary
