#!/bin/bash
# softerr's figures: failover time per scenario in the lab, and the cost of
# the library on the healthy path, measured side by side in one run.
# Run by `make bench` (root: it builds the lab's namespaces).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"

BENCH=$top_builddir/bench/bench-connect
CLIENT=$top_builddir/tests/lab/se-client
NB=$top_builddir/tests/lab/se-nbclient
ROUNDS=${ROUNDS:-21}
CONNECTS=${CONNECTS:-100000}	# per arm, split over the rounds
LOOKUPS=${LOOKUPS:-100000}
RUNS=${RUNS:-15}		# failover runs per scenario

# Every process starts without history unless a section gives it one.
unset XDG_RUNTIME_DIR
export SOFTERR_HISTORY_SHARE=off

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The first and third quartiles, "q1-q3".
quartiles() { sort -n | awk '{ v[NR] = $1 } END { printf "%s-%s\n", v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }'; }

# paired ROUND COMMAND...: one round, A bare and B preloaded, on one CPU,
# the order swapped every round. False when either printed nothing.
paired() {
	if [ $(($1 % 2)) = 1 ]; then
		A=$(taskset -c 0 "${@:2}"); B=$(LD_PRELOAD=$SOFTERR_LIB taskset -c 0 "${@:2}")
	else
		B=$(LD_PRELOAD=$SOFTERR_LIB taskset -c 0 "${@:2}"); A=$(taskset -c 0 "${@:2}")
	fi
	[ -n "$A" ] && [ -n "$B" ]
}

# ratio LABEL COMMAND...: ROUNDS rounds, bare and preloaded in turn (the
# order swapped every round), each printing ns per operation. Prints the
# medians of each arm and the median of the rounds' ratios (pairing the
# two arms of a round cancels the machine's drift).
ratio() {
	local label=$1 bare=() pre=() r=() i a b
	shift
	for i in $(seq 1 "$ROUNDS"); do
		paired "$i" "$@" || { echo "bench: $label failed" >&2; return 1; }
		a=$A b=$B
		bare+=("$a"); pre+=("$b")
		r+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')")
	done
	printf '%-48s %9s ns %9s ns   %.3f  (%s)\n' "$label" \
		"$(printf '%s\n' "${bare[@]}" | median)" \
		"$(printf '%s\n' "${pre[@]}" | median)" \
		"$(printf '%s\n' "${r[@]}" | median)" \
		"$(printf '%s\n' "${r[@]}" | quartiles)"
}

# Whole processes, started one after another by bench-spawn (from spawn to
# reaped exit; LD_PRELOAD is inherited, as from a shell): what every
# process pays where the library is preloaded into all of them
# (/etc/ld.so.preload), connect or not. Each row twice: wall clock, and
# the CPU time of the process (its threads and children included), which
# another load on the machine disturbs less.
SPAWN=$top_builddir/bench/bench-spawn
PROCS=${PROCS:-1000}	# per arm and row, split over the rounds (curl: a fifth)
FORKS=${FORKS:-2000}	# bash loop iterations per arm, split over the rounds

# proc_ratio LABEL COMMAND...: as ratio(), for a bench-spawn that prints
# "WALL CPU FAULTS" a process: a row for each (page faults: the medians).
proc_ratio() {
	local label=$1 bw=() bc=() bf=() pw=() pc=() pf=() rw=() rc=() i a b
	shift
	for i in $(seq 1 "$ROUNDS"); do
		paired "$i" "$@" || { echo "bench: $label failed" >&2; return 1; }
		a=$A b=$B
		read -r aw ac af <<<"$a"
		read -r pw_ pc_ pf_ <<<"$b"
		bw+=("$aw"); bc+=("$ac"); bf+=("$af"); pw+=("$pw_"); pc+=("$pc_"); pf+=("$pf_")
		rw+=("$(awk -v a="$aw" -v b="$pw_" 'BEGIN { printf "%.4f", b / a }')")
		rc+=("$(awk -v a="$ac" -v b="$pc_" 'BEGIN { printf "%.4f", b / a }')")
	done
	us() { median | awk '{ printf "%.0f", $1 / 1000 }'; }
	printf '%-48s %9s us %9s us   %.3f  (%s)\n' "$label" \
		"$(printf '%s\n' "${bw[@]}" | us)" "$(printf '%s\n' "${pw[@]}" | us)" \
		"$(printf '%s\n' "${rw[@]}" | median)" "$(printf '%s\n' "${rw[@]}" | quartiles)"
	printf '%-48s %9s us %9s us   %.3f  (%s)\n' "  CPU time" \
		"$(printf '%s\n' "${bc[@]}" | us)" "$(printf '%s\n' "${pc[@]}" | us)" \
		"$(printf '%s\n' "${rc[@]}" | median)" "$(printf '%s\n' "${rc[@]}" | quartiles)"
	printf '%-48s %12s %12s\n' "  page faults" \
		"$(printf '%s\n' "${bf[@]}" | median)" "$(printf '%s\n' "${pf[@]}" | median)"
}

