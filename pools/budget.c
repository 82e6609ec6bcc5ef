/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "macro.h"

typedef unsigned __int128 u128;

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A size for a message: exact ("447G", "1536M", "0") when it is a whole
 * number of MiB or under 1K, so the arithmetic can be checked by hand; else
 * rounded with the exact bytes after it ("51.2G (54975581388 bytes)"). */
#define FMT_MAX 64
static const char *fmt(uint64_t v, char buf[static FMT_MAX]) {
        char h[SIZE_FMT_MAX];

        if (v == UINT64_MAX)
                snprintf(buf, FMT_MAX, "16E or more");
        else if (v < 1024 || v % (UINT64_C(1) << 20) == 0)
                size_format_exact(v, buf);
        else
                snprintf(buf, FMT_MAX, "%s (%" PRIu64 " bytes)", size_format_human(v, h), v);
        return buf;
}

static const char *loc_string(const ConfLoc *loc, char buf[static 300]) {
        if (loc->file && loc->line > 0)
                snprintf(buf, 300, "%s:%u", loc->file, loc->line);
        else
                snprintf(buf, 300, "%s", loc->file ? loc->file : "default");
        return buf;
}

/* ---- water-filling ---- */

typedef struct Fill {
        const uint64_t *min, *max;
        const uint32_t *weight;
} Fill;

/* What item I may take above its Min; an item of weight 0 takes nothing. */
static uint64_t fill_room(const Fill *f, size_t i) {
        if (f->weight[i] == 0 || f->max[i] <= f->min[i])
                return 0;
        return f->max[i] - f->min[i];
}

/* Orders items by room/weight, the level of water at which each is full. */
static int fill_cmp(const void *a, const void *b, void *userdata) {
        const Fill *f = userdata;
        size_t i = (size_t) *(const uint64_t *) a, j = (size_t) *(const uint64_t *) b;
        uint32_t wi = f->weight[i], wj = f->weight[j];

        if (wi == 0 || wj == 0) {
                if ((wi == 0) != (wj == 0))
                        return wi == 0 ? -1 : 1;
        } else {
                u128 x = (u128) fill_room(f, i) * wj, y = (u128) fill_room(f, j) * wi;
                if (x != y)
                        return x < y ? -1 : 1;
        }
        return i < j ? -1 : i > j;
}

uint64_t budget_fill(size_t n, const uint64_t *min, const uint64_t *max, const uint32_t *weight, uint64_t amount,
                     uint64_t *ret_target) {
        Fill f = { .min = min, .max = max, .weight = weight };
        uint64_t sum_min = 0;
        u128 level_weight = 0;

        for (size_t i = 0; i < n; i++) {
                sum_min = add_sat(sum_min, min[i]);
                if (fill_room(&f, i) > 0)
                        level_weight += weight[i];
        }
        if (sum_min > amount) {
                /* Outside the contract: the budget refuses this case before. */
                for (size_t i = 0; i < n; i++)
                        ret_target[i] = min[i];
                return 0;
        }

        /* Walk the items from the first to fill up: while the one with the
         * lowest room/weight fits under the current level (what is left over
         * the weight of those still open), it is capped and the level rises
         * for the rest. RET_TARGET holds the order meanwhile, so there is no
         * allocation: n log n for the sort, n for the walk. */
        u128 left = amount - sum_min;
        for (size_t i = 0; i < n; i++)
                ret_target[i] = i;
        qsort_r(ret_target, n, sizeof *ret_target, fill_cmp, &f);
        for (size_t k = 0; k < n; k++) {
                size_t i = (size_t) ret_target[k];
                uint64_t room = fill_room(&f, i);

                if (room == 0)
                        continue;
                if ((u128) room * level_weight > left * weight[i])
                        break;
                left -= room;
                level_weight -= weight[i];
        }

        /* The walk stopped at a level L = left / level_weight; an item is
         * capped exactly when room / weight <= L (the level only rose, so
         * each one capped during the walk still is). The others share LEFT by
         * weight, rounded down; the remainder goes one byte each in index
         * order, which never passes a cap: room > share, both whole. */
        u128 given = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t room = fill_room(&f, i);

                if (room == 0 || (u128) room * level_weight <= left * weight[i])
                        ret_target[i] = min[i] + room;
                else {
                        uint64_t share = (uint64_t) (left * weight[i] / level_weight);
                        ret_target[i] = min[i] + share;
                        given += share;
                }
        }
        if (level_weight == 0)
                return (uint64_t) left; /* every item is at its Max */

        u128 rest = left - given;
        for (size_t i = 0; i < n && rest > 0; i++) {
                uint64_t room = fill_room(&f, i);

                if (room > 0 && (u128) room * level_weight > left * weight[i]) {
                        ret_target[i]++;
                        rest--;
                }
        }
        return 0;
}

