/* SPDX-License-Identifier: MIT */
/* The shrink-ladder controller driven by synthetic time series: a small
 * host model (pools that fill up to memory.high, cooperative or silent
 * clients, reclaimable or stuck memory, a hog outside the pools, reserves
 * that grow) feeds controller_tick() at the times it asks for and carries
 * out its actions, as the daemon will. No clock: time is a number here. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"

#define K UINT64_C(1024)
#define M (K * K)
#define G (M * K)
#define MS POLICY_USEC_PER_MSEC
#define SEC POLICY_USEC_PER_SEC
#define MIN_ (60 * SEC)

#define MAXP 8
#define MAXR 4

typedef struct SimPool {
        uint64_t demand;      /* what the pool's members would use if allowed */
        uint64_t usage;
        uint64_t high;        /* memory.high as last set */
        unsigned subscribers;
        bool cooperative;     /* clients free what they are asked at once */
        bool silent;          /* clients never answer (the deadline must pass) */
        bool stuck;           /* the kernel cannot reclaim it (anon, no swap) */
        uint64_t anon;        /* of usage, what the kernel cannot reclaim (reported as unreclaimable) */
        bool acked;
        uint64_t events[4];   /* memory.events high, max, oom, oom_kill */

        /* what the controller did to it */
        unsigned n_notify_shrink, n_set_high, n_notify_grow, n_stuck, n_events;
        unsigned n_target_changes;
        uint64_t last_target;
        uint64_t first_shrink_at, first_grow_at;
        bool shrunk, grown;
} SimPool;

typedef struct Sim {
        PoolConf pc[MAXP];
        ReserveConf rc[MAXR];
        PoolBudget pb[MAXP];
        uint64_t rb[MAXR];
        Config cfg;
        Budget b;
        PolicyConf conf;
        Controller *ctl;

        uint64_t now;
        uint64_t other;               /* memory outside pools and reserves: the hog */
        uint64_t reserve_used[MAXR];  /* measured; POLICY_UNKNOWN if not tied */
        SimPool p[MAXP];
        bool psi;                     /* model PSI: "some" fires each window while below the watermark */
        bool fire_full;               /* the next tick sees a full-stall event */
        uint64_t psi_last;
        uint64_t psi_window;

        PolicyOutput out;
        unsigned n_ticks, n_exhausted, n_recovered, n_reserve_reports, n_actions;
        uint64_t max_grow_step;       /* largest sum of raises in one tick */
        uint64_t last_grow_tick;      /* time of the last tick that raised a target */
        uint64_t min_grow_gap;        /* smallest time between two raising ticks */
} Sim;

static void sim_init(Sim *s, uint64_t total, uint64_t slack) {
        memset(s, 0, sizeof *s);
        s->b.total = total;
        s->b.slack = slack;
        s->cfg.pools = s->pc;
        s->cfg.reserves = s->rc;
        s->b.pools = s->pb;
        s->b.reserves = s->rb;
        controller_conf_init(&s->conf);
        s->psi_window = 2 * SEC;
        s->min_grow_gap = UINT64_MAX;
        for (size_t i = 0; i < MAXR; i++)
                s->reserve_used[i] = POLICY_UNKNOWN;
}

static size_t sim_reserve(Sim *s, const char *name, uint64_t size) {
        size_t i = s->cfg.n_reserves++;
        snprintf(s->rc[i].name, sizeof s->rc[i].name, "%s", name);
        s->rb[i] = size;
        s->b.n_reserves = s->cfg.n_reserves;
        return i;
}

static size_t sim_pool(Sim *s, const char *name, PoolKind kind, int32_t prio, uint64_t min, uint64_t planned) {
        size_t i = s->cfg.n_pools++;
        snprintf(s->pc[i].name, sizeof s->pc[i].name, "%s", name);
        s->pc[i].kind = kind;
        s->pc[i].priority = prio;
        s->pc[i].weight = 100;
        s->pb[i] = (PoolBudget) { .min = kind == POOL_KIND_FIXED ? planned : min, .max = planned * 2, .target = planned };
        s->b.n_pools = s->cfg.n_pools;
        /* members want everything they may have */
        s->p[i] = (SimPool) { .demand = planned, .usage = planned, .high = planned, .last_target = planned };
        return i;
}

/* Fills in the budget's sums, as budget_compute() would. */
static void sim_budget_sums(Sim *s) {
        Budget *b = &s->b;
        b->reserved = 0;
        for (size_t i = 0; i < b->n_reserves; i++)
                b->reserved += b->reserves[i];
        b->poolable = b->total - b->reserved - b->slack;
        b->assigned = b->min_sum = b->fixed_sum = 0;
        for (size_t i = 0; i < b->n_pools; i++) {
                b->assigned += b->pools[i].target;
                if (s->pc[i].kind == POOL_KIND_FIXED)
                        b->fixed_sum += b->pools[i].target;
                else
                        b->min_sum += b->pools[i].min;
        }
        ck_assert_uint_le(b->assigned, b->poolable);
        b->unassigned = b->poolable - b->assigned;
}

static void sim_start(Sim *s) {
        sim_budget_sums(s);
        ck_assert_int_eq(controller_new(&s->conf, &s->cfg, &s->b, s->now, &s->ctl), 0);
}

static void sim_done(Sim *s) {
        controller_output_done(&s->out);
        controller_free(s->ctl);
}

static uint64_t sim_target(const Sim *s, size_t i) {
        PolicyPoolStatus st;
        ck_assert_int_eq(controller_pool_status(s->ctl, i, &st), 0);
        return st.target;
}

static PolicyStage sim_stage(const Sim *s, size_t i) {
        PolicyPoolStatus st;
        ck_assert_int_eq(controller_pool_status(s->ctl, i, &st), 0);
        return st.stage;
}

static uint64_t sim_available(const Sim *s) {
        uint64_t used = s->other;
        for (size_t i = 0; i < s->cfg.n_reserves; i++)
                used += s->reserve_used[i] == POLICY_UNKNOWN ? s->rb[i] : s->reserve_used[i];
        for (size_t i = 0; i < s->cfg.n_pools; i++)
                used += s->p[i].usage;
        return used >= s->b.total ? 0 : s->b.total - used;
}

/* The kernel: members allocate up to their demand within memory.high;
 * above memory.high it reclaims, unless the memory is stuck. */
static void sim_kernel(Sim *s) {
        for (size_t i = 0; i < s->cfg.n_pools; i++) {
                SimPool *p = &s->p[i];
                uint64_t want = p->demand < p->high ? p->demand : p->high;
                if (p->stuck && p->usage > want)
                        continue;
                /* anonymous memory stays whatever memory.high says */
                if (want < p->anon && p->usage >= p->anon)
                        want = p->anon;
                p->usage = want;
        }
}

