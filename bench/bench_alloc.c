/* SPDX-License-Identifier: MIT */
/* bench_alloc: the cost of allocating from a pool, side by side with a plain
 * jemalloc arena used with an explicit tcache (what a pool is, minus
 * libpoold) and with glibc's malloc, in one run of one binary. Each of the
 * two jemalloc-based ones is measured twice: freeing without the size
 * (pool_free, dallocx) and with it (pool_free_sized, sdallocx).
 *
 * glibc's allocator is reached through __libc_malloc/__libc_free: this
 * program links jemalloc, whose malloc() (no prefix in Debian's build)
 * replaces glibc's for the process, and dlsym(RTLD_NEXT, "malloc") from the
 * executable would find jemalloc's again (it comes before libc in the lookup
 * order). glibc 2.36 still exports both entry points.
 *
 *   bench/bench_alloc [ROUNDS] [OPS]      (defaults 11, 4000000)
 *
 * Workloads, each single-threaded and with 2 threads (each thread its own
 * loop; the pool and the arena shared, as an application would):
 *   pair64  malloc(64) then free, OPS times
 *   mixed   a window of 1024 live blocks; each op frees the oldest and
 *           allocates a new one, sizes log-uniform in 16 B..4 KiB from a
 *           fixed seed (the same sequence for every allocator)
 * Each round runs every allocator once, in rotated order; the figures are
 * medians over rounds; ratios are medians of the per-round ratios (paired,
 * so a noisy round moves both sides). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jemalloc/jemalloc.h>

#include "poold.h"

extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);

#define WINDOW 1024
#define N_SIZES 65536
#define MAX_ROUNDS 101

typedef enum Alloc { ALLOC_POOL, ALLOC_POOL_SIZED, ALLOC_ARENA, ALLOC_ARENA_SIZED, ALLOC_GLIBC, _ALLOC_MAX } Alloc;

typedef enum Work { WORK_PAIR64, WORK_MIXED, _WORK_MAX } Work;
static const char *const work_name[_WORK_MAX] = { "pair64", "mixed" };

static Pool *bench_pool;
static unsigned bench_arena;
static size_t sizes[N_SIZES];
static unsigned long ops = 4000000;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/* Keeps the compiler from dropping an allocation it can see is unused. */
static inline void touch(void *p) {
        __asm__ volatile("" : : "r"(p) : "memory");
}

/* One loop per allocator and workload, with the calls written out, so the
 * comparison is of the allocators and not of an indirect call. FREE gets
 * the size asked for; the window keeps it for every allocator alike. */
#define LOOPS(NAME, ALLOC, FREE)                                                      \
        static uint64_t loop_pair64_##NAME(void *ctx) {                               \
                (void) ctx;                                                            \
                uint64_t t0 = now_ns();                                                \
                for (unsigned long i = 0; i < ops; i++) {                              \
                        void *p = ALLOC(64);                                           \
                        touch(p);                                                      \
                        FREE(p, 64);                                                   \
                }                                                                      \
                return now_ns() - t0;                                                  \
        }                                                                              \
        static uint64_t loop_mixed_##NAME(void *ctx) {                                \
                Window *w = ctx;                                                       \
                for (unsigned i = 0; i < WINDOW; i++)                                  \
                        w->p[i] = ALLOC(w->n[i] = sizes[i]);                           \
                uint64_t t0 = now_ns();                                                \
                for (unsigned long i = 0; i < ops; i++) {                              \
                        unsigned k = (unsigned) i & (WINDOW - 1);                      \
                        FREE(w->p[k], w->n[k]);                                        \
                        w->n[k] = sizes[i & (N_SIZES - 1)];                            \
                        w->p[k] = ALLOC(w->n[k]);                                      \
                        touch(w->p[k]);                                                \
                }                                                                      \
                uint64_t t = now_ns() - t0;                                            \
                for (unsigned i = 0; i < WINDOW; i++)                                  \
                        FREE(w->p[i], w->n[i]);                                        \
                return t;                                                              \
        }

