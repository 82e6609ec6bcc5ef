/* SPDX-License-Identifier: MIT */
#pragma once

/* Which cgroup hierarchy the memory controller is on, found from a
 * mountinfo file (not from libcgroup: 2.0.2 has no mode API, and its
 * cgroup_get_current_controller_path() fails on v2). Takes its inputs as
 * paths so tests feed it fixture files. */

#include <stdbool.h>

#include "cgroup.h"

typedef enum CgroupLayout {
        CGROUP_LAYOUT_UNIFIED, /* memory on cgroup2 (usually at /sys/fs/cgroup) */
        CGROUP_LAYOUT_HYBRID,  /* memory on v1, and a cgroup2 mount beside it (/sys/fs/cgroup/unified) */
        CGROUP_LAYOUT_LEGACY,  /* memory on v1, no cgroup2 mount */
        _CGROUP_LAYOUT_MAX,
} CgroupLayout;

typedef struct CgroupHierarchy {
        CgroupLayout layout;
        CgroupVersion memory_version;
        char *memory_mount;  /* where the memory controller's hierarchy is mounted */
        char *unified_mount; /* the first cgroup2 mount; NULL if none */
        char *cpuset_mount;  /* the cpuset controller's hierarchy; NULL if none */
        CgroupVersion cpuset_version;
        bool systemd;        /* systemd is PID 1 (what sd_booted() checks) */
} CgroupHierarchy;

/* Reads MOUNTINFO (as /proc/self/mountinfo; NULL = that file) and, for a
 * cgroup2 mount, SYSROOT + <mount>/cgroup.controllers to see whether memory
 * and cpuset are on it (SYSROOT NULL = "/"); systemd counts as PID 1 when
 * SYSROOT/run/systemd/system is a directory. On a cgroup2 mount whose
 * cgroup.controllers cannot be read, memory counts as there when no v1
 * hierarchy has it (a controller is bound to one hierarchy only).
 * Returns 0, -ENOENT (no hierarchy has the memory controller), -EBADMSG (a
 * malformed mountinfo line), -ENOMEM, or -errno from opening MOUNTINFO. */
int cgroup_detect(const char *mountinfo, const char *sysroot, CgroupHierarchy *ret);

/* Frees the strings of H; H may be reused afterwards. */
void cgroup_detect_done(CgroupHierarchy *h);

/* "unified", "hybrid", "legacy". */
const char *cgroup_layout_to_string(CgroupLayout l);

/* Unescapes a mountinfo path field in place ("\040" → ' ', as the kernel's
 * seq_path escapes space, tab, newline and backslash). Returns 0 or -EBADMSG
 * for a bad escape. */
int cgroup_detect_unescape(char *s);