static void sim_apply(Sim *s, uint64_t avail_before) {
        uint64_t raised = 0;

        for (size_t k = 0; k < s->out.n_actions; k++) {
                const PolicyAction *a = &s->out.actions[k];
                ck_assert_msg(a->reason[0] != '\0', "action %s without a reason", controller_action_to_string(a->type));
                ck_assert_uint_eq(a->time_usec, s->now);
                s->n_actions++;
                if (a->pool != SIZE_MAX) {
                        ck_assert_uint_lt(a->pool, s->cfg.n_pools);
                        ck_assert_str_eq(a->name, s->pc[a->pool].name);
                        /* fixed pools are never acted on, only reported */
                        if (s->pc[a->pool].kind == POOL_KIND_FIXED)
                                ck_assert_int_eq(a->type, POLICY_ACTION_REPORT_POOL_EVENTS);
                }
                SimPool *p = a->pool != SIZE_MAX ? &s->p[a->pool] : NULL;
                switch (a->type) {
                case POLICY_ACTION_NOTIFY_SHRINK:
                        ck_assert_uint_lt(a->new_target, a->old_target);
                        ck_assert_uint_ge(a->new_target, s->pb[a->pool].min);
                        ck_assert_uint_ge(a->deadline_usec, s->now);
                        p->n_notify_shrink++;
                        if (p->cooperative) {
                                if (p->usage > a->new_target)
                                        p->usage = a->new_target;
                                p->acked = true;
                        }
                        break;
                case POLICY_ACTION_SET_HIGH:
                        if (a->bytes > p->high)
                                raised += a->bytes - p->high;
                        p->high = a->bytes;
                        /* memory.high is the target, or above it by what the
                         * kernel cannot reclaim: never below the target */
                        ck_assert_uint_ge(a->bytes, a->new_target);
                        if (p->anon == 0)
                                ck_assert_uint_eq(a->bytes, a->new_target);
                        else
                                ck_assert_uint_le(a->bytes, a->new_target > p->anon ? a->new_target : p->anon);
                        ck_assert_uint_ge(a->bytes, s->pb[a->pool].min);
                        p->n_set_high++;
                        p->acked = false;
                        break;
                case POLICY_ACTION_NOTIFY_GROW:
                        ck_assert_uint_gt(a->new_target, a->old_target);
                        p->n_notify_grow++;
                        break;
                case POLICY_ACTION_REPORT_EXHAUSTED:
                        s->n_exhausted++;
                        break;
                case POLICY_ACTION_REPORT_RECOVERED:
                        s->n_recovered++;
                        break;
                case POLICY_ACTION_REPORT_STUCK:
                        p->n_stuck++;
                        break;
                case POLICY_ACTION_REPORT_POOL_EVENTS:
                        p->n_events++;
                        break;
                case POLICY_ACTION_REPORT_RESERVE:
                        ck_assert_uint_lt(a->reserve, s->cfg.n_reserves);
                        s->n_reserve_reports++;
                        break;
                default:
                        ck_abort_msg("unknown action %d", (int) a->type);
                }
        }

        for (size_t i = 0; i < s->cfg.n_pools; i++) {
                SimPool *p = &s->p[i];
                PolicyPoolStatus st;
                ck_assert_int_eq(controller_pool_status(s->ctl, i, &st), 0);
                ck_assert_uint_ge(st.target, st.min);
                if (st.stage != POLICY_STAGE_SHRINKING_COOPERATIVE && st.stage != POLICY_STAGE_SHRINKING_FORCED)
                        ck_assert_msg(st.target <= st.planned, "pool %s: target %" PRIu64 " above plan %" PRIu64,
                                      st.name, st.target, st.planned);
                if (s->pc[i].kind == POOL_KIND_FIXED)
                        ck_assert_uint_eq(st.target, s->pb[i].target);
                if (st.target != p->last_target) {
                        p->n_target_changes++;
                        if (st.target < p->last_target && !p->shrunk) {
                                p->shrunk = true;
                                p->first_shrink_at = s->now;
                        }
                        if (st.target > p->last_target && !p->grown) {
                                p->grown = true;
                                p->first_grow_at = s->now;
                        }
                        p->last_target = st.target;
                }
        }
        if (raised > 0) {
                if (raised > s->max_grow_step)
                        s->max_grow_step = raised;
                if (s->last_grow_tick && s->now - s->last_grow_tick < s->min_grow_gap)
                        s->min_grow_gap = s->now - s->last_grow_tick;
                s->last_grow_tick = s->now;
        }
        (void) avail_before;
}

/* One daemon wakeup at the current time. */
static void sim_tick(Sim *s) {
        PolicyPoolSample samples[MAXP];
        PolicyInput in;

        sim_kernel(s);
        uint64_t avail = sim_available(s);
        bool some = false;
        if (s->psi && avail < s->b.slack && (s->psi_last == 0 || s->now - s->psi_last >= s->psi_window)) {
                some = true;
                s->psi_last = s->now;
        }
        for (size_t i = 0; i < s->cfg.n_pools; i++)
                samples[i] = (PolicyPoolSample) {
                        .usage = s->p[i].usage,
                        .events_high = s->p[i].events[0],
                        .events_max = s->p[i].events[1],
                        .events_oom = s->p[i].events[2],
                        .events_oom_kill = s->p[i].events[3],
                        .subscribers = s->p[i].subscribers,
                        .shrink_acked = s->p[i].acked && !s->p[i].silent,
                        .unreclaimable = s->p[i].anon < s->p[i].usage ? s->p[i].anon : s->p[i].usage,
                };
        in = (PolicyInput) {
                .now_usec = s->now,
                .mem_available = avail,
                .psi_some_fired = some,
                .psi_full_fired = s->fire_full,
                .n_reserves = s->cfg.n_reserves,
                .reserve_usage = s->reserve_used,
                .n_pools = s->cfg.n_pools,
                .pools = samples,
        };
        s->fire_full = false;
        controller_output_done(&s->out);
        ck_assert_int_eq(controller_tick(s->ctl, &in, &s->out), 0);
        ck_assert_uint_gt(s->out.next_wakeup_usec, s->now);
        s->n_ticks++;
        sim_apply(s, avail);
}

/* Runs the daemon's loop until END: a tick now, then at each wakeup the
 * controller asks for. */
static void sim_run_until(Sim *s, uint64_t end) {
        sim_tick(s);
        while (s->out.next_wakeup_usec <= end) {
                s->now = s->out.next_wakeup_usec;
                sim_tick(s);
        }
        s->now = end;
}

/* ------------------------------------------------------------------ */

