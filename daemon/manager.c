/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "cgroup.h"
#include "cgstat.h"
#include "checkcmd.h"
#include "control.h"
#include "log.h"
#include "manager.h"
#include "meminfo.h"
#include "numa-topology.h"
#include "pages.h"
#include "pressure.h"
#include "report.h"
#include "signals.h"

/* What the manager remembers of one configured pool between stats reads. */
typedef struct PoolState {
        char *path;              /* the pool's cgroup directory */
        uint64_t target_override; /* `poolctl set TARGET`; UINT64_MAX: the budget's */
        int apply_error;         /* last apply's -errno, 0 */
        int stat_error;          /* last read's -errno, 0 */
        CgStat stat;             /* last read */
        uint64_t peak;           /* tracked: the larger of the kernel's and what we saw */
        bool have_base;
        uint64_t base_high, base_max, base_oom, base_oom_kill; /* counters at the first read */
} PoolState;

typedef struct ReserveState {
        char *path;  /* its cgroup directory, resolved once (a D-Bus round trip for Unit=) */
        uint64_t retry_after; /* CLOCK_MONOTONIC usec: no path lookup before (or, failing: drop the path then) */
        bool failing;         /* the path did not read since retry_after was set */
        bool measured;
        int error; /* -errno of finding or reading its cgroup, 0 */
        uint64_t current;
} ReserveState;

struct Manager {
        ManagerOptions options;
        const char *config_path;
        sd_event *event;
        Control *control;
        CgroupDriver *driver;
        Pressure *pressure;      /* the shrink ladder; NULL until started */
        Pages *pages;            /* libpoold's budget pages, one per pool; NULL until started */

        Config *config;
        Budget budget;
        TotalSource total_source;
        uint64_t total_previous; /* MemTotal before it last changed at runtime; 0: never changed */
        NumaTopology topo;
        PoolState *pools; /* config->n_pools */
        ReserveState *reserves; /* config->n_reserves */
        char **orphans;   /* pools found in the hierarchy but not configured */

        const char *state;       /* "starting", "running", "reloading", "stopping" */
        char *last_reload_error; /* the Diag lines joined by "\n"; NULL after a good reload */
};

static void reserve_states_free(ReserveState *r, size_t n) {
        for (size_t i = 0; r && i < n; i++)
                free(r[i].path);
        free(r);
}

static void pool_states_free(PoolState *p, size_t n) {
        for (size_t i = 0; p && i < n; i++)
                free(p[i].path);
        free(p);
}

int manager_new(const ManagerOptions *o, Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        if (o)
                m->options = *o;
        m->config_path = m->options.config_path ? m->options.config_path : POOLD_CONFIG_PATH;
        m->state = "starting";
        r = sd_event_new(&m->event);
        if (r < 0) {
                free(m);
                return r;
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        pressure_free(m->pressure); /* before the control socket it pushes to */
        pages_free(m->pages);
        control_free(m->control);
        cgroup_driver_free(m->driver);
        if (m->config) {
                pool_states_free(m->pools, m->config->n_pools);
                reserve_states_free(m->reserves, m->config->n_reserves);
        }
        config_free(m->config);
        budget_done(&m->budget);
        numa_topology_done(&m->topo);
        cgroup_strv_free(m->orphans);
        free(m->last_reload_error);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

sd_event *manager_get_event(Manager *m) {
        return m->event;
}

/* Loads PATH and computes its budget on this host. Returns 0 with *ret_c,
 * *ret_b and *ret_source, or -errno with DIAG filled. */
static int manager_load(Manager *m, Config **ret_c, Budget *ret_b, TotalSource *ret_source, Diag *diag) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_load(m->config_path, (unsigned) m->topo.n_nodes, &c, diag);
        if (r < 0) {
                if (diag->n == 0)
                        (void) diag_add(diag, "%s: %s", m->config_path, strerror(-r));
                return r;
        }

        uint64_t total;
        TotalSource source;
        const NumaTopology *topo = NULL;
        if (c->host.total > 0) {
                /* A planned figure: not this machine's nodes. */
                total = c->host.total;
                source = TOTAL_SOURCE_CONFIG;
        } else {
                MemInfo mi;
                r = meminfo_read(m->options.proc_root, &mi);
                if (r < 0) {
                        (void) diag_add(diag, "%s/meminfo: cannot read MemTotal: %s",
                                        m->options.proc_root ? m->options.proc_root : "/proc", strerror(-r));
                        return r;
                }
                total = mi.total;
                source = TOTAL_SOURCE_MEMINFO;
                topo = &m->topo;
        }

        HostFacts h;
        numa_topology_host_facts(topo, total, &h);
        r = budget_compute(c, &h, ret_b, diag);
        if (r < 0) {
                if (diag->n == 0)
                        (void) diag_add(diag, "%s: cannot compute the budget: %s", m->config_path, strerror(-r));
                return r;
        }
        *ret_c = TAKE_PTR(c);
        *ret_source = source;
        return 0;
}

static void pool_limits_from(const PoolConf *pc, const PoolBudget *pb, uint64_t high, PoolLimits *ret) {
        *ret = (PoolLimits) {
                .min = pb->min,
                .high = high,
                .max = pb->max,
        };
        nodeset_clear(&ret->mems);
        /* bind: and interleave: confine the pool to their nodes; preferred:
         * is a preference the kernel may overrule, so it does not restrict
         * mems (that would turn it into a bind). */
        if (pc->numa.mode == NUMA_BIND || pc->numa.mode == NUMA_INTERLEAVE)
                ret->mems = pc->numa.nodes;
}

static uint64_t page_size(void) {
        long n = sysconf(_SC_PAGESIZE);
        return n > 0 ? (uint64_t) n : 4096;
}

/* The target pool I is planned at: the budget's, or `poolctl set`'s. */
static uint64_t manager_planned_target(const Manager *m, size_t i) {
        return m->pools[i].target_override != UINT64_MAX ? m->pools[i].target_override : m->budget.pools[i].target;
}

/* The target in force: the pressure controller's once it runs (lowered
 * under pressure, growing back after), else the plan. */
static uint64_t manager_pool_target(const Manager *m, size_t i) {
        uint64_t t = pressure_pool_target(m->pressure, i);
        return t != UINT64_MAX ? t : manager_planned_target(m, i);
}

static bool manager_is_configured(const Manager *m, const char *name) {
        for (size_t i = 0; i < m->config->n_pools; i++)
                if (strcmp(m->config->pools[i].name, name) == 0)
                        return true;
        return false;
}

/* Applies the parent and every pool of the current config and budget.
 * Returns 0 if everything applied, else the first -errno (each failure
 * logged; the others are still applied). */
static int manager_apply(Manager *m) {
        int ret = 0, r;

        r = cgroup_driver_apply_parent(m->driver, m->budget.poolable);
        if (r < 0) {
                log_error_errno(r, "cannot set the pools' parent cap to %" PRIu64 " bytes", m->budget.poolable);
                ret = r;
        }

        for (size_t i = 0; i < m->config->n_pools; i++) {
                const PoolConf *pc = &m->config->pools[i];
                PoolLimits l;
                pool_limits_from(pc, &m->budget.pools[i], manager_pool_target(m, i), &l);
                r = cgroup_driver_apply_pool(m->driver, pc->name, &l);
                m->pools[i].apply_error = r < 0 ? r : 0;
                if (r < 0) {
                        log_error_errno(r, "pool %s: cannot apply its limits", pc->name);
                        if (ret == 0)
                                ret = r;
                } else
                        log_debug("pool %s: min=%" PRIu64 " high=%" PRIu64 " max=%" PRIu64, pc->name, l.min,
                                  l.high, l.max);
        }

        for (size_t i = 0; i < m->config->n_reserves; i++) {
                const ReserveConf *rc = &m->config->reserves[i];
                if (!rc->protect)
                        continue;
                r = cgroup_driver_protect(m->driver, rc->unit, rc->cgroup, m->budget.reserves[i]);
                if (r < 0)
                        log_warning_errno(r, "reserve %s: cannot protect it, ignoring", rc->name);
        }

        /* Pools left from an earlier config keep their limits and members:
         * removing one could kill or strand processes. */
        char **found = NULL;
        r = cgroup_driver_list_pools(m->driver, &found);
        if (r < 0)
                log_warning_errno(r, "cannot list the existing pools, ignoring");
        else {
                size_t k = 0;
                for (size_t i = 0; found[i]; i++) {
                        if (manager_is_configured(m, found[i])) {
                                free(found[i]);
                                continue;
                        }
                        log_notice("pool %s: exists but is not configured: left as it is (orphaned)", found[i]);
                        found[k++] = found[i];
                }
                found[k] = NULL;
                cgroup_strv_free(m->orphans);
                m->orphans = found;
        }
        return ret;
}

/* Builds fresh per-pool states for C, carrying over what is known of pools
 * that keep their name (peak, event bases). */
static int manager_pool_states(Manager *m, const Config *c, PoolState **ret) {
        PoolState *p = calloc(c->n_pools ? c->n_pools : 1, sizeof *p);
        int r;

        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_pools; i++) {
                p[i].target_override = UINT64_MAX;
                r = cgroup_driver_pool_path(m->driver, c->pools[i].name, &p[i].path);
                if (r < 0) {
                        pool_states_free(p, c->n_pools);
                        return r;
                }
                for (size_t j = 0; m->config && j < m->config->n_pools; j++)
                        if (strcmp(m->config->pools[j].name, c->pools[i].name) == 0) {
                                p[i].stat = m->pools[j].stat;
                                p[i].stat_error = m->pools[j].stat_error;
                                p[i].peak = m->pools[j].peak;
                                p[i].have_base = m->pools[j].have_base;
                                p[i].base_high = m->pools[j].base_high;
                                p[i].base_max = m->pools[j].base_max;
                                p[i].base_oom = m->pools[j].base_oom;
                                p[i].base_oom_kill = m->pools[j].base_oom_kill;
                        }
        }
        *ret = p;
        return 0;
}

