/* SPDX-License-Identifier: MIT */
/* poolctl events [--follow] [--json] [--after SEQ] [--limit N]: the pressure
 * controller's decisions as poold recorded them (its "events" verb), and
 * with --follow the new ones as they happen (topic "events"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-client.h"
#include "log.h"
#include "poolctl.h"
#include "size.h"

#define EVENTS_CALL_TIMEOUT_MS 60000

static const char *get_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
                       json_object_get_string(v) :
                       NULL;
}

static bool get_u64(json_object *o, const char *key, uint64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_uint64(v);
        return true;
}

/* One line: local time, seq, action, pool, the target change, the bytes
 * and the reason (which carries the signal values). */
static void print_event(json_object *ev, bool json) {
        if (json) {
                puts(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                return;
        }
        uint64_t seq = 0, wall = 0, old_t, new_t, bytes, duration;
        char when[64] = "?", a[SIZE_FMT_MAX], b[SIZE_FMT_MAX];
        (void) get_u64(ev, "seq", &seq);
        if (get_u64(ev, "wall_usec", &wall)) {
                time_t t = (time_t) (wall / 1000000);
                struct tm tm;
                if (localtime_r(&t, &tm))
                        snprintf(when + strftime(when, sizeof when - 8, "%Y-%m-%d %H:%M:%S", &tm), 8, ".%03u",
                                 (unsigned) (wall % 1000000 / 1000));
        }
        const char *action = get_str(ev, "action"), *pool = get_str(ev, "pool"), *reserve = get_str(ev, "reserve");
        printf("%s #%" PRIu64 " %-11s %-12s", when, seq, action ? action : "?",
               pool ? pool : reserve ? reserve : "-");
        if (pool && get_u64(ev, "old_target", &old_t) && get_u64(ev, "new_target", &new_t) && old_t != new_t)
                printf(" %s -> %s", size_format_human(old_t, a), size_format_human(new_t, b));
        if (action && strcmp(action, "set_high") == 0 && get_u64(ev, "duration_usec", &duration) && duration > 0)
                printf(" (step took %" PRIu64 " ms)", duration / 1000);
        else if (action && strcmp(action, "shrink") == 0 && get_u64(ev, "bytes", &bytes))
                printf(" (clients asked to free %s)", size_format_human(bytes, a));
        const char *reason = get_str(ev, "reason");
        printf(": %s\n", reason ? reason : "");
}

static int events_exit_for(int r, const char *what) {
        if (r == -ENOENT || r == -ECONNREFUSED) {
                log_error("poold is not running (%s)", what);
                return EXIT_NOT_RUNNING;
        }
        if (r == -EPERM || r == -EACCES) {
                log_error("%s: permission denied", what);
                return EXIT_PERMISSION;
        }
        log_error_errno(r, "%s", what);
        return EXIT_FAILURE;
}

int poolctl_events(int argc, char *argv[]) {
        enum { ARG_SOCKET = 0x100, ARG_JSON, ARG_AFTER, ARG_LIMIT };
        static const struct option options[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "json", no_argument, NULL, ARG_JSON },
                { "follow", no_argument, NULL, 'f' },
                { "after", required_argument, NULL, ARG_AFTER },
                { "limit", required_argument, NULL, ARG_LIMIT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *socket_path = CTL_SOCKET_PATH;
        bool json = false, follow = false;
        uint64_t after = 0, limit = 0;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, "fh", options, NULL)) >= 0)
                switch (c) {
                case ARG_SOCKET:
                        socket_path = optarg;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case 'f':
                        follow = true;
                        break;
                case ARG_AFTER:
                case ARG_LIMIT:
                        errno = 0;
                        uint64_t v = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-')
                                return poolctl_usage_error("events", "--%s: not a number: %s",
                                                           c == ARG_AFTER ? "after" : "limit", optarg);
                        *(c == ARG_AFTER ? &after : &limit) = v;
                        break;
                case 'h':
                        printf("Usage: poolctl events [--follow] [--json] [--after SEQ] [--limit N] [--socket PATH]\n\n"
                               "Shows the pressure controller's decisions, oldest first.\n"
                               "  -f, --follow   keep printing new events as they happen\n"
                               "      --json     one JSON object per line, every figure in bytes\n"
                               "      --after    only events with a sequence number above SEQ\n"
                               "      --limit    only the newest N of them\n"
                               "      --socket   poold's control socket (default: %s)\n"
                               "See poolctl(8).\n",
                               CTL_SOCKET_PATH);
                        return 0;
                default:
                        return poolctl_usage_error("events", NULL);
                }
        if (optind < argc)
                return poolctl_usage_error("events", "unexpected argument '%s'", argv[optind]);

        _cleanup_(ctl_client_freep) CtlClient *cl = NULL;
        r = ctl_connect(socket_path, &cl);
        if (r < 0)
                return events_exit_for(r, socket_path);

        /* Subscribe before reading the log, so nothing falls between the two;
         * what arrives twice is told apart by its sequence number. */
        if (follow) {
                json_object *args = json_object_new_object();
                json_object_object_add(args, "topic", json_object_new_string("events"));
                r = ctl_call(cl, "subscribe", args, EVENTS_CALL_TIMEOUT_MS, NULL, NULL);
                json_object_put(args);
                if (r < 0)
                        return events_exit_for(r, "subscribe to events");
        }

        json_object *args = json_object_new_object(), *result = NULL, *events;
        if (after > 0)
                json_object_object_add(args, "after", json_object_new_uint64(after));
        if (limit > 0)
                json_object_object_add(args, "limit", json_object_new_uint64(limit));
        r = ctl_call(cl, "events", args, EVENTS_CALL_TIMEOUT_MS, &result, NULL);
        json_object_put(args);
        if (r < 0) {
                if (ctl_client_error_message(cl))
                        log_error("poold: %s", ctl_client_error_message(cl));
                return events_exit_for(r, "events");
        }
        uint64_t last = after;
        if (json_object_object_get_ex(result, "events", &events) && json_object_is_type(events, json_type_array))
                for (size_t i = 0; i < json_object_array_length(events); i++) {
                        json_object *ev = json_object_array_get_idx(events, i);
                        uint64_t seq;
                        if (get_u64(ev, "seq", &seq) && seq > last)
                                last = seq;
                        print_event(ev, json);
                }
        json_object_put(result);
        if (!follow)
                return 0;

        fflush(stdout);
        for (;;) {
                json_object *ev = NULL;
                uint64_t seq;
                r = ctl_read_event(cl, -1, &ev);
                if (r == -ECONNRESET) {
                        log_error("poold closed the connection");
                        return EXIT_NOT_RUNNING;
                }
                if (r < 0)
                        return events_exit_for(r, "reading events");
                if (get_u64(ev, "seq", &seq) && seq > last) {
                        last = seq;
                        json_object_object_del(ev, "topic");
                        json_object_object_del(ev, "event"); /* the same as "action" */
                        print_event(ev, json);
                        fflush(stdout);
                }
                json_object_put(ev);
        }
}