START_TEST(test_conf_defaults) {
        PolicyConf c;
        Diag d = {};

        controller_conf_init(&c);
        ck_assert_int_eq(controller_conf_validate(&c, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        ck_assert_uint_eq(c.window_usec, 1 * SEC);
        ck_assert_uint_eq(c.calm_interval_usec, 1 * SEC);
        ck_assert_uint_eq(c.pressure_interval_usec, 100 * MS);
        ck_assert_uint_eq(c.shrink_deadline_usec, 200 * MS);
        ck_assert_uint_eq(c.grow_hold_usec, 30 * SEC);
        ck_assert_uint_eq(c.grow_step_permyriad, 500);

        c.window_usec = 11 * SEC;          /* over the kernel's 10 s */
        c.pressure_interval_usec = 2 * SEC; /* slower than calm */
        c.grow_step_permyriad = 0;
        c.grow_hold_usec = 2 * c.grow_hold_max_usec;
        c.watermark = (SizeSpec) { .kind = SIZE_INFINITY };
        ck_assert_int_eq(controller_conf_validate(&c, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 5);
        for (size_t i = 0; i < d.n; i++)
                ck_assert_msg(strncmp(d.messages[i], "[Pressure] ", 11) == 0, "%s", d.messages[i]);
        diag_done(&d);
}
END_TEST

START_TEST(test_bad_input) {
        Sim s;
        PolicyOutput out = {};
        PolicyPoolSample ps[2] = {};

        sim_init(&s, 64 * G, 4 * G);
        sim_pool(&s, "a", POOL_KIND_CACHE, 0, 1 * G, 20 * G);
        sim_pool(&s, "b", POOL_KIND_CACHE, 0, 1 * G, 20 * G);
        s.now = 100 * SEC;
        sim_start(&s);

        PolicyInput in = { .now_usec = 100 * SEC, .mem_available = 30 * G, .n_pools = 1, .pools = ps };
        ck_assert_int_eq(controller_tick(s.ctl, &in, &out), -EINVAL); /* one pool of two */
        in.n_pools = 2;
        in.now_usec = 99 * SEC;
        ck_assert_int_eq(controller_tick(s.ctl, &in, &out), -EINVAL); /* time went back */
        in.now_usec = 100 * SEC;
        in.n_reserves = 1; /* the budget has none */
        ck_assert_int_eq(controller_tick(s.ctl, &in, &out), -EINVAL);
        ck_assert_uint_eq(out.n_actions, 0);

        /* a budget that does not belong to the config */
        s.b.n_pools = 1;
        ck_assert_int_eq(controller_set_budget(s.ctl, &s.cfg, &s.b), -EINVAL);
        Controller *c2 = NULL;
        ck_assert_int_eq(controller_new(&s.conf, &s.cfg, &s.b, 0, &c2), -EINVAL);
        s.b.n_pools = 2;
        PolicyConf bad = s.conf;
        bad.calm_interval_usec = 0;
        ck_assert_int_eq(controller_set_conf(s.ctl, &bad), -EINVAL);
        ck_assert_int_eq(controller_new(&bad, &s.cfg, &s.b, 0, &c2), -EINVAL);
        ck_assert_ptr_null(c2);
        ck_assert_int_eq(controller_pool_status(s.ctl, 2, &(PolicyPoolStatus) {}), -ERANGE);
        sim_done(&s);
}
END_TEST

/* Calm: nothing happens, sampling is slow; under pressure it is fast. */
START_TEST(test_calm_and_sampling) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 1 * G, 20 * G);
        sim_pool(&s, "b", POOL_KIND_WORKING, 0, 1 * G, 20 * G);
        sim_start(&s);

        sim_run_until(&s, 10 * MIN_);
        ck_assert_uint_eq(s.n_actions, 0);
        ck_assert(!s.out.pressure);
        sim_tick(&s);
        ck_assert_uint_eq(s.out.next_wakeup_usec, s.now + 1 * SEC);
        ck_assert_uint_eq(controller_n_pools(s.ctl), 2);
        ck_assert_uint_eq(sim_stage(&s, a), POLICY_STAGE_STEADY);

        /* Under pressure (a PSI event, MemAvailable fine) the next sample
         * comes after PressureInterval. */
        PolicyPoolSample ps[2] = { { .usage = 20 * G }, { .usage = 20 * G } };
        PolicyInput in = { .now_usec = s.now, .mem_available = 20 * G, .psi_some_fired = true, .n_pools = 2, .pools = ps };
        controller_output_done(&s.out);
        ck_assert_int_eq(controller_tick(s.ctl, &in, &s.out), 0);
        ck_assert(s.out.pressure);
        ck_assert(s.out.signals.psi_some);
        ck_assert_uint_eq(s.out.next_wakeup_usec, s.now + 100 * MS);
        ck_assert_uint_eq(s.out.n_actions, 0); /* pressure without a deficit takes nothing */

        /* Pressure lingers for two windows after the event, then calm. */
        in.psi_some_fired = false;
        in.now_usec = s.now + 1900 * MS;
        controller_output_done(&s.out);
        ck_assert_int_eq(controller_tick(s.ctl, &in, &s.out), 0);
        ck_assert(s.out.pressure);
        in.now_usec = s.now + 2 * SEC;
        controller_output_done(&s.out);
        ck_assert_int_eq(controller_tick(s.ctl, &in, &s.out), 0);
        ck_assert(!s.out.pressure);
        ck_assert_uint_eq(s.out.next_wakeup_usec, in.now_usec + 1 * SEC);
        sim_done(&s);
}
END_TEST

/* Two cache pools: the lower priority one is cut first, by the measured
 * deficit in one step (not small steps); the other only once the first is
 * at its Min. */
START_TEST(test_priority_by_deficit) {
        Sim s;

        sim_init(&s, 64 * G, 16 * G);
        size_t lo = sim_pool(&s, "lo", POOL_KIND_CACHE, -10, 2 * G, 20 * G);
        size_t hi = sim_pool(&s, "hi", POOL_KIND_CACHE, 10, 2 * G, 20 * G);
        sim_reserve(&s, "os", 8 * G);
        sim_start(&s);
        /* poolable 40G, all assigned: MemAvailable sits at the 16G slack */
        sim_run_until(&s, 1 * MIN_);
        ck_assert_uint_eq(s.n_actions, 0);

        /* A 14G hog outside the pools: MemAvailable 2G, 14G under the
         * watermark; with ShrinkExtra (1% of 40G) the one step frees
         * 14G + 409.6M from the lowest priority pool. */
        uint64_t extra = 40 * G / 100;
        s.other = 14 * G;
        sim_tick(&s);
        ck_assert_uint_eq(s.out.signals.mem_deficit, 14 * G + extra);
        ck_assert_uint_eq(s.p[lo].n_set_high, 1);
        ck_assert_uint_eq(sim_target(&s, lo), 20 * G - 14 * G - extra);
        ck_assert_uint_eq(sim_target(&s, hi), 20 * G);

        /* the kernel reclaims: MemAvailable is back above the watermark,
         * no further step (and within the hold, no growth) */
        sim_run_until(&s, 1 * MIN_ + 20 * SEC);
        ck_assert_uint_eq(s.p[lo].n_set_high, 1);
        ck_assert_uint_eq(s.p[hi].n_set_high, 0);
        ck_assert_uint_ge(sim_available(&s), s.b.slack);

        /* 14G more: lo goes to its Min, then hi gives the rest after
         * re-measuring, each in one step. */
        s.other = 28 * G;
        sim_run_until(&s, 1 * MIN_ + 40 * SEC);
        ck_assert_uint_eq(sim_target(&s, lo), 2 * G);
        ck_assert_uint_eq(s.p[lo].n_set_high, 2);
        ck_assert_uint_eq(s.p[hi].n_set_high, 1);
        ck_assert_uint_lt(s.p[lo].first_shrink_at, s.p[hi].first_shrink_at);
        ck_assert_uint_lt(sim_target(&s, hi), 20 * G);
        ck_assert_uint_ge(sim_available(&s), s.b.slack);
        ck_assert_uint_eq(s.n_exhausted, 0);
        sim_done(&s);
}
END_TEST

/* Ties: same kind and priority, the larger pool first, then the name. */
START_TEST(test_ladder_ties) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 1 * G, 10 * G);
        size_t b = sim_pool(&s, "b", POOL_KIND_CACHE, 0, 1 * G, 20 * G);
        size_t c = sim_pool(&s, "c", POOL_KIND_CACHE, 0, 1 * G, 10 * G);
        sim_start(&s);
        s.other = 22 * G; /* MemAvailable 2G: deficit 2G + extra */
        sim_tick(&s);
        ck_assert_uint_eq(s.p[b].n_set_high, 1);
        ck_assert_uint_eq(s.p[a].n_set_high + s.p[c].n_set_high, 0);

        /* more: once b is smaller than a and c (equal), a goes before c
         * by name */
        s.other = 40 * G;
        sim_run_until(&s, 1 * MIN_);
        ck_assert(s.p[a].shrunk);
        ck_assert_uint_lt(s.p[b].first_shrink_at, s.p[a].first_shrink_at);
        ck_assert(!s.p[c].shrunk || s.p[a].first_shrink_at < s.p[c].first_shrink_at);
        sim_done(&s);
}
END_TEST

