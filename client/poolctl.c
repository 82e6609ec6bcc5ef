/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "poolctl.h"

/* In the order --help lists them. */
static const Verb verbs[] = {
        { "check", "[--config FILE] [--json|--quiet]",
          "check the configuration and print its budget for this host", poolctl_check },
        { "plan", "--total SIZE [--nodes N] [--config FILE] [--json|--quiet]",
          "print the budget for a machine of SIZE with N equal NUMA nodes", poolctl_plan },
        { "status", "[--json] [--socket PATH]",
          "show poold's pools, reserves and warnings", poolctl_status },
        { "reload", "[--socket PATH]",
          "make poold re-read its configuration", poolctl_reload },
        { "set", "--pool NAME target|min|max SIZE [--socket PATH]",
          "change a pool's size until the next reload", poolctl_set },
        { "run", "--pool NAME [--socket PATH] -- CMD [ARGS...]",
          "run CMD inside a pool and return its exit status", poolctl_run },
        { "attach", "--pool NAME PID [--socket PATH]",
          "move a running process into a pool", poolctl_attach },
        { "events", "[--follow] [--json] [--after SEQ] [--limit N] [--socket PATH]",
          "show the pressure controller's decisions (shrink, grow, exhausted)", poolctl_events },
};

int poolctl_usage_error(const char *verb, const char *format, ...) {
        va_list ap;

        if (format) {
                fprintf(stderr, "poolctl%s%s: ", verb ? " " : "", verb ? verb : "");
                va_start(ap, format);
                vfprintf(stderr, format, ap);
                va_end(ap);
                fputc('\n', stderr);
        }
        fprintf(stderr, "Try 'poolctl%s%s --help'.\n", verb ? " " : "", verb ? verb : "");
        return EXIT_USAGE;
}

static void poolctl_help(FILE *out) {
        int width = 0;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                width = MAX(width, (int) strlen(verbs[i].name));

        fprintf(out,
                "Usage: poolctl [--help] [--version] VERB [ARGS...]\n"
                "\n"
                "Inspect and plan poold's host-RAM pools.\n"
                "\n"
                "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(out, "  %-*s  %s\n  %-*s  %s\n", width, verbs[i].name, verbs[i].help, width, "",
                        verbs[i].args);
        fprintf(out,
                "\n"
                "Options:\n"
                "  -h, --help     show this help\n"
                "      --version  show the version\n"
                "\n"
                "Exit status: 0 ok, 1 invalid configuration or refused budget, 2 usage,\n"
                "3 poold not running, 4 permission denied (run: the command's status).\n"
                "See poolctl(8).\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        log_set_ident("poolctl");
        /* A command for people and scripts, not a service: no "<3>" prefixes
         * when its stderr is a pipe. */
        log_set_prefix(0);

        /* '+': stop at the verb, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        poolctl_help(stdout);
                        return 0;
                case ARG_VERSION:
                        printf("poolctl %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return poolctl_usage_error(NULL, NULL); /* getopt has said what */
                }

        if (optind >= argc)
                return poolctl_usage_error(NULL, "missing verb");

        const char *name = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (strcmp(verbs[i].name, name) != 0)
                        continue;

                /* argv[0] of the verb names it, so that getopt's own
                 * messages read "poolctl check: unrecognized option". */
                _cleanup_free_ char *arg0 = NULL;
                if (asprintf(&arg0, "poolctl %s", name) < 0) {
                        log_error_errno(ENOMEM, "cannot start");
                        return EXIT_INVALID;
                }
                char **vargv = argv + optind;
                vargv[0] = arg0;
                optind = 0; /* glibc: 0 restarts getopt's scan, state included */
                return verbs[i].run(argc - (int) (vargv - argv), vargv);
        }
        return poolctl_usage_error(NULL, "unknown verb '%s'", name);
}
