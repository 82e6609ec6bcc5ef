/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "macro.h"

/* A pool as the controller sees it: the plan from the budget and what it
 * did to the pool so far. */
typedef struct CtlPool {
        char name[POOL_NAME_MAX + 1];
        PoolKind kind;
        int32_t priority;
        uint32_t weight;
        uint64_t min;
        uint64_t max;
        uint64_t planned;

        uint64_t target;
        PolicyStage stage;
        uint64_t stage_since;
        uint64_t deadline;        /* SHRINKING_COOPERATIVE */

        bool in_episode;          /* shrunk by pressure and not grown since */
        bool have_raise;
        uint64_t last_raise;      /* when a grow step last raised it */
        unsigned hold_shift;      /* GrowHold << hold_shift */
        unsigned episodes;

        uint64_t usage;           /* last measured, POLICY_UNKNOWN */
        uint64_t unreclaimable;   /* of usage, what memory.high cannot reclaim (0: all can) */
        uint64_t high;            /* SHRINKING_FORCED: memory.high as last written */
        bool have_psi;
        uint64_t psi_at;          /* its own memory.pressure trigger last fired */
        bool have_events;
        uint64_t ev_high, ev_max, ev_oom, ev_oom_kill; /* last counters read */
        uint64_t sum_high, sum_oom_kill;               /* counted since start */
} CtlPool;

typedef struct CtlReserve {
        char name[POOL_NAME_MAX + 1];
        uint64_t planned;
        bool over; /* reported above its plan, not yet back */
} CtlReserve;

struct Controller {
        PolicyConf conf;

        uint64_t total;
        uint64_t poolable;
        uint64_t slack;
        uint64_t watermark;

        size_t n_reserves;
        CtlReserve *reserves;
        size_t n_pools;
        CtlPool *pools;

        uint64_t now;             /* the last call's time */
        bool have_psi_some, have_psi_full;
        uint64_t psi_some_at, psi_full_at;
        uint64_t last_pressure;   /* last time pressure was seen (start: creation) */
        bool have_grow;
        uint64_t last_grow;
        bool exhausted;
        bool pressure;
};

static const char *const stage_table[_POLICY_STAGE_MAX] = {
        [POLICY_STAGE_STEADY] = "steady",
        [POLICY_STAGE_SHRINKING_COOPERATIVE] = "shrinking-cooperative",
        [POLICY_STAGE_SHRINKING_FORCED] = "shrinking-forced",
        [POLICY_STAGE_HOLDING] = "holding",
        [POLICY_STAGE_GROWING] = "growing",
};

static const char *const action_table[_POLICY_ACTION_MAX] = {
        [POLICY_ACTION_NOTIFY_SHRINK] = "notify-shrink",
        [POLICY_ACTION_SET_HIGH] = "set-high",
        [POLICY_ACTION_NOTIFY_GROW] = "notify-grow",
        [POLICY_ACTION_REPORT_EXHAUSTED] = "exhausted",
        [POLICY_ACTION_REPORT_RECOVERED] = "recovered",
        [POLICY_ACTION_REPORT_POOL_EVENTS] = "pool-events",
        [POLICY_ACTION_REPORT_STUCK] = "stuck",
        [POLICY_ACTION_REPORT_RESERVE] = "reserve",
};

const char *controller_stage_to_string(PolicyStage s) {
        return (unsigned) s < _POLICY_STAGE_MAX ? stage_table[s] : NULL;
}

const char *controller_action_to_string(PolicyActionType t) {
        return (unsigned) t < _POLICY_ACTION_MAX ? action_table[t] : NULL;
}

void controller_conf_init(PolicyConf *ret) {
        config_pressure_defaults(ret);
}

int controller_conf_validate(const PolicyConf *conf, Diag *diag) {
        return config_pressure_validate(conf, NULL, diag);
}