/* Working pools are untouched until every cache pool is at Min, then go
 * only to their Min; fixed pools never move; then exhaustion, once. */
START_TEST(test_working_cache_fixed_exhausted) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t w = sim_pool(&s, "work", POOL_KIND_WORKING, -100, 4 * G, 16 * G);
        size_t c1 = sim_pool(&s, "c1", POOL_KIND_CACHE, 50, 2 * G, 12 * G);
        size_t c2 = sim_pool(&s, "c2", POOL_KIND_CACHE, 0, 1 * G, 12 * G);
        size_t f = sim_pool(&s, "fixed", POOL_KIND_FIXED, -1000, 0, 8 * G);
        sim_start(&s);
        /* targets 48G of poolable 60G */

        s.other = 20 * G; /* MemAvailable 0: deficit 4G + extra */
        sim_run_until(&s, 10 * SEC);
        ck_assert(s.p[c2].shrunk);
        ck_assert(!s.p[w].shrunk);
        ck_assert_uint_eq(sim_target(&s, f), 8 * G);

        s.other = 36 * G; /* beyond every cache pool's room */
        sim_run_until(&s, 1 * MIN_);
        ck_assert_uint_eq(sim_target(&s, c1), 2 * G);
        ck_assert_uint_eq(sim_target(&s, c2), 1 * G);
        ck_assert(s.p[w].shrunk);
        ck_assert_uint_gt(s.p[w].first_shrink_at, s.p[c1].first_shrink_at);
        ck_assert_uint_gt(s.p[w].first_shrink_at, s.p[c2].first_shrink_at);
        ck_assert_uint_eq(s.n_exhausted, 0);

        s.other = 50 * G; /* nothing left to give */
        sim_run_until(&s, 10 * MIN_);
        ck_assert_uint_eq(sim_target(&s, w), 4 * G);
        ck_assert_uint_eq(sim_target(&s, f), 8 * G);
        ck_assert_uint_eq(s.p[f].n_set_high + s.p[f].n_notify_shrink, 0);
        ck_assert_uint_eq(s.n_exhausted, 1); /* once per episode, not per tick */
        ck_assert(s.out.exhausted);
        ck_assert(controller_exhausted(s.ctl));
        ck_assert_uint_gt(s.n_ticks, 1000);

        /* pressure gone: recovered once; a new episode reports again */
        s.other = 0;
        sim_run_until(&s, 11 * MIN_);
        ck_assert_uint_eq(s.n_recovered, 1);
        ck_assert(!s.out.exhausted);
        s.other = 60 * G;
        sim_run_until(&s, 12 * MIN_);
        ck_assert_uint_eq(s.n_exhausted, 2);
        ck_assert_uint_eq(s.n_recovered, 1);
        sim_done(&s);
}
END_TEST

/* Cooperative stage, then forced: subscribers get the new target and the
 * bytes to free with a deadline; memory.high goes down at the deadline. */
START_TEST(test_cooperative_then_forced) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 1 * G, 30 * G);
        sim_start(&s);
        s.p[a].subscribers = 2;
        s.p[a].silent = true; /* they never answer */
        s.now = 1 * SEC;
        s.other = 32 * G; /* available 2G: deficit 2G + extra */
        sim_tick(&s);

        ck_assert_uint_eq(s.out.n_actions, 1);
        const PolicyAction *n = &s.out.actions[0];
        ck_assert_int_eq(n->type, POLICY_ACTION_NOTIFY_SHRINK);
        ck_assert_uint_eq(n->deadline_usec, 1 * SEC + 200 * MS);
        ck_assert_uint_eq(n->old_target, 30 * G);
        ck_assert_uint_eq(n->bytes, 30 * G - n->new_target);
        ck_assert_uint_eq(n->bytes, s.out.signals.deficit);
        ck_assert_int_eq(n->stage, POLICY_STAGE_SHRINKING_COOPERATIVE);
        ck_assert_ptr_nonnull(strstr(n->reason, "MemAvailable"));
        uint64_t new_target = n->new_target;
        ck_assert_uint_eq(s.p[a].high, 30 * G); /* not yet */
        ck_assert_uint_eq(s.out.next_wakeup_usec, 1 * SEC + 100 * MS);

        /* before the deadline: nothing new (no second step either) */
        s.now = s.out.next_wakeup_usec;
        sim_tick(&s);
        ck_assert_uint_eq(s.out.n_actions, 0);
        ck_assert_uint_eq(s.out.next_wakeup_usec, 1 * SEC + 200 * MS);

        /* at the deadline: forced */
        s.now = s.out.next_wakeup_usec;
        sim_tick(&s);
        ck_assert_uint_eq(s.out.n_actions, 1);
        ck_assert_int_eq(s.out.actions[0].type, POLICY_ACTION_SET_HIGH);
        ck_assert_uint_eq(s.out.actions[0].bytes, new_target);
        ck_assert_int_eq(s.out.actions[0].stage, POLICY_STAGE_SHRINKING_FORCED);
        ck_assert_ptr_nonnull(strstr(s.out.actions[0].reason, "deadline"));
        ck_assert_uint_eq(s.p[a].high, new_target);

        /* the kernel reclaims: holding */
        s.now += 100 * MS;
        sim_tick(&s);
        ck_assert_int_eq(sim_stage(&s, a), POLICY_STAGE_HOLDING);
        sim_done(&s);
}
END_TEST

/* Clients that answer end the cooperative stage early; a pool without
 * subscribers is forced at once. */
START_TEST(test_ack_and_no_subscribers) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 10 * G, 20 * G);
        size_t b = sim_pool(&s, "b", POOL_KIND_CACHE, 5, 1 * G, 20 * G);
        sim_start(&s);
        s.p[a].subscribers = 1;
        s.p[a].cooperative = true;
        s.now = 1 * SEC;
        s.other = 22 * G; /* available 2G */
        sim_tick(&s);
        ck_assert_uint_eq(s.p[a].n_notify_shrink, 1);
        ck_assert_uint_eq(s.p[a].n_set_high, 0);
        ck_assert(s.p[a].acked);

        s.now += 100 * MS; /* before the deadline, the ack arrives */
        sim_tick(&s);
        ck_assert_uint_eq(s.p[a].n_set_high, 1);
        ck_assert_ptr_nonnull(strstr(s.out.actions[0].reason, "answered"));

        /* More pressure: a is at its Min, b has no subscribers: SET_HIGH
         * in the same call, no notice. */
        s.other = 40 * G;
        sim_run_until(&s, 10 * SEC);
        ck_assert_uint_eq(sim_target(&s, a), 10 * G);
        ck_assert_uint_eq(s.p[b].n_notify_shrink, 0);
        ck_assert_uint_ge(s.p[b].n_set_high, 1);
        sim_done(&s);
}
END_TEST

/* A pool of anonymous memory (no swap) whose client frees slowly: at the
 * deadline memory.high goes to what the kernel cannot reclaim, not to the
 * target (below that it would only throttle the client), and follows the
 * client's usage down to the target in steps; then the step is over. */
