/* SPDX-License-Identifier: MIT */
#pragma once

/* poold.conf: [Host], [Pressure], [Reserve NAME] and [Pool NAME] sections, read with
 * inih from a main file and its NAME.d/ *.conf drop-ins. Parsing and
 * validation are pure apart from reading the files; the result is a Config
 * that the budget turns into numbers. A failed load returns no Config: the
 * caller keeps the one it had. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "nodeset.h"
#include "size.h"

/* Names become unit and cgroup names: [a-z][a-z0-9_]{0,31}. */
#define POOL_NAME_MAX 32

/* Longest line (without its newline) a config file may have; a longer one is
 * an error with its file:line, never cut (inih would cut it at 200 bytes and
 * read the rest as a line of its own). */
#define CONFIG_LINE_MAX 4096

typedef enum PoolKind {
        POOL_KIND_CACHE,   /* may be shrunk to Min */
        POOL_KIND_WORKING, /* shrunk only after every cache pool is at Min */
        POOL_KIND_FIXED,   /* never shrunk; counted like a reserve */
        _POOL_KIND_MAX,
} PoolKind;

typedef enum NumaMode {
        NUMA_LOCAL, /* the kernel's default: no policy */
        NUMA_BIND,
        NUMA_INTERLEAVE,
        NUMA_PREFERRED,
        _NUMA_MODE_MAX,
} NumaMode;

typedef enum CgroupDriverKind {
        CGROUP_DRIVER_AUTO,
        CGROUP_DRIVER_SYSTEMD,
        CGROUP_DRIVER_CGROUPFS,
        _CGROUP_DRIVER_MAX,
} CgroupDriverKind;

typedef struct ConfLoc {
        const char *file; /* points into Config.files; NULL: not from a file */
        unsigned line;    /* 0: the key was not given */
} ConfLoc;

typedef struct NumaPolicy {
        NumaMode mode;
        NodeSet nodes; /* BIND, INTERLEAVE: the list; PREFERRED: one node */
} NumaPolicy;

typedef struct HostConf {
        uint64_t total;         /* Total=; 0 means auto (MemTotal) */
        SizeSpec slack;         /* Slack=; default 10% */
        CgroupDriverKind driver;
        char *cgroup_root;      /* CgroupRoot= for the cgroupfs driver; NULL = detect ("auto") */
        ConfLoc total_loc, slack_loc; /* where each key was last set */
} HostConf;

typedef struct ReserveConf {
        char name[POOL_NAME_MAX + 1];
        SizeSpec size; /* Size=, required */
        char *unit;    /* Unit=: a systemd unit whose cgroup is measured */
        char *cgroup;  /* Cgroup=: a cgroup path (relative to the hierarchy root) */
        bool protect;  /* Protect=yes: MemoryMin/memory.min = Size */
        ConfLoc loc;   /* the section header */
        ConfLoc size_loc, unit_loc, cgroup_loc, protect_loc; /* where each key was last set */
} ReserveConf;

typedef struct PoolConf {
        char name[POOL_NAME_MAX + 1];
        SizeSpec min;      /* Min=; default 0 */
        SizeSpec max;      /* Max=; default infinity (the pool may use all of poolable) */
        uint32_t weight;   /* Weight=; 1..10000, default 100 (as systemd's weights) */
        int32_t priority;  /* Priority=; -1000..1000, default 0; lower is shrunk first */
        PoolKind kind;     /* Kind=; default cache */
        NumaPolicy numa;   /* NUMA=; default local */
        bool hugepages;    /* HugePages=; default no: libpoold clients back the pool with THP */
        ConfLoc loc;       /* the section header */
        ConfLoc min_loc, max_loc, kind_loc, numa_loc; /* where each key was last set */
} PoolConf;

/* The [Pressure] section: the settings of the pressure controller
 * (policy/controller.h, where it is also known as PolicyConf). The defaults
 * are what config_pressure_defaults() writes; times are microseconds. */
