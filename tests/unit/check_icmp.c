/* RFC 5461 Table 1, every type and code of both families. */
#include "config.h"

#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "core/icmp.h"
#include "suites.h"

/* The soft ones, straight from the RFC's table. */
static bool table1_soft(int family, unsigned type, unsigned code)
{
	if (family == AF_INET)
		return (type == 3 && (code == 0 || code == 1 || code == 5)) ||
		       (type == 11 && (code == 0 || code == 1)) ||
		       type == 12;
	return (type == 1 && (code == 0 || code == 3)) ||
	       (type == 3 && (code == 0 || code == 1)) ||
	       (type == 4 && code <= 2);
}

/* PMTU signalling carries no verdict on reachability. */
static bool pmtu(int family, unsigned type, unsigned code)
{
	if (family == AF_INET)
		return (type == 3 && code == 4) || type == 4;
	return type == 2;
}

/* _i is the type; every code of it is checked. */
START_TEST(every_icmp4_type_and_code)
{
	unsigned type = (unsigned)_i, code;

	for (code = 0; code < 256; code++) {
		enum se_icmp_class want = table1_soft(AF_INET, type, code) ? SE_ICMP_SOFT :
			pmtu(AF_INET, type, code) ? SE_ICMP_IGNORE : SE_ICMP_HARD;

		ck_assert_msg(se_icmp_classify(AF_INET, (uint8_t)type, (uint8_t)code) == want,
			      "type %u code %u", type, code);
	}
}
END_TEST

START_TEST(every_icmp6_type_and_code)
{
	unsigned type = (unsigned)_i, code;

	for (code = 0; code < 256; code++) {
		enum se_icmp_class want = table1_soft(AF_INET6, type, code) ? SE_ICMP_SOFT :
			pmtu(AF_INET6, type, code) ? SE_ICMP_IGNORE : SE_ICMP_HARD;

		ck_assert_msg(se_icmp_classify(AF_INET6, (uint8_t)type, (uint8_t)code) == want,
			      "type %u code %u", type, code);
	}
}
END_TEST

START_TEST(unknown_family_is_hard)
{
	ck_assert_int_eq(se_icmp_classify(AF_UNIX, 3, 1), SE_ICMP_HARD);
}
END_TEST

START_TEST(names_for_the_log)
{
	char buf[48];

	ck_assert_str_eq(se_icmp_name(AF_INET, 3, 1, buf, sizeof(buf)), "host-unreachable");
	ck_assert_str_eq(se_icmp_name(AF_INET, 3, 13, buf, sizeof(buf)), "admin-prohibited");
	ck_assert_str_eq(se_icmp_name(AF_INET6, 1, 0, buf, sizeof(buf)), "no-route");
	ck_assert_str_eq(se_icmp_name(AF_INET6, 1, 3, buf, sizeof(buf)), "address-unreachable");
	ck_assert_str_eq(se_icmp_name(AF_INET, 42, 7, buf, sizeof(buf)), "icmp-type-42-code-7");
	ck_assert_str_eq(se_icmp_class_name(SE_ICMP_SOFT), "soft");
	ck_assert_str_eq(se_icmp_class_name(SE_ICMP_HARD), "hard");
}
END_TEST

Suite *icmp_suite(void)
{
	Suite *s = suite_create("icmp");
	TCase *tc = tcase_create("classify");

	tcase_add_loop_test(tc, every_icmp4_type_and_code, 0, 256);
	tcase_add_loop_test(tc, every_icmp6_type_and_code, 0, 256);
	tcase_add_test(tc, unknown_family_is_hard);
	tcase_add_test(tc, names_for_the_log);
	suite_add_tcase(s, tc);
	return s;
}
