/* SPDX-License-Identifier: MIT */
/* The cgroup drivers' pure parts (names, paths, ECG* translation, the
 * cgroupfs write plan, AllowedMemoryNodes bytes), hierarchy detection
 * against fixture mountinfo files, and the systemd driver against a fake
 * manager: a thread that serves the org.freedesktop.systemd1 calls the
 * driver makes on a private socket, as systemd's /run/systemd/private does.
 * The fake checks signatures and property types the way systemd 252 does
 * (unknown properties are errors) but it is not systemd: the VM scenario
 * tests/vm/scenarios/cgroup-systemd.sh runs the same driver against the
 * real one. The cgroupfs driver cannot be pointed at a fake tree (libcgroup
 * takes its mount points from /proc/self/mounts at cgroup_init()), so its
 * writes are proved by tests/host/cgroupfs-v1.sh and the VM scenario
 * cgroup-cgroupfs-v2.sh; here only its refusals of bad roots. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <libcgroup.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "cgroup-detect.h"
#include "cgroup-errno.h"
#include "cgroup-internal.h"
#include "cgroup-util.h"
#include "cgroup.h"

#define V1 TEST_SRCDIR "/fixtures/cgroup-v1/"
#define V2 TEST_SRCDIR "/fixtures/cgroup-v2/"

/* --- names and paths --- */

START_TEST(test_pool_names) {
        static const char *const good[] = { "a", "data", "kv_spill", "x9", "abcdefghijklmnopqrstuvwxyz012345" };
        static const char *const bad[] = {
                "",     "Data",  "9x",    "_a",     "a-b",   "a.b",    "a/b",
                "../x", "a b",   "data\n", "poold-data", "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
        };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                ck_assert_msg(cgroup_pool_name_is_valid(good[i]), "%s", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(!cgroup_pool_name_is_valid(bad[i]), "%s", bad[i]);
        ck_assert(!cgroup_pool_name_is_valid(NULL));
}
END_TEST

START_TEST(test_cgroup_paths) {
        static const char *const good[] = {
                "system.slice/model.service", "/system.slice/model.service", "a",
                "system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service", "x/y/z",
        };
        static const char *const bad[] = {
                "", "/", "//a", "a//b", "a/", "../a", "a/../b", "a/..", "./a", "a/./b", "a b", "a\tb", "a\nb",
        };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                ck_assert_msg(cgroup_path_is_valid(good[i]), "%s", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(!cgroup_path_is_valid(bad[i]), "%s", bad[i]);

        char long_path[5000];
        memset(long_path, 'a', sizeof long_path - 1);
        long_path[sizeof long_path - 1] = '\0';
        ck_assert(!cgroup_path_is_valid(long_path));
}
END_TEST

START_TEST(test_util_paths) {
        char *p;

        p = cgroup_util_path_normalize("/a//b/");
        ck_assert_str_eq(p, "/a/b");
        free(p);
        p = cgroup_util_path_normalize("/");
        ck_assert_str_eq(p, "/");
        free(p);
        p = cgroup_util_path_join("/sys/fs/cgroup/", "/poold.slice");
        ck_assert_str_eq(p, "/sys/fs/cgroup/poold.slice");
        free(p);
        p = cgroup_util_path_join("/x", NULL);
        ck_assert_str_eq(p, "/x");
        free(p);

        ck_assert_str_eq(cgroup_util_path_below("/sys/fs/cgroup/memory/t", "/sys/fs/cgroup/memory"), "t");
        ck_assert_str_eq(cgroup_util_path_below("/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory"), "");
        ck_assert_ptr_null(cgroup_util_path_below("/sys/fs/cgroup/memoryx", "/sys/fs/cgroup/memory"));
        ck_assert_ptr_null(cgroup_util_path_below("/sys/fs/cgroup", "/sys/fs/cgroup/memory"));
        ck_assert_str_eq(cgroup_util_path_below("/a", "/"), "a");

        /* /proc/PID/cgroup: the memory line of v1, the 0:: line of v2 */
        const char *own;
        char hybrid[] = "12:cpuset:/\n7:blkio,memory:/system.slice/poold.service\n0::/system.slice/poold.service\n";
        ck_assert_int_eq(cgroup_util_own_memory_cgroup(hybrid, 1, &own), 0);
        ck_assert_str_eq(own, "/system.slice/poold.service");
        char unified[] = "0::/poold-test\n";
        ck_assert_int_eq(cgroup_util_own_memory_cgroup(unified, 2, &own), 0);
        ck_assert_str_eq(own, "/poold-test");
        char nomem[] = "3:cpu,cpuacct:/x\n1:name=systemd:/y\n";
        ck_assert_int_eq(cgroup_util_own_memory_cgroup(nomem, 1, &own), -ENOENT);
        char memoryx[] = "3:memoryx:/x\n";
        ck_assert_int_eq(cgroup_util_own_memory_cgroup(memoryx, 1, &own), -ENOENT);

        uint64_t v;
        ck_assert_int_eq(cgroup_util_parse_u64("123", NULL, &v), 0);
        ck_assert_uint_eq(v, 123);
        ck_assert_int_eq(cgroup_util_parse_u64("18446744073709551615", NULL, &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(cgroup_util_parse_u64("18446744073709551616", NULL, &v), -ERANGE);
        ck_assert_int_eq(cgroup_util_parse_u64("-1", NULL, &v), -EINVAL);
        ck_assert_int_eq(cgroup_util_parse_u64(" 1", NULL, &v), -EINVAL);
        ck_assert_int_eq(cgroup_util_parse_u64("", NULL, &v), -EINVAL);
        ck_assert_int_eq(cgroup_util_parse_u64("1x", NULL, &v), -EINVAL);
}
END_TEST

/* --- ECG* → -errno --- */

START_TEST(test_ecg_errno) {
        ck_assert_int_eq(cgroup_errno_from_ecg(0, 5), 0);
        ck_assert_int_eq(cgroup_errno_from_ecg(-ENOENT, 5), -ENOENT);
        /* ECGOTHER carries the cause in last_errno... */
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGOTHER, EBUSY), -EBUSY);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGOTHER, EINVAL), -EINVAL);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGOTHER, 0), -EIO);
        /* ...other codes ignore a stale one. */
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPNOTEXIST, EBUSY), -ENOENT);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPNOTMOUNTED, 0), -ENOENT);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPVALUENOTEXIST, 22), -ENOENT);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPNOTOWNER, 0), -EPERM);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPNOTALLOWED, 0), -EPERM);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPNOTINITIALIZED, 0), -EINVAL);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPSUBSYSNOTMOUNTED, 0), -ENODEV);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGNONEMPTY, 0), -EBUSY);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGROUPUNSUPP, 0), -EOPNOTSUPP);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGCONTROLLEREXISTS, 0), -EEXIST);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGEOF, 0), -ENODATA);
        ck_assert_int_eq(cgroup_errno_from_ecg(ECGFAIL, 0), -EIO);
        ck_assert_int_eq(cgroup_errno_from_ecg(59999, 0), -EIO);

        /* Every code libcgroup 2.0.2 defines maps to a negative errno. */
        for (int c = ECGROUPNOTCOMPILED; c <= ECGNONEMPTY; c++)
                ck_assert_int_lt(cgroup_errno_from_ecg(c, EAGAIN), 0);
}
END_TEST

