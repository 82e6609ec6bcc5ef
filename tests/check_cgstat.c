/* SPDX-License-Identifier: MIT */
/* cgstat against fixture trees: v1 files recorded from this host's v1
 * memory hierarchy (kernel 6.18, a pool with a 40 MiB process and 3 MiB of
 * shmem), v2 files recorded in the VM guest (Debian 6.1.0-56: a cgroup that
 * held a 20 MB shell string and 3 MiB of shmem) and a v2 tree in the same
 * formats, and broken or partial trees. Fixture paths stay under 99
 * characters inside the tarball (automake's default v7 tar drops longer
 * ones), hence memory/ and poold.slice/ directly under the fixture roots. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgstat.h"

#define V1 TEST_SRCDIR "/fixtures/cgroup-v1/"
#define V1_POOLS V1 "memory/poold"
#define V2 TEST_SRCDIR "/fixtures/cgroup-v2/"
#define V2_POOLS V2 "poold.slice"

START_TEST(test_v1_pool) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V1_POOLS "/data", &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V1);
        ck_assert_uint_eq(s.current, 52842496);
        ck_assert(s.have & CGSTAT_HAVE_PEAK);
        ck_assert_uint_eq(s.peak, 55992320);
        ck_assert(s.have & CGSTAT_HAVE_STAT);
        ck_assert_uint_eq(s.anon, 48988160);
        ck_assert_uint_eq(s.file, 3338240);
        ck_assert_uint_eq(s.shmem, 3145728);
        /* v1 has no high or oom events and no PSI; max is failcnt. */
        ck_assert(!(s.have & CGSTAT_HAVE_EVENTS_HIGH));
        ck_assert(!(s.have & CGSTAT_HAVE_EVENTS_OOM));
        ck_assert(!(s.have & CGSTAT_HAVE_PRESSURE));
        ck_assert(s.have & CGSTAT_HAVE_EVENTS_MAX);
        ck_assert_uint_eq(s.events_max, 17);
        ck_assert(s.have & CGSTAT_HAVE_EVENTS_OOM_KILL);
        ck_assert_uint_eq(s.events_oom_kill, 2);
        /* No memory.min on v1; soft limit and limit. */
        ck_assert(!(s.have & CGSTAT_HAVE_MIN));
        ck_assert_uint_eq(s.min, UINT64_MAX);
        ck_assert(s.have & CGSTAT_HAVE_HIGH);
        ck_assert_uint_eq(s.high, 134217728);
        ck_assert(s.have & CGSTAT_HAVE_MAX);
        ck_assert_uint_eq(s.max, 268435456);
        ck_assert(s.have & CGSTAT_HAVE_PROCS);
        ck_assert_uint_eq(s.nr_procs, 2);
}
END_TEST

START_TEST(test_v1_parent) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V1_POOLS, &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V1);
        ck_assert_uint_eq(s.current, 53104640);
        /* total_* count the children: the parent's own rss is 0. */
        ck_assert_uint_eq(s.anon, 48988160);
        ck_assert_uint_eq(s.shmem, 3145728);
        ck_assert_uint_eq(s.max, 1073741824);
        /* PAGE_COUNTER_MAX pages (9223372036854771712) reads as no limit. */
        ck_assert_uint_eq(s.high, UINT64_MAX);
        /* Processes of data/ counted in the parent. */
        ck_assert_uint_eq(s.nr_procs, 2);
}
END_TEST

START_TEST(test_v1_empty_pool) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V1_POOLS "/kv", &s), 0);
        ck_assert_uint_eq(s.current, 0);
        ck_assert_uint_eq(s.max, UINT64_MAX);
        ck_assert_uint_eq(s.nr_procs, 0);
        ck_assert(s.have & CGSTAT_HAVE_PROCS);
}
END_TEST

