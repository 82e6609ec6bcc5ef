/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "macro.h"
#include "report.h"

static const char *const total_source_table[_TOTAL_SOURCE_MAX] = {
        [TOTAL_SOURCE_MEMINFO] = "MemTotal",
        [TOTAL_SOURCE_CONFIG] = "Total=",
        [TOTAL_SOURCE_OPTION] = "--total",
};

static const char *const nodes_source_table[_NODES_SOURCE_MAX] = {
        [NODES_SOURCE_NONE] = "none",
        [NODES_SOURCE_HOST] = "libnuma",
        [NODES_SOURCE_OPTION] = "--nodes",
};

const char *total_source_to_string(TotalSource s) {
        return (unsigned) s < _TOTAL_SOURCE_MAX ? total_source_table[s] : NULL;
}

const char *nodes_source_to_string(NodesSource s) {
        return (unsigned) s < _NODES_SOURCE_MAX ? nodes_source_table[s] : NULL;
}

char *report_percent_format(uint64_t part, uint64_t total, char buf[static 16]) {
        if (total == 0) {
                snprintf(buf, 16, "-");
                return buf;
        }
        /* Hundredths of a percent, rounded half up; 128 bits because
         * part * 20000 overflows 64 bits above 0.9 PB. */
        unsigned __int128 p = ((unsigned __int128) part * 20000 + total) / ((unsigned __int128) total * 2);
        if (p > 999999999)
                p = 999999999;
        snprintf(buf, 16, "%u.%02u%%", (unsigned) (p / 100), (unsigned) (p % 100));
        return buf;
}

static bool report_is_consistent(const Report *r) {
        return r && r->config && r->budget &&
                r->budget->n_reserves == r->config->n_reserves &&
                r->budget->n_pools == r->config->n_pools &&
                (r->budget->n_nodes == 0 || r->budget->nodes);
}

/* ---- the table ---------------------------------------------------------- */

/* Every section shares its first TABLE_SHARED columns (name, written or kind,
 * size, human, percent), so the figures line up from the reserves down to
 * TOTAL; the columns after them are the section's own. */
#define TABLE_COLS 10
#define TABLE_SHARED 5
#define TABLE_GAP 2

typedef struct TableRow {
        char *cell[TABLE_COLS];
} TableRow;

typedef struct TableSection {
        const char *header[TABLE_COLS]; /* NULL header[0]: no header line */
        char align[TABLE_COLS + 1];     /* 'l' or 'r' per column */
        bool rule;                      /* a rule line before the rows */
        TableRow *rows;
        size_t n_rows;
} TableSection;

static void table_section_done(TableSection *s) {
        for (size_t i = 0; i < s->n_rows; i++)
                for (size_t c = 0; c < TABLE_COLS; c++)
                        free(s->rows[i].cell[c]);
        free(s->rows);
        s->rows = NULL;
        s->n_rows = 0;
}

/* Appends a row of N cells; NULL cells are empty. */
static int table_add_row(TableSection *s, size_t n, ...) {
        TableRow *rows = realloc(s->rows, (s->n_rows + 1) * sizeof *rows);
        if (!rows)
                return -ENOMEM;
        s->rows = rows;

        TableRow *row = &rows[s->n_rows];
        *row = (TableRow) {};
        va_list ap;
        va_start(ap, n);
        int r = 0;
        for (size_t c = 0; c < n && c < TABLE_COLS; c++) {
                const char *v = va_arg(ap, const char *);
                row->cell[c] = strdup(v ? v : "");
                if (!row->cell[c])
                        r = -ENOMEM;
        }
        va_end(ap);
        s->n_rows++; /* even on failure, so table_section_done() frees it */
        return r;
}

static size_t table_cell_width(const char *s) {
        /* Cells are ASCII (names are [a-z0-9_], sizes and unit names); count
         * bytes. */
        return s ? strlen(s) : 0;
}

static void table_widths(const TableSection *sections, size_t n_sections, size_t shared[TABLE_SHARED]) {
        for (size_t c = 0; c < TABLE_SHARED; c++)
                shared[c] = 0;
        for (size_t i = 0; i < n_sections; i++) {
                const TableSection *s = &sections[i];
                for (size_t c = 0; c < TABLE_SHARED; c++) {
                        if (s->header[0])
                                shared[c] = MAX(shared[c], table_cell_width(s->header[c]));
                        for (size_t k = 0; k < s->n_rows; k++)
                                shared[c] = MAX(shared[c], table_cell_width(s->rows[k].cell[c]));
                }
        }
}