/* --- detection --- */

START_TEST(test_detect_hybrid) {
        CgroupHierarchy h;

        /* This host's own mountinfo; no run/systemd/system in the fixture root. */
        ck_assert_int_eq(cgroup_detect(V1 "mountinfo-hybrid", V1, &h), 0);
        ck_assert_int_eq(h.layout, CGROUP_LAYOUT_HYBRID);
        ck_assert_int_eq(h.memory_version, CGROUP_VERSION_V1);
        ck_assert_str_eq(h.memory_mount, "/sys/fs/cgroup/memory");
        ck_assert_str_eq(h.unified_mount, "/sys/fs/cgroup/unified");
        ck_assert_str_eq(h.cpuset_mount, "/sys/fs/cgroup/cpuset");
        ck_assert_int_eq(h.cpuset_version, CGROUP_VERSION_V1);
        ck_assert(!h.systemd);
        cgroup_detect_done(&h);
        ck_assert_ptr_null(h.memory_mount);
}
END_TEST

START_TEST(test_detect_legacy) {
        CgroupHierarchy h;

        ck_assert_int_eq(cgroup_detect(V1 "mountinfo-legacy", V1, &h), 0);
        ck_assert_int_eq(h.layout, CGROUP_LAYOUT_LEGACY);
        ck_assert_int_eq(h.memory_version, CGROUP_VERSION_V1);
        /* The first mount wins over the later bind ("memory again"). */
        ck_assert_str_eq(h.memory_mount, "/sys/fs/cgroup/memory");
        ck_assert_ptr_null(h.unified_mount);
        ck_assert_str_eq(h.cpuset_mount, "/sys/fs/cgroup/cpuset");
        cgroup_detect_done(&h);
}
END_TEST

START_TEST(test_detect_unified) {
        CgroupHierarchy h;

        ck_assert_int_eq(cgroup_detect(V2 "mountinfo-unified", V2, &h), 0);
        ck_assert_int_eq(h.layout, CGROUP_LAYOUT_UNIFIED);
        ck_assert_int_eq(h.memory_version, CGROUP_VERSION_V2);
        ck_assert_str_eq(h.memory_mount, "/sys/fs/cgroup");
        ck_assert_str_eq(h.unified_mount, "/sys/fs/cgroup");
        ck_assert_str_eq(h.cpuset_mount, "/sys/fs/cgroup");
        ck_assert_int_eq(h.cpuset_version, CGROUP_VERSION_V2);
        ck_assert(h.systemd); /* the fixture has run/systemd/system/ */
        cgroup_detect_done(&h);

        /* The same mounts seen from the v1 fixture root, which has neither
         * sys/fs/cgroup/cgroup.controllers nor run/systemd/system: memory
         * still counts as on cgroup2 (no v1 hierarchy has it), cpuset is
         * not assumed, and systemd is not PID 1. */
        ck_assert_int_eq(cgroup_detect(V2 "mountinfo-unified", V1, &h), 0);
        ck_assert_int_eq(h.memory_version, CGROUP_VERSION_V2);
        ck_assert_ptr_null(h.cpuset_mount);
        ck_assert(!h.systemd);
        cgroup_detect_done(&h);
}
END_TEST

START_TEST(test_detect_unreadable_controllers) {
        CgroupHierarchy h;

        /* cgroup.controllers cannot be read: memory is on the cgroup2
         * mount because no v1 hierarchy has it; cpuset is not assumed. The
         * mount point has escaped spaces. */
        ck_assert_int_eq(cgroup_detect(V2 "mountinfo-nocontrollers", V2, &h), 0);
        ck_assert_int_eq(h.memory_version, CGROUP_VERSION_V2);
        ck_assert_str_eq(h.memory_mount, "/srv/no such cgroup");
        ck_assert_ptr_null(h.cpuset_mount);
        cgroup_detect_done(&h);
}
END_TEST

START_TEST(test_detect_errors) {
        CgroupHierarchy h;

        ck_assert_int_eq(cgroup_detect(V1 "mountinfo-bad", V1, &h), -EBADMSG);
        ck_assert_int_eq(cgroup_detect(V1 "mountinfo-nomemory", V1, &h), -ENOENT);
        ck_assert_int_eq(cgroup_detect(V1 "no-such-file", V1, &h), -ENOENT);
        /* Only a cgroup2 mount at /sys/fs/cgroup/unified, whose
         * cgroup.controllers in the v1 fixture root says "hugetlb" (as on
         * this host): no memory controller anywhere. */
        char path[] = "/tmp/check-cgroup-mi-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        const char *mi = "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        ck_assert_int_eq(write(fd, mi, strlen(mi)), (ssize_t) strlen(mi));
        close(fd);
        ck_assert_int_eq(cgroup_detect(path, V1, &h), -ENOENT);
        unlink(path);
}
END_TEST

START_TEST(test_unescape) {
        char a[] = "/mnt/a\\040b\\011c\\134d";
        ck_assert_int_eq(cgroup_detect_unescape(a), 0);
        ck_assert_str_eq(a, "/mnt/a b\tc\\d");
        char b[] = "/mnt/a\\04";
        ck_assert_int_eq(cgroup_detect_unescape(b), -EBADMSG);
        char c[] = "/mnt/a\\000";
        ck_assert_int_eq(cgroup_detect_unescape(c), -EBADMSG);
        char d[] = "/mnt/a\\";
        ck_assert_int_eq(cgroup_detect_unescape(d), -EBADMSG);
}
END_TEST

/* --- the cgroupfs plan --- */

static const CgroupfsValue *find_value(const CgroupfsValue *v, size_t n, const char *file) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].file, file) == 0)
                        return &v[i];
        return NULL;
}

