/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
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

/* A single value is at most 20 digits and a newline ("max" on v2). */
#define VALUE_TEXT_MAX 64
/* memory.stat is the longest file read: ~1.5 KiB on 6.x kernels (v1 with
 * its total_* lines ~1.3 KiB, 895 bytes at this host's v1 root); 8 KiB
 * leaves room for the keys kernels keep adding. memory.events, oom_control
 * and memory.pressure are under 200 bytes. */
#define KEYED_TEXT_MAX 8192

static void dirp_close(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Reads NAME in the directory DFD whole into BUF (SIZE bytes with the NUL)
 * with one open, one read and one close: cgroup files are seq_files that
 * hand over all they have in the first read when it fits, and a regular
 * file (fixtures) reads short only at its end, so a short read is the whole
 * file. Returns 0, -EFBIG (does not fit), -EBADMSG (a NUL inside: not a
 * text control file), or -errno of open/read (-ENOENT: missing). */
static int read_text(int dfd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        ssize_t n;
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if ((size_t) n == size - 1) {
                /* Full: one byte more means it does not fit. */
                char extra;
                ssize_t k;
                do
                        k = read(fd, &extra, 1);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return negative_errno();
                if (k > 0)
                        return -EFBIG;
        }
        buf[n] = '\0';
        if (strlen(buf) != (size_t) n)
                return -EBADMSG;
        return 0;
}

/* Reads an optional file: returns 1 with its text in BUF, 0 when it is
 * missing or the kernel does not offer it (EOPNOTSUPP: PSI off), or -errno. */
static int read_optional(int dfd, const char *dir, const char *name, char *buf, size_t size) {
        int r = read_text(dfd, name, buf, size);
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

/* The single-value files: where each goes and the bit that says it was
 * read. NULL: the version has no such file. */
typedef struct ValueFile {
        unsigned part; /* CgStatRead */
        const char *v2, *v1;
        size_t offset; /* of a uint64_t in CgStat */
        unsigned have;
} ValueFile;

static const ValueFile value_files[] = {
        { CGSTAT_READ_PEAK, "memory.peak", "memory.max_usage_in_bytes", offsetof(CgStat, peak), CGSTAT_HAVE_PEAK },
        { CGSTAT_READ_LIMITS, "memory.min", NULL, offsetof(CgStat, min), CGSTAT_HAVE_MIN },
        { CGSTAT_READ_LIMITS, "memory.high", "memory.soft_limit_in_bytes", offsetof(CgStat, high), CGSTAT_HAVE_HIGH },
        { CGSTAT_READ_LIMITS, "memory.max", "memory.limit_in_bytes", offsetof(CgStat, max), CGSTAT_HAVE_MAX },
        { CGSTAT_READ_EVENTS, NULL, "memory.failcnt", offsetof(CgStat, events_max), CGSTAT_HAVE_EVENTS_MAX },
};

/* A key of a "key value" file: where its value goes (NO_FIELD: checked for,
 * not kept), the bit it sets, and whether the file is malformed without it. */
#define NO_FIELD SIZE_MAX
typedef struct KeySpec {
        const char *key;
        size_t offset;
        unsigned have;
        bool required;
} KeySpec;

#define KEYS_MAX 4
typedef struct KeyedFile {
        unsigned part; /* CgStatRead */
        CgroupVersion version;
        const char *name;
        unsigned have; /* set when the file parses */
        KeySpec keys[KEYS_MAX];
} KeyedFile;

static const KeyedFile keyed_files[] = {
        { CGSTAT_READ_STAT, CGROUP_VERSION_V2, "memory.stat", CGSTAT_HAVE_STAT, {
                { "anon", offsetof(CgStat, anon), 0, true },
                { "file", offsetof(CgStat, file), 0, true },
                { "shmem", offsetof(CgStat, shmem), 0, false },
        } },
        /* total_* include the cgroups below (a systemd slice's scopes); the
         * plain keys count this directory alone. */
        { CGSTAT_READ_STAT, CGROUP_VERSION_V1, "memory.stat", CGSTAT_HAVE_STAT, {
                { "total_rss", offsetof(CgStat, anon), 0, true },
                { "total_cache", offsetof(CgStat, file), 0, true },
                { "total_shmem", offsetof(CgStat, shmem), 0, false },
        } },
        { CGSTAT_READ_EVENTS, CGROUP_VERSION_V2, "memory.events", 0, {
                { "high", offsetof(CgStat, events_high), CGSTAT_HAVE_EVENTS_HIGH, false },
                { "max", offsetof(CgStat, events_max), CGSTAT_HAVE_EVENTS_MAX, false },
                { "oom", offsetof(CgStat, events_oom), CGSTAT_HAVE_EVENTS_OOM, false },
                { "oom_kill", offsetof(CgStat, events_oom_kill), CGSTAT_HAVE_EVENTS_OOM_KILL, false },
        } },
        /* oom_kill appeared in 4.13; older kernels only say under_oom. */
        { CGSTAT_READ_EVENTS, CGROUP_VERSION_V1, "memory.oom_control", 0, {
                { "oom_kill", offsetof(CgStat, events_oom_kill), CGSTAT_HAVE_EVENTS_OOM_KILL, false },
                { "oom_kill_disable", NO_FIELD, 0, true },
                { "under_oom", NO_FIELD, 0, true },
        } },
};

static uint64_t *field(CgStat *s, size_t offset) {
        return (uint64_t *) ((char *) s + offset);
}

/* Parses "key value\n" lines (memory.stat, memory.events, oom_control) for
 * the keys of F into S. Every line must be one word, one space and a decimal
 * number; other keys are skipped. Returns 0 or -EBADMSG (a required key
 * missing too). */
static int parse_keyed(const char *text, const KeyedFile *f, CgStat *s) {
        bool found[KEYS_MAX] = {};
        uint64_t values[KEYS_MAX] = {};

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
                for (size_t i = 0; i < KEYS_MAX && f->keys[i].key; i++)
                        if (strlen(f->keys[i].key) == (size_t) (sp - p) &&
                            memcmp(f->keys[i].key, p, (size_t) (sp - p)) == 0) {
                                values[i] = v;
                                found[i] = true;
                        }
                p = *eol ? eol + 1 : eol;
        }
        for (size_t i = 0; i < KEYS_MAX && f->keys[i].key; i++)
                if (f->keys[i].required && !found[i])
                        return -EBADMSG;
        for (size_t i = 0; i < KEYS_MAX && f->keys[i].key; i++)
                if (found[i] && f->keys[i].offset != NO_FIELD) {
                        *field(s, f->keys[i].offset) = values[i];
                        s->have |= f->keys[i].have;
                }
        s->have |= f->have;
        return 0;
}

/* The CGSTAT_HAVE_ bits a part sets. */
static unsigned part_have(unsigned what) {
        unsigned have = 0;
        if (what & CGSTAT_READ_PEAK)
                have |= CGSTAT_HAVE_PEAK;
        if (what & CGSTAT_READ_STAT)
                have |= CGSTAT_HAVE_STAT;
        if (what & CGSTAT_READ_EVENTS)
                have |= CGSTAT_HAVE_EVENTS_HIGH | CGSTAT_HAVE_EVENTS_MAX | CGSTAT_HAVE_EVENTS_OOM |
                        CGSTAT_HAVE_EVENTS_OOM_KILL;
        if (what & CGSTAT_READ_PRESSURE)
                have |= CGSTAT_HAVE_PRESSURE;
        if (what & CGSTAT_READ_LIMITS)
                have |= CGSTAT_HAVE_MIN | CGSTAT_HAVE_HIGH | CGSTAT_HAVE_MAX;
        if (what & CGSTAT_READ_PROCS)
                have |= CGSTAT_HAVE_PROCS;
        return have;
}

/* Sets the parts WHAT of S back to "not read". */
static void reset_parts(CgStat *s, unsigned what) {
        const CgStat init = CGSTAT_INIT;

        if (what & CGSTAT_READ_PEAK)
                s->peak = init.peak;
        if (what & CGSTAT_READ_STAT) {
                s->anon = init.anon;
                s->file = init.file;
                s->shmem = init.shmem;
        }
        if (what & CGSTAT_READ_EVENTS) {
                s->events_high = init.events_high;
                s->events_max = init.events_max;
                s->events_oom = init.events_oom;
                s->events_oom_kill = init.events_oom_kill;
        }
        if (what & CGSTAT_READ_PRESSURE)
                s->pressure = init.pressure;
        if (what & CGSTAT_READ_LIMITS) {
                s->min = init.min;
                s->high = init.high;
                s->max = init.max;
        }
        if (what & CGSTAT_READ_PROCS)
                s->nr_procs = init.nr_procs;
        s->have &= ~part_have(what);
}

/* Counts the lines of cgroup.procs in the directory DFD and in every
 * directory below it. Returns 0, -ENOENT (no cgroup.procs in DFD),
 * -EBADMSG, -ELOOP, or -errno. */
static int count_procs(int dfd, unsigned depth, uint64_t *count) {
        if (depth > PROCS_MAX_DEPTH)
                return -ELOOP;

        /* Streamed, not read whole: a cgroup with 10000 processes has a
         * ~60 KiB cgroup.procs. Each line must be a decimal PID. */
        _cleanup_close_ int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOCTTY);
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

        /* kernfs (cgroupfs), ext4 and tmpfs give a directory 2 + the number
         * of its subdirectories as link count: 2 means no child cgroup, and
         * no need to list the ~30 control files of a v1 memory cgroup
         * (getdents was 13% of poold's time answering status for 64 pools).
         * Filesystems that do not count (btrfs: 1) are listed. */
        struct stat st;
        if (fstat(dfd, &st) < 0)
                return negative_errno();
        if (st.st_nlink == 2)
                return 0;

        int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lfd < 0)
                return negative_errno();
        _cleanup_(dirp_close) DIR *d = fdopendir(lfd);
        if (!d) {
                int r = negative_errno();
                close(lfd);
                return r;
        }
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                _cleanup_close_ int sub = openat(dirfd(d), de->d_name,
                                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                /* A scope that went away between readdir and open, or not a
                 * directory after all (DT_UNKNOWN), counts as nothing. */
                if (sub < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
                        continue;
                if (sub < 0)
                        return negative_errno();
                int r = count_procs(sub, depth + 1, count);
                /* A directory that is not a cgroup (fixtures) counts as empty. */
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return negative_errno();
        return 0;
}

/* Reads the usage file, trying VERSION's name first (the other on ENOENT),
 * and sets *RET_VERSION to the one found. */
static int read_usage(int dfd, const char *dir, CgroupVersion version, CgroupVersion *ret_version, uint64_t *ret) {
        static const char *const names[] = {
                [CGROUP_VERSION_V1] = "memory.usage_in_bytes",
                [CGROUP_VERSION_V2] = "memory.current",
        };
        char text[VALUE_TEXT_MAX];
        CgroupVersion v = version == CGROUP_VERSION_V1 ? CGROUP_VERSION_V1 : CGROUP_VERSION_V2;

        int r = read_text(dfd, names[v], text, sizeof text);
        if (r == -ENOENT) {
                v = v == CGROUP_VERSION_V1 ? CGROUP_VERSION_V2 : CGROUP_VERSION_V1;
                r = read_text(dfd, names[v], text, sizeof text);
        }
        if (r < 0)
                return log_debug_errno(r, "%s: no memory usage file", dir);
        uint64_t u;
        if (parse_value(text, v == CGROUP_VERSION_V1, &u) < 0 || u == UINT64_MAX)
                return log_debug_errno(-EBADMSG, "%s: malformed %s", dir, names[v]);
        *ret_version = v;
        *ret = u;
        return 0;
}

/* Opens the cgroup directory DIR for the reads below it: one path walk per
 * cgroup rather than one per file (link_path_walk was 20% of poold's time
 * answering status for 64 pools). */
static int open_dir(const char *dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(negative_errno(), "%s: cannot open", dir);
        return fd;
}

int cgstat_read_current(const char *dir, uint64_t *ret) {
        CgroupVersion v;
        _cleanup_close_ int dfd = open_dir(dir);
        if (dfd < 0)
                return dfd;
        return read_usage(dfd, dir, CGROUP_VERSION_V2, &v, ret);
}

int cgstat_read_mask(const char *dir, unsigned what, CgStat *ret) {
        CgStat s = *ret;
        bool v1;
        int r;

        _cleanup_close_ int dfd = open_dir(dir);
        if (dfd < 0)
                return dfd;
        r = read_usage(dfd, dir, s.version, &s.version, &s.current);
        if (r < 0)
                return r;
        v1 = s.version == CGROUP_VERSION_V1;
        reset_parts(&s, what);

        for (size_t i = 0; i < ELEMENTSOF(value_files); i++) {
                const ValueFile *f = &value_files[i];
                const char *name = v1 ? f->v1 : f->v2;
                char text[VALUE_TEXT_MAX];
                if (!(what & f->part) || !name)
                        continue;
                r = read_optional(dfd, dir, name, text, sizeof text);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (parse_value(text, v1, field(&s, f->offset)) < 0)
                        return log_debug_errno(-EBADMSG, "%s/%s: malformed", dir, name);
                s.have |= f->have;
        }

        for (size_t i = 0; i < ELEMENTSOF(keyed_files); i++) {
                const KeyedFile *f = &keyed_files[i];
                char text[KEYED_TEXT_MAX];
                if (!(what & f->part) || f->version != s.version)
                        continue;
                r = read_optional(dfd, dir, f->name, text, sizeof text);
                if (r < 0)
                        return r;
                if (r > 0 && parse_keyed(text, f, &s) < 0)
                        return log_debug_errno(-EBADMSG, "%s/%s: malformed", dir, f->name);
        }

        if ((what & CGSTAT_READ_PRESSURE) && !v1) {
                char text[KEYED_TEXT_MAX];
                r = read_optional(dfd, dir, "memory.pressure", text, sizeof text);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (psi_parse(text, &s.pressure) < 0)
                                return log_debug_errno(-EBADMSG, "%s/memory.pressure: malformed", dir);
                        s.have |= CGSTAT_HAVE_PRESSURE;
                }
        }

        if (what & CGSTAT_READ_PROCS) {
                uint64_t procs = 0;
                r = count_procs(dfd, 0, &procs);
                if (r >= 0) {
                        s.nr_procs = procs;
                        s.have |= CGSTAT_HAVE_PROCS;
                } else if (r != -ENOENT)
                        return log_debug_errno(r, "%s: cannot count processes", dir);
        }

        *ret = s;
        return 0;
}

int cgstat_read(const char *dir, CgStat *ret) {
        CgStat s = CGSTAT_INIT;
        int r = cgstat_read_mask(dir, CGSTAT_READ_ALL, &s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

uint64_t cgstat_peak_update(uint64_t tracked, const CgStat *s) {
        uint64_t p = MAX(tracked, s->current);
        if (s->have & CGSTAT_HAVE_PEAK)
                p = MAX(p, s->peak);
        return p;
}
