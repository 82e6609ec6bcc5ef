/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <numa.h>
#include <stdlib.h>

#include "log.h"
#include "numa-topology.h"

int numa_topology_read(NumaTopology *ret) {
        *ret = (NumaTopology) {};

        /* -1 without the set_mempolicy/get_mempolicy syscalls: non-NUMA
         * kernels, and sandboxes (seccomp, gVisor) that refuse them. */
        if (numa_available() < 0)
                return -EOPNOTSUPP;

        int max = numa_max_node();
        if (max < 0)
                return -EOPNOTSUPP;

        uint64_t *size = calloc((size_t) max + 1, sizeof *size);
        if (!size)
                return -ENOMEM;

        size_t n_memory = 0;
        for (int node = 0; node <= max; node++) {
                /* -1 for a node id that is not present (ids may have holes
                 * after hot-remove); 0 for a CPU-only node. Both keep size 0:
                 * nothing can be placed there, and the ids of the nodes after
                 * them must keep their meaning for NUMA= lists. */
                long long s = numa_node_size64(node, NULL);
                if (s <= 0) {
                        log_debug("NUMA node %d: no memory, skipped", node);
                        continue;
                }
                size[node] = (uint64_t) s;
                n_memory++;
        }

        *ret = (NumaTopology) {
                .n_nodes = (size_t) max + 1,
                .node_size = size,
                .n_memory = n_memory,
        };
        return 0;
}

int numa_topology_equal(uint64_t total, size_t n, NumaTopology *ret) {
        *ret = (NumaTopology) {};
        if (n == 0)
                return 0;

        uint64_t *size = calloc(n, sizeof *size);
        if (!size)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                size[i] = total / n + (i < total % n ? 1 : 0);

        *ret = (NumaTopology) {
                .n_nodes = n,
                .node_size = size,
                .n_memory = total / n > 0 ? n : (size_t) (total % n),
        };
        return 0;
}

void numa_topology_done(NumaTopology *t) {
        free(t->node_size);
        *t = (NumaTopology) {};
}

void numa_topology_host_facts(const NumaTopology *t, uint64_t total, HostFacts *ret) {
        bool known = t && t->n_memory > 0;

        *ret = (HostFacts) {
                .total = total,
                .n_nodes = known ? t->n_nodes : 0,
                .node_total = known ? t->node_size : NULL,
        };
}

void numa_topology_host_facts_meminfo(const NumaTopology *t, const MemInfo *m, HostFacts *ret) {
        numa_topology_host_facts(t, m->total, ret);
}
