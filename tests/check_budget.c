/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "../pools/config.h" /* not autoconf's config.h (-I. comes first) */
#include "macro.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define T (UINT64_C(1) << 40)

typedef unsigned __int128 u128;

static void dump_diag(const Diag *d) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  diag: %s\n", d->messages[i]);
}

static bool diag_has(const Diag *d, const char *fragment) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->messages[i], fragment))
                        return true;
        return false;
}

static Config *parse_text(const char *text) {
        Config *c;
        Diag d = {};
        FILE *f = fmemopen((void *) text, strlen(text), "r");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_new(&c), 0);
        int r = config_parse_stream(c, f, "test.conf", &d);
        if (r == 0)
                r = config_validate(c, 0, &d);
        if (r != 0)
                dump_diag(&d);
        ck_assert_int_eq(r, 0);
        fclose(f);
        diag_done(&d);
        return c;
}

static size_t pool_index(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_pools; i++)
                if (strcmp(c->pools[i].name, name) == 0)
                        return i;
        ck_abort_msg("no pool %s", name);
        return 0;
}

/* The identity every budget must satisfy, and the per-pool bounds. */
static void assert_accounted(const Config *c, const Budget *b) {
        u128 sum_res = 0, assigned = 0, min_sum = 0, fixed_sum = 0;

        for (size_t i = 0; i < b->n_reserves; i++)
                sum_res += b->reserves[i];
        ck_assert(sum_res == b->reserved);
        for (size_t i = 0; i < b->n_pools; i++) {
                const PoolBudget *p = &b->pools[i];
                ck_assert_msg(p->min <= p->target && p->target <= p->max, "pool %zu: %llu <= %llu <= %llu", i,
                              (unsigned long long) p->min, (unsigned long long) p->target,
                              (unsigned long long) p->max);
                ck_assert_uint_le(p->max, b->poolable);
                assigned += p->target;
                if (c->pools[i].kind == POOL_KIND_FIXED) {
                        ck_assert_uint_eq(p->min, p->target);
                        ck_assert_uint_eq(p->max, p->target);
                        fixed_sum += p->target;
                } else
                        min_sum += p->min;
        }
        ck_assert(assigned == b->assigned);
        ck_assert(min_sum == b->min_sum);
        ck_assert(fixed_sum == b->fixed_sum);
        ck_assert(b->poolable == b->total - b->reserved - b->slack);
        ck_assert((u128) b->reserved + b->slack + b->assigned + b->unassigned == b->total);
}

/* ---- the 512 GB host ---- */

static const char host_512g_wrong[] = "[Host]\nTotal=512G\nSlack=0\n"
                                      "[Reserve os]\nSize=30G\n"
                                      "[Reserve models]\nSize=35G\n"
                                      "[Pool transformer]\nMin=128G\n"
                                      "[Pool state]\nMin=64G\n"
                                      "[Pool data]\nMin=256G\n"
                                      "[Pool working]\nMin=64G\nKind=working\n";

static const char host_512g_fixed[] = "[Host]\nTotal=512G\nSlack=0\n"
                                      "[Reserve os]\nSize=30G\n"
                                      "[Reserve models]\nSize=35G\n"
                                      "[Pool transformer]\nMin=110G\n"
                                      "[Pool state]\nMin=50G\n"
                                      "[Pool data]\nMin=230G\n"
                                      "[Pool working]\nMin=57G\nKind=working\n";

START_TEST(test_512g_refused) {
        Config *c = parse_text(host_512g_wrong);
        HostFacts h = { .total = 0 }; /* Total= from the config */
        Budget b;
        Diag d = {};

        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert_ptr_null(b.pools);
        ck_assert_uint_eq(b.n_pools, 0);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_str_eq(d.messages[0], "pools need 512G (sum of Min 512G + fixed 0) but poolable is 447G = "
                                        "total 512G - reserves 65G - slack 0");
        diag_done(&d);
        config_free(c);
}
END_TEST

