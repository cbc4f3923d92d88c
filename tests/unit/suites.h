#ifndef SOFTERR_TEST_SUITES_H
#define SOFTERR_TEST_SUITES_H

#include <check.h>

#include "core/names.h"

/* "192.0.2.1" or "2001:db8::1" as an se_addr, as connect() would give it
 * (an IPv4-mapped address becomes IPv4). */
struct se_addr se_test_addr(const char *text);

Suite *icmp_suite(void);
Suite *policy_suite(void);
Suite *names_suite(void);
Suite *settings_suite(void);
Suite *engine_suite(void);
Suite *sockrec_suite(void);
Suite *conf_suite(void);
Suite *history_suite(void);
Suite *netwatch_suite(void);
Suite *errq_suite(void);
Suite *ownfd_suite(void);
Suite *fdtab_suite(void);
Suite *loop_suite(void);
Suite *pending_suite(void);

#endif
