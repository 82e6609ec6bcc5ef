/* SPDX-License-Identifier: MIT */
/* The event ring: sequence numbers, wrap-around keeps the newest, "after"
 * and "limit" select, and a record's JSON carries the action's figures. */
#include <check.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "macro.h"

static PolicyAction action(PolicyActionType t, size_t pool, const char *name, uint64_t bytes) {
        PolicyAction a = { .type = t, .time_usec = 1000 + bytes, .pool = pool, .reserve = SIZE_MAX,
                           .old_target = 2000, .new_target = 1000, .usage = POLICY_UNKNOWN, .bytes = bytes,
                           .deadline_usec = 1000 + bytes + 200000 };
        snprintf(a.name, sizeof a.name, "%s", name);
        snprintf(a.reason, sizeof a.reason, "because %llu", (unsigned long long) bytes);
        return a;
}

static uint64_t seq_at(json_object *arr, size_t i) {
        json_object *v;
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(arr, i), "seq", &v));
        return json_object_get_uint64(v);
}

START_TEST(test_ring) {
        _cleanup_(eventlog_freep) EventLog *l = NULL;
        json_object *arr;

        ck_assert_int_eq(eventlog_new(4, &l), 0);
        ck_assert_int_eq(eventlog_json(l, 0, 0, &arr), 0);
        ck_assert_uint_eq(json_object_array_length(arr), 0);
        json_object_put(arr);

        for (uint64_t i = 1; i <= 6; i++) {
                PolicyAction a = action(POLICY_ACTION_NOTIFY_SHRINK, 0, "data", i);
                const EventRecord *r = eventlog_add(l, &a, 0, POLICY_UNKNOWN);
                ck_assert_ptr_nonnull(r);
                ck_assert_uint_eq(r->seq, i);
        }
        ck_assert_uint_eq(eventlog_last_seq(l), 6);

        /* Capacity 4: seq 3..6 kept, oldest first. */
        ck_assert_int_eq(eventlog_json(l, 0, 0, &arr), 0);
        ck_assert_uint_eq(json_object_array_length(arr), 4);
        ck_assert_uint_eq(seq_at(arr, 0), 3);
        ck_assert_uint_eq(seq_at(arr, 3), 6);
        json_object_put(arr);

        ck_assert_int_eq(eventlog_json(l, 4, 0, &arr), 0);
        ck_assert_uint_eq(json_object_array_length(arr), 2);
        ck_assert_uint_eq(seq_at(arr, 0), 5);
        json_object_put(arr);

        /* limit: the newest ones. */
        ck_assert_int_eq(eventlog_json(l, 0, 3, &arr), 0);
        ck_assert_uint_eq(json_object_array_length(arr), 3);
        ck_assert_uint_eq(seq_at(arr, 0), 4);
        json_object_put(arr);

        ck_assert_int_eq(eventlog_json(l, 6, 0, &arr), 0);
        ck_assert_uint_eq(json_object_array_length(arr), 0);
        json_object_put(arr);
        ck_assert_int_eq(eventlog_json(l, 100, 0, &arr), 0);
        ck_assert_uint_eq(json_object_array_length(arr), 0);
        json_object_put(arr);
}
END_TEST

START_TEST(test_record_json) {
        _cleanup_(eventlog_freep) EventLog *l = NULL;
        ck_assert_int_eq(eventlog_new(0, &l), 0);
        PolicyAction a = action(POLICY_ACTION_SET_HIGH, 2, "kv", 1000);
        a.stage = POLICY_STAGE_SHRINKING_FORCED;
        a.usage = 1500;
        const EventRecord *r = eventlog_add(l, &a, 12345, 500);
        json_object *o = eventlog_record_json(r), *v;
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "action", &v));
        ck_assert_str_eq(json_object_get_string(v), "set_high");
        ck_assert(json_object_object_get_ex(o, "pool", &v));
        ck_assert_str_eq(json_object_get_string(v), "kv");
        ck_assert(json_object_object_get_ex(o, "stage", &v));
        ck_assert_str_eq(json_object_get_string(v), "shrinking-forced");
        ck_assert(json_object_object_get_ex(o, "duration_usec", &v));
        ck_assert_uint_eq(json_object_get_uint64(v), 12345);
        ck_assert(json_object_object_get_ex(o, "freed", &v));
        ck_assert_uint_eq(json_object_get_uint64(v), 500);
        ck_assert(json_object_object_get_ex(o, "usage", &v));
        ck_assert_uint_eq(json_object_get_uint64(v), 1500);
        /* Only a shrink notice has a deadline. */
        ck_assert(json_object_object_get_ex(o, "deadline_usec", &v));
        ck_assert_ptr_null(v);
        ck_assert(json_object_object_get_ex(o, "reason", &v));
        ck_assert_str_eq(json_object_get_string(v), "because 1000");
        ck_assert(json_object_object_get_ex(o, "wall_usec", &v));
        ck_assert_uint_gt(json_object_get_uint64(v), UINT64_C(1600000000) * 1000000);
        json_object_put(o);

        PolicyAction e = action(POLICY_ACTION_REPORT_EXHAUSTED, SIZE_MAX, "", POLICY_UNKNOWN);
        o = eventlog_record_json(eventlog_add(l, &e, 0, POLICY_UNKNOWN));
        ck_assert(json_object_object_get_ex(o, "action", &v));
        ck_assert_str_eq(json_object_get_string(v), "exhausted");
        ck_assert(json_object_object_get_ex(o, "pool", &v));
        ck_assert_ptr_null(v);
        ck_assert(json_object_object_get_ex(o, "bytes", &v));
        ck_assert_ptr_null(v);
        json_object_put(o);
}
END_TEST

int main(void) {
        Suite *s = suite_create("eventlog");
        TCase *tc = tcase_create("ring");
        tcase_add_test(tc, test_ring);
        tcase_add_test(tc, test_record_json);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
