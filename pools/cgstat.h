/* SPDX-License-Identifier: MIT */
#pragma once

/* Memory statistics of one cgroup directory, read the same way whichever
 * driver made it: the version is told by the files present (memory.current:
 * v2; memory.usage_in_bytes: v1), so a fixture tree works as well as
 * /sys/fs/cgroup. What a version or kernel lacks is flagged absent in
 * CgStat.have, never guessed.
 *
 *                 v2                          v1
 * current         memory.current              memory.usage_in_bytes
 * peak            memory.peak (5.19+)         memory.max_usage_in_bytes
 * anon/file/shmem memory.stat anon/file/shmem memory.stat total_rss/total_cache/total_shmem
 * events_high     memory.events high          (none)
 * events_max      memory.events max           memory.failcnt
 * events_oom      memory.events oom           (none)
 * events_oom_kill memory.events oom_kill      memory.oom_control oom_kill
 * pressure        memory.pressure             (none)
 * min/high/max    memory.min/high/max         (none)/memory.soft_limit_in_bytes/memory.limit_in_bytes
 * nr_procs        cgroup.procs of the directory and every directory below it
 */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"
#include "psi-parse.h" /* PsiStats */

typedef enum CgStatHave {
        CGSTAT_HAVE_PEAK = 1 << 0,
        CGSTAT_HAVE_STAT = 1 << 1, /* anon, file, shmem */
        CGSTAT_HAVE_EVENTS_HIGH = 1 << 2,
        CGSTAT_HAVE_EVENTS_MAX = 1 << 3,
        CGSTAT_HAVE_EVENTS_OOM = 1 << 4,
        CGSTAT_HAVE_EVENTS_OOM_KILL = 1 << 5,
        CGSTAT_HAVE_PRESSURE = 1 << 6,
        CGSTAT_HAVE_MIN = 1 << 7,
        CGSTAT_HAVE_HIGH = 1 << 8,
        CGSTAT_HAVE_MAX = 1 << 9,
        CGSTAT_HAVE_PROCS = 1 << 10,
} CgStatHave;

typedef struct CgStat {
        CgroupVersion version;
        unsigned have; /* CgStatHave bits: which fields below were read */
        uint64_t current;
        uint64_t peak; /* the kernel's high-water mark; without CGSTAT_HAVE_PEAK the caller tracks it */
        uint64_t anon, file, shmem; /* file includes shmem (tmpfs), as both kernels count it */
        uint64_t events_high, events_max, events_oom, events_oom_kill;
        PsiStats pressure;
        uint64_t min, high, max; /* limits in force; UINT64_MAX = none */
        uint64_t nr_procs;       /* processes in the directory and below (slices hold theirs in scopes) */
} CgStat;

/* The parts of the statistics cgstat_read_mask() reads, each one file or a
 * few (v2 / v1 names):
 *   usage     memory.current / memory.usage_in_bytes: always read, it tells the version
 *   PEAK      memory.peak / memory.max_usage_in_bytes
 *   STAT      memory.stat
 *   EVENTS    memory.events / memory.failcnt and memory.oom_control
 *   PRESSURE  memory.pressure (v2 only)
 *   LIMITS    memory.min, memory.high, memory.max / memory.soft_limit_in_bytes,
 *             memory.limit_in_bytes
 *   PROCS     cgroup.procs of the directory and every directory below it */
typedef enum CgStatRead {
        CGSTAT_READ_PEAK = 1 << 0,
        CGSTAT_READ_STAT = 1 << 1,
        CGSTAT_READ_EVENTS = 1 << 2,
        CGSTAT_READ_PRESSURE = 1 << 3,
        CGSTAT_READ_LIMITS = 1 << 4,
        CGSTAT_READ_PROCS = 1 << 5,
        CGSTAT_READ_ALL = (1 << 6) - 1,
        /* A periodic tick: usage and the event counters, 2 files on v2, 3
         * on v1 (memory.stat and the cgroup.procs walk are the dear parts:
         * the kernel sums v1's total_* over the subtree on every read). */
        CGSTAT_READ_TICK = CGSTAT_READ_EVENTS,
} CgStatRead;

/* A CgStat before any read: nothing had, no limits. */
#define CGSTAT_INIT \
        ((CgStat) { .min = UINT64_MAX, .high = UINT64_MAX, .max = UINT64_MAX })

/* Refreshes *RET from the cgroup directory DIR: the usage and version always,
 * and the parts in WHAT (CgStatRead bits), whose fields and CGSTAT_HAVE_ bits
 * are replaced (an optional file that is missing, or unreadable with
 * EOPNOTSUPP: PSI off, clears its bit); the other parts keep what *RET held.
 * Start *RET from CGSTAT_INIT or a cgstat_read(); its version, when set, is
 * tried first. The directory is opened once; each file then costs one
 * openat, one read and one close into a stack buffer, no allocation (PROCS
 * lists the directories below, where there are any, with a DIR).
 * Returns 0, -ENOENT (DIR missing, or no memory.current /
 * memory.usage_in_bytes in it: not a memory cgroup), -EBADMSG (a file that is
 * there does not parse), -EFBIG (a file longer than its buffer), or another
 * -errno of reading; on failure *RET is untouched. */
int cgstat_read_mask(const char *dir, unsigned what, CgStat *ret);

/* Reads all the statistics of the cgroup directory DIR into *RET:
 * cgstat_read_mask(DIR, CGSTAT_READ_ALL) from CGSTAT_INIT. Returns as
 * cgstat_read_mask(); on failure *RET is untouched. */
int cgstat_read(const char *dir, CgStat *ret);

/* Reads only the current usage of DIR (one file: for measuring reserves).
 * Returns 0, -ENOENT, -EBADMSG, or -errno. */
int cgstat_read_current(const char *dir, uint64_t *ret);

/* The peak to report when the caller tracks it: the larger of TRACKED, the
 * current usage and (with CGSTAT_HAVE_PEAK) the kernel's peak. Pure. */
uint64_t cgstat_peak_update(uint64_t tracked, const CgStat *s);