START_TEST(test_512g_corrected) {
        Config *c = parse_text(host_512g_fixed);
        HostFacts h = { .total = 512 * G };
        Budget b;
        Diag d = {};

        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        ck_assert_uint_eq(b.total, 512 * G);
        ck_assert_uint_eq(b.reserved, 65 * G);
        ck_assert_uint_eq(b.slack, 0);
        ck_assert_uint_eq(b.poolable, 447 * G);
        ck_assert_uint_eq(b.min_sum, 447 * G);
        ck_assert_uint_eq(b.pools[pool_index(c, "transformer")].target, 110 * G);
        ck_assert_uint_eq(b.pools[pool_index(c, "state")].target, 50 * G);
        ck_assert_uint_eq(b.pools[pool_index(c, "data")].target, 230 * G);
        ck_assert_uint_eq(b.pools[pool_index(c, "working")].target, 57 * G);
        ck_assert_uint_eq(b.unassigned, 0);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);

        /* The same split with the default 10% slack no longer fits: the
         * slack is budgeted, not hoped for. */
        char *text;
        ck_assert_int_eq(asprintf(&text, "%s", host_512g_fixed) > 0, 1);
        memcpy(strstr(text, "Slack=0\n"), "#lack=0\n", 8);
        c = parse_text(text);
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert_msg(diag_has(&d, "but poolable is 395.8G (424987013940 bytes) = total 512G - reserves 65G - "
                                   "slack 51.2G (54975581388 bytes)"),
                      "%s", d.n ? d.messages[0] : "");
        diag_done(&d);
        config_free(c);
        free(text);
}
END_TEST

/* ---- the other refusals ---- */

START_TEST(test_refusals) {
        HostFacts h = { .total = 100 * G };
        Budget b;
        Diag d = {};
        Config *c;

        /* reserves and slack over total */
        c = parse_text("[Host]\nSlack=20%\n[Reserve a]\nSize=50G\n[Reserve b]\nSize=40%\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert_msg(diag_has(&d, "reserves 90G + slack 20G (20%) are more than the total 100G"), "%s",
                      d.n ? d.messages[0] : "");
        diag_done(&d);
        config_free(c);

        /* Min over Max once percentages are resolved */
        c = parse_text("[Host]\nSlack=0\n[Pool a]\nMin=20G\nMax=10%\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert_msg(diag_has(&d, "test.conf:4: [Pool a] Min=: Min=20G is 20G, above Max=10% = 10G"), "%s",
                      d.n ? d.messages[0] : "");
        diag_done(&d);
        config_free(c);

        /* fixed pools count with the Mins */
        c = parse_text("[Host]\nSlack=10G\n[Pool a]\nMin=50G\n[Pool f]\nKind=fixed\nMax=45G\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert_msg(diag_has(&d, "pools need 95G (sum of Min 50G + fixed 45G) but poolable is 90G = total 100G - "
                                   "reserves 0 - slack 10G"),
                      "%s", d.n ? d.messages[0] : "");
        diag_done(&d);
        config_free(c);

        /* no total at all */
        c = parse_text("[Pool a]\n");
        h.total = 0;
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert(diag_has(&d, "total is unknown"));
        diag_done(&d);
        config_free(c);
}
END_TEST

/* ---- targets ---- */

