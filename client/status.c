/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

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
                json_object *prio = get(p, "priority");
                fprintf(out, "%-16s %-7s %5s %9s %9s %9s %9s %9s %7s %-12s %s/%s/%s/%s\n", get_str(p, "name") ?: "?",
                        get_str(p, "kind") ?: "-", prio ? json_object_get_string(prio) : "-",
                        size_or_dash(p, "min", a), size_or_dash(p, "target", b), size_or_dash(p, "max", c),
                        size_or_dash(p, "used", d), size_or_dash(p, "peak", e), count_or_dash(p, "members", n1),
                        get_str(p, "numa") ?: "-", count_or_dash(ev, "high", n2), count_or_dash(ev, "max", n3),
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
         * ("arena" is null when a pool has no page or no client). */
        bool arenas = false;
        for (size_t i = 0; i < np; i++) {
                json_object *p = json_object_array_get_idx(pools, i), *ar = get(p, "arena");
                if (!ar || !json_object_is_type(ar, json_type_object))
                        continue;
                if (!arenas)
                        fprintf(out, "\n%-16s %9s %9s %9s\n", "LIBPOOLD", "CHARGED", "PEAK", "PROCESSES");
                arenas = true;
                fprintf(out, "%-16s %9s %9s %9s\n", get_str(p, "name") ?: "?", size_or_dash(ar, "charged", a),
                        size_or_dash(ar, "peak", b), count_or_dash(ar, "processes", n1));
        }

        const char *bar = get_str(host, "bar");
        if (bar)
                fprintf(out, "\nRAM: [%s]  (upper case: reserves, ~ slack, lower case: pools, . unassigned)\n", bar);

        json_object *warnings = get(status, "warnings");
        size_t nw = warnings && json_object_is_type(warnings, json_type_array) ? json_object_array_length(warnings) : 0;
        if (nw > 0) {
                fprintf(out, "\nWarnings:\n");
                for (size_t i = 0; i < nw; i++)
                        fprintf(out, "  %s\n", json_object_get_string(json_object_array_get_idx(warnings, i)));
        }
        return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
