/* SPDX-License-Identifier: MIT */
#pragma once

/* Pressure stall information (Documentation/accounting/psi.rst): the
 * averages in /proc/pressure/memory and a cgroup's memory.pressure, and
 * triggers on those files whose fd becomes readable with POLLPRI (EPOLLPRI
 * for sd-event) when the stall over a window passes a threshold. The paths
 * are parameters so tests can point them at fixture files. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psi-parse.h" /* PsiStats, psi_parse(): the text parser, pure */

typedef enum PsiKind {
        PSI_SOME, /* at least one task stalled */
        PSI_FULL, /* every non-idle task stalled: thrashing */
        _PSI_KIND_MAX,
} PsiKind;

/* Kernel limits on a trigger (kernel/sched/psi.c, psi_trigger_create()):
 * 0 < window <= 10 s, 0 < stall <= window; kernels before 6.4 also refuse
 * windows under 500 ms (WINDOW_MIN_US, removed by commit 519fabc). */
#define PSI_WINDOW_MAX_USEC UINT64_C(10000000)
#define PSI_WINDOW_MIN_OLD_USEC UINT64_C(500000)
/* Since Linux 6.4 (commit d82caa273565, "sched/psi: Allow unprivileged
 * polling of N*2s period"), a writer without CAP_SYS_RESOURCE may create a
 * trigger only if its window is a multiple of 2 s: psi.rst says "Unprivileged
 * users can also create monitors, with the only limitation that the window
 * size must be a multiple of 2s"; such triggers ride on the 2 s averaging
 * work instead of an RT "psimon" thread, so they fire at most every 2 s.
 * Measured here (root without CAP_SYS_RESOURCE, 6.18): "some 150000 1000000"
 * fails with EINVAL, "some 150000 2000000" works. */
#define PSI_WINDOW_UNPRIV_USEC UINT64_C(2000000)

/* Reads and parses the pressure file at PATH (e.g. /proc/pressure/memory or
 * <cgroup>/memory.pressure). Returns 0, -errno from open/read (-ENOENT: no
 * PSI or no such cgroup), -EBADMSG, -EFBIG for a file over 4 KiB. */
int psi_read(const char *path, PsiStats *ret);

/* A (stall, window) pair for a trigger, in microseconds. */
typedef struct PsiWindow {
        uint64_t stall_usec;
        uint64_t window_usec;
} PsiWindow;

#define PSI_WINDOW_CANDIDATES_MAX 3

/* The windows psi_trigger_open() tries, in order: the one asked for, then
 * 500 ms if it was shorter (kernels before 6.4), then the next multiple of
 * 2 s (writers without CAP_SYS_RESOURCE). A longer window keeps the asked
 * stall ratio (150 ms in 1 s becomes 300 ms in 2 s), so the trigger means
 * the same share of stalled time. Pure.
 * Returns the number of candidates written to RET (1..3), or -EINVAL if the
 * request itself is out of range (stall 0 or above window, window 0 or
 * above 10 s). */
int psi_window_candidates(uint64_t stall_usec, uint64_t window_usec,
                          PsiWindow ret[static PSI_WINDOW_CANDIDATES_MAX]);

typedef struct PsiTrigger PsiTrigger;

/* Opens PATH and registers a trigger "some|full STALL WINDOW" on it. Where
 * the kernel refuses the window with EINVAL, falls back through
 * psi_window_candidates() and keeps the first one accepted; the caller logs
 * the fallback once (psi_trigger_fell_back()) and shows the window used.
 * Returns 0; -EINVAL for a request out of range or every candidate refused;
 * -ENOENT (no PSI, or no such cgroup); -EPERM (kernels before 6.4 refuse
 * to open /proc/pressure for writing without CAP_SYS_RESOURCE);
 * -EOPNOTSUPP (PSI disabled, psi=0); -ENOMEM; other -errno from open/write. */
int psi_trigger_open(const char *path, PsiKind kind, uint64_t stall_usec, uint64_t window_usec,
                     PsiTrigger **ret);

/* Closes the fd, which unregisters the trigger. Accepts NULL; returns NULL. */
PsiTrigger *psi_trigger_free(PsiTrigger *t);
static inline void psi_trigger_freep(PsiTrigger **t) {
        if (*t)
                psi_trigger_free(*t);
}

/* The fd to watch for EPOLLPRI (EPOLLERR: the cgroup was removed). Owned by T. */
int psi_trigger_fd(const PsiTrigger *t);
PsiKind psi_trigger_kind(const PsiTrigger *t);
/* The stall and window the kernel accepted. */
PsiWindow psi_trigger_window(const PsiTrigger *t);
/* The stall and window the caller asked for. */
PsiWindow psi_trigger_requested(const PsiTrigger *t);
/* True if the accepted window differs from the one asked for. */
bool psi_trigger_fell_back(const PsiTrigger *t);

/* Waits up to TIMEOUT_MSEC (0: do not wait, -1: forever) for the trigger.
 * For tests and tools; the daemon watches psi_trigger_fd() in its loop.
 * Returns 1 if it fired, 0 on timeout, -ENODEV if the source is gone
 * (POLLERR: cgroup removed), -errno from poll(). */
int psi_trigger_poll(PsiTrigger *t, int timeout_msec);

const char *psi_kind_to_string(PsiKind k);
