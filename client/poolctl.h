/* SPDX-License-Identifier: MIT */
#pragma once

/* poolctl: one verb per file (client/poolctl-<verb>.c). A verb is a function
 * that gets its own argv (argv[0] is "poolctl VERB", so getopt's messages
 * name the verb) and returns the exit status. To add one: write the file,
 * declare its function below, add a line to the verbs[] table in poolctl.c,
 * and the file to poolctl_SOURCES in client/poolctl.mk. */

#include "checkcmd.h" /* exit statuses */
#include "macro.h"

typedef struct Verb {
        const char *name;
        const char *args; /* synopsis after the verb, for --help */
        const char *help; /* one line, for --help */
        int (*run)(int argc, char *argv[]);
} Verb;

/* Prints "poolctl VERB: MESSAGE" and a hint to --help on stderr; with a
 * NULL FORMAT only the hint (after getopt has said what is wrong).
 * Returns EXIT_USAGE. */
int poolctl_usage_error(const char *verb, const char *format, ...) _printf_(2, 3);

/* client/poolctl-check.c. Return exit statuses. */
int poolctl_check(int argc, char *argv[]);
int poolctl_plan(int argc, char *argv[]);

/* client/poolctl-ctl.c: the verbs that talk to poold. Exit statuses: 0 ok,
 * 1 refused or invalid, 2 usage, 3 poold not running, 4 permission denied. */
int poolctl_status(int argc, char *argv[]);
int poolctl_reload(int argc, char *argv[]);
int poolctl_set(int argc, char *argv[]);
int poolctl_attach(int argc, char *argv[]);
int poolctl_run(int argc, char *argv[]);

/* client/poolctl-events.c: the pressure events, exit statuses as above. */
int poolctl_events(int argc, char *argv[]);