START_TEST(test_forced_high_follows_unreclaimable) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 4 * G, 40 * G);
        sim_start(&s);
        s.p[a].subscribers = 1;
        s.p[a].silent = true;         /* never acks: the deadline passes */
        s.p[a].demand = 30 * G;
        s.p[a].anon = 30 * G;         /* all of it anonymous */
        sim_run_until(&s, 10 * SEC);
        s.other = 31 * G;             /* available 64-30-31 = 3G, under the 4G watermark */
        sim_run_until(&s, 10 * SEC + 150 * MS);
        ck_assert_uint_eq(s.p[a].n_notify_shrink, 1);
        ck_assert_uint_eq(s.p[a].n_set_high, 0);
        uint64_t target = sim_target(&s, a);
        ck_assert_uint_lt(target, 30 * G);

        sim_run_until(&s, 10 * SEC + 400 * MS); /* past the 200 ms deadline */
        ck_assert_uint_eq(s.p[a].n_set_high, 1);
        ck_assert_uint_eq(s.p[a].high, 30 * G); /* not the target: nothing to reclaim */
        ck_assert_int_eq(sim_stage(&s, a), POLICY_STAGE_SHRINKING_FORCED);

        /* the client frees half of what it was asked, late */
        uint64_t half = (30 * G - target) / 2;
        s.p[a].demand -= half;
        s.p[a].anon -= half;
        s.p[a].usage -= half;
        sim_run_until(&s, 11 * SEC);
        ck_assert_uint_eq(s.p[a].n_set_high, 2);
        ck_assert_uint_eq(s.p[a].high, 30 * G - half);
        ck_assert_int_eq(sim_stage(&s, a), POLICY_STAGE_SHRINKING_FORCED);

        /* and the rest: memory.high reaches the target, the step is done */
        s.p[a].demand = target;
        s.p[a].anon = target;
        s.p[a].usage = target;
        sim_run_until(&s, 12 * SEC);
        ck_assert_uint_eq(s.p[a].high, target);
        ck_assert_uint_eq(s.p[a].n_stuck, 0);
        ck_assert_int_ne(sim_stage(&s, a), POLICY_STAGE_SHRINKING_FORCED);
        sim_done(&s);
}
END_TEST

/* A cache pool still in its step (its client freeing slowly, memory.high
 * held by what the kernel cannot reclaim) is not at its Min: the working
 * pool waits for the step to end, even with the deficit not yet covered. */
START_TEST(test_working_waits_for_cache_step) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 30 * G);
        size_t w = sim_pool(&s, "w", POOL_KIND_WORKING, 0, 2 * G, 30 * G);
        sim_start(&s);
        s.p[a].subscribers = 1;
        s.p[a].silent = true;
        s.p[a].demand = s.p[a].anon = 20 * G;
        s.p[w].demand = 20 * G;
        sim_run_until(&s, 10 * SEC);
        s.other = 22 * G; /* available 2G: a deficit a alone covers */
        sim_run_until(&s, 11 * SEC); /* notice, deadline, memory.high held at a's anon */
        ck_assert_uint_eq(s.p[a].n_notify_shrink, 1);
        ck_assert_int_eq(sim_stage(&s, a), POLICY_STAGE_SHRINKING_FORCED);
        ck_assert_uint_gt(sim_target(&s, a), 2 * G);
        /* more pressure while a's step is still under way: the deficit is
         * now more than what a is giving, but a is not at its Min */
        s.other = 25 * G;
        sim_run_until(&s, 12 * SEC);
        ck_assert_uint_eq(s.p[w].n_set_high, 0);
        ck_assert_uint_eq(s.p[w].n_notify_shrink, 0);
        ck_assert_uint_eq(s.n_exhausted, 0);
        /* the client never frees: after ShrinkSettle a's step ends (stuck);
         * a is cut to its Min, and only then is w */
        sim_run_until(&s, 60 * SEC);
        ck_assert_uint_ge(s.p[a].n_stuck, 1);
        ck_assert_uint_eq(sim_target(&s, a), 2 * G);
        ck_assert_uint_ge(s.p[w].n_set_high, 1);
        ck_assert_uint_le(s.p[a].first_shrink_at, s.p[w].first_shrink_at);
        sim_done(&s);
}
END_TEST

/* A reserve growing past its plan: the overshoot comes out of the pools'
 * targets (lowest priority first), never out of the slack; reported once;
 * grows back when the reserve returns. */
START_TEST(test_reserve_growth) {
        Sim s;

        sim_init(&s, 64 * G, 6 * G);
        size_t r = sim_reserve(&s, "model", 10 * G);
        size_t lo = sim_pool(&s, "lo", POOL_KIND_CACHE, 0, 2 * G, 24 * G);
        size_t hi = sim_pool(&s, "hi", POOL_KIND_CACHE, 9, 2 * G, 24 * G);
        sim_start(&s);
        /* poolable 48G, all assigned; the pools are only half full */
        s.p[lo].demand = 12 * G;
        s.p[hi].demand = 12 * G;
        s.reserve_used[r] = 10 * G;
        sim_run_until(&s, 1 * MIN_);
        ck_assert_uint_eq(s.n_actions, 0);

        /* the model grows by 5G: MemAvailable stays well above the slack,
         * but the targets no longer fit */
        s.reserve_used[r] = 15 * G;
        sim_run_until(&s, 1 * MIN_ + 5 * SEC);
        /* cut by the overshoot and ShrinkExtra (1% of poolable 48G) */
        ck_assert_uint_eq(sim_target(&s, lo), 24 * G - 5 * G - 48 * G / 100);
        ck_assert_uint_eq(s.p[lo].n_set_high, 1);
        /* the reserve creeps up by 100M: within the spare, no new step */
        s.reserve_used[r] = 15 * G + 100 * (G / 1024);
        sim_run_until(&s, 1 * MIN_ + 10 * SEC);
        ck_assert_uint_eq(s.p[lo].n_set_high, 1);
        s.reserve_used[r] = 15 * G;
        sim_run_until(&s, 2 * MIN_);
        ck_assert_uint_eq(s.n_reserve_reports, 1);
        ck_assert_uint_eq(sim_target(&s, lo), 24 * G - 5 * G);
        ck_assert_uint_eq(sim_target(&s, hi), 24 * G);
        /* Two: the cut took ShrinkExtra (1% of poolable) to spare, so a
         * reserve still growing does not start a step per round; after
         * GrowHold without pressure the spare came back. */
        ck_assert_uint_eq(s.p[lo].n_set_high, 2);
        ck_assert_uint_eq(sim_target(&s, lo) + sim_target(&s, hi) + 15 * G + s.b.slack, s.b.total);
        ck_assert(!s.out.pressure);

        /* grows further than lo can give: hi gives the rest */
        s.reserve_used[r] = 35 * G;
        sim_run_until(&s, 3 * MIN_);
        ck_assert_uint_eq(sim_target(&s, lo), 2 * G);
        ck_assert_uint_eq(sim_target(&s, lo) + sim_target(&s, hi) + 35 * G + s.b.slack, s.b.total);
        ck_assert_uint_eq(s.n_reserve_reports, 1);
        ck_assert_uint_eq(s.n_exhausted, 0);

        /* back to plan: reported, and the pools grow back after the hold */
        s.reserve_used[r] = 10 * G;
        sim_run_until(&s, 30 * MIN_);
        ck_assert_uint_eq(s.n_reserve_reports, 2);
        ck_assert_uint_eq(sim_target(&s, lo), 24 * G);
        ck_assert_uint_eq(sim_target(&s, hi), 24 * G);
        ck_assert_int_eq(sim_stage(&s, lo), POLICY_STAGE_STEADY);
        sim_done(&s);
}
END_TEST

/* The MemAvailable deficit and the reserve overshoot are one cut, not
 * two: the reserve that grew is what lowered MemAvailable. */
