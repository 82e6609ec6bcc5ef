/* SPDX-License-Identifier: MIT */
#pragma once

/* The text of a pressure-stall file (Documentation/accounting/psi.rst):
 * /proc/pressure/memory and a cgroup's memory.pressure. Pure: the parser
 * lives here, with the pool model, because pools/cgstat.c reads
 * memory.pressure with the other cgroup statistics; policy/psi.h (readers
 * and triggers) includes this header. */

#include <stdbool.h>
#include <stdint.h>

/* One line of a pressure file. The averages are kept as the kernel prints
 * them, in hundredths of a percent ("avg10=12.34" is 1234), so no floating
 * point is involved; total is the cumulative stall time in microseconds. */
typedef struct PsiLine {
        uint32_t avg10;
        uint32_t avg60;
        uint32_t avg300;
        uint64_t total_usec;
} PsiLine;

typedef struct PsiStats {
        PsiLine some;
        PsiLine full;
        bool has_full; /* cpu.pressure before 5.13 has only "some" */
} PsiStats;

/* Parses the text of a pressure file: a "some" line, then optionally a
 * "full" line, each exactly "avg10=N.NN avg60=N.NN avg300=N.NN total=N"
 * with averages 0..100 and two decimals, nothing else.
 * Returns 0 or -EBADMSG (*ret untouched). */
int psi_parse(const char *text, PsiStats *ret);
