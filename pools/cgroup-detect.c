/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-detect.h"
#include "cgroup-util.h"
#include "log.h"
#include "macro.h"

static const char *const layout_names[_CGROUP_LAYOUT_MAX] = {
        [CGROUP_LAYOUT_UNIFIED] = "unified",
        [CGROUP_LAYOUT_HYBRID] = "hybrid",
        [CGROUP_LAYOUT_LEGACY] = "legacy",
};

const char *cgroup_layout_to_string(CgroupLayout l) {
        if (l < 0 || l >= _CGROUP_LAYOUT_MAX)
                return NULL;
        return layout_names[l];
}

static int octal_digit(char c) {
        return c >= '0' && c <= '7' ? c - '0' : -1;
}

int cgroup_detect_unescape(char *s) {
        char *w = s;
        for (const char *r = s; *r; r++) {
                if (*r != '\\') {
                        *w++ = *r;
                        continue;
                }
                int a = octal_digit(r[1]), b = a < 0 ? -1 : octal_digit(r[2]),
                    c = b < 0 ? -1 : octal_digit(r[3]);
                if (c < 0)
                        return -EBADMSG;
                int v = a * 64 + b * 8 + c;
                if (v == 0 || v > 255)
                        return -EBADMSG;
                *w++ = (char) v;
                r += 3;
        }
        *w = '\0';
        return 0;
}

/* Returns true if LIST (items separated by SEP) holds WORD as a whole item. */
static bool list_has(const char *list, const char *word, char sep) {
        size_t l = strlen(word);
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, sep);
                size_t n = e ? (size_t) (e - p) : strlen(p);
                if (n == l && strncmp(p, word, l) == 0)
                        return true;
                p = e ? e + 1 : NULL;
        }
        return false;
}

typedef struct MountLine {
        char *mount_point; /* unescaped, points into the line */
        char *fstype;
        char *super_options;
} MountLine;

/* Splits one mountinfo line (without its newline) in place:
 * "ID PARENT MAJ:MIN ROOT MOUNT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS".
 * Returns 0 or -EBADMSG. */
static int mount_line_parse(char *line, MountLine *ret) {
        char *fields[64];
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (n == ELEMENTSOF(fields))
                        return -EBADMSG;
                fields[n++] = t;
        }

        /* Six fixed fields, any number of optional ones, the separator, and
         * three more. */
        size_t sep = 6;
        while (sep < n && strcmp(fields[sep], "-") != 0)
                sep++;
        if (sep + 3 >= n)
                return -EBADMSG;

        int r = cgroup_detect_unescape(fields[4]);
        if (r < 0)
                return r;
        *ret = (MountLine) {
                .mount_point = fields[4],
                .fstype = fields[sep + 1],
                .super_options = fields[sep + 3],
        };
        return 0;
}

/* Reads SYSROOT + MOUNT/cgroup.controllers. Returns 0, or -errno. */
static int read_controllers(const char *sysroot, const char *mount, char **ret) {
        _cleanup_free_ char *dir = cgroup_util_path_join(sysroot, mount);
        if (!dir)
                return -ENOMEM;
        int r = cgroup_util_read_file(dir, "cgroup.controllers", ret);
        if (r < 0)
                return r;
        (*ret)[strcspn(*ret, "\n")] = '\0';
        return 0;
}

void cgroup_detect_done(CgroupHierarchy *h) {
        free(h->memory_mount);
        free(h->unified_mount);
        free(h->cpuset_mount);
        *h = (CgroupHierarchy) {};
}

static void cgroup_detect_donep(CgroupHierarchy *h) {
        cgroup_detect_done(h);
}

int cgroup_detect(const char *mountinfo, const char *sysroot, CgroupHierarchy *ret) {
        if (!mountinfo)
                mountinfo = "/proc/self/mountinfo";
        if (!sysroot || !*sysroot)
                sysroot = "/";

        _cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
        if (!f)
                return negative_errno();

        _cleanup_(cgroup_detect_donep) CgroupHierarchy h = {};
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        errno = 0;
        while ((len = getline(&line, &cap, f)) >= 0) {
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = '\0';
                if (len == 0)
                        continue;

                MountLine m;
                int r = mount_line_parse(line, &m);
                if (r < 0)
                        return log_debug_errno(r, "%s: malformed line", mountinfo);

                if (strcmp(m.fstype, "cgroup2") == 0) {
                        if (!h.unified_mount && !(h.unified_mount = strdup(m.mount_point)))
                                return -ENOMEM;
                } else if (strcmp(m.fstype, "cgroup") == 0) {
                        /* The first mount of a hierarchy wins: later ones are
                         * bind mounts of the same tree. */
                        if (!h.memory_mount && list_has(m.super_options, "memory", ',')) {
                                if (!(h.memory_mount = strdup(m.mount_point)))
                                        return -ENOMEM;
                                h.memory_version = CGROUP_VERSION_V1;
                        }
                        if (!h.cpuset_mount && list_has(m.super_options, "cpuset", ',')) {
                                if (!(h.cpuset_mount = strdup(m.mount_point)))
                                        return -ENOMEM;
                                h.cpuset_version = CGROUP_VERSION_V1;
                        }
                }
                errno = 0;
        }
        if (errno != 0)
                return negative_errno();

        if (h.unified_mount && (!h.memory_mount || !h.cpuset_mount)) {
                _cleanup_free_ char *controllers = NULL;
                int r = read_controllers(sysroot, h.unified_mount, &controllers);
                if (r < 0)
                        log_debug_errno(r, "%s: cannot read cgroup.controllers, guessing from the v1 mounts",
                                        h.unified_mount);
                if (!h.memory_mount && (r < 0 || list_has(controllers, "memory", ' '))) {
                        if (!(h.memory_mount = strdup(h.unified_mount)))
                                return -ENOMEM;
                        h.memory_version = CGROUP_VERSION_V2;
                }
                if (!h.cpuset_mount && r >= 0 && list_has(controllers, "cpuset", ' ')) {
                        if (!(h.cpuset_mount = strdup(h.unified_mount)))
                                return -ENOMEM;
                        h.cpuset_version = CGROUP_VERSION_V2;
                }
        }
        if (!h.memory_mount)
                return -ENOENT;

        if (h.memory_version == CGROUP_VERSION_V2)
                h.layout = CGROUP_LAYOUT_UNIFIED;
        else
                h.layout = h.unified_mount ? CGROUP_LAYOUT_HYBRID : CGROUP_LAYOUT_LEGACY;

        /* What sd_booted() checks, below SYSROOT so fixtures can say either. */
        _cleanup_free_ char *marker = cgroup_util_path_join(sysroot, "run/systemd/system");
        if (!marker)
                return -ENOMEM;
        struct stat st;
        h.systemd = lstat(marker, &st) == 0 && S_ISDIR(st.st_mode);

        *ret = h;
        h = (CgroupHierarchy) {};
        return 0;
}
