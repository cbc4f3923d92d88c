/* The error queue's control messages, built by hand: what is read of a
 * sock_extended_err and its offender, and that nothing past cmsg_len is. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/errq.h"
#include "suites.h"

/* A control buffer, aligned as the kernel fills one. */
union cbuf {
	struct cmsghdr align;
	unsigned char b[256];
};

/* A whole IP_RECVERR message (host unreachable from 192.0.2.1) in cb, its
 * cmsg_len then set to len; the bytes past len stay as a whole message
 * would have them, so that reading beyond len finds plausible data. */
static struct cmsghdr *icmp4_msg(union cbuf *cb, size_t len)
{
	struct cmsghdr *cm = &cb->align;
	struct sock_extended_err ee = {
		.ee_errno = EHOSTUNREACH, .ee_origin = SO_EE_ORIGIN_ICMP,
		.ee_type = 3, .ee_code = 1,
	};
	struct sockaddr_in off = { .sin_family = AF_INET };

	memset(cb, 0, sizeof(*cb));
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &off.sin_addr), 1);
	cm->cmsg_level = SOL_IP;
	cm->cmsg_type = IP_RECVERR;
	memcpy(CMSG_DATA(cm), &ee, sizeof(ee));
	memcpy(CMSG_DATA(cm) + sizeof(ee), &off, sizeof(off));
	cm->cmsg_len = len;
	return cm;
}

/* The same over IPv6: address unreachable (1/3) from 2001:db8::1. */
static struct cmsghdr *icmp6_msg(union cbuf *cb, size_t len)
{
	struct cmsghdr *cm = &cb->align;
	struct sock_extended_err ee = {
		.ee_errno = EHOSTUNREACH, .ee_origin = SO_EE_ORIGIN_ICMP6,
		.ee_type = 1, .ee_code = 3,
	};
	struct sockaddr_in6 off = { .sin6_family = AF_INET6 };

	memset(cb, 0, sizeof(*cb));
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &off.sin6_addr), 1);
	cm->cmsg_level = SOL_IPV6;
	cm->cmsg_type = IPV6_RECVERR;
	memcpy(CMSG_DATA(cm), &ee, sizeof(ee));
	memcpy(CMSG_DATA(cm) + sizeof(ee), &off, sizeof(off));
	cm->cmsg_len = len;
	return cm;
}

#define EE sizeof(struct sock_extended_err)

START_TEST(whole_messages)
{
	struct se_addr want4 = se_test_addr("192.0.2.1"), want6 = se_test_addr("2001:db8::1");
	struct se_icmp_seen s;
	union cbuf cb;

	ck_assert(se_errq_parse(icmp4_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in))),
				NULL, &s));
	ck_assert_int_eq(s.family, AF_INET);
	ck_assert_uint_eq(s.type, 3);
	ck_assert_uint_eq(s.code, 1);
	ck_assert_int_eq(s.err, EHOSTUNREACH);
	ck_assert_int_eq(s.cls, SE_ICMP_SOFT);
	ck_assert(s.has_offender);
	ck_assert(se_addr_equal(&s.offender, &want4));

	ck_assert(se_errq_parse(icmp6_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in6))),
				NULL, &s));
	ck_assert_int_eq(s.family, AF_INET6);
	ck_assert_int_eq(s.cls, SE_ICMP_SOFT);
	ck_assert(s.has_offender);
	ck_assert(se_addr_equal(&s.offender, &want6));
}
END_TEST

/* Cut short: the error without its offender, or nothing at all, never
 * what lies past cmsg_len. */
START_TEST(short_messages)
{
	struct se_icmp_seen s;
	union cbuf cb;
	size_t len;

	/* The error whole, the offender absent or cut. */
	ck_assert(se_errq_parse(icmp4_msg(&cb, CMSG_LEN(EE)), NULL, &s));
	ck_assert_uint_eq(s.type, 3);
	ck_assert(!s.has_offender);
	ck_assert(se_errq_parse(icmp4_msg(&cb, CMSG_LEN(EE + 1)), NULL, &s));
	ck_assert(!s.has_offender);
	ck_assert(se_errq_parse(icmp4_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in) - 1)),
				NULL, &s));
	ck_assert(!s.has_offender);
	/* An IPv6 offender needs the whole sockaddr_in6. */
	ck_assert(se_errq_parse(icmp6_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in))),
				NULL, &s));
	ck_assert_int_eq(s.family, AF_INET6);
	ck_assert(!s.has_offender);
	ck_assert(se_errq_parse(icmp6_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in6) - 1)),
				NULL, &s));
	ck_assert(!s.has_offender);
	/* The error itself cut: not an error at all. */
	for (len = CMSG_LEN(0); len < CMSG_LEN(EE); len++) {
		ck_assert_msg(!se_errq_parse(icmp4_msg(&cb, len), NULL, &s), "len %zu", len);
		ck_assert_msg(!se_errq_parse(icmp6_msg(&cb, len), NULL, &s), "len %zu", len);
	}
	/* A cmsg_len smaller than the header itself. */
	ck_assert(!se_errq_parse(icmp4_msg(&cb, 0), NULL, &s));
	ck_assert(!se_errq_parse(icmp4_msg(&cb, sizeof(struct cmsghdr) - 1), NULL, &s));
}
END_TEST

START_TEST(other_messages)
{
	struct se_icmp_seen s;
	struct sock_extended_err ee;
	struct cmsghdr *cm;
	union cbuf cb;

	/* Not RECVERR. */
	cm = icmp4_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in)));
	cm->cmsg_type = IP_TTL;
	ck_assert(!se_errq_parse(cm, NULL, &s));
	cm = icmp4_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in)));
	cm->cmsg_level = SOL_SOCKET;
	ck_assert(!se_errq_parse(cm, NULL, &s));
	/* RECVERR, but not from ICMP (a local error). */
	cm = icmp4_msg(&cb, CMSG_LEN(EE + sizeof(struct sockaddr_in)));
	memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
	ee.ee_origin = SO_EE_ORIGIN_LOCAL;
	memcpy(CMSG_DATA(cm), &ee, sizeof(ee));
	ck_assert(!se_errq_parse(cm, NULL, &s));
}
END_TEST

Suite *errq_suite(void)
{
	Suite *s = suite_create("errq");
	TCase *tc = tcase_create("errq");

	tcase_add_test(tc, whole_messages);
	tcase_add_test(tc, short_messages);
	tcase_add_test(tc, other_messages);
	suite_add_tcase(s, tc);
	return s;
}