# The same processes in user-space instructions (callgrind: the dynamic
# linker's work included, exact and repeatable where the clock is not).
proc_instr() {	# proc_instr LABEL [ip netns exec NS] COMMAND...
	local label=$1 pre=() a b
	shift
	[ "$1" = ip ] && { pre=("$1" "$2" "$3" "$4"); shift 4; }
	a=$("${pre[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
	b=$("${pre[@]}" env LD_PRELOAD="$SOFTERR_LIB" valgrind --tool=callgrind \
		--callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
	printf '%-48s %12s %12s   +%s\n' "$label" "$a" "$b" "$((b - a))"
}

process_rows() {
	local p=$((PROCS / ROUNDS)) f=$((FORKS / ROUNDS))
	echo
	echo "== Whole processes: bare against preloaded, $ROUNDS interleaved rounds"
	echo "   (medians, us a process)"
	printf '%-48s %12s %12s   %s\n' "" "bare" "softerr" "ratio (quartiles)"
	# The floor: an empty library preloaded in softerr's place, the
	# dynamic linker's work for any preloaded library.
	local floor
	floor=$(mktemp -d)
	printf 'int se_bench_floor(void) { return 0; }\n' >"$floor/floor.c"
	${CC:-cc} -shared -fPIC -O2 -o "$floor/libfloor.so" "$floor/floor.c"
	SOFTERR_LIB=$floor/libfloor.so proc_ratio "/bin/true, an empty library (the floor)" \
		"$SPAWN" "$p" /bin/true
	proc_ratio "/bin/true, x$PROCS" "$SPAWN" "$p" /bin/true
	proc_ratio "a TCP socket made and closed, x$PROCS" "$SPAWN" "$p" "$BENCH" socket 1
	proc_ratio "nc -z, live address in the lab, x$PROCS" \
		ip netns exec "$LAB_C" "$SPAWN" "$p" nc -z 203.0.113.21 9090
	proc_ratio "curl, live address in the lab, x$((PROCS / 5))" \
		ip netns exec "$LAB_C" "$SPAWN" $((p / 5 > 0 ? p / 5 : 1)) \
		curl -sS -o /dev/null http://203.0.113.21:9091/
	# A shell loop of short programs: bash loads the library too, and
	# every program inherits it, as from /etc/ld.so.preload.
	proc_ratio "bash loop: date, sed, grep, x$FORKS" "$SPAWN" -p $((3 * f)) 1 bash -c '
		for ((i = 0; i < $1; i++)); do
			date >/dev/null
			sed s/a/b/ <<<a >/dev/null
			grep -q a <<<a
		done' forks "$f"
	if command -v valgrind >/dev/null 2>&1; then
		echo "  instructions a process (callgrind)"
		SOFTERR_LIB=$floor/libfloor.so proc_instr "/bin/true, an empty library (the floor)" /bin/true
		proc_instr "/bin/true" /bin/true
		proc_instr "a TCP socket made and closed" "$BENCH" socket 1
		proc_instr "nc -z, live address in the lab" ip netns exec "$LAB_C" nc -z 203.0.113.21 9090
	fi
	rm -rf "$floor"
	echo "(targets, issue 14: a process that never connects beyond loopback pays"
	echo " at most 3% more, and the library less than 0.1 ms a process; the floor"
	echo " row is what any preloaded library costs, softerr or not)"
}

lab_up
# Listeners for the healthy-path loops: in the server namespace, and on
# this machine's loopback (stopped at the end; they end by themselves after
# 15 minutes anyway).
lab_spawn "$LAB_S" taskset -c 1 "$BENCH" serve 9090
( setsid taskset -c 1 "$BENCH" serve 9090 </dev/null >/dev/null 2>&1 & )
# curl's: an empty HTTP answer.
lab_spawn "$LAB_S" taskset -c 1 "$BENCH" http 9091
sleep 0.3

echo "softerr $(sed -n 's/^AC_INIT(\[softerr\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac"), $(uname -r), $(nproc) CPUs"
# BENCH_ONLY=process: the whole-process rows alone (a minute or so).
if [ "${BENCH_ONLY:-}" = process ]; then
	process_rows
	pkill -f "$BENCH serve 9090"
	exit 0
fi
echo
echo "== An ICMP error on the first address: connected through the second"
echo "   (ms since getaddrinfo, median of $RUNS; of 3 where it takes a second)"
printf '%-46s %-23s  %s\n' "" "a loop over the addresses" "the first address only"
printf '%-40s %-5s %11s %11s %12s %11s\n' "first address" "router" "without" "with" "without" "with"
# arm RUNS [VAR=value ...] -- se-client arguments: the median of RUNS runs,
# "fail MS" when the client failed in most of them.
arm() {
	local n=$1 envs=() i out ms=() fails=0
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	for i in $(seq 1 "$n"); do
		out=$(in_client env "${envs[@]}" "$CLIENT" "$@" "$LAB_PORT" | awk '/^result/ { print $2, $4 }')
		case $out in fail*) fails=$((fails + 1)) ;; esac
		ms+=("${out#* }")
	done
	[ $((2 * fails)) -gt "$n" ] && printf 'fail '
	printf '%s\n' "${ms[@]}" | median
}
# scenario LABEL near|far FAMILY NAME: a near router's error takes the
# kernel's first SYN retransmission (about 1 s) without softerr.
scenario() {
	local label=$1 where=$2 fam=$3 name=$4 slow=$RUNS
	[ "$where" = near ] && slow=3
	printf '%-40s %-5s %11s %11s %12s %11s\n' "$label" "$where" \
		"$(arm "$slow" -- "-$fam" "$name")" \
		"$(arm "$RUNS" LD_PRELOAD="$SOFTERR_LIB" -- "-$fam" "$name")" \
		"$(arm "$slow" -- "-$fam" --first "$name")" \
		"$(arm "$RUNS" LD_PRELOAD="$SOFTERR_LIB" -- "-$fam" --first "$name")"
}
lab_far_up
scenario "ICMP host-unreachable (nft reject), IPv4" near 4 soft.lab
scenario ""                                         far  4 farsoft.lab
scenario "ICMP net-unreachable (nft reject), IPv4"  near 4 netunreach.lab
scenario ""                                         far  4 farnet.lab
scenario "ICMPv6 address-unreachable (nft reject)"  near 6 reject6.lab
scenario ""                                         far  6 farsoft6.lab
scenario "ICMPv6 no-route"                          near 6 soft6.lab
scenario ""                                         far  6 farnoroute6.lab
scenario "ICMP admin-prohibited (hard), IPv4"       near 4 admin.lab
echo "(near: the lab's router, one hop from the client, whose error arrives"
echo " while connect() still holds the socket: Linux records it and waits for"
echo " its first SYN retransmission. far: a router $((2 * LAB_FAR_DELAY)) ms away (round"
echo " trip), whose error Linux acts on at once; the second address is behind it."
echo " ICMPv6 no-route: an unreachable route near, an nft reject far)"