/* ---- per NUMA node: a max-flow from pools to nodes ---- */

/* Dinic's algorithm on a four-layer graph: source -> one vertex per distinct
 * bind set (capacity: the Min of its pools) -> the nodes in the set
 * (unbounded) -> sink (capacity: the node's share of poolable). The Mins fit
 * exactly when the flow saturates the source; when it does not, the vertices
 * still reachable from the source form the smallest counterexample to Hall's
 * condition: pools whose nodes are all reachable and together too small. */
typedef struct Flow {
        size_t n_vertices, n_edges, cap_edges;
        size_t *head, *next, *to;
        uint64_t *cap;
        size_t *level, *iter, *queue;
} Flow;

#define FLOW_NONE SIZE_MAX

static void flow_done(Flow *f) {
        free(f->head);
        free(f->next);
        free(f->to);
        free(f->cap);
        free(f->level);
        free(f->iter);
        free(f->queue);
}

static int flow_init(Flow *f, size_t n_vertices, size_t n_edges) {
        *f = (Flow) { .n_vertices = n_vertices, .cap_edges = 2 * n_edges };
        f->head = malloc(n_vertices * sizeof *f->head);
        f->level = malloc(n_vertices * sizeof *f->level);
        f->iter = malloc(n_vertices * sizeof *f->iter);
        f->queue = malloc(n_vertices * sizeof *f->queue);
        f->next = malloc(MAX(f->cap_edges, (size_t) 1) * sizeof *f->next);
        f->to = malloc(MAX(f->cap_edges, (size_t) 1) * sizeof *f->to);
        f->cap = malloc(MAX(f->cap_edges, (size_t) 1) * sizeof *f->cap);
        if (!f->head || !f->level || !f->iter || !f->queue || !f->next || !f->to || !f->cap) {
                flow_done(f);
                return -ENOMEM;
        }
        for (size_t v = 0; v < n_vertices; v++)
                f->head[v] = FLOW_NONE;
        return 0;
}

/* Adds U -> V and its residual V -> U (edge e ^ 1). Returns the edge. */
static size_t flow_add(Flow *f, size_t u, size_t v, uint64_t cap) {
        size_t e = f->n_edges;

        f->to[e] = v;
        f->cap[e] = cap;
        f->next[e] = f->head[u];
        f->head[u] = e;
        f->to[e + 1] = u;
        f->cap[e + 1] = 0;
        f->next[e + 1] = f->head[v];
        f->head[v] = e + 1;
        f->n_edges += 2;
        return e;
}

static bool flow_bfs(Flow *f, size_t s, size_t t) {
        size_t qh = 0, qt = 0;

        for (size_t v = 0; v < f->n_vertices; v++)
                f->level[v] = FLOW_NONE;
        f->level[s] = 0;
        f->queue[qt++] = s;
        while (qh < qt) {
                size_t u = f->queue[qh++];
                for (size_t e = f->head[u]; e != FLOW_NONE; e = f->next[e])
                        if (f->cap[e] > 0 && f->level[f->to[e]] == FLOW_NONE) {
                                f->level[f->to[e]] = f->level[u] + 1;
                                f->queue[qt++] = f->to[e];
                        }
        }
        return f->level[t] != FLOW_NONE;
}

/* Depth is bounded by the BFS level of T, at most the number of vertices. */
static uint64_t flow_dfs(Flow *f, size_t u, size_t t, uint64_t pushed) {
        if (u == t)
                return pushed;
        for (; f->iter[u] != FLOW_NONE; f->iter[u] = f->next[f->iter[u]]) {
                size_t e = f->iter[u], v = f->to[e];

                if (f->cap[e] == 0 || f->level[v] != f->level[u] + 1)
                        continue;
                uint64_t got = flow_dfs(f, v, t, MIN(pushed, f->cap[e]));
                if (got > 0) {
                        f->cap[e] -= got;
                        f->cap[e ^ 1] = add_sat(f->cap[e ^ 1], got);
                        return got;
                }
        }
        return 0;
}

