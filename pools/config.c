/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "duration.h"
#include "log.h"
#include "macro.h"

#define WHITESPACE " \t\r\n\v\f"

static const char *const pool_kind_table[_POOL_KIND_MAX] = {
        [POOL_KIND_CACHE] = "cache",
        [POOL_KIND_WORKING] = "working",
        [POOL_KIND_FIXED] = "fixed",
};

static const char *const cgroup_driver_table[_CGROUP_DRIVER_MAX] = {
        [CGROUP_DRIVER_AUTO] = "auto",
        [CGROUP_DRIVER_SYSTEMD] = "systemd",
        [CGROUP_DRIVER_CGROUPFS] = "cgroupfs",
};

static const char *const numa_mode_table[_NUMA_MODE_MAX] = {
        [NUMA_LOCAL] = "local",
        [NUMA_BIND] = "bind",
        [NUMA_INTERLEAVE] = "interleave",
        [NUMA_PREFERRED] = "preferred",
};

const char *pool_kind_to_string(PoolKind k) {
        return k >= 0 && k < _POOL_KIND_MAX ? pool_kind_table[k] : NULL;
}

int pool_kind_from_string(const char *s) {
        for (int i = 0; i < _POOL_KIND_MAX; i++)
                if (strcmp(s, pool_kind_table[i]) == 0)
                        return i;
        return -EINVAL;
}

const char *cgroup_driver_to_string(CgroupDriverKind k) {
        return k >= 0 && k < _CGROUP_DRIVER_MAX ? cgroup_driver_table[k] : NULL;
}

int cgroup_driver_from_string(const char *s) {
        for (int i = 0; i < _CGROUP_DRIVER_MAX; i++)
                if (strcmp(s, cgroup_driver_table[i]) == 0)
                        return i;
        return -EINVAL;
}

bool pool_name_is_valid(const char *s) {
        if (!s || s[0] < 'a' || s[0] > 'z')
                return false;
        for (size_t i = 1; s[i]; i++) {
                if (i >= POOL_NAME_MAX)
                        return false;
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        }
        return true;
}

static const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int numa_policy_parse(const char *s, NumaPolicy *ret) {
        NumaPolicy p = { .mode = NUMA_LOCAL };
        const char *arg;
        int r;

        if (strcmp(s, "local") == 0) {
                *ret = p;
                return 0;
        }
        if ((arg = startswith(s, "bind:")))
                p.mode = NUMA_BIND;
        else if ((arg = startswith(s, "interleave:")))
                p.mode = NUMA_INTERLEAVE;
        else if ((arg = startswith(s, "preferred:")))
                p.mode = NUMA_PREFERRED;
        else
                return -EINVAL;

        r = nodeset_parse(arg, &p.nodes);
        if (r < 0)
                return r;
        /* MPOL_PREFERRED takes one node; "preferred many" is a newer kernel
         * feature that libnuma 2.0.16 does not expose. */
        if (p.mode == NUMA_PREFERRED && nodeset_count(&p.nodes) != 1)
                return -EINVAL;

        *ret = p;
        return 0;
}

char *numa_policy_format(const NumaPolicy *p, char buf[static NODESET_FMT_MAX + 16]) {
        char nodes[NODESET_FMT_MAX];

        if (p->mode <= NUMA_LOCAL || p->mode >= _NUMA_MODE_MAX)
                snprintf(buf, NODESET_FMT_MAX + 16, "local");
        else
                snprintf(buf, NODESET_FMT_MAX + 16, "%s:%s", numa_mode_table[p->mode], nodeset_format(&p->nodes, nodes));
        return buf;
}

/* Unit types that have a cgroup whose memory can be measured and protected
 * (a .target or .timer has none). */
static const char *const unit_types_with_cgroup[] = { "service", "scope", "slice", "socket", "mount", "swap" };

/* As systemd's unit_name_is_valid() for plain and instance names: at most 255
 * bytes, [A-Za-z0-9:_.\-] plus one '@' before a non-empty instance. Templates
 * ("foo@.service") name no running unit, so they are refused. */
static bool unit_name_is_valid(const char *s) {
        size_t len = strlen(s);
        const char *dot = strrchr(s, '.'), *at = NULL;
        bool type_ok = false;

        if (len == 0 || len > 255 || !dot || dot == s)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(unit_types_with_cgroup); i++)
                if (strcmp(dot + 1, unit_types_with_cgroup[i]) == 0)
                        type_ok = true;
        if (!type_ok)
                return false;

        for (const char *q = s; q < dot; q++) {
                char ch = *q;

                if (ch == '@') {
                        if (at)
                                return false;
                        at = q;
                        continue;
                }
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      strchr(":-_.\\", ch)))
                        return false;
        }
        if (at == s || (at && at + 1 == dot))
                return false;
        return true;
}

/* A cgroup path relative to the hierarchy root (one leading '/' allowed):
 * non-empty components, none "." or "..", no whitespace or control
 * characters (a value with a blank could not be written back into an INI
 * file unchanged), each at most NAME_MAX (255), at most PATH_MAX - 1 in all.
 * Nothing may point outside the tree. */
static bool cgroup_path_is_safe(const char *s) {
        if (strlen(s) >= 4096)
                return false;
        if (*s == '/')
                s++;
        if (*s == '\0')
                return false;

        for (;;) {
                size_t n = strcspn(s, "/");

                if (n == 0 || n > 255)
                        return false;
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char) s[i] <= ' ' || s[i] == 0x7f)
                                return false;
                if (s[n] == '\0')
                        return true;
                s += n + 1; /* a trailing '/' leaves an empty component: refused */
        }
}

static bool absolute_path_is_safe(const char *s) {
        return s[0] == '/' && cgroup_path_is_safe(s);
}

/* As systemd's parse_boolean(). Returns 1, 0 or -EINVAL. */
static int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

/* An integer in [LO, HI]: an optional '-' and digits only. Returns 0,
 * -EINVAL, -ERANGE. */
static int parse_int_range(const char *s, int64_t lo, int64_t hi, int64_t *ret) {
        bool neg = *s == '-';
        const char *d = s + neg;
        char *end;

        if (*d < '0' || *d > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(d, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v > (unsigned long long) INT64_MAX)
                return -ERANGE;
        int64_t x = neg ? -(int64_t) v : (int64_t) v;
        if (x < lo || x > hi)
                return -ERANGE;
        *ret = x;
        return 0;
}

static const char *const pressure_keys[_PRESSURE_KEY_MAX] = {
        [PRESSURE_SOME_STALL] = "PressureSomeStall",
        [PRESSURE_FULL_STALL] = "PressureFullStall",
        [PRESSURE_WINDOW] = "PressureWindow",
        [PRESSURE_WATERMARK] = "Watermark",
        [PRESSURE_SHRINK_EXTRA] = "ShrinkExtra",
        [PRESSURE_STEP] = "PressureStep",
        [PRESSURE_CALM_INTERVAL] = "CalmInterval",
        [PRESSURE_INTERVAL] = "PressureInterval",
        [PRESSURE_SHRINK_DEADLINE] = "ShrinkDeadline",
        [PRESSURE_SHRINK_SETTLE] = "ShrinkSettle",
        [PRESSURE_GROW_HOLD] = "GrowHold",
        [PRESSURE_GROW_HOLD_MAX] = "GrowHoldMax",
        [PRESSURE_GROW_STEP] = "GrowStep",
        [PRESSURE_GROW_INTERVAL] = "GrowInterval",
        [PRESSURE_OSCILLATION_WINDOW] = "OscillationWindow",
};

const char *pressure_key_to_string(PressureKey k) {
        return k >= 0 && k < _PRESSURE_KEY_MAX ? pressure_keys[k] : NULL;
}

void config_pressure_defaults(PressureConf *ret) {
        /* The why of each number is at PressureConf in config.h. */
        *ret = (PressureConf) {
                .some_stall_usec = 150 * DURATION_USEC_PER_MSEC,
                .full_stall_usec = 50 * DURATION_USEC_PER_MSEC,
                .window_usec = 1 * DURATION_USEC_PER_SEC,
                .watermark = { .kind = SIZE_UNSET },
                .shrink_extra_permyriad = 100,
                .pressure_step_permyriad = 500,
                .calm_interval_usec = 1 * DURATION_USEC_PER_SEC,
                .pressure_interval_usec = 100 * DURATION_USEC_PER_MSEC,
                .shrink_deadline_usec = 200 * DURATION_USEC_PER_MSEC,
                .shrink_settle_usec = 2 * DURATION_USEC_PER_SEC,
                .grow_hold_usec = 30 * DURATION_USEC_PER_SEC,
                .grow_hold_max_usec = 30 * 60 * DURATION_USEC_PER_SEC,
                .grow_step_permyriad = 500,
                .grow_interval_usec = 5 * DURATION_USEC_PER_SEC,
                .oscillation_window_usec = 5 * 60 * DURATION_USEC_PER_SEC,
        };
}

int config_new(Config **ret) {
        Config *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        /* 10% free on purpose: the kernel's own watermarks and page cache
         * need room, and a budget with no slack OOMs on the first spike. */
        c->host.slack = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 1000 };
        c->host.driver = CGROUP_DRIVER_AUTO;
        config_pressure_defaults(&c->pressure);
        *ret = c;
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->host.cgroup_root);
        for (size_t i = 0; i < c->n_reserves; i++) {
                free(c->reserves[i].unit);
                free(c->reserves[i].cgroup);
        }
        free(c->reserves);
        free(c->pools);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c);
        return NULL;
}