START_TEST(test_v1_old_kernel) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V1 "broken/old-kernel", &s), 0);
        ck_assert_uint_eq(s.current, 8192);
        /* No max_usage_in_bytes, failcnt, oom_kill line or cgroup.procs. */
        ck_assert(!(s.have & CGSTAT_HAVE_PEAK));
        ck_assert(!(s.have & CGSTAT_HAVE_EVENTS_MAX));
        ck_assert(!(s.have & CGSTAT_HAVE_EVENTS_OOM_KILL));
        ck_assert(!(s.have & CGSTAT_HAVE_PROCS));
        ck_assert(s.have & CGSTAT_HAVE_STAT);
        ck_assert_uint_eq(s.anon, 4096);
        ck_assert_uint_eq(s.max, UINT64_MAX);
        ck_assert_uint_eq(s.high, UINT64_MAX);
        /* The caller tracks the peak. */
        ck_assert_uint_eq(cgstat_peak_update(0, &s), 8192);
        ck_assert_uint_eq(cgstat_peak_update(100000, &s), 100000);
}
END_TEST

START_TEST(test_v2_pool) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V2_POOLS "/poold-data.slice", &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V2);
        ck_assert_uint_eq(s.current, 109051904);
        ck_assert(s.have & CGSTAT_HAVE_PEAK);
        ck_assert_uint_eq(s.peak, 126877696);
        ck_assert_uint_eq(s.anon, 100663296);
        ck_assert_uint_eq(s.file, 6553600);
        ck_assert_uint_eq(s.shmem, 2097152);
        ck_assert_uint_eq(s.events_high, 12);
        ck_assert_uint_eq(s.events_max, 3);
        ck_assert_uint_eq(s.events_oom, 1);
        ck_assert_uint_eq(s.events_oom_kill, 1);
        unsigned all_events = CGSTAT_HAVE_EVENTS_HIGH | CGSTAT_HAVE_EVENTS_MAX | CGSTAT_HAVE_EVENTS_OOM |
                              CGSTAT_HAVE_EVENTS_OOM_KILL;
        ck_assert_uint_eq(s.have & all_events, all_events);
        ck_assert(s.have & CGSTAT_HAVE_PRESSURE);
        ck_assert_uint_eq(s.pressure.some.avg10, 125);
        ck_assert_uint_eq(s.pressure.some.avg60, 42);
        ck_assert_uint_eq(s.pressure.some.total_usec, 873412);
        ck_assert(s.pressure.has_full);
        ck_assert_uint_eq(s.pressure.full.avg10, 61);
        ck_assert_uint_eq(s.min, 67108864);
        ck_assert_uint_eq(s.high, 100663296);
        ck_assert_uint_eq(s.max, 134217728);
        /* The slice holds no process itself: 1 + 2 in its two scopes. */
        ck_assert_uint_eq(s.nr_procs, 3);
        ck_assert_uint_eq(cgstat_peak_update(0, &s), 126877696);
}
END_TEST

START_TEST(test_v2_recorded) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V2 "recorded-6.1", &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V2);
        ck_assert_uint_eq(s.current, 3411968);
        ck_assert_uint_eq(s.peak, 44900352);
        ck_assert_uint_eq(s.anon, 0);
        ck_assert_uint_eq(s.file, 3387392);
        ck_assert_uint_eq(s.shmem, 3145728);
        ck_assert_uint_eq(s.min, 0);
        ck_assert_uint_eq(s.high, 104857600);
        ck_assert_uint_eq(s.max, UINT64_MAX);
        ck_assert(s.have & CGSTAT_HAVE_EVENTS_OOM_KILL);
        ck_assert_uint_eq(s.events_high, 0);
        ck_assert(s.have & CGSTAT_HAVE_PRESSURE);
        ck_assert(s.pressure.has_full);
        ck_assert(s.have & CGSTAT_HAVE_PROCS);
        ck_assert_uint_eq(s.nr_procs, 0);
}
END_TEST

START_TEST(test_v2_parent_and_empty) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V2_POOLS, &s), 0);
        ck_assert_uint_eq(s.max, 1073741824);
        ck_assert_uint_eq(s.high, UINT64_MAX);
        ck_assert_uint_eq(s.min, 0);
        ck_assert_uint_eq(s.nr_procs, 3);
        ck_assert_uint_eq(s.pressure.full.total_usec, 512);

        ck_assert_int_eq(cgstat_read(V2_POOLS "/poold-kv.slice", &s), 0);
        ck_assert_uint_eq(s.current, 0);
        ck_assert_uint_eq(s.max, UINT64_MAX);
        ck_assert_uint_eq(s.nr_procs, 0);
}
END_TEST

