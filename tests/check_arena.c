/* SPDX-License-Identifier: MIT */
/* libpoold's arenas: the extent hooks' accounting, the pool API on top of
 * them, Max, shrinking with a real RSS measurement, NUMA policy, tcaches. */
#include <check.h>
#include <errno.h>
#include <linux/mempolicy.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libpoold-test.h"
#include "pool-internal.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)

static uint64_t rss_bytes(void) {
        FILE *f = fopen("/proc/self/statm", "re");
        ck_assert_ptr_nonnull(f);
        char buf[256];
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        fclose(f);
        char *end;
        (void) strtoull(buf, &end, 10); /* size */
        uint64_t pages = strtoull(end, &end, 10);
        return pages * (uint64_t) sysconf(_SC_PAGESIZE);
}


/* --- the hooks, called directly --- */

static BudgetPage *hook_page(uint64_t max, uint64_t target) {
        BudgetPage *pg;
        ck_assert_int_eq(budget_page_create(1, 1, &pg), 0);
        ck_assert_int_eq(budget_page_init_pool(pg, 0, "hooks", max, target, BUDGET_NUMA_LOCAL, NULL), 0);
        return pg;
}

START_TEST(test_hooks_commit_charges) {
        BudgetPage *pg = hook_page(8 * M, 3 * M);
        BudgetPool *bp = budget_page_pool(pg, 0);
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ArenaHooks h;
        arena_hooks_init(&h, bp, NULL, -1, NULL, efd);
        extent_hooks_t *x = &h.hooks;

        /* Reserved, not committed: nothing charged. 2 MiB aligned as asked. */
        bool zero = false, commit = false;
        char *p = x->alloc(x, NULL, 4 * M, 2 * M, &zero, &commit, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t) p % (2 * M), 0);
        ck_assert(zero);
        ck_assert(!commit);
        ck_assert_uint_eq(atomic_load(&bp->charged), 0);

        /* Commit 2 MiB of it: charged, writable, still under target. */
        ck_assert(!x->commit(x, p, 4 * M, 0, 2 * M, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 2 * M);
        ck_assert_uint_eq(atomic_load(&h.committed), 2 * M);
        memset(p, 0x5a, 2 * M);
        ck_assert_int_eq(atomic_load(&h.over_target), 0);

        /* The other 2 MiB: 4 MiB > target 3 MiB: flagged, eventfd readable. */
        ck_assert(!x->commit(x, p, 4 * M, 2 * M, 2 * M, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 4 * M);
        ck_assert_int_eq(atomic_load(&h.over_target), 1);
        uint64_t v = 0;
        ck_assert_int_eq(read(efd, &v, sizeof v), (ssize_t) sizeof v);
        ck_assert_uint_eq(v, 1);

        /* Decommit the first half: uncharged, and the pages are gone. */
        ck_assert(!x->decommit(x, p, 4 * M, 0, 2 * M, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 2 * M);
        unsigned char vec[512];
        ck_assert_int_eq(mincore(p, 2 * M, vec), 0);
        unsigned resident = 0;
        for (size_t i = 0; i < 2 * M / (size_t) sysconf(_SC_PAGESIZE); i++)
                resident += vec[i] & 1;
        ck_assert_uint_eq(resident, 0);

        /* A commit that would pass Max fails and charges nothing. */
        bool zero2 = false, commit2 = false;
        char *q = x->alloc(x, NULL, 8 * M, 4096, &zero2, &commit2, 0);
        ck_assert_ptr_nonnull(q);
        ck_assert(x->commit(x, q, 8 * M, 0, 7 * M, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 2 * M);
        ck_assert_uint_eq(atomic_load(&h.commit_failures), 1);
        ck_assert_int_eq(atomic_load(&h.over_max), 1);
        ck_assert_uint_eq(atomic_load(&bp->commit_failures), 1);

        /* An alloc asked committed is charged whole, and refused over Max. */
        bool zero3 = false, commit3 = true;
        char *r = x->alloc(x, NULL, 6 * M + 4096, 4096, &zero3, &commit3, 0);
        ck_assert_ptr_null(r);
        ck_assert_uint_eq(atomic_load(&bp->charged), 2 * M);
        r = x->alloc(x, NULL, 1 * M, 4096, &zero3, &commit3, 0);
        ck_assert_ptr_nonnull(r);
        ck_assert(commit3);
        ck_assert_uint_eq(atomic_load(&bp->charged), 3 * M);
        memset(r, 1, M);

        /* dalloc of part of a mapping opts out (returns true): the range
         * stays mapped and charged, jemalloc decommits and retains it.
         * Split and merge are allowed. */
        ck_assert(!x->split(x, p, 4 * M, 2 * M, 2 * M, false, 0));
        ck_assert(x->dalloc(x, p, 2 * M, false, 0));
        ck_assert(x->dalloc(x, p + 2 * M, 2 * M, true, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 3 * M);
        ck_assert_uint_eq(atomic_load(&h.reserved), 4 * M + 8 * M + 1 * M);
        memset(p + 2 * M, 1, 2 * M); /* still there */
        ck_assert(!x->decommit(x, p, 4 * M, 2 * M, 2 * M, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 1 * M);
        /* A whole mapping is unmapped (and uncharged if committed). */
        ck_assert(!x->dalloc(x, r, M, true, 0));
        ck_assert_uint_eq(atomic_load(&bp->charged), 0);
        ck_assert_int_eq(msync(r, M, MS_ASYNC), -1); /* ENOMEM: unmapped */
        ck_assert(!x->dalloc(x, q, 8 * M, false, 0));
        ck_assert_uint_eq(atomic_load(&h.reserved), 4 * M);
        /* destroy unmaps a mapping once all of its parts are destroyed. */
        x->destroy(x, p, 2 * M, false, 0);
        ck_assert_int_eq(msync(p, 4 * M, MS_ASYNC), 0);
        ck_assert_uint_eq(atomic_load(&h.reserved), 4 * M);
        x->destroy(x, p + 2 * M, 2 * M, false, 0);
        ck_assert_int_eq(msync(p, 4 * M, MS_ASYNC), -1);
        ck_assert_uint_eq(atomic_load(&h.reserved), 0);
        ck_assert_uint_eq(atomic_load(&bp->charged), 0);
        ck_assert_uint_eq(atomic_load(&h.committed), 0);

        close(efd);
        budget_page_unmap(pg);
}
END_TEST

START_TEST(test_hooks_fixed_address) {
        BudgetPage *pg = hook_page(64 * M, 64 * M);
        ArenaHooks h;
        arena_hooks_init(&h, budget_page_pool(pg, 0), NULL, -1, NULL, -1);
        extent_hooks_t *x = &h.hooks;

        bool zero, commit = true;
        char *p = x->alloc(x, NULL, 2 * M, 4096, &zero, &commit, 0);
        ck_assert_ptr_nonnull(p);
        /* Expanding in place: the range right after is free, then taken. */
        char *q = x->alloc(x, p + 2 * M, M, 4096, &zero, &commit, 0);
        if (q) { /* someone may own that range; then NULL is the right answer */
                ck_assert_ptr_eq(q, p + 2 * M);
                ck_assert(!x->merge(x, p, 2 * M, q, M, true, 0));
                ck_assert_ptr_null(x->alloc(x, p + 2 * M, M, 4096, &zero, &commit, 0));
                /* Merged across two mappings: not one whole mapping, so
                 * dalloc opts out; each mapping alone goes. */
                ck_assert(x->dalloc(x, p, 3 * M, true, 0));
                ck_assert(!x->dalloc(x, q, M, true, 0));
        }
        ck_assert(!x->dalloc(x, p, 2 * M, true, 0));
        ck_assert_uint_eq(atomic_load(&h.reserved), 0);
        ck_assert_uint_eq(atomic_load(&budget_page_pool(pg, 0)->charged), 0);
        budget_page_unmap(pg);
}
END_TEST

/* --- pool_open --- */

START_TEST(test_open_errors) {
        Pool *p;
        PoolOpenOptions o = { .flags = POOL_OPEN_STANDALONE, .max = 64 * M };

        ck_assert_int_eq(pool_open("Data", &o, &p), -EINVAL);
        ck_assert_int_eq(pool_open("", &o, &p), -EINVAL);
        ck_assert_int_eq(pool_open("a23456789012345678901234567890123", &o, &p), -EINVAL);
        ck_assert_int_eq(pool_open("data", &o, NULL), -EINVAL);
        o.max = 0;
        ck_assert_int_eq(pool_open("data", &o, &p), -EINVAL);
        o.max = 64 * M;
        o.target = 65 * M;
        ck_assert_int_eq(pool_open("data", &o, &p), -EINVAL);
        o.target = 0;
        o.flags |= 1U << 7;
        ck_assert_int_eq(pool_open("data", &o, &p), -EINVAL);
        o.flags = POOL_OPEN_STANDALONE;
        o.numa_mode = POOL_NUMA_BIND; /* with no nodes */
        ck_assert_int_eq(pool_open("data", &o, &p), -EINVAL);
        o.numa_mode = 9;
        ck_assert_int_eq(pool_open("data", &o, &p), -EINVAL);
        o.numa_mode = POOL_NUMA_LOCAL;

        /* Too small for the arena's own metadata (about 2 MiB). */
        o.max = 64 * K;
        ck_assert_int_eq(pool_open("data", &o, &p), -ENOMEM);

        /* A 32-character name is the longest. */
        o.max = 64 * M;
        ck_assert_int_eq(pool_open("a2345678901234567890123456789012", &o, &p), 0);
        ck_assert_str_eq(pool_name(p), "a2345678901234567890123456789012");
        pool_close(p);
}
END_TEST

START_TEST(test_open_without_daemon) {
        char dir[] = "/tmp/check-arena-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        char path[64];
        snprintf(path, sizeof path, "%s/control.sock", dir);
        PoolOpenOptions o = { .socket_path = path };
        Pool *p;

        /* No socket: poold is not running. */
        ck_assert_int_eq(pool_open("data", &o, &p), -ENOENT);

        /* A socket nobody listens on: poold died. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(pool_open("data", &o, &p), -ECONNREFUSED);
        /* A live poold: tests/check_pool_daemon.c. */

        close(fd);
        unlink(path);
        rmdir(dir);
}
END_TEST

/* --- allocation --- */

typedef struct ThreadAlloc {
        Pool *p;
        unsigned arena;
        bool ok;
} ThreadAlloc;

static void *thread_alloc(void *arg) {
        ThreadAlloc *t = arg;
        t->ok = true;
        for (size_t n = 8; n <= 4 * M; n *= 2) {
                void *a = pool_malloc(t->p, n);
                unsigned i;
                t->ok = t->ok && a && arena_lookup(a, &i) == 0 && i == t->arena;
                pool_free(t->p, a);
        }
        return NULL;
}

START_TEST(test_alloc_from_own_arena) {
        Pool *p = test_open_standalone("alpha", 256 * M, 0, 0);
        Pool *q = test_open_standalone("beta", 256 * M, 0, 0);
        PoolStats ps, qs;
        ck_assert_int_eq(pool_stats(p, &ps), 0);
        ck_assert_int_eq(pool_stats(q, &qs), 0);
        ck_assert_uint_ne(ps.arena, qs.arena);
        ck_assert_uint_ne(ps.arena, 0);

        /* Interleaved frees and allocations of both pools and of malloc():
         * with the automatic tcache these would cross arenas. */
        void *a[64], *b[64], *m[64];
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 64; i++) {
                        a[i] = pool_malloc(p, 48);
                        b[i] = pool_malloc(q, 48);
                        m[i] = malloc(48);
                        ck_assert_uint_eq(test_arena_of(a[i]), ps.arena);
                        ck_assert_uint_eq(test_arena_of(b[i]), qs.arena);
                }
                for (int i = 0; i < 64; i++) {
                        pool_free(p, a[i]);
                        pool_free(q, b[i]);
                        free(m[i]);
                }
        }

        /* calloc zeroes, realloc keeps contents and the arena, sizes small
         * to large. */
        unsigned char *c = pool_calloc(p, 1000, 10);
        ck_assert_ptr_nonnull(c);
        for (int i = 0; i < 10000; i++)
                ck_assert_int_eq(c[i], 0);
        memset(c, 7, 10000);
        c = pool_realloc(p, c, 3 * M);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(test_arena_of(c), ps.arena);
        ck_assert_int_eq(c[9999], 7);
        ck_assert_uint_ge(pool_usable_size(p, c), 3 * M);
        c = pool_realloc(p, c, 16);
        ck_assert_uint_eq(test_arena_of(c), ps.arena);
        ck_assert_int_eq(c[15], 7);
        ck_assert_ptr_null(pool_realloc(p, c, 0));
        void *z = pool_realloc(p, NULL, 100);
        ck_assert_uint_eq(test_arena_of(z), ps.arena);
        pool_free(p, z);
        pool_free(p, NULL);
        z = pool_malloc(p, 0);
        ck_assert_ptr_nonnull(z);
        pool_free(p, z);

        /* Other threads: their own tcaches, the same arena. */
        ThreadAlloc t[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
                t[i] = (ThreadAlloc) { .p = i % 2 ? q : p, .arena = i % 2 ? qs.arena : ps.arena };
                ck_assert_int_eq(pthread_create(&th[i], NULL, thread_alloc, &t[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                ck_assert_msg(t[i].ok, "thread %d allocated outside its pool's arena", i);
        }
        /* Their tcaches were destroyed at thread exit: only this thread's remain. */
        ck_assert_uint_eq(p->n_tcaches, 1);
        ck_assert_uint_eq(q->n_tcaches, 1);

        pool_close(q);
        pool_close(p);
}
END_TEST

START_TEST(test_charge_is_mapped) {
        Pool *p = test_open_standalone("mapped", 1024 * M, 0, 0);
        void *v[2000];
        for (int i = 0; i < 2000; i++) {
                v[i] = pool_malloc(p, (size_t) (i % 50 + 1) * 1000);
                ck_assert_ptr_nonnull(v[i]);
        }
        void *big = pool_malloc(p, 40 * M);
        ck_assert_ptr_nonnull(big);

        PoolStats s;
        ck_assert_int_eq(pool_stats(p, &s), 0);
        /* Committed bytes, metadata included, are exactly what jemalloc
         * counts as mapped; reserved address space is not charged. */
        ck_assert_uint_eq(s.charged, s.mapped);
        ck_assert_uint_eq(s.charged_self, s.charged);
        ck_assert_uint_ge(s.allocated, 40 * M + 2000 * 1000);
        ck_assert_uint_le(s.allocated, s.charged);
        ck_assert_uint_gt(s.retained, 0);

        for (int i = 0; i < 2000; i++)
                pool_free(p, v[i]);
        pool_free(p, big);
        ck_assert_int_eq(pool_shrink_now(p, NULL), 0);
        ck_assert_int_eq(pool_stats(p, &s), 0);
        ck_assert_uint_eq(s.charged, s.mapped);
        /* what is left is metadata (a few MiB), not the 40 MiB */
        ck_assert_uint_lt(s.charged, 16 * M);
        pool_close(p);
}
END_TEST

START_TEST(test_max_enomem) {
        Pool *p = test_open_standalone("capped", 32 * M, 0, 0);
        void *v[4096];
        size_t n = 0;

        errno = 0;
        for (; n < ELEMENTSOF(v); n++) {
                v[n] = pool_malloc(p, 64 * K);
                if (!v[n])
                        break;
                memset(v[n], 1, 64 * K); /* the memory is really there */
        }
        /* It stopped at Max, cleanly, and we are alive to check. */
        ck_assert_uint_lt(n, ELEMENTSOF(v));
        ck_assert_int_eq(errno, ENOMEM);
        /* Most of the 32 MiB went to allocations: the rest is metadata and slab slack. */
        ck_assert_uint_ge(n * 64 * K, 24 * M);

        PoolStats s;
        ck_assert_int_eq(pool_stats(p, &s), 0);
        ck_assert_uint_le(s.charged, 32 * M);
        ck_assert_uint_le(s.peak, 32 * M);
        ck_assert_uint_gt(s.commit_failures, 0);

        /* Large requests and calloc overflow fail the same way. */
        errno = 0;
        ck_assert_ptr_null(pool_malloc(p, 64 * M));
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        ck_assert_ptr_null(pool_calloc(p, SIZE_MAX / 2, 4));
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        ck_assert_ptr_null(pool_realloc(p, v[0], 64 * M));
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_int_eq(((unsigned char *) v[0])[100], 1); /* untouched */

        /* Freed memory is usable again, also for a different size class
         * (after the purge the failed allocation does itself). */
        for (size_t i = 0; i < n; i++)
                pool_free(p, v[i]);
        void *big = pool_malloc(p, 20 * M);
        ck_assert_ptr_nonnull(big);
        pool_free(p, big);
        pool_close(p);
}
END_TEST

START_TEST(test_failures_at_max_bounded) {
        /* At Max, every failed allocation made jemalloc map a fresh chunk
         * (up to 8 MiB) it could not commit and keep it as retained address
         * space: 500 failures were 4 GiB. The hooks cap it. */
        Pool *p = test_open_standalone("atmax", 16 * M, 0, 0);
        void *v[1024];
        size_t n = 0;
        while (n < ELEMENTSOF(v) && (v[n] = pool_malloc(p, 64 * K)))
                n++;
        ck_assert_uint_lt(n, ELEMENTSOF(v));
        uint64_t reserved_full = atomic_load(&p->hooks->reserved);
        for (int i = 0; i < 500; i++) {
                ck_assert_ptr_null(pool_malloc(p, 64 * K));
                ck_assert_ptr_null(pool_malloc(p, 1 * M));
        }
        PoolStats s;
        ck_assert_int_eq(pool_stats(p, &s), 0);
        /* The failures mapped (almost) nothing: at most a chunk or two
         * before the first refused commit (it was 1 GiB: the cap). */
        uint64_t reserved_failed = atomic_load(&p->hooks->reserved);
        ck_assert_msg(reserved_failed - reserved_full < 32 * M, "reserved %llu -> %llu after 1000 failures",
                      (unsigned long long) reserved_full, (unsigned long long) reserved_failed);
        bool retain = false;
        size_t sz = sizeof retain;
        ck_assert_int_eq(mallctl("opt.retain", &retain, &sz, NULL, 0), 0);
        if (retain) /* without it jemalloc never grows by chunks */
                ck_assert_uint_gt(atomic_load(&p->hooks->grows_refused), 0);
        uint64_t limit = arena_reserve_limit(16 * M);
        ck_assert_uint_le(atomic_load(&p->hooks->reserved), limit);
        ck_assert_uint_le(s.retained + s.mapped, limit);
        ck_assert_uint_le(s.charged, 16 * M);
        for (size_t i = 0; i < n; i++)
                pool_free(p, v[i]);
        /* Still usable after all that. */
        void *a = pool_malloc(p, 8 * M);
        ck_assert_ptr_nonnull(a);
        pool_free(p, a);
        pool_close(p);
}
END_TEST

static void set_decay(unsigned arena, ssize_t ms) {
        char name[64];
        snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", arena);
        ck_assert_int_eq(mallctl(name, NULL, NULL, &ms, sizeof ms), 0);
        snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", arena);
        ck_assert_int_eq(mallctl(name, NULL, NULL, &ms, sizeof ms), 0);
}

/* Fills N 1 MiB blocks of P (arena ARENA), written, and checks they are P's. */
static void fill_mib(Pool *p, unsigned arena, void **v, int n, int byte) {
        for (int i = 0; i < n; i++) {
                v[i] = pool_malloc(p, M);
                ck_assert_ptr_nonnull(v[i]);
                ck_assert_uint_eq(test_arena_of(v[i]), arena);
                memset(v[i], byte, M);
        }
}

static void check_mib(void **v, int n, int byte) {
        for (int i = 0; i < n; i++)
                for (size_t k = 0; k < M; k += 4096)
                        ck_assert_int_eq(((unsigned char *) v[i])[k], byte);
}

START_TEST(test_two_pools_free_then_other) {
        /* Two pools in one process: memory freed and given back in A, then
         * allocated in B. With the old dalloc (munmap of any extent) this
         * crashed in mallocx or at arena.<i>.destroy: the munmap left a hole
         * inside one of A's mappings, B's next chunk landed in it and
         * jemalloc (opt.retain: arenas kept apart only by head extents)
         * merged A's extents into B's. */
        Pool *a = test_open_standalone("twoa", 256 * M, 0, 0);
        Pool *b = test_open_standalone("twob", 256 * M, 0, 0);
        PoolStats as, bs;
        ck_assert_int_eq(pool_stats(a, &as), 0);
        ck_assert_int_eq(pool_stats(b, &bs), 0);
        void *va[16], *vb[16];

        /* 1: free + pool_shrink_now (purge) in A, fill B. No decay, so it
         * is the shrink that gives A's pages back, whatever MALLOC_CONF. */
        set_decay(as.arena, -1);
        set_decay(bs.arena, -1);
        for (int round = 0; round < 3; round++) {
                fill_mib(a, as.arena, va, 16, 0xa1);
                for (int i = 0; i < 16; i++)
                        pool_free(a, va[i]);
                uint64_t released = 0;
                ck_assert_int_eq(pool_shrink_now(a, &released), 0);
                ck_assert_uint_ge(released, 16 * M);
                fill_mib(b, bs.arena, vb, 16, 0xb1);
                /* and back: A refills from what it retained, B stays intact */
                fill_mib(a, as.arena, va, 16, 0xa2);
                check_mib(vb, 16, 0xb1);
                for (int i = 0; i < 16; i++) {
                        pool_free(a, va[i]);
                        pool_free(b, vb[i]);
                }
                ck_assert_int_eq(pool_shrink_now(a, NULL), 0);
                ck_assert_int_eq(pool_shrink_now(b, NULL), 0);
        }

        /* 2: no explicit shrink: decay 0, so every free purges at once. */
        set_decay(as.arena, 0);
        set_decay(bs.arena, 0);
        for (int round = 0; round < 3; round++) {
                fill_mib(a, as.arena, va, 16, 0xa3);
                for (int i = 0; i < 16; i++)
                        pool_free(a, va[i]);
                fill_mib(b, bs.arena, vb, 16, 0xb3);
                fill_mib(a, as.arena, va, 16, 0xa4);
                check_mib(vb, 16, 0xb3);
                for (int i = 0; i < 16; i++)
                        pool_free(b, vb[i]);
                fill_mib(b, bs.arena, vb, 16, 0xb4);
                check_mib(va, 16, 0xa4);
                for (int i = 0; i < 16; i++) {
                        pool_free(a, va[i]);
                        pool_free(b, vb[i]);
                }
        }
        /* Freed and purged memory is uncharged: only metadata is left. */
        ck_assert_int_eq(pool_stats(a, &as), 0);
        ck_assert_uint_lt(as.charged, 16 * M);
        ck_assert_uint_eq(as.charged, as.mapped);

        pool_close(a);
        pool_close(b);
}
END_TEST

/* --- shrinking --- */

typedef struct Blocks {
        Pool *p;
        void **v;
        size_t n;      /* live blocks: v[0..n) */
        size_t size;
        unsigned calls;
        uint64_t asked;
} Blocks;

static uint64_t blocks_shrink(Pool *p, uint64_t bytes, void *userdata) {
        Blocks *b = userdata;
        uint64_t freed = 0;
        b->calls++;
        b->asked = bytes;
        while (freed < bytes && b->n > 0) {
                pool_free(p, b->v[--b->n]);
                freed += b->size;
        }
        return freed;
}

static void blocks_fill(Blocks *b, Pool *p, size_t n, size_t size) {
        *b = (Blocks) { .p = p, .v = calloc(n, sizeof(void *)), .size = size };
        ck_assert_ptr_nonnull(b->v);
        for (; b->n < n; b->n++) {
                b->v[b->n] = pool_malloc(p, size);
                ck_assert_ptr_nonnull(b->v[b->n]);
                memset(b->v[b->n], 0x33, size); /* resident, not just mapped */
        }
}

static void blocks_free(Blocks *b) {
        while (b->n > 0)
                pool_free(b->p, b->v[--b->n]);
        free(b->v);
}

START_TEST(test_shrink_rss_falls) {
        Pool *p = test_open_standalone("shrinky", 512 * M, 0, 0);
        Blocks b;
        blocks_fill(&b, p, 24576, 4096); /* 96 MiB */
        ck_assert_int_eq(pool_on_shrink(p, blocks_shrink, &b), 0);
        ck_assert_int_eq(pool_on_shrink(p, blocks_shrink, &b), -EEXIST);

        /* Nothing pending yet. */
        ck_assert_int_eq(pool_poll(p), 0);
        ck_assert_uint_eq(b.calls, 0);

        PoolStats before;
        ck_assert_int_eq(pool_stats(p, &before), 0);
        uint64_t rss_before = rss_bytes();

        /* Lower the target to 16 MiB: the fd says work is pending, poll runs it. */
        ck_assert_int_eq(pool_set_target(p, 513 * M), -ERANGE);
        ck_assert_int_eq(pool_set_target(p, 16 * M), 0);
        struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
        ck_assert_int_eq(poll(&pfd, 1, 0), 1);
        ck_assert_int_eq(pool_poll(p), 1);
        ck_assert_uint_eq(b.calls, 1);
        /* Asked down to 1/64 under the target (hysteresis). */
        ck_assert_uint_eq(b.asked, before.charged - (16 * M - 16 * M / 64));

        PoolStats after;
        ck_assert_int_eq(pool_stats(p, &after), 0);
        uint64_t rss_after = rss_bytes();
        ck_assert_uint_le(after.charged, 16 * M);
        ck_assert_uint_eq(after.n_shrinks, 1);
        ck_assert_uint_eq(after.shrink_requested, b.asked);
        ck_assert_uint_ge(after.shrink_reported, after.shrink_requested);
        ck_assert_uint_eq(after.shrink_released, before.charged - after.charged);
        /* The real measure: ~80 MiB freed and purged; RSS must fall by at
         * least 60 MiB (generous: other allocations of this process move it). */
        ck_assert_msg(rss_before > rss_after && rss_before - rss_after >= 60 * M,
                      "RSS %llu -> %llu", (unsigned long long) rss_before, (unsigned long long) rss_after);

        /* Done: nothing pending; a raised target does not call anyone. */
        ck_assert_int_eq(pool_poll(p), 0);
        ck_assert_int_eq(pool_set_target(p, 256 * M), 0);
        ck_assert_int_eq(pool_poll(p), 0);
        ck_assert_uint_eq(b.calls, 1);
        ck_assert_int_eq(pool_stats(p, &after), 0);
        ck_assert_uint_eq(after.n_shrinks, 1);

        /* Again, from a pool refilled through memory freed but not purged. */
        blocks_free(&b);
        blocks_fill(&b, p, 24576, 4096); /* resets b.calls */
        ck_assert_int_eq(pool_set_target(p, 64 * M), 0);
        ck_assert_int_eq(pool_poll(p), 1);
        ck_assert_uint_eq(b.calls, 1);
        ck_assert_int_eq(pool_stats(p, &after), 0);
        ck_assert_uint_le(after.charged, 64 * M);

        ck_assert_int_eq(pool_remove_shrink(p, blocks_shrink, &b), 0);
        ck_assert_int_eq(pool_remove_shrink(p, blocks_shrink, &b), -ENOENT);
        blocks_free(&b);
        pool_close(p);
}
END_TEST

static uint64_t anon_huge_bytes(void) {
        FILE *f = fopen("/proc/self/smaps_rollup", "re");
        ck_assert_ptr_nonnull(f);
        char line[256];
        uint64_t kb = 0;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, "AnonHugePages:", 14) == 0)
                        kb = strtoull(line + 14, NULL, 10);
        fclose(f);
        return kb * K;
}

/* Whether THP may back a MADV_HUGEPAGE range here ("always" or "madvise"). */
static bool thp_possible(void) {
        FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
        char line[128] = "";
        if (!f)
                return false;
        bool ok = fgets(line, sizeof line, f) && !strstr(line, "[never]");
        fclose(f);
        return ok;
}

/* poold's HugePages=yes reaches the arena through the budget page as the
 * application's flag does; without either, no huge pages. */
START_TEST(test_hugepages_from_page) {
        for (int with = 0; with <= 1; with++) {
                BudgetPage *pg;
                ck_assert_int_eq(budget_page_create(1, 4, &pg), 0);
                ck_assert_int_eq(budget_page_init_pool(pg, 0, "fromconf", 256 * M, 256 * M, BUDGET_NUMA_LOCAL, NULL),
                                 0);
                atomic_store(&budget_page_pool(pg, 0)->flags, with ? BUDGET_POOL_HUGEPAGES : 0);
                Pool *p;
                ck_assert_int_eq(pool_open_page("fromconf", 0, pg, true, &p), 0);
                ck_assert(p->hooks->hugepages == (bool) with);
                pool_close(p);
        }
}
END_TEST

/* POOL_OPEN_HUGEPAGES: the arena's memory comes in huge pages, the charge
 * still follows commits, and a shrink still gives the memory back, twice
 * (commit after decommit needs no mprotect: the range stayed read-write). */
START_TEST(test_hugepages) {
        uint64_t huge_before = anon_huge_bytes();
        Pool *p = test_open_standalone("huge", 512 * M, 0, POOL_OPEN_HUGEPAGES);
        Blocks b;
        blocks_fill(&b, p, 24576, 4096); /* 96 MiB */
        ck_assert_int_eq(pool_on_shrink(p, blocks_shrink, &b), 0);

        uint64_t huge = anon_huge_bytes() - huge_before;
        if (thp_possible())
                /* 96 MiB touched; fault-time THP may fall back to 4 KiB
                 * pages where no 2 MiB block is free: ask for a third. */
                ck_assert_msg(huge >= 32 * M, "AnonHugePages grew by %llu", (unsigned long long) huge);

        PoolStats st;
        ck_assert_int_eq(pool_stats(p, &st), 0);
        ck_assert_uint_ge(st.charged, 96 * M);
        ck_assert_uint_eq(st.charged, atomic_load(&p->hooks->committed));
        uint64_t rss_before = rss_bytes();

        for (int round = 0; round < 2; round++) {
                ck_assert_int_eq(pool_set_target(p, 16 * M), 0);
                ck_assert_int_eq(pool_poll(p), 1);
                ck_assert_int_eq(pool_stats(p, &st), 0);
                ck_assert_uint_le(st.charged, 16 * M);
                uint64_t rss_after = rss_bytes();
                ck_assert_msg(rss_before > rss_after && rss_before - rss_after >= 60 * M, "round %d: RSS %llu -> %llu",
                              round, (unsigned long long) rss_before, (unsigned long long) rss_after);

                /* Refill: the decommitted ranges are committed again and written. */
                blocks_free(&b);
                ck_assert_int_eq(pool_set_target(p, 512 * M), 0);
                blocks_fill(&b, p, 24576, 4096);
                ck_assert_int_eq(pool_stats(p, &st), 0);
                ck_assert_uint_ge(st.charged, 96 * M);
                rss_before = rss_bytes();
        }
        ck_assert_int_eq(pool_remove_shrink(p, blocks_shrink, &b), 0);
        blocks_free(&b);
        pool_close(p);
}
END_TEST

START_TEST(test_commit_over_target_pending) {
        Pool *p = test_open_standalone("growing", 256 * M, 32 * M, 0);
        Blocks b;
        ck_assert_int_eq(pool_poll(p), 0);
        blocks_fill(&b, p, 12288, 4096); /* 48 MiB > 32 MiB target */
        ck_assert_int_eq(pool_on_shrink(p, blocks_shrink, &b), 0);
        /* No set_target: the commit hook noticed and wrote the eventfd. */
        struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
        ck_assert_int_eq(poll(&pfd, 1, 0), 1);
        ck_assert_int_eq(pool_poll(p), 1);
        ck_assert_uint_eq(b.calls, 1);
        PoolStats s;
        ck_assert_int_eq(pool_stats(p, &s), 0);
        ck_assert_uint_le(s.charged, 32 * M);
        blocks_free(&b);
        pool_close(p);
}
END_TEST

START_TEST(test_shrink_thread) {
        Pool *p = test_open_standalone("threaded", 512 * M, 0, POOL_OPEN_SHRINK_THREAD);
        Blocks b;
        blocks_fill(&b, p, 16384, 4096); /* 64 MiB */

        /* The callback runs on the library's thread: it touches b, so take
         * its registration after filling and only read b after the thread
         * reported the shrink through the stats. */
        ck_assert_int_eq(pool_on_shrink(p, blocks_shrink, &b), 0);
        ck_assert_int_eq(pool_set_target(p, 8 * M), 0);

        PoolStats s = {};
        /* Bounded wait, not a speed assertion: 10 s for what takes ms. */
        for (int i = 0; i < 1000; i++) {
                ck_assert_int_eq(pool_stats(p, &s), 0);
                if (s.n_shrinks > 0)
                        break;
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        ck_assert_uint_eq(s.n_shrinks, 1);
        ck_assert_uint_le(s.charged, 8 * M);
        ck_assert_int_eq(pool_remove_shrink(p, blocks_shrink, &b), 0);
        ck_assert_uint_eq(b.calls, 1);
        blocks_free(&b);
        pool_close(p);
}
END_TEST

/* --- close, pages shared with others, NUMA --- */

START_TEST(test_close_returns_charge) {
        BudgetPage *pg;
        ck_assert_int_eq(budget_page_create(3, 4, &pg), 0);
        ck_assert_int_eq(budget_page_init_pool(pg, 2, "shared", 256 * M, 256 * M, BUDGET_NUMA_LOCAL, NULL), 0);
        BudgetPool *bp = budget_page_pool(pg, 2);

        Pool *p, *q;
        ck_assert_int_eq(pool_open_page("missing", 0, pg, false, &p), -ENOENT);
        ck_assert_int_eq(pool_open_page("shared", 0, pg, false, &p), 0);
        ck_assert_int_eq(pool_open_page("shared", 0, pg, false, &q), 0);
        ck_assert_ptr_ne(p->proc, q->proc);

        void *a = pool_malloc(p, 10 * M), *b = pool_malloc(q, 100);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        PoolStats ps, qs;
        ck_assert_int_eq(pool_stats(p, &ps), 0);
        ck_assert_int_eq(pool_stats(q, &qs), 0);
        /* Two arenas, one budget: the page holds the sum. */
        ck_assert_uint_eq(atomic_load(&bp->charged), ps.charged_self + qs.charged_self);
        ck_assert_uint_eq(atomic_load(&p->proc->charged), ps.charged_self);

        /* Close with live allocations: the arena goes, and its charge with it. */
        pool_close(p);
        ck_assert_uint_eq(atomic_load(&bp->charged), qs.charged_self);
        pool_close(q);
        ck_assert_uint_eq(atomic_load(&bp->charged), 0);
        for (unsigned j = 0; j < 4; j++)
                ck_assert_int_eq(atomic_load(&budget_page_proc(pg, 2, j)->pid), 0);
        budget_page_unmap(pg);
}
END_TEST

START_TEST(test_numa_policy) {
        PoolOpenOptions o = { .flags = POOL_OPEN_STANDALONE, .max = 64 * M, .numa_mode = POOL_NUMA_BIND };
        o.numa_nodes[0] = 1; /* node 0 exists everywhere */
        Pool *p;
        ck_assert_int_eq(pool_open("bound", &o, &p), 0);

        void *a = pool_malloc(p, 1 * M);
        ck_assert_ptr_nonnull(a);
        memset(a, 1, M);
        int mode = -1;
        unsigned long mask[BUDGET_NUMA_NODES_MAX / 64] = {};
        ck_assert_int_eq(syscall(SYS_get_mempolicy, &mode, mask, (unsigned long) BUDGET_NUMA_NODES_MAX + 1, a,
                                 (unsigned long) MPOL_F_ADDR),
                         0);
        ck_assert_int_eq(mode, MPOL_BIND);
        ck_assert_uint_eq(mask[0], 1);
        pool_free(p, a);
        pool_close(p);

        o.numa_mode = POOL_NUMA_INTERLEAVE;
        ck_assert_int_eq(pool_open("inter", &o, &p), 0);
        a = pool_malloc(p, 1 * M);
        ck_assert_int_eq(syscall(SYS_get_mempolicy, &mode, mask, (unsigned long) BUDGET_NUMA_NODES_MAX + 1, a,
                                 (unsigned long) MPOL_F_ADDR),
                         0);
        ck_assert_int_eq(mode, MPOL_INTERLEAVE);
        pool_free(p, a);
        pool_close(p);

        /* Node 1000 exists on no machine we run on: refused at open. */
        o.numa_mode = POOL_NUMA_BIND;
        o.numa_nodes[0] = 0;
        o.numa_nodes[1000 / 64] = UINT64_C(1) << (1000 % 64);
        ck_assert_int_eq(pool_open("nowhere", &o, &p), -EINVAL);
}
END_TEST

START_TEST(test_many_pools) {
        Pool *p[POOL_SLOTS_MAX + 1];
        char name[16];
        for (unsigned i = 0; i < POOL_SLOTS_MAX; i++) {
                snprintf(name, sizeof name, "p%u", i);
                p[i] = test_open_standalone(name, 8 * M, 0, 0);
        }
        PoolOpenOptions o = { .flags = POOL_OPEN_STANDALONE, .max = 8 * M };
        ck_assert_int_eq(pool_open("onemore", &o, &p[POOL_SLOTS_MAX]), -EMFILE);

        /* Close one and reopen: the slot is reused by a pool with a new
         * identity; this thread's stale slot must not be taken for it. */
        void *a = pool_malloc(p[5], 64);
        unsigned old = test_arena_of(a);
        pool_free(p[5], a);
        pool_close(p[5]);
        p[5] = test_open_standalone("again", 8 * M, 0, 0);
        a = pool_malloc(p[5], 64);
        PoolStats s;
        ck_assert_int_eq(pool_stats(p[5], &s), 0);
        ck_assert_uint_eq(test_arena_of(a), s.arena);
        (void) old;
        pool_free(p[5], a);

        for (unsigned i = 0; i < POOL_SLOTS_MAX; i++)
                pool_close(p[i]);
        ck_assert_ptr_null(pool_close(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("arena");
        TCase *tc = tcase_create("arena");
        tcase_set_timeout(tc, 60);

        tcase_add_test(tc, test_hooks_commit_charges);
        tcase_add_test(tc, test_hooks_fixed_address);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_open_without_daemon);
        tcase_add_test(tc, test_alloc_from_own_arena);
        tcase_add_test(tc, test_charge_is_mapped);
        tcase_add_test(tc, test_max_enomem);
        tcase_add_test(tc, test_failures_at_max_bounded);
        tcase_add_test(tc, test_two_pools_free_then_other);
        tcase_add_test(tc, test_shrink_rss_falls);
        tcase_add_test(tc, test_hugepages);
        tcase_add_test(tc, test_hugepages_from_page);
        tcase_add_test(tc, test_commit_over_target_pending);
        tcase_add_test(tc, test_shrink_thread);
        tcase_add_test(tc, test_close_returns_charge);
        tcase_add_test(tc, test_numa_policy);
        tcase_add_test(tc, test_many_pools);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
