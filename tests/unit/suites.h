#ifndef SOFTERR_TEST_SUITES_H
#define SOFTERR_TEST_SUITES_H

#include <check.h>

Suite *icmp_suite(void);
Suite *policy_suite(void);
Suite *names_suite(void);
Suite *settings_suite(void);
Suite *engine_suite(void);
Suite *sockrec_suite(void);
Suite *conf_suite(void);
Suite *history_suite(void);

#endif
