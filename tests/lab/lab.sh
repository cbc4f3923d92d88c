# The lab: three private network namespaces, sourced by the lab tests, the
# demonstration and the benchmarks.
#
#   client 192.0.2.2, 2001:db8:1::2
#     |  veth
#   router 192.0.2.1 | 198.51.100.1, 2001:db8:1::1 | 2001:db8:2::1
#     |  veth             (answers for 203.0.113.0/24 and 2001:db8:3::/64)
#   server 198.51.100.2, 2001:db8:2::2, and the addresses below, port 8080
#
# What the router does with each destination:
#   203.0.113.10  2001:db8:3::10   route unreachable: ICMP host / no-route (soft);
#                                  Linux sends the IPv4 one at most once a second
#                                  per client after a burst of 5 (route.error_cost,
#                                  a kernel-wide setting left alone), so the tests
#                                  that count on every answer use .13 instead
#   203.0.113.11  2001:db8:3::11   route blackhole: silence
#   203.0.113.12                   nft reject net-unreachable (soft, code 0)
#   203.0.113.13  2001:db8:3::13   nft reject host-unreachable / addr-unreachable (soft)
#   203.0.113.14  2001:db8:3::14   nft reject admin-prohibited (hard), SYNs counted
#   203.0.113.15                   nft reject port-unreachable (hard)
#   203.0.113.16                   nft reject with a TCP reset (refused)
#   203.0.113.20, .21 ::20, ::21   the server
#   203.0.113.40 - .47             route blackhole: silence
#   203.0.113.30  2001:db8:3::30   the server, which lab_flap makes answer
#                                  host-unreachable (soft) for a while
# The server listens on port 8080 (echo, HTTP), 8081 (speaks a banner and
# closes at once) and 8082 (a banner, then a reset); lab_hold drops what
# goes to 203.0.113.20 on a port for a while.
# lab_far_up adds a fourth namespace, a router 20 ms away each way behind
# the router (a userspace relay, se-delay, between two TUN devices):
#   router --tun--(se-delay)--tun-- far 203.0.113.97, 2001:db8:4::1
#                                       (answers for 203.0.113.96/28 and
#                                       2001:db8:4::/64 itself)
#   203.0.113.100  2001:db8:4::100  nft reject host-unreachable /
#                                   addr-unreachable (soft)
#   203.0.113.101  2001:db8:4::101  nft reject net-unreachable / no-route (soft)
#   203.0.113.110  2001:db8:4::110  a server, port 8080, behind the far router
#   203.0.113.111                   the same server (farpair.lab: .110, .111;
#                                   lab_far_syns counts the SYNs to both)
#   203.0.113.99                    route blackhole: silence (farhole.lab:
#                                   .99, then .110)
# LAB_FAR_DELAY set before lab_far_up changes the 20 ms; lab_far_delay MS
# changes it afterwards.
# Its errors arrive after connect() has let go of the socket: Linux ends the
# attempt at once (RFC 5461 4.1), where the near router's error arriving
# while connect() holds the socket is only recorded.
# Only documentation prefixes; nothing outside the lab's namespaces and the
# hosts file under /etc/netns/<client> is touched, and lab_down removes all
# of it (lab_up installs the trap that calls it).

# The sourcing script sets top_srcdir; the build tree is the source tree
# unless top_builddir says otherwise (make check and make bench say).
top_builddir=${top_builddir:-$top_srcdir}
SOFTERR_LIB=${SOFTERR_LIB:-$top_builddir/src/preload/.libs/libsofterr.so}
# The lab's server, not what is under test: CI's sanitizer passes run the
# plain build's (a thread a connection under a sanitizer costs memory and
# time the passes need for the library).
LAB_SERVER=${SOFTERR_LAB_SERVER:-$top_builddir/tests/lab/se-server}

LAB=se$$
LAB_C=${LAB}c
LAB_R=${LAB}r
LAB_S=${LAB}s
LAB_F=${LAB}f
LAB_FAR_DELAY=${LAB_FAR_DELAY:-20}	# ms each way between the router and the far router
LAB_PORT=8080
LAB_BANNER_PORT=8081
LAB_RESET_PORT=8082

