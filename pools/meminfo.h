/* SPDX-License-Identifier: MIT */
#pragma once

/* /proc/meminfo, in bytes. Kernel-facing but thin: the proc root is a
 * parameter so tests read fixture trees (tests/fixtures/proc-*). */

#include <stdint.h>
#include <stdio.h>

typedef struct MemInfo {
        uint64_t total;      /* MemTotal; required */
        uint64_t free;       /* MemFree; required */
        uint64_t available;  /* MemAvailable; required (every kernel since 3.14 has it) */
        uint64_t buffers;    /* Buffers; 0 if absent */
        uint64_t cached;     /* Cached; 0 if absent */
        uint64_t swap_total; /* SwapTotal; 0 if absent (no swap support) */
        uint64_t swap_free;  /* SwapFree; 0 if absent */
} MemInfo;

/* Parses meminfo text from F. Lines of the fields above must read
 * "Key: <digits> kB"; other lines are skipped unread, so new kernel fields do
 * not break us. Returns 0; -EBADMSG for a malformed or repeated known field,
 * a missing unit or a value that is not a plain decimal; -ERANGE when a value
 * in bytes overflows 64 bits; -ENODATA when MemTotal, MemFree or MemAvailable
 * is missing; -EIO on a read error. RET is written only on success. */
int meminfo_parse(FILE *f, MemInfo *ret);

/* Reads PROC_ROOT/meminfo (PROC_ROOT NULL means "/proc").
 * Returns 0, -errno from opening the file, or an error of meminfo_parse(). */
int meminfo_read(const char *proc_root, MemInfo *ret);
