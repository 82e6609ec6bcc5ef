/* SPDX-License-Identifier: MIT */
/* budget_compute() for many pools: the median of many runs, one line per
 * case in a stable format:
 *   budget_compute pools=1000 nodes=0 bind=0% runs=501 median_us=... p10_us=... p90_us=...
 * The goal is under 1 ms for 1,000 pools (the daemon recomputes on every
 * reload and on every change of MemTotal).
 * Usage: bench_budget [RUNS_FOR_1000]   (default 501; 10,000 pools get a tenth) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../pools/budget.h"
#include "../pools/config.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(uint64_t n) {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return (rng * 0x2545F4914F6CDD1DULL) % n;
}

/* N pools on a 4 TiB host: a mix of kinds, byte and percentage sizes, capped
 * and uncapped, weights 1..10000; BIND_PCT of them bound to one or two of
 * N_NODES nodes. The Mins fit, so the whole computation runs. */
static Config *make_config(size_t n, unsigned bind_pct, unsigned n_nodes) {
        Config *c;

        if (config_new(&c) < 0)
                return NULL;
        c->n_reserves = 2;
        c->reserves = calloc(2, sizeof *c->reserves);
        c->pools = calloc(n, sizeof *c->pools);
        if (!c->reserves || !c->pools)
                return config_free(c);
        strcpy(c->reserves[0].name, "os");
        c->reserves[0].size = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 500 };
        strcpy(c->reserves[1].name, "models");
        c->reserves[1].size = (SizeSpec) { .kind = SIZE_BYTES, .bytes = UINT64_C(256) << 30 };

        /* 4 TiB - 5% - 256G - 10% slack is about 3.2 TiB poolable; Mins
         * average 1 GiB (1 TiB for 1,000 pools) so the budget is possible;
         * for 10,000 pools they are scaled down. */
        uint64_t min_span = (UINT64_C(2) << 30) * 1000 / n;
        c->n_pools = n;
        for (size_t i = 0; i < n; i++) {
                PoolConf *p = &c->pools[i];

                snprintf(p->name, sizeof p->name, "p%zu", i);
                p->weight = 1 + (uint32_t) rnd(10000);
                p->kind = rnd(20) == 0 ? POOL_KIND_FIXED : rnd(4) == 0 ? POOL_KIND_WORKING : POOL_KIND_CACHE;
                uint64_t mn = rnd(min_span);
                if (p->kind == POOL_KIND_FIXED) {
                        p->max = (SizeSpec) { .kind = SIZE_BYTES, .bytes = mn / 4 };
                } else {
                        p->min = (SizeSpec) { .kind = SIZE_BYTES, .bytes = mn };
                        switch (rnd(3)) {
                        case 0:
                                p->max = (SizeSpec) { .kind = SIZE_BYTES, .bytes = mn + rnd(UINT64_C(8) << 30) };
                                break;
                        case 1:
                                p->max = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 100 + (uint32_t) rnd(400) };
                                break;
                        default:
                                p->max = (SizeSpec) { .kind = SIZE_INFINITY };
                        }
                }
                if (n_nodes > 0 && rnd(100) < bind_pct) {
                        p->numa.mode = NUMA_BIND;
                        nodeset_add(&p->numa.nodes, (unsigned) rnd(n_nodes));
                        nodeset_add(&p->numa.nodes, (unsigned) rnd(n_nodes));
                }
        }
        return c;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int bench(size_t n, unsigned bind_pct, unsigned n_nodes, unsigned runs) {
        Config *c = make_config(n, bind_pct, n_nodes);
        uint64_t node_total[8];
        HostFacts h = { .total = UINT64_C(4) << 40, .n_nodes = n_nodes, .node_total = node_total };
        double *t = calloc(runs, sizeof *t);

        if (!c || !t) {
                fprintf(stderr, "out of memory\n");
                return -ENOMEM;
        }
        for (unsigned v = 0; v < n_nodes; v++)
                node_total[v] = h.total / n_nodes;

        for (unsigned k = 0; k < runs; k++) {
                Budget b;
                Diag d = {};

                double t0 = now_us();
                int r = budget_compute(c, &h, &b, &d);
                double t1 = now_us();
                if (r < 0) {
                        fprintf(stderr, "budget_compute: %d\n", r);
                        diag_print(&d, stderr, "  ");
                        return r;
                }
                budget_done(&b);
                diag_done(&d);
                t[k] = t1 - t0;
        }
        qsort(t, runs, sizeof *t, cmp_double);
        printf("budget_compute pools=%zu nodes=%u bind=%u%% runs=%u median_us=%.1f p10_us=%.1f p90_us=%.1f\n", n,
               n_nodes, bind_pct, runs, t[runs / 2], t[runs / 10], t[runs * 9 / 10]);
        free(t);
        config_free(c);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned runs = 501;

        if (argc > 1) {
                char *end;
                errno = 0;
                unsigned long v = strtoul(argv[1], &end, 10);
                if (errno != 0 || *end != '\0' || v < 11 || v > 1000000) {
                        fprintf(stderr, "usage: %s [RUNS (11..1000000)]\n", argv[0]);
                        return 2;
                }
                runs = (unsigned) v;
        }

        if (bench(1000, 0, 0, runs) < 0 || bench(1000, 50, 8, runs) < 0 || bench(10000, 0, 0, runs / 10 + 1) < 0 ||
            bench(10000, 50, 8, runs / 10 + 1) < 0)
                return 1;
        return 0;
}
