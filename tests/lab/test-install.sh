#!/bin/bash
# softerr as it is installed: `make install` into a staging directory, then
# the interposer loaded by its bare name (`LD_PRELOAD=libsofterr.so`, as the
# dynamic linker finds it in its search path; LD_LIBRARY_PATH stands in for
# the system's cache here) and by path into an unmodified curl, the
# installed softerr-run finding its own library, the installed prober and
# softerr-history, and set-user-ID programs reached through
# /etc/ld.so.preload (in a private mount namespace: the machine's /etc is
# never touched). Needs root; run by `make check`.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lab/lab.sh"
. "$top_srcdir/tests/lab/harness.sh"

# The trap after lab_up, which sets its own (the staging directory was
# left behind at every run).
lab_up
D=$(mktemp -d)
trap 'rm -rf "$D"; lab_down' EXIT
make -C "$top_builddir" install DESTDIR="$D/root" >"$D/install.log" 2>&1 ||
	{ cat "$D/install.log"; lab_fail "make install DESTDIR=... failed"; }
LIB=$(find "$D/root" -name libsofterr.so -type f)
LIBD=${LIB%/*}
BIND=$(dirname "$(find "$D/root" -name softerr-run -type f)")
[ -f "$LIB" ] && [ -x "$BIND/softerr-probe" ] || lab_fail "installed files not found"
chmod 755 "$D"

echo "# lab up: $LAB_C $LAB_R $LAB_S"
URL=http://soft.lab:$LAB_PORT/
CURL=(curl -s -o /dev/null -w '%{remote_ip}\n' "$URL")
# soft.lab: 203.0.113.13 (the router answers host unreachable), then .20.
FAILOVER='to soft.lab port 8080, policy adaptive, 2 candidates: 203.0.113.13 sent at 0 ms; \(delay [^;]*; \)\?203.0.113.13 soft host-unreachable'

OUT=$(find "$D/root" \( -type f -o -type l \) -printf '%f\n' | sort | uniq -d)
check "no two installed files share a name" eval '[ -z "$OUT" ]'
OUT=$(nm -D --defined-only "$LIB"; echo ---; nm -D --defined-only "$LIBD/libsofterr-api.so.0")
check "libsofterr.so is the interposer, libsofterr-api.so.0 the API library" \
	eval 'printf "%s\n" "$OUT" | sed -n "1,/^---$/p" | grep -q " T connect$" && printf "%s\n" "$OUT" | sed -n "/^---$/,\$p" | grep -q " T softerr_connect@" && ! printf "%s\n" "$OUT" | sed -n "/^---$/,\$p" | grep -q " T connect$"'

run without LD_LIBRARY_PATH="$LIBD" LD_PRELOAD=libsofterr.so SOFTERR_LOG=stderr -- "${CURL[@]}"
check "LD_PRELOAD=libsofterr.so: curl fails over, and the first line says softerr is active (${MS} ms)" \
	eval 'rc_is 0 && has "^203.0.113.20$" && has "^softerr: active in curl\[[0-9]*\], settings from no file; history kept in this process (history_share = off)$" && has "$FAILOVER"'
run without LD_PRELOAD="$LIB" SOFTERR_LOG=stderr -- "${CURL[@]}"
check "LD_PRELOAD=/its/path/libsofterr.so: the same" \
	eval 'rc_is 0 && has "^203.0.113.20$" && has "^softerr: active in curl" && has "$FAILOVER"'
run without -- "$BIND/softerr-run" env
check "the installed softerr-run finds the library installed beside it" \
	eval 'rc_is 0 && has "^LD_PRELOAD=$(readlink -f "$LIB")$"'
run without -- "$BIND/softerr-run" -v "${CURL[@]}"
check "... and curl through it fails over" \
	eval 'rc_is 0 && has "^203.0.113.20$" && has "^softerr: active in curl" && has "$FAILOVER"'
run without LD_LIBRARY_PATH="$LIBD" SOFTERR_HISTORY_SHARE=on SOFTERR_HISTORY_PATH="$D/history" \
	-- "$BIND/softerr-probe" soft.lab $LAB_PORT
check "the installed softerr-probe runs, and says where the history is" \
	eval 'rc_is 0 && has "^connected to 203.0.113.20 in" && has "^history: $D/history (history_path)$"'
run without SOFTERR_HISTORY_SHARE=on SOFTERR_HISTORY_PATH="$D/history" \
	-- "$BIND/softerr-history" soft.lab
check "the installed softerr-history shows what the prober taught the history (one soft error: unconfirmed)" \
	eval 'rc_is 0 && has "^history: $D/history (history_path)$" && has "^  203.0.113.13 *unconfirmed soft host-unreachable" &&
	      [ -f "$(find "$D/root" -name softerr-history.1)" ]'

# Set-user-ID programs load the library only from /etc/ld.so.preload; the
# library then stands entirely aside unless the system's softerr.conf has
# secure_programs = on. In a private mount namespace: /etc under an overlay
# (the lab's hosts file bound again on top), the system's configuration
# directory a tmpfs, and a set-user-ID copy of curl run as nobody.
# suid ON_OFF MODE: OUT, RC as run() sets them.
suid() {
	OUT=$(in_client unshare -m --propagation private sh -c '
		D=$1 ns=$2 lib=$3 conf=$4 on=$5 mode=$6
		shift 6
		mkdir -p "$D/ov" "$conf" &&
		mount -t tmpfs -o mode=755 selab-ov "$D/ov" &&
		mkdir "$D/ov/up" "$D/ov/work" "$D/ov/bin" &&
		mount -t overlay selab-etc -o "lowerdir=/etc,upperdir=$D/ov/up,workdir=$D/ov/work" /etc &&
		for f in /etc/netns/"$ns"/*; do mount --bind "$f" "/etc/${f##*/}" || exit 97; done &&
		echo "$lib" >/etc/ld.so.preload &&
		mount -t tmpfs -o mode=755 selab-conf "$conf" &&
		printf "log = stderr\nsecure_programs = %s\n" "$on" >"$conf/softerr.conf" &&
		cp "$(command -v curl)" "$D/ov/bin/curl" && chmod "$mode" "$D/ov/bin/curl" || exit 99
		exec setpriv --reuid=65534 --regid=65534 --clear-groups \
			env -i PATH=/usr/bin:/bin SOFTERR_HISTORY_SHARE=off \
			timeout 20 "$D/ov/bin/curl" "$@"' \
		sh "$D" "$LAB_C" "$LIB" "$SYSCONFDIR" "$1" "$2" \
		-s -o /dev/null -w '%{remote_ip}\n' "$URL" 2>&1)
	RC=$?
}
suid off 755
check "/etc/ld.so.preload: a plain program is reached (the system's file read)" \
	eval 'rc_is 0 && has "^203.0.113.20$" && has "^softerr: active in curl.*settings from $SYSCONFDIR/softerr.conf"'
suid off 4755
check "a set-user-ID program: the library stands aside (no log line, nothing managed, every call the C library's)" \
	eval 'rc_is 0 && has "^203.0.113.20$" && ! has "softerr"'
suid on 4755
check "... unless the system's file says secure_programs = on; never a shared history there" \
	eval 'rc_is 0 && has "^203.0.113.20$" && has "^softerr: active in curl.*history off (a set-user-ID program)" && has "$FAILOVER"'

summary
