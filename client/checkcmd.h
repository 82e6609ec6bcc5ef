/* SPDX-License-Identifier: MIT */
#pragma once

/* The one path behind `poolctl check`, `poolctl plan` and
 * `poold --check-config`: load the configuration, gather the host figures,
 * compute the budget, render it. Both mains call checkcmd_run(); neither has
 * its own copy. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* SYSCONFDIR comes from the Makefile (-DSYSCONFDIR=...). */
#define POOLD_CONFIG_PATH SYSCONFDIR "/poold/poold.conf"

/* Exit statuses of poolctl(8) and `poold --check-config`. 3 and 4 are kept
 * for the verbs that talk to the daemon. */
#define EXIT_INVALID 1         /* invalid config, refused budget, or cannot check */
#define EXIT_USAGE 2           /* bad command line */
#define EXIT_NOT_RUNNING 3     /* the daemon is not running */
#define EXIT_PERMISSION 4      /* permission denied by the daemon */

typedef struct CheckOptions {
        const char *config_path; /* NULL: POOLD_CONFIG_PATH */
        bool json;               /* JSON document instead of the table */
        bool quiet;              /* nothing on OUT; errors still on ERR (not with JSON) */
        const char *error_prefix; /* before each line on ERR: poold gives "<3>" for
                                   * journald when stderr is not a terminal; NULL: none */
        bool plan;               /* plan another machine: total and nodes below */
        uint64_t plan_total;     /* plan: --total, overrides Total= */
        unsigned plan_nodes;     /* plan: --nodes N equal nodes; 0: unknown */
        const char *proc_root;   /* NULL: "/proc" (for MemTotal) */
} CheckOptions;

/* Checks the configuration and prints the normalized configuration and the
 * budget table (or the JSON document; or nothing with QUIET) to OUT. Errors go to ERR, one a line,
 * "FILE:LINE: ..." as the config and budget report them; with JSON they go
 * to OUT as {"valid": false, "errors": [...]} instead.
 * Host figures: total from --total (plan), else [Host] Total=, else MemTotal
 * of PROC_ROOT/meminfo; nodes from --nodes (plan), else libnuma when the
 * total is this host's own (none when Total= is set: that total is not this
 * machine's). Returns the exit status: 0 valid, EXIT_INVALID. */
int checkcmd_run(const CheckOptions *o, FILE *out, FILE *err);