/* Takes C and B as the running configuration. */
static int manager_swap(Manager *m, Config *c, Budget *b, TotalSource source) {
        PoolState *p = NULL;
        ReserveState *rs;
        int r;

        r = manager_pool_states(m, c, &p);
        if (r < 0)
                return r;
        rs = calloc(c->n_reserves ? c->n_reserves : 1, sizeof *rs);
        if (!rs) {
                pool_states_free(p, c->n_pools);
                return -ENOMEM;
        }
        if (m->config) {
                pool_states_free(m->pools, m->config->n_pools);
                reserve_states_free(m->reserves, m->config->n_reserves);
        }
        config_free(m->config);
        budget_done(&m->budget);
        m->config = c;
        m->budget = *b;
        m->total_source = source;
        m->pools = p;
        m->reserves = rs;
        return 0;
}

/* The pools' cgroup directories (borrowed from the pool states), for the
 * pressure module's per-pool PSI triggers. */
static char **manager_paths(const Manager *m) {
        char **v = calloc(m->config->n_pools + 1, sizeof *v);
        for (size_t i = 0; v && i < m->config->n_pools; i++)
                v[i] = m->pools[i].path;
        return v;
}

/* Hands the running configuration and budget to the pressure controller,
 * with `poolctl set` targets as the plan. */
static int manager_configure_pressure(Manager *m) {
        int r;

        if (!m->pressure)
                return 0;
        Budget plan = m->budget;
        _cleanup_free_ PoolBudget *pools = calloc(m->config->n_pools ? m->config->n_pools : 1, sizeof *pools);
        _cleanup_free_ char **paths = manager_paths(m);
        if (!pools || !paths)
                return log_error_errno(-ENOMEM, "cannot hand the budget to the pressure controller");
        for (size_t i = 0; i < m->config->n_pools; i++) {
                pools[i] = m->budget.pools[i];
                pools[i].target = manager_planned_target(m, i);
        }
        plan.pools = pools;
        pressure_watch_total(m->pressure, m->total_source == TOTAL_SOURCE_MEMINFO ? m->budget.total : 0);
        r = pressure_configure(m->pressure, m->config, &plan, paths);
        if (r < 0)
                log_error_errno(r, "the pressure controller refused the configuration; it keeps the one before");
        return r;
}

/* Brings libpoold's budget pages to the running configuration and the
 * targets in force (a failure leaves clients on the old figures: logged). */
static void manager_sync_pages(Manager *m) {
        int r;

        if (!m->pages)
                return;
        _cleanup_free_ uint64_t *targets = calloc(m->config->n_pools ? m->config->n_pools : 1, sizeof *targets);
        if (!targets)
                return (void) log_error_errno(-ENOMEM, "cannot update the budget pages");
        for (size_t i = 0; i < m->config->n_pools; i++)
                targets[i] = manager_pool_target(m, i);
        r = pages_sync(m->pages, m->config, &m->budget, targets);
        if (r < 0)
                log_error_errno(r, "cannot update the budget pages of libpoold clients");
}