/* PERMYRIAD/10000 of X, rounded down, without overflowing for any X. */
static uint64_t share(uint64_t x, uint32_t permyriad) {
        return x / 10000 * permyriad + x % 10000 * permyriad / 10000;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

static uint64_t resolve_watermark(const PolicyConf *conf, uint64_t total, uint64_t slack) {
        switch (conf->watermark.kind) {
        case SIZE_BYTES:
                return conf->watermark.bytes;
        case SIZE_PERCENT:
                return share(total, conf->watermark.permyriad);
        default:
                return slack;
        }
}

static int budget_matches(const Config *cfg, const Budget *b) {
        if (b->n_pools != cfg->n_pools || b->n_reserves != cfg->n_reserves)
                return -EINVAL;
        if (b->n_pools > 0 && !b->pools)
                return -EINVAL;
        if (b->n_reserves > 0 && !b->reserves)
                return -EINVAL;
        return 0;
}

/* Builds the pool and reserve tables for CFG/B, carrying the state of
 * pools and reserves of the same name over from CTL's current tables. */
static int tables_build(const Controller *ctl, const Config *cfg, const Budget *b, CtlPool **ret_pools,
                        CtlReserve **ret_reserves) {
        _cleanup_free_ CtlPool *pools = NULL;
        _cleanup_free_ CtlReserve *reserves = NULL;

        if (cfg->n_pools > 0) {
                pools = calloc(cfg->n_pools, sizeof *pools);
                if (!pools)
                        return -ENOMEM;
        }
        if (cfg->n_reserves > 0) {
                reserves = calloc(cfg->n_reserves, sizeof *reserves);
                if (!reserves)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < cfg->n_pools; i++) {
                const PoolConf *pc = &cfg->pools[i];
                const PoolBudget *pb = &b->pools[i];
                CtlPool *p = &pools[i];
                const CtlPool *old = NULL;

                for (size_t j = 0; ctl && j < ctl->n_pools; j++)
                        if (strcmp(ctl->pools[j].name, pc->name) == 0) {
                                old = &ctl->pools[j];
                                break;
                        }
                if (old)
                        *p = *old;
                else
                        *p = (CtlPool) {
                                .target = pb->target,
                                .stage = POLICY_STAGE_STEADY,
                                .usage = POLICY_UNKNOWN,
                        };
                snprintf(p->name, sizeof p->name, "%s", pc->name);
                p->kind = pc->kind;
                p->priority = pc->priority;
                p->weight = pc->weight > 0 ? pc->weight : 1;
                p->min = pb->min;
                p->max = pb->max;
                p->planned = pb->target;
                /* A fixed pool is the size it was given, whatever happened
                 * to it before a reload made it fixed. */
                if (p->kind == POOL_KIND_FIXED) {
                        p->target = p->planned;
                        p->stage = POLICY_STAGE_STEADY;
                }
        }

        for (size_t i = 0; i < cfg->n_reserves; i++) {
                CtlReserve *r = &reserves[i];

                snprintf(r->name, sizeof r->name, "%s", cfg->reserves[i].name);
                r->planned = b->reserves[i];
                for (size_t j = 0; ctl && j < ctl->n_reserves; j++)
                        if (strcmp(ctl->reserves[j].name, r->name) == 0)
                                r->over = ctl->reserves[j].over;
        }

        *ret_pools = TAKE_PTR(pools);
        *ret_reserves = TAKE_PTR(reserves);
        return 0;
}

static void budget_take(Controller *ctl, const Budget *b) {
        ctl->total = b->total;
        ctl->poolable = b->poolable;
        ctl->slack = b->slack;
        ctl->watermark = resolve_watermark(&ctl->conf, b->total, b->slack);
}

int controller_new(const PolicyConf *conf, const Config *cfg, const Budget *b, uint64_t now_usec,
                   Controller **ret) {
        _cleanup_(controller_freep) Controller *ctl = NULL;
        Diag diag = {};
        int r;

        r = controller_conf_validate(conf, &diag);
        diag_done(&diag);
        if (r < 0)
                return r;
        r = budget_matches(cfg, b);
        if (r < 0)
                return r;

        ctl = calloc(1, sizeof *ctl);
        if (!ctl)
                return -ENOMEM;
        ctl->conf = *conf;
        r = tables_build(NULL, cfg, b, &ctl->pools, &ctl->reserves);
        if (r < 0)
                return r;
        ctl->n_pools = cfg->n_pools;
        ctl->n_reserves = cfg->n_reserves;
        budget_take(ctl, b);
        ctl->now = now_usec;
        /* Nothing is known about the time before: count it as pressure so
         * nothing grows before a full hold has passed. */
        ctl->last_pressure = now_usec;
        for (size_t i = 0; i < ctl->n_pools; i++)
                ctl->pools[i].stage_since = now_usec;

        *ret = TAKE_PTR(ctl);
        return 0;
}

Controller *controller_free(Controller *ctl) {
        if (!ctl)
                return NULL;
        free(ctl->pools);
        free(ctl->reserves);
        free(ctl);
        return NULL;
}

int controller_set_budget(Controller *ctl, const Config *cfg, const Budget *b) {
        CtlPool *pools;
        CtlReserve *reserves;
        int r;

        r = budget_matches(cfg, b);
        if (r < 0)
                return r;
        r = tables_build(ctl, cfg, b, &pools, &reserves);
        if (r < 0)
                return r;
        free(ctl->pools);
        free(ctl->reserves);
        ctl->pools = pools;
        ctl->reserves = reserves;
        ctl->n_pools = cfg->n_pools;
        ctl->n_reserves = cfg->n_reserves;
        for (size_t i = 0; i < ctl->n_pools; i++)
                if (ctl->pools[i].stage_since == 0)
                        ctl->pools[i].stage_since = ctl->now;
        budget_take(ctl, b);
        return 0;
}

static bool pool_can_shrink(const CtlPool *p) {
        return p->kind != POOL_KIND_FIXED && p->stage != POLICY_STAGE_SHRINKING_COOPERATIVE &&
               p->stage != POLICY_STAGE_SHRINKING_FORCED;
}

int controller_adopt_target(Controller *ctl, size_t i, uint64_t target) {
        if (i >= ctl->n_pools)
                return -ERANGE;

        CtlPool *p = &ctl->pools[i];
        if (!pool_can_shrink(p))
                return -EBUSY;
        p->target = MAX(MIN(target, p->planned), p->min);
        p->stage = p->target < p->planned ? POLICY_STAGE_HOLDING : POLICY_STAGE_STEADY;
        p->stage_since = ctl->now;
        /* Held down by an earlier poold: the same episode, not a new one. */
        p->in_episode = p->target < p->planned;
        return 0;
}

int controller_set_conf(Controller *ctl, const PolicyConf *conf) {
        Diag diag = {};
        int r;

        r = controller_conf_validate(conf, &diag);
        diag_done(&diag);
        if (r < 0)
                return r;
        ctl->conf = *conf;
        ctl->watermark = resolve_watermark(conf, ctl->total, ctl->slack);
        return 0;
}

size_t controller_n_pools(const Controller *ctl) {
        return ctl->n_pools;
}

bool controller_exhausted(const Controller *ctl) {
        return ctl->exhausted;
}

static uint64_t pool_hold(const Controller *ctl, const CtlPool *p) {
        uint64_t h = ctl->conf.grow_hold_usec;

        for (unsigned i = 0; i < p->hold_shift && h < ctl->conf.grow_hold_max_usec; i++)
                h = sat_add(h, h);
        return MIN(h, ctl->conf.grow_hold_max_usec);
}

int controller_pool_status(const Controller *ctl, size_t i, PolicyPoolStatus *ret) {
        if (i >= ctl->n_pools)
                return -ERANGE;

        const CtlPool *p = &ctl->pools[i];
        bool below = p->target < p->planned && p->kind != POOL_KIND_FIXED;
        *ret = (PolicyPoolStatus) {
                .name = p->name,
                .kind = p->kind,
                .priority = p->priority,
                .stage = p->stage,
                .min = p->min,
                .max = p->max,
                .planned = p->planned,
                .target = p->target,
                .usage = p->usage,
                .grow_after_usec = below ? sat_add(ctl->last_pressure, pool_hold(ctl, p)) : 0,
                .hold_usec = pool_hold(ctl, p),
                .shrink_episodes = p->episodes,
                .events_high = p->sum_high,
                .events_oom_kill = p->sum_oom_kill,
                .psi = p->have_psi && ctl->now - p->psi_at < 2 * ctl->conf.window_usec,
        };
        return 0;
}

void controller_output_done(PolicyOutput *o) {
        free(o->actions);
        *o = (PolicyOutput) {};
}

/* One call's working state. */
typedef struct Tick {
        Controller *ctl;
        const PolicyInput *in;
        PolicyOutput *out;
        PolicySignals sig;
        int error;
} Tick;

static char *fmt_size(uint64_t v, char buf[static SIZE_FMT_MAX]) {
        if (v == POLICY_UNKNOWN)
                return strcpy(buf, "unknown");
        return size_format_human(v, buf);
}

_printf_(5, 6) static PolicyAction *emit(Tick *t, PolicyActionType type, size_t pool, size_t reserve,
                                         const char *format, ...) {
        PolicyOutput *o = t->out;
        va_list ap;

        if (t->error < 0)
                return NULL;
        PolicyAction *v = realloc(o->actions, (o->n_actions + 1) * sizeof *v);
        if (!v) {
                t->error = -ENOMEM;
                return NULL;
        }
        o->actions = v;

        PolicyAction *a = &v[o->n_actions++];
        *a = (PolicyAction) {
                .type = type,
                .time_usec = t->in->now_usec,
                .pool = pool,
                .reserve = reserve,
                .usage = POLICY_UNKNOWN,
                .signals = t->sig,
        };
        if (pool != SIZE_MAX) {
                const CtlPool *p = &t->ctl->pools[pool];
                snprintf(a->name, sizeof a->name, "%s", p->name);
                a->stage = p->stage;
                a->old_target = a->new_target = p->target;
                a->usage = p->usage;
        } else if (reserve != SIZE_MAX)
                snprintf(a->name, sizeof a->name, "%s", t->ctl->reserves[reserve].name);

        va_start(ap, format);
        vsnprintf(a->reason, sizeof a->reason, format, ap);
        va_end(ap);
        return a;
}

/* The pool's usage for decisions: unknown counts as full (at its target). */
static uint64_t pool_usage(const CtlPool *p) {
        return p->usage == POLICY_UNKNOWN ? p->target : p->usage;
}

/* memory.high for a pool being brought down to its target: the target, or
 * what the kernel cannot reclaim if that is more. Below it, memory.high
 * frees nothing and throttles the pool's tasks (the kernel's over-high
 * penalty, up to 2 s at each return to user space), cooperating clients
 * still freeing among them: measured in the VM, a client asked for 324M
 * slept in mem_cgroup_handle_over_high after each munmap and never
 * answered. It still stops the pool from growing. */
static uint64_t forced_high(const CtlPool *p) {
        uint64_t floor = p->usage == POLICY_UNKNOWN ? 0 : MIN(p->usage, p->unreclaimable);
        return MAX(p->target, floor);
}

/* memory.events: report what says the pool hit its own hard limit (max,
 * oom, oom_kill); "high" is the throttling we asked for and only counted. */
static void pool_events(Tick *t, size_t i, const PolicyPoolSample *s) {
        CtlPool *p = &t->ctl->pools[i];
        const uint64_t cur[4] = { s->events_high, s->events_max, s->events_oom, s->events_oom_kill };
        uint64_t *prev[4] = { &p->ev_high, &p->ev_max, &p->ev_oom, &p->ev_oom_kill };
        uint64_t d[4] = {};

        for (size_t k = 0; k < 4; k++) {
                if (cur[k] == POLICY_UNKNOWN)
                        continue;
                /* The first reading is a baseline: those events happened
                 * before we watched. A counter that went down belongs to a
                 * recreated cgroup: everything in it is new. */
                if (p->have_events)
                        d[k] = cur[k] >= *prev[k] ? cur[k] - *prev[k] : cur[k];
                *prev[k] = cur[k];
        }
        p->have_events = true;
        p->sum_high = sat_add(p->sum_high, d[0]);
        p->sum_oom_kill = sat_add(p->sum_oom_kill, d[3]);

        if (d[1] > 0 || d[2] > 0 || d[3] > 0) {
                char mx[SIZE_FMT_MAX];
                PolicyAction *a = emit(t, POLICY_ACTION_REPORT_POOL_EVENTS, i, SIZE_MAX,
                                       "memory.events: max +%" PRIu64 ", oom +%" PRIu64
                                       ", oom_kill +%" PRIu64 ": the pool hit its Max=%s",
                                       d[1], d[2], d[3], fmt_size(p->max, mx));
                if (a)
                        a->bytes = d[3];
        }
}

static uint64_t reserves_overshoot(Tick *t) {
        Controller *ctl = t->ctl;
        const PolicyInput *in = t->in;
        uint64_t sum = 0;

        if (in->n_reserves == 0)
                return 0;
        for (size_t i = 0; i < ctl->n_reserves; i++) {
                uint64_t m = in->reserve_usage[i];
                if (m == POLICY_UNKNOWN)
                        continue;
                sum = sat_add(sum, sat_sub(m, ctl->reserves[i].planned));
        }
        return sum;
}

static void reserves_report(Tick *t) {
        Controller *ctl = t->ctl;
        const PolicyInput *in = t->in;

        if (in->n_reserves == 0)
                return;
        for (size_t i = 0; i < ctl->n_reserves; i++) {
                CtlReserve *r = &ctl->reserves[i];
                uint64_t m = in->reserve_usage[i];
                char a_[SIZE_FMT_MAX], b_[SIZE_FMT_MAX], c_[SIZE_FMT_MAX];

                if (m == POLICY_UNKNOWN)
                        continue;
                if (m > r->planned && !r->over) {
                        r->over = true;
                        PolicyAction *a = emit(t, POLICY_ACTION_REPORT_RESERVE, SIZE_MAX, i,
                                               "reserve measured %s, %s above its plan %s: taken from the pools",
                                               fmt_size(m, a_), fmt_size(m - r->planned, b_),
                                               fmt_size(r->planned, c_));
                        if (a)
                                a->bytes = m - r->planned;
                } else if (m <= r->planned && r->over) {
                        r->over = false;
                        emit(t, POLICY_ACTION_REPORT_RESERVE, SIZE_MAX, i,
                             "reserve measured %s, back within its plan %s", fmt_size(m, a_),
                             fmt_size(r->planned, c_));
                }
        }
}

/* Lowers pool I's target to NEW_TARGET: the clients get the deadline to
 * free the difference themselves; without subscribers (or nothing above the
 * new target) memory.high goes down at once. PRESSURE_EPISODE: a shrink
 * forced by pressure (not a plan change), which counts for oscillation. */
static void shrink_start(Tick *t, size_t i, uint64_t new_target, bool pressure_episode, const char *why) {
        Controller *ctl = t->ctl;
        CtlPool *p = &ctl->pools[i];
        const PolicyPoolSample *s = &t->in->pools[i];
        uint64_t now = t->in->now_usec;
        uint64_t old = p->target;
        uint64_t usage = pool_usage(p);
        uint64_t to_free = sat_sub(usage, new_target);
        char o_[SIZE_FMT_MAX], n_[SIZE_FMT_MAX], f_[SIZE_FMT_MAX];

        /* An episode is the run of steps from the first shrink until the
         * pool grows again: further steps while it is held down continue
         * it. A new episode within OscillationWindow of the pool's last
         * grow step means the load came back as soon as we grew: double the
         * hold. Each full window of quiet since that grow step halves it
         * back. (Measuring from the last grow, not the last episode, keeps
         * a doubled hold from spacing the episodes past the window and so
         * resetting itself.) */
        if (pressure_episode && !p->in_episode) {
                if (p->have_raise) {
                        uint64_t quiet = now - p->last_raise;
                        if (quiet < ctl->conf.oscillation_window_usec) {
                                if (p->hold_shift < 32)
                                        p->hold_shift++;
                        } else {
                                uint64_t k = quiet / ctl->conf.oscillation_window_usec;
                                p->hold_shift = k >= p->hold_shift ? 0 : p->hold_shift - (unsigned) k;
                        }
                }
                p->in_episode = true;
                p->episodes++;
        }

        p->target = new_target;
        p->stage_since = now;
        fmt_size(old, o_);
        fmt_size(new_target, n_);
        fmt_size(to_free, f_);

        if (s->subscribers > 0) {
                bool wait = to_free > 0;
                p->stage = wait ? POLICY_STAGE_SHRINKING_COOPERATIVE : POLICY_STAGE_SHRINKING_FORCED;
                p->deadline = wait ? now + ctl->conf.shrink_deadline_usec : now;
                PolicyAction *a = emit(t, POLICY_ACTION_NOTIFY_SHRINK, i, SIZE_MAX,
                                       "%s; target %s -> %s, clients asked to free %s", why, o_, n_, f_);
                if (a) {
                        a->old_target = old;
                        a->bytes = to_free;
                        a->deadline_usec = p->deadline;
                }
                if (wait)
                        return;
        }

        p->stage = POLICY_STAGE_SHRINKING_FORCED;
        p->high = forced_high(p);
        PolicyAction *a = emit(t, POLICY_ACTION_SET_HIGH, i, SIZE_MAX,
                               s->subscribers > 0 ? "%s; target %s -> %s, nothing above it to free"
                                                  : "%s; target %s -> %s, no subscribed clients: the kernel reclaims %s%s",
                               why, o_, n_, f_,
                               p->high > new_target ? " (memory.high stays above the target by what it cannot reclaim)"
                                                    : "");
        if (a) {
                a->old_target = old;
                a->bytes = p->high;
        }
}

/* Cooperative stage over (deadline or every client answered): lower
 * memory.high so the kernel reclaims the rest. Forced stage over (usage at
 * the target, or ShrinkSettle passed): hold. Returns true if a SET_HIGH
 * went out (the next ladder step waits for the next measurements). */
static bool stages_advance(Tick *t) {
        Controller *ctl = t->ctl;
        uint64_t now = t->in->now_usec;
        bool forced = false;

        for (size_t i = 0; i < ctl->n_pools; i++) {
                CtlPool *p = &ctl->pools[i];
                const PolicyPoolSample *s = &t->in->pools[i];
                char a_[SIZE_FMT_MAX], b_[SIZE_FMT_MAX];

                if (p->stage == POLICY_STAGE_SHRINKING_COOPERATIVE &&
                    (now >= p->deadline || s->shrink_acked)) {
                        p->stage = POLICY_STAGE_SHRINKING_FORCED;
                        p->stage_since = now;
                        uint64_t left = sat_sub(pool_usage(p), p->target);
                        p->high = forced_high(p);
                        PolicyAction *a;
                        if (p->high > p->target)
                                a = emit(t, POLICY_ACTION_SET_HIGH, i, SIZE_MAX,
                                         "%s; %s still above the target, %s of it not reclaimable by the kernel "
                                         "(anonymous, no swap): memory.high at %s, following the clients down",
                                         s->shrink_acked ? "clients answered" : "cooperative deadline passed",
                                         fmt_size(left, a_), fmt_size(p->high - p->target, b_),
                                         fmt_size(p->high, (char[SIZE_FMT_MAX]) {}));
                        else
                                a = emit(t, POLICY_ACTION_SET_HIGH, i, SIZE_MAX,
                                         "%s; %s still above the target: the kernel reclaims it",
                                         s->shrink_acked ? "clients answered" : "cooperative deadline passed",
                                         fmt_size(left, a_));
                        if (a)
                                a->bytes = p->high;
                        forced = true;
                } else if (p->stage == POLICY_STAGE_SHRINKING_FORCED) {
                        /* Held above the target by unreclaimable memory:
                         * follow the usage down as the clients free it, in
                         * steps of at least a quarter of the gap (or 4 MiB),
                         * and count the settling time from the last step. */
                        if (p->high > p->target) {
                                uint64_t nh = forced_high(p), gap = p->high - p->target;
                                uint64_t step = MAX(gap / 4, UINT64_C(4) << 20);
                                if (nh < p->high && (nh == p->target || p->high - nh >= step)) {
                                        PolicyAction *a = emit(t, POLICY_ACTION_SET_HIGH, i, SIZE_MAX,
                                                               "usage down to %s: memory.high follows to %s",
                                                               fmt_size(pool_usage(p), a_), fmt_size(nh, b_));
                                        if (a)
                                                a->bytes = nh;
                                        p->high = nh;
                                        p->stage_since = now;
                                        continue;
                                }
                        }
                        uint64_t above = sat_sub(pool_usage(p), p->target);
                        bool timeout = now - p->stage_since >= ctl->conf.shrink_settle_usec;
                        if (above > 0 && !timeout)
                                continue;
                        p->stage = p->target < p->planned ? POLICY_STAGE_HOLDING : POLICY_STAGE_STEADY;
                        p->stage_since = now;
                        if (above > 0) {
                                PolicyAction *a = emit(t, POLICY_ACTION_REPORT_STUCK, i, SIZE_MAX,
                                                       "usage %s stays %s above the target after ShrinkSettle: "
                                                       "the kernel cannot reclaim it (anonymous memory without swap?)",
                                                       fmt_size(pool_usage(p), a_), fmt_size(above, b_));
                                if (a)
                                        a->bytes = above;
                        }
                }
        }
        return forced;
}

/* Memory the kernel is reclaiming from pools whose memory.high was just
 * lowered (and clients are freeing): not yet in MemAvailable, so not to be
 * taken twice. */
static uint64_t in_flight(const Controller *ctl) {
        uint64_t sum = 0;

        for (size_t i = 0; i < ctl->n_pools; i++) {
                const CtlPool *p = &ctl->pools[i];
                if (p->stage == POLICY_STAGE_SHRINKING_COOPERATIVE ||
                    p->stage == POLICY_STAGE_SHRINKING_FORCED)
                        sum = sat_add(sum, sat_sub(pool_usage(p), p->target));
        }
        return sum;
}

/* Shrink order: cache pools before working pools (fixed pools are never in
 * the ladder), lower priority first, then the larger pool, then the name. */
static int ladder_cmp(const Controller *ctl, size_t a, size_t b) {
        const CtlPool *x = &ctl->pools[a], *y = &ctl->pools[b];
        uint64_t ux = pool_usage(x), uy = pool_usage(y);

        if (x->kind != y->kind)
                return x->kind == POOL_KIND_CACHE ? -1 : 1;
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        if (ux != uy)
                return ux > uy ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* Insertion sort: pool counts are small and qsort has no context pointer. */
static void ladder_sort(const Controller *ctl, size_t *idx, size_t n) {
        for (size_t i = 1; i < n; i++) {
                size_t v = idx[i], j = i;
                while (j > 0 && ladder_cmp(ctl, idx[j - 1], v) > 0) {
                        idx[j] = idx[j - 1];
                        j--;
                }
                idx[j] = v;
        }
}

/* One ladder step: the first pool in shrink order that can give is cut by
 * the whole remaining need (DEFICIT from usage, EXCESS from targets; one
 * cut counts for both), down to its Min. Returns true if a pool was cut or
 * the working pools must wait for a cache pool's step to end, false if
 * none could give. */
static bool ladder_step(Tick *t, const size_t *order, size_t n, uint64_t deficit, uint64_t excess,
                        const char *cause) {
        Controller *ctl = t->ctl;

        bool cache_in_step = false;
        size_t cache_above_min = SIZE_MAX;

        for (size_t k = 0; k < n; k++) {
                size_t i = order[k];
                CtlPool *p = &ctl->pools[i];
                uint64_t T = p->target, U = pool_usage(p), M = p->min;
                uint64_t nt = T;

                /* Working pools only once every cache pool is at its Min: a
                 * cache pool still in its step (its clients freeing, the
                 * kernel reclaiming) is not at its Min yet, so the ladder
                 * waits for it rather than going on to the working pools
                 * (seen in the VM: work cut while data was still freeing
                 * 150-390M above its Min). Caches are sorted first. */
                if (p->kind == POOL_KIND_WORKING && cache_in_step)
                        return true;
                if (!pool_can_shrink(p)) {
                        if (p->kind == POOL_KIND_CACHE && T > M)
                                cache_in_step = true;
                        continue;
                }
                if (T <= M)
                        continue;
                /* A cache pool that uses more than its target (a step that
                 * did not bring it down) has nothing new to give when cut
                 * from its usage, and the next cache pool is asked instead;
                 * but before a working pool is, such a pool is cut from its
                 * target, towards its Min, and its clients asked again. */
                if (p->kind == POOL_KIND_WORKING && cache_above_min != SIZE_MAX) {
                        i = cache_above_min;
                        p = &ctl->pools[i];
                        T = p->target;
                        M = p->min;
                        U = T;
                }
                if (excess > 0)
                        nt = T - MIN(excess, T - M);
                if (deficit > 0 && U > M)
                        nt = MIN(nt, U - MIN(deficit, U - M));
                if (nt >= T) {
                        if (p->kind == POOL_KIND_CACHE && cache_above_min == SIZE_MAX)
                                cache_above_min = i;
                        continue;
                }

                char why[POLICY_REASON_MAX];
                snprintf(why, sizeof why, "%s; %s pool, priority %" PRId32 ", first in the ladder with memory above Min",
                         cause, pool_kind_to_string(p->kind), p->priority);
                shrink_start(t, i, nt, true, why);
                return true;
        }
        return false;
}

/* Pools whose plan went down (MemTotal shrank, a reload) are brought to the
 * new plan at once; a raised Min lifts the target at once. These are not
 * pressure and do not count as shrink episodes. */
static void plan_follow(Tick *t) {
        Controller *ctl = t->ctl;
        char a_[SIZE_FMT_MAX], b_[SIZE_FMT_MAX];

        for (size_t i = 0; i < ctl->n_pools; i++) {
                CtlPool *p = &ctl->pools[i];

                if (!pool_can_shrink(p))
                        continue;
                if (p->target > p->planned) {
                        char why[POLICY_REASON_MAX];
                        snprintf(why, sizeof why, "planned target lowered to %s (total %s)",
                                 fmt_size(p->planned, a_), fmt_size(ctl->total, b_));
                        shrink_start(t, i, p->planned, false, why);
                } else if (p->target < p->min) {
                        uint64_t old = p->target;
                        p->target = p->min;
                        p->stage = p->target < p->planned ? POLICY_STAGE_HOLDING : POLICY_STAGE_STEADY;
                        p->stage_since = t->in->now_usec;
                        PolicyAction *a = emit(t, POLICY_ACTION_SET_HIGH, i, SIZE_MAX,
                                               "Min raised to %s: target follows", fmt_size(p->min, a_));
                        if (a) {
                                a->old_target = old;
                                a->bytes = p->target;
                        }
                        if (t->in->pools[i].subscribers > 0) {
                                a = emit(t, POLICY_ACTION_NOTIFY_GROW, i, SIZE_MAX, "Min raised to %s",
                                         fmt_size(p->min, a_));
                                if (a)
                                        a->old_target = old;
                        }
                }
        }
}

/* Grow order: the reverse of the ladder (working pools first, then higher
 * priority); pools of the same kind and priority share a step by Weight. */
static int grow_cmp(const Controller *ctl, size_t a, size_t b) {
        const CtlPool *x = &ctl->pools[a], *y = &ctl->pools[b];

        if (x->kind != y->kind)
                return x->kind == POOL_KIND_WORKING ? -1 : 1;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return strcmp(x->name, y->name);
}

static bool pool_may_grow(const Controller *ctl, const CtlPool *p, uint64_t now) {
        if (p->kind == POOL_KIND_FIXED || p->target >= p->planned)
                return false;
        if (p->stage == POLICY_STAGE_SHRINKING_COOPERATIVE || p->stage == POLICY_STAGE_SHRINKING_FORCED)
                return false;
        return now - ctl->last_pressure >= pool_hold(ctl, p);
}

/* One grow step of at most GrowStep of poolable, never past the room the
 * targets have (poolable - reserves' overshoot), nor past MemAvailable's
 * margin above the watermark (if the pools filled the step at once, the
 * host would still be at the watermark: no shrink follows). */
static void grow_step(Tick *t, uint64_t room) {
        Controller *ctl = t->ctl;
        const PolicyInput *in = t->in;
        uint64_t now = in->now_usec;
        uint64_t amount = share(ctl->poolable, ctl->conf.grow_step_permyriad);
        _cleanup_free_ size_t *idx = NULL;
        _cleanup_free_ uint64_t *mins = NULL, *maxs = NULL, *got = NULL;
        _cleanup_free_ uint32_t *weights = NULL;
        size_t n = 0;
        bool grew = false;

        amount = MIN(amount, room);
        if (in->mem_available != POLICY_UNKNOWN)
                amount = MIN(amount, sat_sub(in->mem_available, ctl->watermark));
        if (amount == 0 || ctl->n_pools == 0)
                return;

        idx = calloc(ctl->n_pools, sizeof *idx);
        mins = calloc(ctl->n_pools, sizeof *mins);
        maxs = calloc(ctl->n_pools, sizeof *maxs);
        got = calloc(ctl->n_pools, sizeof *got);
        weights = calloc(ctl->n_pools, sizeof *weights);
        if (!idx || !mins || !maxs || !got || !weights) {
                t->error = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < ctl->n_pools; i++)
                if (pool_may_grow(ctl, &ctl->pools[i], now))
                        idx[n++] = i;
        for (size_t i = 1; i < n; i++) { /* insertion sort, as ladder_sort() */
                size_t v = idx[i], j = i;
                while (j > 0 && grow_cmp(ctl, idx[j - 1], v) > 0) {
                        idx[j] = idx[j - 1];
                        j--;
                }
                idx[j] = v;
        }

        for (size_t g = 0; g < n && amount > 0;) {
                const CtlPool *first = &ctl->pools[idx[g]];
                size_t e = g;
                uint64_t base = 0;

                while (e < n && ctl->pools[idx[e]].kind == first->kind &&
                       ctl->pools[idx[e]].priority == first->priority)
                        e++;
                for (size_t k = g; k < e; k++) {
                        const CtlPool *p = &ctl->pools[idx[k]];
                        mins[k - g] = p->target;
                        maxs[k - g] = p->planned;
                        weights[k - g] = p->weight;
                        base = sat_add(base, p->target);
                }
                uint64_t left = budget_fill(e - g, mins, maxs, weights, sat_add(base, amount), got);
                amount = left;

                for (size_t k = g; k < e; k++) {
                        size_t i = idx[k];
                        CtlPool *p = &ctl->pools[i];
                        uint64_t old = p->target;
                        char a_[SIZE_FMT_MAX], b_[SIZE_FMT_MAX], c_[SIZE_FMT_MAX];

                        if (got[k - g] <= old)
                                continue;
                        p->target = got[k - g];
                        p->in_episode = false;
                        p->have_raise = true;
                        p->last_raise = now;
                        p->stage = p->target >= p->planned ? POLICY_STAGE_STEADY : POLICY_STAGE_GROWING;
                        p->stage_since = now;
                        grew = true;
                        fmt_size(old, a_);
                        fmt_size(p->target, b_);
                        fmt_size(p->planned, c_);
                        /* memory.high goes up before the clients hear of it,
                         * so what they allocate is already allowed. */
                        PolicyAction *a = emit(t, POLICY_ACTION_SET_HIGH, i, SIZE_MAX,
                                               "no pressure for %" PRIu64 "s: grow step; target %s -> %s (plan %s)",
                                               (now - ctl->last_pressure) / POLICY_USEC_PER_SEC, a_, b_, c_);
                        if (a) {
                                a->old_target = old;
                                a->bytes = p->target;
                        }
                        if (in->pools[i].subscribers > 0) {
                                a = emit(t, POLICY_ACTION_NOTIFY_GROW, i, SIZE_MAX,
                                         "grow step; target %s -> %s (plan %s)", a_, b_, c_);
                                if (a)
                                        a->old_target = old;
                        }
                }
                g = e;
        }
        if (grew) {
                ctl->have_grow = true;
                ctl->last_grow = now;
        }
}

static uint64_t wakeup_min(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static uint64_t next_wakeup(const Controller *ctl, uint64_t now, bool fast) {
        uint64_t w = sat_add(now, fast ? ctl->conf.pressure_interval_usec : ctl->conf.calm_interval_usec);

        for (size_t i = 0; i < ctl->n_pools; i++) {
                const CtlPool *p = &ctl->pools[i];
                if (p->stage == POLICY_STAGE_SHRINKING_COOPERATIVE)
                        w = wakeup_min(w, p->deadline);
                else if (!ctl->pressure && p->kind != POOL_KIND_FIXED && p->target < p->planned) {
                        uint64_t at = sat_add(ctl->last_pressure, pool_hold(ctl, p));
                        if (ctl->have_grow)
                                at = MAX(at, sat_add(ctl->last_grow, ctl->conf.grow_interval_usec));
                        /* A step due but not taken (no room, no margin
                         * above the watermark) waits for the next sample. */
                        if (at > now)
                                w = wakeup_min(w, at);
                }
        }
        return w;
}

int controller_tick(Controller *ctl, const PolicyInput *in, PolicyOutput *ret) {
        Tick t = { .ctl = ctl, .in = in, .out = ret };
        uint64_t now = in->now_usec;
        char a_[SIZE_FMT_MAX], b_[SIZE_FMT_MAX], c_[SIZE_FMT_MAX];
        _cleanup_free_ size_t *order = NULL;

        *ret = (PolicyOutput) {};
        if (in->n_pools != ctl->n_pools || (ctl->n_pools > 0 && !in->pools))
                return -EINVAL;
        if (in->n_reserves != 0 && (in->n_reserves != ctl->n_reserves || !in->reserve_usage))
                return -EINVAL;
        if (now < ctl->now)
                return -EINVAL;
        if (ctl->n_pools > 0) {
                order = calloc(ctl->n_pools, sizeof *order);
                if (!order)
                        return -ENOMEM;
        }
        ctl->now = now;

        /* Signals. A trigger fires at most once per window (psi.rst), so
         * ongoing pressure fires every window: pressure counts as present
         * for two windows after an event, which tolerates one missed. */
        uint64_t linger = 2 * ctl->conf.window_usec;
        if (in->psi_some_fired) {
                ctl->have_psi_some = true;
                ctl->psi_some_at = now;
        }
        if (in->psi_full_fired) {
                ctl->have_psi_full = true;
                ctl->psi_full_at = now;
        }
        for (size_t i = 0; i < ctl->n_pools; i++) {
                CtlPool *p = &ctl->pools[i];
                p->usage = in->pools[i].usage;
                p->unreclaimable = in->pools[i].unreclaimable;
                if (in->pools[i].psi_fired) {
                        p->have_psi = true;
                        p->psi_at = now;
                }
                if (p->have_psi && now - p->psi_at < linger)
                        t.sig.psi_pools++;
        }
        t.sig.mem_available = in->mem_available;
        t.sig.watermark = ctl->watermark;
        t.sig.psi_some = ctl->have_psi_some && now - ctl->psi_some_at < linger;
        t.sig.psi_full = ctl->have_psi_full && now - ctl->psi_full_at < linger;
        t.sig.psi_full_fired = in->psi_full_fired;
        /* The host's PSI counts every stalled task, including those a pool's
         * own memory.high throttles: the limit we set, working as meant.
         * While a pool's own trigger fires too, the stall is taken as that
         * pool's: counting it would keep a pool throttled at its Min from
         * ever letting the host calm down (and grow it back), and a full
         * stall inside a shrunk pool would shrink the pools further. A real
         * host shortage shows in MemAvailable, which still counts. */
        t.sig.psi_host = (t.sig.psi_some || t.sig.psi_full) && t.sig.psi_pools == 0;
        if (in->mem_available != POLICY_UNKNOWN && in->mem_available < ctl->watermark)
                t.sig.mem_deficit = sat_add(ctl->watermark, share(ctl->poolable, ctl->conf.shrink_extra_permyriad)) -
                                    in->mem_available;
        t.sig.overshoot = reserves_overshoot(&t);

        for (size_t i = 0; i < ctl->n_pools; i++)
                pool_events(&t, i, &in->pools[i]);
        reserves_report(&t);

        bool forced = stages_advance(&t);

        /* What the targets may sum to: poolable less the reserves'
         * overshoot; what no pool could take (unassigned) absorbs it first
         * because it is part of poolable. The slack is never touched. */
        uint64_t capacity = sat_sub(ctl->poolable, t.sig.overshoot);
        uint64_t sum = 0;
        for (size_t i = 0; i < ctl->n_pools; i++)
                sum = sat_add(sum, ctl->pools[i].target);
        t.sig.plan_excess = sat_sub(sum, capacity);
        t.sig.in_flight = in_flight(ctl);
        t.sig.deficit = sat_sub(t.sig.mem_deficit, t.sig.in_flight);
        /* Thrashing with MemAvailable above the watermark: a fresh full
         * stall takes PressureStep from the ladder (once per event, and an
         * event comes at most once per window). */
        if (in->psi_full_fired && t.sig.psi_pools == 0 && t.sig.mem_deficit == 0)
                t.sig.deficit = share(ctl->poolable, ctl->conf.pressure_step_permyriad);
        t.sig.pressure = t.sig.mem_deficit > 0 || t.sig.plan_excess > 0 || t.sig.psi_host;
        ctl->pressure = t.sig.pressure;
        if (t.sig.pressure)
                ctl->last_pressure = now;

        bool busy = forced;
        for (size_t i = 0; i < ctl->n_pools; i++)
                if (ctl->pools[i].stage == POLICY_STAGE_SHRINKING_COOPERATIVE)
                        busy = true;

        plan_follow(&t);

        /* The ladder: one step per call, then re-measure. */
        if (!busy && (t.sig.deficit > 0 || t.sig.plan_excess > 0)) {
                char cause[POLICY_REASON_MAX / 2]; /* room for the step's own words in the reason */
                size_t n = 0;

                if (t.sig.mem_deficit > 0)
                        snprintf(cause, sizeof cause, "MemAvailable %s below the watermark %s: deficit %s",
                                 fmt_size(in->mem_available, a_), fmt_size(ctl->watermark, b_),
                                 fmt_size(t.sig.deficit, c_));
                else if (t.sig.plan_excess > 0)
                        snprintf(cause, sizeof cause, "reserves %s above plan: targets exceed their room by %s",
                                 fmt_size(t.sig.overshoot, a_), fmt_size(t.sig.plan_excess, b_));
                else
                        snprintf(cause, sizeof cause,
                                 "full memory stall with MemAvailable %s above the watermark: taking %s",
                                 fmt_size(in->mem_available, a_), fmt_size(t.sig.deficit, b_));
                if (t.sig.mem_deficit > 0 && t.sig.plan_excess > 0) {
                        size_t l = strlen(cause);
                        snprintf(cause + l, sizeof cause - l, "; reserves %s above plan",
                                 fmt_size(t.sig.overshoot, a_));
                }

                for (size_t i = 0; i < ctl->n_pools; i++)
                        if (ctl->pools[i].kind != POOL_KIND_FIXED)
                                order[n++] = i;
                ladder_sort(ctl, order, n);

                /* An overshoot is cut with ShrinkExtra to spare, as a
                 * MemAvailable deficit is: a reserve that is still growing
                 * (a model loading) would otherwise start a step per round,
                 * each a few MiB (measured in the VM: 39 steps of ~4 MiB in
                 * 1.2 s for one model start). */
                uint64_t excess = t.sig.plan_excess > 0 ?
                                          sat_add(t.sig.plan_excess, share(ctl->poolable, ctl->conf.shrink_extra_permyriad)) :
                                          0;
                bool stepped = ladder_step(&t, order, n, t.sig.deficit, excess, cause);
                if (!stepped && !ctl->exhausted) {
                        ctl->exhausted = true;
                        emit(&t, POLICY_ACTION_REPORT_EXHAUSTED, SIZE_MAX, SIZE_MAX,
                             "%s, and no pool has memory above its Min to give: every pool is at its floor; "
                             "the kernel handles the rest (poold kills nothing)",
                             cause);
                }
        }

        if (!t.sig.pressure && ctl->exhausted) {
                ctl->exhausted = false;
                emit(&t, POLICY_ACTION_REPORT_RECOVERED, SIZE_MAX, SIZE_MAX,
                     "pressure gone: MemAvailable %s, watermark %s", fmt_size(in->mem_available, a_),
                     fmt_size(ctl->watermark, b_));
        }

        /* Pressure stops growth where it is; grow steps wait for the hold.
         * A pool whose plan moved to its target (or below it, being
         * brought down) is steady. */
        sum = 0;
        for (size_t i = 0; i < ctl->n_pools; i++) {
                CtlPool *p = &ctl->pools[i];
                sum = sat_add(sum, p->target);
                if (!pool_can_shrink(p))
                        continue;
                PolicyStage st = p->target >= p->planned ? POLICY_STAGE_STEADY
                               : p->stage == POLICY_STAGE_GROWING && !t.sig.pressure ? POLICY_STAGE_GROWING
                                                                                     : POLICY_STAGE_HOLDING;
                if (st != p->stage) {
                        p->stage = st;
                        p->stage_since = now;
                }
        }
        if (!t.sig.pressure && !busy && (!ctl->have_grow || now - ctl->last_grow >= ctl->conf.grow_interval_usec))
                grow_step(&t, sat_sub(capacity, sum));

        bool settling = false;
        for (size_t i = 0; i < ctl->n_pools; i++)
                if (ctl->pools[i].stage == POLICY_STAGE_SHRINKING_FORCED)
                        settling = true;
        ret->next_wakeup_usec = next_wakeup(ctl, now, t.sig.pressure || busy || settling);
        ret->signals = t.sig;
        ret->pressure = t.sig.pressure;
        ret->exhausted = ctl->exhausted;
        if (t.error < 0) {
                controller_output_done(ret);
                return t.error;
        }
        return 0;
}
