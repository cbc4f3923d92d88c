# What the lab tests share: running a command in the client namespace with
# or without the library, and TAP-like assertions. Sourced after lab.sh.

CLIENT=$top_builddir/tests/lab/se-client
[ -x "$CLIENT" ] || lab_fail "$CLIENT not built"
[ -f "$SOFTERR_LIB" ] || lab_fail "$SOFTERR_LIB not built"

# For a sanitized build (CI runs one): SOFTERR_PRELOAD, if set, is the
# whole LD_PRELOAD of the project's own programs with the library (the
# sanitizer's runtime first), and SOFTERR_REAL_PRELOAD that of Debian's
# programs, which a sanitizer runtime preloaded into them can hang (wget and
# curl do at exit under AddressSanitizer, without softerr too).
passed=0
failed=0
# The address history: a test that wants it shared gives its own
# XDG_RUNTIME_DIR and SOFTERR_HISTORY_SHARE=on; the others start from
# nothing in every process (and never touch the machine's /run/softerr).
unset XDG_RUNTIME_DIR
export SOFTERR_HISTORY_SHARE=off
# Connects per thread of the 16-thread soaks: 1,000, fewer where a
# sanitizer slows every call ten times (CI's ThreadSanitizer pass): there
# they look for races, which a few hundred find as well.
SOAK=${SOFTERR_SOAK:-1000}
# What se-threads says of its fork()'s child: "ok", or, built with
# AddressSanitizer (whose fork() is not safe in a threaded program), that
# there was none (se-threads.c, FORK_CHILD). A pattern for has().
CHILD_OK='\(ok\|none (AddressSanitizer)\)'
# "; no child (AddressSanitizer)" for a check's name when it said so.
no_child() { has "child none (AddressSanitizer)" && echo "; no child (AddressSanitizer)"; }
# The kernel's first SYN retransmission comes after 1 s: "before it" is the
# bar for failing over, with room for a slow machine.
BEFORE_MS=900

# run with|without [VAR=value ...] -- command [args]: runs in the client
# namespace (bounded by $RUN_LIMIT seconds, 40 unless set); sets OUT (stdout
# and stderr), RC, MS.
run() {
	local mode=$1 envs=() t0
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	if [ "$mode" = with ]; then
		case $1 in
		"$top_builddir"/*) envs+=("LD_PRELOAD=${SOFTERR_PRELOAD:-$SOFTERR_LIB}") ;;
		*) envs+=("LD_PRELOAD=${SOFTERR_REAL_PRELOAD:-$SOFTERR_LIB}") ;;
		esac
	fi
	if [ "$mode" = without ] && baseline_load "$@"; then
		return
	fi
	t0=$(now_ms)
	OUT=$(in_client env "${envs[@]}" timeout "${RUN_LIMIT:-40}" "$@" 2>&1 </dev/null)
	RC=$?
	MS=$(( $(now_ms) - t0 ))
	[ "$mode" = without ] && baseline_save "$@"
	return 0
}

# A run without the library is the kernel's answer alone, the same in
# every pass over the same build: CI's first pass keeps each one
# (SOFTERR_BASELINE_SAVE=DIR), and its sanitizer passes, which are about
# the library, take them from there (SOFTERR_BASELINE=DIR) rather than wait
# them out again. Known by the script, the command (the build tree's path
# left out), its environment and its time limit; one not kept is run.
baseline_key() {
	printf '%s\n' "${0##*/}" "${RUN_LIMIT:-40}" "${envs[@]}" "$@" |
		sed "s|$top_builddir|@build@|g; s|$top_srcdir|@src@|g" | md5sum | cut -c1-32
}
baseline_load() {
	local f
	[ -n "${SOFTERR_BASELINE:-}" ] || return 1
	f=$SOFTERR_BASELINE/$(baseline_key "$@")
	[ -f "$f" ] || return 1
	{ read -r RC MS; OUT=$(cat); } <"$f"
	echo "# without softerr: the first pass's run (rc $RC, $MS ms): $*"
}
baseline_save() {
	[ -n "${SOFTERR_BASELINE_SAVE:-}" ] || return 0
	mkdir -p "$SOFTERR_BASELINE_SAVE" &&
		printf '%s %s\n%s\n' "$RC" "$MS" "$OUT" >"$SOFTERR_BASELINE_SAVE/$(baseline_key "$@")"
}

check() {
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok - $what"
	else
		failed=$((failed + 1))
		echo "not ok - $what"
		echo "#   rc=$RC ${MS} ms; output:"
		printf '%s\n' "$OUT" | sed 's/^/#   /'
	fi
}

has() { printf '%s\n' "$OUT" | grep -q -- "$1"; }
count() { printf '%s\n' "$OUT" | grep -o -- "$1" | wc -l; }
rc_is() { [ "$RC" = "$1" ]; }
# faster N: the run took under N ms, by the lab client's own clock where
# it printed it ("result ok|fail WHAT MS", from its lookup to its
# outcome, which the library decides), else by the wall clock (which a
# loaded machine's process start-up stretches by a second and more).
faster() {
	local t
	t=$(printf '%s\n' "$OUT" |
		awk '/^result (ok|fail) [^ ]+ [0-9.]+/ { t = $4 } END { print t }')
	[ -n "$t" ] || t=$(lib_ms)
	if [ -n "$t" ]; then
		awk -v t="$t" -v n="$1" 'BEGIN { exit !(t < n) }'
	else
		[ "$MS" -lt "$1" ]
	fi
}
# The library's own time for the slowest connect of the run, from its log
# lines ("connected in N ms", SOFTERR_LOG=1), for programs that print no
# time of their own: on a loaded machine an unmodified program's start-up
# can take longer than the failover it is there to show.
lib_ms() {
	printf '%s\n' "$OUT" | awk '/^softerr: (non-blocking )?connect .*; connected in [0-9]+ ms$/ {
		n = $(NF - 1) + 0; if (t == "" || n > t) t = n } END { print t }'
}
# The lab clients' own time from getaddrinfo() to connected ("result ok
# ADDRESS MS"), which a loaded machine's process start-up does not blur.
took_under() {
	printf '%s\n' "$OUT" | awk -v n="$1" '/^result ok/ { t = $4 } END { exit !(t != "" && t < n) }'
}
slower() { [ "$MS" -ge "$1" ]; }

# compare_real WHAT EXPECT SLOW_MS FAST_MS command...: an unmodified
# program, without the library (cut off after $WITHOUT_LIMIT s, 40 unless
# set) and with it. Passes when, without, it ended with status
# $WITHOUT_RC (0 unless set) after at least SLOW_MS, and, with, it
# succeeded and printed EXPECT, its connects done in under FAST_MS (the
# library's log says when; the program's wall time if it logged none).
compare_real() {
	local what=$1 expect=$2 slow=$3 fast=$4 rc0 ms0
	shift 4
	RUN_LIMIT=${WITHOUT_LIMIT:-40} run without -- "$@"
	rc0=$RC ms0=$MS
	run with SOFTERR_LOG=1 -- "$@"
	check "$what: without softerr ${ms0} ms (rc $rc0), with ${MS} ms (connected in $(lib_ms) ms)" \
		eval '[ $rc0 = ${WITHOUT_RC:-0} ] && [ $ms0 -ge $slow ] && rc_is 0 && faster $fast && has "$expect"'
}

# The closing line, with the script's wall time (what CI's length is made
# of); the exit status says whether everything passed.
summary() {
	echo "$passed passed, $failed failed in ${SECONDS} s"
	[ "$failed" = 0 ]
}
