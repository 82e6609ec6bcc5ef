/* SPDX-License-Identifier: MIT */
/* The verbs that talk to poold over its control socket: status, reload,
 * set, attach and run. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-client.h"
#include "log.h"
#include "poolctl.h"
#include "report.h"
#include "size.h"
#include "status.h"

/* A status of a few hundred pools is built in well under a second; 30 s
 * covers a reload or a set waiting on a busy systemd (CGROUP_JOB_TIMEOUT). */
#define POOLCTL_CALL_TIMEOUT_MS 60000

typedef struct CtlArgs {
        const char *socket_path;
        const char *pool;
        bool json;
} CtlArgs;

enum {
        ARG_SOCKET = 0x100,
        ARG_JSON,
};

/* Parses the options shared by these verbs (those in ALLOW: 'j' --json,
 * 'p' --pool). Returns 1 to go on, 0 after --help, or EXIT_USAGE negated. */
static int ctl_parse(int argc, char *argv[], const char *verb, const char *allow, const char *synopsis,
                     CtlArgs *ret) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "json", no_argument, NULL, ARG_JSON },
                { "pool", required_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *ret = (CtlArgs) {};
        /* '+': stop at the first non-option, so `run -- CMD -x` keeps CMD's options. */
        while ((c = getopt_long(argc, argv, "+p:h", options, NULL)) >= 0)
                switch (c) {
                case ARG_SOCKET:
                        ret->socket_path = optarg;
                        break;
                case ARG_JSON:
                        if (!strchr(allow, 'j'))
                                return -poolctl_usage_error(verb, "--json is not an option of this verb");
                        ret->json = true;
                        break;
                case 'p':
                        if (!strchr(allow, 'p'))
                                return -poolctl_usage_error(verb, "--pool is not an option of this verb");
                        ret->pool = optarg;
                        break;
                case 'h':
                        printf("Usage: poolctl %s %s\n\n"
                               "  --socket PATH  poold's control socket (default: %s)\n"
                               "See poolctl(8).\n",
                               verb, synopsis, CTL_SOCKET_PATH);
                        return 0;
                default:
                        return -poolctl_usage_error(verb, NULL);
                }
        if (strchr(allow, 'p') && !ret->pool)
                return -poolctl_usage_error(verb, "--pool NAME is required");
        return 1;
}

/* Connects; on failure prints why and returns the exit status negated. */
static int ctl_open(const CtlArgs *a, CtlClient **ret) {
        const char *path = a->socket_path ? a->socket_path : CTL_SOCKET_PATH;
        int r = ctl_connect(path, ret);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "poold is not running (no socket at %s)\n", path);
                return -EXIT_NOT_RUNNING;
        }
        if (r == -EACCES) {
                fprintf(stderr, "poolctl: cannot connect to %s: %s\n", path, strerror(-r));
                return -EXIT_PERMISSION;
        }
        if (r < 0) {
                fprintf(stderr, "poolctl: cannot connect to %s: %s\n", path, strerror(-r));
                return -EXIT_INVALID;
        }
        return 0;
}

/* Calls VERB; on failure prints the daemon's message and returns the exit
 * status negated: 4 permission denied, 3 the daemon went away, 1 else. */
static int ctl_do(CtlClient *c, const char *verb, json_object *args, json_object **ret) {
        int r = ctl_call(c, verb, args, POOLCTL_CALL_TIMEOUT_MS, ret, NULL);
        if (r >= 0)
                return 0;
        const char *msg = ctl_client_error_message(c);
        if (r == -EPERM) {
                fprintf(stderr, "poolctl %s: permission denied%s%s\n", verb,
                        msg ? ": " : "", msg ? msg : "");
                return -EXIT_PERMISSION;
        }
        if (r == -ECONNRESET) {
                fprintf(stderr, "poolctl %s: poold closed the connection\n", verb);
                return -EXIT_NOT_RUNNING;
        }
        if (msg) {
                /* Several errors come joined with "; " (the wire has one message). */
                fprintf(stderr, "poolctl %s: refused:\n", verb);
                for (const char *p = msg; *p;) {
                        const char *s = strstr(p, "; ");
                        size_t len = s ? (size_t) (s - p) : strlen(p);
                        fprintf(stderr, "  %.*s\n", (int) len, p);
                        p += len + (s ? 2 : 0);
                }
        } else
                fprintf(stderr, "poolctl %s: %s\n", verb, strerror(-r));
        return -EXIT_INVALID;
}

int poolctl_status(int argc, char *argv[]) {
        _cleanup_(ctl_client_freep) CtlClient *c = NULL;
        json_object *res = NULL;
        CtlArgs a;
        int r;

        r = ctl_parse(argc, argv, "status", "j", "[--json] [--socket PATH]", &a);
        if (r <= 0)
                return -r;
        if (optind < argc)
                return poolctl_usage_error("status", "unexpected argument '%s'", argv[optind]);
        if ((r = ctl_open(&a, &c)) < 0 || (r = ctl_do(c, "status", NULL, &res)) < 0)
                return -r;
        r = a.json ? report_print_json(res, stdout) : status_print(res, stdout);
        json_object_put(res);
        if (r < 0) {
                fprintf(stderr, "poolctl status: cannot print the status: %s\n", strerror(-r));
                return EXIT_INVALID;
        }
        return 0;
}