SizeSpec config_pool_min(const PoolConf *p) {
        if (p->kind == POOL_KIND_FIXED)
                return p->max.kind != SIZE_UNSET ? p->max : p->min;
        if (p->min.kind == SIZE_UNSET)
                return (SizeSpec) { .kind = SIZE_BYTES, .bytes = 0 };
        return p->min;
}

SizeSpec config_pool_max(const PoolConf *p) {
        if (p->kind == POOL_KIND_FIXED)
                return p->max.kind != SIZE_UNSET ? p->max : p->min;
        if (p->max.kind == SIZE_UNSET)
                return (SizeSpec) { .kind = SIZE_INFINITY };
        return p->max;
}

static SizeSpec config_slack(const Config *c) {
        if (c->host.slack.kind == SIZE_UNSET)
                return (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 1000 };
        return c->host.slack;
}

/* ---- messages ---- */

/* Adds "FILE:LINE: LABEL KEY=: MESSAGE" (the parts that are known) to DIAG.
 * Returns 0 or -ENOMEM. */
static int conf_errorv(Diag *diag, const ConfLoc *loc, const char *label, const char *key, const char *format,
                       va_list ap) _printf_(5, 0);
static int conf_errorv(Diag *diag, const ConfLoc *loc, const char *label, const char *key, const char *format,
                       va_list ap) {
        _cleanup_free_ char *msg = NULL;
        char where[64] = "";

        if (!diag)
                return 0;
        if (vasprintf(&msg, format, ap) < 0) {
                msg = NULL;
                return -ENOMEM;
        }
        if (!loc || !loc->file)
                /* Not from a file (a Config built in code, the budget's sums). */
                return diag_add(diag, "%s%s%s%s%s%s", label ? label : "", label && key ? " " : "", key ? key : "",
                                key ? "=" : "", label || key ? ": " : "", msg);
        if (loc->line > 0)
                snprintf(where, sizeof where, ":%u", loc->line);

        return diag_add(diag, "%s%s: %s%s%s%s%s%s", loc->file, where, label ? label : "", label && key ? " " : "",
                        key ? key : "", key ? "=" : "", label || key ? ": " : "", msg);
}

int config_diag(Diag *diag, const ConfLoc *loc, const char *label, const char *key, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        int r = conf_errorv(diag, loc, label, key, format, ap);
        va_end(ap);
        return r;
}

static const char *loc_to_string(const ConfLoc *loc, char buf[static 300]) {
        if (loc->file && loc->line > 0)
                snprintf(buf, 300, "%s:%u", loc->file, loc->line);
        else if (loc->file)
                snprintf(buf, 300, "%s", loc->file);
        else
                snprintf(buf, 300, "default");
        return buf;
}

/* ---- [Pressure] ranges ---- */

/* The kernel's own trigger limit (psi.rst: the window is 500 ms to 10 s);
 * the pure config does not depend on the PSI reader for it. */
#define PRESSURE_WINDOW_MAX_USEC (10 * DURATION_USEC_PER_SEC)

typedef struct PressureCheck {
        const ConfLoc *locs; /* NULL: nothing came from a file */
        Diag *diag;
        int r;
} PressureCheck;

static const ConfLoc *pressure_loc(const PressureCheck *pc, PressureKey k) {
        return pc->locs ? &pc->locs[k] : NULL;
}

static bool pressure_given(const PressureCheck *pc, PressureKey k) {
        return pc->locs && pc->locs[k].line > 0;
}

static void pressure_bad(PressureCheck *pc, PressureKey k, const char *format, ...) _printf_(3, 4);
static void pressure_bad(PressureCheck *pc, PressureKey k, const char *format, ...) {
        va_list ap;

        if (pc->r == -ENOMEM)
                return;
        va_start(ap, format);
        int r = conf_errorv(pc->diag, pressure_loc(pc, k), "[Pressure]", pressure_keys[k], format, ap);
        va_end(ap);
        pc->r = r < 0 ? r : -EINVAL;
}

/* Where the other key of a pair came from: "set at FILE:LINE" or "the
 * default". */
static const char *pressure_where(const PressureCheck *pc, PressureKey k, char buf[static 300]) {
        char where[300];

        if (!pressure_given(pc, k))
                snprintf(buf, 300, "the default");
        else
                snprintf(buf, 300, "set at %.280s", loc_to_string(pressure_loc(pc, k), where));
        return buf;
}

/* SMALL must not exceed LARGE (both durations). Reported at SMALL if it was
 * given or neither was, else at LARGE. */
static void pressure_check_order(PressureCheck *pc, PressureKey small, uint64_t small_usec, PressureKey large,
                                 uint64_t large_usec) {
        char a[DURATION_FMT_MAX], b[DURATION_FMT_MAX], where[300];

        if (small_usec <= large_usec)
                return;
        if (pressure_given(pc, small) || !pressure_given(pc, large))
                pressure_bad(pc, small, "%s must not exceed %s= (%s, %s)", duration_format(small_usec, a),
                             pressure_keys[large], duration_format(large_usec, b), pressure_where(pc, large, where));
        else
                pressure_bad(pc, large, "%s must not be below %s= (%s, %s)", duration_format(large_usec, b),
                             pressure_keys[small], duration_format(small_usec, a), pressure_where(pc, small, where));
}

int config_pressure_validate(const PressureConf *p, const ConfLoc *locs, Diag *diag) {
        PressureCheck pc = { .locs = locs, .diag = diag };
        const struct {
                PressureKey key;
                uint64_t usec;
        } positive[] = {
                { PRESSURE_SOME_STALL, p->some_stall_usec },
                { PRESSURE_FULL_STALL, p->full_stall_usec },
                { PRESSURE_CALM_INTERVAL, p->calm_interval_usec },
                { PRESSURE_INTERVAL, p->pressure_interval_usec },
                { PRESSURE_SHRINK_DEADLINE, p->shrink_deadline_usec },
                { PRESSURE_SHRINK_SETTLE, p->shrink_settle_usec },
                { PRESSURE_GROW_HOLD, p->grow_hold_usec },
                { PRESSURE_GROW_INTERVAL, p->grow_interval_usec },
                { PRESSURE_OSCILLATION_WINDOW, p->oscillation_window_usec },
        };
        const struct {
                PressureKey key;
                uint32_t permyriad;
        } percent[] = {
                { PRESSURE_SHRINK_EXTRA, p->shrink_extra_permyriad },
                { PRESSURE_STEP, p->pressure_step_permyriad },
                { PRESSURE_GROW_STEP, p->grow_step_permyriad },
        };
        char a[DURATION_FMT_MAX];

        if (p->window_usec == 0 || p->window_usec > PRESSURE_WINDOW_MAX_USEC)
                pressure_bad(&pc, PRESSURE_WINDOW, "%s: must be above 0 and at most 10s (the kernel's limit)",
                             duration_format(p->window_usec, a));
        for (size_t i = 0; i < ELEMENTSOF(positive); i++)
                if (positive[i].usec == 0)
                        pressure_bad(&pc, positive[i].key, "must be above 0");
        /* Only with a usable window, or one mistake would be three messages. */
        if (p->window_usec > 0 && p->window_usec <= PRESSURE_WINDOW_MAX_USEC) {
                if (p->some_stall_usec > 0)
                        pressure_check_order(&pc, PRESSURE_SOME_STALL, p->some_stall_usec, PRESSURE_WINDOW,
                                             p->window_usec);
                if (p->full_stall_usec > 0)
                        pressure_check_order(&pc, PRESSURE_FULL_STALL, p->full_stall_usec, PRESSURE_WINDOW,
                                             p->window_usec);
        }
        if (p->pressure_interval_usec > 0 && p->calm_interval_usec > 0)
                pressure_check_order(&pc, PRESSURE_INTERVAL, p->pressure_interval_usec, PRESSURE_CALM_INTERVAL,
                                     p->calm_interval_usec);
        if (p->grow_hold_usec > 0)
                pressure_check_order(&pc, PRESSURE_GROW_HOLD, p->grow_hold_usec, PRESSURE_GROW_HOLD_MAX,
                                     p->grow_hold_max_usec);

        if (p->watermark.kind == SIZE_INFINITY)
                pressure_bad(&pc, PRESSURE_WATERMARK, "must be a size or a percentage, not infinity");
        else if (p->watermark.kind == SIZE_PERCENT && p->watermark.permyriad > 10000)
                pressure_bad(&pc, PRESSURE_WATERMARK, "a percentage is at most 100%%");
        for (size_t i = 0; i < ELEMENTSOF(percent); i++)
                if (percent[i].permyriad > 10000)
                        pressure_bad(&pc, percent[i].key, "a percentage is at most 100%%");
        /* GrowStep=0 would hold a shrunk pool below its plan for ever. */
        if (p->grow_step_permyriad == 0)
                pressure_bad(&pc, PRESSURE_GROW_STEP, "must be above 0%%");

        return pc.r;
}

