/* A socket's error queue (IP_RECVERR, IPV6_RECVERR) and its SO_ERROR. */
#ifndef SOFTERR_CORE_ERRQ_H
#define SOFTERR_CORE_ERRQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icmp.h"
#include "names.h"

#define SE_ERRQ_MAX 32		/* entries read per call */

enum { SE_LVL_IP = 1, SE_LVL_IPV6 = 2 };

/* One ICMP error from the queue. */
struct se_icmp_seen {
	enum se_icmp_class cls;
	int family;
	uint8_t type, code;
	int err;			/* the errno the kernel gives it */
	struct se_addr offender;
	bool has_offender;
};

struct cmsghdr;

/* One control message of a recvmsg(MSG_ERRQUEUE) into *out, classified
 * under rules (NULL: RFC 5461 Table 1). True when cm is an IP_RECVERR or
 * IPV6_RECVERR message from ICMP or ICMPv6 whose sock_extended_err lies
 * whole within cm->cmsg_len; the offender (SO_EE_OFFENDER) is taken only
 * when its whole address lies there too, else has_offender is false. No
 * byte past cm->cmsg_len is read: a short message (MSG_CTRUNC, or one the
 * kernel made shorter) is not trusted beyond what it holds. */
bool se_errq_parse(const struct cmsghdr *cm, const struct se_icmp_rules *rules,
		   struct se_icmp_seen *out);

/* Reads fd's error queue into seen[] (at most max; the rest of the batch
 * is read and dropped), classified under rules (NULL: RFC 5461 Table 1).
 * Returns how many ICMP errors were stored. */
size_t se_errq_drain(int fd, const struct se_icmp_rules *rules,
		     struct se_icmp_seen *seen, size_t max);

/* The level whose RECVERR governs a socket of family sock_family talking
 * to an address of addr_family: IPV6_RECVERR for IPv6 on IPv6, IP_RECVERR
 * otherwise (IPv4, also through a mapped address on an IPv6 socket). */
unsigned se_recverr_level(int sock_family, int addr_family);

/* IP_RECVERR (SE_LVL_IP) or IPV6_RECVERR (SE_LVL_IPV6) on or off. */
int se_recverr_set(int fd, unsigned lvl, int on);
/* Is it on? 1 or 0, or -1 with errno. */
int se_recverr_get(int fd, unsigned lvl);

/* Turns off the RECVERR levels in *lvl_ours (those softerr turned on; the
 * program's own stay), which also empties the queue; *lvl_ours becomes 0. */
void se_recverr_restore(int fd, unsigned *lvl_ours);

struct tcp_info;

/* Has a connecting socket's handshake completed, whatever came after?
 * Every state past SYN-SENT and SYN-RECV is a connection (CLOSE_WAIT: the
 * peer spoke and closed before anyone looked), and so is CLOSE after a
 * SYN-ACK was answered (an RTT was measured: the peer reset the connection
 * it had accepted). A blocking connect() woken at the handshake would have
 * returned 0 for each of them. */
bool se_tcp_handshake_done(const struct tcp_info *ti);

/* SO_ERROR, read (and so cleared); errno when it cannot be read. */
int se_sock_error(int fd);

/* "soft host-unreachable (type 3 code 1) from 192.0.2.1" into buf. */
const char *se_icmp_describe(const struct se_icmp_seen *ic, char *buf,
			     size_t len);

#endif
