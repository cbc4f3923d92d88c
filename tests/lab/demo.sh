#!/bin/bash
# The demonstration: an unmodified program (Debian's wget) fetches a page
# from a name whose first address is dead, in a private network-namespace
# lab, timed without and with softerr. Run by `make demo` (as root).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
RUN=$top_builddir/src/tools/softerr-run
# Every run starts without the address history (which would spare a second
# demonstration the dead address), and leaves none on the machine.
export SOFTERR_HISTORY_SHARE=off

timed() {	# timed LABEL [VAR=value ...] -- command...: runs in the client
	local label=$1 envs=() t0 out rc
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	t0=$(now_ms)
	out=$(in_client env "${envs[@]}" timeout 60 "$@" 2>&1)
	rc=$?
	printf '  %-16s %6d ms  (exit %d)\n' "$label" $(( $(now_ms) - t0 )) "$rc"
	printf '%s\n' "$out" | sed 's/^/      | /'
}

lab_up
cat <<EOT
softerr demonstration, in private network namespaces (client, router, server).
The name soft.lab has two addresses, in this order (the client's hosts file):
  203.0.113.13  its router answers every SYN with ICMP host-unreachable (a soft error)
  203.0.113.20  a web server on port $LAB_PORT
The program is Debian's wget, unmodified. It tries the addresses in order.

EOT
echo "wget -O - http://soft.lab:$LAB_PORT/   (with softerr: softerr-run -v wget ...)"
timed "without softerr" -- wget -q -O - --tries=1 "http://soft.lab:$LAB_PORT/"
timed "with softerr" -- "$RUN" -v wget -q -O - --tries=1 "http://soft.lab:$LAB_PORT/"
echo
echo "socat - TCP:soft.lab:$LAB_PORT   (socat tries the first address only)"
timed "without softerr" -- sh -c "echo hello | socat - TCP:soft.lab:$LAB_PORT"
timed "with softerr" -- "$RUN" sh -c "echo hello | socat - TCP:soft.lab:$LAB_PORT"
echo
echo "What each address did: softerr-probe soft.lab $LAB_PORT"
in_client "$top_builddir/src/tools/softerr-probe" soft.lab "$LAB_PORT" | sed 's/^/  /'
cat <<EOT

Without softerr the kernel records the first ICMP error while connect() still
holds the socket and keeps retrying (RFC 1122); the program moves on only
after the SYN retransmission a second later draws the error again. With
softerr the error is read from the socket's error queue at once, classified
as soft (RFC 5461), and the connection fails over to the next address of the
same name on the same socket.
EOT
