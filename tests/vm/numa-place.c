/* SPDX-License-Identifier: MIT */
/* numa-place: where do a libpoold pool's pages land? (tests/vm, run in the
 * two-node guest by scenarios/libpoold-numa.sh)
 *
 *   numa-place [--mib N] [--max-mib M] [--hold-ms T] [--reuse] [--hugepages] [--until-enomem] SPEC...
 *   SPEC = local | bind:NODES | interleave:NODES | preferred:NODE
 *   NODES as numactl writes them: 1, 0-1, 0,2-3
 *
 * For each SPEC, opens a standalone pool with that policy (Max = M MiB,
 * default 2 * N), allocates N MiB (default 64) in 1 MiB pool_malloc()s and
 * writes every page, then asks the kernel where each page is: move_pages(2)
 * with nodes = NULL only reports (nothing moves). One line per pool:
 *
 *   pool=p0_bind spec=bind:1 mib=64 pages=16384 node0=0 node1=16384 absent=0 first_absent=0
 *     first_errno=0 released_mib=0 shrunk_charged_kib=0
 *     policy=bind:1 anon_huge_kib=0
 *
 * node<N> for every node the host has; absent = pages move_pages did not
 * find (never touched or an error) even after a re-read (first_absent and
 * first_errno: on the first query, see report()); policy = the kernel's own record for
 * the mapping that holds the first allocation (/proc/self/numa_maps), so a
 * policy that never reached the kernel shows here whatever the counts say;
 * anon_huge_kib = the process's AnonHugePages (/proc/self/smaps_rollup)
 * when the line is printed. --hugepages opens the pools with
 * POOL_OPEN_HUGEPAGES.
 * All pools stay open until every line is printed, as an application would
 * hold them. --reuse: allocates, frees everything, shrinks the pool
 * (pool_shrink_now(): its pages go back to the kernel; released_mib= is
 * the charge it gave back, shrunk_charged_kib= what stayed charged: decay
 * may have given some back before it) and allocates again before measuring, so the placement of
 * reused extents is what is measured. --hold-ms T spins T ms between writing the pages and measuring
 * them (automatic NUMA balancing gets its chance to scan and move them).
 *
 * --until-enomem: instead, allocates (and writes) 1 MiB at a time from the
 * first SPEC until pool_malloc() fails, and prints
 *   pool=... spec=... allocated_mib=K errno=ENOMEM max_mib=M
 * (the process is killed instead if the kernel runs out of the policy's
 * nodes first: that is what the scenario looks for).
 *
 * Exit: 0, 1 on a failure (message on stderr), 2 on bad usage. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poold.h"

#define MIB (UINT64_C(1) << 20)
#define SPECS_MAX 8

typedef struct Place {
        const char *spec;
        PoolOpenOptions opts;
        char name[POOL_NAME_MAX + 1];
        Pool *pool;
        void **chunks;
        size_t n_chunks;
        uint64_t released;       /* --reuse: bytes of charge pool_shrink_now() gave back */
        uint64_t shrunk_charged; /* --reuse: bytes still charged after it */
} Place;

static const char *const mode_names[] = {
        [POOL_NUMA_LOCAL] = "local",
        [POOL_NUMA_BIND] = "bind",
        [POOL_NUMA_INTERLEAVE] = "interleave",
        [POOL_NUMA_PREFERRED] = "preferred",
};

/* "0-1,3" into bits of NODES. Returns 0 or -EINVAL. */
static int parse_nodes(const char *s, uint64_t *nodes) {
        if (!*s)
                return -EINVAL;
        while (*s) {
                char *end;
                errno = 0;
                unsigned long a = strtoul(s, &end, 10), b = a;
                if (errno || end == s || a >= POOL_NUMA_NODES_MAX)
                        return -EINVAL;
                s = end;
                if (*s == '-') {
                        b = strtoul(++s, &end, 10);
                        if (errno || end == s || b >= POOL_NUMA_NODES_MAX || b < a)
                                return -EINVAL;
                        s = end;
                }
                for (unsigned long n = a; n <= b; n++)
                        nodes[n / 64] |= UINT64_C(1) << (n % 64);
                if (*s == ',')
                        s++;
                else if (*s)
                        return -EINVAL;
        }
        return 0;
}

static int parse_spec(const char *spec, PoolOpenOptions *o) {
        if (strcmp(spec, "local") == 0) {
                o->numa_mode = POOL_NUMA_LOCAL;
                return 0;
        }
        const char *colon = strchr(spec, ':');
        if (!colon)
                return -EINVAL;
        size_t len = (size_t) (colon - spec);
        for (int m = POOL_NUMA_BIND; m <= POOL_NUMA_PREFERRED; m++)
                if (strlen(mode_names[m]) == len && strncmp(spec, mode_names[m], len) == 0) {
                        o->numa_mode = (PoolNumaMode) m;
                        return parse_nodes(colon + 1, o->numa_nodes);
                }
        return -EINVAL;
}

