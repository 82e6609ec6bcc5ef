/* SPDX-License-Identifier: MIT */
/* The PSI parser against recorded and hand-made pressure files, and the
 * trigger window fallback rule. Pure: the real triggers are exercised by
 * check_psi_trigger (this host) and tests/vm/scenarios/psi-trigger.sh. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "psi.h"

#define FIXTURES TEST_SRCDIR "/fixtures/policy/psi/"

START_TEST(test_parse_busy) {
        PsiStats st;

        ck_assert_int_eq(psi_read(FIXTURES "memory-busy", &st), 0);
        ck_assert_uint_eq(st.some.avg10, 1234);
        ck_assert_uint_eq(st.some.avg60, 500);
        ck_assert_uint_eq(st.some.avg300, 7);
        ck_assert_uint_eq(st.some.total_usec, 123456789);
        ck_assert(st.has_full);
        ck_assert_uint_eq(st.full.avg10, 10000);
        ck_assert_uint_eq(st.full.avg60, 9999);
        ck_assert_uint_eq(st.full.avg300, 0);
        ck_assert_uint_eq(st.full.total_usec, UINT64_MAX);
}
END_TEST

START_TEST(test_parse_some_only) {
        PsiStats st;

        ck_assert_int_eq(psi_read(FIXTURES "cpu-some-only", &st), 0);
        ck_assert(!st.has_full);
        ck_assert_uint_eq(st.some.avg10, 51);
        ck_assert_uint_eq(st.some.avg60, 20);
        ck_assert_uint_eq(st.some.avg300, 4);
        ck_assert_uint_eq(st.some.total_usec, 5061393);
}
END_TEST

/* Recorded from this development host (6.18): cpu, io and memory files. */
static const char *const recorded[] = { "host-memory-idle", "host-cpu", "host-io" };

START_TEST(test_parse_recorded) {
        PsiStats st;

        ck_assert_msg(psi_read(FIXTURES "host-memory-idle", &st) == 0, "host-memory-idle");
        ck_assert(st.has_full);
        for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++) {
                char path[4096];
                snprintf(path, sizeof path, FIXTURES "%s", recorded[i]);
                ck_assert_msg(psi_read(path, &st) == 0, "%s does not parse", recorded[i]);
                ck_assert(st.has_full);
                ck_assert(st.some.avg10 <= 10000 && st.full.avg10 <= 10000);
                /* full is a subset of some: its stall time cannot be larger */
                ck_assert(st.full.total_usec <= st.some.total_usec);
        }
}
END_TEST

static const char *const bad[] = {
        "bad-no-final-newline", "bad-three-decimals", "bad-over-100",    "bad-negative-total",
        "bad-total-overflow",   "bad-full-first",     "bad-key-order",   "bad-trailing-field",
        "bad-third-line",       "bad-crlf",           "bad-double-space", "bad-no-whole-part",
        "bad-empty",
};

START_TEST(test_parse_bad) {
        char path[4096];
        PsiStats st = { .some.avg10 = 4242 };

        snprintf(path, sizeof path, FIXTURES "%s", bad[_i]);
        ck_assert_msg(psi_read(path, &st) == -EBADMSG, "%s was accepted", bad[_i]);
        ck_assert_uint_eq(st.some.avg10, 4242); /* RET untouched on failure */
}
END_TEST

