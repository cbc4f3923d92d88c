#!/bin/bash
# While a non-blocking connect() is pending: the program's number answers
# waiting, options and errors as the connecting TCP socket does without
# softerr, shutdown() ends the attempt with the kernel's answer, a child
# forked meanwhile holds a socket, not the library's stand-in; send(),
# write(), recv() and fstat() see the stand-in, a pipe, as libsofterr(7)
# says. Each case runs without and with the library. Needs root; run by
# `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

PENDING=$top_builddir/tests/lab/se-pending
[ -x "$PENDING" ] || lab_fail "$PENDING not built"
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
trap 'lab_down' EXIT
RUN_LIMIT=20
# hole.lab: 203.0.113.11 (silent), then 203.0.113.20 (the server). The
# attempt delay of 1 s keeps the library's run in flight while the program
# asks (within 100 ms of its connect()); then the run connects to .20.
DELAY=SOFTERR_ATTEMPT_DELAY=1s

# 1. The answers of a connecting socket, the same without and with.
run without -- "$PENDING" answers hole.lab $LAB_PORT
base=$(printf '%s\n' "$OUT" | grep -v '^result')
check "answers while pending, without softerr: EAGAIN, no event (${MS} ms)" \
	eval 'rc_is 0 && has "^file socket" && has "^send EAGAIN" && has "^write EAGAIN" &&
	      has "^recv EAGAIN" && has "^read EAGAIN" && has "^poll -" && has "^so_error 0" &&
	      has "^result pending"'
run with $DELAY -- "$PENDING" answers hole.lab $LAB_PORT
check "answers while pending, with softerr: no event, no error, read() EAGAIN as without; then connected to the live address (${MS} ms)" \
	eval 'rc_is 0 && has "^read EAGAIN" && has "^poll -" && has "^so_error 0" &&
	      has "^result ok 203.0.113.20 .* read echoed"'
# What libsofterr(7) says remains different: the stand-in is a pipe.
check "... send() and recv() ENOTSOCK, write() EBADF, fstat() a pipe (libsofterr(7), LIMITS)" \
	eval 'has "^file fifo" && has "^send ENOTSOCK" && has "^recv ENOTSOCK" && has "^write EBADF"'

# 2. shutdown() ends the attempt: the kernel's answer, the socket closed
# and nothing connects it again; no descriptor left behind.
for how in rd wr rdwr; do
	run without -- "$PENDING" shutdown $how hole.lab $LAB_PORT
	base=$OUT
	check "shutdown($how) while pending, without softerr (${MS} ms)" \
		eval 'rc_is 0 && has "^shutdown 0" && has "^after poll .*HUP" && has "^later peer ENOTCONN" &&
		      has "^fds left 0"'
	run with $DELAY -- "$PENDING" shutdown $how hole.lab $LAB_PORT
	check "shutdown($how) while pending, with softerr: what the kernel says without (${MS} ms)" \
		eval 'rc_is 0 && [ "$OUT" = "$base" ]'
	[ "$OUT" = "$base" ] || printf '%s\n' "# without softerr:" "$base" | sed 's/^/#   /'
done

# connect() to AF_UNSPEC dissolves the attempt: the kernel's answer on the
# program's socket (the stand-in is no socket: ENOTSOCK before).
run without -- "$PENDING" shutdown unspec hole.lab $LAB_PORT
base=$OUT
check "connect(AF_UNSPEC) while pending, without softerr (${MS} ms)" \
	eval 'rc_is 0 && has "^unspec 0" && has "^later peer ENOTCONN" && has "^fds left 0"'
run with $DELAY -- "$PENDING" shutdown unspec hole.lab $LAB_PORT
check "connect(AF_UNSPEC) while pending, with softerr: what the kernel says without (${MS} ms)" \
	eval 'rc_is 0 && [ "$OUT" = "$base" ]'
[ "$OUT" = "$base" ] || printf '%s\n' "# without softerr:" "$base" | sed 's/^/#   /'

# 3. fork() while pending: the child holds a socket, whose attempt goes on
# (without) or ends (with: the parent's run connected on another socket),
# never a stand-in that no connect ever completes.
CHILD='has "^child file socket" && has "^child outcome \(pending\|error E[A-Z]*\|connected 203.0.113.20\)"'
run without -- "$PENDING" fork hole.lab $LAB_PORT
check "fork while pending, without softerr (${MS} ms)" \
	eval 'rc_is 0 && '"$CHILD"' && has "^result pending"'
run with $DELAY -- "$PENDING" fork hole.lab $LAB_PORT
check "fork while pending, with softerr: the child holds the program's socket, not the stand-in (${MS} ms)" \
	eval 'rc_is 0 && '"$CHILD"' && ! has "^child outcome pending" && has "^result ok 203.0.113.20 .* read echoed"'

summary
