/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nodeset.h"

static void assert_parses_to(const char *s, const char *canonical, unsigned count) {
        NodeSet set;
        char buf[NODESET_FMT_MAX];

        ck_assert_msg(nodeset_parse(s, &set) == 0, "nodeset_parse(\"%s\") failed", s);
        ck_assert_str_eq(nodeset_format(&set, buf), canonical);
        ck_assert_uint_eq(nodeset_count(&set), count);
}

START_TEST(test_parse) {
        assert_parses_to("0", "0", 1);
        assert_parses_to("0-3", "0-3", 4);
        assert_parses_to("0-3,7", "0-3,7", 5);
        assert_parses_to("1,3-5", "1,3-5", 4);
        assert_parses_to("7,0-3", "0-3,7", 5);       /* any order */
        assert_parses_to("0,1,2,3", "0-3", 4);       /* runs are merged */
        assert_parses_to("0-2,1-3", "0-3", 4);       /* overlaps too */
        assert_parses_to("5-5", "5", 1);
        assert_parses_to("1023", "1023", 1);
        assert_parses_to("0-1023", "0-1023", 1024);
        assert_parses_to("63,64", "63-64", 2);       /* across a word */
        assert_parses_to("00,01", "0-1", 2);
}
END_TEST

START_TEST(test_parse_errors) {
        static const char *const inval[] = {
                "", ",", "0,", ",0", "0,,1", "-", "-1", "0-", "-3", "a", "0x1", "1 ,2", " 1", "1 ", "1-2-3", "+1",
                "all", "!0", "1;2", "1.5",
        };
        static const char *const range[] = { "1024", "0-1024", "3-1", "99999999999999999999999" };
        NodeSet set;

        for (size_t i = 0; i < sizeof inval / sizeof inval[0]; i++)
                ck_assert_msg(nodeset_parse(inval[i], &set) == -EINVAL, "\"%s\"", inval[i]);
        for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
                ck_assert_msg(nodeset_parse(range[i], &set) == -ERANGE, "\"%s\"", range[i]);
        ck_assert_int_eq(nodeset_parse(NULL, &set), -EINVAL);
}
END_TEST

START_TEST(test_ops) {
        NodeSet a, b;

        nodeset_clear(&a);
        ck_assert(nodeset_is_empty(&a));
        ck_assert_int_eq(nodeset_last(&a), -1);
        nodeset_add(&a, 3);
        nodeset_add(&a, 700);
        nodeset_add(&a, NODESET_MAX); /* ignored: out of range */
        ck_assert(!nodeset_is_empty(&a));
        ck_assert(nodeset_has(&a, 3));
        ck_assert(nodeset_has(&a, 700));
        ck_assert(!nodeset_has(&a, 4));
        ck_assert(!nodeset_has(&a, NODESET_MAX));
        ck_assert_uint_eq(nodeset_count(&a), 2);
        ck_assert_int_eq(nodeset_last(&a), 700);

        ck_assert_int_eq(nodeset_parse("0-1023", &b), 0);
        ck_assert(nodeset_is_subset(&a, &b));
        ck_assert(!nodeset_is_subset(&b, &a));
        ck_assert(!nodeset_equal(&a, &b));
        ck_assert_int_eq(nodeset_parse("700,3", &b), 0);
        ck_assert(nodeset_equal(&a, &b));
        ck_assert(nodeset_is_subset(&a, &b));
}
END_TEST

START_TEST(test_format_long) {
        NodeSet set;
        char buf[NODESET_FMT_MAX];
        char *full = NULL;

        /* every other node: 512 items, far longer than the fixed buffer */
        nodeset_clear(&set);
        for (unsigned n = 0; n < NODESET_MAX; n += 2)
                nodeset_add(&set, n);
        nodeset_format(&set, buf);
        ck_assert_uint_lt(strlen(buf), NODESET_FMT_MAX);
        ck_assert_msg(strlen(buf) >= 4 && strcmp(buf + strlen(buf) - 4, ",...") == 0, "%s", buf);
        ck_assert(strncmp(buf, "0,2,4,6,", 8) == 0);

        /* the full form is never cut and reads back to the same set */
        ck_assert_int_eq(nodeset_to_string(&set, &full), 0);
        ck_assert(strstr(full, "...") == NULL);
        NodeSet back;
        ck_assert_int_eq(nodeset_parse(full, &back), 0);
        ck_assert(nodeset_equal(&set, &back));
        free(full);

        nodeset_clear(&set);
        ck_assert_str_eq(nodeset_format(&set, buf), "");
        ck_assert_int_eq(nodeset_to_string(&set, &full), 0);
        ck_assert_str_eq(full, "");
        free(full);
}
END_TEST

/* Random sets, seeded: the canonical form reads back to the same set. */
START_TEST(test_round_trip) {
        uint64_t x = 12345;

        for (int i = 0; i < 2000; i++) {
                NodeSet set, back;
                char *s = NULL;

                nodeset_clear(&set);
                unsigned n = 1 + (unsigned) (i % 40);
                for (unsigned k = 0; k < n; k++) {
                        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                        nodeset_add(&set, (unsigned) (x >> 33) % (i % 2 ? 64 : NODESET_MAX));
                }
                ck_assert_int_eq(nodeset_to_string(&set, &s), 0);
                ck_assert_int_eq(nodeset_parse(s, &back), 0);
                ck_assert_msg(nodeset_equal(&set, &back), "%s", s);
                free(s);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("nodeset");
        TCase *tc = tcase_create("nodeset");

        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_ops);
        tcase_add_test(tc, test_format_long);
        tcase_add_test(tc, test_round_trip);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
