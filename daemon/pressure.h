/* SPDX-License-Identifier: MIT */
#pragma once

/* The shrink ladder at work: runs the pure controller (policy/controller.h)
 * on the manager's loop. It owns the controller, the PSI triggers (the
 * host's /proc/pressure/memory and each pool's memory.pressure, watched for
 * EPOLLPRI), the sampling timer, the shrink notices and acknowledgements of
 * subscribed clients, and the event log; it reaches the cgroups and the
 * budget pages only through PressureOps, which the manager provides.
 *
 * A round ("tick") runs when the timer expires, when a trigger fires, and
 * when every client of a pending shrink has acknowledged it:
 *   MemAvailable (+ MemTotal: a change goes to total_changed first)
 *   -> the pools' usage and memory.events (measure; every round while any
 *      pool is being shrunk or held, else every PRESSURE_MEASURE_CALM_USEC)
 *   -> controller_tick() -> each action carried out in order (set_high,
 *      target_changed, a notice on topic pool/NAME), recorded in the event
 *      log, printed to the journal, pushed on topic "events"
 *   -> the timer re-armed for the earlier of the controller's wakeup and
 *      the sampling interval (see pressure_sample_interval()).
 *
 * Control verbs it serves: "ack" (a client's answer to a shrink notice) and
 * "events" (the log); docs/protocol.md. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "budget.h"
#include "config.h"
#include "control.h"
#include "controller.h"

/* How fast a machine can eat memory, for sampling MemAvailable no later
 * than the headroom above the watermark could be gone: one thread faulting
 * in 4 KiB pages manages about 1-2 GiB/s (a page fault plus zeroing is
 * ~2 us); 4 GiB/s leaves room for a few threads. */
#define PRESSURE_FILL_RATE_BYTES_PER_SEC (UINT64_C(4) << 30)

/* While calm and nothing is being shrunk, the pools' cgroups are read this
 * often (memory.events deltas, usage for status); MemAvailable and the
 * measured reserves (one file each) are read every round: a model loading
 * into its reserve is what the pools must make room for. */
#define PRESSURE_MEASURE_CALM_USEC (2 * POLICY_USEC_PER_SEC)

typedef struct PressureOps {
        /* Fills the measured reserves' usage (POLICY_UNKNOWN if not tied to
         * a unit or cgroup) and, with POOLS non-NULL, usage and the
         * memory.events counters of each pool (index = the Config's); with
         * DETAILED (under pressure or while a pool is being shrunk) also
         * unreclaimable = anon + shmem from memory.stat (swap is accounted
         * for by the caller). */
        void (*measure)(void *userdata, PolicyPoolSample *pools, size_t n_pools, uint64_t *reserve_usage,
                        size_t n_reserves, bool detailed);
        /* Writes pool I's memory.high (MemoryHigh=). Returns 0 or -errno. */
        int (*set_high)(void *userdata, size_t i, uint64_t bytes);
        /* Pool I's target changed (budget pages of libpoold clients). May be NULL. */
        void (*target_changed)(void *userdata, size_t i, uint64_t target);
        /* MemTotal is now NEW_TOTAL: recompute the budget and call
         * pressure_configure(). May be NULL. */
        void (*total_changed)(void *userdata, uint64_t new_total);
        /* The exhausted state changed (for STATUS=). May be NULL. */
        void (*state_changed)(void *userdata);
} PressureOps;

typedef struct Pressure Pressure;

/* PROC_ROOT: NULL for "/proc" (meminfo, pressure/memory). Returns 0 or -ENOMEM. */
int pressure_new(sd_event *event, Control *control, const char *proc_root, const PressureOps *ops,
                 void *userdata, Pressure **ret);
Pressure *pressure_free(Pressure *p);
static inline void pressure_freep(Pressure **p) {
        if (*p)
                pressure_free(*p);
}

/* Takes the configuration C with budget B (targets as planned, runtime
 * overrides applied) and the pools' cgroup directories PATHS (C->n_pools).
 * The first call creates the controller (every pool at its plan); later
 * calls keep the state of pools that keep their name. The [Pressure]
 * settings and the PSI triggers follow C. Returns 0, -EINVAL (settings or
 * budget refused: nothing changed), -ENOMEM. */
int pressure_configure(Pressure *p, const Config *c, const Budget *b, char *const *paths);

/* Watches MemTotal for a change from TOTAL (the figure the budget was made
 * of; 0: do not watch, e.g. a planned [Host] Total=): total_changed is
 * called once per change. */
void pressure_watch_total(Pressure *p, uint64_t total);

/* Adopts a target found in force at start (controller_adopt_target()). */
int pressure_adopt_target(Pressure *p, size_t i, uint64_t target);

/* Opens the PSI triggers (the pools' in their cgroup directories PATHS), arms
 * the timer and runs a first round at once. Returns 0 or -errno. */
int pressure_start(Pressure *p, char *const *paths);

/* Pool I's target now (the controller's), or UINT64_MAX before configure. */
uint64_t pressure_pool_target(const Pressure *p, size_t i);
/* Pool I's stage name ("steady", "shrinking-cooperative", ...) or NULL. */
const char *pressure_pool_stage(const Pressure *p, size_t i);

bool pressure_exhausted(const Pressure *p);

/* The "pressure" object of the status document, with the last few events.
 * Returns 0 or -ENOMEM. */
int pressure_status_json(Pressure *p, json_object **ret);
/* Pool I's extra status fields (stage, shrink episodes, hold) added to O. */
void pressure_pool_status_json(const Pressure *p, size_t i, json_object *o);

/* Registers "ack" and "events" on the control socket. Returns 0 or -errno. */
int pressure_register_verbs(Pressure *p, Control *control);
