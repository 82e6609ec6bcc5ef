/* SPDX-License-Identifier: MIT */
#pragma once

/* The shrink ladder: turns pressure signals into pool targets and the
 * actions that enforce them. Pure: every call takes the measurements and a
 * monotonic timestamp as values and returns actions as values; no file,
 * clock or global is touched, so tests drive it with time series.
 *
 * The daemon's loop, in order:
 *   controller_new(conf, config, budget, now)       at start
 *   every wakeup (timer at out.next_wakeup_usec, PSI EPOLLPRI, client ack):
 *     fill PolicyInput (MemAvailable, reserves, pool usage, memory.events,
 *     which PSI triggers fired since the last call, subscribers, acks)
 *     controller_tick(ctl, &in, &out)
 *     carry out out.actions in order (SET_HIGH writes memory.high /
 *     MemoryHigh, NOTIFY_* go to the pool's clients and budget page), log
 *     each one (it is also the event for `poolctl events`)
 *     arm the timer for out.next_wakeup_usec
 *   MemTotal changed (hotplug, balloon) or config reloaded:
 *     budget_compute() with the new total/config; if it succeeds,
 *     controller_set_budget(): pools keep their shrink state (matched by
 *     name); an impossible new budget keeps the old one and is logged.
 *   a PSI trigger fell back to a longer window: controller_set_conf() with
 *     the window actually used (pressure lingers for two windows).
 *
 * Decisions, in short (details at each function in controller.c):
 *   pressure  = MemAvailable below the watermark, or the host's PSI
 *               trigger fired within the last two windows (unless a pool's
 *               own trigger fired too: then the stall is that pool's
 *               memory.high at work), or the pools' targets no longer fit
 *               poolable minus the reserves' overshoot.
 *   deficit   = (watermark + ShrinkExtra) - MemAvailable, less what the
 *               kernel is still reclaiming after the last step; the
 *               reserves' overshoot comes out of the targets (never out of
 *               the slack). One cut serves both: a reserve that grew by X
 *               also lowered MemAvailable by X, so summing them would take
 *               2X from the pools.
 *   ladder    = cache pools by priority (lowest first; ties: larger usage,
 *               then name) down to Min, then working pools down to Min;
 *               fixed pools never. One pool per step, cut by the whole
 *               remaining deficit (not blind small steps); the next step
 *               waits for the next call's measurements. Working pools wait
 *               while a cache pool's step is under way, and a cache pool
 *               that did not come down is cut from its target, to its Min,
 *               before any working pool is.
 *   a step    = NOTIFY_SHRINK (clients get ShrinkDeadline to free), then
 *               SET_HIGH at the deadline, all acks, or at once without
 *               subscribers; then the kernel reclaims (settling, at most
 *               ShrinkSettle, counted as in flight).
 *   grow back = after GrowHold without pressure (doubled each time the
 *               pool must shrink again within OscillationWindow of growing,
 *               up to GrowHoldMax), one step of at most GrowStep of poolable per
 *               GrowInterval, working before cache and higher priority
 *               first (same kind and priority: shared by Weight), never
 *               above the planned target nor into the watermark.
 *   exhausted = pressure remains and no pool has anything above Min to
 *               give: reported once per episode, then left to the kernel.
 *               poold never kills a process. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"
#include "diag.h"
#include "size.h"

/* Times are microseconds of CLOCK_MONOTONIC (sd-event's usec_t). */
#define POLICY_USEC_PER_MSEC UINT64_C(1000)
#define POLICY_USEC_PER_SEC UINT64_C(1000000)

/* A measurement the daemon could not take. */
#define POLICY_UNKNOWN UINT64_MAX

/* The [Pressure] section of poold.conf: the struct, its defaults and the
 * "why" of each number live in pools/config.h (PressureConf), so that the
 * config parser does not depend on policy/. */
typedef PressureConf PolicyConf;

/* Writes the defaults (config_pressure_defaults()). */
void controller_conf_init(PolicyConf *ret);

/* Checks ranges: intervals, deadline, settle, hold and grow interval > 0;
 * PressureInterval <= CalmInterval; 0 < window <= 10 s; 0 < stall <=
 * window; GrowHold <= GrowHoldMax; percentages <= 100%, GrowStep > 0.
 * Each problem is one message in DIAG ("[Pressure] Key=: ..."); the rules
 * are config_pressure_validate()'s. Returns 0, -EINVAL, -ENOMEM. */
int controller_conf_validate(const PolicyConf *conf, Diag *diag);

