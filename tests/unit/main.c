/* One runner for every core suite. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "core/sys.h"
#include "suites.h"

struct se_addr se_test_addr(const char *text)
{
	struct se_addr a;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		ck_assert_int_eq(se_addr_from_sockaddr(&a, (struct sockaddr *)&s4,
						       sizeof(s4)), 0);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
		ck_assert_int_eq(se_addr_from_sockaddr(&a, (struct sockaddr *)&s6,
						       sizeof(s6)), 0);
	}
	return a;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (se_sys_init() < 0)
		return 99;
	sr = srunner_create(icmp_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, names_suite());
	srunner_add_suite(sr, settings_suite());
	srunner_add_suite(sr, engine_suite());
	srunner_add_suite(sr, sockrec_suite());
	srunner_add_suite(sr, conf_suite());
	srunner_add_suite(sr, history_suite());
	srunner_add_suite(sr, netwatch_suite());
	srunner_add_suite(sr, errq_suite());
	srunner_add_suite(sr, ownfd_suite());
	srunner_add_suite(sr, fdtab_suite());
	srunner_add_suite(sr, loop_suite());
	srunner_add_suite(sr, pending_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
