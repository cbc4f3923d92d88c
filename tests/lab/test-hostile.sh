#!/bin/bash
# Programs that handle descriptors behind the library's back: libuv's raw
# close (so Node.js's own family autoselection), close_range(), closefrom()
# and a daemon's loop closing 3..1023 while connects are pending; and one
# in which the library's thread never runs. The
# library must never act on, nor answer for, a number it no longer owns:
# with softerr every case ends as it does without. Needs root and node;
# run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

HOSTILE=$top_builddir/tests/lab/se-hostile
STUCK=$top_builddir/tests/lab/se-stuck
NODE_JS=$top_srcdir/tests/lab/node-connect.js
command -v node >/dev/null || lab_fail "node not found (Debian: nodejs)"
lab_up
lab_far_up
echo "# lab up: $LAB_C $LAB_R $LAB_S $LAB_F; $(node --version)"
T=$(mktemp -d)
trap 'rm -rf "$T"; lab_down' EXIT
# Each case is bounded well below the harness's 40 s.
RUN_LIMIT=20

# both WHAT CONDITION [VAR=value ...] -- command...: runs the command
# without and with softerr; each must meet CONDITION (a string for eval).
both() {
	local what=$1 cond=$2 mode
	shift 2
	for mode in without with; do
		run $mode "$@"
		check "$what: $mode softerr (${MS} ms)" eval "$cond"
	done
}

# hole.lab: 203.0.113.11 (silent), then 203.0.113.20. bhmix.lab:
# 2001:db8:3::11 (silent), then 203.0.113.20. twoholes.lab: 203.0.113.11
# and 2001:db8:3::11 (silent), then 203.0.113.20 and 2001:db8:3::20.

# 1. libuv's close: syscall(SYS_close) on a pending connect, a new socket
# on the same number connected elsewhere. An attempt delay longer than the
# program's wait leaves the library's run pending at the close; a shorter
# one lets it end first (its winner is what the program closes).
RAW='rc_is 0 && has "^reuse [0-9]* same" && has "^result ok 203.0.113.20 .* read echoed"'
both "raw close after 300 ms (poll), attempt delay 400 ms, the number reused" "$RAW" \
	SOFTERR_ATTEMPT_DELAY=400ms -- "$HOSTILE" rawclose hole.lab $LAB_PORT
both "raw close after 300 ms (epoll, as libuv), attempt delay 400 ms" "$RAW" \
	SOFTERR_ATTEMPT_DELAY=400ms -- "$HOSTILE" --epoll rawclose hole.lab $LAB_PORT
both "raw close after 300 ms (epoll), default attempt delay" "$RAW" \
	-- "$HOSTILE" --epoll rawclose hole.lab $LAB_PORT
both "raw close of an IPv6 attempt, the number reused by an IPv4 socket" "$RAW" \
	SOFTERR_ATTEMPT_DELAY=400ms -- "$HOSTILE" --epoll rawclose bhmix.lab $LAB_PORT
# The program makes no call for 2 s after its raw close: the library
# notices on its own that its stand-in has no reader left, and ends the
# run there (its sockets closed), rather than race the live address at
# the attempt delay (1 s) for a socket nobody holds.
run with SOFTERR_LOG=stderr SOFTERR_ATTEMPT_DELAY=1s -- "$HOSTILE" --idle 2000 rawclose hole.lab $LAB_PORT
check "raw close, no call after it: the library ends its run at once" \
	eval 'rc_is 0 && has "^result ok 203.0.113.20" &&
	      has "^softerr: non-blocking connect.* closed by the program at [0-9]* ms; closed by the program$" &&
	      ! has "^softerr: .*203.0.113.20"'

# 2. Everything from 3 up closed while two connects are pending (before
# the attempt delay): the numbers the library used are then the program's
# files. Nothing may be written into them, replaced or closed, the process
# lives on, and a new connect() works.
CLEAN='rc_is 0 && has "^files intact" && has "^fresh ok 203.0.113.20 read echoed" && has "^result ok"'
for mode in closerange closefrom closeloop; do
	both "$mode, two connects pending: the program's files untouched, a new connect works" \
		"$CLEAN" TMPDIR=$T -- "$HOSTILE" $mode hole.lab $LAB_PORT
done
# The same, sparing the pending sockets: they stay sockets, pending or
# connected to the name's live address, never a pipe.
KEEP="$CLEAN"' && ! has "^kept .* fail" && [ "$(count "^kept [0-9]* \(pending\|ok 203.0.113.20\)")" = 2 ]'
for mode in closerange closeloop; do
	both "$mode sparing the two pending sockets: they are sockets still" \
		"$KEEP" TMPDIR=$T -- "$HOSTILE" --keep $mode hole.lab $LAB_PORT
done