echo
echo "== Black hole first: connected through the second (median of $RUNS, ms)"
printf '%-50s %12s %12s\n' "first address" "without" "with softerr"
hole() {
	local label=$1 name=$2 w=() i out
	for i in $(seq 1 "$RUNS"); do
		out=$(in_client env LD_PRELOAD="$SOFTERR_LIB" "$CLIENT" --first "$name" "$LAB_PORT")
		w+=("$(printf '%s\n' "$out" | awk '/^result ok/ { print $4 }')")
	done
	printf '%-50s %12s %12s\n' "$label" "> 3000 (127 s)" "$(printf '%s\n' "${w[@]}" | median)"
}
hole "black hole, IPv4 (then IPv4)"                     hole.lab
hole "black hole, IPv6 (then IPv6)"                     hole6.lab
hole "black hole, IPv6 (then IPv4)"                     bhmix.lab
hole "black hole, then ICMP, then live"                 bhicmp.lab
echo "(attempt delay 250 ms; without softerr connect() waits for the kernel's"
echo " 6 SYN retransmissions, about 127 s: the lab test cuts it off at 3 s)"

echo
echo "== Address history: hole.lab (black hole, then live), one process after another"
echo "   (median of $RUNS fresh histories; ms from getaddrinfo to connected)"
hist_runs() {	# hist_runs [VAR=value]: "first second third" for a fresh history
	local t out a=()
	t=$(mktemp -d)
	chmod 700 "$t"
	for i in 1 2 3; do
		out=$(in_client env XDG_RUNTIME_DIR="$t" SOFTERR_HISTORY_SHARE=on LD_PRELOAD="$SOFTERR_LIB" "$@" \
			"$CLIENT" -4 hole.lab "$LAB_PORT")
		a+=("$(printf '%s\n' "$out" | awk '/^result ok/ { print $4 }')")
	done
	rm -rf "$t"
	echo "${a[@]}"
}
h1=() h2=() h3=() o2=() live=()
for i in $(seq 1 "$RUNS"); do
	read -r a b c < <(hist_runs)
	h1+=("$a"); h2+=("$b"); h3+=("$c")
	read -r a b c < <(hist_runs SOFTERR_HISTORY=off)
	o2+=("$b")
	live+=("$(in_client env LD_PRELOAD="$SOFTERR_LIB" "$CLIENT" -4 live.lab "$LAB_PORT" |
		awk '/^result ok/ { print $4 }')")