/* The plan changed (reload, `poolctl set`, MemTotal): the controller and
 * libpoold's budget pages follow it. */
static void manager_plan_changed(Manager *m) {
        (void) manager_configure_pressure(m);
        manager_sync_pages(m);
}

/* Takes B as the budget of the running configuration. A runtime target
 * stays only while it still fits its pool. */
static void manager_take_budget(Manager *m, Budget *b) {
        budget_done(&m->budget);
        m->budget = *b;
        for (size_t j = 0; j < m->config->n_pools; j++) {
                uint64_t t = m->pools[j].target_override;
                if (t != UINT64_MAX && (t < b->pools[j].min || t > b->pools[j].max))
                        m->pools[j].target_override = UINT64_MAX;
        }
}

static void manager_log_diag(const Diag *d) {
        for (size_t i = 0; i < d->n; i++)
                log_error("%s", d->messages[i]);
}

static char *diag_join(const Diag *d) {
        size_t len = 1;
        for (size_t i = 0; i < d->n; i++)
                len += strlen(d->messages[i]) + 1;
        char *s = malloc(len), *p = s;
        if (!s)
                return NULL;
        *p = 0;
        for (size_t i = 0; i < d->n; i++)
                p = stpcpy(stpcpy(p, i > 0 ? "\n" : ""), d->messages[i]);
        return s;
}

static void manager_notify_status(Manager *m) {
        char poolable[SIZE_FMT_MAX];
        (void) sd_notifyf(false, "STATUS=%s%zu pools, %s poolable, driver %s%s",
                          pressure_exhausted(m->pressure) ? "EXHAUSTED: every pool at Min under pressure; " : "",
                          m->config->n_pools, size_format_human(m->budget.poolable, poolable),
                          cgroup_driver_name(m->driver), m->last_reload_error ? " (last reload failed)" : "");
}

int manager_reload(Manager *m, Diag *diag) {
        _cleanup_(config_freep) Config *c = NULL;
        Budget b = {};
        TotalSource source;
        int r;

        m->state = "reloading";
        (void) sd_notify(false, "RELOADING=1");
        log_info("reloading %s", m->config_path);

        r = manager_load(m, &c, &b, &source, diag);
        if (r < 0) {
                log_error("reload of %s failed, the running configuration stays in force:", m->config_path);
                manager_log_diag(diag);
                free(m->last_reload_error);
                m->last_reload_error = diag_join(diag);
                goto done;
        }
        if (c->host.driver != m->config->host.driver ||
            !!c->host.cgroup_root != !!m->config->host.cgroup_root ||
            (c->host.cgroup_root && strcmp(c->host.cgroup_root, m->config->host.cgroup_root) != 0))
                log_warning("CgroupDriver= or CgroupRoot= changed: takes effect at the next restart, keeping %s",
                            cgroup_driver_name(m->driver));

        r = manager_swap(m, c, &b, source);
        if (r < 0) {
                budget_done(&b);
                log_error_errno(r, "reload failed, the running configuration stays in force");
                goto done;
        }
        TAKE_PTR(c);
        free(m->last_reload_error);
        m->last_reload_error = NULL;
        manager_plan_changed(m);
        r = manager_apply(m);
        if (r < 0)
                log_warning("reloaded, but not every limit could be applied (see above)");
        else
                log_info("reloaded: %zu pools, %zu reserves", m->config->n_pools, m->config->n_reserves);
        (void) manager_refresh_stats(m);
        r = 0;
done:
        m->state = "running";
        manager_notify_status(m);
        (void) sd_notify(false, "READY=1");
        return r;
}

static int manager_find_pool(const Manager *m, const char *name) {
        for (size_t i = 0; i < m->config->n_pools; i++)
                if (strcmp(m->config->pools[i].name, name) == 0)
                        return (int) i;
        return -ENOENT;
}

int manager_set(Manager *m, const char *pool, const char *field, uint64_t size, Diag *diag) {
        int i = manager_find_pool(m, pool), r;
        char buf[SIZE_FMT_MAX], buf2[SIZE_FMT_MAX];

        if (i < 0) {
                (void) diag_add(diag, "no pool named %s", pool);
                return -ENOENT;
        }
        PoolConf *pc = &m->config->pools[i];

        if (strcmp(field, "target") == 0) {
                const PoolBudget *pb = &m->budget.pools[i];
                if (size < pb->min || size > pb->max) {
                        (void) diag_add(diag, "pool %s: target %s is outside Min %s .. Max %s", pool,
                                        size_format_exact(size, buf), size_format_exact(pb->min, buf2),
                                        size_format_exact(pb->max, (char[SIZE_FMT_MAX]) {}));
                        return -EINVAL;
                }
                /* Targets must still fit poolable together, as the budget's do. */
                uint64_t sum = 0;
                for (size_t j = 0; j < m->config->n_pools; j++)
                        sum += (int) j == i ? size :
                               m->pools[j].target_override != UINT64_MAX ? m->pools[j].target_override :
                                                                           m->budget.pools[j].target;
                if (sum > m->budget.poolable) {
                        (void) diag_add(diag, "pool %s: targets would sum to %s, over poolable %s", pool,
                                        size_format_exact(sum, buf), size_format_exact(m->budget.poolable, buf2));
                        return -EINVAL;
                }
                uint64_t old = m->pools[i].target_override;
                m->pools[i].target_override = size;
                if (m->pressure) {
                        /* The new target is the pool's plan: the controller
                         * brings it down (notice, then memory.high) or lets
                         * it grow back in steps, as after pressure. */
                        r = manager_configure_pressure(m);
                        if (r < 0) {
                                m->pools[i].target_override = old;
                                (void) diag_add(diag, "pool %s: the pressure controller refused it: %s", pool,
                                                strerror(-r));
                                return r;
                        }
                } else {
                        PoolLimits l;
                        pool_limits_from(pc, pb, size, &l);
                        r = cgroup_driver_apply_pool(m->driver, pool, &l);
                        if (r < 0) {
                                m->pools[i].target_override = old;
                                (void) diag_add(diag, "pool %s: cannot apply: %s", pool, strerror(-r));
                                return r;
                        }
                }
                log_info("pool %s: target set to %s until the next reload", pool, size_format_exact(size, buf));
                return 0;
        }

        SizeSpec *spec;
        ConfLoc *loc;
        if (strcmp(field, "min") == 0) {
                spec = &pc->min;
                loc = &pc->min_loc;
        } else if (strcmp(field, "max") == 0) {
                spec = &pc->max;
                loc = &pc->max_loc;
        } else {
                (void) diag_add(diag, "unknown field '%s' (target, min or max)", field);
                return -EINVAL;
        }
        if (pc->kind == POOL_KIND_FIXED) {
                (void) diag_add(diag, "pool %s is fixed: change its size in the configuration", pool);
                return -EINVAL;
        }

        /* The config with the change, budgeted like a loaded one; the old
         * spec comes back if the budget does not hold. */
        SizeSpec old = *spec;
        ConfLoc old_loc = *loc;
        *spec = (SizeSpec) { .kind = SIZE_BYTES, .bytes = size };
        /* Errors about this key name the command, not the file's line of
         * the value it replaces. */
        *loc = (ConfLoc) { .file = "poolctl set" };
        Budget b = {};
        r = config_validate(m->config, 0, diag);
        if (r >= 0) {
                HostFacts h;
                numa_topology_host_facts(m->total_source == TOTAL_SOURCE_MEMINFO ? &m->topo : NULL,
                                         m->budget.total, &h);
                r = budget_compute(m->config, &h, &b, diag);
        }
        if (r < 0) {
                *spec = old;
                *loc = old_loc;
                return r;
        }
        manager_take_budget(m, &b);
        manager_plan_changed(m);
        r = manager_apply(m);
        log_info("pool %s: %s set to %s until the next reload", pool, field, size_format_exact(size, buf));
        if (r < 0) {
                (void) diag_add(diag, "not every limit could be applied: %s", strerror(-r));
                return r;
        }
        return 0;
}