typedef struct Window {
        void *p[WINDOW];
        size_t n[WINDOW];
} Window;

#define POOL_ALLOC(n) pool_malloc(bench_pool, (n))
#define POOL_FREE(p, n) pool_free(bench_pool, (p))
#define POOL_FREE_SIZED(p, n) pool_free_sized(bench_pool, (p), (n))
LOOPS(pool, POOL_ALLOC, POOL_FREE)
LOOPS(pool_sized, POOL_ALLOC, POOL_FREE_SIZED)

/* The arena baseline: the flags are computed once per thread, as a
 * program using jemalloc directly would. */
static _Thread_local int arena_flags;
#define ARENA_ALLOC(n) mallocx((n), arena_flags)
#define ARENA_FREE(p, n) dallocx((p), arena_flags)
#define ARENA_FREE_SIZED(p, n) sdallocx((p), (n), arena_flags)
LOOPS(arena, ARENA_ALLOC, ARENA_FREE)
LOOPS(arena_sized, ARENA_ALLOC, ARENA_FREE_SIZED)

#define GLIBC_FREE(p, n) __libc_free(p)
LOOPS(glibc, __libc_malloc, GLIBC_FREE)

typedef uint64_t (*LoopFn)(void *ctx);
static const LoopFn loops[_WORK_MAX][_ALLOC_MAX] = {
        [WORK_PAIR64] = { loop_pair64_pool, loop_pair64_pool_sized, loop_pair64_arena, loop_pair64_arena_sized,
                          loop_pair64_glibc },
        [WORK_MIXED] = { loop_mixed_pool, loop_mixed_pool_sized, loop_mixed_arena, loop_mixed_arena_sized,
                         loop_mixed_glibc },
};

typedef struct Job {
        LoopFn fn;
        pthread_barrier_t *barrier;
        uint64_t ns;
} Job;

static void *job_main(void *arg) {
        Job *j = arg;
        Window *window = calloc(1, sizeof *window);
        unsigned tc;
        size_t sz = sizeof tc;

        if (!window || mallctl("tcache.create", &tc, &sz, NULL, 0) != 0) {
                fprintf(stderr, "bench_alloc: cannot set up a thread\n");
                exit(1);
        }
        arena_flags = MALLOCX_ARENA(bench_arena) | MALLOCX_TCACHE(tc);

        /* Warm up this thread's caches for every allocator (the pool's
         * tcache is created at the thread's first call). */
        for (int i = 0; i < 1000; i++) {
                pool_free(bench_pool, pool_malloc(bench_pool, 64));
                pool_free_sized(bench_pool, pool_malloc(bench_pool, 64), 64);
                dallocx(mallocx(64, arena_flags), arena_flags);
                __libc_free(__libc_malloc(64));
        }

        pthread_barrier_wait(j->barrier);
        j->ns = j->fn(window);

        mallctl("tcache.destroy", NULL, NULL, &tc, sizeof tc);
        free(window);
        return NULL;
}

/* Runs FN on N_THREADS threads at once; returns ns per op per thread
 * (the mean of the threads' own times). */