done
printf '%-50s %12s\n' "first process" "$(printf '%s\n' "${h1[@]}" | median)"
printf '%-50s %12s\n' "second process" "$(printf '%s\n' "${h2[@]}" | median)"
printf '%-50s %12s\n' "third process" "$(printf '%s\n' "${h3[@]}" | median)"
printf '%-50s %12s\n' "second process, SOFTERR_HISTORY=off" "$(printf '%s\n' "${o2[@]}" | median)"
printf '%-50s %12s\n' "healthy: live.lab (one live address)" "$(printf '%s\n' "${live[@]}" | median)"

echo
echo "== Attempt delay from the history's handshake times: farhole.lab (a black hole,"
echo "   then a live address $((2 * LAB_FAR_DELAY)) ms away); median of $RUNS fresh histories, ms"
echo "   from getaddrinfo to connected"
rtt_run() {	# rtt_run seed|none: the first process through farhole.lab
	local t out
	t=$(mktemp -d)
	chmod 700 "$t"
	# seed: the live address's handshake is known (farpair.lab: it, .111).
	[ "$1" = seed ] && in_client env XDG_RUNTIME_DIR="$t" SOFTERR_HISTORY_SHARE=on \
		LD_PRELOAD="$SOFTERR_LIB" "$CLIENT" -4 farpair.lab "$LAB_PORT" >/dev/null
	out=$(in_client env XDG_RUNTIME_DIR="$t" SOFTERR_HISTORY_SHARE=on LD_PRELOAD="$SOFTERR_LIB" \
		"$CLIENT" -4 farhole.lab "$LAB_PORT")
	rm -rf "$t"
	printf '%s\n' "$out" | awk '/^result ok/ { print $4 }'
}
r0=() r1=()
for i in $(seq 1 "$RUNS"); do
	r0+=("$(rtt_run none)")
	r1+=("$(rtt_run seed)")