/* Reads WHAT (CgStatRead bits; usage always) of every pool, and the
 * measured reserves' usage. The pressure rounds read CGSTAT_READ_TICK (2
 * files a pool on v2); status reads everything. */
static void manager_read_reserves(Manager *m);

static int manager_read_stats(Manager *m, unsigned what) {
        for (size_t i = 0; i < m->config->n_pools; i++) {
                PoolState *p = &m->pools[i];
                /* A pool read before keeps the parts not asked for now. */
                CgStat s = p->stat_error == 0 && p->have_base ? p->stat : CGSTAT_INIT;
                int r = cgstat_read_mask(p->path, p->stat_error == 0 && p->have_base ? what : CGSTAT_READ_ALL, &s);
                p->stat_error = r < 0 ? r : 0;
                if (r < 0)
                        continue;
                p->peak = cgstat_peak_update(p->peak, &s);
                /* Events count from poold's start: a counter that went
                 * backwards belongs to a cgroup made anew, so start again. */
                if (!p->have_base || s.events_high < p->base_high || s.events_max < p->base_max ||
                    s.events_oom < p->base_oom || s.events_oom_kill < p->base_oom_kill) {
                        p->base_high = s.events_high;
                        p->base_max = s.events_max;
                        p->base_oom = s.events_oom;
                        p->base_oom_kill = s.events_oom_kill;
                        p->have_base = true;
                }
                p->stat = s;
        }

        manager_read_reserves(m);
        return 0;
}

/* The measured reserves' usage: one file each. A Unit='s cgroup path is
 * resolved once and kept: a unit that stops and starts again comes back at
 * the same path, and is read again at the next round (in the VM, freeing
 * and looking the path up again made poold see a restarted model 2-3 s
 * late). While the unit has no cgroup yet, the D-Bus lookup is retried at
 * most once a second (the rounds come every 100 ms under pressure). */
static void manager_read_reserves(Manager *m) {
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < m->config->n_reserves; i++) {
                const ReserveConf *rc = &m->config->reserves[i];
                ReserveState *rs = &m->reserves[i];
                rs->measured = rc->unit || rc->cgroup;
                if (!rs->measured)
                        continue;
                int r = 0;
                if (!rs->path) {
                        if (now < rs->retry_after)
                                continue; /* keeps its last error */
                        r = cgroup_driver_reserve_path(m->driver, rc->unit, rc->cgroup, &rs->path);
                        if (r < 0)
                                rs->retry_after = now + 1000000ULL;
                }
                if (r >= 0)
                        r = cgstat_read_current(rs->path, &rs->current);
                rs->error = r < 0 ? r : 0;
                /* Not readable (stopped, or an inactive unit's empty
                 * ControlGroup): the path is kept and read every round for
                 * a second, then looked up again. */
                if (r >= 0)
                        rs->failing = false;
                else if (rs->path && !rs->failing) {
                        rs->failing = true;
                        rs->retry_after = now + 1000000ULL;
                } else if (rs->path && now >= rs->retry_after) {
                        rs->path = (free(rs->path), NULL);
                        rs->failing = false;
                        rs->retry_after = now; /* look it up at the next round */
                }
        }
}

int manager_refresh_stats(Manager *m) {
        return manager_read_stats(m, CGSTAT_READ_ALL);
}

/* --- the pressure module's hands (PressureOps) --- */

static void manager_measure(void *userdata, PolicyPoolSample *pools, size_t n_pools, uint64_t *reserve_usage,
                            size_t n_reserves, bool detailed) {
        Manager *m = userdata;

        if (!pools) {
                manager_read_reserves(m);
                for (size_t i = 0; i < n_reserves && i < m->config->n_reserves; i++)
                        if (m->reserves[i].measured && m->reserves[i].error == 0)
                                reserve_usage[i] = m->reserves[i].current;
                return;
        }
        /* memory.stat only when it decides something: how much of a pool
         * being shrunk the kernel cannot reclaim (v1 sums the subtree on
         * every read). */
        (void) manager_read_stats(m, CGSTAT_READ_TICK | (detailed ? CGSTAT_READ_STAT : 0));
        for (size_t i = 0; i < n_pools && i < m->config->n_pools; i++) {
                const CgStat *st = &m->pools[i].stat;
                if (m->pools[i].stat_error == 0) {
                        signals_pool_sample(st, &pools[i]);
                        if (detailed && (st->have & CGSTAT_HAVE_STAT))
                                pools[i].unreclaimable = st->anon + st->shmem;
                }
                /* libpoold clients need not live in the pool's cgroup: the
                 * pool uses at least what their arenas have charged. The
                 * larger of the two, not the sum: a client inside the cgroup
                 * is in memory.current already. pages_stats() also gives
                 * back the charge of clients that died. */
                PagesPoolStats as;
                if (m->pages && pages_stats(m->pages, m->config->pools[i].name, &as) >= 0 && as.charged > 0 &&
                    (pools[i].usage == POLICY_UNKNOWN || as.charged > pools[i].usage))
                        pools[i].usage = as.charged;
        }
        for (size_t i = 0; i < n_reserves && i < m->config->n_reserves; i++)
                if (m->reserves[i].measured && m->reserves[i].error == 0)
                        reserve_usage[i] = m->reserves[i].current;
}