lab_down() {
	for ns in "$LAB_C" "$LAB_R" "$LAB_S" "$LAB_F"; do
		if ip netns pids "$ns" >/dev/null 2>&1; then
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		fi
	done
	rm -rf "/etc/netns/$LAB_C"
	rmdir /etc/netns 2>/dev/null
	return 0
}

lab_fail() {
	echo "lab: $*" >&2
	exit 99
}

# Runs a command in the client namespace.
in_client() { ip netns exec "$LAB_C" "$@"; }
in_router() { ip netns exec "$LAB_R" "$@"; }
in_server() { ip netns exec "$LAB_S" "$@"; }

# How long the lab's servers live, in seconds: a bound on what a test
# leaves behind if it dies without its trap. The soak sets it longer.
LAB_SERVER_LIFE=${LAB_SERVER_LIFE:-600}

lab_up() {
	[ "$(id -u)" = 0 ] || lab_fail "the lab needs root (network namespaces)"
	command -v nft >/dev/null || lab_fail "nft not found (Debian: nftables)"
	trap lab_down EXIT
	trap 'exit 130' INT TERM

	ip netns add "$LAB_C" && ip netns add "$LAB_R" && ip netns add "$LAB_S" ||
		lab_fail "cannot create namespaces"
	ip link add "${LAB}a" netns "$LAB_C" type veth peer name "${LAB}b" netns "$LAB_R" &&
	ip link add "${LAB}d" netns "$LAB_R" type veth peer name "${LAB}e" netns "$LAB_S" ||
		lab_fail "cannot create veth pairs"

	for ns in "$LAB_C" "$LAB_R" "$LAB_S"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.accept_ra=0 >/dev/null
	done

	ip -n "$LAB_C" addr add 192.0.2.2/24 dev "${LAB}a"
	ip -n "$LAB_C" addr add 2001:db8:1::2/64 dev "${LAB}a" nodad
	ip -n "$LAB_C" link set "${LAB}a" up
	ip -n "$LAB_C" route add default via 192.0.2.1
	ip -n "$LAB_C" -6 route add default via 2001:db8:1::1

	ip -n "$LAB_R" addr add 192.0.2.1/24 dev "${LAB}b"
	ip -n "$LAB_R" addr add 2001:db8:1::1/64 dev "${LAB}b" nodad
	ip -n "$LAB_R" addr add 198.51.100.1/24 dev "${LAB}d"
	ip -n "$LAB_R" addr add 2001:db8:2::1/64 dev "${LAB}d" nodad
	ip -n "$LAB_R" link set "${LAB}b" up
	ip -n "$LAB_R" link set "${LAB}d" up
	# Forwarding, and ICMP without rate limits (per destination, and the
	# namespace's global budget) so that every SYN gets its answer: the
	# tests count on it.
	in_router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
		net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=100000 ||
		lab_fail "cannot set the router's sysctls"
	ip -n "$LAB_R" route add 203.0.113.0/24 via 198.51.100.2
	ip -n "$LAB_R" -6 route add 2001:db8:3::/64 via 2001:db8:2::2
	ip -n "$LAB_R" route add unreachable 203.0.113.10/32
	ip -n "$LAB_R" route add blackhole 203.0.113.11/32
	ip -n "$LAB_R" -6 route add unreachable 2001:db8:3::10/128
	ip -n "$LAB_R" -6 route add blackhole 2001:db8:3::11/128
	ip -n "$LAB_R" route add blackhole 203.0.113.40/29
	in_router nft -f - <<-NFT || lab_fail "cannot load the router's nftables rules"
	table inet selab {
		counter syn14 { }
		set flap4 { type ipv4_addr; }
		set flap6 { type ipv6_addr; }
		set holdport { type inet_service; }
		chain forward {
			type filter hook forward priority 0; policy accept;
			ip daddr 203.0.113.20 tcp dport @holdport drop
			ip daddr @flap4 reject with icmp type host-unreachable
			ip6 daddr @flap6 reject with icmpv6 type addr-unreachable
			ip daddr 203.0.113.12 reject with icmp type net-unreachable
			ip daddr 203.0.113.13 reject with icmp type host-unreachable
			ip daddr 203.0.113.14 tcp flags syn counter name syn14 reject with icmp type admin-prohibited
			ip daddr 203.0.113.15 reject with icmp type port-unreachable
			ip daddr 203.0.113.16 meta l4proto tcp reject with tcp reset
			ip6 daddr 2001:db8:3::13 reject with icmpv6 type addr-unreachable
			ip6 daddr 2001:db8:3::14 reject with icmpv6 type admin-prohibited
		}
	}
	NFT

	ip -n "$LAB_S" addr add 198.51.100.2/24 dev "${LAB}e"
	ip -n "$LAB_S" addr add 2001:db8:2::2/64 dev "${LAB}e" nodad
	for a in 20 21 30; do
		ip -n "$LAB_S" addr add "203.0.113.$a/32" dev lo
		ip -n "$LAB_S" addr add "2001:db8:3::$a/128" dev lo nodad
	done
	ip -n "$LAB_S" link set "${LAB}e" up
	ip -n "$LAB_S" route add default via 198.51.100.1
	ip -n "$LAB_S" -6 route add default via 2001:db8:2::1

	# Names with several addresses come from the client's own hosts file
	# (ip netns exec mounts /etc/netns/<ns>/* over /etc). DNS goes nowhere.
	mkdir -p "/etc/netns/$LAB_C"
	cat >"/etc/netns/$LAB_C/hosts" <<-HOSTS
	127.0.0.1 localhost
	::1 localhost
	203.0.113.20 live.lab
	2001:db8:3::20 live6.lab
	203.0.113.13 soft.lab
	203.0.113.20 soft.lab
	203.0.113.10 route.lab
	203.0.113.20 route.lab
	2001:db8:3::10 soft6.lab
	2001:db8:3::20 soft6.lab
	203.0.113.13 reject.lab
	203.0.113.20 reject.lab
	203.0.113.12 netunreach.lab
	203.0.113.20 netunreach.lab
	2001:db8:3::13 reject6.lab
	2001:db8:3::20 reject6.lab
	203.0.113.14 admin.lab
	203.0.113.20 admin.lab
	203.0.113.14 adminonly.lab
	2001:db8:3::13 reject6only.lab
	203.0.113.15 portonly.lab
	203.0.113.16 refused.lab
	203.0.113.20 refused.lab
	203.0.113.13 dead.lab
	203.0.113.12 dead.lab
	203.0.113.11 hole.lab
	203.0.113.20 hole.lab
	203.0.113.11 holeonly.lab
	203.0.113.30 flapfirst.lab
	2001:db8:3::13 dead46.lab
	203.0.113.13 dead46.lab
	203.0.113.20 flapfirst.lab
	2001:db8:3::11 hole6.lab
	2001:db8:3::20 hole6.lab
	2001:db8:3::11 bhmix.lab
	203.0.113.20 bhmix.lab
	203.0.113.11 bhmix4.lab
	2001:db8:3::20 bhmix4.lab
	203.0.113.11 bhicmp.lab
	203.0.113.13 bhicmp.lab
	203.0.113.20 bhicmp.lab
	203.0.113.11 allholes.lab
	2001:db8:3::11 allholes.lab
	203.0.113.11 twoholes.lab
	2001:db8:3::11 twoholes.lab
	203.0.113.20 twoholes.lab
	2001:db8:3::20 twoholes.lab
	203.0.113.11 longjmp.lab
	203.0.113.41 longjmp.lab
	203.0.113.20 longjmp.lab
	203.0.113.13 sharea.lab
	203.0.113.20 sharea.lab
	203.0.113.13 shareb.lab
	203.0.113.21 shareb.lab
	203.0.113.13 sharec.lab
	2001:db8:3::21 sharec.lab
	203.0.113.11 holea.lab
	203.0.113.20 holea.lab
	203.0.113.11 holeb.lab
	203.0.113.21 holeb.lab
	203.0.113.40 manyholes.lab
	203.0.113.41 manyholes.lab
	203.0.113.42 manyholes.lab
	203.0.113.43 manyholes.lab
	203.0.113.44 manyholes.lab
	203.0.113.20 manyholes.lab
	203.0.113.30 flap.lab
	203.0.113.13 soft4live6.lab
	2001:db8:3::20 soft4live6.lab
	2001:db8:3::30 flap6.lab
	HOSTS
	echo "nameserver 127.0.0.1" >"/etc/netns/$LAB_C/resolv.conf"

	# The soak connects thousands of times a second: a listen queue as
	# long as the namespace allows (its own setting, not the host's).
	in_server sysctl -qw net.core.somaxconn=65535
	lab_spawn "$LAB_S" "$LAB_SERVER" "$LAB_PORT" "$LAB_SERVER_LIFE"
	lab_spawn "$LAB_S" "$LAB_SERVER" "$LAB_BANNER_PORT" "$LAB_SERVER_LIFE" banner
	lab_spawn "$LAB_S" "$LAB_SERVER" "$LAB_RESET_PORT" "$LAB_SERVER_LIFE" banner-reset
	lab_wait_server
}

