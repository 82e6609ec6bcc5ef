/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_tokener.h>

#include "checkcmd.h"
#include "report.h"

#define FIXTURES TEST_SRCDIR "/fixtures"
#define G (1024ULL * 1024 * 1024)

typedef struct Run {
        int status;
        char *out, *err;
        size_t out_size, err_size;
        json_object *json; /* parsed OUT when the run was --json */
} Run;

static Run run(CheckOptions o) {
        Run r = {};
        FILE *out = open_memstream(&r.out, &r.out_size);
        FILE *err = open_memstream(&r.err, &r.err_size);
        ck_assert_ptr_nonnull(out);
        ck_assert_ptr_nonnull(err);
        r.status = checkcmd_run(&o, out, err);
        fclose(out);
        fclose(err);
        if (o.json) {
                r.json = json_tokener_parse(r.out);
                ck_assert_msg(r.json, "not JSON: %s", r.out);
        }
        return r;
}

static void run_done(Run *r) {
        free(r->out);
        free(r->err);
        json_object_put(r->json);
}

static json_object *get(json_object *o, const char *path) {
        /* "budget.total" */
        char buf[128], *save = NULL;
        snprintf(buf, sizeof buf, "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                json_object *v;
                ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s in %s", k, path);
                o = v;
        }
        return o;
}

START_TEST(test_total_from_meminfo) {
        Run r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/host.conf", .json = true,
                                     .proc_root = FIXTURES "/proc-good" });

        ck_assert_int_eq(r.status, 0);
        ck_assert_uint_eq(r.err_size, 0);
        /* MemTotal of tests/fixtures/proc-good/meminfo, in bytes. */
        ck_assert_uint_eq(json_object_get_uint64(get(r.json, "budget.total")), 528273672ULL * 1024);
        ck_assert_str_eq(json_object_get_string(get(r.json, "budget.total_source")), "MemTotal");
        ck_assert_uint_eq(json_object_get_uint64(get(r.json, "budget.reserved")), 16 * G);
        ck_assert(json_object_get_boolean(get(r.json, "valid")));
        run_done(&r);

        /* The same in the table, after the normalized configuration. */
        r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/host.conf", .proc_root = FIXTURES "/proc-good" });
        ck_assert_int_eq(r.status, 0);
        ck_assert_ptr_nonnull(strstr(r.out, "[Reserve os]\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "Total:         528273672K = 540952240128 bytes (503.8G), from MemTotal\n"));
        ck_assert(strstr(r.out, "[Reserve os]") < strstr(r.out, "Configuration: "));
        run_done(&r);
}
END_TEST

START_TEST(test_meminfo_errors) {
        Run r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/host.conf",
                                     .proc_root = FIXTURES "/proc-no-memtotal" });

        ck_assert_int_eq(r.status, EXIT_INVALID);
        ck_assert_uint_eq(r.out_size, 0);
        ck_assert_ptr_nonnull(strstr(r.err, "/proc-no-memtotal/meminfo: cannot read MemTotal: "));
        run_done(&r);

        /* With --json the error is the document, and stderr stays quiet. */
        r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/host.conf", .json = true,
                                 .proc_root = FIXTURES "/proc-garbage" });
        ck_assert_int_eq(r.status, EXIT_INVALID);
        ck_assert_uint_eq(r.err_size, 0);
        ck_assert(!json_object_get_boolean(get(r.json, "valid")));
        json_object *e = get(r.json, "errors");
        ck_assert_uint_eq(json_object_array_length(e), 1);
        ck_assert_ptr_nonnull(strstr(json_object_get_string(json_object_array_get_idx(e, 0)), "proc-garbage/meminfo"));
        run_done(&r);
}
END_TEST

START_TEST(test_total_from_config) {
        /* Total= set: a proc root that does not exist is never read. */
        Run r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/planned.conf", .json = true,
                                     .proc_root = FIXTURES "/no-such-proc" });

        ck_assert_int_eq(r.status, 0);
        ck_assert_uint_eq(json_object_get_uint64(get(r.json, "budget.total")), 64 * G);
        ck_assert_str_eq(json_object_get_string(get(r.json, "budget.total_source")), "Total=");
        /* Not this host's figure: its nodes are not used either. */
        ck_assert_uint_eq(json_object_array_length(get(r.json, "budget.nodes")), 0);
        run_done(&r);
}
END_TEST

START_TEST(test_plan) {
        /* --total overrides Total=; --nodes gives equal nodes. */
        Run r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/planned.conf", .json = true, .plan = true,
                                     .plan_total = 3 * G + 1, .plan_nodes = 2,
                                     .proc_root = FIXTURES "/no-such-proc" });

        ck_assert_int_eq(r.status, 0);
        ck_assert_uint_eq(json_object_get_uint64(get(r.json, "budget.total")), 3 * G + 1);
        ck_assert_str_eq(json_object_get_string(get(r.json, "budget.total_source")), "--total");
        ck_assert_str_eq(json_object_get_string(get(r.json, "budget.nodes_source")), "--nodes");
        json_object *nodes = get(r.json, "budget.nodes");
        ck_assert_uint_eq(json_object_array_length(nodes), 2);
        /* The odd byte goes to node 0. */
        ck_assert_uint_eq(json_object_get_uint64(get(json_object_array_get_idx(nodes, 0), "total")), 3 * G / 2 + 1);
        ck_assert_uint_eq(json_object_get_uint64(get(json_object_array_get_idx(nodes, 1), "total")), 3 * G / 2);
        run_done(&r);
}
END_TEST

START_TEST(test_missing_config) {
        Run r = run((CheckOptions) { .config_path = FIXTURES "/checkcmd/does-not-exist.conf" });

        ck_assert_int_eq(r.status, EXIT_INVALID);
        ck_assert_uint_eq(r.out_size, 0);
        ck_assert_ptr_nonnull(strstr(r.err, "does-not-exist.conf"));
        run_done(&r);
}
END_TEST

static Suite *checkcmd_suite(void) {
        Suite *s = suite_create("checkcmd");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_total_from_meminfo);
        tcase_add_test(tc, test_meminfo_errors);
        tcase_add_test(tc, test_total_from_config);
        tcase_add_test(tc, test_plan);
        tcase_add_test(tc, test_missing_config);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(checkcmd_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