static int manager_set_high(void *userdata, size_t i, uint64_t bytes) {
        Manager *m = userdata;
        PoolLimits l;
        int r;

        if (i >= m->config->n_pools)
                return -ERANGE;
        /* Only memory.high moves in a step; the whole set of limits is
         * written where the pool's cgroup is missing (removed by hand) or
         * the driver cannot set MemoryHigh alone. */
        r = cgroup_driver_set_high(m->driver, m->config->pools[i].name, bytes);
        if (r == -ENOENT || r == -EOPNOTSUPP) {
                pool_limits_from(&m->config->pools[i], &m->budget.pools[i], bytes, &l);
                r = cgroup_driver_apply_pool(m->driver, m->config->pools[i].name, &l);
        }
        m->pools[i].apply_error = r < 0 ? r : 0;
        return r;
}

/* Memory hotplug or a balloon changed MemTotal: the same configuration on
 * the new total, or the old budget kept if it no longer fits. */
static void manager_on_total_changed(void *userdata, uint64_t total) {
        Manager *m = userdata;
        Budget b = {};
        Diag d = {};
        HostFacts h;
        int r;

        if (m->total_source != TOTAL_SOURCE_MEMINFO)
                return; /* [Host] Total= plans another machine's figure */
        numa_topology_host_facts(&m->topo, total, &h);
        r = budget_compute(m->config, &h, &b, &d);
        if (r < 0) {
                log_error("MemTotal is now %" PRIu64 " bytes and the configuration no longer fits; keeping the "
                          "budget of %" PRIu64 " bytes:", total, m->budget.total);
                manager_log_diag(&d);
                diag_done(&d);
                return;
        }
        diag_done(&d);
        m->total_previous = m->budget.total;
        manager_take_budget(m, &b);
        manager_plan_changed(m);
        if (manager_apply(m) < 0)
                log_warning("re-partitioned for MemTotal %" PRIu64 ", but not every limit applied (see above)", total);
        else
                log_notice("re-partitioned for MemTotal %" PRIu64 " bytes (was %" PRIu64 "): %" PRIu64
                           " poolable", total, m->total_previous, m->budget.poolable);
        manager_notify_status(m);
}

static void manager_on_target_changed(void *userdata, size_t i, uint64_t target) {
        Manager *m = userdata;
        int r;

        if (!m->pages || i >= m->config->n_pools)
                return;
        r = pages_set_target(m->pages, m->config->pools[i].name, target);
        if (r < 0)
                log_warning_errno(r, "pool %s: cannot publish the target %" PRIu64 " to libpoold clients",
                                  m->config->pools[i].name, target);
}

static void manager_on_pressure_state(void *userdata) {
        manager_notify_status(userdata);
}

static const PressureOps manager_pressure_ops = {
        .measure = manager_measure,
        .set_high = manager_set_high,
        .target_changed = manager_on_target_changed,
        .total_changed = manager_on_total_changed,
        .state_changed = manager_on_pressure_state,
};

static json_object *json_u64_or_null(bool have, uint64_t v) {
        return have ? json_object_new_uint64(v) : NULL;
}

static json_object *jstrf(const char *format, ...) _printf_(1, 2);
static json_object *jstrf(const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        va_start(ap, format);
        int r = vasprintf(&s, format, ap);
        va_end(ap);
        return r < 0 ? NULL : json_object_new_string(s);
}

static int json_add(json_object *o, const char *key, json_object *v) {
        return json_object_object_add(o, key, v);
}