/* The policy numa_maps gives the mapping that holds ADDR: the line with the
 * highest start address not above it (numa_maps has no end addresses). */
static void mapping_policy(const void *addr, char *buf, size_t size) {
        snprintf(buf, size, "?");
        FILE *f = fopen("/proc/self/numa_maps", "re");
        if (!f)
                return;
        uintptr_t best = 0;
        char line[4096];
        while (fgets(line, sizeof line, f)) {
                char *end;
                uintptr_t start = (uintptr_t) strtoull(line, &end, 16);
                if (end == line || *end != ' ' || start > (uintptr_t) addr || start < best)
                        continue;
                best = start;
                char *pol = end + 1;
                pol[strcspn(pol, " \n")] = '\0';
                snprintf(buf, size, "%s", pol);
        }
        fclose(f);
}

/* Allocates MIB_WANTED 1 MiB chunks from P and writes every page. */
static int fill(Place *p, uint64_t mib_wanted, long page) {
        p->chunks = calloc(mib_wanted, sizeof *p->chunks);
        if (!p->chunks)
                return -ENOMEM;
        for (; p->n_chunks < mib_wanted; p->n_chunks++) {
                char *c = pool_malloc(p->pool, MIB);
                if (!c)
                        return -errno;
                for (uint64_t off = 0; off < MIB; off += (uint64_t) page)
                        c[off] = 1;
                p->chunks[p->n_chunks] = c;
        }
        return 0;
}

/* Asks the kernel for the node of each of the N pages (status gets the
 * node or a negative errno). nodes = NULL: only reports, nothing moves. */
static int query(const char *name, void **pages, size_t n, int *status) {
        if (numa_move_pages(0, n, pages, NULL, status, 0) < 0) {
                int r = -errno;
                fprintf(stderr, "numa-place: %s: move_pages: %s\n", name, strerror(errno));
                return r;
        }
        return 0;
}

static int report(const Place *p, long page, int n_nodes) {
        size_t per_chunk = MIB / (size_t) page, n = p->n_chunks * per_chunk;
        void **pages = malloc(n * sizeof *pages), **again = malloc(n * sizeof *again);
        int *status = malloc(n * sizeof *status), *status_again = malloc(n * sizeof *status_again);
        uint64_t *count = calloc((size_t) n_nodes, sizeof *count), first_absent = 0, absent = 0;
        int first_errno = 0, r = -ENOMEM;
        if (!pages || !again || !status || !status_again || !count)
                goto out;
        for (size_t i = 0; i < n; i++)
                pages[i] = (char *) p->chunks[i / per_chunk] + (i % per_chunk) * (size_t) page;
        if ((r = query(p->name, pages, n, status)) < 0)
                goto out;

        /* A page we wrote and move_pages does not find (-ENOENT) is one that
         * automatic NUMA balancing has made PROT_NONE to sample its accesses
         * (the kernel's page walk for move_pages skips those): read it, which
         * takes the hinting fault and maps it again, and ask once more. The
         * fault may migrate it, but only to where the policy and the cpuset
         * allow, which is what is measured. Counted in first_absent. */
        for (int round = 0; round < 3; round++) {
                size_t m = 0;
                for (size_t i = 0; i < n; i++)
                        if (status[i] < 0) {
                                if (round == 0) {
                                        first_absent++;
                                        if (!first_errno)
                                                first_errno = -status[i];
                                }
                                (void) *(volatile char *) pages[i];
                                again[m++] = pages[i];
                        }
                if (m == 0)
                        break;
                if ((r = query(p->name, again, m, status_again)) < 0)
                        goto out;
                for (size_t i = 0, j = 0; i < n && j < m; i++)
                        if (status[i] < 0)
                                status[i] = status_again[j++];
        }

        for (size_t i = 0; i < n; i++) {
                if (status[i] >= 0 && status[i] < n_nodes)
                        count[status[i]]++;
                else
                        absent++;
        }

        char policy[256];
        mapping_policy(p->chunks[0], policy, sizeof policy);
        uint64_t huge_kib = 0;
        FILE *f = fopen("/proc/self/smaps_rollup", "re");
        char line[256];
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "AnonHugePages:", 14) == 0)
                        huge_kib = strtoull(line + 14, NULL, 10);
        if (f)
                fclose(f);
        printf("pool=%s spec=%s mib=%zu pages=%zu", p->name, p->spec, p->n_chunks, n);
        for (int i = 0; i < n_nodes; i++)
                printf(" node%d=%" PRIu64, i, count[i]);
        printf(" absent=%" PRIu64 " first_absent=%" PRIu64 " first_errno=%s released_mib=%" PRIu64
               " shrunk_charged_kib=%" PRIu64 " policy=%s anon_huge_kib=%" PRIu64 "\n",
               absent, first_absent, first_errno ? strerrorname_np(first_errno) : "0", p->released / MIB,
               p->shrunk_charged / 1024, policy, huge_kib);
        fflush(stdout);
        r = 0;
out:
        free(pages);
        free(again);
        free(status);
        free(status_again);
        free(count);
        return r;
}

