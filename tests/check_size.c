/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define T (UINT64_C(1) << 40)
#define P (UINT64_C(1) << 50)
#define E (UINT64_C(1) << 60)

static uint64_t bytes_of(const char *s) {
        SizeSpec spec;
        int r = size_parse(s, &spec);
        ck_assert_msg(r == 0, "size_parse(\"%s\") = %d", s, r);
        ck_assert_msg(spec.kind == SIZE_BYTES, "size_parse(\"%s\") kind %d", s, spec.kind);
        return spec.bytes;
}

static int parse_error(const char *s) {
        SizeSpec spec = { .kind = SIZE_BYTES, .bytes = 4242 };
        int r = size_parse(s, &spec);
        ck_assert_msg(r < 0, "size_parse(\"%s\") accepted it (kind %d, %llu)", s, spec.kind,
                      (unsigned long long) spec.bytes);
        return r;
}

START_TEST(test_suffixes) {
        ck_assert_uint_eq(bytes_of("0"), 0);
        ck_assert_uint_eq(bytes_of("4096"), 4096);
        ck_assert_uint_eq(bytes_of("4096B"), 4096);
        ck_assert_uint_eq(bytes_of("512K"), 512 * K);
        ck_assert_uint_eq(bytes_of("64M"), 64 * M);
        ck_assert_uint_eq(bytes_of("447G"), 447 * G);
        ck_assert_uint_eq(bytes_of("1T"), T);
        ck_assert_uint_eq(bytes_of("2P"), 2 * P);
        ck_assert_uint_eq(bytes_of("15E"), 15 * E);
        /* IEC forms mean the same */
        ck_assert_uint_eq(bytes_of("512KiB"), 512 * K);
        ck_assert_uint_eq(bytes_of("64MiB"), 64 * M);
        ck_assert_uint_eq(bytes_of("3GiB"), 3 * G);
        ck_assert_uint_eq(bytes_of("1TiB"), T);
        ck_assert_uint_eq(bytes_of("1PiB"), P);
        ck_assert_uint_eq(bytes_of("1EiB"), E);
        /* leading zeros are digits, not octal */
        ck_assert_uint_eq(bytes_of("010"), 10);
}
END_TEST

START_TEST(test_decimals) {
        ck_assert_uint_eq(bytes_of("1.5G"), G + G / 2);
        ck_assert_uint_eq(bytes_of("0.5K"), 512);
        ck_assert_uint_eq(bytes_of("1.05K"), 1075); /* 1075.2 rounded down */
        ck_assert_uint_eq(bytes_of("1.3K"), 1331);  /* 1331.2 */
        ck_assert_uint_eq(bytes_of("12.25M"), 12 * M + M / 4);
        ck_assert_uint_eq(bytes_of("2.000G"), 2 * G);
        ck_assert_uint_eq(bytes_of("15.5E"), 15 * E + E / 2);
        ck_assert_uint_eq(bytes_of("0.000000000000000001E"), 1); /* 18 digits: 1.15 bytes */
        ck_assert_uint_eq(bytes_of("1.5GiB"), G + G / 2);
        /* a fraction of a byte means nothing */
        ck_assert_int_eq(parse_error("1.5"), -EINVAL);
        ck_assert_int_eq(parse_error("1.5B"), -EINVAL);
        /* the point needs digits on both sides */
        ck_assert_int_eq(parse_error(".5G"), -EINVAL);
        ck_assert_int_eq(parse_error("5.G"), -EINVAL);
        ck_assert_int_eq(parse_error("5."), -EINVAL);
        ck_assert_int_eq(parse_error("1.2.3G"), -EINVAL);
        /* more than 18 digits after the point */
        ck_assert_int_eq(parse_error("1.0000000000000000000G"), -EINVAL);
        ck_assert_int_eq(parse_error("1.000000000000000000000000000G"), -EINVAL);
}
END_TEST

START_TEST(test_overflow) {
        ck_assert_uint_eq(bytes_of("18446744073709551615"), UINT64_MAX);
        ck_assert_int_eq(parse_error("18446744073709551616"), -ERANGE);
        ck_assert_int_eq(parse_error("99999999999999999999999"), -ERANGE);
        ck_assert_uint_eq(bytes_of("15E"), 15 * E);
        ck_assert_int_eq(parse_error("16E"), -ERANGE);
        ck_assert_int_eq(parse_error("16EiB"), -ERANGE);
        ck_assert_int_eq(parse_error("16384P"), -ERANGE);
        ck_assert_uint_eq(bytes_of("16383P"), 16383 * P);
        ck_assert_int_eq(parse_error("17179869184G"), -ERANGE);
        ck_assert_uint_eq(bytes_of("17179869183G"), 17179869183 * G);
        /* the fraction carries it over the top */
        ck_assert_uint_eq(bytes_of("15.999999E"), 15 * E + (uint64_t) ((unsigned __int128) 999999 * E / 1000000));
        ck_assert_int_eq(parse_error("18446744073709551615.5K"), -ERANGE);
        ck_assert_int_eq(parse_error("16.0E"), -ERANGE);
}
END_TEST