/* ---- the parser ---- */

enum { HOST_TOTAL, HOST_SLACK, HOST_DRIVER, HOST_ROOT, _HOST_KEY_MAX };
enum { RESERVE_SIZE, RESERVE_UNIT, RESERVE_CGROUP, RESERVE_PROTECT, _RESERVE_KEY_MAX };
enum { POOL_MIN, POOL_MAX, POOL_WEIGHT, POOL_PRIORITY, POOL_KIND, POOL_NUMA, POOL_HUGEPAGES, _POOL_KEY_MAX };
#define SECTION_KEYS_MAX _PRESSURE_KEY_MAX /* the largest section */

static const char *const host_keys[_HOST_KEY_MAX] = { "Total", "Slack", "CgroupDriver", "CgroupRoot" };
static const char *const reserve_keys[_RESERVE_KEY_MAX] = { "Size", "Unit", "Cgroup", "Protect" };
static const char *const pool_keys[_POOL_KEY_MAX] = { "Min", "Max", "Weight", "Priority", "Kind", "NUMA",
                                                        "HugePages" };

/* What the file being read did to one section: where it opened it and where
 * it set each key, so that a second [Pool x] or a second Min= in one file is
 * an error while a drop-in may override both. */
typedef struct FileSection {
        unsigned line; /* 0: not opened in this file */
        unsigned key_line[SECTION_KEYS_MAX];
} FileSection;

typedef enum SectionType {
        SECTION_NONE, /* before the first header */
        SECTION_HOST,
        SECTION_PRESSURE,
        SECTION_RESERVE,
        SECTION_POOL,
        SECTION_SKIP, /* a bad header: its keys mean nothing, so they are not checked */
} SectionType;

typedef struct Parser {
        Config *c;
        Diag *diag;
        const char *file;
        FILE *f;
        char *buf;
        size_t buf_size;
        unsigned line;

        SectionType section;
        size_t index;
        char label[POOL_NAME_MAX + 16]; /* "[Pool data]" */

        FileSection host;
        FileSection pressure;
        FileSection *reserves; /* indexed as c->reserves */
        FileSection *pools;
        size_t reserves_cap, pools_cap; /* allocated entries of c->reserves/pools and of these */

        unsigned n_errors;
        int error; /* -ENOMEM or a read error: stops with that code */
} Parser;

static void parser_error(Parser *p, const char *label, const char *key, const char *format, ...) _printf_(4, 5);
static void parser_error(Parser *p, const char *label, const char *key, const char *format, ...) {
        ConfLoc loc = { .file = p->file, .line = p->line };
        va_list ap;

        p->n_errors++;
        va_start(ap, format);
        int r = conf_errorv(p->diag, &loc, label, key, format, ap);
        va_end(ap);
        if (r < 0 && p->error == 0)
                p->error = r;
}

static ssize_t find_reserve(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_reserves; i++)
                if (strcmp(c->reserves[i].name, name) == 0)
                        return (ssize_t) i;
        return -1;
}

static ssize_t find_pool(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_pools; i++)
                if (strcmp(c->pools[i].name, name) == 0)
                        return (ssize_t) i;
        return -1;
}

/* Grows *ARRAY (and the parser's shadow FileSection array) to hold N + 1
 * entries, doubling, so thousands of sections do not cost a copy each. */
static int grow(void **array, FileSection **shadow, size_t *cap, size_t n, size_t size) {
        if (n + 1 <= *cap)
                return 0;
        size_t want = MAX(n + 1, *cap * 2);
        void *a = realloc(*array, want * size);
        if (!a)
                return -ENOMEM;
        *array = a;
        FileSection *s = realloc(*shadow, want * sizeof *s);
        if (!s)
                return -ENOMEM;
        memset(s + *cap, 0, (want - *cap) * sizeof *s);
        *shadow = s;
        *cap = want;
        return 0;
}

static void parser_open_named(Parser *p, bool is_pool, const char *name, const char *header) {
        Config *c = p->c;
        ConfLoc here = { .file = p->file, .line = p->line };
        char where[300];
        ssize_t other = is_pool ? find_reserve(c, name) : find_pool(c, name);

        if (other >= 0) {
                const ConfLoc *ol = is_pool ? &c->reserves[other].loc : &c->pools[other].loc;
                parser_error(p, header, NULL,
                             "the name \"%s\" is already used by [%s %s] at %s; reserves and pools share one "
                             "namespace (the names become cgroup names)",
                             name, is_pool ? "Reserve" : "Pool", name, loc_to_string(ol, where));
                p->section = SECTION_SKIP;
                return;
        }

        ssize_t i = is_pool ? find_pool(c, name) : find_reserve(c, name);
        FileSection *fs;

        if (i < 0) {
                int r;

                if (is_pool) {
                        r = grow((void **) &c->pools, &p->pools, &p->pools_cap, c->n_pools, sizeof *c->pools);
                        if (r < 0) {
                                p->error = r;
                                p->section = SECTION_SKIP;
                                return;
                        }
                        i = (ssize_t) c->n_pools++;
                        c->pools[i] = (PoolConf) {
                                .weight = 100,
                                .priority = 0,
                                .kind = POOL_KIND_CACHE,
                                .numa = { .mode = NUMA_LOCAL },
                                .loc = here,
                        };
                        strcpy(c->pools[i].name, name);
                } else {
                        r = grow((void **) &c->reserves, &p->reserves, &p->reserves_cap, c->n_reserves,
                                 sizeof *c->reserves);
                        if (r < 0) {
                                p->error = r;
                                p->section = SECTION_SKIP;
                                return;
                        }
                        i = (ssize_t) c->n_reserves++;
                        c->reserves[i] = (ReserveConf) { .loc = here };
                        strcpy(c->reserves[i].name, name);
                }
        }

        fs = is_pool ? &p->pools[i] : &p->reserves[i];
        if (fs->line > 0)
                parser_error(p, header, NULL, "section appears twice in this file (first at line %u)", fs->line);
        else
                fs->line = p->line;

        /* After a duplicate header the keys still go to the same section, so
         * that a key given in both blocks is reported too. */
        p->section = is_pool ? SECTION_POOL : SECTION_RESERVE;
        p->index = (size_t) i;
        snprintf(p->label, sizeof p->label, "[%s %s]", is_pool ? "Pool" : "Reserve", name);
}

/* Handles a section header line S (starting with '['), which inih never
 * reports to the handler. */
