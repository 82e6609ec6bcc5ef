/* SPDX-License-Identifier: MIT */
/* bench_shrink: how fast a full pool gives its memory back. Fills a cache
 * in a pool with SIZE of entries (default 1 GiB of 4000-byte values, one
 * 4 KiB size class each with its header), lowers the target to TARGET
 * (default 1 MiB: near zero) and measures until the cache's shrink callback
 * has evicted and the arena is purged:
 *   sync    pool_set_target() + pool_poll() on the calling thread
 *   thread  pool_set_target() with POOL_OPEN_SHRINK_THREAD: until the
 *           library's thread reports the shrink done (stats polled)
 *   floor   no pool: munmap() of SIZE of touched anonymous memory, what
 *           the kernel alone needs to take the pages back on this machine
 * each with 4 KiB pages and with transparent huge pages (-thp: the pool
 * opened with POOL_OPEN_HUGEPAGES; the floor's mapping 2 MiB aligned and
 * madvise(MADV_HUGEPAGE)). RSS (/proc/self/statm) before and after, and
 * the AnonHugePages of the process (/proc/self/smaps_rollup) when full.
 * Median over ROUNDS fills.
 *
 *   bench/bench_shrink [ROUNDS] [SIZE_MIB] [TARGET_MIB] [VALUE_BYTES]
 *                      (defaults 5 1024 1 4000)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "poold.h"

#define MAX_ROUNDS 51
#define MIB (UINT64_C(1) << 20)
#define HUGEPAGE (2 * MIB)

static size_t value_size = 4000;

typedef struct Mode {
        const char *name;
        bool floor, threaded, huge;
} Mode;

static const Mode modes[] = {
        { "sync", false, false, false },  { "thread", false, true, false },  { "floor", true, false, false },
        { "sync-thp", false, false, true }, { "thread-thp", false, true, true }, { "floor-thp", true, false, true },
};

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static uint64_t rss_bytes(void) {
        FILE *f = fopen("/proc/self/statm", "re");
        char buf[256];
        uint64_t pages = 0;
        if (f && fgets(buf, sizeof buf, f)) {
                char *end;
                (void) strtoull(buf, &end, 10);
                pages = strtoull(end, NULL, 10);
        }
        if (f)
                fclose(f);
        return pages * (uint64_t) sysconf(_SC_PAGESIZE);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, unsigned n) {
        uint64_t tmp[MAX_ROUNDS];
        memcpy(tmp, v, n * sizeof *v);
        qsort(tmp, n, sizeof *tmp, cmp_u64);
        return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* AnonHugePages of this process, bytes. */
static uint64_t anon_huge_bytes(void) {
        FILE *f = fopen("/proc/self/smaps_rollup", "re");
        char line[256];
        uint64_t kb = 0;
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "AnonHugePages:", 14) == 0)
                        kb = strtoull(line + 14, NULL, 10);
        if (f)
                fclose(f);
        return kb * 1024;
}

typedef struct Round {
        uint64_t fill_ns, shrink_ns, rss_before, rss_after, charged_before, charged_after, evicted, huge;
} Round;

static int one_round(const Mode *m, uint64_t size, uint64_t target, Round *ret) {
        PoolOpenOptions o = {
                .flags = POOL_OPEN_STANDALONE | (m->threaded ? POOL_OPEN_SHRINK_THREAD : 0) |
                         (m->huge ? POOL_OPEN_HUGEPAGES : 0),
                .max = size + size / 4 + 64 * MIB, /* room for headers, table and metadata */
        };
        Pool *p;
        PoolCache *c;
        int r = pool_open("shrink", &o, &p);
        if (r < 0)
                return r;
        r = pool_cache_new(p, NULL, &c);
        if (r < 0) {
                pool_close(p);
                return r;
        }

        char *value = malloc(value_size);
        if (!value) {
                r = -ENOMEM;
                goto out;
        }
        memset(value, 0x5a, value_size);
        /* Until the cache holds SIZE (entries' usable sizes). */
        uint64_t t0 = now_ns();
        PoolCacheStats cs = {};
        for (uint64_t i = 0; cs.bytes < size; i++) {
                uint64_t key = i * UINT64_C(0x9e3779b97f4a7c15);
                r = pool_cache_put(c, &key, sizeof key, value, value_size);
                if (r < 0)
                        break;
                if (i % 64 == 0)
                        pool_cache_stats(c, &cs);
        }
        ret->fill_ns = now_ns() - t0;
        free(value);
        if (r < 0)
                goto out;
        ret->huge = anon_huge_bytes();

        PoolStats s;
        pool_stats(p, &s);
        ret->charged_before = s.charged;
        ret->rss_before = rss_bytes();

        t0 = now_ns();
        r = pool_set_target(p, target);
        if (r < 0)
                goto out;
        if (!m->threaded)
                r = pool_poll(p);
        else
                /* The thread wakes on the eventfd at once; look at its
                 * figures every 0.2 ms (pool_stats refreshes jemalloc's
                 * statistics, which takes locks the purge holds: asking
                 * without a pause would slow what is measured). 20 s is a
                 * hang, not a result. */
                for (r = -ETIMEDOUT; now_ns() - t0 < UINT64_C(20000000000);) {
                        struct timespec pause = { 0, 200 * 1000 };
                        nanosleep(&pause, NULL);
                        pool_stats(p, &s);
                        if (s.n_shrinks > 0) {
                                r = 1;
                                break;
                        }
                }
        ret->shrink_ns = now_ns() - t0;
        if (r != 1) {
                r = r < 0 ? r : -EAGAIN;
                goto out;
        }

        ret->rss_after = rss_bytes();
        pool_stats(p, &s);
        pool_cache_stats(c, &cs);
        ret->charged_after = s.charged;
        ret->evicted = cs.evicted_bytes;
        r = 0;
out:
        pool_cache_free(c);
        pool_close(p);
        return r;
}

