#!/bin/bash
# softerr-history: what unmodified clients taught the shared history, as
# the tool lists it (every address, a name's, JSON); forgetting one
# address, a name's, everything, after which the next client pays again;
# the file the library picks, and the files it refuses; options and exit
# statuses. Needs root (the lab); run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

TOOL=$top_builddir/src/tools/softerr-history
[ -x "$TOOL" ] || lab_fail "$TOOL not built"
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
chmod 700 "$T"
trap 'rm -rf "$T"; lab_down' EXIT
RT="XDG_RUNTIME_DIR=$T SOFTERR_HISTORY_SHARE=on"
HIST=$T/softerr/history
# The rows: "  ADDRESS  WHAT  ..."
row() { has "^  $1 *$2"; }

# Options and exit statuses.
run without -- "$TOOL" --help
check "--help: exit 0, the options" eval 'rc_is 0 && has "--forget-all" && has "--json"'
run without -- "$TOOL" --version
check "--version" eval 'rc_is 0 && has "^softerr-history (softerr) [0-9]"'
run without $RT -- "$TOOL" --no-such-option
check "an unknown option: 2" eval 'rc_is 2 && has "Usage: softerr-history"'
run without $RT -- "$TOOL" --forget
check "--forget without a NAME or ADDRESS: 2, nothing forgotten" \
	eval 'rc_is 2 && has "needs a NAME or ADDRESS"'
run without $RT -- "$TOOL" --forget-all 203.0.113.13
check "--forget-all with an operand: 2" eval 'rc_is 2'
run without $RT -- "$TOOL" --forget --clear
check "--forget and --clear: 2" eval 'rc_is 2'

# Before any program: the file the library would use, and nothing in it.
run without $RT -- "$TOOL"
check "no file yet: named with the reason for the choice, exit 0" \
	eval 'rc_is 0 && has "^history: $HIST (XDG_RUNTIME_DIR)$" && has "^nothing remembered yet (no file)$"'
run without $RT -- "$TOOL" --forget 203.0.113.13
check "--forget with no file: nothing known, exit 0, no file made" \
	eval 'rc_is 0 && has "^203.0.113.13: nothing known$" && [ ! -e "$HIST" ]'

# What unmodified clients teach it: an ICMP soft error (reject.lab: .13
# answers host-unreachable, .20 connects; one error alone is not believed,
# a second client's confirms it) and a black hole (hole.lab: .11 is
# silent).
run with $RT -- "$CLIENT" -4 reject.lab $LAB_PORT
check "a client through reject.lab connects to the live address" \
	eval 'rc_is 0 && has "result ok 203.0.113.20"'
run without $RT -- "$TOOL" 203.0.113.13
check "one soft error: listed unconfirmed, not tried last" \
	eval 'rc_is 0 && row 203.0.113.13 "unconfirmed soft host-unreachable [0-9]* s ago$"'
run with $RT -- "$CLIENT" -4 reject.lab $LAB_PORT
check "a second client through reject.lab connects to the live address" \
	eval 'rc_is 0 && has "result ok 203.0.113.20"'
run with $RT -- "$CLIENT" -4 hole.lab $LAB_PORT
check "a client through hole.lab tries the black hole first, once (${MS} ms)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.11 " && has "result ok 203.0.113.20"'
run without $RT -- "$TOOL"
check "the list: the failed addresses, how, how long ago, tried last; the live one's handshake" \
	eval 'rc_is 0 && has "^history: $HIST (XDG_RUNTIME_DIR)$" &&
	      row 203.0.113.13 "soft host-unreachable [0-9]* s ago *tried last for [0-9]* s more" &&
	      row 203.0.113.11 "no answer [0-9]* s ago *tried last for [0-9]* s more" &&
	      row 203.0.113.20 "connected [0-9]* s ago *handshake [0-9.]* ms"'
run without $RT -- "$TOOL" reject.lab live6.lab
check "a name: its addresses, those the history does not know said so" \
	eval 'rc_is 0 && has "^reject.lab: 2 addresses$" && row 203.0.113.13 "soft host-unreachable" &&
	      row 203.0.113.20 "connected" && has "^live6.lab: 1 address$" &&
	      row 2001:db8:3::20 "nothing known" && ! has 203.0.113.11'
run without $RT -- "$TOOL" --json reject.lab
check "--json: one object, the outcome, the ICMP error, why it goes last" \
	eval 'rc_is 0 && [ $(printf "%s\n" "$OUT" | wc -l) = 1 ] &&
	      has "^{\"history\":{\"file\":\"$HIST\",\"why\":\"$HIST (XDG_RUNTIME_DIR)\",\"exists\":true,\"lifetime_ms\":600000},\"entries\":\[" &&
	      has "{\"address\":\"203.0.113.13\",\"family\":\"ipv4\",\"name\":\"reject.lab\",\"known\":true,\"outcome\":\"soft\",\"text\":\"soft host-unreachable [0-9]* s ago\",\"age_ms\":[0-9]*,\"handshake_ms\":null,\"icmp\":{\"family\":\"icmp\",\"type\":3,\"code\":1,\"name\":\"host-unreachable\"},\"tried_last\":true,\"tried_last_for_ms\":[0-9]*}" &&
	      has "\"address\":\"203.0.113.20\",[^}]*\"outcome\":\"connected\",[^}]*\"handshake_ms\":[0-9.]*,"'
if command -v python3 >/dev/null; then
	run without $RT -- "$TOOL" --json
	check "--json is JSON" eval 'printf "%s\n" "$OUT" | python3 -c "import json, sys; d = json.load(sys.stdin); assert len(d[\"entries\"]) == 3"'
