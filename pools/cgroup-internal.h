/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by cgroup.c and the two drivers; tests include it to reach the
 * drivers' open functions and pure helpers. Not for the rest of poold. */

#include <stddef.h>

#include "cgroup-detect.h"
#include "cgroup.h"

/* The systemd manager's private socket: a peer-to-peer connection, not a bus
 * (no Hello; root only), which works where no dbus-daemon runs. */
#define CGROUP_SYSTEMD_PRIVATE_ADDRESS "unix:path=/run/systemd/private"

typedef struct CgroupDriverOps {
        const char *name;
        void (*free)(CgroupDriver *d);
        int (*apply_parent)(CgroupDriver *d, uint64_t max);
        int (*apply_pool)(CgroupDriver *d, const char *pool, const PoolLimits *l);
        int (*set_high)(CgroupDriver *d, const char *pool, uint64_t high);
        int (*list_pools)(CgroupDriver *d, char ***ret);
        int (*parent_path)(CgroupDriver *d, char **ret);
        int (*pool_path)(CgroupDriver *d, const char *pool, char **ret);
        int (*attach)(CgroupDriver *d, const char *pool, pid_t pid);
        int (*reserve_path)(CgroupDriver *d, const char *unit, const char *cgroup, char **ret);
        int (*protect)(CgroupDriver *d, const char *unit, const char *cgroup, uint64_t min);
} CgroupDriverOps;

/* Each driver's own struct starts with this one. */
struct CgroupDriver {
        const CgroupDriverOps *ops;
        CgroupHierarchy hierarchy;
        unsigned features;
};

/* Opens the systemd driver on hierarchy H (copied). ADDRESS: an sd-bus
 * address to use alone (tests: a fake manager); NULL = the private socket,
 * then the system bus. Returns 0 or -errno of connecting. */
int cgroup_systemd_open(const CgroupHierarchy *h, const char *address, CgroupDriver **ret);

/* Opens the cgroupfs driver on hierarchy H (copied) under ROOT (NULL = the
 * memory mount). Returns 0, -EINVAL (ROOT relative or outside the memory
 * hierarchy), -ENOENT (ROOT missing), or -errno from libcgroup. */
int cgroup_cgroupfs_open(const CgroupHierarchy *h, const char *root, CgroupDriver **ret);

/* One control file write the cgroupfs driver plans for a pool. */
typedef struct CgroupfsValue {
        const char *controller; /* "memory", "cpuset" */
        const char *file;       /* "memory.max", ... */
        char value[NODESET_FMT_MAX];
} CgroupfsValue;

#define CGROUPFS_VALUES_MAX 4

/* The libcgroup writes that give a pool limits L on hierarchy VERSION with
 * FEATURES (CgroupFeature bits; fields without their bit are left out; empty
 * mems write nothing: the driver resets an earlier list itself). Pure.
 * Returns the number of entries written to RET. */
size_t cgroup_cgroupfs_plan(CgroupVersion version, unsigned features, const PoolLimits *l,
                            CgroupfsValue ret[static CGROUPFS_VALUES_MAX]);

/* Fills the AllowedMemoryNodes= byte array as systemd reads it (bit i of
 * byte j = node 8j+i) for S: writes the number of bytes used (0 for an
 * empty set) to RET_N. Pure. */
void cgroup_systemd_nodes_to_bytes(const NodeSet *s, uint8_t ret[static NODESET_MAX / 8], size_t *ret_n);

/* Copies H's strings. Returns 0 or -ENOMEM. */
int cgroup_hierarchy_copy(const CgroupHierarchy *h, CgroupHierarchy *ret);

/* Sorts L (NULL-terminated) in place. */
void cgroup_strv_sort(char **l);
/* Appends a copy of S to *L (of *N entries, NULL-terminated). Returns 0 or -ENOMEM. */
int cgroup_strv_push(char ***l, size_t *n, const char *s);
