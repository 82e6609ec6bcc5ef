/* SPDX-License-Identifier: MIT */
#pragma once

/* Renders a Config and its Budget for operators (an aligned table with a RAM
 * layout bar) and for machines (JSON, every figure an integer in bytes).
 * Pure: takes values and a FILE*, reads no file, clock or global. Used by
 * `poolctl check`, `poolctl plan` and `poold --check-config`. */

#include <stdio.h>

#include <json-c/json_object.h>

#include "budget.h"
#include "config.h"
#include "diag.h"

/* Where the total came from, printed in the header and in the JSON. */
typedef enum TotalSource {
        TOTAL_SOURCE_MEMINFO, /* MemTotal of this host */
        TOTAL_SOURCE_CONFIG,  /* [Host] Total= */
        TOTAL_SOURCE_OPTION,  /* --total of `poolctl plan` */
        _TOTAL_SOURCE_MAX,
} TotalSource;

/* Where the NUMA nodes came from. */
typedef enum NodesSource {
        NODES_SOURCE_NONE,   /* unknown: per-node checks skipped */
        NODES_SOURCE_HOST,   /* this host, through libnuma */
        NODES_SOURCE_OPTION, /* --nodes N of `poolctl plan`: N equal nodes */
        _NODES_SOURCE_MAX,
} NodesSource;

typedef struct Report {
        const Config *config;
        const Budget *budget; /* computed from config */
        TotalSource total_source;
        NodesSource nodes_source;
} Report;

/* Columns of the RAM layout bar. */
#define REPORT_BAR_WIDTH 64

/* "Total=", "MemTotal", "--total"; NULL for an out-of-range value. */
const char *total_source_to_string(TotalSource s);
/* "none", "libnuma", "--nodes"; NULL for an out-of-range value. */
const char *nodes_source_to_string(NodesSource s);

/* Writes PART / TOTAL as a percentage with two decimals, rounded half up
 * ("21.48%", "100.00%"); "-" when TOTAL is 0. Returns BUF. */
char *report_percent_format(uint64_t part, uint64_t total, char buf[static 16]);

/* Prints the budget table: header (files, total and its source, nodes), one
 * row per reserve, the slack, one per pool, unassigned and TOTAL (the rows
 * sum to total to the byte), per-node rows when nodes are known, and the RAM
 * layout bar with its legend. Returns 0, or -EINVAL if R->budget does not
 * have as many reserves and pools as R->config. */
int report_print_table(const Report *r, FILE *out);

/* Writes the RAM layout bar: REPORT_BAR_WIDTH symbols, one per column, for
 * the reserves, the slack, the pools and what is unassigned, each segment as
 * wide as its share (cumulative rounding, so the widths sum to the bar), into
 * BUF (NUL-terminated). Returns 0 or -EINVAL as report_print_table(). */
int report_bar(const Report *r, char buf[static REPORT_BAR_WIDTH + 1]);

/* The normalized configuration as JSON (keys as in poold.conf, sizes as
 * written, Total= in bytes or null). Returns 0 or -ENOMEM. */
int report_config_to_json(const Config *c, json_object **ret);

/* The budget as JSON, every figure an integer in bytes. Returns 0, -EINVAL
 * (counts differ, as above), -ENOMEM. */
int report_budget_to_json(const Report *r, json_object **ret);

/* The whole document: {"config": ..., "budget": ..., "valid": true}.
 * Returns 0, -EINVAL, -ENOMEM. */
int report_to_json(const Report *r, json_object **ret);

/* {"valid": false, "errors": ["FILE:LINE: ...", ...]}. Returns 0 or -ENOMEM. */
int report_errors_to_json(const Diag *d, json_object **ret);

/* Prints O as indented JSON with a final newline, '/' left unescaped.
 * Returns 0 or -EIO if writing OUT failed. */
int report_print_json(json_object *o, FILE *out);
