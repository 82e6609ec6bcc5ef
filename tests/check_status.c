/* SPDX-License-Identifier: MIT */
/* poolctl status's human table, rendered from fixed status documents
 * (tests/conf/status-*.json) and compared with status-*.out byte for byte.
 * After a deliberate change of the output, regenerate with
 * `tests/check_status --update` from the build directory and review the diff. */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "status.h"

static bool update;

static char *slurp(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(m);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                fwrite(chunk, 1, n, m);
        fclose(m);
        return buf;
}

static char *render(json_object *o, int *ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(m);
        *ret = status_print(o, m);
        fclose(m);
        return buf;
}

static void golden(const char *name) {
        _cleanup_free_ char *jpath = NULL, *opath = NULL;
        ck_assert_int_ge(asprintf(&jpath, "%s/conf/%s.json", TEST_SRCDIR, name), 0);
        ck_assert_int_ge(asprintf(&opath, "%s/conf/%s.out", TEST_SRCDIR, name), 0);
        json_object *o = json_object_from_file(jpath);
        ck_assert_msg(o != NULL, "cannot parse %s", jpath);
        int r;
        _cleanup_free_ char *got = render(o, &r);
        json_object_put(o);
        ck_assert_int_eq(r, 0);
        if (update) {
                FILE *f = fopen(opath, "we");
                ck_assert_ptr_nonnull(f);
                fputs(got, f);
                fclose(f);
                return;
        }
        _cleanup_free_ char *want = slurp(opath);
        ck_assert_msg(want != NULL, "cannot read %s", opath);
        ck_assert_str_eq(got, want);
}

START_TEST(test_golden_cgroupfs) {
        golden("status-cgroupfs");
}
END_TEST

START_TEST(test_golden_warnings) {
        golden("status-warnings");
}
END_TEST

/* Pools with libpoold clients: a LIBPOOLD table of the "arena" objects
 * (charged, allocated, active, resident, peak, processes), none for a null
 * one, dashes for absent figures (scratch: a poold without allocated,
 * active and resident). */
START_TEST(test_golden_arena) {
        golden("status-arena");
}
END_TEST

/* The pressure block: state, figures, the pools the controller moved and
 * its last events (wall times shown in UTC here). */
START_TEST(test_golden_pressure) {
        setenv("TZ", "UTC", 1);
        tzset();
        golden("status-pressure");
}
END_TEST

/* HugePages=yes shows as +thp after the NUMA policy; false or absent (an
 * older poold) as nothing. */
START_TEST(test_hugepages_marker) {
        json_object *o = json_tokener_parse(
                "{\"host\": {}, \"pools\": [{\"name\": \"big\", \"numa\": \"bind:1\", \"hugepages\": true},"
                " {\"name\": \"small\", \"numa\": \"local\", \"hugepages\": false},"
                " {\"name\": \"old\", \"numa\": \"local\"}]}");
        ck_assert_ptr_nonnull(o);
        int r;
        _cleanup_free_ char *got = render(o, &r);
        json_object_put(o);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(strstr(got, " bind:1+thp "));
        const char *first = strstr(got, "+thp");
        ck_assert_ptr_nonnull(first);
        ck_assert_ptr_null(strstr(first + 1, "+thp")); /* only big's */
}
END_TEST

/* No "arena" anywhere (a poold without pages): no LIBPOOLD table. */
START_TEST(test_no_arena_no_table) {
        json_object *o = json_tokener_parse(
                "{\"host\": {}, \"pools\": [{\"name\": \"data\", \"arena\": null}, {\"name\": \"kv\"}]}");
        int r;
        _cleanup_free_ char *got = render(o, &r);
        json_object_put(o);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_null(strstr(got, "LIBPOOLD"));
}
END_TEST

/* A MemTotal that changed at runtime is shown with the total before. */
START_TEST(test_total_previous) {
        json_object *o = json_tokener_parse(
                "{\"host\": {\"total\": 12884901888, \"total_previous\": 8589934592}, \"pools\": []}");
        int r;
        _cleanup_free_ char *got = render(o, &r);
        json_object_put(o);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(strstr(got, "Host: total 12.0G"));
        ck_assert_ptr_nonnull(strstr(got, "re-partitioned from a total of 8.0G"));
}
END_TEST

START_TEST(test_missing_host) {
        json_object *o = json_tokener_parse("{\"pools\": []}");
        int r;
        _cleanup_free_ char *got = render(o, &r);
        ck_assert_int_eq(r, -EBADMSG);
        json_object_put(o);

        o = json_tokener_parse("{\"host\": {}, \"pools\": {}}");
        free(render(o, &r));
        ck_assert_int_eq(r, -EBADMSG);
        json_object_put(o);
}
END_TEST

/* Absent figures (null, wrong type) print as "-", never as 0. */
START_TEST(test_nulls_are_dashes) {
        json_object *o = json_tokener_parse(
                "{\"host\": {\"total\": null}, \"pools\": [{\"name\": \"data\", \"used\": null, \"min\": \"1G\","
                " \"events\": {\"max\": 3}}]}");
        int r;
        _cleanup_free_ char *got = render(o, &r);
        json_object_put(o);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(strstr(got, "Host: total - (-)"));
        ck_assert_ptr_nonnull(strstr(got, "-/3/-/-"));
        ck_assert_ptr_null(strstr(got, " 0B"));
}
END_TEST

static Suite *status_suite(void) {
        Suite *s = suite_create("status");
        TCase *tc = tcase_create("render");
        tcase_add_test(tc, test_golden_cgroupfs);
        tcase_add_test(tc, test_golden_warnings);
        tcase_add_test(tc, test_golden_arena);
        tcase_add_test(tc, test_golden_pressure);
        tcase_add_test(tc, test_no_arena_no_table);
        tcase_add_test(tc, test_hugepages_marker);
        tcase_add_test(tc, test_total_previous);
        tcase_add_test(tc, test_missing_host);
        tcase_add_test(tc, test_nulls_are_dashes);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char *argv[]) {
        update = argc > 1 && strcmp(argv[1], "--update") == 0;
        SRunner *sr = srunner_create(status_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