START_TEST(test_reserve_and_deficit_not_double) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t r = sim_reserve(&s, "model", 10 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 50 * G);
        sim_start(&s);
        s.reserve_used[r] = 10 * G;
        sim_run_until(&s, 1 * MIN_);
        /* the pool is full, the host at its watermark; the model grows 3G */
        s.reserve_used[r] = 13 * G;
        sim_tick(&s);
        ck_assert_uint_eq(s.out.signals.overshoot, 3 * G);
        uint64_t extra = 50 * G / 100;
        ck_assert_uint_eq(s.out.signals.mem_deficit, 3 * G + extra);
        ck_assert_uint_eq(sim_target(&s, a), 50 * G - 3 * G - extra);
        sim_done(&s);
}
END_TEST

/* Grow back only after the hold, in bounded steps spaced by GrowInterval,
 * working pools and higher priority first, never above the plan. */
START_TEST(test_grow_back_order) {
        Sim s;

        sim_init(&s, 128 * G, 8 * G);
        size_t w = sim_pool(&s, "w", POOL_KIND_WORKING, 0, 4 * G, 20 * G);
        size_t hi = sim_pool(&s, "hi", POOL_KIND_CACHE, 10, 4 * G, 40 * G);
        size_t lo = sim_pool(&s, "lo", POOL_KIND_CACHE, -10, 4 * G, 40 * G);
        sim_start(&s);
        /* poolable 120G, targets 100G */
        s.other = 120 * G; /* everything to Min */
        sim_run_until(&s, 1 * MIN_);
        ck_assert_uint_eq(sim_target(&s, w), 4 * G);
        ck_assert_uint_eq(sim_target(&s, hi), 4 * G);
        ck_assert_uint_eq(sim_target(&s, lo), 4 * G);
        ck_assert_uint_eq(s.n_exhausted, 1);

        s.other = 0;
        uint64_t calm_at = s.now;
        sim_run_until(&s, 20 * MIN_);
        ck_assert_uint_eq(sim_target(&s, w), 20 * G);
        ck_assert_uint_eq(sim_target(&s, hi), 40 * G);
        ck_assert_uint_eq(sim_target(&s, lo), 40 * G);
        ck_assert_uint_ge(s.p[w].first_grow_at, calm_at + 30 * SEC);
        ck_assert_uint_lt(s.p[w].first_grow_at, s.p[hi].first_grow_at);
        ck_assert_uint_lt(s.p[hi].first_grow_at, s.p[lo].first_grow_at);
        ck_assert_uint_le(s.max_grow_step, 120 * G / 20); /* 5% of poolable */
        ck_assert_uint_ge(s.min_grow_gap, 5 * SEC);
        ck_assert_int_eq(sim_stage(&s, lo), POLICY_STAGE_STEADY);
        sim_done(&s);
}
END_TEST

/* Same kind and priority: a grow step is shared by Weight. */
START_TEST(test_grow_shared_by_weight) {
        Sim s;

        sim_init(&s, 128 * G, 8 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 50 * G);
        size_t b = sim_pool(&s, "b", POOL_KIND_CACHE, 0, 2 * G, 50 * G);
        s.pc[a].weight = 300;
        s.pc[b].weight = 100;
        sim_start(&s);
        s.other = 120 * G;
        sim_run_until(&s, 1 * MIN_);
        ck_assert_uint_eq(sim_target(&s, a), 2 * G);
        ck_assert_uint_eq(sim_target(&s, b), 2 * G);
        s.other = 0;
        uint64_t ta = 0, tb = 0;
        /* run to the first grow step */
        while (ta == 0 && s.now < 10 * MIN_) {
                s.now += 1 * SEC;
                sim_tick(&s);
                if (sim_target(&s, a) > 2 * G || sim_target(&s, b) > 2 * G) {
                        ta = sim_target(&s, a) - 2 * G;
                        tb = sim_target(&s, b) - 2 * G;
                }
        }
        ck_assert_uint_eq(ta + tb, 120 * G / 20);
        ck_assert_uint_eq(ta, 3 * tb);
        sim_done(&s);
}
END_TEST

/* A square-wave load: a 12G hog comes for 2 minutes and goes for 2
 * minutes, for 6 hours. Returns the number of target changes; RET_HOLD gets
 * pool a's hold at the end. */
static unsigned square_wave(const PolicyConf *conf, uint64_t *ret_hold, unsigned *ret_exhausted) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        s.conf = *conf;
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 28 * G);
        size_t b = sim_pool(&s, "b", POOL_KIND_CACHE, 5, 2 * G, 28 * G);
        sim_start(&s);
        s.psi = true;

        const uint64_t period = 4 * MIN_, end = 6 * 60 * MIN_;
        for (uint64_t t = 0; t < end; t += period) {
                s.other = 12 * G;
                sim_run_until(&s, t + period / 2);
                s.other = 0;
                sim_run_until(&s, t + period);
                /* whatever the targets, the host is back above the
                 * watermark once the hog is gone */
                ck_assert_uint_ge(sim_available(&s), s.b.slack);
        }
        PolicyPoolStatus st;
        ck_assert_int_eq(controller_pool_status(s.ctl, a, &st), 0);
        unsigned changes = s.p[a].n_target_changes + s.p[b].n_target_changes;
        printf("square wave, GrowHoldMax=%" PRIu64 "s: %u ticks, %u target changes in 6 h (90 periods); "
               "pool a: hold %" PRIu64 "s, %u episodes\n",
               conf->grow_hold_max_usec / SEC, s.n_ticks, changes, st.hold_usec / SEC, st.shrink_episodes);
        *ret_hold = st.hold_usec;
        *ret_exhausted = s.n_exhausted;
        sim_done(&s);
        return changes;
}

/* Hysteresis: repeated episodes double the hold, so the targets follow the
 * square wave at first and then stop chasing it. The same run with the
 * doubling disabled (GrowHoldMax = GrowHold) is the baseline. */
START_TEST(test_square_wave_hysteresis) {
        PolicyConf conf, flat;
        uint64_t hold, flat_hold;
        unsigned ex, flat_ex;

        controller_conf_init(&conf);
        flat = conf;
        flat.grow_hold_max_usec = flat.grow_hold_usec;

        unsigned changes = square_wave(&conf, &hold, &ex);
        unsigned baseline = square_wave(&flat, &flat_hold, &flat_ex);

        /* Without doubling, every period shrinks (2 steps of at most the
         * 4.6G deficit) and grows back (3 steps of 3G): ~5 changes x 90. */
        ck_assert_uint_ge(baseline, 90 * 4);
        ck_assert_uint_eq(flat_hold, 30 * SEC);
        /* With it, the hold doubles per period (30 s .. 30 min: 6
         * doublings), then one cycle per GrowHoldMax at most: 6 + 12 = 18
         * cycles of at most 6 changes. */
        ck_assert_uint_le(changes, 18 * 6);
        ck_assert_uint_le(changes * 4, baseline);
        ck_assert_uint_eq(hold, 30 * MIN_);
        ck_assert_uint_eq(ex, 0);
        ck_assert_uint_eq(flat_ex, 0);
}
END_TEST

/* The kernel cannot reclaim a pool (no swap): reported after ShrinkSettle,
 * and the ladder moves on instead of waiting forever. */
START_TEST(test_stuck_pool) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t st = sim_pool(&s, "anon", POOL_KIND_CACHE, -5, 1 * G, 20 * G);
        size_t nx = sim_pool(&s, "next", POOL_KIND_CACHE, 5, 1 * G, 20 * G);
        sim_start(&s);
        s.p[st].stuck = true;
        s.other = 24 * G; /* available 0: deficit 4G + extra */
        s.now = 1 * SEC;
        sim_tick(&s);
        ck_assert_uint_eq(s.p[st].n_set_high, 1);
        /* while the kernel might still reclaim, the deficit is in flight */
        s.now += 100 * MS;
        sim_tick(&s);
        ck_assert_uint_eq(s.out.signals.deficit, 0);
        ck_assert_uint_gt(s.out.signals.in_flight, 0);
        ck_assert_uint_eq(s.p[nx].n_set_high, 0);
        sim_run_until(&s, 10 * SEC);
        ck_assert_uint_eq(s.p[st].n_stuck, 1);
        ck_assert_uint_ge(s.p[nx].n_set_high, 1);
        ck_assert_uint_ge(sim_available(&s), s.b.slack);
        sim_done(&s);
}
END_TEST

