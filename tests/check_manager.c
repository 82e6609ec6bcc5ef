/* SPDX-License-Identifier: MIT */
/* The manager: start refused on a missing or impossible configuration; on a
 * real cgroup v1 memory hierarchy (this host; root only) a start in process
 * under a test-only CgroupRoot, READY=1 and STATUS= on a NOTIFY_SOCKET,
 * the status document, `set` checked against the budget, and a bad reload
 * that keeps the running configuration. Without root or a v1 hierarchy the
 * cgroup tests say so and do nothing (tests/vm covers v2). */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "manager.h"

static char tmpdir[] = "/tmp/check-manager.XXXXXX";
static char cgroot[256];

static char *write_conf(const char *name, const char *text) {
        char *path;
        ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
        return path;
}

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        (void) system(cmd);
        strcpy(tmpdir, "/tmp/check-manager.XXXXXX");
}

START_TEST(test_missing_config) {
        _cleanup_free_ char *path = NULL;
        ck_assert_int_ge(asprintf(&path, "%s/none.conf", tmpdir), 0);
        ManagerOptions o = { .config_path = path, .no_signals = true };
        _cleanup_(manager_freep) Manager *m = NULL;
        ck_assert_int_eq(manager_new(&o, &m), 0);
        ck_assert_int_eq(manager_start(m), -ENOENT);
}
END_TEST

START_TEST(test_impossible_budget) {
        _cleanup_free_ char *path = write_conf("bad.conf",
                                               "[Host]\nTotal=1G\nCgroupDriver=cgroupfs\n"
                                               "[Reserve os]\nSize=800M\n[Pool data]\nMin=512M\n");
        ManagerOptions o = { .config_path = path, .no_signals = true };
        _cleanup_(manager_freep) Manager *m = NULL;
        ck_assert_int_eq(manager_new(&o, &m), 0);
        ck_assert_int_eq(manager_start(m), -EINVAL);
}
END_TEST

static bool have_v1(void) {
        if (geteuid() != 0 || access("/sys/fs/cgroup/memory/memory.usage_in_bytes", F_OK) < 0) {
                fprintf(stderr, "SKIPPED: the cgroup part needs root and cgroup v1 memory at /sys/fs/cgroup/memory\n");
                return false;
        }
        return true;
}

static void rm_cgroups(void) {
        char p[512];
        const char *pools[] = { "data", "kv" };
        for (size_t i = 0; i < ELEMENTSOF(pools); i++) {
                snprintf(p, sizeof p, "%s/poold/%s", cgroot, pools[i]);
                (void) rmdir(p);
        }
        snprintf(p, sizeof p, "%s/poold", cgroot);
        (void) rmdir(p);
        (void) rmdir(cgroot);
}

static uint64_t read_u64(const char *pool, const char *file) {
        char p[512], buf[64] = "";
        snprintf(p, sizeof p, "%s/poold/%s/%s", cgroot, pool, file);
        FILE *f = fopen(p, "re");
        ck_assert_msg(f != NULL, "%s", p);
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        fclose(f);
        return strtoull(buf, NULL, 10);
}

static json_object *find_pool(json_object *status, const char *name) {
        json_object *pools = json_object_object_get(status, "pools");
        for (size_t i = 0; i < json_object_array_length(pools); i++) {
                json_object *p = json_object_array_get_idx(pools, i);
                if (strcmp(json_object_get_string(json_object_object_get(p, "name")), name) == 0)
                        return p;
        }
        return NULL;
}

#define CONF_HEAD                                                                                        \
        "[Host]\nTotal=4G\nSlack=10%%\nCgroupDriver=cgroupfs\nCgroupRoot=%s\n[Reserve os]\nSize=1G\n" \
        "[Pool data]\nMin=512M\nMax=2G\nWeight=400\n"