static void parser_section(Parser *p, const char *s) {
        _cleanup_free_ char *inner = NULL, *header = NULL;
        const char *end = strchr(s, ']');

        p->section = SECTION_SKIP;
        p->label[0] = '\0';

        if (!end) {
                parser_error(p, NULL, NULL, "section header without a closing ']'");
                return;
        }
        header = strndup(s, (size_t) (end - s + 1));
        inner = strndup(s + 1, (size_t) (end - s - 1));
        if (!header || !inner) {
                p->error = -ENOMEM;
                return;
        }

        const char *rest = end + 1 + strspn(end + 1, WHITESPACE);
        if (*rest != '\0' && *rest != ';' && *rest != '#') {
                parser_error(p, header, NULL, "text after the section header");
                return;
        }

        /* "[Pool data]": a keyword and at most one name, blanks around. */
        char *word = inner + strspn(inner, WHITESPACE);
        char *name = word + strcspn(word, WHITESPACE);
        bool extra = false;
        if (*name) {
                *name++ = '\0';
                name += strspn(name, WHITESPACE);
                char *e = name + strcspn(name, WHITESPACE);
                if (*e) {
                        *e++ = '\0';
                        extra = e[strspn(e, WHITESPACE)] != '\0';
                }
        }

        bool is_host = strcmp(word, "Host") == 0, is_pressure = strcmp(word, "Pressure") == 0,
             is_reserve = strcmp(word, "Reserve") == 0, is_pool = strcmp(word, "Pool") == 0;

        if (!is_host && !is_pressure && !is_reserve && !is_pool) {
                const char *hint = strcasecmp(word, "Host") == 0 || strcasecmp(word, "Pressure") == 0 ||
                                                   strcasecmp(word, "Reserve") == 0 || strcasecmp(word, "Pool") == 0
                                           ? " (section names are case-sensitive)"
                                           : "";
                parser_error(p, header, NULL,
                             "unknown section; expected [Host], [Pressure], [Reserve NAME] or [Pool NAME]%s", hint);
                return;
        }

        if (is_host || is_pressure) {
                FileSection *fs = is_host ? &p->host : &p->pressure;

                if (*name) {
                        parser_error(p, header, NULL, "[%s] takes no name", word);
                        return;
                }
                if (fs->line > 0)
                        parser_error(p, header, NULL, "section appears twice in this file (first at line %u)",
                                     fs->line);
                else
                        fs->line = p->line;
                p->section = is_host ? SECTION_HOST : SECTION_PRESSURE;
                snprintf(p->label, sizeof p->label, "[%s]", word);
                return;
        }

        if (!*name) {
                parser_error(p, header, NULL, "a name is missing: [%s NAME]", word);
                return;
        }
        if (extra) {
                parser_error(p, header, NULL, "a name is one word: [%s NAME]", word);
                return;
        }
        if (!pool_name_is_valid(name)) {
                parser_error(p, header, NULL,
                             "invalid name \"%s\": a name is a lowercase letter then up to 31 of a-z, 0-9, _ "
                             "(names become unit and cgroup names)",
                             name);
                return;
        }
        parser_open_named(p, is_pool, name, header);
}

/* The start of a "Key=..." line, for messages about lines that cannot be
 * read whole. Returns KEY or NULL. */