int manager_status_json(Manager *m, json_object **ret) {
        json_object *o = json_object_new_object(), *host = json_object_new_object(),
                    *reserves = json_object_new_array(), *pools = json_object_new_array(),
                    *orphans = json_object_new_array(), *warnings = json_object_new_array();
        char buf[SIZE_FMT_MAX], buf2[SIZE_FMT_MAX];

        if (!o || !host || !reserves || !pools || !orphans || !warnings) {
                json_object_put(o);
                json_object_put(host);
                json_object_put(reserves);
                json_object_put(pools);
                json_object_put(orphans);
                json_object_put(warnings);
                return -ENOMEM;
        }

        const Budget *b = &m->budget;
        json_add(host, "total", json_object_new_uint64(b->total));
        json_add(host, "total_source", json_object_new_string(total_source_to_string(m->total_source)));
        json_add(host, "reserved", json_object_new_uint64(b->reserved));
        json_add(host, "slack", json_object_new_uint64(b->slack));
        json_add(host, "poolable", json_object_new_uint64(b->poolable));
        json_add(host, "assigned", json_object_new_uint64(b->assigned));
        json_add(host, "unassigned", json_object_new_uint64(b->unassigned));
        json_add(host, "driver", json_object_new_string(cgroup_driver_name(m->driver)));
        json_add(host, "cgroup_version", json_object_new_int(cgroup_driver_version(m->driver)));
        json_add(host, "total_previous", m->total_previous ? json_object_new_uint64(m->total_previous) : NULL);
        json_add(host, "state", json_object_new_string(m->state));
        json_add(host, "config", json_object_new_string(m->config_path));
        json_add(host, "last_reload_error",
                 m->last_reload_error ? json_object_new_string(m->last_reload_error) : NULL);
        char bar[REPORT_BAR_WIDTH + 1];
        Report rep = { .config = m->config, .budget = b, .total_source = m->total_source };
        if (report_bar(&rep, bar) >= 0)
                json_add(host, "bar", json_object_new_string(bar));
        json_add(o, "host", host);

        for (size_t i = 0; i < m->config->n_reserves; i++) {
                const ReserveConf *rc = &m->config->reserves[i];
                const ReserveState *rs = &m->reserves[i];
                json_object *r = json_object_new_object();
                bool have = rs->measured && rs->error == 0;
                json_add(r, "name", json_object_new_string(rc->name));
                json_add(r, "planned", json_object_new_uint64(b->reserves[i]));
                json_add(r, "unit", rc->unit ? json_object_new_string(rc->unit) : NULL);
                json_add(r, "cgroup", rc->cgroup ? json_object_new_string(rc->cgroup) : NULL);
                json_add(r, "measured", json_u64_or_null(have, rs->current));
                json_add(r, "diff", have ? json_object_new_int64((int64_t) rs->current - (int64_t) b->reserves[i]) : NULL);
                json_add(r, "error", rs->measured && rs->error ? json_object_new_string(strerror(-rs->error)) : NULL);
                json_object_array_add(reserves, r);
                if (have && rs->current > b->reserves[i])
                        json_object_array_add(warnings, jstrf(
                                "reserve %s uses %s, over its plan of %s", rc->name,
                                size_format_human(rs->current, buf), size_format_human(b->reserves[i], buf2)));
        }
        json_add(o, "reserves", reserves);

        for (size_t i = 0; i < m->config->n_pools; i++) {
                const PoolConf *pc = &m->config->pools[i];
                const PoolState *ps = &m->pools[i];
                const PoolBudget *pb = &b->pools[i];
                const CgStat *s = &ps->stat;
                bool have = ps->stat_error == 0 && ps->have_base;
                uint64_t target = manager_pool_target(m, i);
                char numa[NODESET_FMT_MAX + 16];
                json_object *p = json_object_new_object(), *ev = json_object_new_object();

                json_add(p, "name", json_object_new_string(pc->name));
                json_add(p, "kind", json_object_new_string(pool_kind_to_string(pc->kind)));
                json_add(p, "priority", json_object_new_int(pc->priority));
                json_add(p, "weight", json_object_new_int((int) pc->weight));
                json_add(p, "min", json_object_new_uint64(pb->min));
                json_add(p, "target", json_object_new_uint64(target));
                json_add(p, "planned_target", json_object_new_uint64(pb->target));
                json_add(p, "max", json_object_new_uint64(pb->max));
                json_add(p, "numa", json_object_new_string(numa_policy_format(&pc->numa, numa)));
                json_add(p, "hugepages", json_object_new_boolean(pc->hugepages));
                json_add(p, "path", json_object_new_string(ps->path));
                json_add(p, "used", json_u64_or_null(have, s->current));
                json_add(p, "peak", json_u64_or_null(have, ps->peak));
                json_add(p, "members", json_u64_or_null(have && (s->have & CGSTAT_HAVE_PROCS), s->nr_procs));
                json_add(ev, "high", json_u64_or_null(have && (s->have & CGSTAT_HAVE_EVENTS_HIGH), s->events_high - ps->base_high));
                json_add(ev, "max", json_u64_or_null(have && (s->have & CGSTAT_HAVE_EVENTS_MAX), s->events_max - ps->base_max));
                json_add(ev, "oom", json_u64_or_null(have && (s->have & CGSTAT_HAVE_EVENTS_OOM), s->events_oom - ps->base_oom));
                json_add(ev, "oom_kill", json_u64_or_null(have && (s->have & CGSTAT_HAVE_EVENTS_OOM_KILL),
                                                          s->events_oom_kill - ps->base_oom_kill));
                json_add(p, "events", ev);
                pressure_pool_status_json(m->pressure, i, p);
                PagesPoolStats as;
                json_object *arena = NULL;
                if (m->pages && pages_stats(m->pages, pc->name, &as) >= 0 && (as.processes > 0 || as.charged > 0)) {
                        arena = json_object_new_object();
                        json_add(arena, "charged", json_object_new_uint64(as.charged));
                        json_add(arena, "allocated", json_object_new_uint64(as.allocated));
                        json_add(arena, "active", json_object_new_uint64(as.active));
                        json_add(arena, "resident", json_object_new_uint64(as.resident));
                        json_add(arena, "peak", json_object_new_uint64(as.peak));
                        json_add(arena, "processes", json_object_new_uint64(as.processes));
                        json_add(arena, "commit_failures", json_object_new_uint64(as.commit_failures));
                }
                json_add(p, "arena", arena);
                json_add(p, "error", ps->apply_error ? json_object_new_string(strerror(-ps->apply_error)) :
                                     ps->stat_error ? json_object_new_string(strerror(-ps->stat_error)) : NULL);
                json_object_array_add(pools, p);

                if (ps->apply_error)
                        json_object_array_add(warnings, jstrf(
                                "pool %s: limits not applied: %s", pc->name, strerror(-ps->apply_error)));
                if (have && pb->max > 0 && s->current >= pb->max - pb->max / 100)
                        json_object_array_add(warnings, jstrf(
                                "pool %s is at its Max (%s of %s)", pc->name, size_format_human(s->current, buf),
                                size_format_human(pb->max, buf2)));
                if (have && (s->events_oom_kill > ps->base_oom_kill || s->events_oom > ps->base_oom))
                        json_object_array_add(warnings, jstrf(
                                "pool %s had %" PRIu64 " OOM events since poold started", pc->name,
                                MAX(s->events_oom - ps->base_oom, s->events_oom_kill - ps->base_oom_kill)));
        }
        json_add(o, "pools", pools);

        for (size_t i = 0; m->orphans && m->orphans[i]; i++) {
                json_object *p = json_object_new_object();
                _cleanup_free_ char *path = NULL;
                CgStat s = CGSTAT_INIT;
                json_add(p, "name", json_object_new_string(m->orphans[i]));
                bool have = cgroup_driver_pool_path(m->driver, m->orphans[i], &path) >= 0 &&
                            cgstat_read_mask(path, CGSTAT_READ_LIMITS | CGSTAT_READ_PROCS, &s) >= 0;
                json_add(p, "used", json_u64_or_null(have, have ? s.current : 0));
                json_add(p, "members", json_u64_or_null(have && (s.have & CGSTAT_HAVE_PROCS), have ? s.nr_procs : 0));
                json_add(p, "max", json_u64_or_null(have && (s.have & CGSTAT_HAVE_MAX), have ? s.max : 0));
                json_object_array_add(orphans, p);
                json_object_array_add(warnings, jstrf(
                        "pool %s is not configured (orphaned): its limits stay as they were", m->orphans[i]));
        }
        json_add(o, "orphans", orphans);
        if (m->last_reload_error)
                json_object_array_add(warnings, json_object_new_string(
                        "the last reload failed: the configuration in force is the one before it"));
        if (pressure_exhausted(m->pressure))
                json_object_array_add(warnings, json_object_new_string(
                        "memory exhausted: every pool is at its Min and the pressure remains (left to the kernel)"));
        if (m->pressure) {
                json_object *pr = NULL;
                if (pressure_status_json(m->pressure, &pr) >= 0)
                        json_add(o, "pressure", pr);
        }
        json_add(o, "warnings", warnings);
        *ret = o;
        return 0;
}