START_TEST(test_targets) {
        HostFacts h = { .total = 100 * G };
        Budget b;
        Diag d = {};
        Config *c;

        /* 90G poolable: a takes Min 10G, f is fixed 20G; 60G above the Mins
         * shared 1:2 between a and b, but a is capped at 25G: its 15G
         * above Min, b takes the other 45G */
        c = parse_text("[Host]\nSlack=10%\n"
                       "[Pool a]\nMin=10G\nMax=25G\nWeight=100\n"
                       "[Pool b]\nWeight=200\n"
                       "[Pool f]\nKind=fixed\nMax=20G\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.poolable, 90 * G);
        ck_assert_uint_eq(b.fixed_sum, 20 * G);
        ck_assert_uint_eq(b.pools[0].target, 25 * G);
        ck_assert_uint_eq(b.pools[1].target, 45 * G);
        ck_assert_uint_eq(b.pools[2].target, 20 * G);
        ck_assert_uint_eq(b.unassigned, 0);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);

        /* every pool at Max: the rest is shown as unassigned */
        c = parse_text("[Host]\nSlack=0\n[Pool a]\nMax=10G\n[Pool b]\nMax=5%\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.pools[0].target, 10 * G);
        ck_assert_uint_eq(b.pools[1].target, 5 * G);
        ck_assert_uint_eq(b.unassigned, 85 * G);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);

        /* no pools at all: everything is unassigned */
        c = parse_text("[Reserve os]\nSize=1G\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.unassigned, b.poolable);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);

        /* a Max above poolable is capped at poolable */
        c = parse_text("[Host]\nSlack=0\n[Pool a]\nMax=1T\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.pools[0].max, 100 * G);
        ck_assert_uint_eq(b.pools[0].target, 100 * G);
        budget_done(&b);
        config_free(c);
        ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(test_fill_small) {
        uint64_t target[4];

        /* 1:3, exact */
        {
                uint64_t min[] = { 0, 0 }, max[] = { UINT64_MAX, UINT64_MAX };
                uint32_t w[] = { 1, 3 };
                ck_assert_uint_eq(budget_fill(2, min, max, w, 400, target), 0);
                ck_assert_uint_eq(target[0], 100);
                ck_assert_uint_eq(target[1], 300);
        }
        /* remainders one byte each, in index order */
        {
                uint64_t min[] = { 0, 0, 0 }, max[] = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
                uint32_t w[] = { 1, 1, 1 };
                ck_assert_uint_eq(budget_fill(3, min, max, w, 11, target), 0);
                ck_assert_uint_eq(target[0], 4);
                ck_assert_uint_eq(target[1], 4);
                ck_assert_uint_eq(target[2], 3);
        }
        /* the capped one's excess goes to the others, by their weights */
        {
                uint64_t min[] = { 0, 10, 0 }, max[] = { 5, UINT64_MAX, UINT64_MAX };
                uint32_t w[] = { 100, 1, 2 };
                ck_assert_uint_eq(budget_fill(3, min, max, w, 115, target), 0);
                /* 100 left for 1:2: 33 and 66, the spare byte to index 1 */
                ck_assert_uint_eq(target[0], 5);
                ck_assert_uint_eq(target[1], 10 + 34);
                ck_assert_uint_eq(target[2], 66);
        }
        /* all capped: the rest comes back */
        {
                uint64_t min[] = { 1, 2 }, max[] = { 3, 4 };
                uint32_t w[] = { 1, 1 };
                ck_assert_uint_eq(budget_fill(2, min, max, w, 100, target), 93);
                ck_assert_uint_eq(target[0], 3);
                ck_assert_uint_eq(target[1], 4);
        }
        /* weight 0 takes only its Min */
        {
                uint64_t min[] = { 7, 0 }, max[] = { 100, 100 };
                uint32_t w[] = { 0, 1 };
                ck_assert_uint_eq(budget_fill(2, min, max, w, 50, target), 0);
                ck_assert_uint_eq(target[0], 7);
                ck_assert_uint_eq(target[1], 43);
        }
        /* nothing to share, and no items */
        {
                uint64_t min[] = { 7 }, max[] = { 100 };
                uint32_t w[] = { 1 };
                ck_assert_uint_eq(budget_fill(1, min, max, w, 7, target), 0);
                ck_assert_uint_eq(target[0], 7);
                ck_assert_uint_eq(budget_fill(0, NULL, NULL, NULL, 123, target), 123);
        }
        /* huge figures do not overflow */
        {
                uint64_t min[] = { 0, 0, 0 }, max[] = { UINT64_MAX, UINT64_MAX, UINT64_MAX / 4 };
                uint32_t w[] = { 10000, 9999, 10000 };
                ck_assert_uint_eq(budget_fill(3, min, max, w, UINT64_MAX, target), 0);
                ck_assert_uint_eq(target[2], UINT64_MAX / 4);
                ck_assert((u128) target[0] + target[1] + target[2] == UINT64_MAX);
        }
}
END_TEST

/* ---- random: every byte accounted, bounds, weights, water-filling ---- */

static uint64_t rng_state;
static uint64_t rnd(void) {
        /* xorshift64*, seeded per test: reproducible */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545F4914F6CDD1DULL;
}
static uint64_t rnd_below(uint64_t n) {
        return n ? rnd() % n : 0;
}

/* A slow reference water-filling: raise the level round by round, capping
 * every item whose room is under it, until nothing changes. */
static uint64_t fill_reference(size_t n, const uint64_t *min, const uint64_t *max, const uint32_t *w, uint64_t amount,
                               uint64_t *target) {
        bool *capped = calloc(n ? n : 1, sizeof *capped);
        u128 left = amount;

        for (size_t i = 0; i < n; i++)
                left -= min[i];
        for (size_t i = 0; i < n; i++)
                if (w[i] == 0 || max[i] <= min[i])
                        capped[i] = true;
        for (bool changed = true; changed;) {
                u128 wsum = 0, l = left;
                changed = false;
                for (size_t i = 0; i < n; i++)
                        if (!capped[i])
                                wsum += w[i];
                for (size_t i = 0; i < n; i++)
                        if (capped[i] && w[i] > 0 && max[i] > min[i])
                                l -= max[i] - min[i];
                for (size_t i = 0; i < n; i++)
                        if (!capped[i] && (u128) (max[i] - min[i]) * wsum <= l * w[i]) {
                                capped[i] = true;
                                changed = true;
                        }
        }
        u128 wsum = 0, l = left, given = 0;
        for (size_t i = 0; i < n; i++) {
                if (capped[i]) {
                        target[i] = w[i] > 0 && max[i] > min[i] ? max[i] : min[i];
                        l -= target[i] - min[i];
                } else
                        wsum += w[i];
        }
        for (size_t i = 0; i < n; i++)
                if (!capped[i]) {
                        target[i] = min[i] + (uint64_t) (l * w[i] / wsum);
                        given += l * w[i] / wsum;
                }
        uint64_t unassigned = wsum == 0 ? (uint64_t) l : 0;
        for (size_t i = 0; i < n && wsum > 0 && given < l; i++)
                if (!capped[i]) {
                        target[i]++;
                        given++;
                }
        free(capped);
        return unassigned;
}

START_TEST(test_fill_random) {
        rng_state = 0x1234567 + (uint64_t) _i;
        for (int round = 0; round < 5000; round++) {
                size_t n = 1 + rnd_below(12);
                uint64_t min[12], max[12], a[12], b[12], amount = 0;
                uint32_t w[12];
                uint64_t scale = rnd_below(2) ? 1000 : UINT64_MAX / 16;

                for (size_t i = 0; i < n; i++) {
                        min[i] = rnd_below(scale);
                        max[i] = rnd_below(4) == 0 ? UINT64_MAX / 16 : min[i] + rnd_below(scale);
                        w[i] = rnd_below(8) == 0 ? (uint32_t) rnd_below(2) : 1 + (uint32_t) rnd_below(10000);
                        amount += min[i];
                }
                amount += rnd_below(scale * 3);

                uint64_t ua = budget_fill(n, min, max, w, amount, a);
                uint64_t ub = fill_reference(n, min, max, w, amount, b);
                ck_assert_uint_eq(ua, ub);
                u128 sum = ua;
                for (size_t i = 0; i < n; i++) {
                        ck_assert_msg(a[i] == b[i], "round %d item %zu: %llu vs reference %llu", round, i,
                                      (unsigned long long) a[i], (unsigned long long) b[i]);
                        sum += a[i];
                }
                ck_assert(sum == amount);
        }
}
END_TEST

/* Random configurations, thousands of them: a budget is either refused for a
 * reason the test can see itself, or accounts for every byte, keeps every
 * pool within Min..Max, shares by weight, and gives a capped pool's excess to
 * the others. */
START_TEST(test_budget_random) {
        unsigned accepted = 0, refused = 0;

        rng_state = 0xfeedface;
        for (int round = 0; round < 4000; round++) {
                Config *c;
                ck_assert_int_eq(config_new(&c), 0);
                uint64_t total = (1 + rnd_below(2048)) * G + rnd_below(G);

                c->host.slack = rnd_below(2) ? (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = (uint32_t) rnd_below(2001) }
                                             : (SizeSpec) { .kind = SIZE_BYTES, .bytes = rnd_below(total / 8) };
                c->n_reserves = rnd_below(4);
                c->reserves = calloc(c->n_reserves + 1, sizeof *c->reserves);
                for (size_t i = 0; i < c->n_reserves; i++) {
                        snprintf(c->reserves[i].name, sizeof c->reserves[i].name, "r%zu", i);
                        c->reserves[i].size = rnd_below(2)
                                                      ? (SizeSpec) { .kind = SIZE_BYTES, .bytes = rnd_below(total / 6) }
                                                      : (SizeSpec) { .kind = SIZE_PERCENT,
                                                                     .permyriad = (uint32_t) rnd_below(1500) };
                }
                c->n_pools = rnd_below(9);
                c->pools = calloc(c->n_pools + 1, sizeof *c->pools);
                for (size_t i = 0; i < c->n_pools; i++) {
                        PoolConf *p = &c->pools[i];
                        snprintf(p->name, sizeof p->name, "p%zu", i);
                        p->weight = 1 + (uint32_t) rnd_below(rnd_below(2) ? 10 : 10000);
                        p->kind = rnd_below(5) == 0 ? POOL_KIND_FIXED : rnd_below(2) ? POOL_KIND_CACHE : POOL_KIND_WORKING;
                        uint64_t mn = rnd_below(total / 10);
                        switch (rnd_below(3)) {
                        case 0:
                                p->min = (SizeSpec) { .kind = SIZE_BYTES, .bytes = mn };
                                break;
                        case 1:
                                p->min = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = (uint32_t) rnd_below(1200) };
                                break;
                        default:
                                break; /* unset: 0, or for a fixed pool its Max */
                        }
                        switch (rnd_below(4)) {
                        case 0:
                                p->max = (SizeSpec) { .kind = SIZE_BYTES, .bytes = mn + rnd_below(total / 4) };
                                break;
                        case 1:
                                p->max = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = (uint32_t) rnd_below(3000) };
                                break;
                        case 2:
                                p->max = (SizeSpec) { .kind = SIZE_INFINITY };
                                break;
                        default:
                                break;
                        }
                        if (p->kind == POOL_KIND_FIXED) {
                                if (p->max.kind == SIZE_INFINITY || p->max.kind == SIZE_UNSET)
                                        p->max = (SizeSpec) { .kind = SIZE_BYTES, .bytes = mn };
                                p->min = (SizeSpec) { .kind = SIZE_UNSET };
                        }
                }

                /* what the test expects, worked out on its own */
                uint64_t reserved = 0, slack = size_resolve(&c->host.slack, total);
                bool expect_ok = true;
                for (size_t i = 0; i < c->n_reserves; i++)
                        reserved += size_resolve(&c->reserves[i].size, total);
                if ((u128) reserved + slack > total)
                        expect_ok = false;
                else {
                        uint64_t poolable = total - reserved - slack;
                        u128 need = 0;
                        for (size_t i = 0; i < c->n_pools; i++) {
                                SizeSpec mn = config_pool_min(&c->pools[i]), mx = config_pool_max(&c->pools[i]);
                                uint64_t a = size_resolve(&mn, total), b = size_resolve(&mx, total);
                                need += a;
                                if (a > b)
                                        expect_ok = false;
                        }
                        if (need > poolable)
                                expect_ok = false;
                }

                HostFacts h = { .total = total };
                Budget b;
                Diag d = {};
                int r = budget_compute(c, &h, &b, &d);
                ck_assert_msg((r == 0) == expect_ok, "round %d: budget_compute()=%d, expected %s", round, r,
                              expect_ok ? "success" : "refusal");
                if (r < 0) {
                        ck_assert_uint_gt(d.n, 0);
                        ck_assert_ptr_null(b.pools);
                        refused++;
                        diag_done(&d);
                        config_free(c);
                        continue;
                }
                accepted++;
                ck_assert_uint_eq(d.n, 0);
                assert_accounted(c, &b);

                /* weights: pools between Min and Max share one level; the
                 * extra of each is within one byte of weight x level */
                bool any_open = false;
                for (size_t i = 0; i < c->n_pools; i++) {
                        const PoolBudget *pi = &b.pools[i];
                        if (c->pools[i].kind == POOL_KIND_FIXED)
                                continue;
                        if (pi->target < pi->max)
                                any_open = true;
                        for (size_t j = 0; j < c->n_pools; j++) {
                                const PoolBudget *pj = &b.pools[j];
                                if (c->pools[j].kind == POOL_KIND_FIXED || i == j)
                                        continue;
                                u128 xi = pi->target - pi->min, xj = pj->target - pj->min;
                                u128 wi = c->pools[i].weight, wj = c->pools[j].weight;
                                if (pi->target < pi->max && pj->target < pj->max) {
                                        /* |xi/wi - xj/wj| < 1/wi + 1/wj */
                                        u128 l = xi * wj, rr = xj * wi;
                                        u128 diff = l > rr ? l - rr : rr - l;
                                        ck_assert_msg(diff < wi + wj, "round %d: pools %zu and %zu off their weights",
                                                      round, i, j);
                                }
                                /* water-filling: a pool at Max is never below
                                 * the level of an open one */
                                if (pi->target == pi->max && pj->target < pj->max)
                                        ck_assert_msg(xi * wj <= (xj + 1) * wi || xi == 0,
                                                      "round %d: pool %zu capped below the level", round, i);
                        }
                }
                if (any_open)
                        ck_assert_uint_eq(b.unassigned, 0);

                budget_done(&b);
                config_free(c);
        }
        /* the generator must exercise both outcomes */
        ck_assert_uint_gt(accepted, 1000);
        ck_assert_uint_gt(refused, 200);
}
END_TEST

/* ---- NUMA ---- */

START_TEST(test_numa) {
        uint64_t nodes[2] = { 256 * G, 256 * G };
        HostFacts h = { .total = 512 * G, .n_nodes = 2, .node_total = nodes };
        Budget b;
        Diag d = {};
        Config *c;

        /* poolable 400G, 200G per node */
        c = parse_text("[Host]\nSlack=0\n[Reserve os]\nSize=112G\n"
                       "[Pool a]\nMin=150G\nNUMA=bind:0\n"
                       "[Pool b]\nMin=150G\nNUMA=bind:0-1\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.n_nodes, 2);
        ck_assert_uint_eq(b.nodes[0].poolable, 200 * G);
        ck_assert_uint_eq(b.nodes[1].poolable, 200 * G);
        ck_assert_uint_eq(b.nodes[0].total, 256 * G);
        ck_assert_uint_eq(b.nodes[0].bound_min + b.nodes[1].bound_min, 300 * G);
        ck_assert_uint_le(b.nodes[0].bound_min, 200 * G);
        ck_assert_uint_le(b.nodes[1].bound_min, 200 * G);
        /* A bound pool's Max stops at its nodes' share: past it the kernel
         * OOM-kills a process bound there before Max could fail cleanly. */
        ck_assert_uint_eq(b.pools[0].max, 200 * G);
        ck_assert_uint_eq(b.pools[1].max, 400 * G);
        ck_assert_uint_le(b.pools[0].target, 200 * G);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);

        /* ... and a larger Max= written in the file is cut to it, a smaller
         * one kept; preferred: pools are not capped. */
        c = parse_text("[Host]\nSlack=0\n[Reserve os]\nSize=112G\n"
                       "[Pool a]\nMin=10G\nMax=300G\nNUMA=bind:1\n"
                       "[Pool b]\nMin=10G\nMax=50G\nNUMA=bind:0\n"
                       "[Pool c]\nMin=10G\nMax=300G\nNUMA=preferred:0\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.pools[0].max, 200 * G);
        ck_assert_uint_eq(b.pools[1].max, 50 * G);
        ck_assert_uint_eq(b.pools[2].max, 300 * G);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);

        /* two pools on node 0: 250G > 200G */
        c = parse_text("[Host]\nSlack=0\n[Reserve os]\nSize=112G\n"
                       "[Pool a]\nMin=150G\nNUMA=bind:0\n"
                       "[Pool b]\nMin=100G\nNUMA=bind:0\n"
                       "[Pool c]\nMin=100G\nNUMA=bind:1\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_msg(strstr(d.messages[0], "pools a, b bound to node 0 need 250G") &&
                              strstr(d.messages[0], "that node holds 200G of poolable (node 0: 200G of 256G RAM)"),
                      "%s", d.messages[0]);
        diag_done(&d);
        config_free(c);

        /* Hall over a union: a on 0, b on 1, c on either: 450G > 400G */
        c = parse_text("[Host]\nSlack=0\n[Reserve os]\nSize=112G\n"
                       "[Pool a]\nMin=150G\nNUMA=bind:0\n"
                       "[Pool b]\nMin=150G\nNUMA=bind:1\n"
                       "[Pool c]\nMin=50G\nNUMA=bind:0-1\n"
                       "[Pool d]\nMin=100G\nNUMA=bind:0-1\n");
        /* the global check fails as well (450G > 400G); both are reported */
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert(diag_has(&d, "pools a, b, c, d bound to nodes 0-1 need 450G"));
        ck_assert(diag_has(&d, "pools need 450G"));
        diag_done(&d);
        config_free(c);

        /* preferred: and interleave: do not bind */
        c = parse_text("[Host]\nSlack=0\n[Reserve os]\nSize=112G\n"
                       "[Pool a]\nMin=300G\nNUMA=preferred:0\n"
                       "[Pool b]\nMin=50G\nNUMA=interleave:1\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        ck_assert_uint_eq(b.nodes[0].bound_min, 0);
        budget_done(&b);
        config_free(c);

        /* uneven nodes: shares follow RAM */
        uint64_t uneven[3] = { 128 * G, 256 * G, 0 };
        HostFacts h3 = { .total = 384 * G, .n_nodes = 3, .node_total = uneven };
        c = parse_text("[Host]\nSlack=0\n[Pool a]\nMin=129G\nNUMA=bind:0\n");
        ck_assert_int_eq(budget_compute(c, &h3, &b, &d), -EINVAL);
        ck_assert(diag_has(&d, "pool a bound to node 0 needs 129G"));
        diag_done(&d);
        config_free(c);
        c = parse_text("[Host]\nSlack=0\n[Pool a]\nMin=1G\nNUMA=bind:2\n");
        ck_assert_int_eq(budget_compute(c, &h3, &b, &d), -EINVAL);
        ck_assert(diag_has(&d, "node 2: 0 of 0 RAM"));
        diag_done(&d);
        config_free(c);

        /* a node the host does not have */
        c = parse_text("[Pool a]\nMin=1G\nNUMA=bind:5\n");
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), -EINVAL);
        ck_assert(diag_has(&d, "test.conf:3: [Pool a] NUMA=: bind:5 names node 5, but this host has 2 NUMA nodes"));
        diag_done(&d);
        config_free(c);

        /* no node facts: no per-node check */
        HostFacts h0 = { .total = 512 * G };
        c = parse_text("[Pool a]\nMin=1G\nNUMA=bind:5\n");
        ck_assert_int_eq(budget_compute(c, &h0, &b, &d), 0);
        ck_assert_uint_eq(b.n_nodes, 0);
        budget_done(&b);
        config_free(c);
}
END_TEST