START_TEST(test_percent) {
        SizeSpec s;

        ck_assert_int_eq(size_parse("10%", &s), 0);
        ck_assert_int_eq(s.kind, SIZE_PERCENT);
        ck_assert_uint_eq(s.permyriad, 1000);
        ck_assert_int_eq(size_parse("12.5%", &s), 0);
        ck_assert_uint_eq(s.permyriad, 1250);
        ck_assert_int_eq(size_parse("12.25%", &s), 0);
        ck_assert_uint_eq(s.permyriad, 1225);
        ck_assert_int_eq(size_parse("0.01%", &s), 0);
        ck_assert_uint_eq(s.permyriad, 1);
        ck_assert_int_eq(size_parse("0%", &s), 0);
        ck_assert_uint_eq(s.permyriad, 0);
        ck_assert_int_eq(size_parse("100%", &s), 0);
        ck_assert_uint_eq(s.permyriad, 10000);
        ck_assert_int_eq(size_parse("100.00%", &s), 0);
        ck_assert_uint_eq(s.permyriad, 10000);

        ck_assert_int_eq(parse_error("100.01%"), -ERANGE);
        ck_assert_int_eq(parse_error("101%"), -ERANGE);
        ck_assert_int_eq(parse_error("1000%"), -ERANGE);
        ck_assert_int_eq(parse_error("99999999999999999999999%"), -ERANGE);
        ck_assert_int_eq(parse_error("12.345%"), -EINVAL); /* finer than a hundredth */
        ck_assert_int_eq(parse_error("-5%"), -EINVAL);
        ck_assert_int_eq(parse_error("%"), -EINVAL);
        ck_assert_int_eq(parse_error("10%%"), -EINVAL);
        ck_assert_int_eq(parse_error("10G%"), -EINVAL);
        ck_assert_int_eq(parse_error("10 %"), -EINVAL);

        /* resolved against a total, rounded down */
        s = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 1000 };
        ck_assert_uint_eq(size_resolve(&s, 512 * G), 54975581388);
        s.permyriad = 10000;
        ck_assert_uint_eq(size_resolve(&s, UINT64_MAX), UINT64_MAX);
        s.permyriad = 1250;
        ck_assert_uint_eq(size_resolve(&s, 512 * G), 64 * G);
}
END_TEST

START_TEST(test_infinity_and_resolve) {
        SizeSpec s;
        uint64_t b;

        ck_assert_int_eq(size_parse("infinity", &s), 0);
        ck_assert_int_eq(s.kind, SIZE_INFINITY);
        ck_assert_uint_eq(size_resolve(&s, 512 * G), UINT64_MAX);
        s = (SizeSpec) { .kind = SIZE_UNSET };
        ck_assert_uint_eq(size_resolve(&s, 512 * G), UINT64_MAX);
        s = (SizeSpec) { .kind = SIZE_BYTES, .bytes = 5 };
        ck_assert_uint_eq(size_resolve(&s, 512 * G), 5);

        ck_assert_int_eq(parse_error("Infinity"), -EINVAL);
        ck_assert_int_eq(parse_error("inf"), -EINVAL);
        ck_assert_int_eq(parse_error("infinityG"), -EINVAL);

        ck_assert_int_eq(size_parse_bytes("512G", &b), 0);
        ck_assert_uint_eq(b, 512 * G);
        ck_assert_int_eq(size_parse_bytes("10%", &b), -EINVAL);
        ck_assert_int_eq(size_parse_bytes("infinity", &b), -EINVAL);
        ck_assert_int_eq(size_parse_bytes("16E", &b), -ERANGE);
        ck_assert_int_eq(size_parse_bytes("", &b), -EINVAL);
}
END_TEST

