#!/bin/bash
# pending-calls.sh: which calls a real program makes on its socket while its
# non-blocking connect() is pending, in the lab (root; strace).
#
#   tests/tools/pending-calls.sh [--with] [--limit SECONDS] -- COMMAND...
#
# Brings the lab up (tests/lab/lab.sh; down again on exit), runs COMMAND in
# the client namespace under strace -f -tt -yy (with the library preloaded
# when --with), cut off after SECONDS (20), and prints the program's output
# and, per connect() that returned EINPROGRESS, the calls on that descriptor
# until it was ready, closed or replaced (pending-calls.py). Names: hole.lab
# (a black hole, then the server), holeonly.lab, live.lab (lab.sh lists
# them all). The trace is kept when PENDING_TRACE names a file.
#
# Example: tests/tools/pending-calls.sh -- socat - TCP:hole.lab:8080,connect-timeout=3
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
with=
limit=20
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	case $1 in
	--with) with=1 ;;
	--limit) limit=$2; shift ;;
	*) echo "usage: $0 [--with] [--limit SECONDS] -- COMMAND..." >&2; exit 2 ;;
	esac
	shift
done
[ $# -gt 1 ] || { echo "usage: $0 [--with] [--limit SECONDS] -- COMMAND..." >&2; exit 2; }
shift
command -v strace >/dev/null || { echo "$0: strace not found" >&2; exit 2; }
. "$top_srcdir/tests/lab/lab.sh"
[ -f "$SOFTERR_LIB" ] || lab_fail "$SOFTERR_LIB not built"
lab_up

trace=${PENDING_TRACE:-$(mktemp)}
[ -n "${PENDING_TRACE:-}" ] || trap 'rm -f "$trace"; lab_down' EXIT
envs=()
[ -n "$with" ] && envs=(-E "LD_PRELOAD=$SOFTERR_LIB")
t0=$(now_ms)
in_client timeout -s KILL "$limit" strace -f -tt -yy -e trace=network,desc,process \
	"${envs[@]}" -o "$trace" "$@" </dev/null
rc=$?
echo "# status $rc after $(( $(now_ms) - t0 )) ms"
python3 "$top_srcdir/tests/tools/pending-calls.py" ${with:+--lib} "$trace" | sed 1d
