/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "size.h"
#include "status.h"

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v = get(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A size in the human form of `poolctl check` (size_format_human), or "-". */
static const char *size_or_dash(json_object *o, const char *key, char buf[static SIZE_FMT_MAX]) {
        json_object *v = get(o, key);
        if (!v || !json_object_is_type(v, json_type_int))
                return "-";
        return size_format_human(json_object_get_uint64(v), buf);
}

static const char *count_or_dash(json_object *o, const char *key, char buf[static 24]) {
        json_object *v = get(o, key);
        if (!v || !json_object_is_type(v, json_type_int))
                return "-";
        snprintf(buf, 24, "%" PRIu64, json_object_get_uint64(v));
        return buf;
}

/* A signed difference: "+1.5G", "-200.0M", "0B". */
static const char *diff_or_dash(json_object *o, const char *key, char buf[static SIZE_FMT_MAX + 1]) {
        json_object *v = get(o, key);
        if (!v || !json_object_is_type(v, json_type_int))
                return "-";
        int64_t d = json_object_get_int64(v);
        char h[SIZE_FMT_MAX];
        snprintf(buf, SIZE_FMT_MAX + 1, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "",
                 size_format_human(d < 0 ? (uint64_t) -(d + 1) + 1 : (uint64_t) d, h));
        return buf;
}

/* The pressure controller's state, the pools it has moved and its last
 * decisions; nothing when the document has no "pressure" object (a poold
 * from before the controller ran). */
static void print_pressure(json_object *status, json_object *pools, FILE *out) {
        json_object *pr = get(status, "pressure");
        char a[SIZE_FMT_MAX], b[SIZE_FMT_MAX];
        uint64_t v;

        if (!pr || !json_object_is_type(pr, json_type_object))
                return;
        json_object *psi = get(pr, "psi"), *iv = get(pr, "interval_usec");
        fprintf(out, "\nPressure: %s; MemAvailable %s, watermark %s", get_str(pr, "state") ?: "?",
                size_or_dash(pr, "mem_available", a), size_or_dash(pr, "watermark", b));
        if (iv && json_object_is_type(iv, json_type_int) && (v = json_object_get_uint64(iv)) > 0)
                fprintf(out, ", sampled every %" PRIu64 " ms", v / 1000);
        if (get_str(psi, "error"))
                fprintf(out, "; no PSI trigger (%s)", get_str(psi, "error"));
        else if (psi) {
                json_object *some = get(psi, "some_avg10"), *full = get(psi, "full_avg10");
                json_object *used = get(psi, "window_used_usec"), *asked = get(psi, "window_usec");
                /* avg10 comes in hundredths of a percent, as the kernel prints it */
                if (some && full)
                        fprintf(out, "; PSI avg10 some %d.%02d%% full %d.%02d%%", json_object_get_int(some) / 100,
                                json_object_get_int(some) % 100, json_object_get_int(full) / 100,
                                json_object_get_int(full) % 100);
                if (used && asked && json_object_get_uint64(used) != json_object_get_uint64(asked))
                        fprintf(out, " (trigger window %" PRIu64 " ms: the kernel refused %" PRIu64 " ms)",
                                json_object_get_uint64(used) / 1000, json_object_get_uint64(asked) / 1000);
        }
        fputc('\n', out);

        for (size_t i = 0; i < json_object_array_length(pools); i++) {
                json_object *p = json_object_array_get_idx(pools, i);
                const char *stage = get_str(p, "stage");
                if (!stage || strcmp(stage, "steady") == 0)
                        continue;
                fprintf(out, "  %s: %s at %s of a planned %s\n", get_str(p, "name") ?: "?", stage,
                        size_or_dash(p, "target", a), size_or_dash(p, "planned_target", b));
        }

        json_object *evs = get(pr, "last_events");
        size_t n = evs && json_object_is_type(evs, json_type_array) ? json_object_array_length(evs) : 0;
        if (n == 0)
                return;
        fprintf(out, "Last events (poolctl events for all):\n");
        for (size_t i = 0; i < n; i++) {
                json_object *ev = json_object_array_get_idx(evs, i), *w = get(ev, "wall_usec");
                char when[16] = "?";
                if (w && json_object_is_type(w, json_type_int)) {
                        time_t t = (time_t) (json_object_get_uint64(w) / 1000000);
                        struct tm tm;
                        if (localtime_r(&t, &tm))
                                strftime(when, sizeof when, "%H:%M:%S", &tm);
                }
                fprintf(out, "  %s #%s %s%s%s: %s\n", when, count_or_dash(ev, "seq", (char[24]) {}),
                        get_str(ev, "action") ?: "?", get_str(ev, "pool") ? " " : "", get_str(ev, "pool") ?: "",
                        get_str(ev, "reason") ?: "");
        }
}

int status_print(json_object *status, FILE *out) {
        json_object *host = get(status, "host"), *pools = get(status, "pools");
        char a[SIZE_FMT_MAX], b[SIZE_FMT_MAX], c[SIZE_FMT_MAX], d[SIZE_FMT_MAX], e[SIZE_FMT_MAX + 1];
        char n1[24], n2[24], n3[24], n4[24];

        if (!host || !json_object_is_type(host, json_type_object) || !pools ||
            !json_object_is_type(pools, json_type_array))
                return -EBADMSG;

        json_object *ver = get(host, "cgroup_version");
        fprintf(out, "Host: total %s (%s), reserved %s, slack %s, poolable %s; driver %s, cgroup v%s; %s\n",
                size_or_dash(host, "total", a), get_str(host, "total_source") ?: "-",
                size_or_dash(host, "reserved", b), size_or_dash(host, "slack", c),
                size_or_dash(host, "poolable", d), get_str(host, "driver") ?: "-",
                ver ? json_object_get_string(ver) : "?", get_str(host, "state") ?: "-");
        json_object *prev = get(host, "total_previous");
        if (prev && json_object_is_type(prev, json_type_int))
                fprintf(out, "MemTotal changed at runtime: the pools were re-partitioned from a total of %s\n",
                        size_or_dash(host, "total_previous", a));
        if (get_str(host, "config"))
                fprintf(out, "Config: %s\n", get_str(host, "config"));
        const char *err = get_str(host, "last_reload_error");
        if (err) {
                fprintf(out, "Last reload failed (the configuration before it stays in force):\n");
                for (const char *p = err; *p;) {
                        size_t len = strcspn(p, "\n");
                        fprintf(out, "  %.*s\n", (int) len, p);
                        p += len + (p[len] == '\n');
                }
        }

        json_object *reserves = get(status, "reserves");
        size_t nr = reserves && json_object_is_type(reserves, json_type_array) ? json_object_array_length(reserves) : 0;
        if (nr > 0) {
                fprintf(out, "\n%-16s %10s %10s %10s  %s\n", "RESERVE", "PLANNED", "MEASURED", "DIFF", "SOURCE");
                for (size_t i = 0; i < nr; i++) {
                        json_object *r = json_object_array_get_idx(reserves, i);
                        const char *unit = get_str(r, "unit"), *cg = get_str(r, "cgroup");
                        char src[300];
                        if (unit)
                                snprintf(src, sizeof src, "unit %s", unit);
                        else if (cg)
                                snprintf(src, sizeof src, "cgroup %s", cg);
                        else
                                snprintf(src, sizeof src, "-");
                        fprintf(out, "%-16s %10s %10s %10s  %s%s%s\n", get_str(r, "name") ?: "?",
                                size_or_dash(r, "planned", a), size_or_dash(r, "measured", b),
                                diff_or_dash(r, "diff", e), src, get_str(r, "error") ? ": " : "",
                                get_str(r, "error") ?: "");
                }
        }

        size_t np = json_object_array_length(pools);
        fprintf(out, "\n%-16s %-7s %5s %9s %9s %9s %9s %9s %7s %-12s %s\n", "POOL", "KIND", "PRIO", "MIN", "TARGET",
                "MAX", "USED", "PEAK", "MEMBERS", "NUMA", "EVENTS(high/max/oom/kill)");
        for (size_t i = 0; i < np; i++) {
                json_object *p = json_object_array_get_idx(pools, i), *ev = get(p, "events");
                json_object *prio = get(p, "priority"), *huge = get(p, "hugepages");
                char numa[64];
                snprintf(numa, sizeof numa, "%s%s", get_str(p, "numa") ?: "-",
                         huge && json_object_get_boolean(huge) ? "+thp" : "");
                fprintf(out, "%-16s %-7s %5s %9s %9s %9s %9s %9s %7s %-12s %s/%s/%s/%s\n", get_str(p, "name") ?: "?",
                        get_str(p, "kind") ?: "-", prio ? json_object_get_string(prio) : "-",
                        size_or_dash(p, "min", a), size_or_dash(p, "target", b), size_or_dash(p, "max", c),
                        size_or_dash(p, "used", d), size_or_dash(p, "peak", e), count_or_dash(p, "members", n1),
                        numa, count_or_dash(ev, "high", n2), count_or_dash(ev, "max", n3),
                        count_or_dash(ev, "oom", n4), count_or_dash(ev, "oom_kill", (char[24]) {}));
        }

        json_object *orphans = get(status, "orphans");
        size_t no = orphans && json_object_is_type(orphans, json_type_array) ? json_object_array_length(orphans) : 0;
        for (size_t i = 0; i < no; i++) {
                json_object *p = json_object_array_get_idx(orphans, i);
                fprintf(out, "%-16s %-7s %5s %9s %9s %9s %9s %9s %7s\n", get_str(p, "name") ?: "?", "orphan", "-", "-",
                        "-", size_or_dash(p, "max", a), size_or_dash(p, "used", b), "-",
                        count_or_dash(p, "members", n1));
        }

        /* Bytes charged through libpoold arenas, per pool with clients
         * ("arena" is null when a pool has no page or no client), and what
         * the arenas hold: allocated..resident is allocator overhead
         * (dashes from a poold that does not report them). */
        bool arenas = false;
        for (size_t i = 0; i < np; i++) {
                json_object *p = json_object_array_get_idx(pools, i), *ar = get(p, "arena");
                char al[SIZE_FMT_MAX], ac[SIZE_FMT_MAX], re[SIZE_FMT_MAX];
                if (!ar || !json_object_is_type(ar, json_type_object))
                        continue;
                if (!arenas)
                        fprintf(out, "\n%-16s %9s %9s %9s %9s %9s %9s\n", "LIBPOOLD", "CHARGED", "ALLOCATED", "ACTIVE",
                                "RESIDENT", "PEAK", "PROCESSES");
                arenas = true;
                fprintf(out, "%-16s %9s %9s %9s %9s %9s %9s\n", get_str(p, "name") ?: "?",
                        size_or_dash(ar, "charged", a), size_or_dash(ar, "allocated", al),
                        size_or_dash(ar, "active", ac), size_or_dash(ar, "resident", re), size_or_dash(ar, "peak", b),
                        count_or_dash(ar, "processes", n1));
        }

        const char *bar = get_str(host, "bar");
        if (bar)
                fprintf(out, "\nRAM: [%s]  (upper case: reserves, ~ slack, lower case: pools, . unassigned)\n", bar);

        print_pressure(status, pools, out);

        json_object *warnings = get(status, "warnings");
        size_t nw = warnings && json_object_is_type(warnings, json_type_array) ? json_object_array_length(warnings) : 0;
        if (nw > 0) {
                fprintf(out, "\nWarnings:\n");
                for (size_t i = 0; i < nw; i++)
                        fprintf(out, "  %s\n", json_object_get_string(json_object_array_get_idx(warnings, i)));
        }
        return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