# lab_far_up: the far router (see the top), after lab_up. Its relay runs in
# the router's namespace, a child of this shell (it ends with it), and is
# gone with the router's processes in lab_down.
lab_far_up() {
	local i
	ip netns add "$LAB_F" || lab_fail "cannot create the far namespace"
	ip -n "$LAB_F" link set lo up
	ip -n "$LAB_R" tuntap add dev "${LAB}g" mode tun &&
	ip -n "$LAB_F" tuntap add dev "${LAB}h" mode tun ||
		lab_fail "cannot create the TUN devices"
	ip netns exec "$LAB_F" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
		net.ipv6.conf.default.accept_ra=0 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
		net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=100000 ||
		lab_fail "cannot set the far router's sysctls"
	lab_far_relay
	# Attached, the devices have a carrier (bounded: 2 s).
	for i in $(seq 1 20); do
		ip -n "$LAB_F" link show "${LAB}h" | grep -q NO-CARRIER || break
		sleep 0.1
	done
	ip -n "$LAB_R" link set "${LAB}g" up
	ip -n "$LAB_R" route add 203.0.113.96/28 dev "${LAB}g"
	ip -n "$LAB_R" -6 route add 2001:db8:4::/64 dev "${LAB}g"
	ip -n "$LAB_F" addr add 203.0.113.97/32 dev "${LAB}h"
	ip -n "$LAB_F" addr add 2001:db8:4::1/128 dev "${LAB}h" nodad
	ip -n "$LAB_F" addr add 203.0.113.110/32 dev lo
	ip -n "$LAB_F" addr add 2001:db8:4::110/128 dev lo nodad
	ip -n "$LAB_F" addr add 203.0.113.111/32 dev lo
	ip -n "$LAB_F" route add blackhole 203.0.113.99/32
	ip -n "$LAB_F" link set "${LAB}h" up
	ip -n "$LAB_F" route add default dev "${LAB}h"
	ip -n "$LAB_F" -6 route add default dev "${LAB}h"
	# The rejects in prerouting: the far router answers for addresses it
	# has no route to forward to, from its own address.
	ip netns exec "$LAB_F" nft -f - <<-NFT || lab_fail "cannot load the far router's nftables rules"
	table inet selabfar {
		counter farsyn { }
		chain prerouting {
			type filter hook prerouting priority 0; policy accept;
			ip daddr { 203.0.113.110, 203.0.113.111 } tcp flags & (syn | ack) == syn counter name farsyn
			ip daddr 203.0.113.100 reject with icmp type host-unreachable
			ip daddr 203.0.113.101 reject with icmp type net-unreachable
			ip6 daddr 2001:db8:4::100 reject with icmpv6 type addr-unreachable
			ip6 daddr 2001:db8:4::101 reject with icmpv6 type no-route
		}
	}
	NFT
	cat >>"/etc/netns/$LAB_C/hosts" <<-HOSTS
	203.0.113.110 farlive.lab
	2001:db8:4::110 farlive6.lab
	203.0.113.100 farsoft.lab
	203.0.113.110 farsoft.lab
	203.0.113.101 farnet.lab
	203.0.113.110 farnet.lab
	2001:db8:4::100 farsoft6.lab
	2001:db8:4::110 farsoft6.lab
	2001:db8:4::101 farnoroute6.lab
	2001:db8:4::110 farnoroute6.lab
	203.0.113.99 farhole.lab
	203.0.113.110 farhole.lab
	203.0.113.110 farpair.lab
	203.0.113.111 farpair.lab
	HOSTS
	lab_spawn "$LAB_F" "$LAB_SERVER" "$LAB_PORT" 900
	lab_wait_server farlive.lab farlive6.lab
}