static void usage(void) {
        fputs("usage: numa-place [--mib N] [--max-mib M] [--hold-ms T] [--reuse] [--hugepages] [--until-enomem] "
              "local|bind:NODES|interleave:NODES|preferred:NODE...\n",
              stderr);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "mib", required_argument, NULL, 'm' },
                { "max-mib", required_argument, NULL, 'M' },
                { "until-enomem", no_argument, NULL, 'e' },
                { "hold-ms", required_argument, NULL, 'h' },
                { "reuse", no_argument, NULL, 'r' },
                { "hugepages", no_argument, NULL, 'H' },
                {},
        };
        uint64_t mib = 64, max_mib = 0, hold_ms = 0;
        bool until_enomem = false, reuse = false, hugepages = false;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                case 'M':
                case 'h': {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(optarg, &end, 10);
                        if (errno || *end || v == 0 || v > (UINT64_C(1) << 30)) {
                                usage();
                                return 2;
                        }
                        *(c == 'm' ? &mib : c == 'M' ? &max_mib : &hold_ms) = v;
                        break;
                }
                case 'e':
                        until_enomem = true;
                        break;
                case 'r':
                        reuse = true;
                        break;
                case 'H':
                        hugepages = true;
                        break;
                default:
                        usage();
                        return 2;
                }
        int n_specs = argc - optind;
        if (n_specs < 1 || n_specs > SPECS_MAX) {
                usage();
                return 2;
        }
        if (numa_available() < 0) {
                fputs("numa-place: no NUMA support in this kernel\n", stderr);
                return 1;
        }
        if (max_mib == 0)
                max_mib = 2 * mib;
        long page = sysconf(_SC_PAGESIZE);
        int n_nodes = numa_max_node() + 1;

        Place places[SPECS_MAX] = {};
        int ret = 0;
        for (int i = 0; i < n_specs; i++) {
                Place *p = &places[i];
                p->spec = argv[optind + i];
                p->opts.flags = POOL_OPEN_STANDALONE | (hugepages ? POOL_OPEN_HUGEPAGES : 0);
                p->opts.max = max_mib * MIB;
                if (parse_spec(p->spec, &p->opts) < 0) {
                        fprintf(stderr, "numa-place: bad spec '%s'\n", p->spec);
                        usage();
                        return 2;
                }
                snprintf(p->name, sizeof p->name, "p%d_%s", i, mode_names[p->opts.numa_mode]);
                int r = pool_open(p->name, &p->opts, &p->pool);
                if (r < 0) {
                        fprintf(stderr, "numa-place: pool_open(%s, %s): %s\n", p->name, p->spec, strerror(-r));
                        ret = 1;
                        goto out;
                }
        }

        if (until_enomem) {
                Place *p = &places[0];
                int r = fill(p, (UINT64_C(1) << 30) / MIB * 64, page); /* 64 GiB: never the limit */
                printf("pool=%s spec=%s allocated_mib=%zu errno=%s max_mib=%" PRIu64 "\n", p->name, p->spec,
                       p->n_chunks, r == -ENOMEM ? "ENOMEM" : r < 0 ? strerror(-r) : "0", max_mib);
                ret = r == -ENOMEM ? 0 : 1;
                goto out;
        }

        for (int i = 0; i < n_specs; i++) {
                Place *p = &places[i];
                int r = fill(p, mib, page);
                if (r >= 0 && reuse) {
                        /* Free it all, give the pages back (pool_shrink_now:
                         * jemalloc purges or decommits through the hooks),
                         * allocate again: the refaulted pages are measured. */
                        for (size_t k = 0; k < p->n_chunks; k++)
                                pool_free(p->pool, p->chunks[k]);
                        p->n_chunks = 0;
                        free(p->chunks);
                        p->chunks = NULL;
                        r = pool_shrink_now(p->pool, &p->released);
                        PoolStats st;
                        if (r >= 0 && (r = pool_stats(p->pool, &st)) >= 0) {
                                p->shrunk_charged = st.charged_self;
                                r = fill(p, mib, page);
                        }
                }
                if (r < 0) {
                        fprintf(stderr, "numa-place: %s: allocating %" PRIu64 " MiB: %s (after %zu MiB)\n",
                                p->name, mib, strerror(-r), p->n_chunks);
                        ret = 1;
                        goto out;
                }
        }
        if (hold_ms > 0) {
                /* Busy, not asleep: NUMA balancing scans the memory of tasks
                 * that run (from the scheduler tick), never of sleepers. */
                struct timespec t0, t;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                do
                        clock_gettime(CLOCK_MONOTONIC, &t);
                while ((int64_t) (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < (int64_t) hold_ms);
        }
        for (int i = 0; i < n_specs; i++)
                if (report(&places[i], page, n_nodes) < 0)
                        ret = 1;
out:
        for (int i = 0; i < n_specs; i++) {
                free(places[i].chunks); /* pool_close() releases the allocations themselves */
                pool_close(places[i].pool);
        }
        return ret;
}
