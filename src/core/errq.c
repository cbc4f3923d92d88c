#include "config.h"

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "errq.h"
#include "sys.h"

bool se_errq_parse(const struct cmsghdr *cm, const struct se_icmp_rules *rules,
		   struct se_icmp_seen *out)
{
	struct sock_extended_err ee;
	struct sockaddr_storage off;
	size_t data, rest;

	if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
	      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
		return false;
	/* What the message holds, by its own length: a truncated one
	 * (MSG_CTRUNC) ends early, and the offender follows the error only
	 * when the kernel put it there. */
	if (cm->cmsg_len < CMSG_LEN(sizeof(ee)))
		return false;
	data = cm->cmsg_len - CMSG_LEN(0);
	memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
	if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = ee.ee_origin == SO_EE_ORIGIN_ICMP6 ? AF_INET6 : AF_INET;
	out->type = ee.ee_type;
	out->code = ee.ee_code;
	out->err = (int)ee.ee_errno;
	out->cls = se_icmp_classify_by(rules, out->family, out->type, out->code);
	/* The offender: only as many bytes as are there, and an address
	 * only when its whole sockaddr is. */
	rest = data - sizeof(ee);
	if (rest > sizeof(off))
		rest = sizeof(off);
	memset(&off, 0, sizeof(off));
	memcpy(&off, CMSG_DATA(cm) + sizeof(ee), rest);
	out->has_offender = rest >= sizeof(off.ss_family) && off.ss_family != AF_UNSPEC &&
		se_addr_from_sockaddr(&out->offender, (const struct sockaddr *)&off,
				      (socklen_t)rest) == 0;
	return true;
}

size_t se_errq_drain(int fd, const struct se_icmp_rules *rules,
		     struct se_icmp_seen *seen, size_t max)
{
	size_t n = 0;
	int i;

	for (i = 0; i < SE_ERRQ_MAX; i++) {
		char cbuf[512];
		char data[64];
		struct iovec iov = { data, sizeof(data) };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;

		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			struct se_icmp_seen one;

			if (se_errq_parse(cm, rules, &one) && n < max)
				seen[n++] = one;
		}
	}
	return n;
}

unsigned se_recverr_level(int sock_family, int addr_family)
{
	return sock_family == AF_INET6 && addr_family == AF_INET6 ?
	       SE_LVL_IPV6 : SE_LVL_IP;
}

int se_recverr_get(int fd, unsigned lvl)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (se_sys.getsockopt(fd, lvl == SE_LVL_IPV6 ? SOL_IPV6 : SOL_IP,
			      lvl == SE_LVL_IPV6 ? IPV6_RECVERR : IP_RECVERR,
			      &on, &len) < 0)
		return -1;
	return on != 0;
}

int se_recverr_set(int fd, unsigned lvl, int on)
{
	if (lvl == SE_LVL_IPV6)
		return se_sys.setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
	return se_sys.setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
}

void se_recverr_restore(int fd, unsigned *lvl_ours)
{
	if (*lvl_ours & SE_LVL_IP)
		se_recverr_set(fd, SE_LVL_IP, 0);
	if (*lvl_ours & SE_LVL_IPV6)
		se_recverr_set(fd, SE_LVL_IPV6, 0);
	*lvl_ours = 0;
}

bool se_tcp_handshake_done(const struct tcp_info *ti)
{
	switch (ti->tcpi_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return false;
	case TCP_CLOSE:
		/* The RTT is measured only on the SYN-ACK (an RST, an ICMP
		 * error or a timeout measure none), and connect(AF_UNSPEC)
		 * sets it back to 0 for a socket used again. */
		return ti->tcpi_rtt != 0;
	default:
		return true;
	}
}

int se_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (se_sys.getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

const char *se_icmp_describe(const struct se_icmp_seen *ic, char *buf,
			     size_t len)
{
	char nbuf[48], abuf[INET6_ADDRSTRLEN];
	int n;

	n = snprintf(buf, len, "%s %s (type %u code %u)",
		     se_icmp_class_name(ic->cls),
		     se_icmp_name(ic->family, ic->type, ic->code, nbuf, sizeof(nbuf)),
		     ic->type, ic->code);
	if (ic->has_offender && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " from %s",
			 se_addr_str(&ic->offender, abuf, sizeof(abuf)));
	return buf;
}