START_TEST(test_cgroupfs_v1) {
        if (!have_v1())
                return;
        ck_assert_int_eq(mkdir(cgroot, 0755), 0);

        _cleanup_free_ char *text = NULL, *sock = NULL, *notify = NULL;
        ck_assert_int_ge(asprintf(&text, CONF_HEAD "[Pool kv]\nMax=1G\n", cgroot), 0);
        _cleanup_free_ char *path = write_conf("poold.conf", text);
        ck_assert_int_ge(asprintf(&sock, "%s/control.sock", tmpdir), 0);

        /* systemd's side of sd_notify: a datagram socket. */
        ck_assert_int_ge(asprintf(&notify, "%s/notify", tmpdir), 0);
        _cleanup_close_ int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, notify, sizeof sa.sun_path - 1);
        ck_assert_int_eq(bind(nfd, (struct sockaddr *) &sa, sizeof sa), 0);
        setenv("NOTIFY_SOCKET", notify, 1);

        ManagerOptions o = { .config_path = path, .socket_path = sock, .no_signals = true };
        _cleanup_(manager_freep) Manager *m = NULL;
        ck_assert_int_eq(manager_new(&o, &m), 0);
        int r = manager_start(m);
        unsetenv("NOTIFY_SOCKET");
        ck_assert_int_eq(r, 0);

        char msgs[4096] = "";
        size_t len = 0;
        ssize_t n;
        while ((n = recv(nfd, msgs + len, sizeof msgs - 1 - len, 0)) > 0)
                len += (size_t) n;
        msgs[len] = 0;
        ck_assert_ptr_nonnull(strstr(msgs, "READY=1"));
        ck_assert_ptr_nonnull(strstr(msgs, "STATUS=2 pools, 2.6G poolable, driver cgroupfs"));
        ck_assert_int_eq(access(sock, F_OK), 0);

        /* The budget's limits: data target = Max = 2G; kv Max 1G. */
        ck_assert_uint_eq(read_u64("data", "memory.limit_in_bytes"), 2147483648ULL);
        ck_assert_uint_eq(read_u64("data", "memory.soft_limit_in_bytes"), 2147483648ULL);
        ck_assert_uint_eq(read_u64("kv", "memory.limit_in_bytes"), 1073741824ULL);

        json_object *st = NULL;
        ck_assert_int_eq(manager_status_json(m, &st), 0);
        json_object *host = json_object_object_get(st, "host");
        ck_assert_uint_eq(json_object_get_uint64(json_object_object_get(host, "poolable")), 2791728743ULL);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(host, "driver")), "cgroupfs");
        ck_assert_ptr_nonnull(find_pool(st, "kv"));
        ck_assert_uint_eq(json_object_get_uint64(json_object_object_get(find_pool(st, "data"), "members")), 0);
        json_object_put(st);

        /* set: checked like a config, applied, refused without a change. */
        Diag d = {};
        ck_assert_int_eq(manager_set(m, "data", "max", 1073741824ULL, &d), 0);
        ck_assert_uint_eq(read_u64("data", "memory.limit_in_bytes"), 1073741824ULL);
        ck_assert_int_eq(manager_set(m, "data", "min", 3ULL << 30, &d), -EINVAL);
        ck_assert_uint_ge(d.n, 1);
        diag_done(&d);
        ck_assert_uint_eq(read_u64("data", "memory.limit_in_bytes"), 1073741824ULL);
        ck_assert_int_eq(manager_set(m, "data", "target", 4ULL << 30, &d), -EINVAL);
        diag_done(&d);
        ck_assert_int_eq(manager_set(m, "nosuch", "max", 1ULL << 30, &d), -ENOENT);
        diag_done(&d);
        ck_assert_int_eq(manager_set(m, "data", "weight", 1ULL << 30, &d), -EINVAL);
        diag_done(&d);

        /* A bad reload keeps everything, and says why. */
        free(write_conf("poold.conf", "[Pool broken]\nMin=10Q\n"));
        ck_assert_int_eq(manager_reload(m, &d), -EINVAL);
        ck_assert_uint_ge(d.n, 1);
        diag_done(&d);
        ck_assert_int_eq(manager_status_json(m, &st), 0);
        host = json_object_object_get(st, "host");
        ck_assert_ptr_nonnull(strstr(json_object_get_string(json_object_object_get(host, "last_reload_error")), "10Q"));
        ck_assert_ptr_nonnull(find_pool(st, "data"));
        ck_assert_ptr_null(find_pool(st, "broken"));
        json_object_put(st);
        ck_assert_uint_eq(read_u64("data", "memory.limit_in_bytes"), 1073741824ULL);

        /* A good reload without kv: data back to its config, kv orphaned. */
        free(text);
        ck_assert_int_ge(asprintf(&text, CONF_HEAD, cgroot), 0);
        free(write_conf("poold.conf", text));
        ck_assert_int_eq(manager_reload(m, &d), 0);
        ck_assert_uint_eq(read_u64("data", "memory.limit_in_bytes"), 2147483648ULL);
        ck_assert_uint_eq(read_u64("kv", "memory.limit_in_bytes"), 1073741824ULL);
        ck_assert_int_eq(manager_status_json(m, &st), 0);
        json_object *orphans = json_object_object_get(st, "orphans");
        ck_assert_uint_eq(json_object_array_length(orphans), 1);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(orphans, 0), "name")),
                         "kv");
        ck_assert(json_object_is_type(json_object_object_get(json_object_object_get(st, "host"), "last_reload_error"),
                                      json_type_null));
        json_object_put(st);

        m = manager_free(m);
        /* Stopping leaves the limits. */
        ck_assert_uint_eq(read_u64("data", "memory.limit_in_bytes"), 2147483648ULL);
        rm_cgroups();
}
END_TEST