typedef struct PressureConf {
        /* PSI triggers the daemon opens on /proc/pressure/memory and on each
         * pool's memory.pressure. 150 ms of some-stall in 1 s is the "some
         * 150000 1000000" of psi.rst's example and systemd-oomd's territory;
         * 50 ms full-stall in 1 s (5% thrashing) is lmkd's low end. */
        uint64_t some_stall_usec;         /* PressureSomeStall=   150ms */
        uint64_t full_stall_usec;         /* PressureFullStall=   50ms */
        uint64_t window_usec;             /* PressureWindow=      1s (falls back to 2s unprivileged) */
        /* MemAvailable is compared with this; unset means the budget's
         * slack, the memory kept free on purpose. */
        SizeSpec watermark;               /* Watermark=           (unset: [Host] Slack=) */
        /* Each shrink step frees this much beyond the measured deficit (of
         * poolable), so the next small allocation does not start another
         * step at once. */
        uint32_t shrink_extra_permyriad;  /* ShrinkExtra=         1% */
        /* On a fresh "full" PSI event while MemAvailable is above the
         * watermark (hot file pages, e.g. mmapped model weights, count as
         * available but thrash when reclaimed), take this much (of
         * poolable) from the ladder. */
        uint32_t pressure_step_permyriad; /* PressureStep=        5% */
        /* Sampling: lmkd polls every 10-100 ms under pressure. */
        uint64_t calm_interval_usec;      /* CalmInterval=        1s */
        uint64_t pressure_interval_usec;  /* PressureInterval=    100ms */
        /* How long clients get to free memory themselves before memory.high
         * is lowered; then how long the kernel's reclaim counts as in
         * flight (memory.high writes reclaim synchronously, so 2 s is
         * generous; anonymous memory without swap never settles). */
        uint64_t shrink_deadline_usec;    /* ShrinkDeadline=      200ms */
        uint64_t shrink_settle_usec;      /* ShrinkSettle=        2s */
        /* Grow back: calm this long first; doubled each time a pool must
         * shrink again within OscillationWindow of its last grow step (halved
         * back per quiet window), capped. */
        uint64_t grow_hold_usec;          /* GrowHold=            30s */
        uint64_t grow_hold_max_usec;      /* GrowHoldMax=         30min */
        uint32_t grow_step_permyriad;     /* GrowStep=            5% (of poolable, per step) */
        uint64_t grow_interval_usec;      /* GrowInterval=        5s (at most one step per) */
        uint64_t oscillation_window_usec; /* OscillationWindow=   5min */
} PressureConf;

/* The [Pressure] keys, in the order config_dump() writes them; indexes
 * Config.pressure_loc. */
typedef enum PressureKey {
        PRESSURE_SOME_STALL,
        PRESSURE_FULL_STALL,
        PRESSURE_WINDOW,
        PRESSURE_WATERMARK,
        PRESSURE_SHRINK_EXTRA,
        PRESSURE_STEP,
        PRESSURE_CALM_INTERVAL,
        PRESSURE_INTERVAL,
        PRESSURE_SHRINK_DEADLINE,
        PRESSURE_SHRINK_SETTLE,
        PRESSURE_GROW_HOLD,
        PRESSURE_GROW_HOLD_MAX,
        PRESSURE_GROW_STEP,
        PRESSURE_GROW_INTERVAL,
        PRESSURE_OSCILLATION_WINDOW,
        _PRESSURE_KEY_MAX,
} PressureKey;

typedef struct Config {
        HostConf host;
        PressureConf pressure;
        ConfLoc pressure_loc[_PRESSURE_KEY_MAX]; /* where each [Pressure] key was last set */
        ReserveConf *reserves;
        size_t n_reserves;
        PoolConf *pools;
        size_t n_pools;
        char **files; /* every file read, in order; ConfLoc.file points here */
        size_t n_files;
} Config;

/* A Config with every default and no reserves or pools. Returns 0 or -ENOMEM. */
int config_new(Config **ret);
Config *config_free(Config *c);
static inline void config_freep(Config **c) {
        if (*c)
                config_free(*c);
}