START_TEST(test_cgroupfs_plan_v2) {
        CgroupfsValue v[CGROUPFS_VALUES_MAX];
        PoolLimits l = { .min = 1 << 20, .high = 64ULL << 20, .max = UINT64_MAX };
        unsigned all = CGROUP_FEATURE_MIN | CGROUP_FEATURE_HIGH | CGROUP_FEATURE_MEMS;

        size_t n = cgroup_cgroupfs_plan(CGROUP_VERSION_V2, all, &l, v);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(find_value(v, n, "memory.min")->value, "1048576");
        ck_assert_str_eq(find_value(v, n, "memory.high")->value, "67108864");
        ck_assert_str_eq(find_value(v, n, "memory.max")->value, "max");
        ck_assert_ptr_null(find_value(v, n, "cpuset.mems"));

        nodeset_add(&l.mems, 0);
        nodeset_add(&l.mems, 1);
        nodeset_add(&l.mems, 3);
        n = cgroup_cgroupfs_plan(CGROUP_VERSION_V2, all, &l, v);
        ck_assert_uint_eq(n, 4);
        ck_assert_str_eq(find_value(v, n, "cpuset.mems")->value, "0-1,3");
        ck_assert_str_eq(find_value(v, n, "cpuset.mems")->controller, "cpuset");

        /* No cpuset on this hierarchy: the nodes are left out. */
        n = cgroup_cgroupfs_plan(CGROUP_VERSION_V2, CGROUP_FEATURE_MIN | CGROUP_FEATURE_HIGH, &l, v);
        ck_assert_uint_eq(n, 3);
        ck_assert_ptr_null(find_value(v, n, "cpuset.mems"));

        /* All nodes: nothing for libcgroup to write (the driver resets an
         * earlier list directly; tests/vm/scenarios/cgroup-cgroupfs-v2.sh). */
        nodeset_clear(&l.mems);
        n = cgroup_cgroupfs_plan(CGROUP_VERSION_V2, all, &l, v);
        ck_assert_uint_eq(n, 3);
        ck_assert_ptr_null(find_value(v, n, "cpuset.mems"));
}
END_TEST

START_TEST(test_cgroupfs_plan_v1) {
        CgroupfsValue v[CGROUPFS_VALUES_MAX];
        PoolLimits l = { .min = 1 << 20, .high = 64ULL << 20, .max = UINT64_MAX };
        nodeset_add(&l.mems, 1);

        /* v1: soft limit and limit; no min; no cpuset even if asked. */
        size_t n = cgroup_cgroupfs_plan(CGROUP_VERSION_V1, CGROUP_FEATURE_MEMS, &l, v);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(find_value(v, n, "memory.soft_limit_in_bytes")->value, "67108864");
        ck_assert_str_eq(find_value(v, n, "memory.limit_in_bytes")->value, "-1");
        ck_assert_ptr_null(find_value(v, n, "memory.min"));

        l.max = 128ULL << 20;
        l.high = UINT64_MAX;
        n = cgroup_cgroupfs_plan(CGROUP_VERSION_V1, 0, &l, v);
        ck_assert_str_eq(find_value(v, n, "memory.limit_in_bytes")->value, "134217728");
        ck_assert_str_eq(find_value(v, n, "memory.soft_limit_in_bytes")->value, "-1");
}
END_TEST

START_TEST(test_nodes_to_bytes) {
        uint8_t b[NODESET_MAX / 8];
        size_t n;
        NodeSet s = {};

        cgroup_systemd_nodes_to_bytes(&s, b, &n);
        ck_assert_uint_eq(n, 0);

        nodeset_add(&s, 0);
        nodeset_add(&s, 1);
        cgroup_systemd_nodes_to_bytes(&s, b, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(b[0], 0x03);

        nodeset_clear(&s);
        nodeset_add(&s, 9);
        nodeset_add(&s, 2);
        cgroup_systemd_nodes_to_bytes(&s, b, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(b[0], 0x04);
        ck_assert_uint_eq(b[1], 0x02);

        nodeset_clear(&s);
        nodeset_add(&s, NODESET_MAX - 1);
        cgroup_systemd_nodes_to_bytes(&s, b, &n);
        ck_assert_uint_eq(n, NODESET_MAX / 8);
        ck_assert_uint_eq(b[NODESET_MAX / 8 - 1], 0x80);
}
END_TEST

/* --- the cgroupfs driver's refusals (needs a memory hierarchy here) --- */

START_TEST(test_cgroupfs_open_roots) {
        CgroupHierarchy h;
        if (cgroup_detect(NULL, NULL, &h) < 0) {
                fprintf(stderr, "SKIP test_cgroupfs_open_roots: no cgroup memory hierarchy here\n");
                return;
        }
        if (cgroup_init() != 0) {
                fprintf(stderr, "SKIP test_cgroupfs_open_roots: libcgroup cannot initialize here\n");
                cgroup_detect_done(&h);
                return;
        }

        CgroupDriver *d = NULL;
        ck_assert_int_eq(cgroup_cgroupfs_open(&h, "relative/root", &d), -EINVAL);
        ck_assert_int_eq(cgroup_cgroupfs_open(&h, "/tmp", &d), -EINVAL);
        char *outside = cgroup_util_path_join(h.memory_mount, "../x");
        ck_assert_int_eq(cgroup_cgroupfs_open(&h, outside, &d), -EINVAL);
        free(outside);
        char *prefix = NULL;
        ck_assert_int_ge(asprintf(&prefix, "%sx", h.memory_mount), 0);
        ck_assert_int_eq(cgroup_cgroupfs_open(&h, prefix, &d), -EINVAL);
        free(prefix);
        char *missing = cgroup_util_path_join(h.memory_mount, "poold-check-no-such-root");
        ck_assert_int_eq(cgroup_cgroupfs_open(&h, missing, &d), -ENOENT);
        free(missing);
        ck_assert_ptr_null(d);

        /* The memory mount itself is a valid root; nothing is written by open. */
        char *slashes = NULL;
        ck_assert_int_ge(asprintf(&slashes, "%s//", h.memory_mount), 0);
        ck_assert_int_eq(cgroup_cgroupfs_open(&h, slashes, &d), 0);
        free(slashes);
        ck_assert_str_eq(cgroup_driver_name(d), "cgroupfs");
        ck_assert_int_eq(cgroup_driver_version(d), h.memory_version);
        char *p = NULL;
        ck_assert_int_eq(cgroup_driver_pool_path(d, "data", &p), 0);
        char *want = NULL;
        ck_assert_int_ge(asprintf(&want, "%s/poold/data", h.memory_mount), 0);
        ck_assert_str_eq(p, want);
        free(p);
        free(want);
        ck_assert_int_eq(cgroup_driver_pool_path(d, "da-ta", &p), -EINVAL);
        PoolLimits l = { .max = UINT64_MAX, .high = UINT64_MAX };
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "../etc", &l), -EINVAL);
        ck_assert_int_eq(cgroup_driver_attach(d, "data", 0), -EINVAL);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, "x.service", NULL, &p), -EOPNOTSUPP);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, NULL, "a/../b", &p), -EINVAL);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, "x.service", "a", &p), -EINVAL);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, NULL, NULL, &p), -EINVAL);
        if (h.memory_version == CGROUP_VERSION_V1) {
                ck_assert_uint_eq(cgroup_driver_features(d), 0);
                ck_assert_int_eq(cgroup_driver_protect(d, NULL, "x", 1), -EOPNOTSUPP);
        }
        cgroup_driver_free(d);
        cgroup_detect_done(&h);
}
END_TEST

