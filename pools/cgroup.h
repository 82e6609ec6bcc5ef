/* SPDX-License-Identifier: MIT */
#pragma once

/* Enforcement through cgroups: one interface, two drivers.
 *
 * systemd (systemd is PID 1): pools are slices. poold.slice (MemoryMax =
 * poolable) holds one child slice per pool, poold-<pool>.slice, with
 * MemoryMin = min, MemoryHigh = high, MemoryMax = max and AllowedMemoryNodes
 * = mems, set through sd-bus (StartTransientUnit for a missing slice,
 * SetUnitProperties(runtime=true) for one that exists), so systemd stays the
 * single writer and the limits survive `systemctl daemon-reload`.
 *
 * cgroupfs (no systemd, or asked for): libcgroup creates <root>/poold/<pool>
 * and writes the limits itself. v2: memory.min/high/max and cpuset.mems.
 * v1: memory.limit_in_bytes = max and memory.soft_limit_in_bytes = high;
 * v1 has no memory.min and its cpuset is a separate hierarchy, so min and
 * mems are not enforced there (see cgroup_driver_features()).
 *
 * Pools never live inside poold.service's own cgroup, nothing here removes a
 * pool, and stopping poold leaves the limits in force: a new poold re-adopts
 * what cgroup_driver_list_pools() finds.
 *
 * Every call is synchronous: the systemd driver waits for systemd's job to
 * finish (up to CGROUP_JOB_TIMEOUT_USEC) before it returns, so the cgroup
 * exists with its limits when the call returns 0. Library code: logs at
 * debug level only. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h" /* CgroupDriverKind */
#include "nodeset.h"

/* How long the systemd driver waits for one job (a slice or scope start).
 * systemd finishes these in milliseconds; 30 s only covers a busy manager. */
#define CGROUP_JOB_TIMEOUT_USEC (30ULL * 1000000ULL)

typedef enum CgroupVersion {
        CGROUP_VERSION_V1 = 1,
        CGROUP_VERSION_V2 = 2,
} CgroupVersion;

/* What a driver on this host enforces beyond max (which every driver does). */
typedef enum CgroupFeature {
        CGROUP_FEATURE_MIN = 1 << 0,  /* PoolLimits.min (memory.min); never on v1 */
        CGROUP_FEATURE_HIGH = 1 << 1, /* PoolLimits.high is memory.high (v2); without it: v1 soft limit */
        CGROUP_FEATURE_MEMS = 1 << 2, /* PoolLimits.mems (cpuset.mems / AllowedMemoryNodes) */
} CgroupFeature;

typedef struct PoolLimits {
        uint64_t min;  /* guaranteed: memory.min / MemoryMin; 0 = none */
        uint64_t high; /* the target: memory.high / MemoryHigh (v1: soft limit); UINT64_MAX = none */
        uint64_t max;  /* the cap: memory.max / MemoryMax (v1: limit_in_bytes); UINT64_MAX = none */
        NodeSet mems;  /* allowed NUMA nodes; empty = all (the local policy) */
} PoolLimits;

typedef struct CgroupDriver CgroupDriver;

/* Opens a driver. KIND: CGROUP_DRIVER_AUTO picks systemd when systemd is PID 1
 * and its manager answers, cgroupfs otherwise. CGROUP_ROOT (cgroupfs only;
 * NULL = the memory hierarchy's mount point) is an absolute directory inside
 * the memory hierarchy under which <root>/poold/<pool> live; the systemd
 * driver ignores it. Returns 0, -ENOENT (no memory controller mounted),
 * -EINVAL (CGROUP_ROOT not inside the memory hierarchy, or relative),
 * -EOPNOTSUPP (systemd asked for but not PID 1), -ENOMEM, or the errno of
 * connecting to systemd (-ECONNREFUSED, -EACCES...). */
int cgroup_driver_open(CgroupDriverKind kind, const char *cgroup_root, CgroupDriver **ret);
/* Closes the bus connection and frees D. Accepts NULL; returns NULL. */
CgroupDriver *cgroup_driver_free(CgroupDriver *d);
static inline void cgroup_driver_freep(CgroupDriver **d) {
        if (*d)
                cgroup_driver_free(*d);
}

/* "systemd" or "cgroupfs". */
const char *cgroup_driver_name(const CgroupDriver *d);
/* The version of the hierarchy the memory controller is on. */
CgroupVersion cgroup_driver_version(const CgroupDriver *d);
/* The CgroupFeature bits this driver enforces on this host. */
unsigned cgroup_driver_features(const CgroupDriver *d);

/* Creates the parent of all pools if missing (poold.slice / <root>/poold)
 * and sets its cap (MemoryMax / memory.max / v1 limit_in_bytes) to
 * MAX_BYTES (UINT64_MAX = none). Call before the first apply_pool.
 * Returns 0 or -errno from systemd or the kernel (-EBUSY: v1 cannot shrink
 * below current usage). */
int cgroup_driver_apply_parent(CgroupDriver *d, uint64_t max_bytes);