typedef enum PolicyStage {
        POLICY_STAGE_STEADY,                /* at its planned target */
        POLICY_STAGE_SHRINKING_COOPERATIVE, /* clients told; waiting for their deadline */
        POLICY_STAGE_SHRINKING_FORCED,      /* memory.high lowered; the kernel reclaims */
        POLICY_STAGE_HOLDING,               /* below plan; waiting for calm to last */
        POLICY_STAGE_GROWING,               /* below plan; growing back step by step */
        _POLICY_STAGE_MAX,
} PolicyStage;

typedef enum PolicyActionType {
        /* Publish the new target to the pool's clients (budget page) and ask
         * them to free BYTES by DEADLINE_USEC. */
        POLICY_ACTION_NOTIFY_SHRINK,
        /* Write memory.high (MemoryHigh=) = BYTES for the pool. BYTES is
         * the target, or above it by what the kernel cannot reclaim
         * (PolicyPoolSample.unreclaimable): memory.high below that frees
         * nothing and throttles the pool's tasks, cooperating clients
         * included; it follows their usage down to the target. */
        POLICY_ACTION_SET_HIGH,
        /* Publish a raised target (after its SET_HIGH). */
        POLICY_ACTION_NOTIFY_GROW,
        /* Pressure remains and no pool can give: log loudly, put it in
         * STATUS=; once per episode. */
        POLICY_ACTION_REPORT_EXHAUSTED,
        /* The exhausted episode ended (pressure gone). */
        POLICY_ACTION_REPORT_RECOVERED,
        /* memory.events of a pool counted max, oom or oom_kill (BYTES: the
         * new oom_kill count): the pool hit its own Max. */
        POLICY_ACTION_REPORT_POOL_EVENTS,
        /* The kernel could not bring the pool down to its target within
         * ShrinkSettle (BYTES: usage above the target; anonymous memory
         * without swap cannot be reclaimed). */
        POLICY_ACTION_REPORT_STUCK,
        /* A measured reserve went above its plan (BYTES: the overshoot, now
         * taken from the pools), or came back (BYTES: 0). */
        POLICY_ACTION_REPORT_RESERVE,
        _POLICY_ACTION_MAX,
} PolicyActionType;

/* What the daemon measured for one pool since the last call. */
typedef struct PolicyPoolSample {
        uint64_t usage;            /* memory.current (+ client arenas outside it); POLICY_UNKNOWN */
        /* memory.events counters as read (cumulative; POLICY_UNKNOWN if not
         * read). The controller keeps the previous values for the deltas; a
         * counter that went down means the cgroup was recreated. */
        uint64_t events_high;
        uint64_t events_max;
        uint64_t events_oom;
        uint64_t events_oom_kill;
        bool psi_fired;            /* the pool's memory.pressure trigger fired */
        unsigned subscribers;      /* clients subscribed to shrink notices */
        bool shrink_acked;         /* every subscriber answered the pending NOTIFY_SHRINK */
        /* Of usage, what memory.high cannot make the kernel reclaim:
         * anonymous memory and shmem when there is no swap to put them in.
         * 0 (also: not measured) means all of it is reclaimable. */
        uint64_t unreclaimable;
} PolicyPoolSample;

typedef struct PolicyInput {
        uint64_t now_usec;         /* monotonic; never less than the last call's */
        uint64_t mem_available;    /* MemAvailable in bytes; POLICY_UNKNOWN */
        bool psi_some_fired;       /* the system "some" trigger fired since the last call */
        bool psi_full_fired;       /* the system "full" trigger fired since the last call */
        size_t n_reserves;         /* the budget's count, or 0: nothing measured */
        const uint64_t *reserve_usage; /* measured bytes per reserve, POLICY_UNKNOWN if not tied */
        size_t n_pools;            /* the budget's count */
        const PolicyPoolSample *pools; /* in Config order of the last budget given */
} PolicyInput;

/* The values a decision was taken on; copied into every action. */
typedef struct PolicySignals {
        uint64_t mem_available;    /* as given (POLICY_UNKNOWN) */
        uint64_t watermark;
        uint64_t mem_deficit;      /* watermark + extra - MemAvailable, or 0 */
        uint64_t in_flight;        /* usage above target of pools being shrunk */
        uint64_t deficit;          /* what the ladder takes from usage now */
        uint64_t overshoot;        /* sum of reserves above their plan */
        uint64_t plan_excess;      /* sum of targets above poolable - overshoot */
        bool psi_some;             /* the host's trigger fired within the last two windows */
        bool psi_full;
        bool psi_full_fired;       /* in this call */
        unsigned psi_pools;        /* pools whose own trigger fired within two windows */
        bool psi_host;             /* host PSI counted as pressure: psi_some/full and psi_pools == 0 */
        bool pressure;
} PolicySignals;

#define POLICY_REASON_MAX 256