static const char *guess_key(const char *s, char key[static 33]) {
        size_t n = 0;

        while (n < 32 && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z')))
                n++;
        if (n == 0 || s[n + strspn(s + n, " \t")] != '=')
                return NULL;
        memcpy(key, s, n);
        key[n] = '\0';
        return key;
}

/* inih's fgets-style reader. It reads whole lines itself, counts them (the
 * handler gets no line number in Debian's build) and hands inih only
 * "Key=Value" lines; everything else it handles here and replaces with an
 * empty line:
 * - a Key=Value line longer than inih's buffer (NUM - 2 bytes without the
 *   newline) would be cut and its rest read as a line of its own: an error
 *   instead (comments may be longer: they never reach inih);
 * - a NUL byte would end the line early for inih: an error;
 * - section headers are handled here, because inih never reports them
 *   (INI_CALL_HANDLER_ON_NEW_SECTION is off), and a section with no keys
 *   is still a section;
 * - lines that are neither comment, header nor Key=Value are errors here,
 *   each with its line: inih would report only the first one. */
static char *parser_read(char *str, int num, void *userdata) {
        Parser *p = userdata;
        char key[33];

        if (p->error < 0 || num < 2)
                return NULL;

        errno = 0;
        ssize_t n = getline(&p->buf, &p->buf_size, p->f);
        if (n < 0) {
                if (ferror(p->f)) {
                        int e = errno > 0 ? errno : EIO;
                        parser_error(p, NULL, NULL, "read error: %s", strerror(e));
                        p->error = -e;
                }
                return NULL;
        }
        p->line++;

        char *l = p->buf;
        size_t len = (size_t) n;
        if (p->line == 1 && len >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
                l += 3;
                len -= 3;
        }
        if (len > 0 && l[len - 1] == '\n')
                len--;
        l[len] = '\0';

        if (memchr(l, '\0', len)) {
                parser_error(p, p->label[0] ? p->label : NULL, NULL, "line contains a NUL byte");
                goto skip;
        }

        /* Comments and headers never reach inih, so only Key=Value lines
         * are bound by its buffer. */
        const char *s = l + strspn(l, WHITESPACE);
        if (*s == '\0' || *s == ';' || *s == '#')
                goto skip;
        if (*s == '[') {
                parser_section(p, s);
                goto skip;
        }
        if ((size_t) num < 2 + len) {
                parser_error(p, p->label[0] ? p->label : NULL, guess_key(s, key),
                             "line is %zu bytes long, more than the %d a Key=Value line may have", len, num - 2);
                goto skip;
        }

        /* inih splits at the first '=' or ':' and takes ';' after a blank as
         * a comment. Only '=' is this format's separator. */
        const char *q = s;
        for (; *q; q++)
                if (*q == '=' || *q == ':' || (*q == ';' && q > s && strchr(WHITESPACE, q[-1])))
                        break;
        if (*q != '=') {
                parser_error(p, p->label[0] ? p->label : NULL, NULL,
                             "expected Key=Value, a [Section] header or a comment");
                goto skip;
        }
        if (q == s) {
                parser_error(p, p->label[0] ? p->label : NULL, NULL, "a key is missing before '='");
                goto skip;
        }

        memcpy(str, l, len);
        str[len] = '\n';
        str[len + 1] = '\0';
        return str;

skip:
        str[0] = '\n';
        str[1] = '\0';
        return str;
}

/* Looks KEY up in KEYS. On success returns its index after recording where it
 * was set in FS, or -1 after reporting an unknown or repeated key. */
static int parser_key(Parser *p, FileSection *fs, const char *const *keys, size_t n_keys, const char *key,
                      const char *value) {
        for (size_t i = 0; i < n_keys; i++) {
                if (strcmp(key, keys[i]) != 0)
                        continue;
                if (fs->key_line[i] > 0) {
                        parser_error(p, p->label, key, "given twice in this section (first at line %u)",
                                     fs->key_line[i]);
                        return -1;
                }
                fs->key_line[i] = p->line;
                if (*value == '\0') {
                        parser_error(p, p->label, key, "empty value");
                        return -1;
                }
                return (int) i;
        }

        for (size_t i = 0; i < n_keys; i++)
                if (strcasecmp(key, keys[i]) == 0) {
                        parser_error(p, p->label, key, "unknown key; did you mean %s= (keys are case-sensitive)?",
                                     keys[i]);
                        return -1;
                }

        _cleanup_free_ char *known = NULL;
        size_t len = 0;
        for (size_t i = 0; i < n_keys; i++)
                len += strlen(keys[i]) + 3;
        known = malloc(len + 1);
        if (known) {
                known[0] = '\0';
                for (size_t i = 0; i < n_keys; i++) {
                        strcat(known, keys[i]);
                        strcat(known, i + 1 < n_keys ? "=, " : "=");
                }
        }
        parser_error(p, p->label, key, "unknown key; this section takes %s", known ? known : "other keys");
        return -1;
}

/* Reports what size_parse() returned for VALUE; ALLOWED says what the key takes. */
static void parser_size_error(Parser *p, const char *key, const char *value, int r, const char *allowed) {
        if (r == -ERANGE && strchr(value, '%'))
                parser_error(p, p->label, key, "\"%s\": a percentage is at most 100%%", value);
        else if (r == -ERANGE)
                parser_error(p, p->label, key, "\"%s\" is too large: sizes must be below 16E (2^64 bytes)", value);
        else
                parser_error(p, p->label, key,
                             "invalid size \"%s\": expected %s (units K, M, G, T, P, E are powers of 1024; "
                             "\"KiB\" forms and a plain \"B\" are accepted, \"KB\" is not)",
                             value, allowed);
}

static void parser_host(Parser *p, const char *key, const char *value) {
        HostConf *h = &p->c->host;
        ConfLoc here = { .file = p->file, .line = p->line };
        SizeSpec spec;
        int k, r;

        k = parser_key(p, &p->host, host_keys, _HOST_KEY_MAX, key, value);
        if (k < 0)
                return;

        switch (k) {
        case HOST_TOTAL:
                h->total_loc = here;
                if (strcmp(value, "auto") == 0) {
                        h->total = 0;
                        break;
                }
                r = size_parse(value, &spec);
                if (r < 0)
                        parser_size_error(p, key, value, r, "auto or a size like 512G");
                else if (spec.kind != SIZE_BYTES)
                        parser_error(p, p->label, key, "\"%s\": Total= is auto or a size in bytes like 512G", value);
                else if (spec.bytes == 0)
                        parser_error(p, p->label, key, "Total= cannot be 0 (auto reads MemTotal)");
                else
                        h->total = spec.bytes;
                break;

        case HOST_SLACK:
                h->slack_loc = here;
                r = size_parse(value, &spec);
                if (r < 0)
                        parser_size_error(p, key, value, r, "a size like 32G or a percentage of total like 10%");
                else if (spec.kind == SIZE_INFINITY)
                        parser_error(p, p->label, key, "Slack= cannot be infinity");
                else
                        h->slack = spec;
                break;

        case HOST_DRIVER:
                r = cgroup_driver_from_string(value);
                if (r < 0)
                        parser_error(p, p->label, key, "\"%s\": expected auto, systemd or cgroupfs", value);
                else
                        h->driver = (CgroupDriverKind) r;
                break;

        case HOST_ROOT:
                if (strcmp(value, "auto") == 0) {
                        free(h->cgroup_root);
                        h->cgroup_root = NULL;
                } else if (!absolute_path_is_safe(value)) {
                        parser_error(p, p->label, key,
                                     "\"%s\": expected auto or an absolute path without \".\", \"..\", "
                                     "empty components or blanks",
                                     value);
                } else {
                        char *d = strdup(value);
                        if (!d) {
                                p->error = -ENOMEM;
                                return;
                        }
                        free(h->cgroup_root);
                        h->cgroup_root = d;
                }
                break;
        }
}

/* A [Pressure] percentage ("5%", "0.5%": hundredths of a percent) of
 * poolable; a bad value is reported and leaves *RET alone. */
static void parser_percent(Parser *p, const char *key, const char *value, uint32_t *ret) {
        SizeSpec spec;
        int r = size_parse(value, &spec);

        if (r == -ERANGE && strchr(value, '%'))
                parser_error(p, p->label, key, "\"%s\": a percentage is at most 100%%", value);
        else if (r < 0 || spec.kind != SIZE_PERCENT)
                parser_error(p, p->label, key,
                             "\"%s\": expected a percentage of poolable memory like 5%% or 0.5%% "
                             "(at most two decimals)",
                             value);
        else
                *ret = spec.permyriad;
}

static void parser_duration(Parser *p, const char *key, const char *value, uint64_t *ret) {
        uint64_t usec;
        int r = duration_parse(value, &usec);

        if (r == -ERANGE)
                parser_error(p, p->label, key, "\"%s\" is too long: at most 2^64-1 microseconds", value);
        else if (r < 0)
                parser_error(p, p->label, key,
                             "invalid time span \"%s\": expected a number with a unit like 150ms, 1s, 2min, "
                             "1h or 500us (a bare number is seconds; parts add up: 1min 30s)",
                             value);
        else
                *ret = usec;
}

static void parser_pressure(Parser *p, const char *key, const char *value) {
        PressureConf *pc = &p->c->pressure;
        SizeSpec spec;
        int k, r;

        k = parser_key(p, &p->pressure, pressure_keys, _PRESSURE_KEY_MAX, key, value);
        if (k < 0)
                return;
        /* Where it was set even if the value is bad: validation then names
         * this line, not the default. */
        p->c->pressure_loc[k] = (ConfLoc) { .file = p->file, .line = p->line };

        switch ((PressureKey) k) {
        case PRESSURE_SOME_STALL:
                parser_duration(p, key, value, &pc->some_stall_usec);
                break;
        case PRESSURE_FULL_STALL:
                parser_duration(p, key, value, &pc->full_stall_usec);
                break;
        case PRESSURE_WINDOW:
                parser_duration(p, key, value, &pc->window_usec);
                break;
        case PRESSURE_WATERMARK:
                if (strcmp(value, "auto") == 0) {
                        pc->watermark = (SizeSpec) { .kind = SIZE_UNSET };
                        break;
                }
                r = size_parse(value, &spec);
                if (r < 0)
                        parser_size_error(p, key, value, r,
                                          "auto ([Host] Slack=), a size like 8G or a percentage of total like 5%");
                else if (spec.kind == SIZE_INFINITY)
                        parser_error(p, p->label, key, "Watermark= cannot be infinity");
                else
                        pc->watermark = spec;
                break;
        case PRESSURE_SHRINK_EXTRA:
                parser_percent(p, key, value, &pc->shrink_extra_permyriad);
                break;
        case PRESSURE_STEP:
                parser_percent(p, key, value, &pc->pressure_step_permyriad);
                break;
        case PRESSURE_CALM_INTERVAL:
                parser_duration(p, key, value, &pc->calm_interval_usec);
                break;
        case PRESSURE_INTERVAL:
                parser_duration(p, key, value, &pc->pressure_interval_usec);
                break;
        case PRESSURE_SHRINK_DEADLINE:
                parser_duration(p, key, value, &pc->shrink_deadline_usec);
                break;
        case PRESSURE_SHRINK_SETTLE:
                parser_duration(p, key, value, &pc->shrink_settle_usec);
                break;
        case PRESSURE_GROW_HOLD:
                parser_duration(p, key, value, &pc->grow_hold_usec);
                break;
        case PRESSURE_GROW_HOLD_MAX:
                parser_duration(p, key, value, &pc->grow_hold_max_usec);
                break;
        case PRESSURE_GROW_STEP:
                parser_percent(p, key, value, &pc->grow_step_permyriad);
                break;
        case PRESSURE_GROW_INTERVAL:
                parser_duration(p, key, value, &pc->grow_interval_usec);
                break;
        case PRESSURE_OSCILLATION_WINDOW:
                parser_duration(p, key, value, &pc->oscillation_window_usec);
                break;
        case _PRESSURE_KEY_MAX:
                break;
        }
}

static void parser_reserve(Parser *p, const char *key, const char *value) {
        ReserveConf *res = &p->c->reserves[p->index];
        ConfLoc here = { .file = p->file, .line = p->line };
        SizeSpec spec;
        char **target;
        int k, r;

        k = parser_key(p, &p->reserves[p->index], reserve_keys, _RESERVE_KEY_MAX, key, value);
        if (k < 0)
                return;

        switch (k) {
        case RESERVE_SIZE:
                res->size_loc = here;
                r = size_parse(value, &spec);
                if (r < 0)
                        parser_size_error(p, key, value, r, "a size like 30G or a percentage of total like 5%");
                else if (spec.kind == SIZE_INFINITY)
                        parser_error(p, p->label, key, "a reserve cannot be infinity");
                else
                        res->size = spec;
                break;

        case RESERVE_UNIT:
        case RESERVE_CGROUP:
                if (k == RESERVE_UNIT) {
                        res->unit_loc = here;
                        if (!unit_name_is_valid(value)) {
                                parser_error(p, p->label, key,
                                             "invalid unit name \"%s\": expected NAME.service, .scope, .slice, "
                                             ".socket, .mount or .swap (a unit with a cgroup; not a template)",
                                             value);
                                break;
                        }
                        target = &res->unit;
                } else {
                        res->cgroup_loc = here;
                        if (!cgroup_path_is_safe(value)) {
                                parser_error(p, p->label, key,
                                             "invalid cgroup path \"%s\": components must be non-empty, not \".\" "
                                             "or \"..\", without blanks or control characters",
                                             value);
                                break;
                        }
                        target = &res->cgroup;
                }
                char *d = strdup(value);
                if (!d) {
                        p->error = -ENOMEM;
                        return;
                }
                free(*target);
                *target = d;
                break;

        case RESERVE_PROTECT:
                res->protect_loc = here;
                r = parse_boolean(value);
                if (r < 0)
                        parser_error(p, p->label, key, "\"%s\": expected yes or no", value);
                else
                        res->protect = r;
                break;
        }
}

static void parser_pool(Parser *p, const char *key, const char *value) {
        PoolConf *pool = &p->c->pools[p->index];
        ConfLoc here = { .file = p->file, .line = p->line };
        SizeSpec spec;
        int64_t x;
        int k, r;

        k = parser_key(p, &p->pools[p->index], pool_keys, _POOL_KEY_MAX, key, value);
        if (k < 0)
                return;

        switch (k) {
        case POOL_MIN:
                pool->min_loc = here;
                r = size_parse(value, &spec);
                if (r < 0)
                        parser_size_error(p, key, value, r, "a size like 64G or a percentage of total like 10%");
                else if (spec.kind == SIZE_INFINITY)
                        parser_error(p, p->label, key, "Min= cannot be infinity");
                else
                        pool->min = spec;
                break;

        case POOL_MAX:
                pool->max_loc = here;
                r = size_parse(value, &spec);
                if (r < 0)
                        parser_size_error(p, key, value, r,
                                          "a size like 64G, a percentage of total like 10%, or infinity");
                else
                        pool->max = spec;
                break;

        case POOL_WEIGHT:
                /* 1..10000 as systemd's CPUWeight=/IOWeight=. */
                r = parse_int_range(value, 1, 10000, &x);
                if (r < 0)
                        parser_error(p, p->label, key, "\"%s\": expected a whole number from 1 to 10000", value);
                else
                        pool->weight = (uint32_t) x;
                break;

        case POOL_PRIORITY:
                r = parse_int_range(value, -1000, 1000, &x);
                if (r < 0)
                        parser_error(p, p->label, key, "\"%s\": expected a whole number from -1000 to 1000", value);
                else
                        pool->priority = (int32_t) x;
                break;

        case POOL_KIND:
                pool->kind_loc = here;
                r = pool_kind_from_string(value);
                if (r < 0)
                        parser_error(p, p->label, key, "\"%s\": expected cache, working or fixed", value);
                else
                        pool->kind = (PoolKind) r;
                break;

        case POOL_NUMA: {
                NumaPolicy np;

                pool->numa_loc = here;
                r = numa_policy_parse(value, &np);
                if (r == -ERANGE)
                        parser_error(p, p->label, key,
                                     "\"%s\": node numbers go up to %d and a range goes upwards (as in 0-3)", value,
                                     NODESET_MAX - 1);
                else if (r < 0)
                        parser_error(p, p->label, key,
                                     "\"%s\": expected local, bind:NODES, interleave:NODES or preferred:NODE "
                                     "(NODES as numactl writes them: 0-3,7)",
                                     value);
                else
                        pool->numa = np;
                break;
        }

        case POOL_HUGEPAGES:
                r = parse_boolean(value);
                if (r < 0)
                        parser_error(p, p->label, key, "\"%s\": expected yes or no", value);
                else
                        pool->hugepages = r;
                break;
        }
}

static int parser_handler(void *userdata, const char *section, const char *name, const char *value) {
        Parser *p = userdata;

        if (p->error < 0)
                return 0;

        switch (p->section) {
        case SECTION_NONE:
                parser_error(p, NULL, name, "key outside of any section");
                break;
        case SECTION_SKIP:
                break;
        case SECTION_HOST:
                parser_host(p, name, value);
                break;
        case SECTION_PRESSURE:
                parser_pressure(p, name, value);
                break;
        case SECTION_RESERVE:
                parser_reserve(p, name, value);
                break;
        case SECTION_POOL:
                parser_pool(p, name, value);
                break;
        }
        /* Errors are in the Diag with their lines; inih's own count of
         * handler failures would only repeat the first. */
        return 1;
}

static int config_add_file(Config *c, const char *name, const char **ret) {
        char **v = realloc(c->files, (c->n_files + 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        c->files = v;
        v[c->n_files] = strdup(name);
        if (!v[c->n_files])
                return -ENOMEM;
        *ret = v[c->n_files++];
        return 0;
}

int config_parse_stream(Config *c, FILE *f, const char *name, Diag *diag) {
        Parser p = {
                .c = c,
                .diag = diag,
                .f = f,
                .section = SECTION_NONE,
                .reserves_cap = c->n_reserves,
                .pools_cap = c->n_pools,
        };
        int r;

        r = config_add_file(c, name, &p.file);
        if (r < 0)
                return r;

        p.reserves = calloc(MAX(c->n_reserves, (size_t) 1), sizeof *p.reserves);
        p.pools = calloc(MAX(c->n_pools, (size_t) 1), sizeof *p.pools);
        if (!p.reserves || !p.pools) {
                r = -ENOMEM;
                goto out;
        }

        /* Debian's libinih has these as run-time variables (of the whole
         * process: poold has no other inih user). A heap buffer of
         * CONFIG_LINE_MAX + 2 (newline and NUL) is what the reader fills;
         * continuation lines are off, so an indented line is a key of its
         * own and not silently glued to the previous value. */
        ini_use_stack = false;
        ini_allow_realloc = false;
        ini_initial_alloc = CONFIG_LINE_MAX + 2;
        ini_max_line = CONFIG_LINE_MAX + 2;
        ini_allow_multiline = false;
        ini_allow_bom = false; /* the reader strips it */
        ini_allow_inline_comments = true;
        ini_allow_no_value = false;
        ini_stop_on_first_error = false;

        r = ini_parse_stream(parser_read, &p, parser_handler, &p);
        if (p.error < 0)
                r = p.error;
        else if (r == -2)
                r = -ENOMEM;
        else if (r > 0 && p.n_errors == 0) {
                /* Not expected: the reader passes inih only lines it accepts. */
                ConfLoc loc = { .file = p.file, .line = (unsigned) r };
                p.n_errors++;
                config_diag(diag, &loc, NULL, NULL, "syntax error");
                r = -EINVAL;
        } else
                r = p.n_errors > 0 ? -EINVAL : 0;

out:
        free(p.buf);
        free(p.reserves);
        free(p.pools);
        return r;
}

/* Reads one file into C. Returns 0, -EINVAL, or -errno from opening it. A
 * drop-in that is a symlink to /dev/null is masked, as systemd does it. */
static int config_parse_file(Config *c, const char *path, Diag *diag) {
        _cleanup_fclose_ FILE *f = NULL;
        struct stat st;
        ConfLoc loc = { .file = path };

        f = fopen(path, "re");
        if (!f) {
                int r = negative_errno();
                config_diag(diag, &loc, NULL, NULL, "cannot open: %s", strerror(-r));
                return r;
        }
        if (fstat(fileno(f), &st) < 0) {
                int r = negative_errno();
                config_diag(diag, &loc, NULL, NULL, "cannot stat: %s", strerror(-r));
                return r;
        }
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return 0;
        if (!S_ISREG(st.st_mode)) {
                config_diag(diag, &loc, NULL, NULL, "not a regular file");
                return -EINVAL;
        }
        return config_parse_stream(c, f, path, diag);
}

static int cmp_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names of DIR's *.conf files (not hidden ones), sorted bytewise so the
 * order does not depend on the locale. Returns 0 (also when DIR is missing),
 * -ENOMEM, or -errno from reading DIR. */
static int list_dropins(const char *dir, char ***ret, size_t *ret_n) {
        DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        *ret = NULL;
        *ret_n = 0;
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();

        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = -errno;
                        break;
                }
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
                        continue;
                char **v = realloc(names, (n + 1) * sizeof *v);
                if (!v || !(v[n] = strdup(de->d_name))) {
                        if (v)
                                names = v;
                        r = -ENOMEM;
                        break;
                }
                names = v;
                n++;
        }
        closedir(d);

        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                return r;
        }
        if (n > 0)
                qsort(names, n, sizeof *names, cmp_strings);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* The code to return when both A and B went wrong: running out of memory
 * first, then an I/O error (it says more than -EINVAL), then -EINVAL. */
static int worse(int a, int b) {
        if (a == -ENOMEM || b == -ENOMEM)
                return -ENOMEM;
        if (a < 0 && a != -EINVAL)
                return a;
        if (b < 0 && b != -EINVAL)
                return b;
        return MIN(a, b);
}

int config_load(const char *path, unsigned n_nodes, Config **ret, Diag *diag) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dir = NULL;
        char **names = NULL;
        size_t n_names = 0;
        int r, failure = 0;

        r = config_new(&c);
        if (r < 0)
                return r;

        r = config_parse_file(c, path, diag);
        if (r == -ENOENT || r == -ENOMEM)
                return r; /* a missing main file: nothing else is worth reading */
        failure = worse(failure, r);

        if (asprintf(&dir, "%s.d", path) < 0) {
                dir = NULL;
                return -ENOMEM;
        }
        r = list_dropins(dir, &names, &n_names);
        if (r < 0) {
                ConfLoc loc = { .file = dir };
                config_diag(diag, &loc, NULL, NULL, "cannot read the drop-in directory: %s", strerror(-r));
                failure = worse(failure, r);
        }

        for (size_t i = 0; i < n_names && failure != -ENOMEM; i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s", dir, names[i]) < 0) {
                        p = NULL;
                        failure = -ENOMEM;
                        break;
                }
                failure = worse(failure, config_parse_file(c, p, diag));
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);

        if (failure == -ENOMEM)
                return failure;

        /* Checked even after errors above, so one run reports everything;
         * a key with a bad value still counts as given. */
        failure = worse(failure, config_validate(c, n_nodes, diag));
        if (failure < 0)
                return failure;

        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- validation ---- */

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int config_validate(const Config *c, unsigned n_nodes, Diag *diag) {
        unsigned n_errors = 0;
        char label[POOL_NAME_MAX + 16], a[SIZE_FMT_MAX], b[SIZE_FMT_MAX], where[300];

#define ERROR(loc, key, ...)                                        \
        do {                                                        \
                n_errors++;                                         \
                config_diag(diag, (loc), label, (key), __VA_ARGS__); \
        } while (0)

        snprintf(label, sizeof label, "[Host]");
        if (c->host.slack.kind == SIZE_INFINITY)
                ERROR(&c->host.slack_loc, "Slack", "Slack= cannot be infinity");
        if (c->host.slack.kind == SIZE_PERCENT && c->host.slack.permyriad > 10000)
                ERROR(&c->host.slack_loc, "Slack", "a percentage is at most 100%%");
        if (c->host.driver < 0 || c->host.driver >= _CGROUP_DRIVER_MAX)
                ERROR(NULL, "CgroupDriver", "unknown driver %d", (int) c->host.driver);

        int pr = config_pressure_validate(&c->pressure, c->pressure_loc, diag);
        if (pr == -ENOMEM)
                return pr;
        if (pr < 0)
                n_errors++;

        for (size_t i = 0; i < c->n_reserves; i++) {
                const ReserveConf *r = &c->reserves[i];

                snprintf(label, sizeof label, "[Reserve %s]", r->name);
                if (!pool_name_is_valid(r->name))
                        ERROR(&r->loc, NULL, "invalid name");
                if (r->size.kind == SIZE_UNSET && r->size_loc.line == 0)
                        ERROR(&r->loc, "Size", "missing: a reserve needs its size (bytes or a percentage of total)");
                if (r->size.kind == SIZE_INFINITY)
                        ERROR(&r->size_loc, "Size", "a reserve cannot be infinity");
                if (r->size.kind == SIZE_PERCENT && r->size.permyriad > 10000)
                        ERROR(&r->size_loc, "Size", "a percentage is at most 100%%");
                if (r->unit && r->cgroup) {
                        bool unit_later = r->unit_loc.line > r->cgroup_loc.line;
                        ERROR(unit_later ? &r->unit_loc : &r->cgroup_loc, unit_later ? "Unit" : "Cgroup",
                              "Unit= and Cgroup= both name what this reserve is for (the other at %s); give one",
                              loc_to_string(unit_later ? &r->cgroup_loc : &r->unit_loc, where));
                }
                if (r->protect && !r->unit && !r->cgroup)
                        ERROR(r->protect_loc.line ? &r->protect_loc : &r->loc, "Protect",
                              "Protect=yes needs Unit= or Cgroup= to know what to protect");
        }

        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *p = &c->pools[i];

                snprintf(label, sizeof label, "[Pool %s]", p->name);
                if (!pool_name_is_valid(p->name))
                        ERROR(&p->loc, NULL, "invalid name");
                if (p->weight < 1 || p->weight > 10000)
                        ERROR(&p->loc, "Weight", "%" PRIu32 " is not from 1 to 10000", p->weight);
                if (p->priority < -1000 || p->priority > 1000)
                        ERROR(&p->loc, "Priority", "%" PRId32 " is not from -1000 to 1000", p->priority);
                if (p->min.kind == SIZE_INFINITY)
                        ERROR(&p->min_loc, "Min", "Min= cannot be infinity");
                if ((p->min.kind == SIZE_PERCENT && p->min.permyriad > 10000) ||
                    (p->max.kind == SIZE_PERCENT && p->max.permyriad > 10000))
                        ERROR(p->min.kind == SIZE_PERCENT ? &p->min_loc : &p->max_loc,
                              p->min.kind == SIZE_PERCENT ? "Min" : "Max", "a percentage is at most 100%%");

                if (p->kind == POOL_KIND_FIXED) {
                        bool has_min = p->min.kind != SIZE_UNSET, has_max = p->max.kind != SIZE_UNSET;

                        if (has_min && has_max && !size_spec_equal(&p->min, &p->max))
                                ERROR(&p->min_loc, "Min",
                                      "a fixed pool has one size, but Min=%s and Max=%s (%s) differ; give Max= only",
                                      size_spec_format(&p->min, a), size_spec_format(&p->max, b),
                                      loc_to_string(&p->max_loc, where));
                        else if (!has_min && !has_max && p->min_loc.line == 0 && p->max_loc.line == 0)
                                ERROR(p->kind_loc.line ? &p->kind_loc : &p->loc, "Kind",
                                      "a fixed pool needs its size in Max= (or Min=)");
                        else if (has_max && p->max.kind == SIZE_INFINITY)
                                ERROR(&p->max_loc, "Max", "a fixed pool's size cannot be infinity");
                } else if (p->kind == POOL_KIND_CACHE || p->kind == POOL_KIND_WORKING) {
                        bool over = p->min.kind == p->max.kind &&
                                    ((p->min.kind == SIZE_BYTES && p->min.bytes > p->max.bytes) ||
                                     (p->min.kind == SIZE_PERCENT && p->min.permyriad > p->max.permyriad));
                        if (over)
                                ERROR(p->min_loc.file ? &p->min_loc : &p->loc, "Min", "Min=%s is above Max=%s (%s)",
                                      size_spec_format(&p->min, a), size_spec_format(&p->max, b),
                                      loc_to_string(&p->max_loc, where));
                } else
                        ERROR(&p->loc, "Kind", "unknown kind %d", (int) p->kind);

                if (p->numa.mode < NUMA_LOCAL || p->numa.mode >= _NUMA_MODE_MAX)
                        ERROR(&p->numa_loc, "NUMA", "unknown mode %d", (int) p->numa.mode);
                else if (p->numa.mode != NUMA_LOCAL) {
                        int last = nodeset_last(&p->numa.nodes);
                        if (last < 0)
                                ERROR(&p->numa_loc, "NUMA", "no nodes given");
                        else if (p->numa.mode == NUMA_PREFERRED && nodeset_count(&p->numa.nodes) != 1)
                                ERROR(&p->numa_loc, "NUMA", "preferred: takes one node");
                        else if (n_nodes > 0 && (unsigned) last >= n_nodes) {
                                char nodes[NODESET_FMT_MAX];
                                ERROR(&p->numa_loc, "NUMA",
                                      "%s: node %d does not exist; this host has %u NUMA node%s (0%s%.0u)",
                                      nodeset_format(&p->numa.nodes, nodes), last, n_nodes, n_nodes == 1 ? "" : "s",
                                      n_nodes > 1 ? "-" : "", n_nodes > 1 ? n_nodes - 1 : 0);
                        }
                }
        }

        /* The parser never makes two sections of one name; a Config built in
         * code might. Sorted, so thousands of pools cost n log n. */
        size_t n = c->n_reserves + c->n_pools;
        if (n > 1) {
                const char **names = malloc(n * sizeof *names);
                if (!names)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_reserves; i++)
                        names[i] = c->reserves[i].name;
                for (size_t i = 0; i < c->n_pools; i++)
                        names[c->n_reserves + i] = c->pools[i].name;
                qsort(names, n, sizeof *names, cmp_names);
                for (size_t i = 1; i < n; i++)
                        if (strcmp(names[i - 1], names[i]) == 0 && (i < 2 || strcmp(names[i - 2], names[i]) != 0)) {
                                snprintf(label, sizeof label, "[%s]", names[i]);
                                ERROR(NULL, NULL, "the name %s is used by more than one section", names[i]);
                        }
                free(names);
        }
