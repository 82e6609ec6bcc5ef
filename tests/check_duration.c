/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "macro.h"

#define US UINT64_C(1)
#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static uint64_t usec_of(const char *s) {
        uint64_t v = 4242;
        int r = duration_parse(s, &v);
        ck_assert_msg(r == 0, "duration_parse(\"%s\") = %d", s, r);
        return v;
}

static int parse_error(const char *s) {
        uint64_t v = 4242;
        int r = duration_parse(s, &v);
        ck_assert_msg(r < 0, "duration_parse(\"%s\") accepted it: %llu us", s, (unsigned long long) v);
        ck_assert_uint_eq(v, 4242); /* untouched on error */
        return r;
}

START_TEST(test_units) {
        /* every unit name of systemd.time(7) that poold reads */
        ck_assert_uint_eq(usec_of("500us"), 500 * US);
        ck_assert_uint_eq(usec_of("500usec"), 500 * US);
        ck_assert_uint_eq(usec_of("500\xc2\xb5s"), 500 * US);
        ck_assert_uint_eq(usec_of("500\xce\xbcs"), 500 * US);
        ck_assert_uint_eq(usec_of("150ms"), 150 * MS);
        ck_assert_uint_eq(usec_of("150msec"), 150 * MS);
        ck_assert_uint_eq(usec_of("1s"), SEC);
        ck_assert_uint_eq(usec_of("1sec"), SEC);
        ck_assert_uint_eq(usec_of("1second"), SEC);
        ck_assert_uint_eq(usec_of("2seconds"), 2 * SEC);
        ck_assert_uint_eq(usec_of("2min"), 2 * MINUTE);
        ck_assert_uint_eq(usec_of("2m"), 2 * MINUTE);
        ck_assert_uint_eq(usec_of("1minute"), MINUTE);
        ck_assert_uint_eq(usec_of("3minutes"), 3 * MINUTE);
        ck_assert_uint_eq(usec_of("1h"), HOUR);
        ck_assert_uint_eq(usec_of("1hr"), HOUR);
        ck_assert_uint_eq(usec_of("1hour"), HOUR);
        ck_assert_uint_eq(usec_of("2hours"), 2 * HOUR);
        ck_assert_uint_eq(usec_of("1d"), DAY);
        ck_assert_uint_eq(usec_of("1day"), DAY);
        ck_assert_uint_eq(usec_of("2days"), 2 * DAY);
        ck_assert_uint_eq(usec_of("1w"), 7 * DAY);
        ck_assert_uint_eq(usec_of("1week"), 7 * DAY);
        ck_assert_uint_eq(usec_of("2weeks"), 14 * DAY);
}
END_TEST

START_TEST(test_forms) {
        /* a bare number is seconds, as systemd's parse_sec() reads it */
        ck_assert_uint_eq(usec_of("0"), 0);
        ck_assert_uint_eq(usec_of("2"), 2 * SEC);
        ck_assert_uint_eq(usec_of("1.5"), 1500 * MS);
        ck_assert_uint_eq(usec_of("0ms"), 0);
        /* fractions */
        ck_assert_uint_eq(usec_of("0.1s"), 100 * MS);
        ck_assert_uint_eq(usec_of("1.05s"), 1050 * MS);
        ck_assert_uint_eq(usec_of("1.5ms"), 1500 * US);
        ck_assert_uint_eq(usec_of("0.5h"), 30 * MINUTE);
        ck_assert_uint_eq(usec_of("0.000001s"), 1);
        ck_assert_uint_eq(usec_of("1.000000000000000000s"), SEC); /* 18 fraction digits */
        /* parts add up, together or apart; blanks around and between */
        ck_assert_uint_eq(usec_of("1min 30s"), 90 * SEC);
        ck_assert_uint_eq(usec_of("1min30s"), 90 * SEC);
        ck_assert_uint_eq(usec_of("1h 1min 1s 1ms 1us"), HOUR + MINUTE + SEC + MS + 1);
        ck_assert_uint_eq(usec_of("1 s"), SEC);
        ck_assert_uint_eq(usec_of("  2s  "), 2 * SEC);
        ck_assert_uint_eq(usec_of("1s\t500ms"), 1500 * MS);
        /* leading zeros are digits, not octal */
        ck_assert_uint_eq(usec_of("010s"), 10 * SEC);
        /* the largest value */
        ck_assert_uint_eq(usec_of("18446744073709551615us"), UINT64_MAX);
        ck_assert_uint_eq(usec_of("18446744073709.551615s"), UINT64_MAX);
}
END_TEST

START_TEST(test_errors) {
        static const char *const bad[] = {
                "", " ", "s", "ms", "-1s", "+1s", "infinity", "1.s", ".5s", "1..5s", "1x", "1 fortnight", "1S",
                "1MS", "1M", "1y", "1month", "5 3s", "1s 5", "1s,2s", "1e3ms", "1,5s", "1s;", "0.5us",
                "0.0000001s", "1.0000000000000000001s", /* 19 fraction digits */
                "1mss", "1 min s", "1sec1", "0x10s",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(parse_error(bad[i]), -EINVAL);
        ck_assert_int_eq(parse_error(NULL), -EINVAL);

        /* past UINT64_MAX microseconds */
        static const char *const big[] = {
                "18446744073709551616us", "18446744073709551616", "99999999999999999999999s",
                "18446744073710s",        "30600000w",              "18446744073709551615us 1us",
                "18446744073709.551616s",
        };
        for (size_t i = 0; i < ELEMENTSOF(big); i++)
                ck_assert_msg(parse_error(big[i]) == -ERANGE, "%s", big[i]);
}
END_TEST

START_TEST(test_format) {
        char buf[DURATION_FMT_MAX];

        ck_assert_str_eq(duration_format(0, buf), "0");
        ck_assert_str_eq(duration_format(1, buf), "1us");
        ck_assert_str_eq(duration_format(150 * MS, buf), "150ms");
        ck_assert_str_eq(duration_format(1500 * MS, buf), "1500ms");
        ck_assert_str_eq(duration_format(SEC, buf), "1s");
        ck_assert_str_eq(duration_format(90 * SEC, buf), "90s");
        ck_assert_str_eq(duration_format(30 * MINUTE, buf), "30min");
        ck_assert_str_eq(duration_format(2 * HOUR, buf), "2h");
        ck_assert_str_eq(duration_format(DAY, buf), "24h");
        ck_assert_str_eq(duration_format(UINT64_MAX, buf), "18446744073709551615us");
}
END_TEST

/* Whatever duration_format() writes reads back to the same value. */
START_TEST(test_round_trip) {
        static const uint64_t units[] = { 1, 7, MS, 3 * MS, SEC, 7 * SEC, MINUTE, HOUR, DAY, 7 * DAY };
        char buf[DURATION_FMT_MAX];
        uint64_t x = 0x9e3779b97f4a7c15;

        for (size_t u = 0; u < ELEMENTSOF(units); u++)
                for (uint64_t n = 0; n < 2000; n++) {
                        uint64_t v = n * units[u];
                        ck_assert_uint_eq(usec_of(duration_format(v, buf)), v);
                }
        for (int i = 0; i < 100000; i++) {
                /* xorshift64: values of every magnitude */
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                uint64_t v = x >> (x % 64);
                ck_assert_uint_eq(usec_of(duration_format(v, buf)), v);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("duration");
        TCase *tc = tcase_create("duration");

        tcase_add_test(tc, test_units);
        tcase_add_test(tc, test_forms);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_round_trip);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