/* One decision: the action to carry out and the event to log. */
typedef struct PolicyAction {
        PolicyActionType type;
        uint64_t time_usec;        /* the input's now */
        size_t pool;               /* index in the Config's pools; SIZE_MAX if none */
        size_t reserve;            /* REPORT_RESERVE: index of the reserve; else SIZE_MAX */
        char name[POOL_NAME_MAX + 1]; /* the pool's or reserve's name, "" if none */
        PolicyStage stage;         /* the pool's stage after this action */
        uint64_t old_target;
        uint64_t new_target;
        uint64_t usage;            /* the pool's usage as measured (POLICY_UNKNOWN) */
        uint64_t bytes;            /* see PolicyActionType */
        uint64_t deadline_usec;    /* NOTIFY_SHRINK: when SET_HIGH follows */
        PolicySignals signals;
        char reason[POLICY_REASON_MAX];
} PolicyAction;

typedef struct PolicyOutput {
        PolicyAction *actions;     /* in the order to carry them out */
        size_t n_actions;
        uint64_t next_wakeup_usec; /* absolute: call again at this time at the latest */
        PolicySignals signals;
        bool pressure;
        bool exhausted;
} PolicyOutput;

/* Frees the actions; O may be reused. */
void controller_output_done(PolicyOutput *o);

typedef struct PolicyPoolStatus {
        const char *name;          /* valid until the next controller_set_budget() */
        PoolKind kind;
        int32_t priority;
        PolicyStage stage;
        uint64_t min;
        uint64_t max;
        uint64_t planned;          /* the budget's target */
        uint64_t target;           /* now */
        uint64_t usage;            /* last measured (POLICY_UNKNOWN) */
        uint64_t grow_after_usec;  /* holding: earliest grow step; else 0 */
        uint64_t hold_usec;        /* its current hold time (GrowHold, doubled) */
        unsigned shrink_episodes;  /* since start */
        uint64_t events_high;      /* memory.events high counted since start */
        uint64_t events_oom_kill;  /* memory.events oom_kill counted since start */
        bool psi;                  /* its own trigger fired within the last two windows */
} PolicyPoolStatus;

typedef struct Controller Controller;

/* Builds a controller for the pools of CFG with budget B (computed from
 * CFG); every pool starts steady at its planned target. Copies what it
 * needs: CFG and B may be freed afterwards. CONF is validated.
 * Returns 0, -EINVAL (bad CONF, or B does not match CFG), -ENOMEM. */
int controller_new(const PolicyConf *conf, const Config *cfg, const Budget *b, uint64_t now_usec,
                   Controller **ret);
Controller *controller_free(Controller *ctl);
static inline void controller_freep(Controller **ctl) {
        if (*ctl)
                controller_free(*ctl);
}

/* Takes a new budget (new MemTotal, or a reloaded CFG). Pools are matched by
 * name and keep their target, stage and hold state; new pools start steady
 * at their plan; gone pools are forgotten. Targets above the new plan are
 * brought down by the next controller_tick() (cooperative, then forced);
 * targets below a raised plan grow back in steps. Input indices follow CFG
 * from now on. On error nothing changes.
 * Returns 0, -EINVAL (B does not match CFG), -ENOMEM. */
int controller_set_budget(Controller *ctl, const Config *cfg, const Budget *b);

/* Adopts a target found in force at start (poold restarted while pools
 * were shrunk: the memory.high / MemoryHigh it reads back), so a restart
 * neither forgets a shrink nor undoes it at once: the pool holds at
 * TARGET (clamped to its Min and plan) and grows back as after pressure.
 * Returns 0, -ERANGE for an index past the pools, -EBUSY for a fixed pool
 * or one being shrunk. */
int controller_adopt_target(Controller *ctl, size_t i, uint64_t target);

/* Replaces the policy settings (reload, or the PSI window actually used).
 * Returns 0 or -EINVAL (CONF invalid; nothing changes). */
int controller_set_conf(Controller *ctl, const PolicyConf *conf);

/* One decision round. RET gets the actions (allocated; free with
 * controller_output_done()) and the time to call again.
 * Returns 0, -EINVAL (counts differ from the budget's, or time went
 * backwards; nothing changes), -ENOMEM. */
int controller_tick(Controller *ctl, const PolicyInput *in, PolicyOutput *ret);

size_t controller_n_pools(const Controller *ctl);
/* Returns 0 or -ERANGE for an index past the pools. */
int controller_pool_status(const Controller *ctl, size_t i, PolicyPoolStatus *ret);
bool controller_exhausted(const Controller *ctl);

const char *controller_stage_to_string(PolicyStage s);
const char *controller_action_to_string(PolicyActionType t);
