#!/bin/bash
# The public API (through se-api, a program linking -lsofterr-api) and the
# prober, softerr-probe, against the lab. Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

API=$top_builddir/tests/lab/se-api
PROBE=$top_builddir/src/tools/softerr-probe
command -v jq >/dev/null || lab_fail "jq not found (Debian: jq)"
lab_up
echo "# lab up: $LAB_C $LAB_R $LAB_S"
T=$(mktemp -d)
trap 'rm -rf "$T"; lab_down' EXIT

# The API's own checks, each printed; their count is part of the bar.
run without -- "$API"
printf '%s\n' "$OUT" | grep -E '^(not )?ok - ' | sed 's/^/# api: /'
check "the API: $(count '^ok - ') checks pass, none fails" \
	eval 'rc_is 0 && ! has "^not ok" && [ "$(count "^ok - ")" -ge 25 ]'

# The prober, for a person.
run without SOFTERR_CONF= -- "$PROBE" soft.lab $LAB_PORT
check "probe soft.lab: each address, the ICMP error named, its sender, exit 0" \
	eval 'rc_is 0 && has "^soft.lab port 8080: 2 addresses, policy adaptive" && has "^  203.0.113.13 .*soft-error at [0-9.]* ms (EHOSTUNREACH): soft host-unreachable (ICMP type 3 code 1) from 192.0.2.1; 1 SYN$" && has "^  203.0.113.20 .*connected at" && has "^connected to 203.0.113.20 in"'
run without SOFTERR_CONF= -- "$PROBE" -p abort dead.lab $LAB_PORT
check "probe dead.lab under abort: both soft errors, exit 1" \
	eval 'rc_is 1 && [ "$(count "soft-error at")" = 2 ] && has "^not connected after .*(E[A-Z]*UNREACH)$"'
run without SOFTERR_CONF= -- "$PROBE" -6 reject6.lab $LAB_PORT
check "probe -6: ICMPv6 address-unreachable" \
	eval 'rc_is 0 && has "2001:db8:3::13 .*soft address-unreachable (ICMPv6 type 1 code 3)"'
run without SOFTERR_CONF= -- "$PROBE" -4 live6.lab $LAB_PORT
check "probe -4 of an IPv6-only name: not resolved, exit 1" eval 'rc_is 1'
run without SOFTERR_CONF= -- "$PROBE" hole.lab $LAB_PORT
check "probe hole.lab: the silent address cancelled when the next connected" \
	eval 'rc_is 0 && has "203.0.113.11 .*cancelled" && has "203.0.113.20 .*sent at *2[4-9][0-9]\.[0-9] ms *connected"'
run without SOFTERR_CONF= -- "$PROBE" --all -t 1 bhicmp.lab $LAB_PORT
check "probe --all: every address on its own, at once" \
	eval 'rc_is 0 && has "3 addresses, each on its own" && has "203.0.113.11 .*sent at *0\.[0-9] ms *timed-out" && has "203.0.113.13 .*sent at *0\.[0-9] ms .*host-unreachable" && has "203.0.113.20 .*sent at *0\.[0-9] ms *connected"'

# ... and for scripts.
run without SOFTERR_CONF= -- "$PROBE" --json soft.lab $LAB_PORT
printf '%s\n' "$OUT" >"$T/soft.json"
check "--json: one valid object with what each address did" \
	eval 'rc_is 0 && jq -e ".connected == true and .address == \"203.0.113.20\" and .policy == \"adaptive\" and (.attempts | length) == 2 and .attempts[0].outcome == \"soft-error\" and .attempts[0].error == \"EHOSTUNREACH\" and .attempts[0].icmp.type == 3 and .attempts[0].icmp.code == 1 and .attempts[0].icmp.name == \"host-unreachable\" and .attempts[0].icmp.class == \"soft\" and .attempts[0].icmp.from == \"192.0.2.1\" and .attempts[1].outcome == \"connected\" and .attempts[1].port == 8080" "$T/soft.json" >/dev/null'
run without SOFTERR_CONF= -- "$PROBE" --json --all -t 1 allholes.lab $LAB_PORT
printf '%s\n' "$OUT" >"$T/holes.json"
check "--json --all, nothing answers: connected false, both timed out, exit 1" \
	eval 'rc_is 1 && jq -e ".connected == false and .mode == \"all\" and ([.attempts[].outcome] == [\"timed-out\",\"timed-out\"])" "$T/holes.json" >/dev/null'
run without SOFTERR_CONF= -- "$PROBE" --json 'no"such\name.lab' $LAB_PORT
printf '%s\n' "$OUT" >"$T/bad.json"
check "--json with a name that needs escaping, not resolved: still valid JSON" \
	eval 'rc_is 1 && jq -e ".host == \"no\\\"such\\\\name.lab\" and .resolve_error != null and .connected == false" "$T/bad.json" >/dev/null'

# Settings: the file the library reads, then the options.
printf 'policy = kernel\n' >"$T/k.conf"
run without SOFTERR_CONF="$T/k.conf" -- "$PROBE" soft.lab $LAB_PORT
check "the prober reads the library's softerr.conf" \
	eval 'rc_is 1 && has "policy kernel" && has "203.0.113.20 *not tried"'
run without SOFTERR_CONF="$T/k.conf" -- "$PROBE" -p abort soft.lab $LAB_PORT
check "an option wins over the file" eval 'rc_is 0 && has "policy abort"'
run without SOFTERR_CONF="$T/k.conf" -- "$PROBE" --no-config soft.lab $LAB_PORT
check "--no-config" eval 'rc_is 0 && has "policy adaptive"'
run without -- "$PROBE" -c "$T/k.conf" soft.lab $LAB_PORT
check "--config FILE" eval 'rc_is 1 && has "policy kernel"'
run without -- "$PROBE" -c "$T/missing.conf" soft.lab $LAB_PORT
check "--config with a missing file: exit 2, named" eval 'rc_is 2 && has "missing.conf: No such file"'
run without -- "$PROBE" -p fastest soft.lab $LAB_PORT
check "a bad policy: exit 2, named" eval 'rc_is 2 && has "policy \"fastest\" is not valid"'
run without -- "$PROBE" soft.lab
check "no port: exit 2" eval 'rc_is 2 && has "expected HOST and PORT"'
run without -- "$PROBE" --help
check "--help: exit 0" eval 'rc_is 0 && has "^Usage: softerr-probe" && has -- "--json"'

summary