/* memory.events deltas: the first reading is a baseline; max/oom/oom_kill
 * increments are reported; high is only counted; a reset counter means a
 * new cgroup. */
START_TEST(test_pool_events) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 1 * G, 20 * G);
        size_t f = sim_pool(&s, "f", POOL_KIND_FIXED, 0, 0, 4 * G);
        s.p[a].events[0] = 500; /* before we watched */
        s.p[a].events[3] = 2;
        sim_start(&s);
        sim_tick(&s);
        ck_assert_uint_eq(s.p[a].n_events, 0);

        s.now += 1 * SEC;
        s.p[a].events[0] += 7;
        sim_tick(&s);
        ck_assert_uint_eq(s.p[a].n_events, 0);

        s.now += 1 * SEC;
        s.p[a].events[1] += 3;
        s.p[a].events[3] += 1;
        s.p[f].events[2] += 1;
        sim_tick(&s);
        ck_assert_uint_eq(s.p[a].n_events, 1);
        ck_assert_uint_eq(s.p[f].n_events, 1);
        const PolicyAction *ev = NULL;
        for (size_t k = 0; k < s.out.n_actions; k++)
                if (s.out.actions[k].pool == a)
                        ev = &s.out.actions[k];
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->bytes, 1);
        ck_assert_ptr_nonnull(strstr(ev->reason, "oom_kill +1"));
        ck_assert_ptr_nonnull(strstr(ev->reason, "max +3"));

        /* the cgroup was recreated: counters start again at small values */
        s.now += 1 * SEC;
        s.p[a].events[3] = 1;
        sim_tick(&s);
        ck_assert_uint_eq(s.p[a].n_events, 2);

        PolicyPoolStatus pst;
        ck_assert_int_eq(controller_pool_status(s.ctl, a, &pst), 0);
        ck_assert_uint_eq(pst.events_high, 7);
        ck_assert_uint_eq(pst.events_oom_kill, 2);
        /* no target moved */
        ck_assert_uint_eq(sim_target(&s, a), 20 * G);
        sim_done(&s);
}
END_TEST

/* A full stall with MemAvailable above the watermark (hot file pages):
 * one PressureStep from the ladder per event. */
START_TEST(test_psi_full_step) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 1 * G, 40 * G);
        sim_start(&s);
        s.now = 1 * SEC;
        s.fire_full = true;
        sim_tick(&s);
        ck_assert(s.out.signals.psi_full_fired);
        ck_assert_uint_eq(s.out.signals.mem_deficit, 0);
        uint64_t step = 3 * G; /* 5% of poolable 60G */
        ck_assert_uint_eq(sim_target(&s, a), 40 * G - step);
        ck_assert_ptr_nonnull(strstr(s.out.actions[0].reason, "full memory stall"));

        /* no new event: no new step, even though pressure lingers */
        sim_run_until(&s, 3 * SEC);
        ck_assert_uint_eq(sim_target(&s, a), 40 * G - step);
        sim_done(&s);
}
END_TEST

/* The host's PSI fires while a pool's own trigger fires: the stall is the
 * pool's memory.high at work, not host pressure. It neither blocks the
 * grow-back nor (full stall) takes a step; host PSI alone does. */
START_TEST(test_pool_psi_attribution) {
        PolicyPoolSample ps[1] = { { .usage = 2 * G, .events_high = POLICY_UNKNOWN, .events_max = POLICY_UNKNOWN,
                                     .events_oom = POLICY_UNKNOWN, .events_oom_kill = POLICY_UNKNOWN } };
        PolicyInput in = { .mem_available = 40 * G, .n_pools = 1, .pools = ps };
        PolicyOutput out = {};
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 20 * G);
        sim_start(&s);
        s.other = 60 * G;
        sim_run_until(&s, 10 * SEC);
        ck_assert_uint_eq(sim_target(&s, a), 2 * G);

        /* both fire every 2 s for a minute: the pool is throttled at its
         * Min, the host is otherwise fine */
        for (uint64_t t = 20 * SEC; t <= 80 * SEC; t += 100 * MS) {
                bool fire = (t / (100 * MS)) % 20 == 0;
                in.now_usec = t;
                in.psi_some_fired = in.psi_full_fired = ps[0].psi_fired = fire;
                controller_output_done(&out);
                ck_assert_int_eq(controller_tick(s.ctl, &in, &out), 0);
                ck_assert(!out.pressure);
                ck_assert(!out.signals.psi_host);
                if (fire)
                        ck_assert_uint_eq(out.signals.psi_pools, 1);
        }
        PolicyPoolStatus st;
        ck_assert_int_eq(controller_pool_status(s.ctl, a, &st), 0);
        ck_assert(st.target > 2 * G); /* grew back despite the host PSI */
        ck_assert(st.psi);
        uint64_t grown = st.target;

        /* host PSI alone is pressure: no more growth; a full stall takes a
         * step */
        ps[0].psi_fired = false;
        for (uint64_t t = 81 * SEC; t <= 150 * SEC; t += 100 * MS) {
                bool fire = (t / (100 * MS)) % 20 == 0;
                in.now_usec = t;
                in.psi_some_fired = fire;
                in.psi_full_fired = false;
                ps[0].usage = grown;
                controller_output_done(&out);
                ck_assert_int_eq(controller_tick(s.ctl, &in, &out), 0);
                if (t >= 85 * SEC)
                        ck_assert(out.pressure && out.signals.psi_host);
        }
        ck_assert_uint_eq(sim_target(&s, a), grown);
        in.now_usec = 151 * SEC;
        in.psi_full_fired = true;
        controller_output_done(&out);
        ck_assert_int_eq(controller_tick(s.ctl, &in, &out), 0);
        ck_assert_uint_lt(sim_target(&s, a), grown);
        controller_output_done(&out);
        sim_done(&s);
}
END_TEST

/* MemTotal changes at runtime (hotplug, balloon): the caller recomputes
 * the budget; the controller keeps each pool's shrink state and follows the
 * new plan: down at once (cooperative, then forced), up in grow steps. */