/* The flow's verdict against Hall's condition checked by brute force over
 * every set of nodes, for random bind sets on up to 4 nodes. */
START_TEST(test_numa_random) {
        unsigned fits = 0, not_fits = 0;

        rng_state = 0xabcdef;
        for (int round = 0; round < 3000; round++) {
                size_t n_nodes = 1 + rnd_below(4);
                uint64_t node_total[4];
                HostFacts h = { .n_nodes = n_nodes, .node_total = node_total };
                Config *c;

                for (size_t v = 0; v < n_nodes; v++) {
                        node_total[v] = (1 + rnd_below(64)) * G;
                        h.total += node_total[v];
                }
                ck_assert_int_eq(config_new(&c), 0);
                c->host.slack = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = (uint32_t) rnd_below(2000) };
                c->n_pools = 1 + rnd_below(6);
                c->pools = calloc(c->n_pools, sizeof *c->pools);
                for (size_t i = 0; i < c->n_pools; i++) {
                        PoolConf *p = &c->pools[i];
                        snprintf(p->name, sizeof p->name, "p%zu", i);
                        p->weight = 100;
                        p->kind = rnd_below(4) == 0 ? POOL_KIND_FIXED : POOL_KIND_CACHE;
                        SizeSpec sz = { .kind = SIZE_BYTES, .bytes = rnd_below(h.total / c->n_pools / 2) };
                        if (p->kind == POOL_KIND_FIXED)
                                p->max = sz;
                        else
                                p->min = sz;
                        if (rnd_below(4) > 0) {
                                p->numa.mode = NUMA_BIND;
                                unsigned mask = 1 + (unsigned) rnd_below((1u << n_nodes) - 1);
                                for (unsigned v = 0; v < n_nodes; v++)
                                        if (mask & (1u << v))
                                                nodeset_add(&p->numa.nodes, v);
                        }
                }

                Budget b;
                Diag d = {};
                int r = budget_compute(c, &h, &b, &d);
                ck_assert(r == 0 || r == -EINVAL);

                /* brute force, from the figures the budget reports */
                uint64_t slack = size_resolve(&c->host.slack, h.total), poolable = h.total - slack;
                u128 need = 0;
                uint64_t share[4];
                for (size_t v = 0; v < n_nodes; v++)
                        share[v] = (uint64_t) ((u128) poolable * node_total[v] / h.total);
                bool hall = true;
                for (unsigned set = 1; set < (1u << n_nodes); set++) {
                        u128 demand = 0, have = 0;
                        for (size_t v = 0; v < n_nodes; v++)
                                if (set & (1u << v))
                                        have += share[v];
                        for (size_t i = 0; i < c->n_pools; i++) {
                                const PoolConf *p = &c->pools[i];
                                if (p->numa.mode != NUMA_BIND)
                                        continue;
                                bool inside = true;
                                for (unsigned v = 0; v < n_nodes; v++)
                                        if (nodeset_has(&p->numa.nodes, v) && !(set & (1u << v)))
                                                inside = false;
                                if (inside)
                                        demand += p->kind == POOL_KIND_FIXED ? p->max.bytes : p->min.bytes;
                        }
                        if (demand > have)
                                hall = false;
                }
                for (size_t i = 0; i < c->n_pools; i++)
                        need += c->pools[i].kind == POOL_KIND_FIXED ? c->pools[i].max.bytes : c->pools[i].min.bytes;
                bool expect_ok = hall && need <= poolable;

                if ((r == 0) != expect_ok)
                        dump_diag(&d);
                ck_assert_msg((r == 0) == expect_ok, "round %d: %d, Hall %d, need fits %d", round, r, hall,
                              need <= poolable);
                if (r == 0) {
                        u128 placed = 0, bound = 0;
                        for (size_t v = 0; v < n_nodes; v++) {
                                ck_assert_uint_eq(b.nodes[v].poolable, share[v]);
                                ck_assert_uint_le(b.nodes[v].bound_min, share[v]);
                                placed += b.nodes[v].bound_min;
                        }
                        for (size_t i = 0; i < c->n_pools; i++)
                                if (c->pools[i].numa.mode == NUMA_BIND)
                                        bound += b.pools[i].min;
                        ck_assert(placed == bound);
                        assert_accounted(c, &b);
                        budget_done(&b);
                        fits++;
                } else {
                        if (!hall)
                                ck_assert(diag_has(&d, "NUMA: pool"));
                        not_fits++;
                }
                diag_done(&d);
                config_free(c);
        }
        ck_assert_uint_gt(fits, 300);
        ck_assert_uint_gt(not_fits, 150);
}
END_TEST

