/* SPDX-License-Identifier: MIT */
/* cgtool: drives one cgroup driver from the command line, for the host and
 * VM tests (and by hand). Not installed.
 *
 *   cgtool [-d auto|systemd|cgroupfs] [-r ROOT] [-v] COMMAND [ARGS...]
 *     info                          driver, version, features, parent path
 *     parent MAX                    apply_parent
 *     apply POOL MIN HIGH MAX [NODES]
 *                                   apply_pool; sizes as 64M/1G/12345 or
 *                                   "infinity"; NODES as "0-1" (default: all)
 *     list                          the pools that exist, one a line
 *     path POOL | parent-path       a pool's (the parent's) cgroup directory
 *     attach POOL PID
 *     reserve-path unit|cgroup NAME
 *     protect unit|cgroup NAME SIZE
 *     stat DIR                      cgstat_read as key=value lines
 *     detect [MOUNTINFO [SYSROOT]]  cgroup_detect as key=value lines
 *     hold SECONDS                  a member for tests: a second thread, then
 *                                   both sleep SECONDS
 *
 * Exit status: 0, 1 on a failed call (the error on stderr), 2 on bad usage. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-detect.h"
#include "cgroup.h"
#include "cgstat.h"
#include "log.h"
#include "nodeset.h"
#include "size.h"

static int usage(void) {
        fprintf(stderr,
                "usage: cgtool [-d auto|systemd|cgroupfs] [-r ROOT] [-v] COMMAND [ARGS...]\n"
                "commands: info | parent MAX | apply POOL MIN HIGH MAX [NODES] | set-high POOL HIGH | list | path POOL |\n"
                "          parent-path | attach POOL PID | reserve-path unit|cgroup NAME |\n"
                "          protect unit|cgroup NAME SIZE | stat DIR | detect [MOUNTINFO [SYSROOT]] |\n"
                "          hold SECONDS\n");
        return 2;
}

static int parse_size(const char *s, uint64_t *ret) {
        if (strcmp(s, "infinity") == 0 || strcmp(s, "max") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return size_parse_bytes(s, ret);
}

static void print_u64(const char *key, uint64_t v) {
        if (v == UINT64_MAX)
                printf("%s=max\n", key);
        else
                printf("%s=%" PRIu64 "\n", key, v);
}

static int cmd_stat(const char *dir) {
        CgStat s;
        int r = cgstat_read(dir, &s);
        if (r < 0)
                return log_error_errno(r, "%s: cannot read cgroup statistics", dir);

        printf("version=%d\n", (int) s.version);
        print_u64("current", s.current);
        if (s.have & CGSTAT_HAVE_PEAK)
                print_u64("peak", s.peak);
        if (s.have & CGSTAT_HAVE_STAT) {
                print_u64("anon", s.anon);
                print_u64("file", s.file);
                print_u64("shmem", s.shmem);
        }
        if (s.have & CGSTAT_HAVE_EVENTS_HIGH)
                print_u64("events_high", s.events_high);
        if (s.have & CGSTAT_HAVE_EVENTS_MAX)
                print_u64("events_max", s.events_max);
        if (s.have & CGSTAT_HAVE_EVENTS_OOM)
                print_u64("events_oom", s.events_oom);
        if (s.have & CGSTAT_HAVE_EVENTS_OOM_KILL)
                print_u64("events_oom_kill", s.events_oom_kill);
        if (s.have & CGSTAT_HAVE_PRESSURE)
                printf("pressure_some_avg10=%u.%02u\npressure_some_total=%" PRIu64 "\n", s.pressure.some.avg10 / 100,
                       s.pressure.some.avg10 % 100, s.pressure.some.total_usec);
        if (s.have & CGSTAT_HAVE_MIN)
                print_u64("min", s.min);
        if (s.have & CGSTAT_HAVE_HIGH)
                print_u64("high", s.high);
        if (s.have & CGSTAT_HAVE_MAX)
                print_u64("max", s.max);
        if (s.have & CGSTAT_HAVE_PROCS)
                print_u64("nr_procs", s.nr_procs);
        return 0;
}

static int cmd_detect(const char *mountinfo, const char *sysroot) {
        CgroupHierarchy h;
        int r = cgroup_detect(mountinfo, sysroot, &h);
        if (r < 0)
                return log_error_errno(r, "cannot detect the cgroup hierarchy");
        printf("layout=%s\nmemory_version=%d\nmemory_mount=%s\nunified_mount=%s\ncpuset_mount=%s\nsystemd=%s\n",
               cgroup_layout_to_string(h.layout), (int) h.memory_version, h.memory_mount,
               h.unified_mount ? h.unified_mount : "", h.cpuset_mount ? h.cpuset_mount : "",
               h.systemd ? "yes" : "no");
        cgroup_detect_done(&h);
        return 0;
}

static void *hold_thread(void *arg) {
        sleep((unsigned) (uintptr_t) arg);
        return NULL;
}

/* A process with two threads, so tests can see that attaching moves all
 * of them. */
static int cmd_hold(const char *seconds) {
        char *e;
        errno = 0;
        unsigned long s = strtoul(seconds, &e, 10);
        if (errno != 0 || *e || s == 0 || s > 86400)
                return -EINVAL;
        pthread_t t;
        int r = pthread_create(&t, NULL, hold_thread, (void *) (uintptr_t) s);
        if (r != 0)
                return -r;
        sleep((unsigned) s);
        return 0;
}

static int ref_args(char **argv, const char **unit, const char **cgroup) {
        if (strcmp(argv[0], "unit") == 0)
                *unit = argv[1];
        else if (strcmp(argv[0], "cgroup") == 0)
                *cgroup = argv[1];
        else
                return -EINVAL;
        return 0;
}

