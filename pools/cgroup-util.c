/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "macro.h"

static int open_at_dir(const char *dir, const char *name, int flags) {
        if (!name)
                return open(dir, flags | O_CLOEXEC | O_NOCTTY);

        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -1;
        return openat(dfd, name, flags | O_CLOEXEC | O_NOCTTY);
}

int cgroup_util_read_file(const char *dir, const char *name, char **ret) {
        _cleanup_close_ int fd = open_at_dir(dir, name, O_RDONLY);
        if (fd < 0)
                return negative_errno();

        /* cgroup files report st_size 4096 or 0 whatever they hold: read
         * until EOF instead of trusting fstat. */
        size_t cap = 4096, n = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (n + 1 >= cap) {
                        if (cap >= CGROUP_UTIL_FILE_MAX)
                                return -EFBIG;
                        cap *= 2;
                        char *nbuf = realloc(buf, cap);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                }
                ssize_t k = read(fd, buf + n, cap - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        if (strlen(buf) != n) /* a NUL byte inside: not a text control file */
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        return 0;
}

int cgroup_util_write_file(const char *dir, const char *name, const char *value) {
        _cleanup_close_ int fd = open_at_dir(dir, name, O_WRONLY);
        if (fd < 0)
                return negative_errno();

        size_t len = strlen(value);
        ssize_t k = write(fd, value, len);
        if (k < 0)
                return negative_errno();
        if ((size_t) k != len)
                return -EIO;
        return 0;
}

int cgroup_util_parse_u64(const char *s, const char *end, uint64_t *ret) {
        if (!end)
                end = s + strlen(s);
        /* strtoull accepts leading space and a sign ("-1" becomes
         * 2^64-1): only digits are a count of bytes or events. */
        if (end <= s || *s < '0' || *s > '9')
                return -EINVAL;

        char *e;
        errno = 0;
        unsigned long long v = strtoull(s, &e, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (e != end)
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

char *cgroup_util_path_join(const char *a, const char *b) {
        if (!b || !*b)
                return strdup(a);

        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;

        char *p;
        if (asprintf(&p, "%.*s/%s", (int) la, a, b) < 0)
                return NULL;
        return p;
}

char *cgroup_util_path_normalize(const char *path) {
        char *out = malloc(strlen(path) + 1);
        if (!out)
                return NULL;

        size_t n = 0;
        for (const char *s = path; *s; s++) {
                if (*s == '/' && n > 0 && out[n - 1] == '/')
                        continue;
                out[n++] = *s;
        }
        if (n > 1 && out[n - 1] == '/')
                n--;
        out[n] = '\0';
        return out;
}

const char *cgroup_util_path_below(const char *path, const char *prefix) {
        if (strcmp(prefix, "/") == 0)
                return path[0] == '/' ? path + 1 : NULL;

        size_t l = strlen(prefix);
        if (strncmp(path, prefix, l) != 0)
                return NULL;
        if (path[l] == '\0')
                return path + l;
        if (path[l] != '/')
                return NULL;
        return path + l + 1;
}

int cgroup_util_own_memory_cgroup(char *text, int version, const char **ret) {
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                /* "ID:CONTROLLERS:PATH" */
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c1 && c2) {
                        *c2 = '\0';
                        const char *controllers = c1 + 1;
                        bool match = false;
                        if (version == 2)
                                match = strncmp(line, "0:", 2) == 0 && controllers[0] == '\0';
                        else
                                for (const char *p = controllers; p && *p;) {
                                        size_t len = strcspn(p, ",");
                                        if (len == 6 && strncmp(p, "memory", 6) == 0)
                                                match = true;
                                        p += len + (p[len] == ',');
                                }
                        *c2 = ':';
                        if (match) {
                                *ret = c2 + 1;
                                return 0;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}
