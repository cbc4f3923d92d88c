#!/bin/bash
# What a process's softerr sets up once, the same whichever library does
# it: the preloaded one (se-client) or the API (softerr-probe, se-api). The
# address history's settings, history_lifetime and history_share, from the
# environment or softerr.conf; the history's word in the log when it will
# not use a file; and fork() while another thread's connect holds the
# history's lock (the fork handlers). Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

API=$top_builddir/tests/lab/se-api
PROBE=$top_builddir/src/tools/softerr-probe
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
chmod 700 "$T"
trap 'rm -rf "$T"; lab_down' EXIT
# Each case says whether the history is shared, by the environment or by
# its softerr.conf.
unset SOFTERR_HISTORY_SHARE
export XDG_RUNTIME_DIR=$T/rt
printf 'history_lifetime = 1\n' >"$T/life.conf"
printf 'history_share = off\n' >"$T/unshared.conf"
: >"$T/empty.conf"

# hole.lab: 203.0.113.11 (the router drops it), then 203.0.113.20. A
# process that learned .11 is silent leaves that in the shared history.
learn() {
	rm -rf "$T/rt"
	mkdir -m 700 "$T/rt"
	run without SOFTERR_CONF="$T/empty.conf" SOFTERR_HISTORY_SHARE=on -- \
		"$PROBE" hole.lab $LAB_PORT
	[ "$RC" = 0 ] || echo "# learn: the probe failed: $OUT"
}
# The API, then the preloaded library, each in a history that learned it
# $1 seconds before, as SOFTERR_CONF=$2 and the environment ${@:3} set up
# (each run learns again what it tries: each has its own history).
probe_and_client() {
	local wait=$1 conf=$2
	shift 2
	learn
	sleep "$wait"
	run without SOFTERR_CONF="$conf" "$@" -- "$PROBE" hole.lab $LAB_PORT
	PROBE_OUT=$OUT PROBE_RC=$RC
	learn
	sleep "$wait"
	run with SOFTERR_CONF="$conf" "$@" -- "$CLIENT" -4 hole.lab $LAB_PORT
}
# Both knew .11 failed (its history used), or both tried it first.
used() {
	[ "$PROBE_RC" = 0 ] && printf '%s\n' "$PROBE_OUT" |
		grep -q "203.0.113.11 .*not tried (tried last: no answer" &&
		rc_is 0 && has "^attempt 203.0.113.20 ok" && ! has "^attempt 203.0.113.11"
}
unused() {
	[ "$PROBE_RC" = 0 ] && printf '%s\n' "$PROBE_OUT" | grep -q "203.0.113.11 .*cancelled" &&
		rc_is 0 && printf '%s\n' "$OUT" | grep -m1 '^attempt' | grep -q "^attempt 203.0.113.11 "
}

# history_lifetime: an entry older than it is not used.
probe_and_client 1.5 "$T/empty.conf" SOFTERR_HISTORY_SHARE=on
check "a silence 1.5 s old: the API and the library both try the live address first" used
probe_and_client 1.5 "$T/empty.conf" SOFTERR_HISTORY_SHARE=on SOFTERR_HISTORY_LIFETIME=1
check "SOFTERR_HISTORY_LIFETIME=1: both have forgotten it, and try it first" unused
probe_and_client 1.5 "$T/life.conf" SOFTERR_HISTORY_SHARE=on
check "history_lifetime = 1 in softerr.conf: both have forgotten it" unused

# history_share: off, this process's own history, which knows nothing yet.
probe_and_client 0 "$T/empty.conf" SOFTERR_HISTORY_SHARE=on
check "shared: both use what the last process learned" used
probe_and_client 0 "$T/empty.conf" SOFTERR_HISTORY_SHARE=off
check "SOFTERR_HISTORY_SHARE=off: neither does" unused
probe_and_client 0 "$T/unshared.conf"
check "history_share = off in softerr.conf: neither does" unused

# A history file open to other users is not used, and the log says so.
learn
chmod 644 "$T/rt/softerr/history"
run without SOFTERR_CONF="$T/empty.conf" SOFTERR_HISTORY_SHARE=on SOFTERR_LOG=1 -- \
	"$PROBE" hole.lab $LAB_PORT
PROBE_OUT=$OUT
run with SOFTERR_CONF="$T/empty.conf" SOFTERR_HISTORY_SHARE=on SOFTERR_LOG=1 -- \
	"$CLIENT" -4 hole.lab $LAB_PORT
check "a history file of mode 0644: the API's log says it is not used, as the library's does" \
	eval 'printf "%s\n" "$PROBE_OUT" | grep -q "history file .* not used: mode 0644" &&
	      has "history file .* not used: mode 0644"'

# fork() while another thread's connect waits for the history file's lock
# (held by the program itself here; by another process in life), with the
# history's own lock held: the child must not inherit that lock taken.
rm -rf "$T/rt"
mkdir -m 700 "$T/rt"
run without SOFTERR_CONF="$T/empty.conf" SOFTERR_HISTORY_SHARE=on -- "$API" fork
printf '%s\n' "$OUT" | grep -E '^(not )?ok - ' | sed 's/^/# api: /'
check "the API: a fork during a connect in another thread; the child connects" \
	eval 'rc_is 0 && ! has "^not ok" && [ "$(count "^ok - ")" = 5 ]'

summary