static uint64_t flow_max(Flow *f, size_t s, size_t t) {
        uint64_t total = 0;

        while (flow_bfs(f, s, t)) {
                for (size_t v = 0; v < f->n_vertices; v++)
                        f->iter[v] = f->head[v];
                uint64_t got;
                while ((got = flow_dfs(f, s, t, UINT64_MAX)) > 0)
                        total = add_sat(total, got);
        }
        /* The last BFS left f->level set for what the source still reaches. */
        return total;
}

typedef struct BindGroup {
        uint64_t hash;
        size_t pool; /* the first pool with this set; sorted by (hash, set) */
} BindGroup;

static uint64_t nodeset_hash(const NodeSet *s) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < NODESET_MAX / 64; i++) {
                h ^= s->bits[i];
                h *= 0x100000001b3ULL;
                h ^= h >> 29;
        }
        return h;
}

static int bind_group_cmp(const void *a, const void *b, void *userdata) {
        const Config *c = userdata;
        const BindGroup *x = a, *y = b;

        if (x->hash != y->hash)
                return x->hash < y->hash ? -1 : 1;
        int r = memcmp(c->pools[x->pool].numa.nodes.bits, c->pools[y->pool].numa.nodes.bits,
                       sizeof c->pools[x->pool].numa.nodes.bits);
        if (r != 0)
                return r;
        return x->pool < y->pool ? -1 : x->pool > y->pool;
}

/* Appends ", name" to a list of at most 8 names, then "and N more". */
static int list_append(char **list, size_t *count, const char *name) {
        char *n;
        int r = 0;

        (*count)++;
        if (*count <= 8)
                r = asprintf(&n, "%s%s%s", *list ? *list : "", *list ? ", " : "", name);
        else
                return 0;
        if (r < 0)
                return -ENOMEM;
        free(*list);
        *list = n;
        return 0;
}

static int list_finish(char **list, size_t count) {
        char *n;

        if (count <= 8)
                return 0;
        if (asprintf(&n, "%s and %zu more", *list, count - 8) < 0)
                return -ENOMEM;
        free(*list);
        *list = n;
        return 0;
}

/* Checks that the pools bound to nodes (NUMA=bind:) can have their Min on
 * those nodes, each node offering its share of poolable, and fills
 * B->nodes. Returns 0, -EINVAL (messages in DIAG) or -ENOMEM. */
