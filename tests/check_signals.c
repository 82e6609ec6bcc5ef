/* SPDX-License-Identifier: MIT */
/* policy/signals.c against fixture trees: a v2 and a v1 pool cgroup (read
 * with cgstat_read, as the daemon will) and a proc meminfo. The triggers it
 * opens are tested on the host in check_psi_trigger. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "signals.h"

#define FIXTURES TEST_SRCDIR "/fixtures/policy/"

START_TEST(test_pool_sample_v2) {
        CgStat st;
        PolicyPoolSample ps;

        ck_assert_int_eq(cgstat_read(FIXTURES "cgroup-v2-pool", &st), 0);
        signals_pool_sample(&st, &ps);
        ck_assert_uint_eq(ps.usage, UINT64_C(21474836480));
        ck_assert_uint_eq(ps.events_high, 71);
        ck_assert_uint_eq(ps.events_max, 3);
        ck_assert_uint_eq(ps.events_oom, 1);
        ck_assert_uint_eq(ps.events_oom_kill, 1);
        ck_assert(!ps.psi_fired);
        ck_assert_uint_eq(ps.subscribers, 0);
}
END_TEST

START_TEST(test_pool_sample_v1) {
        CgStat st;
        PolicyPoolSample ps;

        ck_assert_int_eq(cgstat_read(FIXTURES "cgroup-v1-pool", &st), 0);
        signals_pool_sample(&st, &ps);
        ck_assert_uint_eq(ps.usage, 4096);
        /* v1 counts no memory.high and no oom events: unknown, not 0 */
        ck_assert_uint_eq(ps.events_high, POLICY_UNKNOWN);
        ck_assert_uint_eq(ps.events_oom, POLICY_UNKNOWN);
        ck_assert_uint_eq(ps.events_max, 9);
        ck_assert_uint_eq(ps.events_oom_kill, 2);
}
END_TEST

START_TEST(test_pool_sample_nothing) {
        CgStat st = { .version = CGROUP_VERSION_V2, .current = 5, .events_high = 7 };
        PolicyPoolSample ps;

        signals_pool_sample(&st, &ps);
        ck_assert_uint_eq(ps.usage, 5);
        ck_assert_uint_eq(ps.events_high, POLICY_UNKNOWN); /* read flag clear */
        ck_assert_uint_eq(ps.events_max, POLICY_UNKNOWN);
        ck_assert_uint_eq(ps.events_oom_kill, POLICY_UNKNOWN);
}
END_TEST

START_TEST(test_read_host) {
        uint64_t avail = 0, total = 0;

        ck_assert_int_eq(signals_read_host(FIXTURES "proc", &avail, &total), 0);
        ck_assert_uint_eq(avail, UINT64_C(4096000) * 1024);
        ck_assert_uint_eq(total, UINT64_C(65536000) * 1024);
        ck_assert_int_eq(signals_read_host(FIXTURES "proc", NULL, &total), 0);
        ck_assert_int_eq(signals_read_host(FIXTURES "no-such-proc", &avail, NULL), -ENOENT);
}
END_TEST

int main(void) {
        Suite *s = suite_create("signals");
        TCase *tc = tcase_create("signals");

        tcase_add_test(tc, test_pool_sample_v2);
        tcase_add_test(tc, test_pool_sample_v1);
        tcase_add_test(tc, test_pool_sample_nothing);
        tcase_add_test(tc, test_read_host);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