START_TEST(test_v2_old_kernel) {
        CgStat s;

        /* 5.10-like: no memory.peak (5.19), no PSI, no oom_group_kill. */
        ck_assert_int_eq(cgstat_read(V2 "broken/old-kernel", &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V2);
        ck_assert(!(s.have & CGSTAT_HAVE_PEAK));
        ck_assert(!(s.have & CGSTAT_HAVE_PRESSURE));
        ck_assert(s.have & CGSTAT_HAVE_EVENTS_HIGH);
        ck_assert_uint_eq(s.events_high, 5);
        ck_assert_uint_eq(s.high, 16384);
        ck_assert_uint_eq(s.nr_procs, 1);
        ck_assert_uint_eq(cgstat_peak_update(4096, &s), 20480);
}
END_TEST

static const struct {
        const char *dir;
        int error;
} bad[] = {
        { V1 "broken/no-memory", -ENOENT },
        { V1 "broken/does-not-exist", -ENOENT },
        { V1 "broken/bad-usage", -EBADMSG },
        { V1 "broken/bad-stat", -EBADMSG },
        { V1 "broken/bad-oom", -EBADMSG },
        { V1 "broken/stat-missing-keys", -EBADMSG },
        { V2 "broken/bad-max", -EBADMSG },
        { V2 "broken/bad-events", -EBADMSG },
        { V2 "broken/bad-pressure", -EBADMSG },
        { V2 "broken/no-anon", -EBADMSG },
        { V2 "broken/current-max", -EBADMSG },
        { V2 "broken/current-trailing", -EBADMSG },
        { V2 "broken/bad-procs", -EBADMSG },
        { V2 "poold.slice/memory.current", -ENOTDIR },
};

START_TEST(test_bad) {
        CgStat s = { .current = 4242 };

        int r = cgstat_read(bad[_i].dir, &s);
        ck_assert_msg(r == bad[_i].error, "%s: got %d, want %d", bad[_i].dir, r, bad[_i].error);
        ck_assert_uint_eq(s.current, 4242); /* untouched on failure */
}
END_TEST

START_TEST(test_read_current) {
        uint64_t v = 0;

        ck_assert_int_eq(cgstat_read_current(V1_POOLS "/data", &v), 0);
        ck_assert_uint_eq(v, 52842496);
        ck_assert_int_eq(cgstat_read_current(V2_POOLS "/poold-data.slice", &v), 0);
        ck_assert_uint_eq(v, 109051904);
        ck_assert_int_eq(cgstat_read_current(V2 "broken/current-max", &v), -EBADMSG);
        ck_assert_int_eq(cgstat_read_current(V1 "broken/no-memory", &v), -ENOENT);
        ck_assert_int_eq(cgstat_read_current(V1 "broken/bad-usage", &v), -EBADMSG);
}
END_TEST

/* A cgroup with 20000 processes (a 118 KiB cgroup.procs) and one child
 * whose last line lacks its newline. */
START_TEST(test_many_procs) {
        char dir[] = "/tmp/check-cgstat-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        char path[320], sub[128];

        snprintf(path, sizeof path, "%s/memory.current", dir);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("8192\n", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < 20000; i++)
                fprintf(f, "%d\n", 100000 + i);
        fclose(f);
        snprintf(sub, sizeof sub, "%s/child", dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        snprintf(path, sizeof path, "%s/cgroup.procs", sub);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("7\n8", f);
        fclose(f);

        CgStat s;
        int r = cgstat_read(dir, &s);
        unlink(path);
        rmdir(sub);
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/memory.current", dir);
        unlink(path);
        rmdir(dir);
        ck_assert_int_eq(r, 0);
        ck_assert(s.have & CGSTAT_HAVE_PROCS);
        ck_assert_uint_eq(s.nr_procs, 20002);
}
END_TEST

/* The tick's read: usage and event counters only, nothing else had. */
START_TEST(test_mask_tick_v1) {
        CgStat s = CGSTAT_INIT;

        ck_assert_int_eq(cgstat_read_mask(V1_POOLS "/data", CGSTAT_READ_TICK, &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V1);
        ck_assert_uint_eq(s.current, 52842496);
        ck_assert_uint_eq(s.have, CGSTAT_HAVE_EVENTS_MAX | CGSTAT_HAVE_EVENTS_OOM_KILL);
        ck_assert_uint_eq(s.events_max, 17);
        ck_assert_uint_eq(s.events_oom_kill, 2);
        ck_assert_uint_eq(s.peak, 0);
        ck_assert_uint_eq(s.anon, 0);
        ck_assert_uint_eq(s.max, UINT64_MAX);
        ck_assert_uint_eq(s.nr_procs, 0);
}
END_TEST

START_TEST(test_mask_tick_v2) {
        CgStat s = CGSTAT_INIT;
        unsigned all_events = CGSTAT_HAVE_EVENTS_HIGH | CGSTAT_HAVE_EVENTS_MAX | CGSTAT_HAVE_EVENTS_OOM |
                              CGSTAT_HAVE_EVENTS_OOM_KILL;

        ck_assert_int_eq(cgstat_read_mask(V2_POOLS "/poold-data.slice", CGSTAT_READ_TICK, &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V2);
        ck_assert_uint_eq(s.current, 109051904);
        ck_assert_uint_eq(s.have, all_events);
        ck_assert_uint_eq(s.events_high, 12);
        ck_assert_uint_eq(s.events_max, 3);
        ck_assert_uint_eq(s.events_oom, 1);
        ck_assert_uint_eq(s.events_oom_kill, 1);
        ck_assert_uint_eq(s.pressure.some.avg10, 0);
}
END_TEST

/* A broken memory.stat does not fail a read that does not ask for it. */
START_TEST(test_mask_skips_unasked) {
        CgStat s = CGSTAT_INIT;

        ck_assert_int_eq(cgstat_read_mask(V1 "broken/bad-stat", CGSTAT_READ_TICK, &s), 0);
        ck_assert_int_eq(cgstat_read_mask(V1 "broken/bad-stat", CGSTAT_READ_STAT, &s), -EBADMSG);
        ck_assert_int_eq(cgstat_read_mask(V2 "broken/bad-pressure", CGSTAT_READ_ALL & ~CGSTAT_READ_PRESSURE, &s), 0);
        ck_assert_int_eq(cgstat_read_mask(V2 "broken/bad-pressure", CGSTAT_READ_PRESSURE, &s), -EBADMSG);
}
END_TEST

/* Parts not asked for keep what the struct held; parts asked for are
 * replaced, and lose their bit where the file is missing. */
START_TEST(test_mask_refreshes_in_place) {
        CgStat s;

        ck_assert_int_eq(cgstat_read(V2_POOLS "/poold-data.slice", &s), 0);
        ck_assert(s.have & CGSTAT_HAVE_PRESSURE);
        s.anon = 4242;
        s.events_high = 4242;
        s.nr_procs = 4242;
        ck_assert_int_eq(cgstat_read_mask(V2_POOLS "/poold-data.slice", CGSTAT_READ_TICK, &s), 0);
        ck_assert_uint_eq(s.events_high, 12);
        ck_assert_uint_eq(s.anon, 4242);
        ck_assert_uint_eq(s.nr_procs, 4242);
        ck_assert(s.have & CGSTAT_HAVE_STAT);
        ck_assert(s.have & CGSTAT_HAVE_PROCS);

        /* 5.10-like: no memory.pressure, no memory.peak. */
        ck_assert_int_eq(cgstat_read_mask(V2 "broken/old-kernel", CGSTAT_READ_PRESSURE | CGSTAT_READ_PEAK, &s), 0);
        ck_assert(!(s.have & CGSTAT_HAVE_PRESSURE));
        ck_assert(!(s.have & CGSTAT_HAVE_PEAK));
        ck_assert_uint_eq(s.pressure.some.avg10, 0);
        ck_assert_uint_eq(s.peak, 0);
        ck_assert(s.have & CGSTAT_HAVE_STAT);

        /* A failed read leaves everything as it was. */
        CgStat before = s;
        ck_assert_int_eq(cgstat_read_mask(V2 "broken/bad-events", CGSTAT_READ_TICK, &s), -EBADMSG);
        ck_assert_mem_eq(&s, &before, sizeof s);
}
END_TEST

/* The version a struct holds is only tried first: a v1 directory read with
 * a v2 struct (and the reverse) still reads right. */
START_TEST(test_mask_version_hint) {
        CgStat s = CGSTAT_INIT;

        s.version = CGROUP_VERSION_V2;
        ck_assert_int_eq(cgstat_read_mask(V1_POOLS "/data", CGSTAT_READ_TICK, &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V1);
        ck_assert_uint_eq(s.current, 52842496);
        ck_assert_int_eq(cgstat_read_mask(V2_POOLS "/poold-data.slice", CGSTAT_READ_TICK, &s), 0);
        ck_assert_int_eq(s.version, CGROUP_VERSION_V2);
        ck_assert_uint_eq(s.current, 109051904);
        ck_assert_uint_eq(s.events_high, 12);
}
END_TEST

/* A memory.stat of SIZE bytes: anon and file, then one long key. */
static void write_stat(const char *dir, size_t size) {
        char path[320];
        snprintf(path, sizeof path, "%s/memory.stat", dir);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        const char *head = "anon 1\nfile 2\n";
        ck_assert_uint_ge(size, strlen(head) + 4);
        fputs(head, f);
        for (size_t i = 0; i < size - strlen(head) - 3; i++)
                fputc('k', f);
        fputs(" 0\n", f);
        ck_assert_int_eq(ftell(f), (long) size);
        fclose(f);
}

/* Files are read into a fixed buffer: one that fills it (8191 bytes and the
 * NUL) is read whole, one byte more is refused, never cut. */
START_TEST(test_buffer_edge) {
        char dir[] = "/tmp/check-cgstat-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        char path[320];
        snprintf(path, sizeof path, "%s/memory.current", dir);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("8192\n", f);
        fclose(f);

        CgStat s = CGSTAT_INIT;
        write_stat(dir, 8191);
        int r1 = cgstat_read_mask(dir, CGSTAT_READ_STAT, &s);
        uint64_t anon = s.anon;
        write_stat(dir, 8192);
        int r2 = cgstat_read_mask(dir, CGSTAT_READ_STAT, &s);
        int r3 = cgstat_read_mask(dir, CGSTAT_READ_TICK, &s);

        unlink(path);
        snprintf(path, sizeof path, "%s/memory.stat", dir);
        unlink(path);
        rmdir(dir);
        ck_assert_int_eq(r1, 0);
        ck_assert_uint_eq(anon, 1);
        ck_assert_int_eq(r2, -EFBIG);
        ck_assert_int_eq(r3, 0);
}
END_TEST

static Suite *cgstat_suite(void) {
        Suite *s = suite_create("cgstat");
        TCase *tc = tcase_create("v1");
        tcase_add_test(tc, test_v1_pool);
        tcase_add_test(tc, test_v1_parent);
        tcase_add_test(tc, test_v1_empty_pool);
        tcase_add_test(tc, test_v1_old_kernel);
        suite_add_tcase(s, tc);

        tc = tcase_create("v2");
        tcase_add_test(tc, test_v2_pool);
        tcase_add_test(tc, test_v2_recorded);
        tcase_add_test(tc, test_v2_parent_and_empty);
        tcase_add_test(tc, test_v2_old_kernel);
        suite_add_tcase(s, tc);

        tc = tcase_create("errors");
        tcase_add_loop_test(tc, test_bad, 0, (int) (sizeof bad / sizeof bad[0]));
        tcase_add_test(tc, test_read_current);
        tcase_add_test(tc, test_many_procs);
        tcase_add_test(tc, test_buffer_edge);
        suite_add_tcase(s, tc);

        tc = tcase_create("mask");
        tcase_add_test(tc, test_mask_tick_v1);
        tcase_add_test(tc, test_mask_tick_v2);
        tcase_add_test(tc, test_mask_skips_unasked);
        tcase_add_test(tc, test_mask_refreshes_in_place);
        tcase_add_test(tc, test_mask_version_hint);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(cgstat_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
