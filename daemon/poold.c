/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "checkcmd.h"
#include "control.h"
#include "log.h"
#include "manager.h"

/* Everything the command line sets; main() acts on it after parsing, so a
 * new option is one field, one getopt case and one line of --help. */
typedef struct Args {
        const char *config_path; /* NULL: POOLD_CONFIG_PATH */
        bool check_config;
        bool json;
        bool quiet;
        const char *socket_path; /* NULL: the default (or socket activation) */
} Args;

static void help(FILE *out) {
        fprintf(out,
                "Usage: poold [OPTIONS]\n"
                "\n"
                "Host-RAM pool manager.\n"
                "\n"
                "  -c, --config FILE   configuration file (default: %s)\n"
                "      --check-config  check the configuration, print it normalized with its\n"
                "                      budget and exit: 0 valid, 1 invalid, 2 usage\n"
                "      --json          with --check-config: one JSON document\n"
                "  -q, --quiet         with --check-config: print errors only (for ExecStartPre=)\n"
                "      --socket PATH   control socket (default: %s)\n"
                "  -h, --help          show this help\n"
                "      --version       show the version\n"
                "\n"
                "Without --check-config, runs the daemon in the foreground (SIGHUP reloads,\n"
                "SIGTERM stops and leaves the pools' limits in force).\n"
                "\n"
                "See poold(8).\n",
                POOLD_CONFIG_PATH, CONTROL_SOCKET_PATH);
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version), or
 * -EINVAL after printing what is wrong with the command line. */
static int parse_argv(int argc, char *argv[], Args *args) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CHECK_CONFIG,
                ARG_JSON,
                ARG_SOCKET,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "json", no_argument, NULL, ARG_JSON },
                { "quiet", no_argument, NULL, 'q' },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:qh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        args->config_path = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        args->check_config = true;
                        break;
                case ARG_JSON:
                        args->json = true;
                        break;
                case 'q':
                        args->quiet = true;
                        break;
                case ARG_SOCKET:
                        args->socket_path = optarg;
                        break;
                case 'h':
                        help(stdout);
                        return 0;
                case ARG_VERSION:
                        printf("poold %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        /* getopt has printed what is wrong. */
                        return -EINVAL;
                }

        if (optind < argc) {
                fprintf(stderr, "poold: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if ((args->json || args->quiet) && !args->check_config) {
                fprintf(stderr, "poold: --%s needs --check-config\n", args->json ? "json" : "quiet");
                return -EINVAL;
        }
        if (args->json && args->quiet) {
                fprintf(stderr, "poold: --json and --quiet exclude each other\n");
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        Args args = {};

        log_set_ident("poold");

        int r = parse_argv(argc, argv, &args);
        if (r <= 0) {
                if (r < 0)
                        fprintf(stderr, "Try 'poold --help'.\n");
                return r < 0 ? EXIT_USAGE : 0;
        }

        if (args.check_config) {
                CheckOptions o = {
                        .config_path = args.config_path,
                        .json = args.json,
                        .quiet = args.quiet,
                        /* Errors at error level in the journal (ExecStartPre=),
                         * as log.c marks its own lines. */
                        .error_prefix = isatty(STDERR_FILENO) ? NULL : "<3>",
                };
                return checkcmd_run(&o, stdout, stderr);
        }

        ManagerOptions mo = {
                .config_path = args.config_path,
                .socket_path = args.socket_path,
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        r = manager_new(&mo, &m);
        if (r < 0) {
                log_error_errno(r, "cannot start");
                return EXIT_FAILURE;
        }
        r = manager_start(m);
        if (r < 0) {
                /* manager_start() has said why. */
                (void) sd_notifyf(false, "STATUS=failed to start: %s\nERRNO=%d", strerror(-r), -r);
                return EXIT_FAILURE;
        }
        r = sd_event_loop(manager_get_event(m));
        if (r < 0) {
                log_error_errno(r, "event loop failed");
                return EXIT_FAILURE;
        }
        return 0;
}
