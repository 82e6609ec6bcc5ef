/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "cgstat.h"
#include "log.h"
#include "macro.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages: 9223372036854771712 with
 * 4 KiB pages, 9223372036854710272 with 64 KiB pages. No host has 4 EiB, so
 * anything from 2^62 up means none. */
#define V1_UNLIMITED_FROM (UINT64_C(1) << 62)

/* Slices hold scopes hold processes: depth 3 under systemd. 64 levels is far
 * past any real tree and stops a loop of bind mounts. */
#define PROCS_MAX_DEPTH 64

typedef struct KeyField {
        const char *key;
        uint64_t *dst;
        bool found;
} KeyField;

static void dirp_close(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Parses "key value\n" lines (memory.stat, memory.events, oom_control).
 * Every line must be one word, one space and a decimal number; keys not in
 * FIELDS are skipped. Returns 0 or -EBADMSG. */
static int parse_keyed(const char *text, KeyField *fields, size_t n) {
        for (const char *p = text; *p;) {
                const char *eol = strchr(p, '\n');
                if (!eol)
                        eol = p + strlen(p);
                const char *sp = memchr(p, ' ', (size_t) (eol - p));
                if (!sp || sp == p)
                        return -EBADMSG;

                uint64_t v;
                if (cgroup_util_parse_u64(sp + 1, eol, &v) < 0)
                        return -EBADMSG;
                for (size_t i = 0; i < n; i++)
                        if (strlen(fields[i].key) == (size_t) (sp - p) &&
                            strncmp(fields[i].key, p, (size_t) (sp - p)) == 0) {
                                *fields[i].dst = v;
                                fields[i].found = true;
                        }
                p = *eol ? eol + 1 : eol;
        }
        return 0;
}

/* Reads an optional file: returns 1 with its text, 0 when it is missing or
 * the kernel does not offer it (EOPNOTSUPP: PSI off), or -errno. */
static int read_optional(const char *dir, const char *name, char **ret) {
        int r = cgroup_util_read_file(dir, name, ret);
        if (r == -ENOENT || r == -EOPNOTSUPP)
                return 0;
        if (r < 0)
                return log_debug_errno(r, "%s/%s: cannot read", dir, name);
        return 1;
}

/* A single number, or "max" (v2). */
static int parse_value(const char *text, bool v1, uint64_t *ret) {
        const char *end = text + strcspn(text, "\n");
        if (*end == '\n' && end[1] != '\0')
                return -EBADMSG;
        if (!v1 && (size_t) (end - text) == 3 && strncmp(text, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }

        uint64_t v;
        if (cgroup_util_parse_u64(text, end, &v) < 0)
                return -EBADMSG;
        if (v1 && v >= V1_UNLIMITED_FROM)
                v = UINT64_MAX;
        *ret = v;
        return 0;
}

/* Reads an optional single-value file into *RET and sets BIT in *HAVE. */
static int read_value(const char *dir, const char *name, bool v1, uint64_t *ret, unsigned bit, unsigned *have) {
        _cleanup_free_ char *text = NULL;
        int r = read_optional(dir, name, &text);
        if (r <= 0)
                return r;
        r = parse_value(text, v1, ret);
        if (r < 0)
                return log_debug_errno(r, "%s/%s: malformed", dir, name);
        *have |= bit;
        return 0;
}

/* Counts the lines of DIR/cgroup.procs and of every directory below it. */
static int count_procs(const char *dir, unsigned depth, uint64_t *count) {
        if (depth > PROCS_MAX_DEPTH)
                return -ELOOP;

        /* Streamed, not read whole: a cgroup with 10000 processes has a
         * ~60 KiB cgroup.procs. Each line must be a decimal PID. */
        _cleanup_free_ char *path = cgroup_util_path_join(dir, "cgroup.procs");
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        char buf[4096];
        bool in_line = false;
        for (;;) {
                ssize_t k = read(fd, buf, sizeof buf);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                for (ssize_t i = 0; i < k; i++) {
                        if (buf[i] == '\n') {
                                if (!in_line)
                                        return -EBADMSG; /* an empty line */
                                (*count)++;
                                in_line = false;
                        } else if (buf[i] >= '0' && buf[i] <= '9')
                                in_line = true;
                        else
                                return -EBADMSG;
                }
        }
        if (in_line) /* a last line without its newline */
                (*count)++;

        _cleanup_(dirp_close) DIR *d = opendir(dir);
        if (!d)
                return negative_errno();
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type != DT_DIR) {
                        struct stat st;
                        if (de->d_type != DT_UNKNOWN ||
                            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                            !S_ISDIR(st.st_mode))
                                continue;
                }
                _cleanup_free_ char *sub = cgroup_util_path_join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                int r = count_procs(sub, depth + 1, count);
                /* A scope that went away between readdir and open, or a
                 * directory that is not a cgroup (fixtures), counts as empty. */
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return negative_errno();
        return 0;
}

static int read_v2(const char *dir, CgStat *s) {
        int r;

        r = read_value(dir, "memory.peak", false, &s->peak, CGSTAT_HAVE_PEAK, &s->have);
        if (r < 0)
                return r;
        r = read_value(dir, "memory.min", false, &s->min, CGSTAT_HAVE_MIN, &s->have);
        if (r < 0)
                return r;
        r = read_value(dir, "memory.high", false, &s->high, CGSTAT_HAVE_HIGH, &s->have);
        if (r < 0)
                return r;
        r = read_value(dir, "memory.max", false, &s->max, CGSTAT_HAVE_MAX, &s->have);
        if (r < 0)
                return r;

        _cleanup_free_ char *stat = NULL;
        r = read_optional(dir, "memory.stat", &stat);
        if (r < 0)
                return r;
        if (r > 0) {
                KeyField f[] = {
                        { .key = "anon", .dst = &s->anon },
                        { .key = "file", .dst = &s->file },
                        { .key = "shmem", .dst = &s->shmem },
                };
                if (parse_keyed(stat, f, ELEMENTSOF(f)) < 0 || !f[0].found || !f[1].found)
                        return log_debug_errno(-EBADMSG, "%s/memory.stat: malformed", dir);
                s->have |= CGSTAT_HAVE_STAT;
        }

        _cleanup_free_ char *events = NULL;
        r = read_optional(dir, "memory.events", &events);
        if (r < 0)
                return r;
        if (r > 0) {
                KeyField f[] = {
                        { .key = "high", .dst = &s->events_high },
                        { .key = "max", .dst = &s->events_max },
                        { .key = "oom", .dst = &s->events_oom },
                        { .key = "oom_kill", .dst = &s->events_oom_kill },
                };
                if (parse_keyed(events, f, ELEMENTSOF(f)) < 0)
                        return log_debug_errno(-EBADMSG, "%s/memory.events: malformed", dir);
                static const unsigned bits[] = {
                        CGSTAT_HAVE_EVENTS_HIGH,
                        CGSTAT_HAVE_EVENTS_MAX,
                        CGSTAT_HAVE_EVENTS_OOM,
                        CGSTAT_HAVE_EVENTS_OOM_KILL,
                };
                for (size_t i = 0; i < ELEMENTSOF(f); i++)
                        if (f[i].found)
                                s->have |= bits[i];
        }

        _cleanup_free_ char *pressure = NULL;
        r = read_optional(dir, "memory.pressure", &pressure);
        if (r < 0)
                return r;
        if (r > 0) {
                if (psi_parse(pressure, &s->pressure) < 0)
                        return log_debug_errno(-EBADMSG, "%s/memory.pressure: malformed", dir);
                s->have |= CGSTAT_HAVE_PRESSURE;
        }
        return 0;
}

static int read_v1(const char *dir, CgStat *s) {
        int r;

        r = read_value(dir, "memory.max_usage_in_bytes", true, &s->peak, CGSTAT_HAVE_PEAK, &s->have);
        if (r < 0)
                return r;
        r = read_value(dir, "memory.soft_limit_in_bytes", true, &s->high, CGSTAT_HAVE_HIGH, &s->have);
        if (r < 0)
                return r;
        r = read_value(dir, "memory.limit_in_bytes", true, &s->max, CGSTAT_HAVE_MAX, &s->have);
        if (r < 0)
                return r;
        r = read_value(dir, "memory.failcnt", true, &s->events_max, CGSTAT_HAVE_EVENTS_MAX, &s->have);
        if (r < 0)
                return r;

        _cleanup_free_ char *stat = NULL;
        r = read_optional(dir, "memory.stat", &stat);
        if (r < 0)
                return r;
        if (r > 0) {
                /* total_* include the cgroups below (a systemd slice's
                 * scopes); the plain keys count this directory alone. */
                KeyField f[] = {
                        { .key = "total_rss", .dst = &s->anon },
                        { .key = "total_cache", .dst = &s->file },
                        { .key = "total_shmem", .dst = &s->shmem },
                };
                if (parse_keyed(stat, f, ELEMENTSOF(f)) < 0 || !f[0].found || !f[1].found)
                        return log_debug_errno(-EBADMSG, "%s/memory.stat: malformed", dir);
                s->have |= CGSTAT_HAVE_STAT;
        }

        _cleanup_free_ char *oom = NULL;
        r = read_optional(dir, "memory.oom_control", &oom);
        if (r < 0)
                return r;
        if (r > 0) {
                bool disable, under;
                uint64_t ignored;
                KeyField f[] = {
                        { .key = "oom_kill", .dst = &s->events_oom_kill },
                        { .key = "oom_kill_disable", .dst = &ignored },
                        { .key = "under_oom", .dst = &ignored },
                };
                if (parse_keyed(oom, f, ELEMENTSOF(f)) < 0)
                        return log_debug_errno(-EBADMSG, "%s/memory.oom_control: malformed", dir);
                disable = f[1].found;
                under = f[2].found;
                if (!disable || !under)
                        return log_debug_errno(-EBADMSG, "%s/memory.oom_control: malformed", dir);
                /* oom_kill appeared in 4.13; older kernels only say under_oom. */
                if (f[0].found)
                        s->have |= CGSTAT_HAVE_EVENTS_OOM_KILL;
        }
        return 0;
}

int cgstat_read_current(const char *dir, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        bool v1 = false;
        int r = cgroup_util_read_file(dir, "memory.current", &text);
        if (r == -ENOENT) {
                v1 = true;
                r = cgroup_util_read_file(dir, "memory.usage_in_bytes", &text);
        }
        if (r < 0)
                return r;
        r = parse_value(text, v1, ret);
        if (r < 0 || *ret == UINT64_MAX)
                return log_debug_errno(-EBADMSG, "%s: malformed %s", dir,
                                       v1 ? "memory.usage_in_bytes" : "memory.current");
        return 0;
}

int cgstat_read(const char *dir, CgStat *ret) {
        CgStat s = {
                .min = UINT64_MAX,
                .high = UINT64_MAX,
                .max = UINT64_MAX,
        };
        int r;

        _cleanup_free_ char *text = NULL;
        r = cgroup_util_read_file(dir, "memory.current", &text);
        if (r == -ENOENT) {
                r = cgroup_util_read_file(dir, "memory.usage_in_bytes", &text);
                s.version = CGROUP_VERSION_V1;
        } else
                s.version = CGROUP_VERSION_V2;
        if (r < 0)
                return log_debug_errno(r, "%s: no memory usage file", dir);
        if (parse_value(text, s.version == CGROUP_VERSION_V1, &s.current) < 0 || s.current == UINT64_MAX)
                return log_debug_errno(-EBADMSG, "%s: malformed usage", dir);

        r = s.version == CGROUP_VERSION_V2 ? read_v2(dir, &s) : read_v1(dir, &s);
        if (r < 0)
                return r;

        uint64_t procs = 0;
        r = count_procs(dir, 0, &procs);
        if (r >= 0) {
                s.nr_procs = procs;
                s.have |= CGSTAT_HAVE_PROCS;
        } else if (r != -ENOENT)
                return log_debug_errno(r, "%s: cannot count processes", dir);

        *ret = s;
        return 0;
}

uint64_t cgstat_peak_update(uint64_t tracked, const CgStat *s) {
        uint64_t p = MAX(tracked, s->current);
        if (s->have & CGSTAT_HAVE_PEAK)
                p = MAX(p, s->peak);
        return p;
}
