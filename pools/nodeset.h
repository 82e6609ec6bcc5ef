/* SPDX-License-Identifier: MIT */
#pragma once

/* Sets of NUMA nodes, written as numactl writes them ("0-3,7"). Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libnuma's own limit on x86-64 kernels (CONFIG_NODES_SHIFT=10). */
#define NODESET_MAX 1024

typedef struct NodeSet {
        uint64_t bits[NODESET_MAX / 64];
} NodeSet;

/* Longest string nodeset_format() writes for sets it is given in practice;
 * longer ones are cut with "...". */
#define NODESET_FMT_MAX 256

/* Parses "0", "0-3", "0-3,7", "1,3-5". Returns 0, -EINVAL on bad syntax or
 * an empty set, -ERANGE for a node >= NODESET_MAX or a reversed range. */
int nodeset_parse(const char *s, NodeSet *ret);

void nodeset_clear(NodeSet *s);
void nodeset_add(NodeSet *s, unsigned node);
bool nodeset_has(const NodeSet *s, unsigned node);
unsigned nodeset_count(const NodeSet *s);
bool nodeset_is_empty(const NodeSet *s);
bool nodeset_is_subset(const NodeSet *a, const NodeSet *b); /* a ⊆ b */
bool nodeset_equal(const NodeSet *a, const NodeSet *b);
/* Returns the highest node in S, or -1 for an empty set. */
int nodeset_last(const NodeSet *s);

/* Writes the canonical form ("0-3,7"). Returns BUF. */
char *nodeset_format(const NodeSet *s, char buf[static NODESET_FMT_MAX]);

/* The canonical form, never cut (for writing configs back). Returns 0 or
 * -ENOMEM; *RET is to be freed. */
int nodeset_to_string(const NodeSet *s, char **ret);
