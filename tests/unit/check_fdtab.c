/* The per-descriptor table: a slot for any number, made on demand, never
 * moved. */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "core/fdtab.h"
#include "suites.h"

START_TEST(slots_for_any_number)
{
	static const int fds[] = {
		0, 1023, 1024, 65535, 65536, 65536 + 5, 300000,
		(1 << 20) - 1, 1 << 20, (1 << 20) + 1, (1 << 24) + 17, INT_MAX
	};
	struct se_fdslot *s[sizeof(fds) / sizeof(fds[0])];
	size_t i, j;

	ck_assert_ptr_null(se_fdtab_get(-1));
	ck_assert_ptr_null(se_fdtab_make(-1));
	ck_assert_ptr_null(se_fdtab_make(INT_MIN));
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		s[i] = se_fdtab_make(fds[i]);
		ck_assert_msg(s[i] != NULL, "no slot for %d", fds[i]);
		ck_assert_ptr_eq(se_fdtab_get(fds[i]), s[i]);
		/* Made zeroed, and what is written stays. */
		ck_assert_ptr_null(s[i]->entry);
		ck_assert_uint_eq(s[i]->own_ino, 0);
		s[i]->own_ino = (uint64_t)fds[i] + 1;
		ck_assert_uint_ge(se_fdtab_end(), (unsigned)fds[i] + (fds[i] < INT_MAX));
	}
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		/* Distinct, and found again where they were made. */
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(s[i], s[j]);
		ck_assert_ptr_eq(se_fdtab_make(fds[i]), s[i]);
		ck_assert_uint_eq(s[i]->own_ino, (uint64_t)fds[i] + 1);
	}
	/* Neighbours share a block; nothing is made for a number asked
	 * about only. */
	ck_assert_ptr_eq(se_fdtab_get(65536 + 6), s[5] + 1);
	ck_assert_ptr_null(se_fdtab_get((1 << 22) + 1));
	se_fdtab_reset();
	ck_assert_ptr_eq(se_fdtab_get(65536 + 5), s[5]);
	ck_assert_uint_eq(s[5]->own_ino, 0);
}
END_TEST

/* Threads making the slots of the same fresh blocks at once: one slot a
 * number for all of them. */
#define RACERS 4
#define RACE_BASE ((1 << 21) + 4096 * 256)

static void *racer(void *arg)
{
	struct se_fdslot **out = arg;
	int i;

	for (i = 0; i < 1024; i++)
		out[i] = se_fdtab_make(RACE_BASE + i * 97);
	return NULL;
}

START_TEST(made_once_under_races)
{
	static struct se_fdslot *got[RACERS][1024];
	pthread_t t[RACERS];
	int i, k;

	for (k = 0; k < RACERS; k++)
		ck_assert_int_eq(pthread_create(&t[k], NULL, racer, got[k]), 0);
	for (k = 0; k < RACERS; k++)
		pthread_join(t[k], NULL);
	for (i = 0; i < 1024; i++) {
		ck_assert(got[0][i] != NULL);
		for (k = 1; k < RACERS; k++)
			ck_assert_ptr_eq(got[k][i], got[0][i]);
		ck_assert_ptr_eq(se_fdtab_get(RACE_BASE + i * 97), got[0][i]);
	}
}
END_TEST

Suite *fdtab_suite(void)
{
	Suite *s = suite_create("fdtab");
	TCase *tc = tcase_create("slots");

	tcase_add_test(tc, slots_for_any_number);
	tcase_add_test(tc, made_once_under_races);
	suite_add_tcase(s, tc);
	return s;
}