static int run(CgroupDriver *d, int argc, char **argv) {
        const char *cmd = argv[0];
        int r;

        if (strcmp(cmd, "info") == 0 && argc == 1) {
                _cleanup_free_ char *parent = NULL;
                r = cgroup_driver_parent_path(d, &parent);
                if (r < 0)
                        return r;
                unsigned f = cgroup_driver_features(d);
                printf("driver=%s\nversion=%d\nfeatures=%s%s%s\nparent=%s\n", cgroup_driver_name(d),
                       (int) cgroup_driver_version(d), f & CGROUP_FEATURE_MIN ? "min," : "",
                       f & CGROUP_FEATURE_HIGH ? "high," : "", f & CGROUP_FEATURE_MEMS ? "mems," : "", parent);
                return 0;
        }
        if (strcmp(cmd, "parent") == 0 && argc == 2) {
                uint64_t max;
                if (parse_size(argv[1], &max) < 0)
                        return -EINVAL;
                return cgroup_driver_apply_parent(d, max);
        }
        if (strcmp(cmd, "apply") == 0 && (argc == 5 || argc == 6)) {
                PoolLimits l = {};
                if (parse_size(argv[2], &l.min) < 0 || parse_size(argv[3], &l.high) < 0 ||
                    parse_size(argv[4], &l.max) < 0)
                        return -EINVAL;
                if (argc == 6 && nodeset_parse(argv[5], &l.mems) < 0)
                        return -EINVAL;
                return cgroup_driver_apply_pool(d, argv[1], &l);
        }
        if (strcmp(cmd, "set-high") == 0 && argc == 3) {
                uint64_t high;
                if (parse_size(argv[2], &high) < 0)
                        return -EINVAL;
                return cgroup_driver_set_high(d, argv[1], high);
        }
        if (strcmp(cmd, "list") == 0 && argc == 1) {
                _cleanup_(cgroup_strv_freep) char **l = NULL;
                r = cgroup_driver_list_pools(d, &l);
                if (r < 0)
                        return r;
                for (char **p = l; *p; p++)
                        printf("%s\n", *p);
                return 0;
        }
        if ((strcmp(cmd, "path") == 0 && argc == 2) || (strcmp(cmd, "parent-path") == 0 && argc == 1)) {
                _cleanup_free_ char *p = NULL;
                r = argc == 2 ? cgroup_driver_pool_path(d, argv[1], &p) : cgroup_driver_parent_path(d, &p);
                if (r < 0)
                        return r;
                printf("%s\n", p);
                return 0;
        }
        if (strcmp(cmd, "attach") == 0 && argc == 3) {
                char *e;
                errno = 0;
                long pid = strtol(argv[2], &e, 10);
                if (errno != 0 || *e || pid <= 0 || pid > INT32_MAX)
                        return -EINVAL;
                return cgroup_driver_attach(d, argv[1], (pid_t) pid);
        }
        if (strcmp(cmd, "reserve-path") == 0 && argc == 3) {
                const char *unit = NULL, *cgroup = NULL;
                _cleanup_free_ char *p = NULL;
                if (ref_args(argv + 1, &unit, &cgroup) < 0)
                        return -EINVAL;
                r = cgroup_driver_reserve_path(d, unit, cgroup, &p);
                if (r < 0)
                        return r;
                printf("%s\n", p);
                return 0;
        }
        if (strcmp(cmd, "protect") == 0 && argc == 4) {
                const char *unit = NULL, *cgroup = NULL;
                uint64_t min;
                if (ref_args(argv + 1, &unit, &cgroup) < 0 || parse_size(argv[3], &min) < 0)
                        return -EINVAL;
                return cgroup_driver_protect(d, unit, cgroup, min);
        }
        return -EBADRQC; /* unknown command: usage */
}

int main(int argc, char **argv) {
        CgroupDriverKind kind = CGROUP_DRIVER_AUTO;
        const char *root = NULL;
        int c;

        log_set_ident("cgtool");
        while ((c = getopt(argc, argv, "+d:r:v")) >= 0)
                switch (c) {
                case 'd':
                        if (strcmp(optarg, "auto") == 0)
                                kind = CGROUP_DRIVER_AUTO;
                        else if (strcmp(optarg, "systemd") == 0)
                                kind = CGROUP_DRIVER_SYSTEMD;
                        else if (strcmp(optarg, "cgroupfs") == 0)
                                kind = CGROUP_DRIVER_CGROUPFS;
                        else
                                return usage();
                        break;
                case 'r':
                        root = optarg;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return usage();
                }
        argc -= optind;
        argv += optind;
        if (argc < 1)
                return usage();

        /* The commands that need no driver. */
        if (strcmp(argv[0], "hold") == 0)
                return argc == 2 ? (cmd_hold(argv[1]) < 0) : usage();
        if (strcmp(argv[0], "stat") == 0)
                return argc == 2 ? (cmd_stat(argv[1]) < 0) : usage();
        if (strcmp(argv[0], "detect") == 0)
                return argc <= 3 ? (cmd_detect(argc > 1 ? argv[1] : NULL, argc > 2 ? argv[2] : NULL) < 0)
                                 : usage();

        _cleanup_(cgroup_driver_freep) CgroupDriver *d = NULL;
        int r = cgroup_driver_open(kind, root, &d);
        if (r < 0) {
                log_error_errno(r, "cannot open the %s cgroup driver", cgroup_driver_to_string(kind));
                return 1;
        }
        r = run(d, argc, argv);
        if (r == -EBADRQC)
                return usage();
        if (r < 0) {
                log_error_errno(r, "%s failed", argv[0]);
                return 1;
        }
        return 0;
}