# The far router's relay (se-delay), LAB_FAR_DELAY ms each way: a child of
# this shell, gone with it or with the router's processes in lab_down.
lab_far_relay() {
	ip netns exec "$LAB_R" "$top_builddir/tests/lab/se-delay" "$LAB_R" "${LAB}g" "$LAB_F" "${LAB}h" \
		"$LAB_FAR_DELAY" 900 </dev/null >/dev/null 2>&1 &
	LAB_FAR_PID=$!
	disown
}

# lab_far_delay MS: the relay again, MS each way (the TUN devices, their
# addresses and routes stay; packets in flight are lost).
lab_far_delay() {
	local i
	kill "$LAB_FAR_PID" 2>/dev/null
	for i in $(seq 1 20); do
		kill -0 "$LAB_FAR_PID" 2>/dev/null || break
		sleep 0.1
	done
	LAB_FAR_DELAY=$1
	lab_far_relay
	lab_wait_server farlive.lab farlive6.lab
}

# The SYNs that reached the far router for 203.0.113.110 and .111 so far.
lab_far_syns() {
	ip netns exec "$LAB_F" nft list counter inet selabfar farsyn |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# lab_spawn NS COMMAND...: starts a daemon in NS, apart from this shell's
# jobs (lab_down's kill then goes unannounced). Daemons bound their own life.
lab_spawn() {
	local ns=$1
	shift
	( setsid ip netns exec "$ns" "$@" </dev/null >/dev/null 2>&1 & )
}

# lab_wait_server [NAME4 NAME6]: waits until the server behind NAME4 and
# NAME6 (live.lab, live6.lab) answers (bounded: 5 s).
lab_wait_server() {
	local i v4=${1:-live.lab} v6=${2:-live6.lab}
	for i in $(seq 1 50); do
		# Both families: the first exchange also settles the neighbour
		# caches, which would otherwise delay the first test's SYN.
		if in_client "$top_builddir/tests/lab/se-client" -4 "$v4" "$LAB_PORT" \
			>/dev/null 2>&1 &&
		   in_client "$top_builddir/tests/lab/se-client" -6 "$v6" "$LAB_PORT" \
			>/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	lab_fail "the server behind $v4 and $v6 did not come up"
}

# lab_flap ADDR SECONDS: the router answers SYNs to ADDR (203.0.113.30 or
# 2001:db8:3::30) with a soft ICMP error now, and lets them through after
# SECONDS (lab_unflap ends it at once).
lab_flap() {
	local set=flap4
	case $1 in *:*) set=flap6 ;; esac
	in_router nft add element inet selab $set "{ $1 }"
	( sleep "$2"; lab_unflap "$1" ) &
	LAB_FLAP_PID=$!
}

