/* One runner for every core suite. */
#include "config.h"

#include <stdlib.h>

#include "core/sys.h"
#include "suites.h"

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
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