/* --- control verbs --- */

static int verb_status(ControlRequest *req _unused_, json_object *args, void *userdata, json_object **ret_result,
                       ProtocolError *ret_error) {
        Manager *m = userdata;
        static const char *const allowed[] = { NULL };
        int r = protocol_check_fields(args, allowed, ret_error);
        if (r < 0)
                return r;
        /* Fresh figures: a process attached a moment ago is counted. What
         * status shows (usage, events, peak, members) and no more: memory.stat
         * and the limits are not shown, and v1's memory.stat sums the whole
         * subtree on every read (64 pools: 5.1 -> 3.6 ms of poold's CPU per
         * request). Start and reload read everything (adoption needs the
         * limits). */
        (void) manager_read_stats(m, CGSTAT_READ_TICK | CGSTAT_READ_PEAK | CGSTAT_READ_PROCS);
        return manager_status_json(m, ret_result);
}

static int diag_to_error(const Diag *d, int r, ProtocolError *ret_error) {
        char msg[PROTOCOL_MESSAGE_MAX] = "";
        size_t len = 0;
        for (size_t i = 0; i < d->n && len < sizeof msg - 1; i++)
                len += (size_t) snprintf(msg + len, sizeof msg - len, "%s%s", i ? "; " : "", d->messages[i]);
        return protocol_error_set(ret_error, protocol_error_code_from_errno(r), "%s", d->n ? msg : strerror(-r));
}

static int verb_reload(ControlRequest *req _unused_, json_object *args, void *userdata, json_object **ret_result,
                       ProtocolError *ret_error) {
        Manager *m = userdata;
        static const char *const allowed[] = { NULL };
        Diag d = {};
        int r = protocol_check_fields(args, allowed, ret_error);
        if (r < 0)
                return r;
        r = manager_reload(m, &d);
        if (r < 0) {
                r = diag_to_error(&d, r, ret_error);
                diag_done(&d);
                return r;
        }
        diag_done(&d);
        *ret_result = json_object_new_object();
        json_add(*ret_result, "pools", json_object_new_int((int) m->config->n_pools));
        return 0;
}

static int verb_set(ControlRequest *req _unused_, json_object *args, void *userdata, json_object **ret_result,
                    ProtocolError *ret_error) {
        Manager *m = userdata;
        static const char *const allowed[] = { "pool", "field", "size", NULL };
        const char *pool, *field;
        uint64_t size;
        Diag d = {};
        int r;

        if ((r = protocol_check_fields(args, allowed, ret_error)) < 0 ||
            (r = protocol_get_string(args, "pool", true, &pool, ret_error)) < 0 ||
            (r = protocol_get_string(args, "field", true, &field, ret_error)) < 0 ||
            (r = protocol_get_uint64(args, "size", true, &size, ret_error)) < 0)
                return r;
        if (!protocol_pool_name_is_valid(pool))
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID, "bad pool name '%s'", pool);
        r = manager_set(m, pool, field, size, &d);
        if (r < 0) {
                r = diag_to_error(&d, r, ret_error);
                diag_done(&d);
                return r;
        }
        diag_done(&d);
        *ret_result = NULL;
        return 0;
}

static int verb_attach(ControlRequest *req _unused_, json_object *args, void *userdata, json_object **ret_result,
                       ProtocolError *ret_error) {
        Manager *m = userdata;
        static const char *const allowed[] = { "pool", "pid", NULL };
        const char *pool;
        int64_t pid;
        int r;

        if ((r = protocol_check_fields(args, allowed, ret_error)) < 0 ||
            (r = protocol_get_string(args, "pool", true, &pool, ret_error)) < 0 ||
            (r = protocol_get_int64(args, "pid", true, &pid, ret_error)) < 0)
                return r;
        if (pid <= 0 || pid > INT32_MAX)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID, "bad pid %" PRId64, pid);
        if (!protocol_pool_name_is_valid(pool) || manager_find_pool(m, pool) < 0)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_NOT_FOUND, "no pool named '%s'", pool);
        r = cgroup_driver_attach(m->driver, pool, (pid_t) pid);
        if (r < 0) {
                log_warning_errno(r, "pool %s: cannot attach process %" PRId64, pool, pid);
                return protocol_error_set(ret_error,
                                          r == -ESRCH ? PROTOCOL_ERROR_NOT_FOUND : protocol_error_code_from_errno(r),
                                          "cannot attach process %" PRId64 " to pool %s: %s", pid, pool,
                                          strerror(-r));
        }
        log_info("pool %s: process %" PRId64 " attached", pool, pid);
        *ret_result = NULL;
        return 0;
}

/* Topics there are: "events" and "pool/NAME" of a configured pool. A
 * subscription to a pool a later reload drops stays, and hears nothing. */
static int manager_topic_check(const char *topic, const Peer *peer _unused_, void *userdata,
                               ProtocolError *ret_error) {
        Manager *m = userdata;
        if (strcmp(topic, "events") == 0)
                return 0;
        if (strncmp(topic, "pool/", 5) == 0) {
                if (manager_find_pool(m, topic + 5) >= 0)
                        return 0;
                return protocol_error_set(ret_error, PROTOCOL_ERROR_NOT_FOUND, "no pool named '%s'", topic + 5);
        }
        return protocol_error_set(ret_error, PROTOCOL_ERROR_NOT_FOUND, "no topic '%s' (events, pool/NAME)", topic);
}

/* --- signals --- */

static int manager_on_sighup(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_, void *userdata) {
        Diag d = {};
        (void) manager_reload(userdata, &d);
        diag_done(&d);
        return 0;
}