static int floor_round(bool huge, uint64_t size, Round *ret) {
        size_t len = size + (huge ? HUGEPAGE : 0);
        char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED)
                return -errno;
        char *m = map;
        if (huge) {
                m = (char *) (((uintptr_t) map + HUGEPAGE - 1) & ~(uintptr_t) (HUGEPAGE - 1));
                (void) madvise(m, size, MADV_HUGEPAGE);
        }
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < size; i += 4096)
                ((volatile char *) m)[i] = 1;
        ret->fill_ns = now_ns() - t0;
        ret->rss_before = rss_bytes();
        ret->huge = anon_huge_bytes();
        t0 = now_ns();
        munmap(map, len);
        ret->shrink_ns = now_ns() - t0;
        ret->rss_after = rss_bytes();
        return 0;
}

static unsigned long arg(int argc, char **argv, int i, unsigned long def, unsigned long max) {
        if (argc <= i)
                return def;
        char *end;
        unsigned long v = strtoul(argv[i], &end, 10);
        if (*end || v == 0 || v > max) {
                fprintf(stderr, "usage: bench_shrink [ROUNDS 1..%d] [SIZE_MIB] [TARGET_MIB] [VALUE_BYTES]\n",
                        MAX_ROUNDS);
                exit(2);
        }
        return v;
}

int main(int argc, char **argv) {
        unsigned rounds = (unsigned) arg(argc, argv, 1, 5, MAX_ROUNDS);
        uint64_t size = arg(argc, argv, 2, 1024, 1 << 20) * MIB;
        uint64_t target = arg(argc, argv, 3, 1, 1 << 20) * MIB;
        value_size = arg(argc, argv, 4, value_size, 64 * MIB);

        printf("bench_shrink: %u rounds, cache of %" PRIu64 " MiB (%zu-byte values), target lowered to %" PRIu64
               " MiB\n",
               rounds, size / MIB, value_size, target / MIB);
        printf("%-10s %9s %11s %11s %11s %11s %11s %11s\n", "mode", "fill ms", "shrink ms", "RSS before",
               "RSS after", "charged aft", "evicted", "huge full");

        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
                const Mode *m = &modes[mi];
                uint64_t fill[MAX_ROUNDS], shrink[MAX_ROUNDS], before[MAX_ROUNDS], after[MAX_ROUNDS],
                        charged[MAX_ROUNDS], evicted[MAX_ROUNDS], huge[MAX_ROUNDS];
                for (unsigned i = 0; i < rounds; i++) {
                        Round x = {};
                        int r = m->floor ? floor_round(m->huge, size, &x) : one_round(m, size, target, &x);
                        if (r < 0) {
                                fprintf(stderr, "bench_shrink: round %u: %s\n", i, strerror(-r));
                                return 1;
                        }
                        fill[i] = x.fill_ns;
                        shrink[i] = x.shrink_ns;
                        before[i] = x.rss_before;
                        after[i] = x.rss_after;
                        charged[i] = x.charged_after;
                        evicted[i] = x.evicted;
                        huge[i] = x.huge;
                }
                printf("%-10s %9.1f %11.2f %9.1f M %9.1f M %9.1f M %9.1f M %9.1f M\n", m->name,
                       (double) median(fill, rounds) / 1e6, (double) median(shrink, rounds) / 1e6,
                       (double) median(before, rounds) / MIB, (double) median(after, rounds) / MIB,
                       (double) median(charged, rounds) / MIB, (double) median(evicted, rounds) / MIB,
                       (double) median(huge, rounds) / MIB);
                printf("           shrink ms per round:");
                for (unsigned i = 0; i < rounds; i++)
                        printf(" %.1f", (double) shrink[i] / 1e6);
                printf("\n");
                fflush(stdout);
        }
        printf("(goal: shrink <= 50 ms)\n");
        return 0;
}