fi
run without $RT -- "$TOOL" no-such-name.invalid reject.lab
check "a name that does not resolve: said, 1, the others listed" \
	eval 'rc_is 1 && has "no-such-name.invalid: " && has "^reject.lab: 2 addresses$"'

# The next client skips what failed; forgotten, it pays again.
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 hole.lab $LAB_PORT
check "the next client goes straight to the live address (${MS} ms)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.20 ok" && has "203.0.113.11 tried last (no answer"'
run without $RT -- "$TOOL" --forget 203.0.113.11
check "--forget ADDRESS: said with what was known" \
	eval 'rc_is 0 && has "^forgot 203.0.113.11 (no answer [0-9]* s ago)$"'
run without $RT -- "$TOOL" hole.lab
check "... then nothing is known of it, the other address kept" \
	eval 'rc_is 0 && row 203.0.113.11 "nothing known" && row 203.0.113.20 connected'
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 hole.lab $LAB_PORT
check "... and the next client tries it first again (${MS} ms)" \
	eval 'rc_is 0 && has "^attempt 203.0.113.11 " && has "result ok 203.0.113.20" && ! has "tried last"'
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 reject.lab $LAB_PORT
check "reject.lab's dead address still goes last" \
	eval 'rc_is 0 && has "203.0.113.13 tried last (soft host-unreachable"'
run without $RT -- "$TOOL" --forget reject.lab
check "--forget NAME: each of its addresses" \
	eval 'rc_is 0 && has "^forgot 203.0.113.13 (soft host-unreachable [0-9]* s ago)$" && has "^forgot 203.0.113.20 (connected"'
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 reject.lab $LAB_PORT
check "... and the next client tries the dead address again" \
	eval 'rc_is 0 && ! has "tried last" && has "203.0.113.13 soft host-unreachable"'
run without $RT -- "$TOOL" --forget-all
check "--forget-all: everything, counted" \
	eval 'rc_is 0 && has "^forgot everything ([2-9] addresses)$"'
run without $RT -- "$TOOL"
check "... then nothing is remembered" eval 'rc_is 0 && has "^nothing remembered$"'
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 reject.lab $LAB_PORT
check "... and the next client learns from nothing" \
	eval 'rc_is 0 && ! has "tried last" && has "203.0.113.13 soft host-unreachable"'
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 reject.lab $LAB_PORT
# What the next clients learn is not forgotten by the one after (the
# forgetting left the file as the library writes it).
run with $RT SOFTERR_LOG=stderr -- "$CLIENT" -4 reject.lab $LAB_PORT
check "... and the client after it uses what it learned" \
	eval 'rc_is 0 && has "203.0.113.13 tried last (soft host-unreachable"'
run without $RT -- "$TOOL" --clear --json
check "--clear --json" eval 'rc_is 0 && has "\"forgotten\":[1-9]}$"'

# Where the history is not shared: said, exit 0.
run without $RT SOFTERR_HISTORY=off -- "$TOOL"
check "history off: said, exit 0" \
	eval 'rc_is 0 && has "^history: off (history = off)$" && has "^nothing is remembered$"'
run without $RT SOFTERR_HISTORY_SHARE=off -- "$TOOL" --json
check "history not shared: said, exit 0" \
	eval 'rc_is 0 && has "\"file\":null,\"why\":\"kept in this process (history_share = off)\""'
# history_path, as the library honours it.
mkdir -m 700 "$T/p"
run with $RT SOFTERR_HISTORY_PATH=$T/p/file -- "$CLIENT" -4 reject.lab $LAB_PORT
run without $RT SOFTERR_HISTORY_PATH=$T/p/file -- "$TOOL"
check "SOFTERR_HISTORY_PATH: that file, and what the client taught it" \
	eval 'rc_is 0 && has "^history: $T/p/file (history_path)$" && row 203.0.113.13 "unconfirmed soft"'
mkdir -m 777 "$T/open"
run without $RT SOFTERR_HISTORY_PATH=$T/open/file -- "$TOOL"
check "a history_path in a directory open to all: refused as the library refuses it, 1" \
	eval 'rc_is 1 && has "^history: off: history_path: $T/open is not a directory"'

# Files the library refuses or does not believe.
head -c 3000 /dev/urandom >"$HIST"
run without $RT -- "$TOOL"
check "a damaged file: said, nothing listed, exit 0" \
	eval 'rc_is 0 && has "is damaged" && ! has "^  [0-9]"'
run with $RT -- "$CLIENT" -4 reject.lab $LAB_PORT
chown 65534:65534 "$HIST"
run without $RT -- "$TOOL"
check "another user's file: refused in the library's words, 1" \
	eval 'rc_is 1 && has "history file $HIST not used: owned by uid 65534" && has "is refused" && ! has "^  [0-9]"'
cp -p "$HIST" "$T/copy"
run without $RT -- "$TOOL" --forget-all
check "... and not forgotten either: 1, left as it was" \
	eval 'rc_is 1 && cmp -s "$HIST" "$T/copy" && [ "$(stat -c %u "$HIST")" = 65534 ]'
run without $RT -- "$TOOL" --forget 203.0.113.13
check "... nor one address of it" eval 'rc_is 1 && cmp -s "$HIST" "$T/copy"'
chown 0:0 "$HIST"
chmod 644 "$HIST"
run without $RT -- "$TOOL" reject.lab
check "a file open to others: refused, 1" \
	eval 'rc_is 1 && has "mode 0644, open to other users"'

summary