START_TEST(test_garbage) {
        static const char *const bad[] = {
                "", " ", "G", "-1", "-1G", "+1G", " 1G", "1G ", "1 G", "1g", "1k", "1KB", "1MB", "1GB", "1Gi",
                "1GiBB", "1iB", "1X", "0x10", "1e3", "1,5G", "1_000", "abc", "1G1", "\t5", "5\n", "--1", "1-",
                "NaN", "∞", "1..5G",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_int_eq(parse_error(bad[i]), -EINVAL);
        SizeSpec s;
        ck_assert_int_eq(size_parse(NULL, &s), -EINVAL);
}
END_TEST

START_TEST(test_format) {
        char buf[SIZE_FMT_MAX];
        SizeSpec s;

        ck_assert_str_eq(size_format_exact(0, buf), "0");
        ck_assert_str_eq(size_format_exact(12345, buf), "12345");
        ck_assert_str_eq(size_format_exact(1536, buf), "1536");
        ck_assert_str_eq(size_format_exact(2048, buf), "2K");
        ck_assert_str_eq(size_format_exact(1536 * M, buf), "1536M");
        ck_assert_str_eq(size_format_exact(447 * G, buf), "447G");
        ck_assert_str_eq(size_format_exact(1024 * G, buf), "1T");
        ck_assert_str_eq(size_format_exact(15 * E, buf), "15E");
        ck_assert_str_eq(size_format_exact(UINT64_MAX, buf), "18446744073709551615");

        ck_assert_str_eq(size_format_human(512, buf), "512B");
        ck_assert_str_eq(size_format_human(0, buf), "0B");
        ck_assert_str_eq(size_format_human(447 * G, buf), "447.0G");
        ck_assert_str_eq(size_format_human(3 * M + M / 2, buf), "3.5M");
        ck_assert_str_eq(size_format_human(54975581388, buf), "51.2G");
        ck_assert_str_eq(size_format_human(1024 * K - 1, buf), "1.0M"); /* not 1024.0K */
        ck_assert_str_eq(size_format_human(UINT64_MAX, buf), "16.0E");

        s = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 1000 };
        ck_assert_str_eq(size_spec_format(&s, buf), "10%");
        s.permyriad = 1250;
        ck_assert_str_eq(size_spec_format(&s, buf), "12.5%");
        s.permyriad = 1225;
        ck_assert_str_eq(size_spec_format(&s, buf), "12.25%");
        s.permyriad = 5;
        ck_assert_str_eq(size_spec_format(&s, buf), "0.05%");
        s = (SizeSpec) { .kind = SIZE_INFINITY };
        ck_assert_str_eq(size_spec_format(&s, buf), "infinity");
        s = (SizeSpec) { .kind = SIZE_UNSET };
        ck_assert_str_eq(size_spec_format(&s, buf), "");
        s = (SizeSpec) { .kind = SIZE_BYTES, .bytes = 64 * G };
        ck_assert_str_eq(size_spec_format(&s, buf), "64G");
}
END_TEST

/* Whatever size_format_exact() and size_spec_format() write, size_parse()
 * reads back to the same value: random values, seeded. */
START_TEST(test_round_trip) {
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        char buf[SIZE_FMT_MAX];

        for (int i = 0; i < 20000; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* values with many trailing zero bits too, to hit every unit */
                uint64_t v = x >> (x % 64) << (x % 61);
                SizeSpec s;

                ck_assert_int_eq(size_parse(size_format_exact(v, buf), &s), 0);
                ck_assert_int_eq(s.kind, SIZE_BYTES);
                ck_assert_uint_eq(s.bytes, v);

                SizeSpec pct = { .kind = SIZE_PERCENT, .permyriad = (uint32_t) (x % 10001) };
                ck_assert_int_eq(size_parse(size_spec_format(&pct, buf), &s), 0);
                ck_assert_msg(size_spec_equal(&s, &pct), "%s", buf);
        }
}
END_TEST

START_TEST(test_spec_equal) {
        SizeSpec a = { .kind = SIZE_BYTES, .bytes = 1 }, b = { .kind = SIZE_BYTES, .bytes = 1 };
        ck_assert(size_spec_equal(&a, &b));
        b.bytes = 2;
        ck_assert(!size_spec_equal(&a, &b));
        b = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 1 };
        ck_assert(!size_spec_equal(&a, &b));
        a = (SizeSpec) { .kind = SIZE_INFINITY };
        b = (SizeSpec) { .kind = SIZE_INFINITY, .bytes = 7 };
        ck_assert(size_spec_equal(&a, &b));
}
END_TEST

int main(void) {
        Suite *s = suite_create("size");
        TCase *tc = tcase_create("size");

        tcase_add_test(tc, test_suffixes);
        tcase_add_test(tc, test_decimals);
        tcase_add_test(tc, test_overflow);
        tcase_add_test(tc, test_percent);
        tcase_add_test(tc, test_infinity_and_resolve);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_spec_equal);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