done
printf '%-50s %12s\n' "no history: attempt_delay" "$(printf '%s\n' "${r0[@]}" | median)"
printf '%-50s %12s\n' "the live address's handshake known" "$(printf '%s\n' "${r1[@]}" | median)"

echo
echo "== Non-blocking connect(), waiting in epoll, until connected to the second address (median of $RUNS, ms)"
printf '%-44s %10s %12s %12s\n' "first address" "without" "transparent" "visible"
nb() {	# nb LABEL NAME [TIMEOUT]: without, the program moves on itself
	local label=$1 name=$2 w=() wo=() v=() i
	for i in $(seq 1 "$RUNS"); do
		w+=("$(in_client env LD_PRELOAD="$SOFTERR_LIB" "$NB" --timeout "${3:-3000}" --wait epoll "$name" "$LAB_PORT" |
			awk '/^result ok/ { print $4 }')")
		v+=("$(in_client env SOFTERR_TRANSPARENT=off LD_PRELOAD="$SOFTERR_LIB" "$NB" --timeout "${3:-3000}" --wait epoll "$name" "$LAB_PORT" |
			awk '/^result ok/ { print $4 }')")
	done
	for i in 1 2 3; do
		wo+=("$(in_client "$NB" --timeout "${3:-3000}" --wait epoll "$name" "$LAB_PORT" |
			awk '/^result ok/ { print $4 }')")
	done
	printf '%-44s %10s %12s %12s\n' "$label" "$(printf '%s\n' "${wo[@]}" | median)" \
		"$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${v[@]}" | median)"
}
nb "ICMPv6 address-unreachable (nft reject)"       reject6.lab
nb "ICMPv6 no-route (unreachable route)"           soft6.lab
nb "ICMP host-unreachable (nft reject), IPv4"      soft.lab
nb "black hole (the program's timeout 1 s)"        hole.lab 1000
echo "(without: the program sees the error, or its own timeout, and tries the"
echo " next address itself; visible: SOFTERR_TRANSPARENT=off, the error at once;"
echo " transparent: the program's first connect() ends on the second address)"
run_threads() {	# run_threads CONNECTS [VAR=value]: ms for 16 threads
	local t0 n=$1
	shift
	t0=$(date +%s%3N)
	in_client env "$@" "$top_builddir/tests/lab/se-threads" --nonblocking reject6.lab "$LAB_PORT" 16 "$n" >/dev/null
	echo $(( $(date +%s%3N) - t0 ))
}
echo "16 threads of non-blocking connects through reject6.lab (each: a dead first address):"
echo "  x20 each without softerr: $(run_threads 20 SOFTERR=none) ms;" \
	"x1000 each with softerr: $(run_threads 1000 LD_PRELOAD="$SOFTERR_LIB") ms"

echo
echo "== Many pending non-blocking connects (to hole6.lab's black hole), then one to reject6.lab"
printf '%-30s %14s %14s %16s\n' "" "bytes/pending" "answered ms" "(without softerr)"
echo "(medians of 5 runs with softerr, 3 without)"
PENDING=$top_builddir/bench/bench-pending
for n in 1 2000 10000; do
	# The attempt delay at 2 s: the pending ones stay pending (their name's
	# second address would otherwise be raced after 250 ms). Medians of 5.
	bytes=() ans=() ans0=()
	for i in 1 2 3 4 5; do
		w=$(in_client env SOFTERR_HISTORY=off SOFTERR_ATTEMPT_DELAY=2s LD_PRELOAD="$SOFTERR_LIB" "$PENDING" "$n" hole6.lab reject6.lab "$LAB_PORT")
		bytes+=("$(printf '%s\n' "$w" | awk '/^bytes_per_pending/ { print $2 }')")
		ans+=("$(printf '%s\n' "$w" | awk '/^answered_ms/ { print $2 }')")
	done
	for i in 1 2 3; do
		ans0+=("$(in_client "$PENDING" "$n" hole6.lab reject6.lab "$LAB_PORT" | awk '/^answered_ms/ { print $2 }')")
	done
	printf '%-30s %14s %14s %16s\n' "$n pending" "$(printf '%s\n' "${bytes[@]}" | median)" \
		"$(printf '%s\n' "${ans[@]}" | median)" "$(printf '%s\n' "${ans0[@]}" | median)"
