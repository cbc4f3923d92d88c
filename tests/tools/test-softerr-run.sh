#!/bin/bash
# softerr-run: options, exit statuses, LD_PRELOAD, and the warnings for
# programs the library cannot reach. Run by `make check` (as root: it makes
# a set-user-ID copy and one with file capabilities in a scratch directory).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
RUN=$top_builddir/src/tools/softerr-run
LIB=$(cd "$top_builddir/src/preload/.libs" && pwd)/libsofterr.so
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# No process here shares an address history (the machine's /run is left
# alone).
export SOFTERR_HISTORY_SHARE=off

passed=0
failed=0
check() {
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1)); echo "ok - $what"
	else
		failed=$((failed + 1)); echo "not ok - $what"
		echo "#   rc=$RC; output:"; printf '%s\n' "$OUT" | sed 's/^/#   /'
	fi
}
sr() { OUT=$("$RUN" "$@" 2>&1); RC=$?; }
has() { printf '%s\n' "$OUT" | grep -q -- "$1"; }

sr --help
check "--help: exit 0, the options" eval '[ $RC = 0 ] && has "--policy=POLICY" && has "--attempt-delay"'
sr --version
check "--version" eval '[ $RC = 0 ] && has "softerr-run (softerr) [0-9]"'
sr --no-such-option true
check "an unknown option: 125" eval '[ $RC = 125 ]'
sr
check "no command: 125" eval '[ $RC = 125 ] && has "no command given"'
sr --policy fastest true
check "a bad policy: 125, named" eval '[ $RC = 125 ] && has "policy \"fastest\" is not valid: expected one of kernel"'
sr -d 5s true
check "an attempt delay out of range: 125" eval '[ $RC = 125 ] && has "attempt_delay \"5s\" is not valid"'
sr no-such-command-softerr
check "a command not found: 127" eval '[ $RC = 127 ]'
printf 'not a program\n' >"$scratch/text"
chmod 644 "$scratch/text"
sr "$scratch/text"
check "a command that cannot be run: 126" eval '[ $RC = 126 ]'
sr sh -c 'exit 7'
check "the command's own status" eval '[ $RC = 7 ]'

sr -p abort -d 100ms -t 20 -m 2 --no-race -v env
check "the options become the library's settings" \
	eval 'has "^SOFTERR_POLICY=abort$" && has "^SOFTERR_ATTEMPT_DELAY=100ms$" && has "^SOFTERR_ESTABLISH_TIMEOUT=20$" && has "^SOFTERR_MAX_ATTEMPTS=2$" && has "^SOFTERR_RACE=off$" && has "^SOFTERR_LOG=stderr$"'
printf 'policy = abort\n' >"$scratch/my.conf"
OUT=$(cd "$scratch" && "$RUN" -c my.conf -l out.log env 2>&1); RC=$?
check "--config and --log: absolute paths for the library" \
	eval 'has "^SOFTERR_CONF=$scratch/my.conf$" && has "^SOFTERR_LOG=$scratch/out.log$"'
sr -c "$scratch/missing.conf" true
check "--config with a missing file: 125, named" eval '[ $RC = 125 ] && has "missing.conf: No such file"'
sr --no-config --log syslog env
check "--no-config: SOFTERR_CONF empty; --log syslog" \
	eval 'has "^SOFTERR_CONF=$" && has "^SOFTERR_LOG=syslog$"'
OUT=$(cd "$scratch" && "$RUN" --log plain env 2>&1); RC=$?
check "--log with a plain word: a file of that name here" eval 'has "^SOFTERR_LOG=$scratch/plain$"'

# The file reaches the library, and a broken one costs the program nothing:
# the same output and status, one line per fault naming file and line.
printf 'policy = abort\nattempt_delay = forever\n[program getent]\nbogus = 1\n' \
	>"$scratch/broken.conf"
want=$(getent hosts localhost; echo "rc=$?")
OUT=$("$RUN" -c "$scratch/broken.conf" sh -c 'getent hosts localhost; echo "rc=$?"' 2>"$scratch/err")
check "a broken file: the program's output and status unchanged" eval '[ "$OUT" = "$want" ]'
OUT=$(cat "$scratch/err")
check "a broken file, a program that makes no connection: not a word (test-conf.sh: the words)" \
	eval '[ -z "$OUT" ]'
head -c 16384 /dev/urandom >"$scratch/garbage.conf"
OUT=$("$RUN" -c "$scratch/garbage.conf" sh -c 'getent hosts localhost; echo "rc=$?"' 2>"$scratch/err")
check "a file of random bytes: the program runs as without it" eval '[ "$OUT" = "$want" ]'

sr env
check "the library first in LD_PRELOAD" eval 'has "^LD_PRELOAD=$LIB$"'
OUT=$(LD_PRELOAD="/lib/x86_64-linux-gnu/libm.so.6 $LIB" "$RUN" env 2>&1); RC=$?
check "LD_PRELOAD kept, the library once" \
	eval 'has "^LD_PRELOAD=$LIB:/lib/x86_64-linux-gnu/libm.so.6$"'
OUT=$("$RUN" "$RUN" env 2>&1); RC=$?
check "nested: still once" eval '[ "$(printf "%s\n" "$OUT" | grep -c "^LD_PRELOAD=$LIB$")" = 1 ]'
sr -- sh -c 'echo "$0 $1"' a b
check "-- ends the options; arguments passed as they are" eval '[ $RC = 0 ] && has "^a b$"'

# Programs the library cannot reach: a warning, and they still run.
printf 'int main(void) { return 3; }\n' >"$scratch/p.c"
cc -static -o "$scratch/static" "$scratch/p.c"
sr "$scratch/static"
check "a static program: warned, run" eval '[ $RC = 3 ] && has "warning: .*statically linked"'
cc -o "$scratch/dynamic" "$scratch/p.c"
sr "$scratch/dynamic"
check "a dynamic program: no warning" eval '[ $RC = 3 ] && ! has warning'
objcopy --add-section .note.go.buildid="$scratch/p.c" "$scratch/dynamic" "$scratch/go"
sr "$scratch/go"
check "a Go program: warned, run" eval '[ $RC = 3 ] && has "warning: .*Go program"'
cp "$scratch/dynamic" "$scratch/setuid"
chmod u+s "$scratch/setuid"
sr "$scratch/setuid"
check "a set-user-ID program: warned, run" eval '[ $RC = 3 ] && has "warning: .*set-user-ID"'
cp "$scratch/dynamic" "$scratch/caps"
setcap cap_net_raw+ep "$scratch/caps"
sr "$scratch/caps"
check "a program with file capabilities: warned, run" eval '[ $RC = 3 ] && has "warning: .*file capabilities"'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
