/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meminfo.h"

#define FIXTURES TEST_SRCDIR "/fixtures"

/* Writes TEXT into a memory stream and parses it. */
static int parse_text(const char *text, MemInfo *ret) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        ck_assert_ptr_nonnull(f);
        int r = meminfo_parse(f, ret);
        fclose(f);
        return r;
}

START_TEST(test_good) {
        MemInfo m;

        ck_assert_int_eq(meminfo_read(FIXTURES "/proc-good", &m), 0);
        /* The figures of tests/fixtures/proc-good/meminfo, times 1024. */
        ck_assert_uint_eq(m.total, 528273672ULL * 1024);
        ck_assert_uint_eq(m.free, 301142540ULL * 1024);
        ck_assert_uint_eq(m.available, 412733904ULL * 1024);
        ck_assert_uint_eq(m.buffers, 1203840ULL * 1024);
        ck_assert_uint_eq(m.cached, 108735312ULL * 1024);
        ck_assert_uint_eq(m.swap_total, 8388604ULL * 1024);
        ck_assert_uint_eq(m.swap_free, 8388092ULL * 1024);
}
END_TEST

START_TEST(test_minimal) {
        MemInfo m;

        /* Only the required fields, and no newline after the last one. */
        ck_assert_int_eq(meminfo_read(FIXTURES "/proc-minimal", &m), 0);
        ck_assert_uint_eq(m.total, 2048000ULL * 1024);
        ck_assert_uint_eq(m.free, 1024000ULL * 1024);
        ck_assert_uint_eq(m.available, 1536000ULL * 1024);
        ck_assert_uint_eq(m.cached, 0);
        ck_assert_uint_eq(m.swap_total, 0);
}
END_TEST

START_TEST(test_bad_fixtures) {
        static const struct {
                const char *dir;
                int error;
        } cases[] = {
                { "proc-no-memtotal", -ENODATA },
                { "proc-no-available", -ENODATA },
                { "proc-garbage", -EBADMSG },
                { "proc-no-unit", -EBADMSG },
                { "proc-mb-unit", -EBADMSG },
                { "proc-negative", -EBADMSG },
                { "proc-duplicate", -EBADMSG },
                { "proc-overflow", -ERANGE },
                { "proc-does-not-exist", -ENOENT },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char path[4096];
                MemInfo m = { .total = 4242 };

                snprintf(path, sizeof path, "%s/%s", FIXTURES, cases[i].dir);
                int r = meminfo_read(path, &m);
                ck_assert_msg(r == cases[i].error, "%s: got %d (%s), want %d (%s)", cases[i].dir, r,
                              strerror(-r), cases[i].error, strerror(-cases[i].error));
                ck_assert_uint_eq(m.total, 4242); /* untouched on failure */
        }
}
END_TEST

START_TEST(test_long_unknown_line) {
        MemInfo m;

        /* A future field longer than the line buffer is skipped whole: its
         * tail must not be read as a line of its own. */
        ck_assert_int_eq(meminfo_read(FIXTURES "/proc-long-line", &m), 0);
        ck_assert_uint_eq(m.total, 528273672ULL * 1024);
}
END_TEST

START_TEST(test_units_and_numbers) {
        MemInfo m;

        ck_assert_int_eq(parse_text("MemTotal: 1 kB\nMemFree: 0 kB\nMemAvailable:\t7 kB\n", &m), 0);
        ck_assert_uint_eq(m.total, 1024);
        ck_assert_uint_eq(m.free, 0);
        ck_assert_uint_eq(m.available, 7 * 1024);

        /* The largest value whose bytes fit 64 bits, and the next one. */
        ck_assert_int_eq(parse_text("MemTotal: 18014398509481983 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n", &m), 0);
        ck_assert_uint_eq(m.total, 18014398509481983ULL * 1024);
        ck_assert_int_eq(parse_text("MemTotal: 18014398509481984 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n", &m),
                         -ERANGE);
        ck_assert_int_eq(parse_text("MemTotal: 99999999999999999999999 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n", &m),
                         -ERANGE);

        static const char *const bad[] = {
                "MemTotal: kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 12 kb\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 12 KB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 12kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 12 kB trailing\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 0x10 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: +12 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 1.5 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
                "MemTotal: 12 GB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(parse_text(bad[i], &m) == -EBADMSG, "accepted: %s", bad[i]);

        /* Names are matched whole: "MemTotalX" is not MemTotal. */
        ck_assert_int_eq(parse_text("MemTotalX: 5 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n", &m), -ENODATA);
        /* Unknown lines are not read, whatever they hold. */
        ck_assert_int_eq(parse_text("HugePages_Total: 0\nFoo: bar\nnonsense\nMemTotal: 3 kB\nMemFree: 0 kB\n"
                                    "MemAvailable: 0 kB\n",
                                    &m),
                         0);
        ck_assert_uint_eq(m.total, 3 * 1024);
        ck_assert_int_eq(parse_text("", &m), -ENODATA);
}
END_TEST

static Suite *meminfo_suite(void) {
        Suite *s = suite_create("meminfo");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_good);
        tcase_add_test(tc, test_minimal);
        tcase_add_test(tc, test_bad_fixtures);
        tcase_add_test(tc, test_long_unknown_line);
        tcase_add_test(tc, test_units_and_numbers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(meminfo_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