static int budget_nodes(const Config *c, const HostFacts *h, Budget *b, Diag *diag) {
        size_t n = h->n_nodes, n_bound = 0, n_groups = 0, n_edges = 0;
        uint64_t node_sum = 0, demand = 0;
        _cleanup_free_ BindGroup *groups = NULL;
        _cleanup_free_ size_t *pool_group = NULL;
        _cleanup_free_ uint64_t *group_demand = NULL;
        char a[FMT_MAX], bb[FMT_MAX], nodes_buf[NODESET_FMT_MAX];
        bool bad = false;
        Flow f = {};
        int r = 0;

        for (size_t i = 0; i < n; i++)
                node_sum = add_sat(node_sum, h->node_total[i]);
        for (size_t i = 0; i < n; i++) {
                b->nodes[i].total = h->node_total[i];
                /* In proportion to RAM: reserves and slack are assumed
                 * spread like the memory itself. Rounded down, so the shares
                 * never add up to more than poolable. */
                b->nodes[i].poolable = node_sum == 0 ? 0 : (uint64_t) ((u128) b->poolable * h->node_total[i] / node_sum);
        }

        /* Only bind is a hard limit. preferred: and interleave: fall back to
         * other nodes when theirs are full (the kernel's MPOL_PREFERRED and
         * MPOL_INTERLEAVE do), so they cannot fail to fit while the global
         * budget does. */
        groups = malloc(MAX(c->n_pools, (size_t) 1) * sizeof *groups);
        if (!groups)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *p = &c->pools[i];

                if (p->numa.mode != NUMA_BIND || b->pools[i].min == 0)
                        continue;
                int last = nodeset_last(&p->numa.nodes);
                if (last < 0 || (size_t) last >= n) {
                        char label[POOL_NAME_MAX + 16];
                        snprintf(label, sizeof label, "[Pool %s]", p->name);
                        config_diag(diag, &p->numa_loc, label, "NUMA",
                                    "bind:%s names node %d, but this host has %zu NUMA node%s",
                                    nodeset_format(&p->numa.nodes, nodes_buf), last, n, n == 1 ? "" : "s");
                        bad = true;
                        continue;
                }
                groups[n_bound++] = (BindGroup) { .hash = nodeset_hash(&p->numa.nodes), .pool = i };
        }
        if (bad)
                return -EINVAL;
        if (n_bound == 0)
                return 0;

        qsort_r(groups, n_bound, sizeof *groups, bind_group_cmp, (void *) c);

        /* Merge pools with the same set: the flow needs one vertex per set.
         * groups[] is compacted in place (it only ever writes at or before
         * the entry it reads), so groups[g].pool is then one pool of set g. */
        pool_group = malloc(c->n_pools * sizeof *pool_group);
        group_demand = calloc(n_bound, sizeof *group_demand);
        if (!pool_group || !group_demand)
                return -ENOMEM;
        for (size_t k = 0; k < n_bound; k++) {
                size_t i = groups[k].pool;
                const NodeSet *set = &c->pools[i].numa.nodes;

                if (n_groups == 0 || groups[k].hash != groups[n_groups - 1].hash ||
                    !nodeset_equal(set, &c->pools[groups[n_groups - 1].pool].numa.nodes)) {
                        groups[n_groups++] = groups[k];
                        n_edges += nodeset_count(set);
                }
                pool_group[i] = n_groups - 1;
                group_demand[n_groups - 1] = add_sat(group_demand[n_groups - 1], b->pools[i].min);
                demand = add_sat(demand, b->pools[i].min);
        }

        /* Vertices: 0 source, 1 sink, 2.. groups, then nodes. */
        size_t s = 0, t = 1, g0 = 2, n0 = 2 + n_groups;
        r = flow_init(&f, 2 + n_groups + n, n_groups + n + n_edges);
        if (r < 0)
                return r;
        for (size_t g = 0; g < n_groups; g++)
                flow_add(&f, s, g0 + g, group_demand[g]);
        _cleanup_free_ size_t *sink_edge = malloc(n * sizeof *sink_edge);
        if (!sink_edge) {
                flow_done(&f);
                return -ENOMEM;
        }
        for (size_t v = 0; v < n; v++)
                sink_edge[v] = flow_add(&f, n0 + v, t, b->nodes[v].poolable);
        for (size_t g = 0; g < n_groups; g++) {
                const NodeSet *set = &c->pools[groups[g].pool].numa.nodes;
                for (size_t v = 0; v < n; v++)
                        if (nodeset_has(set, (unsigned) v))
                                flow_add(&f, g0 + g, n0 + v, UINT64_MAX);
        }

        uint64_t flow = flow_max(&f, s, t);
        for (size_t v = 0; v < n; v++)
                b->nodes[v].bound_min = f.cap[sink_edge[v] ^ 1];

        if (flow < demand) {
                /* Hall's condition fails for what the source still reaches. */
                _cleanup_free_ char *pools = NULL, *nodes = NULL;
                size_t n_pools_listed = 0, n_nodes_listed = 0;
                uint64_t need = 0, have = 0;
                NodeSet reach;

                nodeset_clear(&reach);
                for (size_t i = 0; i < c->n_pools && r == 0; i++) {
                        const PoolConf *p = &c->pools[i];
                        if (p->numa.mode != NUMA_BIND || b->pools[i].min == 0)
                                continue;
                        if (f.level[g0 + pool_group[i]] != FLOW_NONE) {
                                need = add_sat(need, b->pools[i].min);
                                r = list_append(&pools, &n_pools_listed, p->name);
                        }
                }
                for (size_t v = 0; v < n && r == 0; v++)
                        if (f.level[n0 + v] != FLOW_NONE) {
                                char item[3 * FMT_MAX];
                                nodeset_add(&reach, (unsigned) v);
                                have = add_sat(have, b->nodes[v].poolable);
                                snprintf(item, sizeof item, "node %zu: %s of %s RAM", v, fmt(b->nodes[v].poolable, a),
                                         fmt(b->nodes[v].total, bb));
                                r = list_append(&nodes, &n_nodes_listed, item);
                        }
                if (r == 0)
                        r = list_finish(&pools, n_pools_listed);
                if (r == 0)
                        r = list_finish(&nodes, n_nodes_listed);
                if (r == 0) {
                        char c1[FMT_MAX], c2[FMT_MAX];
                        r = config_diag(diag, NULL, NULL, NULL,
                                     "NUMA: pool%s %s bound to node%s %s need%s %s (Min and fixed sizes) but "
                                     "%s node%s hold%s %s of poolable (%s): each node offers poolable in "
                                     "proportion to its RAM",
                                     n_pools_listed == 1 ? "" : "s", pools ? pools : "?",
                                     nodeset_count(&reach) == 1 ? "" : "s", nodeset_format(&reach, nodes_buf),
                                     n_pools_listed == 1 ? "s" : "", fmt(need, c1),
                                     nodeset_count(&reach) == 1 ? "that" : "those",
                                     nodeset_count(&reach) == 1 ? "" : "s", nodeset_count(&reach) == 1 ? "s" : "",
                                     fmt(have, c2), nodes ? nodes : "");
                }
                if (r == 0)
                        r = -EINVAL;
        }
        flow_done(&f);
        return r;
}

