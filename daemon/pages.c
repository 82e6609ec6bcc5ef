/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libpoold/budget-page.h"
#include "macro.h"
#include "pages.h"

/* The page stores the policy with the config's numbering and node width. */
_Static_assert((int) NUMA_LOCAL == (int) BUDGET_NUMA_LOCAL && (int) NUMA_BIND == (int) BUDGET_NUMA_BIND &&
               (int) NUMA_INTERLEAVE == (int) BUDGET_NUMA_INTERLEAVE &&
               (int) NUMA_PREFERRED == (int) BUDGET_NUMA_PREFERRED,
               "NumaMode and BudgetNumaMode agree");
_Static_assert(NODESET_MAX == BUDGET_NUMA_NODES_MAX, "a NodeSet fits BudgetPool.numa_nodes");
_Static_assert(POOL_NAME_MAX <= BUDGET_POOL_NAME_MAX, "a pool name fits the page");

typedef struct PagesPool {
        char name[POOL_NAME_MAX + 1];
        /* One pool, index 0; NULL until a client first opens the pool: a
         * page is 68 KiB of shared memory, resident from its creation (64
         * pools: 4.35 MiB of poold's RSS for pools nobody opens). */
        BudgetPage *page;
        char numa[NODESET_FMT_MAX + 16];
        /* What the page holds, or will hold when it is made. */
        uint64_t max, target;
        NumaPolicy policy;
        uint64_t flags; /* BUDGET_POOL_* */
} PagesPool;

struct Pages {
        PagesPool *pools;
        size_t n_pools;
};

int pages_new(Pages **ret) {
        Pages *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static void pages_pools_free(PagesPool *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                budget_page_unmap(a[i].page);
        free(a);
}

Pages *pages_free(Pages *p) {
        if (!p)
                return NULL;
        pages_pools_free(p->pools, p->n_pools);
        free(p);
        return NULL;
}

static PagesPool *pages_find(Pages *p, const char *name) {
        for (size_t i = 0; i < p->n_pools; i++)
                if (strcmp(p->pools[i].name, name) == 0)
                        return &p->pools[i];
        return NULL;
}

static BudgetPool *pages_pool(const PagesPool *pp) {
        return budget_page_pool(pp->page, 0);
}

static void page_unmapp(BudgetPage **pg) {
        budget_page_unmap(*pg);
}

/* Makes PP's page on first use, from the limits recorded for it. */
static int pages_ensure(PagesPool *pp) {
        _cleanup_(page_unmapp) BudgetPage *page = NULL;
        int r;

        if (pp->page)
                return 0;
        r = budget_page_create(1, PAGES_PROCS_PER_POOL, &page);
        if (r < 0)
                return r;
        r = budget_page_init_pool(page, 0, pp->name, pp->max, pp->target, (BudgetNumaMode) pp->policy.mode,
                                  pp->policy.nodes.bits);
        if (r < 0)
                return r;
        atomic_store(&budget_page_pool(page, 0)->flags, pp->flags);
        pp->page = TAKE_PTR(page);
        return 0;
}

/* Writes MAX and TARGET without ever having target > max in the page
 * (budget_set_target refuses that, and a client reading between the two
 * stores must see a consistent pair). */
static void pages_write_limits(BudgetPool *bp, uint64_t max, uint64_t target) {
        if (max >= atomic_load(&bp->max)) {
                atomic_store(&bp->max, max);
                (void) budget_set_target(bp, target);
        } else {
                (void) budget_set_target(bp, target);
                atomic_store(&bp->max, max);
        }
}

int pages_sync(Pages *p, const Config *c, const Budget *b, const uint64_t *targets) {
        PagesPool *a = calloc(c->n_pools ? c->n_pools : 1, sizeof *a);
        bool *kept = calloc(p->n_pools ? p->n_pools : 1, sizeof *kept);
        int r = 0;

        if (!a || !kept) {
                free(a);
                free(kept);
                return -ENOMEM;
        }

        /* The limits of every pool; pages are made when first opened. */
        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *pc = &c->pools[i];
                if (strlen(pc->name) > BUDGET_POOL_NAME_MAX) {
                        r = -EINVAL;
                        goto fail;
                }
                strcpy(a[i].name, pc->name);
                (void) numa_policy_format(&pc->numa, a[i].numa);
                a[i].max = b->pools[i].max;
                a[i].target = MIN(targets ? targets[i] : b->pools[i].target, a[i].max);
                a[i].policy = pc->numa;
                a[i].flags = pc->hugepages ? BUDGET_POOL_HUGEPAGES : 0;
        }

        /* Then what cannot: kept pools take their page and new limits. A
         * NUMA or HugePages= change reaches only processes that open the
         * pool after it: an arena's pages are placed and advised when they
         * are mapped. */
        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *pc = &c->pools[i];
                PagesPool *old = pages_find(p, pc->name);
                if (!old)
                        continue;
                kept[old - p->pools] = true;
                a[i].page = old->page;
                old->page = NULL;
                if (!a[i].page)
                        continue;

                BudgetPool *bp = pages_pool(&a[i]);
                uint64_t max = b->pools[i].max;
                uint64_t target = MIN(targets ? targets[i] : b->pools[i].target, max);
                if (atomic_load(&bp->max) != max || atomic_load(&bp->target) != target)
                        pages_write_limits(bp, max, target);
                if (bp->numa_mode != (uint32_t) pc->numa.mode ||
                    memcmp(bp->numa_nodes, pc->numa.nodes.bits, sizeof bp->numa_nodes) != 0) {
                        bp->numa_mode = (uint32_t) pc->numa.mode;
                        memcpy(bp->numa_nodes, pc->numa.nodes.bits, sizeof bp->numa_nodes);
                }
                atomic_store(&bp->flags, a[i].flags);
        }

        pages_pools_free(p->pools, p->n_pools); /* dropped pools' pages; kept ones were moved out */
        p->pools = a;
        p->n_pools = c->n_pools;
        free(kept);
        return 0;

