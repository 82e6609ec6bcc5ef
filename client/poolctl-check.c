/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "checkcmd.h"
#include "nodeset.h"
#include "poolctl.h"
#include "size.h"

enum {
        ARG_CONFIG = 0x100,
        ARG_JSON,
        ARG_TOTAL,
        ARG_NODES,
};

static void check_help(FILE *out, bool plan) {
        if (plan)
                fprintf(out,
                        "Usage: poolctl plan --total SIZE [--nodes N] [--config FILE] [--json|--quiet]\n"
                        "\n"
                        "Print the budget of the configuration for a machine of SIZE RAM (K, M, G, T:\n"
                        "powers of 1024) with N NUMA nodes of equal size; --total overrides Total=.\n");
        else
                fprintf(out,
                        "Usage: poolctl check [--config FILE] [--json|--quiet]\n"
                        "\n"
                        "Check the configuration and print it normalized, with its budget for this\n"
                        "host (MemTotal and the NUMA nodes, or [Host] Total= if set).\n");
        fprintf(out,
                "\n"
                "  -c, --config FILE  configuration file (default: %s)\n"
                "      --json         print one JSON document, every figure in bytes\n"
                "  -q, --quiet        print nothing but errors; the exit status tells\n"
                "%s"
                "  -h, --help         show this help\n"
                "\n"
                "Exit status: 0 valid, 1 invalid or refused, 2 usage.\n",
                POOLD_CONFIG_PATH,
                plan ? "  -t, --total SIZE   RAM of the machine planned for\n"
                       "  -n, --nodes N      its NUMA nodes, all of equal size (default: unknown)\n" : "");
}

/* Node counts as numactl counts them: 1 up to libnuma's limit. */
static int parse_nodes(const char *s, unsigned *ret) {
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || end == s)
                return -EINVAL;
        if (v < 1 || v > NODESET_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static int check_main(int argc, char *argv[], bool plan) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, ARG_JSON },
                { "quiet", no_argument, NULL, 'q' },
                { "total", required_argument, NULL, 't' },
                { "nodes", required_argument, NULL, 'n' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *verb = plan ? "plan" : "check";
        CheckOptions o = { .plan = plan };
        bool have_total = false;
        int c, r;

        while ((c = getopt_long(argc, argv, plan ? "c:qt:n:h" : "c:qh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o.config_path = optarg;
                        break;
                case ARG_JSON:
                        o.json = true;
                        break;
                case 'q':
                        o.quiet = true;
                        break;
                case 't':
                case 'n':
                        if (!plan)
                                return poolctl_usage_error(verb, "--%s is for 'poolctl plan'",
                                                           c == 't' ? "total" : "nodes");
                        if (c == 't') {
                                r = size_parse_bytes(optarg, &o.plan_total);
                                if (r < 0 || o.plan_total == 0)
                                        return poolctl_usage_error(verb, "--total: invalid size '%s'", optarg);
                                have_total = true;
                        } else if (parse_nodes(optarg, &o.plan_nodes) < 0)
                                return poolctl_usage_error(verb, "--nodes: not a node count from 1 to %d: '%s'",
                                                           NODESET_MAX, optarg);
                        break;
                case 'h':
                        check_help(stdout, plan);
                        return 0;
                default:
                        /* getopt has said what is wrong. */
                        return poolctl_usage_error(verb, NULL);
                }

        if (optind < argc)
                return poolctl_usage_error(verb, "unexpected argument '%s'", argv[optind]);
        if (plan && !have_total)
                return poolctl_usage_error(verb, "--total SIZE is required");
        if (o.json && o.quiet)
                return poolctl_usage_error(verb, "--json and --quiet exclude each other");

        return checkcmd_run(&o, stdout, stderr);
}

int poolctl_check(int argc, char *argv[]) {
        return check_main(argc, argv, false);
}

int poolctl_plan(int argc, char *argv[]) {
        return check_main(argc, argv, true);
}
