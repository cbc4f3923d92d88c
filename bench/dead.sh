#!/bin/bash
# Every address dead: the time until Debian's programs report the failure,
# without softerr, with it in a first process (no history), and in a second
# one (the first one's shared history). dead46.lab is 2001:db8:3::13 and
# 203.0.113.13, both answering ICMP unreachable from the near router.
# Root (it builds the lab); figures, not assertions:
#   top_builddir=BUILD bench/dead.sh [RUNS]
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
RUNS=${1:-3}
unset XDG_RUNTIME_DIR
T=$(mktemp -d)
chmod 700 "$T"
lab_up
trap 'rm -rf "$T"; lab_down' EXIT

URL=http://dead46.lab:$LAB_PORT/
PROGS=(curl wget python3 nc perl)
cmd() {
	case $1 in
	curl) echo "curl -s -o /dev/null $URL" ;;
	wget) echo "wget -q -O /dev/null --tries=1 $URL" ;;
	python3) echo "/usr/bin/python3 -c 'import socket; socket.create_connection((\"dead46.lab\", $LAB_PORT))'" ;;
	nc) echo "nc -z dead46.lab $LAB_PORT" ;;
	perl) echo "perl -MIO::Socket::IP -e 'IO::Socket::IP->new(PeerHost => \"dead46.lab\", PeerPort => $LAB_PORT) or exit 1'" ;;
	esac
}
# secs ENV...: runs $CMD in the client namespace, prints the seconds.
secs() {
	local t0 t1
	t0=$(date +%s%N)
	in_client env "$@" timeout 120 sh -c "$CMD" >/dev/null 2>&1 </dev/null
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e9 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-10s %16s %16s %16s\n' program "without softerr" "first process" "second process"
for p in "${PROGS[@]}"; do
	CMD=$(cmd "$p")
	w=() f=() s=()
	for i in $(seq 1 "$RUNS"); do
		w+=("$(secs SOFTERR_X=1)")
		d=$T/$p.$i
		mkdir -m 700 "$d"
		f+=("$(secs "LD_PRELOAD=$SOFTERR_LIB" "XDG_RUNTIME_DIR=$d" SOFTERR_HISTORY_SHARE=on)")
		s+=("$(secs "LD_PRELOAD=$SOFTERR_LIB" "XDG_RUNTIME_DIR=$d" SOFTERR_HISTORY_SHARE=on)")
	done
	printf '%-10s %14s s %14s s %14s s\n' "$p" \
		"$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${f[@]}" | median)" \
		"$(printf '%s\n' "${s[@]}" | median)"
done