#undef ERROR

        return n_errors > 0 ? -EINVAL : 0;
}

/* ---- writing back and comparing ---- */

static void pressure_dump(const PressureConf *p, FILE *out) {
        char a[MAX(SIZE_FMT_MAX, DURATION_FMT_MAX)];
        const struct {
                PressureKey key;
                uint64_t usec;
        } durations[] = {
                { PRESSURE_SOME_STALL, p->some_stall_usec },
                { PRESSURE_FULL_STALL, p->full_stall_usec },
                { PRESSURE_WINDOW, p->window_usec },
        };
        const struct {
                PressureKey key;
                uint64_t usec;
        } timing[] = {
                { PRESSURE_CALM_INTERVAL, p->calm_interval_usec },
                { PRESSURE_INTERVAL, p->pressure_interval_usec },
                { PRESSURE_SHRINK_DEADLINE, p->shrink_deadline_usec },
                { PRESSURE_SHRINK_SETTLE, p->shrink_settle_usec },
                { PRESSURE_GROW_HOLD, p->grow_hold_usec },
                { PRESSURE_GROW_HOLD_MAX, p->grow_hold_max_usec },
        };
        SizeSpec pct;

        /* In PressureKey order. */
        fputs("\n[Pressure]\n", out);
        for (size_t i = 0; i < ELEMENTSOF(durations); i++)
                fprintf(out, "%s=%s\n", pressure_keys[durations[i].key], duration_format(durations[i].usec, a));
        if (p->watermark.kind == SIZE_UNSET)
                fputs("Watermark=auto\n", out);
        else
                fprintf(out, "Watermark=%s\n", size_spec_format(&p->watermark, a));
        pct = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = p->shrink_extra_permyriad };
        fprintf(out, "ShrinkExtra=%s\n", size_spec_format(&pct, a));
        pct.permyriad = p->pressure_step_permyriad;
        fprintf(out, "PressureStep=%s\n", size_spec_format(&pct, a));
        for (size_t i = 0; i < ELEMENTSOF(timing); i++)
                fprintf(out, "%s=%s\n", pressure_keys[timing[i].key], duration_format(timing[i].usec, a));
        pct.permyriad = p->grow_step_permyriad;
        fprintf(out, "GrowStep=%s\n", size_spec_format(&pct, a));
        fprintf(out, "GrowInterval=%s\n", duration_format(p->grow_interval_usec, a));
        fprintf(out, "OscillationWindow=%s\n", duration_format(p->oscillation_window_usec, a));
}

