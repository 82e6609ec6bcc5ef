/* SPDX-License-Identifier: MIT */
/* The cgroupfs driver: <root>/poold/<pool> made and written with libcgroup
 * 2.0.2, where systemd is not PID 1 (or where the operator asks for it).
 * libcgroup names cgroups relative to each controller's mount point, so the
 * configured root is turned into such a name once, at open. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-errno.h"
#include "cgroup-internal.h"
#include "cgroup-util.h"
#include "log.h"
#include "macro.h"

#define PARENT_NAME "poold"

typedef struct CgroupfsDriver {
        CgroupDriver base;
        char *mount;       /* the memory controller's mount point, as libcgroup has it */
        char *root;        /* normalized absolute root, at or below mount */
        char *parent_name; /* libcgroup name of <root>/poold */
} CgroupfsDriver;

static CgroupfsDriver *to_fs(CgroupDriver *d) {
        return (CgroupfsDriver *) d;
}

static void cgroupp_free(struct cgroup **cg) {
        if (*cg)
                cgroup_free(cg);
}

static void dirp_close(DIR **d) {
        if (*d)
                closedir(*d);
}

static void fs_free(CgroupDriver *d) {
        CgroupfsDriver *f = to_fs(d);
        free(f->mount);
        free(f->root);
        free(f->parent_name);
        free(f);
}

static void format_limit(CgroupVersion v, uint64_t bytes, char buf[static NODESET_FMT_MAX]) {
        if (bytes == UINT64_MAX)
                /* "No limit": v2 reads "max"; v1 takes -1 (and reads back
                 * PAGE_COUNTER_MAX pages). */
                snprintf(buf, NODESET_FMT_MAX, "%s", v == CGROUP_VERSION_V2 ? "max" : "-1");
        else
                snprintf(buf, NODESET_FMT_MAX, "%" PRIu64, bytes);
}

size_t cgroup_cgroupfs_plan(CgroupVersion version, unsigned features, const PoolLimits *l,
                            CgroupfsValue ret[static CGROUPFS_VALUES_MAX]) {
        size_t n = 0;

        if (version == CGROUP_VERSION_V1) {
                /* v1 has no memory.min; the soft limit is the nearest thing to
                 * memory.high (reclaim towards it under global pressure). */
                ret[n] = (CgroupfsValue) { .controller = "memory", .file = "memory.soft_limit_in_bytes" };
                format_limit(version, l->high, ret[n++].value);
                ret[n] = (CgroupfsValue) { .controller = "memory", .file = "memory.limit_in_bytes" };
                format_limit(version, l->max, ret[n++].value);
        } else {
                if (features & CGROUP_FEATURE_MIN) {
                        ret[n] = (CgroupfsValue) { .controller = "memory", .file = "memory.min" };
                        format_limit(version, l->min, ret[n++].value);
                }
                ret[n] = (CgroupfsValue) { .controller = "memory", .file = "memory.high" };
                format_limit(version, l->high, ret[n++].value);
                ret[n] = (CgroupfsValue) { .controller = "memory", .file = "memory.max" };
                format_limit(version, l->max, ret[n++].value);
        }

        if (version == CGROUP_VERSION_V2 && (features & CGROUP_FEATURE_MEMS) && !nodeset_is_empty(&l->mems)) {
                ret[n] = (CgroupfsValue) { .controller = "cpuset", .file = "cpuset.mems" };
                nodeset_format(&l->mems, ret[n++].value);
        }
        return n;
}