/* --- a fake systemd manager --- */

typedef struct FakeUnit {
        char name[128];
        char cgroup[256];
        bool active;
        bool has_min, has_high, has_max, has_nodes;
        uint64_t min, high, max;
        uint8_t nodes[NODESET_MAX / 8];
        size_t n_nodes;
        char slice[128];
        char description[128];
        uint32_t pids[4];
        size_t n_pids;
        unsigned n_transient, n_set, n_start;
        bool runtime;
} FakeUnit;

typedef struct Fake {
        char dir[80];
        char address[128];
        int listen_fd;
        pthread_t thread;
        atomic_bool stop;
        pthread_mutex_t lock;
        FakeUnit units[16];
        size_t n_units;
        uint32_t next_job;
        bool drop_job_removed; /* never send JobRemoved: the driver must poll */
        const char *job_result;
        unsigned n_calls;
} Fake;

static Fake fake;

static FakeUnit *fake_find(const char *name) {
        for (size_t i = 0; i < fake.n_units; i++)
                if (strcmp(fake.units[i].name, name) == 0)
                        return &fake.units[i];
        return NULL;
}

static FakeUnit *fake_add(const char *name, const char *cgroup) {
        ck_assert_uint_lt(fake.n_units, sizeof fake.units / sizeof fake.units[0]);
        FakeUnit *u = &fake.units[fake.n_units++];
        *u = (FakeUnit) {};
        snprintf(u->name, sizeof u->name, "%s", name);
        snprintf(u->cgroup, sizeof u->cgroup, "%s", cgroup);
        return u;
}

/* bus_label_escape() as systemd does it: [A-Za-z0-9] kept, the rest _xx. */
static void unit_object_path(const char *name, char *buf, size_t size) {
        size_t n = (size_t) snprintf(buf, size, "/org/freedesktop/systemd1/unit/");
        for (const char *p = name; *p && n + 4 < size; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
                        buf[n++] = *p;
                else
                        n += (size_t) snprintf(buf + n, size - n, "_%02x", (unsigned char) *p);
        }
        buf[n] = '\0';
}

static FakeUnit *fake_find_by_path(const char *path) {
        char buf[512];
        for (size_t i = 0; i < fake.n_units; i++) {
                unit_object_path(fake.units[i].name, buf, sizeof buf);
                if (strcmp(buf, path) == 0)
                        return &fake.units[i];
        }
        return NULL;
}

/* Reads an a(sv) of unit properties into U; unknown ones are an error, as
 * in systemd ("Cannot set property X, or unknown property."). */
