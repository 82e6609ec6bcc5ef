/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers shared by the cgroup modules (cgroup*.c, cgstat.c). */

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Files under a cgroup directory are short: memory.stat is ~1.5 KiB on 6.x
 * kernels (v1 with its total_* lines ~1.3 KiB); a longer one is refused. */
#define CGROUP_UTIL_FILE_MAX (64 * 1024)

/* Reads DIR/NAME (NAME NULL: DIR itself is the file) into a NUL-terminated
 * string. Returns 0, -ENOENT, -EFBIG (over CGROUP_UTIL_FILE_MAX), -ENOMEM,
 * or -errno of open/read. */
int cgroup_util_read_file(const char *dir, const char *name, char **ret);

/* Writes VALUE to DIR/NAME in one write(), as the kernel wants for control
 * files. Returns 0 or -errno of open/write. */
int cgroup_util_write_file(const char *dir, const char *name, const char *value);

/* Parses a decimal uint64 that fills [S, END) (END NULL: to the NUL), with
 * no sign, space or empty string. Returns 0, -EINVAL, -ERANGE. */
int cgroup_util_parse_u64(const char *s, const char *end, uint64_t *ret);

/* Joins A and B with one '/' (B may be NULL or "": a copy of A).
 * Returns the new string or NULL (out of memory). */
char *cgroup_util_path_join(const char *a, const char *b);

/* Copies PATH without repeated and trailing '/' ("/a//b/" → "/a/b"; "/"
 * stays "/"). Returns the new string or NULL (out of memory). */
char *cgroup_util_path_normalize(const char *path);

/* The memory cgroup a process is in, from the text of its /proc/PID/cgroup
 * (TEXT): the "0::" line on cgroup v2 (VERSION 2), the line whose
 * controllers include "memory" on v1. *RET points into TEXT (up to the
 * newline, which is replaced by NUL). Pure. Returns 0 or -ENOENT. */
int cgroup_util_own_memory_cgroup(char *text, int version, const char **ret);

/* If PATH is PREFIX or below it, component-wise ("/sys/fs/cgroup/memory" is
 * not below "/sys/fs/cgroup/mem"), returns the rest without leading '/' ("" for
 * PATH == PREFIX); else NULL. Both must be normalized. */
const char *cgroup_util_path_below(const char *path, const char *prefix);
