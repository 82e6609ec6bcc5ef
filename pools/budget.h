/* SPDX-License-Identifier: MIT */
#pragma once

/* The budget, reserve first: total - reserves - slack = poolable; every pool
 * gets its Min, the rest is shared by Weight and capped at Max
 * (water-filling). Pure: takes a Config and the host's figures, touches no
 * file or clock. Every byte is accounted:
 *   total == reserved + slack + assigned + unassigned. */

#include <stdint.h>

#include "config.h"
#include "diag.h"

typedef struct HostFacts {
        uint64_t total;            /* MemTotal, or Total= / --total for a plan; 0: take Config's Total= */
        size_t n_nodes;            /* 0: unknown, per-node checks skipped */
        const uint64_t *node_total; /* n_nodes sizes; their sum need not be total */
} HostFacts;

typedef struct PoolBudget {
        uint64_t min;    /* resolved Min; for a fixed pool its size */
        uint64_t max;    /* resolved Max, capped at poolable */
        uint64_t target; /* planned size: Min <= target <= Max */
} PoolBudget;

typedef struct NodeBudget {
        uint64_t total;     /* the node's RAM */
        uint64_t poolable;  /* its share of poolable, in proportion to its RAM */
        uint64_t bound_min; /* Min of the pools bound to it (NUMA=bind: only), as placed */
} NodeBudget;

typedef struct Budget {
        uint64_t total;
        uint64_t reserved;   /* sum of reserves */
        uint64_t slack;
        uint64_t poolable;   /* total - reserved - slack */
        uint64_t min_sum;    /* sum of Min over cache and working pools */
        uint64_t fixed_sum;  /* sum of fixed pools' sizes */
        uint64_t assigned;   /* sum of every pool's target (fixed ones included) */
        uint64_t unassigned; /* poolable - assigned: what no pool can take (all at Max) */
        size_t n_reserves;
        uint64_t *reserves;  /* bytes, in Config order */
        size_t n_pools;
        PoolBudget *pools;   /* in Config order */
        size_t n_nodes;
        NodeBudget *nodes;
} Budget;

/* Computes the budget of C on host H. An impossible budget (reserves and
 * slack over total; sum of Min and fixed pools over poolable; a resolved Min
 * over its Max; bound pools that cannot fit their nodes) adds messages that
 * print the failing arithmetic to DIAG and returns -EINVAL with RET left
 * empty. Percentages are of total. Per-node checks run when H->n_nodes > 0:
 * each node offers poolable in proportion to its RAM, and the Mins (and
 * fixed sizes) of NUMA=bind: pools must fit their nodes (an exact max-flow
 * check); preferred: and interleave: do not bind (the kernel falls back to
 * other nodes). Returns 0, -EINVAL, -ENOMEM. */
int budget_compute(const Config *c, const HostFacts *h, Budget *ret, Diag *diag);

/* Frees what budget_compute() allocated; B may be reused afterwards. */
void budget_done(Budget *b);

/* Water-filling: gives each of N items its MIN, then shares what is left of
 * AMOUNT by WEIGHT, never above MAX; what a capped item cannot take goes to
 * the others; remainders of the integer division go out one byte at a time in
 * index order, so the result is exact and deterministic. Requires sum(MIN) <=
 * AMOUNT and MIN[i] <= MAX[i]. Writes RET_TARGET and returns the bytes no item
 * could take (0 unless every item is at MAX). Used by the budget and by the
 * pressure controller when it grows pools back. */
uint64_t budget_fill(size_t n, const uint64_t *min, const uint64_t *max, const uint32_t *weight,
                     uint64_t amount, uint64_t *ret_target);
