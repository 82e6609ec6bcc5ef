/* SPDX-License-Identifier: MIT */
#pragma once

/* Thin glue between the readers at the edges (pools/meminfo.h,
 * pools/cgstat.h, policy/psi.h) and the controller's input, so the daemon
 * fills PolicyInput the same way everywhere. Kernel-facing functions take
 * their root or path as a parameter. */

#include <stdint.h>

#include "cgstat.h"
#include "controller.h"
#include "psi.h"

/* The controller's sample for one pool from its cgroup statistics: usage
 * from memory.current (v1: memory.usage_in_bytes), the memory.events
 * counters the cgroup has (v1 has none but failcnt, taken as "max" events,
 * and oom_kill), POLICY_UNKNOWN for what it lacks. Leaves psi_fired,
 * subscribers and shrink_acked false/0 for the caller. Pure. */
void signals_pool_sample(const CgStat *st, PolicyPoolSample *ret);

/* MemAvailable and MemTotal from PROC_ROOT/meminfo (PROC_ROOT NULL:
 * "/proc"). MemTotal is returned so the caller can see it change (memory
 * hotplug, a balloon) and recompute the budget. Either out-parameter may be
 * NULL. Returns 0 or an error of meminfo_read(). */
int signals_read_host(const char *proc_root, uint64_t *ret_available, uint64_t *ret_total);

/* Opens the "some" and "full" triggers of CONF (PressureSomeStall=,
 * PressureFullStall=, PressureWindow=) on PATH: the host's
 * /proc/pressure/memory or a pool's memory.pressure. Where the kernel
 * refuses the window, each falls back as psi_trigger_open() does.
 * RET_WINDOW_USEC (may be NULL) gets the longer of the two windows
 * accepted: give it to controller_set_conf() as window_usec when it differs
 * from the configured one, so pressure lingers for two real windows.
 * Returns 0, or an error of psi_trigger_open(); on error nothing stays
 * open and the out-parameters are untouched. */
int signals_open_triggers(const char *path, const PolicyConf *conf, PsiTrigger **ret_some, PsiTrigger **ret_full,
                          uint64_t *ret_window_usec);
