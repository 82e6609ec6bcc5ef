/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cgroup-util.h"
#include "log.h"
#include "macro.h"

bool cgroup_pool_name_is_valid(const char *s) {
        if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        size_t n = 1;
        for (const char *p = s + 1; *p; p++, n++) {
                if (n >= POOL_NAME_MAX)
                        return false;
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        }
        return true;
}

bool cgroup_path_is_valid(const char *s) {
        if (!s)
                return false;
        if (*s == '/')
                s++;
        if (!*s || strlen(s) >= 4095)
                return false;

        for (const char *p = s; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (p[i] <= ' ' || p[i] >= 0x7f)
                                return false;
                p += n;
                if (*p == '/') {
                        p++;
                        if (!*p) /* a trailing '/' */
                                return false;
                }
        }
        return true;
}

char **cgroup_strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

static int strv_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void cgroup_strv_sort(char **l) {
        size_t n = 0;
        while (l[n])
                n++;
        qsort(l, n, sizeof(char *), strv_cmp);
}

int cgroup_strv_push(char ***l, size_t *n, const char *s) {
        char **nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        if (!(nl[*n] = strdup(s))) {
                nl[*n] = NULL;
                return -ENOMEM;
        }
        nl[++*n] = NULL;
        return 0;
}

int cgroup_hierarchy_copy(const CgroupHierarchy *h, CgroupHierarchy *ret) {
        CgroupHierarchy c = *h;
        c.memory_mount = h->memory_mount ? strdup(h->memory_mount) : NULL;
        c.unified_mount = h->unified_mount ? strdup(h->unified_mount) : NULL;
        c.cpuset_mount = h->cpuset_mount ? strdup(h->cpuset_mount) : NULL;
        if ((h->memory_mount && !c.memory_mount) || (h->unified_mount && !c.unified_mount) ||
            (h->cpuset_mount && !c.cpuset_mount)) {
                cgroup_detect_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int cgroup_driver_open(CgroupDriverKind kind, const char *cgroup_root, CgroupDriver **ret) {
        CgroupHierarchy h;
        int r = cgroup_detect(NULL, NULL, &h);
        if (r < 0)
                return log_debug_errno(r, "cannot find the cgroup memory hierarchy");

        switch (kind) {
        case CGROUP_DRIVER_SYSTEMD:
                r = h.systemd ? cgroup_systemd_open(&h, NULL, ret) : -EOPNOTSUPP;
                break;
        case CGROUP_DRIVER_CGROUPFS:
                r = cgroup_cgroupfs_open(&h, cgroup_root, ret);
                break;
        case CGROUP_DRIVER_AUTO:
                if (h.systemd) {
                        r = cgroup_systemd_open(&h, NULL, ret);
                        if (r >= 0)
                                break;
                        log_debug_errno(r, "systemd is PID 1 but its manager does not answer, using cgroupfs");
                }
                r = cgroup_cgroupfs_open(&h, cgroup_root, ret);
                break;
        default:
                r = -EINVAL;
        }
        cgroup_detect_done(&h);
        return r;
}

CgroupDriver *cgroup_driver_free(CgroupDriver *d) {
        if (!d)
                return NULL;
        cgroup_detect_done(&d->hierarchy);
        d->ops->free(d);
        return NULL;
}

const char *cgroup_driver_name(const CgroupDriver *d) {
        return d->ops->name;
}

CgroupVersion cgroup_driver_version(const CgroupDriver *d) {
        return d->hierarchy.memory_version;
}

unsigned cgroup_driver_features(const CgroupDriver *d) {
        return d->features;
}

int cgroup_driver_apply_parent(CgroupDriver *d, uint64_t max_bytes) {
        return d->ops->apply_parent(d, max_bytes);
}

int cgroup_driver_apply_pool(CgroupDriver *d, const char *pool, const PoolLimits *l) {
        if (!cgroup_pool_name_is_valid(pool) || !l)
                return -EINVAL;
        return d->ops->apply_pool(d, pool, l);
}

int cgroup_driver_set_high(CgroupDriver *d, const char *pool, uint64_t high) {
        if (!cgroup_pool_name_is_valid(pool))
                return -EINVAL;
        return d->ops->set_high(d, pool, high);
}

int cgroup_driver_list_pools(CgroupDriver *d, char ***ret) {
        char **l = NULL;
        int r = d->ops->list_pools(d, &l);
        if (r < 0)
                return r;
        cgroup_strv_sort(l);
        *ret = l;
        return 0;
}

int cgroup_driver_parent_path(CgroupDriver *d, char **ret) {
        return d->ops->parent_path(d, ret);
}

int cgroup_driver_pool_path(CgroupDriver *d, const char *pool, char **ret) {
        if (!cgroup_pool_name_is_valid(pool))
                return -EINVAL;
        return d->ops->pool_path(d, pool, ret);
}

int cgroup_driver_attach(CgroupDriver *d, const char *pool, pid_t pid) {
        if (!cgroup_pool_name_is_valid(pool) || pid <= 0)
                return -EINVAL;
        return d->ops->attach(d, pool, pid);
}

static int check_ref(const char *unit, const char *cgroup) {
        if (!!unit == !!cgroup)
                return -EINVAL;
        if (cgroup && !cgroup_path_is_valid(cgroup))
                return -EINVAL;
        return 0;
}

int cgroup_driver_reserve_path(CgroupDriver *d, const char *unit, const char *cgroup, char **ret) {
        int r = check_ref(unit, cgroup);
        if (r < 0)
                return r;
        return d->ops->reserve_path(d, unit, cgroup, ret);
}

int cgroup_driver_protect(CgroupDriver *d, const char *unit, const char *cgroup, uint64_t min_bytes) {
        int r = check_ref(unit, cgroup);
        if (r < 0)
                return r;
        return d->ops->protect(d, unit, cgroup, min_bytes);
}

int cgroup_driver_pools_inside_self(CgroupDriver *d, const char *self_cgroup, char **ret_own) {
        _cleanup_free_ char *text = NULL, *parent = NULL, *own = NULL;
        const char *rel;
        int r;

        const char *path = self_cgroup ? self_cgroup : "/proc/self/cgroup";
        _cleanup_free_ char *dir = strdup(path), *name = NULL;
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        r = cgroup_util_read_file(*dir ? dir : "/", slash + 1, &text);
        if (r < 0)
                return r;
        r = cgroup_util_own_memory_cgroup(text, d->hierarchy.memory_version == CGROUP_VERSION_V1 ? 1 : 2, &rel);
        if (r < 0)
                return r;
        own = cgroup_util_path_join(d->hierarchy.memory_mount, rel);
        if (!own)
                return -ENOMEM;
        r = d->ops->parent_path(d, &parent);
        if (r < 0)
                return r;
        bool inside = strcmp(rel, "/") != 0 && cgroup_util_path_below(parent, own) != NULL;
        if (ret_own)
                *ret_own = TAKE_PTR(own);
        return inside;
}
