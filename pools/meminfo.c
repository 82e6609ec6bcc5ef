/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "meminfo.h"

typedef struct MemInfoField {
        const char *key;
        size_t offset;
        bool required;
} MemInfoField;

static const MemInfoField meminfo_fields[] = {
        { "MemTotal",     offsetof(MemInfo, total),      true  },
        { "MemFree",      offsetof(MemInfo, free),       true  },
        { "MemAvailable", offsetof(MemInfo, available),  true  },
        { "Buffers",      offsetof(MemInfo, buffers),    false },
        { "Cached",       offsetof(MemInfo, cached),     false },
        { "SwapTotal",    offsetof(MemInfo, swap_total), false },
        { "SwapFree",     offsetof(MemInfo, swap_free),  false },
};

/* "   24683620 kB\n" -> bytes. The kernel prints these fields with
 * seq_printf("%8lu kB"), so anything else means we are not reading what we
 * think we are reading, and a silent 0 would become a wrong budget. */
static int meminfo_parse_value(const char *s, uint64_t *ret) {
        while (*s == ' ' || *s == '\t')
                s++;
        if (*s < '0' || *s > '9')
                return -EBADMSG;

        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s)
                return -EBADMSG;
        if (strcmp(end, " kB\n") != 0 && strcmp(end, " kB") != 0)
                return -EBADMSG;
        if (v > UINT64_MAX / 1024)
                return -ERANGE;

        *ret = (uint64_t) v * 1024;
        return 0;
}

int meminfo_parse(FILE *f, MemInfo *ret) {
        MemInfo m = {};
        bool seen[ELEMENTSOF(meminfo_fields)] = {};
        /* /proc/meminfo lines are under 64 bytes ("HugePages_Total: ..."); a
         * longer one is not a field we read, and is skipped whole below. */
        char line[256];

        while (fgets(line, sizeof line, f)) {
                size_t len = strlen(line);
                bool whole = len > 0 && line[len - 1] == '\n';

                char *colon = strchr(line, ':');
                const MemInfoField *field = NULL;
                size_t idx = 0;
                if (colon)
                        for (idx = 0; idx < ELEMENTSOF(meminfo_fields); idx++)
                                if (strlen(meminfo_fields[idx].key) == (size_t) (colon - line) &&
                                    strncmp(line, meminfo_fields[idx].key, (size_t) (colon - line)) == 0) {
                                        field = &meminfo_fields[idx];
                                        break;
                                }

                if (!whole && !feof(f)) {
                        /* Over-long line: a known field never is one. */
                        if (field)
                                return -EBADMSG;
                        int c;
                        while ((c = fgetc(f)) != EOF && c != '\n')
                                ;
                        continue;
                }
                if (!field)
                        continue;
                if (seen[idx])
                        return -EBADMSG;

                uint64_t v;
                int r = meminfo_parse_value(colon + 1, &v);
                if (r < 0)
                        return r;
                *(uint64_t *) ((char *) &m + field->offset) = v;
                seen[idx] = true;
        }
        if (ferror(f))
                return -EIO;

        for (size_t i = 0; i < ELEMENTSOF(meminfo_fields); i++)
                if (meminfo_fields[i].required && !seen[i])
                        return -ENODATA;

        *ret = m;
        return 0;
}

int meminfo_read(const char *proc_root, MemInfo *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        if (asprintf(&path, "%s/meminfo", proc_root ? proc_root : "/proc") < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        return meminfo_parse(f, ret);
}