static int fake_read_props(sd_bus_message *m, FakeUnit *u, sd_bus_error *e) {
        int r = sd_bus_message_enter_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
                const char *key, *contents;
                char type;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;

                if (strcmp(key, "MemoryMin") == 0 || strcmp(key, "MemoryHigh") == 0 ||
                    strcmp(key, "MemoryMax") == 0) {
                        if (strcmp(contents, "t") != 0)
                                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "%s wants t", key);
                        uint64_t v;
                        r = sd_bus_message_read(m, "t", &v);
                        if (r < 0)
                                return r;
                        if (strcmp(key, "MemoryMin") == 0) {
                                u->min = v;
                                u->has_min = true;
                        } else if (strcmp(key, "MemoryHigh") == 0) {
                                u->high = v;
                                u->has_high = true;
                        } else {
                                u->max = v;
                                u->has_max = true;
                        }
                } else if (strcmp(key, "AllowedMemoryNodes") == 0) {
                        if (strcmp(contents, "ay") != 0)
                                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "%s wants ay", key);
                        const void *p;
                        size_t n;
                        r = sd_bus_message_read_array(m, 'y', &p, &n);
                        if (r < 0)
                                return r;
                        ck_assert_uint_le(n, sizeof u->nodes);
                        memcpy(u->nodes, p, n);
                        u->n_nodes = n;
                        u->has_nodes = true;
                } else if (strcmp(key, "Description") == 0 || strcmp(key, "Slice") == 0) {
                        if (strcmp(contents, "s") != 0)
                                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "%s wants s", key);
                        const char *s;
                        r = sd_bus_message_read(m, "s", &s);
                        if (r < 0)
                                return r;
                        if (key[0] == 'D')
                                snprintf(u->description, sizeof u->description, "%s", s);
                        else
                                snprintf(u->slice, sizeof u->slice, "%s", s);
                } else if (strcmp(key, "PIDs") == 0) {
                        if (strcmp(contents, "au") != 0)
                                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "%s wants au", key);
                        r = sd_bus_message_enter_container(m, 'a', "u");
                        if (r < 0)
                                return r;
                        uint32_t pid;
                        while ((r = sd_bus_message_read(m, "u", &pid)) > 0) {
                                if (kill((pid_t) pid, 0) < 0)
                                        return sd_bus_error_setf(e, SD_BUS_ERROR_UNIX_PROCESS_ID_UNKNOWN,
                                                                 "Process %u does not exist.", pid);
                                ck_assert_uint_lt(u->n_pids, 4);
                                u->pids[u->n_pids++] = pid;
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(e, SD_BUS_ERROR_PROPERTY_READ_ONLY,
                                                 "Cannot set property %s, or unknown property.", key);

                r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* The cgroup systemd gives unit NAME: slices nest by their '-' prefixes. */
static void fake_cgroup_of(const char *name, const char *slice, char *buf, size_t size) {
        if (strcmp(name, "poold.slice") == 0)
                snprintf(buf, size, "/poold.slice");
        else if (strncmp(name, "poold-", 6) == 0 && strstr(name, ".slice"))
                snprintf(buf, size, "/poold.slice/%s", name);
        else if (slice && *slice) {
                char parent[128];
                fake_cgroup_of(slice, NULL, parent, sizeof parent);
                snprintf(buf, size, "%s/%s", parent, name);
        } else
                snprintf(buf, size, "/system.slice/%s", name);
}

static int fake_reply_job(sd_bus_message *m, const char *unit) {
        char job[64];
        uint32_t id = ++fake.next_job;
        snprintf(job, sizeof job, "/org/freedesktop/systemd1/job/%u", id);
        int r = sd_bus_reply_method_return(m, "o", job);
        if (r < 0 || fake.drop_job_removed)
                return r;
        /* As systemd: the reply first, the job runs, then JobRemoved. */
        r = sd_bus_emit_signal(sd_bus_message_get_bus(m), "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "JobRemoved", "uoss", id, job, unit,
                               fake.job_result ? fake.job_result : "done");
        return r < 0 ? r : 1;
}

static int fake_reply_unit_path(sd_bus_message *m, const FakeUnit *u) {
        char path[512];
        unit_object_path(u->name, path, sizeof path);
        return sd_bus_reply_method_return(m, "o", path);
}

static int fake_manager(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        const char *member = sd_bus_message_get_member(m);
        int r;

        uint8_t type;
        if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        pthread_mutex_lock(&fake.lock);
        fake.n_calls++;

        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get")) {
                const char *iface, *prop;
                r = sd_bus_message_read(m, "ss", &iface, &prop);
                if (r >= 0 && strcmp(prop, "Version") == 0)
                        r = sd_bus_reply_method_return(m, "v", "s", "252-fake");
                else if (r >= 0)
                        r = sd_bus_error_setf(e, SD_BUS_ERROR_UNKNOWN_PROPERTY, "no %s", prop);
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "StartTransientUnit")) {
                const char *name, *mode;
                FakeUnit nu = {};
                r = sd_bus_message_read(m, "ss", &name, &mode);
                if (r >= 0 && strcmp(mode, "fail") != 0)
                        r = sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "mode %s", mode);
                if (r >= 0 && fake_find(name))
                        r = sd_bus_error_setf(e, "org.freedesktop.systemd1.UnitExists", "Unit %s already exists.",
                                              name);
                if (r >= 0)
                        r = fake_read_props(m, &nu, e);
                if (r >= 0)
                        r = sd_bus_message_skip(m, "a(sa(sv))");
                if (r >= 0 && strstr(name, ".scope") && (nu.n_pids == 0 || !fake_find(nu.slice)))
                        r = sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "scope %s: no PIDs or slice", name);
                if (r >= 0) {
                        FakeUnit *u = fake_add(name, "");
                        char cg[256];
                        fake_cgroup_of(name, nu.slice, cg, sizeof cg);
                        *u = nu;
                        snprintf(u->name, sizeof u->name, "%s", name);
                        snprintf(u->cgroup, sizeof u->cgroup, "%s", cg);
                        u->active = true;
                        u->n_transient = 1;
                        /* A PID lives in one unit: it leaves its old scope. */
                        for (size_t i = 0; i + 1 < fake.n_units; i++)
                                for (size_t k = 0; k < fake.units[i].n_pids && u->n_pids > 0; k++)
                                        if (fake.units[i].pids[k] == u->pids[0])
                                                fake.units[i].pids[k] = 0;
                        r = fake_reply_job(m, name);
                }
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "SetUnitProperties")) {
                const char *name;
                int runtime;
                r = sd_bus_message_read(m, "sb", &name, &runtime);
                FakeUnit *u = r >= 0 ? fake_find(name) : NULL;
                if (r >= 0 && !u)
                        r = sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
                if (r >= 0)
                        r = fake_read_props(m, u, e);
                if (r >= 0) {
                        u->n_set++;
                        u->runtime = runtime;
                        r = sd_bus_reply_method_return(m, NULL);
                }
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "GetUnit") ||
                   sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "LoadUnit")) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                FakeUnit *u = r >= 0 ? fake_find(name) : NULL;
                if (r >= 0)
                        r = u ? fake_reply_unit_path(m, u)
                              : sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.",
                                                  name);
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "StartUnit")) {
                const char *name, *mode;
                r = sd_bus_message_read(m, "ss", &name, &mode);
                FakeUnit *u = r >= 0 ? fake_find(name) : NULL;
                if (r >= 0 && !u)
                        r = sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
                if (r >= 0) {
                        u->active = true;
                        u->n_start++;
                        r = fake_reply_job(m, name);
                }
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns")) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                char **states = NULL, **patterns = NULL;
                r = sd_bus_message_read_strv(m, &states);
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &patterns);
                if (r >= 0)
                        r = sd_bus_message_new_method_return(m, &reply);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "(ssssssouso)");
                for (size_t i = 0; r >= 0 && i < fake.n_units; i++) {
                        bool match = !patterns || !patterns[0];
                        for (char **p = patterns; p && *p; p++)
                                match = match || fnmatch(*p, fake.units[i].name, 0) == 0;
                        if (!match)
                                continue;
                        char path[512];
                        unit_object_path(fake.units[i].name, path, sizeof path);
                        r = sd_bus_message_append(reply, "(ssssssouso)", fake.units[i].name, "", "loaded",
                                                  fake.units[i].active ? "active" : "inactive", "", "", path, 0, "",
                                                  "/");
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
                for (char **p = states; p && *p; p++)
                        free(*p);
                for (char **p = patterns; p && *p; p++)
                        free(*p);
                free(states);
                free(patterns);
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "GetUnitByPID")) {
                uint32_t pid;
                FakeUnit *found = NULL;
                r = sd_bus_message_read(m, "u", &pid);
                for (size_t i = 0; r >= 0 && i < fake.n_units; i++)
                        for (size_t k = 0; k < fake.units[i].n_pids; k++)
                                if (fake.units[i].pids[k] == pid)
                                        found = &fake.units[i];
                if (r >= 0)
                        r = found ? fake_reply_unit_path(m, found)
                                  : sd_bus_error_setf(e, "org.freedesktop.systemd1.NoUnitForPID", "PID %u", pid);
        } else if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "GetUnitByControlGroup")) {
                /* systemd answers with the unit of the nearest cgroup at or above. */
                const char *cg;
                FakeUnit *best = NULL;
                r = sd_bus_message_read(m, "s", &cg);
                for (size_t i = 0; r >= 0 && i < fake.n_units; i++) {
                        size_t l = strlen(fake.units[i].cgroup);
                        if (l && strncmp(cg, fake.units[i].cgroup, l) == 0 && (cg[l] == '\0' || cg[l] == '/') &&
                            (!best || l > strlen(best->cgroup)))
                                best = &fake.units[i];
                }
                if (r >= 0)
                        r = best ? fake_reply_unit_path(m, best)
                                 : sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "no unit for %s", cg);
        } else
                r = sd_bus_error_setf(e, SD_BUS_ERROR_UNKNOWN_METHOD, "fake: no %s", member);

        pthread_mutex_unlock(&fake.lock);
        return r < 0 ? r : 1;
}