/* Many pools, for the sorting and grouping paths. */
START_TEST(test_many_pools) {
        Config *c;
        uint64_t nodes[8];
        HostFacts h = { .total = 4 * T, .n_nodes = 8, .node_total = nodes };
        Budget b;
        Diag d = {};

        for (size_t v = 0; v < 8; v++)
                nodes[v] = 512 * G;
        ck_assert_int_eq(config_new(&c), 0);
        c->n_pools = 3000;
        c->pools = calloc(c->n_pools, sizeof *c->pools);
        rng_state = 99;
        for (size_t i = 0; i < c->n_pools; i++) {
                PoolConf *p = &c->pools[i];
                snprintf(p->name, sizeof p->name, "p%zu", i);
                p->weight = 1 + (uint32_t) rnd_below(10000);
                p->min = (SizeSpec) { .kind = SIZE_BYTES, .bytes = rnd_below(G) };
                p->max = rnd_below(2) ? (SizeSpec) { .kind = SIZE_BYTES, .bytes = p->min.bytes + rnd_below(2 * G) }
                                      : (SizeSpec) { .kind = SIZE_INFINITY };
                if (rnd_below(2)) {
                        p->numa.mode = NUMA_BIND;
                        nodeset_add(&p->numa.nodes, (unsigned) rnd_below(8));
                        nodeset_add(&p->numa.nodes, (unsigned) rnd_below(8));
                }
        }
        ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);
}
END_TEST