static double run(LoopFn fn, unsigned n_threads) {
        pthread_t t[2];
        Job j[2];
        pthread_barrier_t b;

        pthread_barrier_init(&b, NULL, n_threads);
        for (unsigned i = 0; i < n_threads; i++) {
                j[i] = (Job) { .fn = fn, .barrier = &b };
                if (pthread_create(&t[i], NULL, job_main, &j[i]) != 0) {
                        fprintf(stderr, "bench_alloc: pthread_create failed\n");
                        exit(1);
                }
        }
        double sum = 0;
        for (unsigned i = 0; i < n_threads; i++) {
                pthread_join(t[i], NULL);
                sum += (double) j[i].ns;
        }
        pthread_barrier_destroy(&b);
        return sum / n_threads / (double) ops;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median(double *v, unsigned n) {
        double tmp[MAX_ROUNDS];
        memcpy(tmp, v, n * sizeof *v);
        qsort(tmp, n, sizeof *tmp, cmp_double);
        return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static void make_sizes(void) {
        /* log-uniform in [16, 4096]: ln(size) uniform; xorshift64 with a fixed seed */
        uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
        for (unsigned i = 0; i < N_SIZES; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                double u = (double) (x >> 11) / (double) (UINT64_C(1) << 53);
                sizes[i] = (size_t) exp(log(16.0) + u * (log(4096.0) - log(16.0)));
        }
}

int main(int argc, char **argv) {
        unsigned rounds = 11;
        if (argc > 1) {
                char *end;
                unsigned long v = strtoul(argv[1], &end, 10);
                if (*end || v == 0 || v > MAX_ROUNDS) {
                        fprintf(stderr, "usage: bench_alloc [ROUNDS 1..%d] [OPS]\n", MAX_ROUNDS);
                        return 2;
                }
                rounds = (unsigned) v;
        }
        if (argc > 2) {
                char *end;
                ops = strtoul(argv[2], &end, 10);
                if (*end || ops == 0) {
                        fprintf(stderr, "usage: bench_alloc [ROUNDS] [OPS > 0]\n");
                        return 2;
                }
        }

        make_sizes();

        PoolOpenOptions o = { .flags = POOL_OPEN_STANDALONE, .max = UINT64_C(4) << 30 };
        int r = pool_open("bench", &o, &bench_pool);
        if (r < 0) {
                fprintf(stderr, "bench_alloc: pool_open: %s\n", strerror(-r));
                return 1;
        }
        size_t sz = sizeof bench_arena;
        if (mallctl("arenas.create", &bench_arena, &sz, NULL, 0) != 0) {
                fprintf(stderr, "bench_alloc: arenas.create failed\n");
                return 1;
        }

        printf("bench_alloc: %u rounds, %lu ops per thread per run; ns per op (alloc+free), median\n", rounds,
               ops);
        printf("%-7s %-3s %7s %7s %7s %7s %7s   %-6s %-6s %-6s %-6s\n", "work", "thr", "pool", "pool-s", "arena",
               "arena-s", "glibc", "p/a", "p/g", "ps/as", "ps/g");

        for (Work w = 0; w < _WORK_MAX; w++)
                for (unsigned nt = 1; nt <= 2; nt++) {
                        double ns[_ALLOC_MAX][MAX_ROUNDS], ratio[4][MAX_ROUNDS];
                        for (unsigned i = 0; i < rounds; i++) {
                                for (unsigned k = 0; k < _ALLOC_MAX; k++) {
                                        Alloc a = (Alloc) ((i + k) % _ALLOC_MAX);
                                        ns[a][i] = run(loops[w][a], nt);
                                }
                                ratio[0][i] = ns[ALLOC_POOL][i] / ns[ALLOC_ARENA][i];
                                ratio[1][i] = ns[ALLOC_POOL][i] / ns[ALLOC_GLIBC][i];
                                ratio[2][i] = ns[ALLOC_POOL_SIZED][i] / ns[ALLOC_ARENA_SIZED][i];
                                ratio[3][i] = ns[ALLOC_POOL_SIZED][i] / ns[ALLOC_GLIBC][i];
                        }
                        printf("%-7s %-3u", work_name[w], nt);
                        for (Alloc a = 0; a < _ALLOC_MAX; a++)
                                printf(" %7.2f", median(ns[a], rounds));
                        printf("  ");
                        for (unsigned k = 0; k < 4; k++)
                                printf(" %-6.3f", median(ratio[k], rounds));
                        printf("\n");
                        fflush(stdout);
                }

        printf("(pool: pool_malloc + pool_free; pool-s: pool_malloc + pool_free_sized; arena: a jemalloc arena with\n"
               " an explicit tcache, mallocx + dallocx; arena-s: mallocx + sdallocx; glibc: __libc_malloc + __libc_free.\n"
               " p/a = pool/arena, p/g = pool/glibc, ps/as = pool-s/arena-s, ps/g = pool-s/glibc;\n"
               " goals: pool/arena <= 1.05, pool/glibc <= 1.00)\n");
        pool_close(bench_pool);
        return 0;
}