static void table_print_line(FILE *out, const char *const *cells, const char *align, const size_t *width,
                             size_t n_cols) {
        char line[4096];
        size_t n = 0;

        for (size_t c = 0; c < n_cols; c++) {
                const char *v = cells[c] ? cells[c] : "";
                size_t w = table_cell_width(v);
                size_t pad = width[c] > w ? width[c] - w : 0;
                int k;

                if (c > 0)
                        pad += TABLE_GAP;
                if (align[c] == 'r')
                        k = snprintf(line + n, sizeof line - n, "%*s%s", (int) pad, "", v);
                else
                        k = snprintf(line + n, sizeof line - n, "%*s%s%*s", (int) (c > 0 ? TABLE_GAP : 0), "", v,
                                     (int) (pad - (c > 0 ? TABLE_GAP : 0)), "");
                if (k < 0)
                        break;
                n = MIN(n + (size_t) k, sizeof line - 1);
        }
        while (n > 0 && line[n - 1] == ' ')
                n--;
        line[n] = '\0';
        fprintf(out, "%s\n", line);
}

static void table_print(const TableSection *sections, size_t n_sections, FILE *out) {
        size_t shared[TABLE_SHARED];
        table_widths(sections, n_sections, shared);

        for (size_t i = 0; i < n_sections; i++) {
                const TableSection *s = &sections[i];
                size_t width[TABLE_COLS] = {};
                size_t n_cols = TABLE_SHARED;

                for (size_t c = 0; c < TABLE_SHARED; c++)
                        width[c] = shared[c];
                for (size_t c = TABLE_SHARED; c < TABLE_COLS; c++) {
                        if (s->header[0] && s->header[c])
                                width[c] = table_cell_width(s->header[c]);
                        for (size_t k = 0; k < s->n_rows; k++)
                                width[c] = MAX(width[c], table_cell_width(s->rows[k].cell[c]));
                        if (width[c] > 0)
                                n_cols = c + 1;
                }

                if (i > 0 && !s->rule)
                        fputc('\n', out);
                if (s->header[0])
                        table_print_line(out, s->header, s->align, width, n_cols);
                if (s->rule) {
                        size_t w = 0;
                        for (size_t c = 0; c < TABLE_SHARED; c++)
                                w += shared[c] + (c > 0 ? TABLE_GAP : 0);
                        for (size_t k = 0; k < w; k++)
                                fputc('-', out);
                        fputc('\n', out);
                }
                for (size_t k = 0; k < s->n_rows; k++)
                        table_print_line(out, (const char *const *) s->rows[k].cell, s->align, width, n_cols);
        }
}

/* ---- the rows ----------------------------------------------------------- */

static char *reserve_tied_to(const ReserveConf *rc, char *buf, size_t size) {
        size_t n = 0;
        buf[0] = '\0';
        if (rc->unit)
                n += (size_t) snprintf(buf + n, size - MIN(n, size), "Unit=%s", rc->unit);
        if (rc->cgroup && n < size)
                n += (size_t) snprintf(buf + n, size - n, "%sCgroup=%s", n > 0 ? " " : "", rc->cgroup);
        if (rc->protect && n < size)
                snprintf(buf + n, size - n, "%sProtect=yes", n > 0 ? " " : "");
        return buf;
}

