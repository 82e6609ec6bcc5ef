/* SPDX-License-Identifier: MIT */
#pragma once

/* The host's NUMA nodes and their RAM, read through libnuma, and the host
 * figures the budget is computed against. libnuma stays behind this file:
 * nothing else includes <numa.h> for topology. (Not named numa.h: with
 * -I pools that would shadow libnuma's own <numa.h> for every file.) */

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "meminfo.h"

typedef struct NumaTopology {
        size_t n_nodes;      /* highest node id + 1; 0: NUMA unavailable */
        uint64_t *node_size; /* n_nodes entries, indexed by node id; 0 for a
                              * memoryless (CPU-only) or absent node id */
        size_t n_memory;     /* nodes with memory */
} NumaTopology;

/* Reads the node sizes (numa_node_size64()) of every node id up to
 * numa_max_node(). Returns 0; -EOPNOTSUPP if numa_available() says the kernel
 * or sandbox has no NUMA support (RET then has no nodes, which the budget
 * treats as "unknown"); -ENOMEM. */
int numa_topology_read(NumaTopology *ret);

/* Equal nodes for planning another machine: N nodes of TOTAL / N, the
 * remainder of the division given one byte each to the first nodes so the
 * sizes sum to TOTAL. N == 0 gives no nodes. Returns 0, -ENOMEM. */
int numa_topology_equal(uint64_t total, size_t n, NumaTopology *ret);

/* Frees what the functions above allocated; T may be reused afterwards. */
void numa_topology_done(NumaTopology *t);

/* Fills the host figures: TOTAL (the caller's choice: MemTotal or a planned
 * figure) and the nodes of T (none if T is NULL or has no node with memory).
 * RET points into T, which must outlive it. Pure. */
void numa_topology_host_facts(const NumaTopology *t, uint64_t total, HostFacts *ret);

/* As numa_topology_host_facts() with MemTotal of M as the total. */
void numa_topology_host_facts_meminfo(const NumaTopology *t, const MemInfo *m, HostFacts *ret);