done
echo "(bytes/pending: the process's resident memory grown per pending connect;"
echo " the kernel's socket memory is not in it. The library holds at most an"
echo " eighth of the descriptor limit, which bench-pending raises as far as the"
echo " hard limit lets it: past that, pending connects are in the visible mode."
echo " answered: with softerr connected to reject6.lab's second address,"
echo " without it the first address's error seen)"

echo
echo "== Healthy path: bare against preloaded, $ROUNDS interleaved rounds (medians)"
# The library's cost is mostly system calls: what one costs here reads the
# rows (a virtual machine's can be ten times bare metal's).
echo "(one system call on this machine: $(taskset -c 0 "$BENCH" syscall 200000) ns, getpid() through syscall())"
printf '%-48s %12s %12s   %s\n' "" "bare" "softerr" "ratio (quartiles)"
n=$((CONNECTS / ROUNDS))
ratio "connect+close, loopback, x$CONNECTS" "$BENCH" connect "$n" 127.0.0.1 9090
ratio "connect+close, lab via router, x$CONNECTS" ip netns exec "$LAB_C" "$BENCH" connect "$n" 203.0.113.21 9090
ratio "non-blocking connect+poll+close, loopback" "$BENCH" nbconnect "$n" 127.0.0.1 9090
ratio "non-blocking connect+poll+close, via router" ip netns exec "$LAB_C" "$BENCH" nbconnect "$n" 203.0.113.21 9090
# A non-blocking connect() not answered at once (in the lab the handshake
# is over before connect() returns): the stand-in is set up, and taken down
# by close(). The black hole answers never; the figure is the library's
# cost where the network takes longer, not a ratio users see.
ratio "non-blocking connect left pending+close" ip netns exec "$LAB_C" "$BENCH" nbstart $((n / 4)) 203.0.113.41 9090
ratio "getaddrinfo(localhost), hosts file, x$LOOKUPS" "$BENCH" gai $((LOOKUPS / ROUNDS)) localhost
ratio "getaddrinfo(soft.lab), lab hosts file, x$LOOKUPS" ip netns exec "$LAB_C" "$BENCH" gai $((LOOKUPS / ROUNDS)) soft.lab
process_rows
# The library's own work on the healthy path, in instructions (callgrind:
# exact and repeatable, unlike time; system calls count as one each).
if command -v valgrind >/dev/null 2>&1; then
	( setsid taskset -c 1 "$BENCH" serve 9092 </dev/null >/dev/null 2>&1 & )
	sleep 0.3
	instr() {	# instr [preload] N ADDR PORT [ip netns exec NS]: instructions of N connects
		local pre=$1 n=$2 addr=$3 port=$4
		shift 4
		"$@" env LD_PRELOAD="$pre" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$BENCH" connect "$n" "$addr" "$port" 2>&1 |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	per() {		# per ADDR PORT [ip netns exec NS]: "bare N, with softerr M"
		local a b
		a=$(( $(instr "" 2000 "$@") - $(instr "" 1000 "$@") ))
		b=$(( $(instr "$SOFTERR_LIB" 2000 "$@") - $(instr "$SOFTERR_LIB" 1000 "$@") ))
		echo "bare $((a / 1000)), with softerr $((b / 1000))"
	}
	echo
	echo "== User-space instructions per socket+connect+setsockopt+close (callgrind)"
	echo "loopback (passed through):     $(per 127.0.0.1 9092)"
	echo "through the lab (the engine):  $(per 203.0.113.21 9090 ip netns exec "$LAB_C")"
	pkill -f "$BENCH serve 9092"
fi
pkill -f "$BENCH serve 9090"
exit 0