static int report_table_rows(const Report *r, TableSection *reserves, TableSection *slack, TableSection *pools,
                             TableSection *unassigned, TableSection *total, TableSection *nodes) {
        const Config *c = r->config;
        const Budget *b = r->budget;
        char written[SIZE_FMT_MAX], exact[SIZE_FMT_MAX], human[SIZE_FMT_MAX], pct[16];
        int k;

        for (size_t i = 0; i < c->n_reserves; i++) {
                const ReserveConf *rc = &c->reserves[i];
                char tied[1024];
                k = table_add_row(reserves, 6, rc->name, size_spec_format(&rc->size, written),
                                  size_format_exact(b->reserves[i], exact), size_format_human(b->reserves[i], human),
                                  report_percent_format(b->reserves[i], b->total, pct),
                                  reserve_tied_to(rc, tied, sizeof tied));
                if (k < 0)
                        return k;
        }
        if (c->n_reserves == 0 && (k = table_add_row(reserves, 1, "(none)")) < 0)
                return k;

        k = table_add_row(slack, 5, "slack", size_spec_format(&c->host.slack, written),
                          size_format_exact(b->slack, exact), size_format_human(b->slack, human),
                          report_percent_format(b->slack, b->total, pct));
        if (k < 0)
                return k;

        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *pc = &c->pools[i];
                const PoolBudget *pb = &b->pools[i];
                char min[SIZE_FMT_MAX], max[SIZE_FMT_MAX], prio[16], weight[16];
                char numa[NODESET_FMT_MAX + 16];

                snprintf(prio, sizeof prio, "%" PRIi32, pc->priority);
                snprintf(weight, sizeof weight, "%" PRIu32, pc->weight);
                k = table_add_row(pools, 10, pc->name, pool_kind_to_string(pc->kind),
                                  size_format_exact(pb->target, exact), size_format_human(pb->target, human),
                                  report_percent_format(pb->target, b->total, pct), size_format_exact(pb->min, min),
                                  size_format_exact(pb->max, max), prio, weight, numa_policy_format(&pc->numa, numa));
                if (k < 0)
                        return k;
        }
        if (c->n_pools == 0 && (k = table_add_row(pools, 1, "(none)")) < 0)
                return k;

        k = table_add_row(unassigned, 5, "unassigned", NULL, size_format_exact(b->unassigned, exact),
                          size_format_human(b->unassigned, human),
                          report_percent_format(b->unassigned, b->total, pct));
        if (k < 0)
                return k;

        /* TOTAL is the sum of the rows above, not b->total: if the budget
         * ever failed its own invariant the table shows it instead of
         * hiding it. */
        uint64_t sum = b->reserved + b->slack + b->assigned + b->unassigned;
        char bytes[64];
        snprintf(bytes, sizeof bytes, "%" PRIu64 " bytes%s", sum, sum == b->total ? "" : " (NOT EQUAL TO TOTAL)");
        k = table_add_row(total, 6, "TOTAL", NULL, size_format_exact(sum, exact), size_format_human(sum, human),
                          report_percent_format(sum, b->total, pct), bytes);
        if (k < 0)
                return k;

        for (size_t i = 0; i < b->n_nodes; i++) {
                const NodeBudget *nb = &b->nodes[i];
                char name[32], poolable[SIZE_FMT_MAX], bound[SIZE_FMT_MAX];

                snprintf(name, sizeof name, "%zu", i);
                if (nb->total == 0)
                        k = table_add_row(nodes, 6, name, NULL, "0", "0B", "-", "(no memory)");
                else
                        k = table_add_row(nodes, 7, name, NULL, size_format_exact(nb->total, exact),
                                          size_format_human(nb->total, human),
                                          report_percent_format(nb->total, b->total, pct),
                                          size_format_exact(nb->poolable, poolable),
                                          size_format_exact(nb->bound_min, bound));
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The exact form, followed by the human one unless the exact one is already
 * as readable: "87617332839 (81.6G)", "16044353K (15.3G)", but "447G". */
static char *format_exact_human(uint64_t bytes, char buf[static 2 * SIZE_FMT_MAX + 4]) {
        char exact[SIZE_FMT_MAX], human[SIZE_FMT_MAX];
        size_t n = strlen(size_format_exact(bytes, exact));

        if (bytes >= 1024 && n > 0 && !strchr("GTPE", exact[n - 1]))
                snprintf(buf, 2 * SIZE_FMT_MAX + 4, "%s (%s)", exact, size_format_human(bytes, human));
        else
                snprintf(buf, 2 * SIZE_FMT_MAX + 4, "%s", exact);
        return buf;
}

static void report_print_header(const Report *r, FILE *out) {
        const Config *c = r->config;
        const Budget *b = r->budget;
        char exact[SIZE_FMT_MAX], human[SIZE_FMT_MAX];
        char e1[SIZE_FMT_MAX], e2[SIZE_FMT_MAX], e3[SIZE_FMT_MAX];

        fputs("Configuration: ", out);
        if (c->n_files == 0)
                fputs("(none)", out);
        for (size_t i = 0; i < c->n_files; i++)
                fprintf(out, "%s%s", i > 0 ? ", " : "", c->files[i]);
        fputc('\n', out);

        fprintf(out, "Total:         %s = %" PRIu64 " bytes (%s), from %s\n", size_format_exact(b->total, exact),
                b->total, size_format_human(b->total, human), total_source_to_string(r->total_source));
        char lead[2 * SIZE_FMT_MAX + 4];
        fprintf(out, "Poolable:      %s = total - reserves %s - slack %s\n", format_exact_human(b->poolable, lead),
                size_format_exact(b->reserved, e1), size_format_exact(b->slack, e2));
        fprintf(out, "Pool minimums: %s = Min of cache and working pools %s + fixed pools %s\n",
                format_exact_human(b->min_sum + b->fixed_sum, lead), size_format_exact(b->min_sum, e1),
                size_format_exact(b->fixed_sum, e3));

        if (b->n_nodes == 0)
                fputs("NUMA nodes:    unknown, per-node checks skipped\n", out);
        else if (r->nodes_source == NODES_SOURCE_OPTION)
                fprintf(out, "NUMA nodes:    %zu of equal size (--nodes)\n", b->n_nodes);
        else {
                size_t with_memory = 0;
                for (size_t i = 0; i < b->n_nodes; i++)
                        if (b->nodes[i].total > 0)
                                with_memory++;
                uint64_t node_sum = 0;
                for (size_t i = 0; i < b->n_nodes; i++)
                        node_sum += b->nodes[i].total;
                fprintf(out, "NUMA nodes:    %zu with memory", with_memory);
                if (with_memory != b->n_nodes)
                        fprintf(out, " (of %zu node ids)", b->n_nodes);
                fprintf(out, ", from %s", nodes_source_to_string(r->nodes_source));
                /* Seen in containers and VMs: the nodes' meminfo and MemTotal
                 * disagree (5.1G of nodes under a 23.5G MemTotal). Node
                 * shares are in proportion to the nodes' sizes, so say so. */
                if (node_sum != b->total)
                        fprintf(out, "; they hold %s, not the total %s", size_format_human(node_sum, exact),
                                size_format_human(b->total, human));
                fputc('\n', out);
        }
}

/* ---- the RAM layout bar --------------------------------------------------- */

typedef struct BarSegment {
        const char *name;
        uint64_t bytes;
        char symbol;
} BarSegment;

static bool bar_symbol_used(const BarSegment *seg, size_t n, char ch) {
        for (size_t i = 0; i < n; i++)
                if (seg[i].symbol == ch)
                        return true;
        return false;
}

/* Reserves get upper-case letters, pools lower-case ones, each the first
 * letter of its name not yet taken, else the first free letter; digits after
 * 26 names, '?' after 36. */
static char bar_pick_symbol(const BarSegment *seg, size_t n, const char *name, bool upper) {
        for (const char *p = name; *p; p++) {
                if (!isalpha((unsigned char) *p))
                        continue;
                char ch = (char) (upper ? toupper((unsigned char) *p) : tolower((unsigned char) *p));
                if (!bar_symbol_used(seg, n, ch))
                        return ch;
        }
        for (char ch = 'a'; ch <= 'z'; ch++) {
                char v = (char) (upper ? toupper((unsigned char) ch) : ch);
                if (!bar_symbol_used(seg, n, v))
                        return v;
        }
        for (char ch = '0'; ch <= '9'; ch++)
                if (!bar_symbol_used(seg, n, ch))
                        return ch;
        return '?';
}

/* Fills SEG (n_reserves + n_pools + 2 entries) in layout order. */
static size_t bar_segments(const Report *r, BarSegment *seg) {
        const Config *c = r->config;
        const Budget *b = r->budget;
        size_t n = 0;

        for (size_t i = 0; i < c->n_reserves; i++) {
                seg[n] = (BarSegment) { .name = c->reserves[i].name, .bytes = b->reserves[i] };
                seg[n].symbol = bar_pick_symbol(seg, n, c->reserves[i].name, true);
                n++;
        }
        seg[n++] = (BarSegment) { .name = "slack", .bytes = b->slack, .symbol = '~' };
        for (size_t i = 0; i < c->n_pools; i++) {
                seg[n] = (BarSegment) { .name = c->pools[i].name, .bytes = b->pools[i].target };
                seg[n].symbol = bar_pick_symbol(seg, n, c->pools[i].name, false);
                n++;
        }
        seg[n++] = (BarSegment) { .name = "unassigned", .bytes = b->unassigned, .symbol = '.' };
        return n;
}

static void bar_fill(const BarSegment *seg, size_t n, uint64_t total, char buf[static REPORT_BAR_WIDTH + 1]) {
        /* Cumulative rounding: segment i covers columns round(start_i * W /
         * total) up to round(end_i * W / total), so the widths always sum to
         * W and no column is counted twice. */
        uint64_t start = 0;
        size_t col = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t end = start + seg[i].bytes;
                size_t to = total == 0 ? 0 :
                        (size_t) (((unsigned __int128) end * REPORT_BAR_WIDTH * 2 + total) /
                                  ((unsigned __int128) total * 2));
                to = MIN(to, (size_t) REPORT_BAR_WIDTH);
                for (; col < to; col++)
                        buf[col] = seg[i].symbol;
                start = end;
        }
        /* Only when the rows do not sum to total: leave it visible. */
        for (; col < REPORT_BAR_WIDTH; col++)
                buf[col] = '?';
        buf[REPORT_BAR_WIDTH] = '\0';
}

