/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "budget.h"
#include "checkcmd.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "meminfo.h"
#include "numa-topology.h"
#include "report.h"

/* Prints the errors collected in D, as a table of lines or as JSON. */
static int checkcmd_fail(const CheckOptions *o, Diag *d, FILE *out, FILE *err) {
        if (o->json) {
                json_object *j = NULL;
                if (report_errors_to_json(d, &j) >= 0) {
                        (void) report_print_json(j, out);
                        json_object_put(j);
                } else
                        diag_print(d, err, o->error_prefix);
        } else
                diag_print(d, err, o->error_prefix);
        return EXIT_INVALID;
}

int checkcmd_run(const CheckOptions *o, FILE *out, FILE *err) {
        const char *path = o->config_path ? o->config_path : POOLD_CONFIG_PATH;
        _cleanup_(config_freep) Config *c = NULL;
        NumaTopology topo = {};
        Budget b = {};
        Diag d = {};
        int ret = EXIT_INVALID, r;

        /* NUMA= lists are checked against the nodes of the machine planned
         * for: --nodes for a plan, this host's otherwise, and not at all when
         * the file sets Total= (then checked below: it plans for a figure
         * that need not be this machine). */
        if (o->plan)
                r = numa_topology_equal(o->plan_total, o->plan_nodes, &topo);
        else {
                r = numa_topology_read(&topo);
                if (r == -EOPNOTSUPP) {
                        log_debug("NUMA is not available, per-node checks skipped");
                        r = 0;
                }
        }
        if (r < 0) {
                (void) diag_add(&d, "cannot read the NUMA nodes: %s", strerror(-r));
                goto fail;
        }

        r = config_load(path, o->plan ? (unsigned) topo.n_nodes : 0, &c, &d);
        if (r < 0) {
                if (d.n == 0)
                        (void) diag_add(&d, "%s: %s", path, strerror(-r));
                goto fail;
        }

        TotalSource total_source;
        uint64_t total;
        bool host_nodes;
        if (o->plan) {
                total_source = TOTAL_SOURCE_OPTION;
                total = o->plan_total;
                host_nodes = false;
        } else if (c->host.total > 0) {
                total_source = TOTAL_SOURCE_CONFIG;
                total = c->host.total;
                host_nodes = false;
        } else {
                MemInfo m;
                r = meminfo_read(o->proc_root, &m);
                if (r < 0) {
                        (void) diag_add(&d, "%s/meminfo: cannot read MemTotal: %s",
                                        o->proc_root ? o->proc_root : "/proc", strerror(-r));
                        goto fail;
                }
                total_source = TOTAL_SOURCE_MEMINFO;
                total = m.total;
                host_nodes = true;
                if (topo.n_nodes > 0 && config_validate(c, (unsigned) topo.n_nodes, &d) < 0)
                        goto fail;
        }

        HostFacts h;
        numa_topology_host_facts((o->plan || host_nodes) ? &topo : NULL, total, &h);

        r = budget_compute(c, &h, &b, &d);
        if (r < 0) {
                if (d.n == 0)
                        (void) diag_add(&d, "%s: cannot compute the budget: %s", path, strerror(-r));
                goto fail;
        }

        Report rep = {
                .config = c,
                .budget = &b,
                .total_source = total_source,
                .nodes_source = h.n_nodes == 0 ? NODES_SOURCE_NONE :
                                o->plan ? NODES_SOURCE_OPTION : NODES_SOURCE_HOST,
        };
        if (o->quiet)
                r = 0;
        else if (o->json) {
                json_object *j = NULL;
                r = report_to_json(&rep, &j);
                if (r >= 0) {
                        r = report_print_json(j, out);
                        json_object_put(j);
                }
        } else {
                config_dump(c, out);
                fputc('\n', out);
                r = report_print_table(&rep, out);
                if (r >= 0 && fflush(out) != 0)
                        r = -EIO;
        }
        if (r < 0) {
                (void) diag_add(&d, "cannot print the report: %s", strerror(-r));
                /* Part of the report may already be out: say so on ERR
                 * only, never a second document on OUT. */
                diag_print(&d, err, o->error_prefix);
                goto done;
        }
        ret = 0;
        goto done;

fail:
        ret = checkcmd_fail(o, &d, out, err);
done:
        budget_done(&b);
        numa_topology_done(&topo);
        diag_done(&d);
        return ret;
}