/* The libcgroup name of a directory below the mount: "rel/poold/pool". */
static char *name_join(const char *a, const char *b) {
        if (!*a)
                return strdup(b);
        char *p;
        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

static bool dir_exists(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Makes the cgroup NAME (directory DIR) if missing and writes VALUES, or
 * writes them into the existing one. libcgroup checks values only after the
 * directory exists, so a create that fails leaves a half-made cgroup: it is
 * removed again. A group without values gets the memory controller only. */
static int ensure_cgroup(const char *name, const char *dir, const CgroupfsValue *values, size_t n) {
        _cleanup_(cgroupp_free) struct cgroup *cg = cgroup_new_cgroup(name);
        if (!cg)
                return -ENOMEM;

        if (!cgroup_add_controller(cg, "memory"))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct cgroup_controller *c = cgroup_get_controller(cg, values[i].controller);
                if (!c && !(c = cgroup_add_controller(cg, values[i].controller)))
                        return -ENOMEM;
                int r = cgroup_add_value_string(c, values[i].file, values[i].value);
                if (r != 0)
                        return cgroup_errno(r);
                log_debug("cgroup %s: %s=%s", dir, values[i].file, values[i].value);
        }

        bool existed = dir_exists(dir);
        int r = existed ? cgroup_modify_cgroup(cg) : cgroup_create_cgroup(cg, 0);
        if (r == 0)
                return 0;

        int err = cgroup_errno(r);
        log_debug_errno(err, "cgroup %s: cannot %s: libcgroup %d", dir, existed ? "set limits" : "create", r);
        if (!existed && dir_exists(dir)) {
                int k = cgroup_delete_cgroup(cg, 0);
                if (k != 0)
                        log_debug_errno(cgroup_errno(k), "cgroup %s: cannot remove the half-made cgroup, ignoring",
                                        dir);
        }
        return err;
}

static int fs_parent_path(CgroupDriver *d, char **ret) {
        char *p = cgroup_util_path_join(to_fs(d)->root, PARENT_NAME);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int fs_pool_path(CgroupDriver *d, const char *pool, char **ret) {
        _cleanup_free_ char *parent = NULL;
        int r = fs_parent_path(d, &parent);
        if (r < 0)
                return r;
        char *p = cgroup_util_path_join(parent, pool);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int fs_apply_parent(CgroupDriver *d, uint64_t max) {
        CgroupfsDriver *f = to_fs(d);
        CgroupVersion v = d->hierarchy.memory_version;
        CgroupfsValue val = {
                .controller = "memory",
                .file = v == CGROUP_VERSION_V2 ? "memory.max" : "memory.limit_in_bytes",
        };
        format_limit(v, max, val.value);

        _cleanup_free_ char *dir = NULL;
        int r = fs_parent_path(d, &dir);
        if (r < 0)
                return r;
        return ensure_cgroup(f->parent_name, dir, &val, 1);
}

static int fs_apply_pool(CgroupDriver *d, const char *pool, const PoolLimits *l) {
        CgroupfsDriver *f = to_fs(d);
        CgroupVersion v = d->hierarchy.memory_version;
        int r;

        _cleanup_free_ char *parent = NULL, *dir = NULL;
        r = fs_parent_path(d, &parent);
        if (r < 0)
                return r;
        if (!dir_exists(parent)) {
                r = ensure_cgroup(f->parent_name, parent, NULL, 0);
                if (r < 0)
                        return r;
        }
        r = fs_pool_path(d, pool, &dir);
        if (r < 0)
                return r;

        if (v == CGROUP_VERSION_V1 && l->min > 0)
                log_debug("pool %s: cgroup v1 has no memory.min, Min=%" PRIu64 " is not enforced", pool, l->min);
        if (!(d->features & CGROUP_FEATURE_MEMS) && !nodeset_is_empty(&l->mems))
                log_debug("pool %s: no cpuset controller on this hierarchy, memory nodes are not enforced", pool);

        CgroupfsValue values[CGROUPFS_VALUES_MAX];
        size_t n = cgroup_cgroupfs_plan(v, d->features, l, values);

        /* Back to all nodes after an earlier config set a list. An empty
         * cpuset.mems ("the parent's") cannot be had: libcgroup 2.0.2
         * writes a value line by line and "" has none (measured: the list
         * stayed), and the kernel refuses to empty the mems of a populated
         * cpuset (ENOSPC, measured in the VM). So the pool gets the
         * parent's current nodes, which is all of them unless the root is
         * restricted; a node added later by hotplug is not included. Only
         * where a list is set: an untouched pool needs no cpuset at all. */
        _cleanup_free_ char *mems = NULL, *parent_mems = NULL;
        if (nodeset_is_empty(&l->mems) && (d->features & CGROUP_FEATURE_MEMS) &&
            cgroup_util_read_file(dir, "cpuset.mems", &mems) >= 0 && mems[strspn(mems, "\n")] != '\0') {
                r = cgroup_util_read_file(parent, "cpuset.mems.effective", &parent_mems);
                if (r < 0)
                        return log_debug_errno(r, "cgroup %s: cannot read cpuset.mems.effective", parent);
                parent_mems[strcspn(parent_mems, "\n")] = '\0';
                if (strlen(parent_mems) >= NODESET_FMT_MAX)
                        return -E2BIG;
                values[n] = (CgroupfsValue) { .controller = "cpuset", .file = "cpuset.mems" };
                strcpy(values[n++].value, parent_mems);
        }

        _cleanup_free_ char *name = name_join(f->parent_name, pool);
        if (!name)
                return -ENOMEM;
        return ensure_cgroup(name, dir, values, n);
}

/* One file: memory.high (v1: memory.soft_limit_in_bytes) of an existing
 * pool, the shrink ladder's step. -ENOENT if the pool's cgroup is missing. */
static int fs_set_high(CgroupDriver *d, const char *pool, uint64_t high) {
        CgroupfsDriver *f = to_fs(d);
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r = fs_pool_path(d, pool, &dir);
        if (r < 0)
                return r;
        if (!dir_exists(dir))
                return -ENOENT;
        name = name_join(f->parent_name, pool);
        if (!name)
                return -ENOMEM;
        CgroupfsValue v = {
                .controller = "memory",
                .file = d->hierarchy.memory_version == CGROUP_VERSION_V1 ? "memory.soft_limit_in_bytes" : "memory.high",
        };
        snprintf(v.value, sizeof v.value, "%" PRIu64, high);
        return ensure_cgroup(name, dir, &v, 1);
}

static int fs_list_pools(CgroupDriver *d, char ***ret) {
        _cleanup_free_ char *parent = NULL;
        int r = fs_parent_path(d, &parent);
        if (r < 0)
                return r;

        _cleanup_(cgroup_strv_freep) char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!l)
                return -ENOMEM;

        _cleanup_(dirp_close) DIR *dir = opendir(parent);
        if (!dir) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = TAKE_PTR(l);
                return 0;
        }
        struct dirent *de;
        while ((errno = 0, de = readdir(dir))) {
                if (!cgroup_pool_name_is_valid(de->d_name))
                        continue;
                struct stat st;
                if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                r = cgroup_strv_push(&l, &n, de->d_name);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return negative_errno();
        *ret = TAKE_PTR(l);
        return 0;
}

static int fs_attach(CgroupDriver *d, const char *pool, pid_t pid) {
        CgroupfsDriver *f = to_fs(d);
        _cleanup_free_ char *dir = NULL;
        int r = fs_pool_path(d, pool, &dir);
        if (r < 0)
                return r;
        if (!dir_exists(dir))
                return -ENOENT;
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return -ESRCH;

        if (d->hierarchy.memory_version == CGROUP_VERSION_V1) {
                /* libcgroup 2.0.2 writes a v1 PID into "tasks", which moves
                 * that one thread: measured, a two-thread process left its
                 * second thread behind. cgroup.procs moves the whole thread
                 * group at once. */
                char buf[32];
                snprintf(buf, sizeof buf, "%d", (int) pid);
                return cgroup_util_write_file(dir, "cgroup.procs", buf);
        }

        _cleanup_free_ char *name = name_join(f->parent_name, pool);
        if (!name)
                return -ENOMEM;
        _cleanup_(cgroupp_free) struct cgroup *cg = cgroup_new_cgroup(name);
        if (!cg || !cgroup_add_controller(cg, "memory"))
                return -ENOMEM;
        /* On v2 libcgroup writes cgroup.procs: the whole process moves. */
        return cgroup_errno(cgroup_attach_task_pid(cg, pid));
}

static int fs_reserve_path(CgroupDriver *d, const char *unit, const char *cgroup, char **ret) {
        if (unit)
                return -EOPNOTSUPP;
        char *p = cgroup_util_path_join(to_fs(d)->mount, cgroup);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int fs_protect(CgroupDriver *d, const char *unit, const char *cgroup, uint64_t min) {
        if (unit || d->hierarchy.memory_version == CGROUP_VERSION_V1)
                return -EOPNOTSUPP;

        _cleanup_free_ char *dir = NULL;
        int r = fs_reserve_path(d, NULL, cgroup, &dir);
        if (r < 0)
                return r;
        if (!dir_exists(dir))
                return -ENOENT;

        CgroupfsValue val = { .controller = "memory", .file = "memory.min" };
        format_limit(CGROUP_VERSION_V2, min, val.value);
        while (*cgroup == '/')
                cgroup++;
        return ensure_cgroup(cgroup, dir, &val, 1);
}

static const CgroupDriverOps fs_ops = {
        .name = "cgroupfs",
        .free = fs_free,
        .apply_parent = fs_apply_parent,
        .apply_pool = fs_apply_pool,
        .set_high = fs_set_high,
        .list_pools = fs_list_pools,
        .parent_path = fs_parent_path,
        .pool_path = fs_pool_path,
        .attach = fs_attach,
        .reserve_path = fs_reserve_path,
        .protect = fs_protect,
};

static void fs_freep(CgroupfsDriver **f) {
        if (*f)
                cgroup_driver_free(&(*f)->base);
}

int cgroup_cgroupfs_open(const CgroupHierarchy *h, const char *root, CgroupDriver **ret) {
        int r;

        /* Without cgroup_init() every libcgroup call fails with 50014; it
         * reads the mount table once, so a later mount goes unseen. */
        r = cgroup_init();
        if (r != 0)
                return log_debug_errno(cgroup_errno(r), "libcgroup: cannot initialize");

        _cleanup_(fs_freep) CgroupfsDriver *f = calloc(1, sizeof(CgroupfsDriver));
        if (!f)
                return -ENOMEM;
        f->base.ops = &fs_ops;
        r = cgroup_hierarchy_copy(h, &f->base.hierarchy);
        if (r < 0)
                return r;

        char *mp = NULL;
        r = cgroup_get_subsys_mount_point("memory", &mp);
        if (r != 0)
                return log_debug_errno(cgroup_errno(r), "libcgroup: no memory controller mount");
        f->mount = cgroup_util_path_normalize(mp);
        free(mp);
        if (!f->mount)
                return -ENOMEM;
        if (strcmp(f->mount, h->memory_mount) != 0)
                log_debug("libcgroup has memory at %s, mountinfo at %s: following libcgroup", f->mount,
                          h->memory_mount);

        if (root && root[0] != '/')
                return -EINVAL;
        f->root = cgroup_util_path_normalize(root ? root : f->mount);
        if (!f->root)
                return -ENOMEM;
        const char *rel = cgroup_util_path_below(f->root, f->mount);
        if (!rel || (*rel && !cgroup_path_is_valid(rel)))
                return log_debug_errno(-EINVAL, "cgroup root %s is not inside the memory hierarchy at %s", f->root,
                                       f->mount);
        if (!dir_exists(f->root))
                return log_debug_errno(-ENOENT, "cgroup root %s does not exist", f->root);
        f->parent_name = name_join(rel, PARENT_NAME);
        if (!f->parent_name)
                return -ENOMEM;

        if (h->memory_version == CGROUP_VERSION_V2) {
                f->base.features = CGROUP_FEATURE_MIN | CGROUP_FEATURE_HIGH;
                /* cpuset.mems only where the root may hand cpuset down. */
                _cleanup_free_ char *controllers = NULL;
                if (cgroup_util_read_file(f->root, "cgroup.controllers", &controllers) >= 0) {
                        for (char *save = NULL, *t = strtok_r(controllers, " \n", &save); t;
                             t = strtok_r(NULL, " \n", &save))
                                if (strcmp(t, "cpuset") == 0)
                                        f->base.features |= CGROUP_FEATURE_MEMS;
                }
        }
        /* v1: max and the soft limit only. Its cpuset is a separate
         * hierarchy whose cgroups need cpus and mems before a task may
         * join, so mems are not enforced on v1. */

        log_debug("cgroupfs driver: %s, v%d, pools under %s/%s", cgroup_layout_to_string(h->layout),
                  (int) h->memory_version, f->root, PARENT_NAME);
        *ret = &TAKE_PTR(f)->base;
        return 0;
}