static int manager_on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        m->state = "stopping";
        (void) sd_notify(false, "STOPPING=1");
        log_info("signal %s: stopping, the pools' limits stay in force", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int manager_start(Manager *m) {
        _cleanup_(config_freep) Config *c = NULL;
        Budget b = {};
        TotalSource source;
        Diag d = {};
        int r;

        r = numa_topology_read(&m->topo);
        if (r == -EOPNOTSUPP)
                log_debug("NUMA is not available, per-node checks skipped");
        else if (r < 0)
                return log_error_errno(r, "cannot read the NUMA nodes");

        r = manager_load(m, &c, &b, &source, &d);
        if (r < 0) {
                log_error("%s: cannot start:", m->config_path);
                manager_log_diag(&d);
                diag_done(&d);
                return r;
        }

        r = cgroup_driver_open(c->host.driver, c->host.cgroup_root, &m->driver);
        if (r < 0) {
                budget_done(&b);
                return log_error_errno(r, "cannot open the %s cgroup driver%s%s",
                                       cgroup_driver_to_string(c->host.driver),
                                       c->host.cgroup_root ? " at " : "",
                                       c->host.cgroup_root ? c->host.cgroup_root : "");
        }
        /* Pools never live in poold's own cgroup: stopping or killing the
         * service would take their members with it (PITFALLS.md). Possible
         * only with CgroupRoot= under poold's cgroup. */
        _cleanup_free_ char *own = NULL, *parent = NULL;
        r = cgroup_driver_pools_inside_self(m->driver, NULL, &own);
        if (r > 0) {
                budget_done(&b);
                (void) cgroup_driver_parent_path(m->driver, &parent);
                log_error("%s: the pools' parent %s is inside poold's own cgroup %s: stopping poold would take the "
                          "pools' members with it; set [Host] CgroupRoot= outside it",
                          m->config_path, parent ? parent : "?", own);
                return -EINVAL;
        }
        if (r < 0)
                log_debug_errno(r, "cannot tell which cgroup poold runs in, ignoring");

        r = manager_swap(m, c, &b, source);
        if (r < 0) {
                budget_done(&b);
                return log_error_errno(r, "cannot start");
        }
        TAKE_PTR(c);

        /* What is in force already, read before anything is applied. */
        (void) manager_refresh_stats(m);

        r = control_new(m->event, m->options.socket_path, &m->control);
        if (r < 0)
                return log_error_errno(r, "cannot set up the control socket");

        r = pressure_new(m->event, m->control, m->options.proc_root, &manager_pressure_ops, m, &m->pressure);
        if (r < 0)
                return log_error_errno(r, "cannot set up the pressure controller");
        r = manager_configure_pressure(m);
        if (r < 0)
                return r;
        /* A restarted poold keeps a shrink its predecessor made (the lower
         * memory.high it finds) and lets it grow back after GrowHold, rather
         * than undo it at once and shrink again. */
        for (size_t i = 0; i < m->config->n_pools; i++) {
                const PoolState *ps = &m->pools[i];
                char buf[SIZE_FMT_MAX];
                /* The kernel keeps limits in whole pages: a plan of
                 * 7288397756 reads back as 7288397312. */
                uint64_t planned = manager_planned_target(m, i) & ~(page_size() - 1);
                if (ps->stat_error != 0 || !(ps->stat.have & CGSTAT_HAVE_HIGH) || ps->stat.high >= planned ||
                    ps->stat.high < m->budget.pools[i].min)
                        continue;
                if (pressure_adopt_target(m->pressure, i, ps->stat.high) >= 0)
                        log_info("pool %s: keeps the target %s found in force (shrunk before a restart)",
                                 m->config->pools[i].name, size_format_human(ps->stat.high, buf));
        }

        r = pages_new(&m->pages);
        if (r < 0)
                return log_error_errno(r, "cannot set up the budget pages");
        manager_sync_pages(m);

        r = manager_apply(m);
        if (r < 0)
                log_warning("not every limit could be applied (see above); carrying on");
        if (m->options.privileged_group)
                (void) control_set_privileged_group(m->control, m->options.privileged_group);
        (void) control_set_topic_check(m->control, manager_topic_check, m);
        if ((r = control_register_verb(m->control, "status", 0, verb_status, m)) < 0 ||
            (r = control_register_verb(m->control, "reload", CONTROL_VERB_PRIVILEGED, verb_reload, m)) < 0 ||
            (r = control_register_verb(m->control, "set", CONTROL_VERB_PRIVILEGED, verb_set, m)) < 0 ||
            (r = control_register_verb(m->control, "attach", CONTROL_VERB_PRIVILEGED, verb_attach, m)) < 0 ||
            (r = control_register_verb(m->control, "open", CONTROL_VERB_PRIVILEGED, pages_verb_open, m->pages)) < 0 ||
            (r = pressure_register_verbs(m->pressure, m->control)) < 0)
                return log_error_errno(r, "cannot register the control verbs");
        r = control_start(m->control);
        if (r < 0)
                return log_error_errno(r, "cannot listen on %s", control_get_path(m->control));

        if (!m->options.no_signals) {
                sigset_t ss;
                sigemptyset(&ss);
                sigaddset(&ss, SIGHUP);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                /* sd-event takes signals through a signalfd: they must be blocked. */
                if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                        return log_error_errno(errno, "cannot block signals");
                if ((r = sd_event_add_signal(m->event, NULL, SIGHUP, manager_on_sighup, m)) < 0 ||
                    (r = sd_event_add_signal(m->event, NULL, SIGTERM, manager_on_sigterm, m)) < 0 ||
                    (r = sd_event_add_signal(m->event, NULL, SIGINT, manager_on_sigterm, m)) < 0)
                        return log_error_errno(r, "cannot handle signals");
        }

        _cleanup_free_ char **paths = manager_paths(m);
        if (!paths)
                return log_error_errno(-ENOMEM, "cannot start the pressure controller");
        r = pressure_start(m->pressure, paths);
        if (r < 0)
                return log_error_errno(r, "cannot start the pressure controller");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "cannot set up the watchdog, ignoring");

        m->state = "running";
        log_info("%zu pools, %zu reserves, driver %s (cgroup v%d), listening on %s", m->config->n_pools,
                 m->config->n_reserves, cgroup_driver_name(m->driver), (int) cgroup_driver_version(m->driver),
                 control_get_path(m->control));
        manager_notify_status(m);
        (void) sd_notify(false, "READY=1");
        return 0;
}