static void write_meminfo(const char *dir, uint64_t total_kb) {
        char p[512];
        snprintf(p, sizeof p, "%s/meminfo", dir);
        FILE *f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        /* Nearly all of it available: no pressure, only the total moves. */
        fprintf(f, "MemTotal: %llu kB\nMemFree: %llu kB\nMemAvailable: %llu kB\n", (unsigned long long) total_kb,
                (unsigned long long) total_kb * 9 / 10, (unsigned long long) total_kb * 9 / 10);
        fclose(f);
}

static uint64_t host_u64(Manager *m, const char *key) {
        json_object *st = NULL;
        ck_assert_int_eq(manager_status_json(m, &st), 0);
        json_object *v = json_object_object_get(json_object_object_get(st, "host"), key);
        uint64_t r = v ? json_object_get_uint64(v) : 0;
        json_object_put(st);
        return r;
}

/* MemTotal changing under a running poold (memory hotplug, a balloon): the
 * same configuration re-partitioned on the new total, the old total shown;
 * a total the configuration no longer fits keeps the budget in force. */
START_TEST(test_memtotal_change) {
        if (!have_v1())
                return;
        ck_assert_int_eq(mkdir(cgroot, 0755), 0);
        _cleanup_free_ char *text = NULL, *sock = NULL, *proc = NULL;
        ck_assert_int_ge(asprintf(&text,
                                  "[Host]\nSlack=10%%\nCgroupDriver=cgroupfs\nCgroupRoot=%s\n"
                                  "[Reserve os]\nSize=1G\n[Pool data]\nMin=512M\n",
                                  cgroot),
                         0);
        _cleanup_free_ char *path = write_conf("poold.conf", text);
        ck_assert_int_ge(asprintf(&sock, "%s/control.sock", tmpdir), 0);
        ck_assert_int_ge(asprintf(&proc, "%s/proc", tmpdir), 0);
        ck_assert_int_eq(mkdir(proc, 0755), 0);
        write_meminfo(proc, 8ULL << 20); /* 8 GiB */

        ManagerOptions o = { .config_path = path, .socket_path = sock, .proc_root = proc, .no_signals = true };
        _cleanup_(manager_freep) Manager *m = NULL;
        ck_assert_int_eq(manager_new(&o, &m), 0);
        ck_assert_int_eq(manager_start(m), 0);
        ck_assert_uint_eq(host_u64(m, "total"), 8ULL << 30);
        ck_assert_uint_eq(host_u64(m, "total_previous"), 0);
        uint64_t poolable8 = host_u64(m, "poolable");
        /* 8G - 1G - 10% of 8G */
        ck_assert_uint_eq(poolable8, (8ULL << 30) - (1ULL << 30) - (8ULL << 30) / 10);

        write_meminfo(proc, 12ULL << 20);
        for (int i = 0; i < 300 && host_u64(m, "total") != 12ULL << 30; i++)
                ck_assert_int_ge(sd_event_run(manager_get_event(m), 10000), 0);
        ck_assert_uint_eq(host_u64(m, "total"), 12ULL << 30);
        ck_assert_uint_eq(host_u64(m, "total_previous"), 8ULL << 30);
        uint64_t poolable12 = host_u64(m, "poolable");
        ck_assert_uint_eq(poolable12, (12ULL << 30) - (1ULL << 30) - (12ULL << 30) / 10);
        /* The parent's cap follows: memory.limit_in_bytes of <root>/poold. */
        char p[512], buf[64] = "";
        snprintf(p, sizeof p, "%s/poold/memory.limit_in_bytes", cgroot);
        FILE *f = fopen(p, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        fclose(f);
        /* The kernel keeps whole pages. */
        ck_assert_uint_eq(strtoull(buf, NULL, 10), poolable12 & ~4095ULL);

        /* 1 GiB: the reserve alone takes it all; the 12 GiB budget stays. */
        write_meminfo(proc, 1ULL << 20);
        for (int i = 0; i < 150; i++)
                ck_assert_int_ge(sd_event_run(manager_get_event(m), 10000), 0);
        ck_assert_uint_eq(host_u64(m, "total"), 12ULL << 30);
        ck_assert_uint_eq(host_u64(m, "poolable"), poolable12);
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc = tcase_create("start");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_missing_config);
        tcase_add_test(tc, test_impossible_budget);
        tcase_add_test(tc, test_cgroupfs_v1);
        tcase_add_test(tc, test_memtotal_change);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        /* Named here, so main() knows it even when the test ran in a fork. */
        snprintf(cgroot, sizeof cgroot, "/sys/fs/cgroup/memory/check-manager-%d", (int) getpid());
        SRunner *sr = srunner_create(manager_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        /* A failed cgroup test may leave its directories: remove them. */
        rm_cgroups();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
