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
 * Pressure: daemon/pressure.c runs the shrink ladder (policy/controller.h)
 * on the same loop; the manager gives it the configuration and budget (with
 * `poolctl set` targets as the plan) and its hands: reading the cgroups,
 * writing a pool's memory.high, re-partitioning when MemTotal changes. The
 * target applied to a pool is the controller's. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "diag.h"

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *config_path;      /* NULL: POOLD_CONFIG_PATH */
        const char *socket_path;      /* NULL: CONTROL_SOCKET_PATH (socket activation first) */
        const char *proc_root;        /* NULL: "/proc" (meminfo, pressure/memory) */
        const char *privileged_group; /* NULL: "poold" */
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