/* The shipped default fits any machine size; the examples fit theirs. */
START_TEST(test_shipped_budgets) {
        static const uint64_t totals[] = { 2 * G, 64 * G, 512 * G, 6 * T };
        char path[600];
        Config *c = NULL;
        Budget b;
        Diag d = {};

        snprintf(path, sizeof path, "%s/../conf/poold.conf", TEST_SRCDIR);
        ck_assert_int_eq(config_load(path, 1, &c, &d), 0);
        for (size_t i = 0; i < ELEMENTSOF(totals); i++) {
                HostFacts h = { .total = totals[i] };
                ck_assert_int_eq(budget_compute(c, &h, &b, &d), 0);
                assert_accounted(c, &b);
                budget_done(&b);
        }
        c = config_free(c);

        snprintf(path, sizeof path, "%s/../conf/examples/512g-host.conf", TEST_SRCDIR);
        ck_assert_int_eq(config_load(path, 0, &c, &d), 0);
        HostFacts plan = { .total = 0 };
        ck_assert_int_eq(budget_compute(c, &plan, &b, &d), 0);
        ck_assert_uint_eq(b.total, 512 * G);
        ck_assert_uint_eq(b.reserved, 65 * G);
        ck_assert_uint_eq(b.poolable, 447 * G);
        ck_assert_uint_eq(b.min_sum, 447 * G);
        ck_assert_uint_eq(b.unassigned, 0);
        assert_accounted(c, &b);
        budget_done(&b);
        c = config_free(c);

        uint64_t nodes[2] = { 256 * G, 256 * G };
        HostFacts numa = { .total = 512 * G, .n_nodes = 2, .node_total = nodes };
        snprintf(path, sizeof path, "%s/../conf/examples/numa.conf", TEST_SRCDIR);
        ck_assert_int_eq(config_load(path, 2, &c, &d), 0);
        int r = budget_compute(c, &numa, &b, &d);
        if (r != 0)
                dump_diag(&d);
        ck_assert_int_eq(r, 0);
        ck_assert_uint_gt(b.nodes[0].bound_min, 0);
        ck_assert_uint_gt(b.nodes[1].bound_min, 0);
        assert_accounted(c, &b);
        budget_done(&b);
        config_free(c);
        ck_assert_uint_eq(d.n, 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("budget");
        TCase *tc = tcase_create("budget");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_512g_refused);
        tcase_add_test(tc, test_512g_corrected);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_targets);
        tcase_add_test(tc, test_fill_small);
        tcase_add_loop_test(tc, test_fill_random, 0, 2);
        tcase_add_test(tc, test_budget_random);
        tcase_add_test(tc, test_numa);
        tcase_add_test(tc, test_numa_random);
        tcase_add_test(tc, test_many_pools);
        tcase_add_test(tc, test_shipped_budgets);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