static int fake_unit_object(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        if (!sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get"))
                return 0;
        pthread_mutex_lock(&fake.lock);
        fake.n_calls++;
        const char *iface, *prop;
        int r = sd_bus_message_read(m, "ss", &iface, &prop);
        FakeUnit *u = fake_find_by_path(sd_bus_message_get_path(m));
        if (r >= 0 && !u)
                r = sd_bus_error_setf(e, SD_BUS_ERROR_UNKNOWN_OBJECT, "no unit at %s", sd_bus_message_get_path(m));
        else if (r >= 0 && strcmp(prop, "ActiveState") == 0 && strcmp(iface, "org.freedesktop.systemd1.Unit") == 0)
                r = sd_bus_reply_method_return(m, "v", "s", u->active ? "active" : "inactive");
        else if (r >= 0 && strcmp(prop, "Id") == 0 && strcmp(iface, "org.freedesktop.systemd1.Unit") == 0)
                r = sd_bus_reply_method_return(m, "v", "s", u->name);
        else if (r >= 0 && strcmp(prop, "ControlGroup") == 0 && strcmp(iface, "org.freedesktop.systemd1.Unit") != 0)
                r = sd_bus_reply_method_return(m, "v", "s", u->active ? u->cgroup : "");
        else if (r >= 0)
                r = sd_bus_error_setf(e, SD_BUS_ERROR_UNKNOWN_PROPERTY, "no %s.%s", iface, prop);
        pthread_mutex_unlock(&fake.lock);
        return r < 0 ? r : 1;
}

static void fake_serve(int fd) {
        sd_bus *b = NULL;
        sd_id128_t id;
        ck_assert_int_ge(sd_bus_new(&b), 0);
        ck_assert_int_ge(sd_bus_set_fd(b, fd, fd), 0);
        ck_assert_int_ge(sd_id128_randomize(&id), 0);
        ck_assert_int_ge(sd_bus_set_server(b, 1, id), 0);
        ck_assert_int_ge(sd_bus_set_anonymous(b, 1), 0);
        ck_assert_int_ge(sd_bus_start(b), 0);
        ck_assert_int_ge(sd_bus_add_object(b, NULL, "/org/freedesktop/systemd1", fake_manager, NULL), 0);
        ck_assert_int_ge(sd_bus_add_fallback(b, NULL, "/org/freedesktop/systemd1/unit", fake_unit_object, NULL), 0);

        while (!atomic_load(&fake.stop)) {
                int r = sd_bus_process(b, NULL);
                if (r < 0)
                        break; /* the driver closed its end */
                if (r > 0)
                        continue;
                if (sd_bus_wait(b, 50000) < 0)
                        break;
        }
        sd_bus_flush_close_unref(b);
}

static void *fake_thread(void *arg) {
        while (!atomic_load(&fake.stop)) {
                struct pollfd p = { .fd = fake.listen_fd, .events = POLLIN };
                if (poll(&p, 1, 50) <= 0)
                        continue;
                int fd = accept4(fake.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd >= 0)
                        fake_serve(fd);
        }
        return arg;
}

static CgroupHierarchy fake_hierarchy(CgroupVersion v, const char *mount) {
        return (CgroupHierarchy) {
                .layout = v == CGROUP_VERSION_V2 ? CGROUP_LAYOUT_UNIFIED : CGROUP_LAYOUT_HYBRID,
                .memory_version = v,
                .memory_mount = (char *) mount,
                .unified_mount = (char *) mount,
                .cpuset_mount = (char *) mount,
                .cpuset_version = v,
                .systemd = true,
        };
}

static char fake_base[32];

static void fake_setup(void) {
        fake = (Fake) { .listen_fd = -1 };
        pthread_mutex_init(&fake.lock, NULL);
        /* Under the runner's directory, which main() removes whatever a
         * test left (a failed test exits at once, without teardown). */
        snprintf(fake.dir, sizeof fake.dir, "%s/t-%d", fake_base, (int) getpid());
        ck_assert_int_eq(mkdir(fake.dir, 0700), 0);

        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/private", fake.dir);
        snprintf(fake.address, sizeof fake.address, "unix:path=%s", sa.sun_path);
        fake.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fake.listen_fd, 0);
        ck_assert_int_eq(bind(fake.listen_fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(listen(fake.listen_fd, 4), 0);
        ck_assert_int_eq(pthread_create(&fake.thread, NULL, fake_thread, NULL), 0);
}

static void fake_remove_files(void) {
        if (!fake.dir[0])
                return;
        char path[128];
        snprintf(path, sizeof path, "%s/private", fake.dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/cg/system.slice/model.service/sub/memory.min", fake.dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/cg/system.slice/model.service/sub", fake.dir);
        rmdir(path);
        snprintf(path, sizeof path, "%s/cg/system.slice/model.service", fake.dir);
        rmdir(path);
        snprintf(path, sizeof path, "%s/cg/system.slice", fake.dir);
        rmdir(path);
        snprintf(path, sizeof path, "%s/cg", fake.dir);
        rmdir(path);
        rmdir(fake.dir);
        fake.dir[0] = '\0';
}

static void fake_teardown(void) {
        atomic_store(&fake.stop, true);
        pthread_join(fake.thread, NULL);
        close(fake.listen_fd);
        fake_remove_files();
        pthread_mutex_destroy(&fake.lock);
}

static CgroupDriver *fake_open(CgroupVersion v) {
        CgroupHierarchy h = fake_hierarchy(v, "/sys/fs/cgroup");
        CgroupDriver *d = NULL;
        ck_assert_int_eq(cgroup_systemd_open(&h, fake.address, &d), 0);
        return d;
}

START_TEST(test_systemd_open_fails) {
        CgroupHierarchy h = fake_hierarchy(CGROUP_VERSION_V2, "/sys/fs/cgroup");
        CgroupDriver *d = NULL;
        char addr[160];
        snprintf(addr, sizeof addr, "unix:path=%s/nobody-listens", fake.dir);
        ck_assert_int_eq(cgroup_systemd_open(&h, addr, &d), -ENOENT);
        ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_systemd_pools) {
        CgroupDriver *d = fake_open(CGROUP_VERSION_V2);
        ck_assert_str_eq(cgroup_driver_name(d), "systemd");
        ck_assert_uint_eq(cgroup_driver_features(d), CGROUP_FEATURE_MIN | CGROUP_FEATURE_HIGH | CGROUP_FEATURE_MEMS);

        ck_assert_int_eq(cgroup_driver_apply_parent(d, 447ULL << 30), 0);
        FakeUnit *p = fake_find("poold.slice");
        ck_assert_ptr_nonnull(p);
        ck_assert(p->active);
        ck_assert(p->has_max && !p->has_min && !p->has_high && !p->has_nodes);
        ck_assert_uint_eq(p->max, 447ULL << 30);

        PoolLimits l = { .min = 64ULL << 20, .high = 256ULL << 20, .max = 512ULL << 20 };
        nodeset_add(&l.mems, 0);
        nodeset_add(&l.mems, 1);
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "data", &l), 0);
        FakeUnit *u = fake_find("poold-data.slice");
        ck_assert_ptr_nonnull(u);
        ck_assert_uint_eq(u->n_transient, 1);
        ck_assert_uint_eq(u->n_set, 0);
        ck_assert_uint_eq(u->min, 64ULL << 20);
        ck_assert_uint_eq(u->high, 256ULL << 20);
        ck_assert_uint_eq(u->max, 512ULL << 20);
        ck_assert_uint_eq(u->n_nodes, 1);
        ck_assert_uint_eq(u->nodes[0], 0x03);
        ck_assert_str_eq(u->description, "poold pool data");

        /* Again, with a lower target and all nodes: the slice is changed in
         * place (runtime properties), not made again. */
        l.high = 128ULL << 20;
        nodeset_clear(&l.mems);
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "data", &l), 0);
        ck_assert_uint_eq(u->n_transient, 1);
        ck_assert_uint_eq(u->n_set, 1);
        ck_assert(u->runtime);
        ck_assert_uint_eq(u->high, 128ULL << 20);
        ck_assert_uint_eq(u->n_nodes, 0); /* an empty array: all nodes */
        ck_assert_uint_eq(u->n_start, 0); /* it was active */

        /* A slice that exists but is stopped is started after the change. */
        u->active = false;
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "data", &l), 0);
        ck_assert_uint_eq(u->n_start, 1);
        ck_assert(u->active);

        /* The shrink ladder's step: MemoryHigh alone, one call. */
        unsigned before = fake.n_calls, sets = u->n_set;
        ck_assert_int_eq(cgroup_driver_set_high(d, "data", 100ULL << 20), 0);
        ck_assert_uint_eq(fake.n_calls, before + 1);
        ck_assert_uint_eq(u->n_set, sets + 1);
        ck_assert_uint_eq(u->high, 100ULL << 20);
        ck_assert_uint_eq(u->max, 512ULL << 20);
        ck_assert_uint_eq(u->min, 64ULL << 20);
        ck_assert_int_eq(cgroup_driver_set_high(d, "a-b", 1), -EINVAL);

        /* Unlimited is UINT64_MAX ("infinity" to systemd). */
        PoolLimits inf = { .min = 0, .high = UINT64_MAX, .max = UINT64_MAX };
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "kv_spill", &inf), 0);
        ck_assert_uint_eq(fake_find("poold-kv_spill.slice")->high, UINT64_MAX);

        /* Bad names never reach systemd. */
        unsigned calls = fake.n_calls;
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "a-b", &l), -EINVAL);
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "Data", &l), -EINVAL);
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "../x", &l), -EINVAL);
        ck_assert_int_eq(cgroup_driver_attach(d, "a-b", getpid()), -EINVAL);
        ck_assert_uint_eq(fake.n_calls, calls);

        char *path = NULL;
        ck_assert_int_eq(cgroup_driver_pool_path(d, "data", &path), 0);
        ck_assert_str_eq(path, "/sys/fs/cgroup/poold.slice/poold-data.slice");
        free(path);
        ck_assert_int_eq(cgroup_driver_parent_path(d, &path), 0);
        ck_assert_str_eq(path, "/sys/fs/cgroup/poold.slice");
        free(path);

        /* Listing: the pools only, sorted; deeper or foreign slices left out. */
        fake_add("poold-a-b.slice", "/poold.slice/poold-a.slice/poold-a-b.slice");
        fake_add("poold-Bad.slice", "/poold.slice/poold-Bad.slice");
        fake_add("other.slice", "/other.slice");
        fake_add("poold-asked.slice", "/poold.slice/poold-asked.slice"); /* loaded, never started */
        char **pools = NULL;
        ck_assert_int_eq(cgroup_driver_list_pools(d, &pools), 0);
        ck_assert_ptr_nonnull(pools[0]);
        ck_assert_str_eq(pools[0], "data");
        ck_assert_ptr_nonnull(pools[1]);
        ck_assert_str_eq(pools[1], "kv_spill");
        ck_assert_ptr_null(pools[2]);
        cgroup_strv_free(pools);

        cgroup_driver_free(d);
}
END_TEST