/* ---- the budget ---- */

int budget_compute(const Config *c, const HostFacts *h, Budget *ret, Diag *diag) {
        Budget b = {};
        char label[POOL_NAME_MAX + 16], a[FMT_MAX], bb[FMT_MAX], cc[FMT_MAX], d[FMT_MAX], e[FMT_MAX], g[FMT_MAX];
        char spec[SIZE_FMT_MAX], where[300], where2[300];
        unsigned n_errors = 0;
        int r = -EINVAL;

        *ret = (Budget) {};

#define ERROR(loc, section, key, ...)                                      \
        do {                                                               \
                n_errors++;                                                \
                if (config_diag(diag, (loc), (section), (key), __VA_ARGS__) < 0) { \
                        r = -ENOMEM;                                       \
                        goto fail;                                         \
                }                                                          \
        } while (0)

        b.total = h->total > 0 ? h->total : c->host.total;
        if (b.total == 0) {
                ERROR(&c->host.total_loc, "[Host]", "Total", "the total is unknown: neither MemTotal nor Total= given");
                goto fail;
        }

        b.n_reserves = c->n_reserves;
        b.n_pools = c->n_pools;
        b.n_nodes = h->n_nodes;
        b.reserves = calloc(MAX(b.n_reserves, (size_t) 1), sizeof *b.reserves);
        b.pools = calloc(MAX(b.n_pools, (size_t) 1), sizeof *b.pools);
        b.nodes = calloc(MAX(b.n_nodes, (size_t) 1), sizeof *b.nodes);
        if (!b.reserves || !b.pools || !b.nodes) {
                r = -ENOMEM;
                goto fail;
        }

        for (size_t i = 0; i < c->n_reserves; i++) {
                const ReserveConf *res = &c->reserves[i];

                if (res->size.kind != SIZE_BYTES && res->size.kind != SIZE_PERCENT) {
                        snprintf(label, sizeof label, "[Reserve %s]", res->name);
                        ERROR(&res->loc, label, "Size", "a reserve needs a finite size");
                        continue;
                }
                b.reserves[i] = size_resolve(&res->size, b.total);
                b.reserved = add_sat(b.reserved, b.reserves[i]);
        }

        SizeSpec slack = c->host.slack;
        if (slack.kind == SIZE_UNSET)
                slack = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = 1000 };
        if (slack.kind == SIZE_INFINITY) {
                ERROR(&c->host.slack_loc, "[Host]", "Slack", "Slack= cannot be infinity");
                goto fail;
        }
        b.slack = size_resolve(&slack, b.total);

        if (b.reserved > b.total || b.slack > b.total - b.reserved) {
                ERROR(NULL, NULL, NULL, "reserves %s + slack %s (%s) are more than the total %s",
                      fmt(b.reserved, a), fmt(b.slack, bb), size_spec_format(&slack, spec), fmt(b.total, cc));
                goto fail;
        }
        b.poolable = b.total - b.reserved - b.slack;

        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *p = &c->pools[i];
                SizeSpec min = config_pool_min(p), max = config_pool_max(p);
                PoolBudget *pb = &b.pools[i];

                snprintf(label, sizeof label, "[Pool %s]", p->name);
                if (p->kind == POOL_KIND_FIXED) {
                        if (max.kind != SIZE_BYTES && max.kind != SIZE_PERCENT) {
                                ERROR(&p->loc, label, "Max", "a fixed pool needs a finite size in Max=");
                                continue;
                        }
                        pb->min = pb->max = pb->target = size_resolve(&max, b.total);
                        b.fixed_sum = add_sat(b.fixed_sum, pb->min);
                        continue;
                }

                if (min.kind == SIZE_INFINITY || min.kind == SIZE_UNSET) {
                        ERROR(&p->min_loc, label, "Min", "Min= must be finite");
                        continue;
                }
                pb->min = size_resolve(&min, b.total);
                uint64_t raw_max = size_resolve(&max, b.total);
                if (pb->min > raw_max)
                        ERROR(p->min_loc.line ? &p->min_loc : &p->loc, label, "Min",
                              "Min=%s is %s, above Max=%s = %s (%s; percentages are of total %s)",
                              size_spec_format(&min, spec), fmt(pb->min, a), size_spec_format(&max, where),
                              fmt(raw_max, bb), loc_string(&p->max_loc, where2), fmt(b.total, cc));
                pb->max = MIN(raw_max, b.poolable);
                b.min_sum = add_sat(b.min_sum, pb->min);
        }

        uint64_t need = add_sat(b.min_sum, b.fixed_sum);
        if (need > b.poolable)
                ERROR(NULL, NULL, NULL,
                      "pools need %s (sum of Min %s + fixed %s) but poolable is %s = total %s - reserves %s - slack %s",
                      fmt(need, a), fmt(b.min_sum, bb), fmt(b.fixed_sum, cc), fmt(b.poolable, d), fmt(b.total, e),
                      fmt(b.reserved, g), fmt(b.slack, where));

        if (b.n_nodes > 0 && h->node_total) {
                r = budget_nodes(c, h, &b, diag);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0)
                        n_errors++;
                r = -EINVAL;
                /* A bound pool cannot grow past its nodes: past their share
                 * the kernel's OOM killer ends a process bound to them (the
                 * mempolicy-constrained OOM: measured in the VM, bind:1 with
                 * Max = node 1 + 256M, killed within 9-26 s), long before
                 * Max could fail an allocation cleanly. So Max is capped at
                 * the nodes' share of poolable (never below Min, which the
                 * flow above already placed). */
                for (size_t i = 0; i < c->n_pools; i++) {
                        const PoolConf *p = &c->pools[i];
                        if (p->numa.mode != NUMA_BIND || p->kind == POOL_KIND_FIXED)
                                continue;
                        uint64_t room = 0;
                        for (size_t v = 0; v < b.n_nodes; v++)
                                if (nodeset_has(&p->numa.nodes, (unsigned) v))
                                        room = add_sat(room, b.nodes[v].poolable);
                        if (b.pools[i].max > room)
                                b.pools[i].max = MAX(room, b.pools[i].min);
                }
        }

        if (n_errors > 0)
                goto fail;

        /* Fixed pools are taken off the top; the others share the rest. */
        uint64_t *min = malloc(MAX(b.n_pools, (size_t) 1) * sizeof *min);
        uint64_t *max = malloc(MAX(b.n_pools, (size_t) 1) * sizeof *max);
        uint64_t *target = malloc(MAX(b.n_pools, (size_t) 1) * sizeof *target);
        uint32_t *weight = malloc(MAX(b.n_pools, (size_t) 1) * sizeof *weight);
        if (!min || !max || !target || !weight) {
                free(min);
                free(max);
                free(target);
                free(weight);
                r = -ENOMEM;
                goto fail;
        }
        size_t m = 0;
        for (size_t i = 0; i < c->n_pools; i++) {
                if (c->pools[i].kind == POOL_KIND_FIXED)
                        continue;
                min[m] = b.pools[i].min;
                max[m] = b.pools[i].max;
                weight[m] = c->pools[i].weight;
                m++;
        }
        b.unassigned = budget_fill(m, min, max, weight, b.poolable - b.fixed_sum, target);
        m = 0;
        b.assigned = b.fixed_sum;
        for (size_t i = 0; i < c->n_pools; i++) {
                if (c->pools[i].kind == POOL_KIND_FIXED)
                        continue;
                b.pools[i].target = target[m++];
                b.assigned += b.pools[i].target;
        }
        free(min);
        free(max);
        free(target);
        free(weight);
#undef ERROR

        *ret = b;
        return 0;

fail:
        budget_done(&b);
        return r;
}

void budget_done(Budget *b) {
        free(b->reserves);
        free(b->pools);
        free(b->nodes);
        *b = (Budget) {};
}