# The program puts files of its own on every number it did not open (the
# library's, with softerr: its thread's pipe and epoll instance, a run's
# copy of the pending socket, stand-in pipe and racing private socket),
# with dup2() while two connects race: each call lands as it would without
# softerr, the library stands aside for what it lost and never writes into
# those files, and a new connect works. The library's numbers are out of
# the program's way, from FD_SETSIZE (or under a small limit, the top
# eighth below it) up.
DUP='rc_is 0 && has "^files intact" && has "^fresh ok [0-9a-f:.]* read echoed" && has "^result ok"'
run without TMPDIR=$T -- "$HOSTILE" dup2 twoholes.lab $LAB_PORT
check "dup2 onto numbers the program did not open: without softerr there are none (${MS} ms)" \
	eval "$DUP"' && has "^dup2 0 numbers"'
run with TMPDIR=$T -- "$HOSTILE" dup2 twoholes.lab $LAB_PORT
low=$(printf '%s\n' "$OUT" | sed -n 's/^dup2 [0-9]* numbers from \(-\?[0-9]*\), the library.s from \([0-9]*\)$/\1 \2/p')
check "dup2 onto the library's numbers (${low% *} up, out of the way from ${low#* }), two connects racing: every file lands and stays intact, a new connect works (${MS} ms)" \
	eval "$DUP"' && has "^dup2 \([5-9]\|[1-9][0-9]\) numbers" && [ -n "$low" ] && [ ${low% *} -ge ${low#* } ]'

# 3. Node.js (net.connect with autoSelectFamily): with softerr, 10
# connections in a row in one process must all connect (without it, 3 show
# the way); the first failure ends the series and is shown. The history is
# off so that each connection meets the silent addresses first.
# series WHAT NAME with|without COUNT [VAR=value ...]
LIVE='^connected \(203.0.113.20\|2001:db8:3::20\) .* read echoed'
series() {
	local what=$1 name=$2 mode=$3 n=$4
	shift 4
	run $mode SOFTERR_HISTORY=off "$@" -- node "$NODE_JS" connect $name $LAB_PORT $n
	check "node, $what: $mode softerr, $(count "$LIVE") of $n connected (${MS} ms)" \
		eval 'rc_is 0 && [ "$(count "$LIVE")" = $n ]'
}
series "a silent first address" hole.lab without 3
for delay in 200ms 250ms 400ms; do
	series "a silent first address, attempt delay $delay" hole.lab with 10 \
		SOFTERR_ATTEMPT_DELAY=$delay
done
series "two silent addresses (one per family) first" twoholes.lab without 3
series "two silent addresses (one per family) first" twoholes.lab with 10

# fetch() (undici, over the same net.connect): the lab server's page.
both "node fetch() through a silent first address" \
	'rc_is 0 && has "^fetched 200 .* hello softerr"' \
	-- node "$NODE_JS" fetch hole.lab $LAB_PORT

# 4. A small descriptor limit is the program's: with softerr it holds as
# many pending connects as without (the library holds none of its own
# under a limit of 64), and with a larger limit at most an eighth fewer.
for limit in 16 256; do
	run without -- prlimit --nofile=$limit "$HOSTILE" fill hole.lab $LAB_PORT
	n0=$(printf '%s\n' "$OUT" | sed -n 's/^pending \([0-9]*\) .*/\1/p')
	run with -- prlimit --nofile=$limit "$HOSTILE" fill hole.lab $LAB_PORT
	n1=$(printf '%s\n' "$OUT" | sed -n 's/^pending \([0-9]*\) .*/\1/p')
	check "RLIMIT_NOFILE $limit: ${n0:-?} connects pending without softerr, ${n1:-?} with" \
		eval 'rc_is 0 && has "^pending [0-9]* EMFILE" && [ -n "$n0" ] && [ -n "$n1" ] &&
		      [ "$n1" -ge $(( n0 - limit / 8 )) ] && { [ $limit -ge 64 ] || [ "$n1" = "$n0" ]; }'
done

# 5. A thread that never runs, as in the child of a threaded program where
# a thread the child does not have held its allocator's lock across fork()
# (se-stuck: every new thread sleeps). The library's loop never begins, so
# a connect still pending when connect() returns (farlive.lab, 40 ms away)
# is the kernel's: connected, on the program's own socket. At exit nothing
# waits for that thread (it would for up to 1 s): the time from the
# program's last line to its end stays small.
for mode in without with; do
	run $mode -- "$STUCK" farlive.lab $LAB_PORT
	last=$(printf '%s\n' "$OUT" | sed -n 's/^result ok [0-9.]* \([0-9]*\)$/\1/p')
	check "a thread that never runs: a pending connect connects, the exit waits for nothing ($mode softerr, ${MS} ms, ${last:-?} ms to the result)" \
		eval 'rc_is 0 && [ -n "$last" ] && [ $(( MS - last )) -lt 800 ]'
done

summary
