/* SPDX-License-Identifier: MIT */
#pragma once

/* poold's manager: owns the configuration, its budget, the cgroup driver and
 * the control socket, all on one sd-event loop.
 *
 * Start: config -> host facts (meminfo, NUMA) -> budget -> driver -> parent
 * and every pool applied (pools that already exist are re-adopted, pools no
 * longer configured keep their limits and are reported as orphaned; nothing
 * is ever deleted or killed) -> control socket -> READY=1.
 * Signals: SIGHUP reloads (a bad new config leaves the running one in
 * force), SIGTERM/SIGINT leave the loop with the limits in force.
 * A stats timer reads every pool's and measured reserve's cgroup.
 *
 * The pressure controller (policy/) is not wired yet: its place is
 * manager_on_stats(), which has every pool's fresh CgStat and would feed
 * controller_tick() and apply the targets it returns. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "diag.h"

typedef struct Manager Manager;

/* The stats timer's period: 2 s, the shortest PSI window an unprivileged
 * trigger may use (PITFALLS.md), so the two see the same time scale. */
#define MANAGER_STATS_INTERVAL_USEC (2ULL * 1000000ULL)

typedef struct ManagerOptions {
        const char *config_path;      /* NULL: POOLD_CONFIG_PATH */
        const char *socket_path;      /* NULL: CONTROL_SOCKET_PATH (socket activation first) */
        const char *proc_root;        /* NULL: "/proc" (MemTotal) */
        const char *privileged_group; /* NULL: "poold" */
        uint64_t stats_interval_usec; /* 0: MANAGER_STATS_INTERVAL_USEC */
        bool no_signals;              /* tests: do not block or handle SIGHUP/SIGTERM/SIGINT */
} ManagerOptions;

/* Builds a manager on a new default-less sd-event loop. Nothing is read
 * yet. Returns 0 or -ENOMEM (or an sd-event errno). */
int manager_new(const ManagerOptions *o, Manager **ret);
/* Closes the socket and the driver; the pools' limits stay in force.
 * Accepts NULL; returns NULL. */
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}

/* Loads and applies the configuration, opens the control socket, arms
 * signals, the watchdog and the stats timer, and sends READY=1. Operator
 * errors (the config's Diag lines) are logged. Returns 0, -EINVAL (bad
 * config or budget), or the -errno of the driver or the socket. */
int manager_start(Manager *m);

/* The loop to run with sd_event_loop(). */
sd_event *manager_get_event(Manager *m);

/* Re-reads the configuration: parse, validate, budget, apply. On failure
 * the running configuration stays, DIAG gets the errors (also kept as the
 * last reload error) and -EINVAL is returned. Returns 0 or -errno. */
int manager_reload(Manager *m, Diag *diag);

/* Changes one pool's FIELD ("target", "min" or "max") to SIZE for the
 * running configuration only (a reload forgets it), after checking the
 * budget as a config would be checked. Returns 0, -ENOENT (no such pool),
 * -EINVAL (bad field or a budget that does not hold: DIAG says why), or
 * the driver's -errno. */
int manager_set(Manager *m, const char *pool, const char *field, uint64_t size, Diag *diag);

/* Reads the cgroups now (what the stats timer does). Returns 0. */
int manager_refresh_stats(Manager *m);

/* The status document poolctl status renders (docs/protocol.md "status").
 * Returns 0 or -ENOMEM. */
int manager_status_json(Manager *m, json_object **ret);