START_TEST(test_memtotal_changes) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 30 * G);
        size_t b = sim_pool(&s, "b", POOL_KIND_CACHE, 5, 2 * G, 30 * G);
        sim_start(&s);
        s.p[b].subscribers = 1;
        s.p[b].cooperative = true;

        /* two episodes on a within OscillationWindow: holding, with the
         * hold doubled */
        s.other = 10 * G;
        sim_run_until(&s, 20 * SEC);
        s.other = 0;
        sim_run_until(&s, 4 * MIN_);
        ck_assert_uint_eq(sim_target(&s, a), 30 * G); /* grew back in between */
        s.other = 10 * G;
        sim_run_until(&s, 4 * MIN_ + 20 * SEC);
        s.other = 0;
        sim_run_until(&s, 4 * MIN_ + 21 * SEC);
        PolicyPoolStatus before;
        ck_assert_int_eq(controller_pool_status(s.ctl, a, &before), 0);
        ck_assert_int_eq(before.stage, POLICY_STAGE_HOLDING);
        ck_assert_uint_eq(before.hold_usec, 60 * SEC);
        ck_assert_uint_eq(before.shrink_episodes, 2);

        /* the balloon takes 16G: plans drop to 22G each */
        s.b.total = 48 * G;
        s.pb[a].target = 22 * G;
        s.pb[b].target = 22 * G;
        sim_budget_sums(&s);
        ck_assert_int_eq(controller_set_budget(s.ctl, &s.cfg, &s.b), 0);
        s.p[a].demand = s.p[b].demand = 22 * G;
        sim_tick(&s);
        PolicyPoolStatus after;
        ck_assert_int_eq(controller_pool_status(s.ctl, a, &after), 0);
        ck_assert_uint_eq(after.planned, 22 * G);
        ck_assert_uint_eq(after.shrink_episodes, 2);
        ck_assert_uint_eq(after.hold_usec, 60 * SEC);
        ck_assert_uint_le(after.target, 22 * G);
        ck_assert_uint_eq(sim_target(&s, b), 22 * G);
        ck_assert_uint_eq(s.p[b].n_notify_shrink, 1);
        bool saw_plan = false;
        for (size_t k = 0; k < s.out.n_actions; k++)
                if (strstr(s.out.actions[k].reason, "planned target lowered"))
                        saw_plan = true;
        ck_assert(saw_plan);
        /* a plan change is not an episode */
        ck_assert_uint_eq(after.shrink_episodes, 2);

        /* memory hotplug: 96G; plans 46G each: bounded grow steps */
        s.b.total = 96 * G;
        s.pb[a].target = 46 * G;
        s.pb[b].target = 46 * G;
        sim_budget_sums(&s);
        ck_assert_int_eq(controller_set_budget(s.ctl, &s.cfg, &s.b), 0);
        s.p[a].demand = s.p[b].demand = 46 * G;
        s.max_grow_step = 0;
        s.min_grow_gap = UINT64_MAX;
        s.last_grow_tick = 0;
        sim_run_until(&s, 30 * MIN_);
        ck_assert_uint_eq(sim_target(&s, a), 46 * G);
        ck_assert_uint_eq(sim_target(&s, b), 46 * G);
        ck_assert_uint_le(s.max_grow_step, (96 * G - 4 * G) / 20);
        ck_assert_uint_ge(s.min_grow_gap, 5 * SEC);
        ck_assert_uint_ge(s.p[b].n_notify_grow, 1);
        sim_done(&s);
}
END_TEST

/* A reload that reorders, adds and removes pools: state follows names. */
START_TEST(test_reload_by_name) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 20 * G);
        sim_pool(&s, "b", POOL_KIND_CACHE, 5, 2 * G, 20 * G);
        sim_start(&s);
        s.other = 24 * G;
        sim_run_until(&s, 10 * SEC);
        uint64_t ta = sim_target(&s, a);
        ck_assert_uint_lt(ta, 20 * G);

        /* new config: [c], [a] (b removed) */
        PoolConf pa = s.pc[a];
        PoolBudget ba = s.pb[a];
        uint64_t ua = s.p[a].usage;
        s.cfg.n_pools = s.b.n_pools = 0;
        size_t c = sim_pool(&s, "c", POOL_KIND_CACHE, 0, 1 * G, 10 * G);
        s.pc[1] = pa;
        s.pb[1] = ba;
        s.p[1] = (SimPool) { .demand = 20 * G, .usage = ua, .high = ta, .last_target = ta };
        s.cfg.n_pools = s.b.n_pools = 2;
        sim_budget_sums(&s);
        ck_assert_int_eq(controller_set_budget(s.ctl, &s.cfg, &s.b), 0);
        ck_assert_uint_eq(controller_n_pools(s.ctl), 2);
        PolicyPoolStatus st;
        ck_assert_int_eq(controller_pool_status(s.ctl, 1, &st), 0);
        ck_assert_str_eq(st.name, "a");
        ck_assert_uint_eq(st.target, ta);
        ck_assert_int_eq(controller_pool_status(s.ctl, c, &st), 0);
        ck_assert_str_eq(st.name, "c");
        ck_assert_uint_eq(st.target, 10 * G);
        ck_assert_int_eq(st.stage, POLICY_STAGE_STEADY);
        sim_done(&s);
}
END_TEST

/* poold restarted while a pool was shrunk: the target read back is
 * adopted and grows back after the hold, not at once. */
START_TEST(test_adopt_target) {
        Sim s;

        sim_init(&s, 64 * G, 4 * G);
        size_t a = sim_pool(&s, "a", POOL_KIND_CACHE, 0, 2 * G, 20 * G);
        size_t f = sim_pool(&s, "f", POOL_KIND_FIXED, 0, 0, 4 * G);
        s.now = 5 * SEC;
        sim_start(&s);
        ck_assert_int_eq(controller_adopt_target(s.ctl, a, 8 * G), 0);
        ck_assert_int_eq(controller_adopt_target(s.ctl, f, 1 * G), -EBUSY);
        ck_assert_int_eq(controller_adopt_target(s.ctl, 2, 1 * G), -ERANGE);
        ck_assert_uint_eq(sim_target(&s, a), 8 * G);
        ck_assert_int_eq(sim_stage(&s, a), POLICY_STAGE_HOLDING);
        s.p[a].high = s.p[a].usage = s.p[a].last_target = 8 * G;

        sim_run_until(&s, 30 * SEC);
        ck_assert_uint_eq(sim_target(&s, a), 8 * G); /* holding */
        sim_run_until(&s, 5 * MIN_);
        ck_assert_uint_eq(sim_target(&s, a), 20 * G);
        ck_assert_uint_ge(s.p[a].first_grow_at, 35 * SEC);

        /* clamped to [Min, plan] */
        ck_assert_int_eq(controller_adopt_target(s.ctl, a, 1), 0);
        ck_assert_uint_eq(sim_target(&s, a), 2 * G);
        ck_assert_int_eq(controller_adopt_target(s.ctl, a, 100 * G), 0);
        ck_assert_uint_eq(sim_target(&s, a), 20 * G);
        ck_assert_int_eq(sim_stage(&s, a), POLICY_STAGE_STEADY);
        sim_done(&s);
}
END_TEST

static Suite *controller_suite(void) {
        Suite *s = suite_create("controller");
        TCase *tc = tcase_create("controller");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_conf_defaults);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_calm_and_sampling);
        tcase_add_test(tc, test_priority_by_deficit);
        tcase_add_test(tc, test_ladder_ties);
        tcase_add_test(tc, test_working_cache_fixed_exhausted);
        tcase_add_test(tc, test_cooperative_then_forced);
        tcase_add_test(tc, test_ack_and_no_subscribers);
        tcase_add_test(tc, test_reserve_growth);
        tcase_add_test(tc, test_forced_high_follows_unreclaimable);
        tcase_add_test(tc, test_working_waits_for_cache_step);
        tcase_add_test(tc, test_reserve_and_deficit_not_double);
        tcase_add_test(tc, test_grow_back_order);
        tcase_add_test(tc, test_grow_shared_by_weight);
        tcase_add_test(tc, test_square_wave_hysteresis);
        tcase_add_test(tc, test_stuck_pool);
        tcase_add_test(tc, test_pool_events);
        tcase_add_test(tc, test_psi_full_step);
        tcase_add_test(tc, test_pool_psi_attribution);
        tcase_add_test(tc, test_memtotal_changes);
        tcase_add_test(tc, test_reload_by_name);
        tcase_add_test(tc, test_adopt_target);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(controller_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