void config_dump(const Config *c, FILE *out) {
        char a[SIZE_FMT_MAX];
        SizeSpec slack = config_slack(c);

        fputs("# poold.conf, normalized: every key, defaults spelled out.\n", out);
        fputs("[Host]\n", out);
        if (c->host.total > 0)
                fprintf(out, "Total=%s\n", size_format_exact(c->host.total, a));
        else
                fputs("Total=auto\n", out);
        fprintf(out, "Slack=%s\n", size_spec_format(&slack, a));
        fprintf(out, "CgroupDriver=%s\n", cgroup_driver_to_string(c->host.driver) ?: "auto");
        fprintf(out, "CgroupRoot=%s\n", c->host.cgroup_root ?: "auto");
        pressure_dump(&c->pressure, out);

        for (size_t i = 0; i < c->n_reserves; i++) {
                const ReserveConf *r = &c->reserves[i];

                fprintf(out, "\n[Reserve %s]\n", r->name);
                if (r->size.kind == SIZE_UNSET)
                        fputs("# Size= is missing\n", out);
                else
                        fprintf(out, "Size=%s\n", size_spec_format(&r->size, a));
                if (r->unit)
                        fprintf(out, "Unit=%s\n", r->unit);
                if (r->cgroup)
                        fprintf(out, "Cgroup=%s\n", r->cgroup);
                if (!r->unit && !r->cgroup)
                        fputs("# no Unit= or Cgroup=: not measured\n", out);
                fprintf(out, "Protect=%s\n", r->protect ? "yes" : "no");
        }

        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *p = &c->pools[i];
                SizeSpec min = config_pool_min(p), max = config_pool_max(p);

                fprintf(out, "\n[Pool %s]\n", p->name);
                if (min.kind == SIZE_UNSET)
                        fputs("# Min= and Max= are missing\n", out);
                else {
                        fprintf(out, "Min=%s\n", size_spec_format(&min, a));
                        fprintf(out, "Max=%s\n", size_spec_format(&max, a));
                }
                fprintf(out, "Weight=%" PRIu32 "\n", p->weight);
                fprintf(out, "Priority=%" PRId32 "\n", p->priority);
                fprintf(out, "Kind=%s\n", pool_kind_to_string(p->kind) ?: "cache");
                if (p->numa.mode <= NUMA_LOCAL || p->numa.mode >= _NUMA_MODE_MAX)
                        fputs("NUMA=local\n", out);
                else {
                        _cleanup_free_ char *nodes = NULL;

                        if (nodeset_to_string(&p->numa.nodes, &nodes) < 0)
                                fputs("# NUMA= could not be written: out of memory\n", out);
                        else
                                fprintf(out, "NUMA=%s:%s\n", numa_mode_table[p->numa.mode], nodes);
                }
                fprintf(out, "HugePages=%s\n", p->hugepages ? "yes" : "no");
        }
}