/* Errors go to DIAG, each one "FILE:LINE: [Section] Key=: what is wrong"
 * (or "FILE: ..." where no line applies). */

/* Adds one message in that form to DIAG (NULL: dropped). LOC, SECTION
 * ("[Pool data]") and KEY ("Min") may each be NULL. Returns 0 or -ENOMEM. */
int config_diag(Diag *diag, const ConfLoc *loc, const char *section, const char *key, const char *format, ...)
        _printf_(5, 6);

/* Reads PATH, then PATH.d/ *.conf in lexical order (later keys override
 * earlier ones), validates, and returns the Config. A missing PATH is an
 * error; a missing PATH.d is not. N_NODES is the number of NUMA nodes the
 * NUMA= lists are checked against (0: do not check).
 * Returns 0, -EINVAL (errors in DIAG, no Config), -ENOENT, -ENOMEM. */
int config_load(const char *path, unsigned n_nodes, Config **ret, Diag *diag);

/* Parses one file's text into C (as one more drop-in). NAME is used in
 * messages. Returns 0 or -EINVAL with the errors in DIAG; C is then
 * unspecified and must be freed. */
int config_parse_stream(Config *c, FILE *f, const char *name, Diag *diag);

/* Checks what single keys cannot: required keys, Min <= Max where both are
 * of one kind, NUMA nodes < N_NODES (0: skip), fixed pools, Unit=/Cgroup=/
 * Protect= together. Returns 0 or -EINVAL. */
int config_validate(const Config *c, unsigned n_nodes, Diag *diag);

/* Writes the [Pressure] defaults (PressureConf's comments). */
void config_pressure_defaults(PressureConf *ret);

/* The [Pressure] key's name ("PressureWindow"), NULL past the end. */
const char *pressure_key_to_string(PressureKey k);

/* Checks P's ranges: PressureWindow above 0 and at most 10 s (the kernel's
 * trigger limit); the stalls above 0 and at most the window; intervals,
 * deadline, settle, hold, grow interval and oscillation window above 0;
 * PressureInterval <= CalmInterval; GrowHold <= GrowHoldMax; percentages at
 * most 100%, GrowStep above 0; Watermark not infinity. LOCS is NULL or
 * _PRESSURE_KEY_MAX entries (Config.pressure_loc) saying where each key was
 * set: each problem is one message in DIAG, "FILE:LINE: [Pressure] Key=:
 * why", or "[Pressure] Key=: why" for a key not from a file. A problem
 * between two keys is reported at the one that was given (the first named
 * if both or neither were). Returns 0, -EINVAL, -ENOMEM. */
int config_pressure_validate(const PressureConf *p, const ConfLoc *locs, Diag *diag);

/* Prints C in normalized form (every key, defaults spelled out) as a valid
 * poold.conf that config_parse_stream() reads back to a config_equal() one. */
void config_dump(const Config *c, FILE *out);

/* A pool's effective Min and Max, defaults applied: Min 0, Max infinity; a
 * fixed pool's one size (its Max, or its Min if only Min was given) for
 * both. Use these, not PoolConf.min/max, to size a pool. */
SizeSpec config_pool_min(const PoolConf *p);
SizeSpec config_pool_max(const PoolConf *p);

/* True if A and B mean the same (file names and line numbers aside). */
bool config_equal(const Config *a, const Config *b);

const char *pool_kind_to_string(PoolKind k);
int pool_kind_from_string(const char *s); /* returns the kind or -EINVAL */
const char *cgroup_driver_to_string(CgroupDriverKind k);
int cgroup_driver_from_string(const char *s);

/* Returns true for [a-z][a-z0-9_]{0,31}. */
bool pool_name_is_valid(const char *s);

/* Parses "local", "bind:0-1", "interleave:0,2", "preferred:1" (one node).
 * Returns 0 or -EINVAL/-ERANGE. */
int numa_policy_parse(const char *s, NumaPolicy *ret);
/* Writes the form numa_policy_parse() reads. Returns BUF. */
char *numa_policy_format(const NumaPolicy *p, char buf[static NODESET_FMT_MAX + 16]);