START_TEST(test_parse_inline) {
        PsiStats st;

        ck_assert_int_eq(psi_parse("some avg10=100.00 avg60=0.00 avg300=0.00 total=0\n", &st), 0);
        ck_assert_uint_eq(st.some.avg10, 10000);
        ck_assert_int_eq(psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=+1\n", &st), -EBADMSG);
        ck_assert_int_eq(psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total= 1\n", &st), -EBADMSG);
        ck_assert_int_eq(psi_parse("some avg10=1000.00 avg60=0.00 avg300=0.00 total=1\n", &st), -EBADMSG);
        ck_assert_int_eq(psi_parse("some avg10=0.0 avg60=0.00 avg300=0.00 total=1\n", &st), -EBADMSG);
        ck_assert_int_eq(psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00\n", &st), -EBADMSG);
        ck_assert_int_eq(psi_parse("", &st), -EBADMSG);
}
END_TEST

START_TEST(test_read_missing) {
        PsiStats st;

        ck_assert_int_eq(psi_read(FIXTURES "no-such-file", &st), -ENOENT);
}
END_TEST

START_TEST(test_window_candidates) {
        PsiWindow c[PSI_WINDOW_CANDIDATES_MAX];

        /* A 2 s multiple is accepted by everyone: nothing to fall back to. */
        ck_assert_int_eq(psi_window_candidates(150000, 2000000, c), 1);
        ck_assert_uint_eq(c[0].stall_usec, 150000);
        ck_assert_uint_eq(c[0].window_usec, 2000000);

        /* 1 s: then 2 s with the stall share kept (15%). */
        ck_assert_int_eq(psi_window_candidates(150000, 1000000, c), 2);
        ck_assert_uint_eq(c[0].stall_usec, 150000);
        ck_assert_uint_eq(c[0].window_usec, 1000000);
        ck_assert_uint_eq(c[1].stall_usec, 300000);
        ck_assert_uint_eq(c[1].window_usec, 2000000);

        /* 500 ms is the old minimum itself: only the 2 s fallback. */
        ck_assert_int_eq(psi_window_candidates(100000, 500000, c), 2);
        ck_assert_uint_eq(c[1].stall_usec, 400000);
        ck_assert_uint_eq(c[1].window_usec, 2000000);

        /* 250 ms: 500 ms for kernels before 6.4, then 2 s. */
        ck_assert_int_eq(psi_window_candidates(50000, 250000, c), 3);
        ck_assert_uint_eq(c[1].stall_usec, 100000);
        ck_assert_uint_eq(c[1].window_usec, 500000);
        ck_assert_uint_eq(c[2].stall_usec, 400000);
        ck_assert_uint_eq(c[2].window_usec, 2000000);

        /* 3 s rounds up to 4 s; 9 s to 10 s, the kernel's maximum. */
        ck_assert_int_eq(psi_window_candidates(1000000, 3000000, c), 2);
        ck_assert_uint_eq(c[1].stall_usec, 1333333);
        ck_assert_uint_eq(c[1].window_usec, 4000000);
        ck_assert_int_eq(psi_window_candidates(1000000, 9000000, c), 2);
        ck_assert_uint_eq(c[1].window_usec, 10000000);
        ck_assert_int_eq(psi_window_candidates(1, 10000000, c), 1);

        /* A tiny stall never scales to 0, which the kernel refuses. */
        ck_assert_int_eq(psi_window_candidates(1, 1000, c), 3);
        ck_assert_uint_eq(c[1].stall_usec, 500);
        ck_assert_uint_eq(c[2].stall_usec, 2000);

        /* Requests the kernel can never take. */
        ck_assert_int_eq(psi_window_candidates(0, 1000000, c), -EINVAL);
        ck_assert_int_eq(psi_window_candidates(2000000, 1000000, c), -EINVAL);
        ck_assert_int_eq(psi_window_candidates(1, 0, c), -EINVAL);
        ck_assert_int_eq(psi_window_candidates(1, 10000001, c), -EINVAL);
}
END_TEST

START_TEST(test_open_bad_requests) {
        PsiTrigger *t = NULL;

        /* Refused before any file is touched, so the fixture path is fine. */
        ck_assert_int_eq(psi_trigger_open(FIXTURES "host-memory-idle", PSI_SOME, 0, 1000000, &t),
                         -EINVAL);
        ck_assert_int_eq(psi_trigger_open(FIXTURES "host-memory-idle", _PSI_KIND_MAX, 1, 1000000, &t),
                         -EINVAL);
        ck_assert_int_eq(psi_trigger_open(FIXTURES "no-such-file", PSI_SOME, 150000, 1000000, &t),
                         -ENOENT);
        ck_assert_ptr_null(t);
}
END_TEST

static Suite *psi_suite(void) {
        Suite *s = suite_create("psi");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_parse_busy);
        tcase_add_test(tc, test_parse_some_only);
        tcase_add_test(tc, test_parse_recorded);
        tcase_add_loop_test(tc, test_parse_bad, 0, (int) (sizeof bad / sizeof bad[0]));
        tcase_add_test(tc, test_parse_inline);
        tcase_add_test(tc, test_read_missing);
        suite_add_tcase(s, tc);

        tc = tcase_create("trigger");
        tcase_add_test(tc, test_window_candidates);
        tcase_add_test(tc, test_open_bad_requests);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(psi_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