int report_bar(const Report *r, char buf[static REPORT_BAR_WIDTH + 1]) {
        if (!report_is_consistent(r))
                return -EINVAL;

        _cleanup_free_ BarSegment *seg = calloc(r->config->n_reserves + r->config->n_pools + 2, sizeof *seg);
        if (!seg)
                return -ENOMEM;
        size_t n = bar_segments(r, seg);
        bar_fill(seg, n, r->budget->total, buf);
        return 0;
}

static int report_print_bar(const Report *r, FILE *out) {
        const Budget *b = r->budget;
        char bar[REPORT_BAR_WIDTH + 1], human[SIZE_FMT_MAX];

        _cleanup_free_ BarSegment *seg = calloc(r->config->n_reserves + r->config->n_pools + 2, sizeof *seg);
        if (!seg)
                return -ENOMEM;
        size_t n = bar_segments(r, seg);
        bar_fill(seg, n, b->total, bar);

        fprintf(out, "RAM layout, %d columns of %s:\n", REPORT_BAR_WIDTH,
                size_format_human(b->total / REPORT_BAR_WIDTH, human));
        fprintf(out, "  |%s|\n", bar);

        /* Legend, wrapped at 76 columns. Segments of 0 bytes are
         * left out; one smaller than half a column is listed but not drawn,
         * and says so. */
        size_t width = 2, limit = 76;
        fputs("  ", out);
        for (size_t i = 0; i < n; i++) {
                if (seg[i].bytes == 0)
                        continue;
                char entry[128];
                int len = snprintf(entry, sizeof entry, "%c %s%s", seg[i].symbol, seg[i].name,
                                   strchr(bar, seg[i].symbol) ? "" : " (under 1 column)");
                if (len < 0)
                        continue;
                if (width > 2 && width + 2 + (size_t) len > limit) {
                        fputs("\n  ", out);
                        width = 2;
                }
                fprintf(out, "%s%s", width > 2 ? "  " : "", entry);
                width += (width > 2 ? 2 : 0) + (size_t) len;
        }
        fputc('\n', out);
        return 0;
}