START_TEST(test_systemd_v1) {
        CgroupDriver *d = fake_open(CGROUP_VERSION_V1);
        ck_assert_uint_eq(cgroup_driver_features(d), 0);

        /* Only MemoryMax (limit_in_bytes) is sent on v1. */
        PoolLimits l = { .min = 1 << 20, .high = 2 << 20, .max = 4 << 20 };
        nodeset_add(&l.mems, 1);
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "data", &l), 0);
        FakeUnit *u = fake_find("poold-data.slice");
        ck_assert(u->has_max && !u->has_min && !u->has_high && !u->has_nodes);
        ck_assert_int_eq(cgroup_driver_protect(d, "model.service", NULL, 1 << 20), -EOPNOTSUPP);
        cgroup_driver_free(d);
}
END_TEST

START_TEST(test_systemd_attach) {
        CgroupDriver *d = fake_open(CGROUP_VERSION_V2);
        PoolLimits l = { .high = UINT64_MAX, .max = UINT64_MAX };

        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test must not leave it behind */
                pause();
                _exit(0);
        }

        ck_assert_int_eq(cgroup_driver_attach(d, "data", child), -ENOENT); /* no pool yet */
        ck_assert_ptr_null(fake_find("poold-data.slice"));                   /* and none made */
        /* A slice systemd merely loaded (someone asked about the name) is no pool. */
        fake_add("poold-asked.slice", "/poold.slice/poold-asked.slice");
        ck_assert_int_eq(cgroup_driver_attach(d, "asked", child), -ENOENT);
        char asked_scope[64];
        snprintf(asked_scope, sizeof asked_scope, "poold-asked-%d.scope", (int) child);
        ck_assert_ptr_null(fake_find(asked_scope));
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "data", &l), 0);
        ck_assert_int_eq(cgroup_driver_attach(d, "data", child), 0);

        char scope[64];
        snprintf(scope, sizeof scope, "poold-data-%d.scope", (int) child);
        FakeUnit *s = fake_find(scope);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s->slice, "poold-data.slice");
        ck_assert_uint_eq(s->n_pids, 1);
        ck_assert_uint_eq(s->pids[0], (uint32_t) child);
        char want[128];
        snprintf(want, sizeof want, "/poold.slice/poold-data.slice/%s", scope);
        ck_assert_str_eq(s->cgroup, want);

        /* Attaching again to the same pool: already there. */
        ck_assert_int_eq(cgroup_driver_attach(d, "data", child), 0);
        ck_assert_uint_eq(s->n_transient, 1);
        /* The scope name is taken but PID is elsewhere: refused. */
        s->pids[0] = 0;
        FakeUnit *elsewhere = fake_add("elsewhere.scope", "/system.slice/elsewhere.scope");
        elsewhere->pids[elsewhere->n_pids++] = (uint32_t) child;
        ck_assert_int_eq(cgroup_driver_attach(d, "data", child), -EEXIST);

        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        ck_assert_int_eq(cgroup_driver_attach(d, "data", child), -ESRCH);
        cgroup_driver_free(d);
}
END_TEST

