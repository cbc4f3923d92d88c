#!/bin/bash
# softerr.conf in the lab: sections per destination and per program, the
# environment over the file, ICMP classes changed, and the log's targets
# (a file, syslog). Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
trap 'rm -rf "$T"; lab_down' EXIT
conf() { printf '%s\n' "$@" >"$T/softerr.conf"; }
C=SOFTERR_CONF=$T/softerr.conf

# soft.lab's first address answers host-unreachable; netunreach.lab's
# net-unreachable. Under the default policy both fail over at once.
conf '[destination soft.lab]' 'policy = kernel'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "a destination section by name: soft.lab under the kernel policy fails" \
	eval 'rc_is 1 && has "result fail EHOSTUNREACH"'
run with $C -- "$CLIENT" -4 --first netunreach.lab $LAB_PORT
check "... and another name keeps the default (failover)" \
	eval 'rc_is 0 && faster $BEFORE_MS'

conf '[destination *.example 203.0.113.12/32]' 'policy = kernel'
run with $C -- "$CLIENT" -4 --first netunreach.lab $LAB_PORT
check "a destination section by address prefix" \
	eval 'rc_is 1 && has "result fail ENETUNREACH"'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "... not matching another address" eval 'rc_is 0 && faster $BEFORE_MS'

conf 'policy = abort' '[destination SOFT.LAB]' 'policy = kernel' \
	'[destination 203.0.113.0/24]' 'policy = adaptive'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "the first destination section that matches wins, the name matched without case" \
	eval 'rc_is 1'

conf '[program se-cl*]' 'policy = kernel'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "a program section matching this program" eval 'rc_is 1'
conf '[program wget curl]' 'policy = kernel'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "a program section for other programs" eval 'rc_is 0 && faster $BEFORE_MS'
conf "[program $top_builddir/tests/lab/*]" 'policy = kernel'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "a program section by the executable's path" eval 'rc_is 1'

conf 'policy = kernel'
run with $C SOFTERR_POLICY=adaptive -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "the environment wins over the file" eval 'rc_is 0 && faster $BEFORE_MS'
run with "SOFTERR_CONF=" -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "SOFTERR_CONF empty: no file, the defaults" eval 'rc_is 0'

# rfc1122 never ends an attempt on a soft error (and the next address waits
# for the attempt delay, 2 s here); declared hard, the same
# host-unreachable ends it at once.
conf 'policy = rfc1122' 'establish_timeout = 1500ms' 'attempt_delay = 2s'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "rfc1122: a soft error waits out the establishment timer (${MS} ms)" \
	eval 'rc_is 1 && slower 1400'
conf 'policy = rfc1122' 'establish_timeout = 1500ms' 'attempt_delay = 2s' 'icmp_hard = 3/1' 'log = on'
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "icmp_hard = 3/1: host-unreachable ends the attempt, failover at once" \
	eval 'rc_is 0 && faster $BEFORE_MS && has "hard host-unreachable (type 3 code 1)"'
conf 'policy = rfc1122' 'establish_timeout = 1500ms' 'attempt_delay = 2s' 'icmp6_hard = address-unreachable'
run with $C -- "$CLIENT" -6 --first reject6.lab $LAB_PORT
check "icmp6_hard by name: address-unreachable ends the attempt" \
	eval 'rc_is 0 && faster $BEFORE_MS'

# The log: appended to a file, created 0600; no descriptor left to the
# program (se-passthrough counts them elsewhere; here the file is closed
# when the line is out, so the file's length is final at exit).
conf "log = $T/log/softerr.log"
mkdir "$T/log"
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
run with $C -- "$CLIENT" -4 --first netunreach.lab $LAB_PORT
OUT=$(cat "$T/log/softerr.log" 2>&1)
check "log to a file: one line per connect, appended" \
	eval '[ "$(grep -c "^softerr: connect fd [0-9]* to soft.lab port 8080, policy adaptive" "$T/log/softerr.log")" = 1 ] && [ "$(grep -c "to netunreach.lab" "$T/log/softerr.log")" = 1 ]'
check "log file mode 0600" eval '[ "$(stat -c %a "$T/log/softerr.log")" = 600 ]'
conf "log = $T/no/such/dir/softerr.log"
run with $C -- "$CLIENT" -4 --first soft.lab $LAB_PORT
check "a log file that cannot be written: the connect is unaffected" \
	eval 'rc_is 0 && faster $BEFORE_MS && ! has softerr'

# Warnings about the settings: said once, by the first connect the library
# manages, never by a process that makes none (a shell, a pipeline).
printf 'policy = abort\nattempt_delay = forever\n[program *]\nbogus = 1\n' >"$T/broken.conf"
run with SOFTERR_CONF="$T/broken.conf" -- "$CLIENT" --again-after 10 -4 --first soft.lab $LAB_PORT
check "a broken file: one line per fault, naming file and line, once for two connects" \
	eval 'rc_is 0 && [ "$(count "broken.conf:2: attempt_delay = \"forever\" is not valid")" = 1 ] && [ "$(count "broken.conf:4: unknown setting \"bogus\"")" = 1 ] && [ "$(count "^softerr:")" = 2 ]'
run with SOFTERR_POLICY=fastest SOFTERR_CONF="$T/broken.conf" -- sh -c 'echo x | cat >/dev/null; ls / | grep -c . >/dev/null; exec 3>/dev/null; echo done'
check "a stray SOFTERR_* variable and a broken file: a shell and its pipeline say nothing" \
	eval 'rc_is 0 && [ "$OUT" = done ]'
run with SOFTERR_POLICY=fastest -- curl -s -o /dev/null -w '%{remote_ip}\n' http://soft.lab:$LAB_PORT/
check "... the program that connects says it, once" \
	eval 'rc_is 0 && has "^203.0.113.20$" && [ "$(count "SOFTERR_POLICY=\"fastest\" is not valid")" = 1 ]'

# syslog: a private mount namespace gets its own /dev with a /dev/log that
# socat reads (the real /dev and the system's syslog are not touched).
cat >"$T/syslog.sh" <<EOS
set -e
mkdir "$T/olddev"
mount --bind /dev "$T/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero urandom; do touch /dev/\$n; mount --bind "$T/olddev/\$n" /dev/\$n; done
socat -u UNIX-RECV:/dev/log OPEN:"$T/syslog.txt",creat,append & sp=\$!
for i in \$(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
SOFTERR_LOG=syslog LD_PRELOAD="${SOFTERR_PRELOAD:-$SOFTERR_LIB}" timeout 20 "$CLIENT" -4 --first soft.lab $LAB_PORT
for i in \$(seq 50); do [ -s "$T/syslog.txt" ] && break; sleep 0.1; done
kill \$sp
EOS
OUT=$(in_client unshare -m bash "$T/syslog.sh" 2>&1; cat "$T/syslog.txt" 2>&1)
check "log to syslog: facility user, level info, the program's name and pid" \
	has '<14>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]* se-client\[[0-9]*\]: softerr: connect fd [0-9]* to soft.lab port 8080, policy adaptive.*connected in'

summary