/* Creates POOL's cgroup with limits L if it is missing, or changes the
 * limits of the existing one in place (members stay). Fields this driver
 * cannot enforce here (see cgroup_driver_features()) are skipped with a debug
 * log. Empty mems after a list: systemd resets AllowedMemoryNodes; cgroupfs
 * writes the parent's current cpuset.mems.effective (v2 refuses to empty the
 * mems of a populated cgroup). Returns 0, -EINVAL (bad pool name, or a value
 * the kernel refuses, e.g. a node that does not exist), -EBUSY (v1: max below
 * usage), or another -errno from systemd or the kernel; a cgroup this call
 * created is removed again when setting its limits fails, one that existed
 * keeps its members (and whichever limits were written before the refusal). */
int cgroup_driver_apply_pool(CgroupDriver *d, const char *pool, const PoolLimits *l);

/* Changes only POOL's target (memory.high / MemoryHigh; v1 cgroupfs:
 * soft_limit_in_bytes) on a pool that exists: the shrink ladder's step,
 * one write or one D-Bus call. Returns 0, -ENOENT (no such pool yet: use
 * cgroup_driver_apply_pool), -EOPNOTSUPP (the systemd driver on v1, which
 * has no MemoryHigh), or -errno. */
int cgroup_driver_set_high(CgroupDriver *d, const char *pool, uint64_t high);

/* Whether the pools' parent directory lies inside the memory cgroup this
 * process runs in (read from SELF_CGROUP, as /proc/self/cgroup; NULL = that
 * file), that cgroup not being the root: then stopping or killing poold's
 * service would take the pools' members with it. RET_OWN (may be NULL)
 * gets poold's own cgroup directory. Returns 1, 0, or -errno (-ENOENT: no
 * memory cgroup line). */
int cgroup_driver_pools_inside_self(CgroupDriver *d, const char *self_cgroup, char **ret_own);

/* The pools that exist now (active poold-<pool>.slice units / directories
 * under <root>/poold), sorted, as a NULL-terminated list to free with
 * cgroup_strv_free(); names that are not valid pool names are left out.
 * Returns 0 (an empty list when there is no parent yet) or -errno. */
int cgroup_driver_list_pools(CgroupDriver *d, char ***ret);

/* The directory of the parent of all pools, for cgstat_read(); it need not
 * exist yet. Returns 0 or -ENOMEM. */
int cgroup_driver_parent_path(CgroupDriver *d, char **ret);
/* The directory of POOL's cgroup, for cgstat_read(); it need not exist yet.
 * Returns 0, -EINVAL (bad pool name) or -ENOMEM. */
int cgroup_driver_pool_path(CgroupDriver *d, const char *pool, char **ret);

/* Moves process PID (all its threads) into POOL. systemd: a transient scope
 * poold-<pool>-<pid>.scope inside poold-<pool>.slice; cgroupfs: the pool's
 * cgroup itself. Returns 0 (also when PID is in that scope already),
 * -EINVAL (bad name or PID <= 0), -ENOENT (no such pool, or its slice is not
 * started: apply it first), -ESRCH (no such process), -EEXIST (systemd: that
 * scope exists and does not hold PID), or another -errno. */
int cgroup_driver_attach(CgroupDriver *d, const char *pool, pid_t pid);

/* Reserves tied to a cgroup: exactly one of UNIT (a systemd unit name) and
 * CGROUP (a path relative to the memory hierarchy's root, "/" or not) is
 * non-NULL. */

/* The directory to measure for such a reserve (it need not exist for a
 * CGROUP). Returns 0, -EINVAL (both or neither given, a bad path, or a unit
 * type without a cgroup such as .target), -ENOENT (the unit is not loaded or
 * has no cgroup now), -EOPNOTSUPP (UNIT with the cgroupfs driver), or -errno. */
int cgroup_driver_reserve_path(CgroupDriver *d, const char *unit, const char *cgroup, char **ret);

/* Protects such a reserve: memory.min = MIN_BYTES. systemd: MemoryMin as a
 * runtime property of the unit (for CGROUP: of the unit whose cgroup it is
 * exactly; a cgroup that is no unit's is written directly). cgroupfs: the
 * cgroup's memory.min. Returns 0, -EINVAL, -EOPNOTSUPP (cgroup v1 has no
 * memory.min; UNIT with the cgroupfs driver), -ENOENT (unit not loaded,
 * cgroup missing), or -errno. */
int cgroup_driver_protect(CgroupDriver *d, const char *unit, const char *cgroup, uint64_t min_bytes);

/* Returns true for a pool name this module accepts: [a-z][a-z0-9_]{0,31}.
 * Checked again here although the config checks it (defence in depth): the
 * name becomes a slice name, where '-' means nesting, and a directory name. */
bool cgroup_pool_name_is_valid(const char *s);

/* Returns true for a cgroup path below the hierarchy's root: components of
 * printable ASCII without spaces (systemd escapes as \x2d) that are not "."
 * or "..", separated by single '/'; one leading '/' allowed; not empty or
 * the root itself; at most 4095 bytes. */
bool cgroup_path_is_valid(const char *s);

/* Frees a NULL-terminated list of strings. Accepts NULL; returns NULL. */
char **cgroup_strv_free(char **l);
static inline void cgroup_strv_freep(char ***l) {
        if (*l)
                cgroup_strv_free(*l);
}