int report_print_table(const Report *r, FILE *out) {
        if (!report_is_consistent(r))
                return -EINVAL;

        TableSection s[6] = {
                { .header = { "RESERVE", "WRITTEN", "SIZE", "HUMAN", "% TOTAL", "TIED TO" }, .align = "lrrrrl" },
                { .align = "lrrrr" },
                { .header = { "POOL", "KIND", "TARGET", "HUMAN", "% TOTAL", "MIN", "MAX", "PRIO", "WEIGHT", "NUMA" },
                  .align = "llrrrrrrrl" },
                { .align = "lrrrr" },
                { .align = "lrrrrl", .rule = true },
                { .header = { "NODE", "", "SIZE", "HUMAN", "% TOTAL", "POOLABLE", "BOUND MIN" },
                  .align = "lrrrrrr" },
        };
        int k = report_table_rows(r, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5]);
        if (k >= 0) {
                report_print_header(r, out);
                fputc('\n', out);
                table_print(s, r->budget->n_nodes > 0 ? 6 : 5, out);
                fputc('\n', out);
                k = report_print_bar(r, out);
        }
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                table_section_done(&s[i]);
        return k;
}

/* ---- JSON ------------------------------------------------------------------ */

/* json-c reports a failed allocation by returning NULL or -1; each helper
 * turns that into -ENOMEM, and the caller frees the half-built object. */