int poolctl_reload(int argc, char *argv[]) {
        _cleanup_(ctl_client_freep) CtlClient *c = NULL;
        json_object *res = NULL;
        CtlArgs a;
        int r;

        r = ctl_parse(argc, argv, "reload", "", "[--socket PATH]", &a);
        if (r <= 0)
                return -r;
        if (optind < argc)
                return poolctl_usage_error("reload", "unexpected argument '%s'", argv[optind]);
        if ((r = ctl_open(&a, &c)) < 0 || (r = ctl_do(c, "reload", NULL, &res)) < 0)
                return -r;
        json_object_put(res);
        printf("reloaded\n");
        return 0;
}

int poolctl_set(int argc, char *argv[]) {
        _cleanup_(ctl_client_freep) CtlClient *c = NULL;
        json_object *res = NULL;
        CtlArgs a;
        uint64_t size;
        int r;

        r = ctl_parse(argc, argv, "set", "p", "--pool NAME target|min|max SIZE [--socket PATH]", &a);
        if (r <= 0)
                return -r;
        if (argc - optind != 2)
                return poolctl_usage_error("set", "expected a field (target, min or max) and a size");
        const char *field = argv[optind];
        if (strcmp(field, "target") != 0 && strcmp(field, "min") != 0 && strcmp(field, "max") != 0)
                return poolctl_usage_error("set", "unknown field '%s' (target, min or max)", field);
        if (size_parse_bytes(argv[optind + 1], &size) < 0)
                return poolctl_usage_error("set", "bad size '%s' (bytes or K/M/G/T)", argv[optind + 1]);

        json_object *args = json_object_new_object();
        if (!args)
                return EXIT_INVALID;
        json_object_object_add(args, "pool", json_object_new_string(a.pool));
        json_object_object_add(args, "field", json_object_new_string(field));
        json_object_object_add(args, "size", json_object_new_uint64(size));
        if ((r = ctl_open(&a, &c)) >= 0)
                r = ctl_do(c, "set", args, &res);
        json_object_put(args);
        if (r < 0)
                return -r;
        json_object_put(res);
        return 0;
}

static int ctl_attach(CtlClient *c, const char *pool, pid_t pid) {
        json_object *args = json_object_new_object(), *res = NULL;
        if (!args)
                return -EXIT_INVALID;
        json_object_object_add(args, "pool", json_object_new_string(pool));
        json_object_object_add(args, "pid", json_object_new_int64(pid));
        int r = ctl_do(c, "attach", args, &res);
        json_object_put(args);
        json_object_put(res);
        return r;
}

int poolctl_attach(int argc, char *argv[]) {
        _cleanup_(ctl_client_freep) CtlClient *c = NULL;
        CtlArgs a;
        int r;

        r = ctl_parse(argc, argv, "attach", "p", "--pool NAME PID [--socket PATH]", &a);
        if (r <= 0)
                return -r;
        if (argc - optind != 1)
                return poolctl_usage_error("attach", "expected one PID");
        char *end;
        errno = 0;
        unsigned long long pid = strtoull(argv[optind], &end, 10);
        if (errno != 0 || end == argv[optind] || *end || argv[optind][0] == '-' || pid == 0 || pid > INT32_MAX)
                return poolctl_usage_error("attach", "bad PID '%s'", argv[optind]);
        if ((r = ctl_open(&a, &c)) < 0 || (r = ctl_attach(c, a.pool, (pid_t) pid)) < 0)
                return -r;
        return 0;
}

int poolctl_run(int argc, char *argv[]) {
        _cleanup_(ctl_client_freep) CtlClient *c = NULL;
        CtlArgs a;
        int r, p[2];

        r = ctl_parse(argc, argv, "run", "p", "--pool NAME [--socket PATH] -- CMD [ARGS...]", &a);
        if (r <= 0)
                return -r;
        if (optind >= argc)
                return poolctl_usage_error("run", "missing the command to run");
        if ((r = ctl_open(&a, &c)) < 0)
                return -r;

        /* The child waits until it is in the pool, so CMD's first byte is
         * already charged to it. */
        if (pipe2(p, O_CLOEXEC) < 0) {
                fprintf(stderr, "poolctl run: pipe: %m\n");
                return EXIT_INVALID;
        }
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "poolctl run: fork: %m\n");
                return EXIT_INVALID;
        }
        if (pid == 0) {
                char go;
                close(p[1]);
                if (read(p[0], &go, 1) != 1)
                        _exit(127); /* the parent gave up: not attached */
                close(p[0]);
                execvp(argv[optind], argv + optind);
                fprintf(stderr, "poolctl run: cannot run %s: %m\n", argv[optind]);
                _exit(errno == ENOENT ? 127 : 126);
        }
        close(p[0]);
        r = ctl_attach(c, a.pool, pid);
        if (r < 0) {
                close(p[1]); /* EOF: the child exits without running CMD */
                (void) waitpid(pid, NULL, 0);
                return -r;
        }
        ctl_client_free(TAKE_PTR(c));
        if (write(p[1], "x", 1) != 1) {
                fprintf(stderr, "poolctl run: cannot start the command: %m\n");
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return EXIT_INVALID;
        }
        close(p[1]);

        /* Like a shell: the command gets ^C; we wait for it. */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        fprintf(stderr, "poolctl run: waitpid: %m\n");
                        return EXIT_INVALID;
                }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}
