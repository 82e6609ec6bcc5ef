/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "macro.h"
#include "meminfo.h"
#include "signals.h"

static uint64_t have_or_unknown(const CgStat *st, unsigned bit, uint64_t v) {
        return (st->have & bit) ? v : POLICY_UNKNOWN;
}

void signals_pool_sample(const CgStat *st, PolicyPoolSample *ret) {
        *ret = (PolicyPoolSample) {
                .usage = st->current,
                .events_high = have_or_unknown(st, CGSTAT_HAVE_EVENTS_HIGH, st->events_high),
                .events_max = have_or_unknown(st, CGSTAT_HAVE_EVENTS_MAX, st->events_max),
                .events_oom = have_or_unknown(st, CGSTAT_HAVE_EVENTS_OOM, st->events_oom),
                .events_oom_kill = have_or_unknown(st, CGSTAT_HAVE_EVENTS_OOM_KILL, st->events_oom_kill),
        };
}

int signals_read_host(const char *proc_root, uint64_t *ret_available, uint64_t *ret_total) {
        MemInfo mi;
        int r;

        r = meminfo_read(proc_root, &mi);
        if (r < 0)
                return r;
        if (ret_available)
                *ret_available = mi.available;
        if (ret_total)
                *ret_total = mi.total;
        return 0;
}

int signals_open_triggers(const char *path, const PolicyConf *conf, PsiTrigger **ret_some, PsiTrigger **ret_full,
                          uint64_t *ret_window_usec) {
        _cleanup_(psi_trigger_freep) PsiTrigger *some = NULL, *full = NULL;
        int r;

        r = psi_trigger_open(path, PSI_SOME, conf->some_stall_usec, conf->window_usec, &some);
        if (r < 0)
                return r;
        r = psi_trigger_open(path, PSI_FULL, conf->full_stall_usec, conf->window_usec, &full);
        if (r < 0)
                return r;

        if (ret_window_usec)
                *ret_window_usec = MAX(psi_trigger_window(some).window_usec, psi_trigger_window(full).window_usec);
        *ret_some = TAKE_PTR(some);
        *ret_full = TAKE_PTR(full);
        return 0;
}