static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_append(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* json-c represents null as a NULL pointer (json_object_new_null() returns
 * NULL), which json_add() would take for a failed allocation. */
static int json_add_null(json_object *o, const char *key) {
        return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

static int json_add_string_or_null(json_object *o, const char *key, const char *s) {
        return s ? json_add(o, key, json_object_new_string(s)) : json_add_null(o, key);
}

/* A size as written in poold.conf ("10%", "64G", "infinity"); null if unset. */
static int json_add_size_spec(json_object *o, const char *key, const SizeSpec *s) {
        char buf[SIZE_FMT_MAX];
        if (s->kind == SIZE_UNSET)
                return json_add_null(o, key);
        return json_add(o, key, json_object_new_string(size_spec_format(s, buf)));
}

int report_config_to_json(const Config *c, json_object **ret) {
        json_object *root = json_object_new_object(), *host = NULL, *files = NULL, *reserves = NULL, *pools = NULL;
        int k = -ENOMEM;

        if (!root)
                return -ENOMEM;

        if (!(files = json_object_new_array()) || (k = json_add(root, "files", files)) < 0)
                goto fail;
        for (size_t i = 0; i < c->n_files; i++)
                if ((k = json_append(files, json_object_new_string(c->files[i]))) < 0)
                        goto fail;

        if (!(host = json_object_new_object()) || (k = json_add(root, "host", host)) < 0)
                goto fail;
        if ((k = c->host.total > 0 ? json_add(host, "total", json_object_new_uint64(c->host.total)) : json_add_null(host, "total")) < 0 ||
            (k = json_add_size_spec(host, "slack", &c->host.slack)) < 0 ||
            (k = json_add_string_or_null(host, "cgroup_driver", cgroup_driver_to_string(c->host.driver))) < 0 ||
            (k = json_add_string_or_null(host, "cgroup_root", c->host.cgroup_root)) < 0)
                goto fail;

        /* [Pressure], normalized (defaults spelled out): times in
         * microseconds, shares of poolable in hundredths of a percent, the
         * watermark as written (null: the slack). */
        json_object *pressure = json_object_new_object();
        const PressureConf *pr = &c->pressure;
        if ((k = json_add(root, "pressure", pressure)) < 0 ||
            (k = json_add(pressure, "some_stall_usec", json_object_new_uint64(pr->some_stall_usec))) < 0 ||
            (k = json_add(pressure, "full_stall_usec", json_object_new_uint64(pr->full_stall_usec))) < 0 ||
            (k = json_add(pressure, "window_usec", json_object_new_uint64(pr->window_usec))) < 0 ||
            (k = json_add_size_spec(pressure, "watermark", &pr->watermark)) < 0 ||
            (k = json_add(pressure, "shrink_extra_permyriad", json_object_new_uint64(pr->shrink_extra_permyriad))) < 0 ||
            (k = json_add(pressure, "pressure_step_permyriad", json_object_new_uint64(pr->pressure_step_permyriad))) < 0 ||
            (k = json_add(pressure, "calm_interval_usec", json_object_new_uint64(pr->calm_interval_usec))) < 0 ||
            (k = json_add(pressure, "pressure_interval_usec", json_object_new_uint64(pr->pressure_interval_usec))) < 0 ||
            (k = json_add(pressure, "shrink_deadline_usec", json_object_new_uint64(pr->shrink_deadline_usec))) < 0 ||
            (k = json_add(pressure, "shrink_settle_usec", json_object_new_uint64(pr->shrink_settle_usec))) < 0 ||
            (k = json_add(pressure, "grow_hold_usec", json_object_new_uint64(pr->grow_hold_usec))) < 0 ||
            (k = json_add(pressure, "grow_hold_max_usec", json_object_new_uint64(pr->grow_hold_max_usec))) < 0 ||
            (k = json_add(pressure, "grow_step_permyriad", json_object_new_uint64(pr->grow_step_permyriad))) < 0 ||
            (k = json_add(pressure, "grow_interval_usec", json_object_new_uint64(pr->grow_interval_usec))) < 0 ||
            (k = json_add(pressure, "oscillation_window_usec", json_object_new_uint64(pr->oscillation_window_usec))) < 0)
                goto fail;

        if (!(reserves = json_object_new_array()) || (k = json_add(root, "reserves", reserves)) < 0)
                goto fail;
        for (size_t i = 0; i < c->n_reserves; i++) {
                const ReserveConf *rc = &c->reserves[i];
                json_object *o = json_object_new_object();
                if ((k = json_append(reserves, o)) < 0)
                        goto fail;
                if ((k = json_add(o, "name", json_object_new_string(rc->name))) < 0 ||
                    (k = json_add_size_spec(o, "size", &rc->size)) < 0 ||
                    (k = json_add_string_or_null(o, "unit", rc->unit)) < 0 ||
                    (k = json_add_string_or_null(o, "cgroup", rc->cgroup)) < 0 ||
                    (k = json_add(o, "protect", json_object_new_boolean(rc->protect))) < 0 ||
                    (k = json_add_string_or_null(o, "file", rc->loc.file)) < 0 ||
                    (k = json_add(o, "line", json_object_new_uint64(rc->loc.line))) < 0)
                        goto fail;
        }

        if (!(pools = json_object_new_array()) || (k = json_add(root, "pools", pools)) < 0)
                goto fail;
        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolConf *pc = &c->pools[i];
                /* Normalized: the defaults spelled out, as config_dump() does. */
                SizeSpec min = config_pool_min(pc), max = config_pool_max(pc);
                char numa[NODESET_FMT_MAX + 16];
                json_object *o = json_object_new_object();
                if ((k = json_append(pools, o)) < 0)
                        goto fail;
                if ((k = json_add(o, "name", json_object_new_string(pc->name))) < 0 ||
                    (k = json_add_string_or_null(o, "kind", pool_kind_to_string(pc->kind))) < 0 ||
                    (k = json_add_size_spec(o, "min", &min)) < 0 ||
                    (k = json_add_size_spec(o, "max", &max)) < 0 ||
                    (k = json_add(o, "weight", json_object_new_uint64(pc->weight))) < 0 ||
                    (k = json_add(o, "priority", json_object_new_int(pc->priority))) < 0 ||
                    (k = json_add(o, "numa", json_object_new_string(numa_policy_format(&pc->numa, numa)))) < 0 ||
                    (k = json_add(o, "hugepages", json_object_new_boolean(pc->hugepages))) < 0 ||
                    (k = json_add_string_or_null(o, "file", pc->loc.file)) < 0 ||
                    (k = json_add(o, "line", json_object_new_uint64(pc->loc.line))) < 0)
                        goto fail;
        }

        *ret = root;
        return 0;
fail:
        json_object_put(root);
        return k < 0 ? k : -ENOMEM;
}

int report_budget_to_json(const Report *r, json_object **ret) {
        if (!report_is_consistent(r))
                return -EINVAL;

        const Config *c = r->config;
        const Budget *b = r->budget;
        json_object *root = json_object_new_object(), *reserves = NULL, *pools = NULL, *nodes = NULL;
        int k = -ENOMEM;

        if (!root)
                return -ENOMEM;

        if ((k = json_add(root, "total", json_object_new_uint64(b->total))) < 0 ||
            (k = json_add(root, "total_source", json_object_new_string(total_source_to_string(r->total_source)))) < 0 ||
            (k = json_add(root, "reserved", json_object_new_uint64(b->reserved))) < 0 ||
            (k = json_add(root, "slack", json_object_new_uint64(b->slack))) < 0 ||
            (k = json_add(root, "poolable", json_object_new_uint64(b->poolable))) < 0 ||
            (k = json_add(root, "min_sum", json_object_new_uint64(b->min_sum))) < 0 ||
            (k = json_add(root, "fixed_sum", json_object_new_uint64(b->fixed_sum))) < 0 ||
            (k = json_add(root, "assigned", json_object_new_uint64(b->assigned))) < 0 ||
            (k = json_add(root, "unassigned", json_object_new_uint64(b->unassigned))) < 0)
                goto fail;

        if (!(reserves = json_object_new_array()) || (k = json_add(root, "reserves", reserves)) < 0)
                goto fail;
        for (size_t i = 0; i < b->n_reserves; i++) {
                const ReserveConf *rc = &c->reserves[i];
                json_object *o = json_object_new_object();
                if ((k = json_append(reserves, o)) < 0)
                        goto fail;
                if ((k = json_add(o, "name", json_object_new_string(rc->name))) < 0 ||
                    (k = json_add(o, "bytes", json_object_new_uint64(b->reserves[i]))) < 0 ||
                    (k = json_add_string_or_null(o, "unit", rc->unit)) < 0 ||
                    (k = json_add_string_or_null(o, "cgroup", rc->cgroup)) < 0 ||
                    (k = json_add(o, "protect", json_object_new_boolean(rc->protect))) < 0)
                        goto fail;
        }

        if (!(pools = json_object_new_array()) || (k = json_add(root, "pools", pools)) < 0)
                goto fail;
        for (size_t i = 0; i < b->n_pools; i++) {
                const PoolConf *pc = &c->pools[i];
                const PoolBudget *pb = &b->pools[i];
                char numa[NODESET_FMT_MAX + 16];
                json_object *o = json_object_new_object();
                if ((k = json_append(pools, o)) < 0)
                        goto fail;
                if ((k = json_add(o, "name", json_object_new_string(pc->name))) < 0 ||
                    (k = json_add_string_or_null(o, "kind", pool_kind_to_string(pc->kind))) < 0 ||
                    (k = json_add(o, "priority", json_object_new_int(pc->priority))) < 0 ||
                    (k = json_add(o, "weight", json_object_new_uint64(pc->weight))) < 0 ||
                    (k = json_add(o, "numa", json_object_new_string(numa_policy_format(&pc->numa, numa)))) < 0 ||
                    (k = json_add(o, "min", json_object_new_uint64(pb->min))) < 0 ||
                    (k = json_add(o, "target", json_object_new_uint64(pb->target))) < 0 ||
                    (k = json_add(o, "max", json_object_new_uint64(pb->max))) < 0)
                        goto fail;
        }

        if ((k = json_add(root, "nodes_source", json_object_new_string(nodes_source_to_string(
                                                        b->n_nodes > 0 ? r->nodes_source : NODES_SOURCE_NONE)))) < 0)
                goto fail;
        if (!(nodes = json_object_new_array()) || (k = json_add(root, "nodes", nodes)) < 0)
                goto fail;
        for (size_t i = 0; i < b->n_nodes; i++) {
                const NodeBudget *nb = &b->nodes[i];
                json_object *o = json_object_new_object();
                if ((k = json_append(nodes, o)) < 0)
                        goto fail;
                if ((k = json_add(o, "node", json_object_new_uint64(i))) < 0 ||
                    (k = json_add(o, "total", json_object_new_uint64(nb->total))) < 0 ||
                    (k = json_add(o, "poolable", json_object_new_uint64(nb->poolable))) < 0 ||
                    (k = json_add(o, "bound_min", json_object_new_uint64(nb->bound_min))) < 0)
                        goto fail;
        }

        *ret = root;
        return 0;
fail:
        json_object_put(root);
        return k < 0 ? k : -ENOMEM;
}

int report_to_json(const Report *r, json_object **ret) {
        json_object *root = NULL, *config = NULL, *budget = NULL;
        int k;

        if (!report_is_consistent(r))
                return -EINVAL;
        k = report_config_to_json(r->config, &config);
        if (k < 0)
                return k;
        k = report_budget_to_json(r, &budget);
        if (k < 0) {
                json_object_put(config);
                return k;
        }
        root = json_object_new_object();
        if (!root) {
                json_object_put(config);
                json_object_put(budget);
                return -ENOMEM;
        }
        if ((k = json_add(root, "config", config)) < 0) {
                json_object_put(budget);
                goto fail;
        }
        if ((k = json_add(root, "budget", budget)) < 0 ||
            (k = json_add(root, "valid", json_object_new_boolean(true))) < 0)
                goto fail;
        *ret = root;
        return 0;
fail:
        json_object_put(root);
        return k;
}

int report_errors_to_json(const Diag *d, json_object **ret) {
        json_object *root = json_object_new_object(), *errors = NULL;
        int k = -ENOMEM;

        if (!root)
                return -ENOMEM;
        if ((k = json_add(root, "valid", json_object_new_boolean(false))) < 0)
                goto fail;
        if (!(errors = json_object_new_array()) || (k = json_add(root, "errors", errors)) < 0)
                goto fail;
        for (size_t i = 0; i < d->n; i++)
                if ((k = json_append(errors, json_object_new_string(d->messages[i]))) < 0)
                        goto fail;
        *ret = root;
        return 0;
fail:
        json_object_put(root);
        return k < 0 ? k : -ENOMEM;
}

int report_print_json(json_object *o, FILE *out) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        if (fputs(s, out) < 0 || fputc('\n', out) == EOF || fflush(out) != 0)
                return -EIO;
        return 0;
}
