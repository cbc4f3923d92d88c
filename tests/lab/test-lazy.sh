#!/bin/bash
# What a process pays for the library where it does nothing: preloaded
# into every process (/etc/ld.so.preload), it loads neither libev nor
# libmnl, starts no thread and opens no descriptor until a connect() it
# manages (one beyond loopback); then both are loaded and the connect
# fails over as always. Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

command -v python3 >/dev/null || lab_fail "python3 not found"
lab_up
trap lab_down EXIT

# A Python program: optionally a loopback connect and a lookup of
# localhost, or a connect to HOST (soft.lab: the first address answers
# host-unreachable); then what it holds: "libs" and the libev and libmnl
# it has mapped, "threads N", "fds N".
PROBE='
import socket, sys, os
if sys.argv[1] == "loopback":
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    c = socket.create_connection(s.getsockname()); c.close(); s.close()
    socket.getaddrinfo("localhost", 80)
elif sys.argv[1] != "nothing":
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    print("connected", c.getpeername()[0]); c.close()
libs = sorted({l.split("/")[-1].strip() for l in open("/proc/self/maps")
               if "libev" in l or "libmnl" in l})
print("libs", " ".join(libs) or "none")
print("threads", len(os.listdir("/proc/self/task")))
print("fds", len(os.listdir("/proc/self/fd")))
'

for what in nothing loopback; do
	run without -- python3 -c "$PROBE" $what
	bare=$OUT
	run with -- python3 -c "$PROBE" $what
	check "$what: no libev, no libmnl, no thread, no descriptor of the library's" \
		eval 'rc_is 0 && has "^libs none" && [ "$OUT" = "$bare" ]'
done

run with -- python3 -c "$PROBE" soft.lab $LAB_PORT
check "a connect through the lab loads both, and fails over" \
	eval 'rc_is 0 && has "^connected 203.0.113.20" &&
	      has "^libs libev\.so\.4[.0-9]* libmnl\.so\.0[.0-9]*$"'

summary