fail:
        for (size_t i = 0; i < c->n_pools; i++)
                budget_page_unmap(a[i].page);
        free(a);
        free(kept);
        return r;
}

int pages_set_target(Pages *p, const char *pool, uint64_t target) {
        PagesPool *pp = pages_find(p, pool);
        if (!pp)
                return -ENOENT;
        if (target > pp->max)
                return -ERANGE;
        if (pp->page) {
                int r = budget_set_target(pages_pool(pp), target);
                if (r < 0)
                        return r;
        }
        pp->target = target;
        return 0;
}

static bool pages_pid_dead(pid_t pid) {
        return kill(pid, 0) < 0 && errno == ESRCH;
}

/* The arena figures of the live slots, summed (pages_reap_pool()). */
typedef struct PagesLive {
        uint64_t processes;
        uint64_t allocated, active, resident;
} PagesLive;

static uint64_t pages_reap_pool(PagesPool *pp, PagesLive *ret_live) {
        uint64_t freed = 0;
        PagesLive live = {};

        if (!pp->page) {
                if (ret_live)
                        *ret_live = live;
                return 0;
        }
        BudgetPool *bp = pages_pool(pp);

        for (unsigned j = 0; j < pp->page->header->n_procs; j++) {
                BudgetProc *s = budget_page_proc(pp->page, 0, j);
                pid_t pid = atomic_load(&s->pid);
                if (pid == 0)
                        continue;
                /* Negative: a process poold cannot see (another PID
                 * namespace), which "open" told so: never reaped. */
                if (pid < 0 || !pages_pid_dead(pid)) {
                        live.processes++;
                        live.allocated += atomic_load_explicit(&s->allocated, memory_order_relaxed);
                        live.active += atomic_load_explicit(&s->active, memory_order_relaxed);
                        live.resident += atomic_load_explicit(&s->resident, memory_order_relaxed);
                        continue;
                }
                freed += budget_proc_reap(bp, s);
        }
        if (ret_live)
                *ret_live = live;
        return freed;
}

uint64_t pages_reap(Pages *p) {
        uint64_t freed = 0;
        for (size_t i = 0; i < p->n_pools; i++)
                freed += pages_reap_pool(&p->pools[i], NULL);
        return freed;
}

int pages_stats(Pages *p, const char *pool, PagesPoolStats *ret) {
        PagesPool *pp = pages_find(p, pool);
        if (!pp)
                return -ENOENT;

        PagesLive live;
        uint64_t reaped = pages_reap_pool(pp, &live);
        if (!pp->page) {
                *ret = (PagesPoolStats) { .max = pp->max, .target = pp->target };
                return 0;
        }
        BudgetPool *bp = pages_pool(pp);
        *ret = (PagesPoolStats) {
                .max = atomic_load(&bp->max),
                .target = atomic_load(&bp->target),
                .charged = atomic_load(&bp->charged),
                .peak = atomic_load(&bp->peak),
                .processes = live.processes,
                .commit_failures = atomic_load(&bp->commit_failures),
                .shrink_released = atomic_load(&bp->shrink_released),
                .reaped = reaped,
                .allocated = live.allocated,
                .active = live.active,
                .resident = live.resident,
        };
        return 0;
}

int pages_get_fd(Pages *p, const char *pool) {
        PagesPool *pp = pages_find(p, pool);
        if (!pp)
                return -ENOENT;
        int r = pages_ensure(pp);
        return r < 0 ? r : pp->page->fd;
}

int pages_verb_open(ControlRequest *req, json_object *args, void *userdata, json_object **ret_result,
                    ProtocolError *ret_error) {
        static const char *const allowed[] = { "pool", NULL };
        Pages *p = userdata;
        const char *name;
        int r;

        r = protocol_check_fields(args, allowed, ret_error);
        if (r < 0)
                return r;
        r = protocol_get_string(args, "pool", true, &name, ret_error);
        if (r < 0)
                return r;
        if (!protocol_pool_name_is_valid(name))
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID, "invalid pool name");
        PagesPool *pp = pages_find(p, name);
        if (!pp)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_NOT_FOUND, "no pool \"%s\"", name);

        /* The client's pid as poold sees it (SO_PEERCRED), for its process
         * slot: its own getpid() means nothing here when it runs in another
         * PID namespace, and a slot reaped while its process lives would
         * give back charge it still holds. null: poold cannot see it. */
        r = pages_ensure(pp);
        if (r < 0)
                return r;
        const Peer *peer = control_request_get_peer(req);
        BudgetPool *bp = pages_pool(pp);
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "pool", json_object_new_string(name)) < 0 ||
            json_object_object_add(o, "max", json_object_new_uint64(atomic_load(&bp->max))) < 0 ||
            json_object_object_add(o, "target", json_object_new_uint64(atomic_load(&bp->target))) < 0 ||
            json_object_object_add(o, "numa", json_object_new_string(pp->numa)) < 0 ||
            json_object_object_add(o, "version", json_object_new_int((int) BUDGET_PAGE_VERSION)) < 0 ||
            json_object_object_add(o, "pid", peer && peer->pid > 0 ? json_object_new_int64(peer->pid) : NULL) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }

        r = control_request_attach_fd(req, pp->page->fd);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *ret_result = o;
        return 0;
}