static bool streq_null(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool pressure_equal(const PressureConf *a, const PressureConf *b) {
        return a->some_stall_usec == b->some_stall_usec && a->full_stall_usec == b->full_stall_usec &&
               a->window_usec == b->window_usec && size_spec_equal(&a->watermark, &b->watermark) &&
               a->shrink_extra_permyriad == b->shrink_extra_permyriad &&
               a->pressure_step_permyriad == b->pressure_step_permyriad &&
               a->calm_interval_usec == b->calm_interval_usec &&
               a->pressure_interval_usec == b->pressure_interval_usec &&
               a->shrink_deadline_usec == b->shrink_deadline_usec && a->shrink_settle_usec == b->shrink_settle_usec &&
               a->grow_hold_usec == b->grow_hold_usec && a->grow_hold_max_usec == b->grow_hold_max_usec &&
               a->grow_step_permyriad == b->grow_step_permyriad && a->grow_interval_usec == b->grow_interval_usec &&
               a->oscillation_window_usec == b->oscillation_window_usec;
}

bool config_equal(const Config *a, const Config *b) {
        SizeSpec sa = config_slack(a), sb = config_slack(b);

        if (!pressure_equal(&a->pressure, &b->pressure))
                return false;

        if (a->host.total != b->host.total || !size_spec_equal(&sa, &sb) || a->host.driver != b->host.driver ||
            !streq_null(a->host.cgroup_root, b->host.cgroup_root))
                return false;

        if (a->n_reserves != b->n_reserves || a->n_pools != b->n_pools)
                return false;

        for (size_t i = 0; i < a->n_reserves; i++) {
                const ReserveConf *x = &a->reserves[i], *y = &b->reserves[i];

                if (strcmp(x->name, y->name) != 0 || !size_spec_equal(&x->size, &y->size) ||
                    !streq_null(x->unit, y->unit) || !streq_null(x->cgroup, y->cgroup) || x->protect != y->protect)
                        return false;
        }

        for (size_t i = 0; i < a->n_pools; i++) {
                const PoolConf *x = &a->pools[i], *y = &b->pools[i];
                SizeSpec xmin = config_pool_min(x), ymin = config_pool_min(y);
                SizeSpec xmax = config_pool_max(x), ymax = config_pool_max(y);

                if (strcmp(x->name, y->name) != 0 || !size_spec_equal(&xmin, &ymin) ||
                    !size_spec_equal(&xmax, &ymax) || x->weight != y->weight || x->priority != y->priority ||
                    x->kind != y->kind || x->numa.mode != y->numa.mode)
                        return false;
                if (x->numa.mode != NUMA_LOCAL && !nodeset_equal(&x->numa.nodes, &y->numa.nodes))
                        return false;
        }
        return true;
}