START_TEST(test_systemd_jobs) {
        CgroupDriver *d = fake_open(CGROUP_VERSION_V2);
        PoolLimits l = { .high = UINT64_MAX, .max = UINT64_MAX };

        /* A failed job is an error; its unit is not waited for again. */
        fake.job_result = "failed";
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "bad", &l), -EREMOTEIO);
        fake.job_result = "canceled";
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "bad2", &l), -ECANCELED);
        fake.job_result = NULL;

        /* No JobRemoved at all: after a quiet second the driver sees the
         * job gone and the unit active. */
        fake.drop_job_removed = true;
        ck_assert_int_eq(cgroup_driver_apply_pool(d, "quiet", &l), 0);
        ck_assert(fake_find("poold-quiet.slice")->active);
        fake.drop_job_removed = false;
        cgroup_driver_free(d);
}
END_TEST

START_TEST(test_systemd_reserves) {
        char mount[128];
        snprintf(mount, sizeof mount, "%s/cg", fake.dir);
        CgroupHierarchy h = fake_hierarchy(CGROUP_VERSION_V2, mount);
        CgroupDriver *d = NULL;
        ck_assert_int_eq(cgroup_systemd_open(&h, fake.address, &d), 0);

        FakeUnit *model = fake_add("model.service", "/system.slice/model.service");
        model->active = true;

        char *p = NULL, want[256];
        ck_assert_int_eq(cgroup_driver_reserve_path(d, "model.service", NULL, &p), 0);
        snprintf(want, sizeof want, "%s/system.slice/model.service", mount);
        ck_assert_str_eq(p, want);
        free(p);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, NULL, "/system.slice/x.service", &p), 0);
        snprintf(want, sizeof want, "%s/system.slice/x.service", mount);
        ck_assert_str_eq(p, want);
        free(p);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, "absent.service", NULL, &p), -ENOENT);
        ck_assert_int_eq(cgroup_driver_reserve_path(d, "multi-user.target", NULL, &p), -EINVAL);
        model->active = false; /* stopped: no cgroup now */
        ck_assert_int_eq(cgroup_driver_reserve_path(d, "model.service", NULL, &p), -ENOENT);
        model->active = true;

        /* Protect a unit: its MemoryMin, at runtime. */
        ck_assert_int_eq(cgroup_driver_protect(d, "model.service", NULL, 20ULL << 30), 0);
        ck_assert(model->has_min && model->runtime);
        ck_assert_uint_eq(model->min, 20ULL << 30);
        ck_assert_int_eq(cgroup_driver_protect(d, "absent.service", NULL, 1), -ENOENT);

        /* A unit's own cgroup goes through the unit... */
        model->min = 0;
        ck_assert_int_eq(cgroup_driver_protect(d, NULL, "system.slice/model.service", 5ULL << 30), 0);
        ck_assert_uint_eq(model->min, 5ULL << 30);

        /* ...a cgroup below a unit's (its own subtree) is written directly. */
        char dir[256];
        snprintf(dir, sizeof dir, "%s/cg", fake.dir);
        mkdir(dir, 0755);
        snprintf(dir, sizeof dir, "%s/cg/system.slice", fake.dir);
        mkdir(dir, 0755);
        snprintf(dir, sizeof dir, "%s/cg/system.slice/model.service", fake.dir);
        mkdir(dir, 0755);
        snprintf(dir, sizeof dir, "%s/cg/system.slice/model.service/sub", fake.dir);
        mkdir(dir, 0755);
        char file[300];
        snprintf(file, sizeof file, "%s/memory.min", dir);
        int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(cgroup_driver_protect(d, NULL, "system.slice/model.service/sub", 4096), 0);
        ck_assert_uint_eq(model->min, 5ULL << 30);
        char *text = NULL;
        ck_assert_int_eq(cgroup_util_read_file(dir, "memory.min", &text), 0);
        ck_assert_str_eq(text, "4096");
        free(text);
        cgroup_driver_free(d);
}
END_TEST

static Suite *cgroup_suite(void) {
        Suite *s = suite_create("cgroup");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_pool_names);
        tcase_add_test(tc, test_cgroup_paths);
        tcase_add_test(tc, test_util_paths);
        tcase_add_test(tc, test_ecg_errno);
        tcase_add_test(tc, test_cgroupfs_plan_v2);
        tcase_add_test(tc, test_cgroupfs_plan_v1);
        tcase_add_test(tc, test_nodes_to_bytes);
        suite_add_tcase(s, tc);

        tc = tcase_create("detect");
        tcase_add_test(tc, test_detect_hybrid);
        tcase_add_test(tc, test_detect_legacy);
        tcase_add_test(tc, test_detect_unified);
        tcase_add_test(tc, test_detect_unreadable_controllers);
        tcase_add_test(tc, test_detect_errors);
        tcase_add_test(tc, test_unescape);
        suite_add_tcase(s, tc);

        tc = tcase_create("cgroupfs");
        tcase_add_test(tc, test_cgroupfs_open_roots);
        suite_add_tcase(s, tc);

        tc = tcase_create("systemd");
        tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
        tcase_add_test(tc, test_systemd_open_fails);
        tcase_add_test(tc, test_systemd_pools);
        tcase_add_test(tc, test_systemd_v1);
        tcase_add_test(tc, test_systemd_attach);
        tcase_add_test(tc, test_systemd_jobs);
        tcase_add_test(tc, test_systemd_reserves);
        suite_add_tcase(s, tc);
        return s;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) remove(path); /* best effort: what cannot go stays for a human */
        return FTW_CONTINUE;
}

int main(void) {
        snprintf(fake_base, sizeof fake_base, "/tmp/check-cgroup-XXXXXX");
        if (!mkdtemp(fake_base)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        SRunner *sr = srunner_create(cgroup_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        nftw(fake_base, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_ACTIONRETVAL);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