lab_unflap() {
	local set=flap4
	case $1 in *:*) set=flap6 ;; esac
	in_router nft delete element inet selab $set "{ $1 }" 2>/dev/null
	return 0
}

# lab_prefer_ipv4 on|off: the client's resolver sorts IPv4 first (a
# gai.conf of the client namespace) or as by default.
lab_prefer_ipv4() {
	if [ "$1" = on ]; then
		printf 'precedence ::ffff:0:0/96 100\nprecedence ::1/128 50\nprecedence ::/0 40\n' \
			>"/etc/netns/$LAB_C/gai.conf"
	else
		rm -f "/etc/netns/$LAB_C/gai.conf"
	fi
}

# lab_hold PORT: the router drops every SYN (and all else) to 203.0.113.20
# port PORT until
# lab_unhold PORT.
lab_hold() { in_router nft add element inet selab holdport "{ $1 }"; }
lab_unhold() {
	in_router nft delete element inet selab holdport "{ $1 }" 2>/dev/null
	return 0
}

lab_flap_wait() {
	[ -n "${LAB_FLAP_PID:-}" ] && wait "$LAB_FLAP_PID" 2>/dev/null
	LAB_FLAP_PID=
}

# The SYNs the router refused to 203.0.113.14 so far.
lab_syn14() {
	in_router nft list counter inet selab syn14 |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

now_ms() { date +%s%3N; }
