/* SPDX-License-Identifier: MIT */
/* libpoold's front cache (client/libpoold/front.h): the class table against
 * jemalloc's, objects never crossing pools or classes, the bounds, and that
 * what it holds goes back to the arena at a shrink (from another thread),
 * at thread exit, and is forgotten, not freed, when its pool is closed. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front.h"
#include "libpoold-test.h"
#include "pool-internal.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)

static Pool *open_standalone(const char *name, uint64_t max) {
        return test_open_standalone(name, max, 0, 0);
}


static uint64_t allocated(Pool *p) {
        PoolStats st;
        ck_assert_int_eq(pool_stats(p, &st), 0);
        return st.allocated;
}

static uint64_t held_objects(Pool *p) {
        uint64_t n, bytes;
        pool_front_held(p, &n, &bytes);
        return n;
}

START_TEST(test_class_table) {
        ck_assert_int_eq(front_init(), 0);
        unsigned last = 0;
        for (size_t n = 1; n <= FRONT_MAX_SIZE; n++) {
                unsigned c = front_class(n);
                ck_assert_uint_ne(c, FRONT_NO_CLASS);
                ck_assert_uint_lt(c, FRONT_CLASSES_MAX);
                /* the class jemalloc gives N, and classes in order */
                ck_assert_uint_eq(front_class_size(c), nallocx(n, 0));
                ck_assert_uint_ge(c, last);
                last = c;
        }
        ck_assert_uint_eq(front_class(0), FRONT_NO_CLASS);
        ck_assert_uint_eq(front_class(FRONT_MAX_SIZE + 1), FRONT_NO_CLASS);
        ck_assert_uint_eq(front_class(SIZE_MAX), FRONT_NO_CLASS);
        /* a class's own size maps back to it (pool_free() looks up that way) */
        for (unsigned c = 0; c <= last; c++)
                ck_assert_uint_eq(front_class(front_class_size(c)), c);
}
END_TEST

/* Frees into pool A, allocates from pool B, in every size up to past the
 * front cache's: B never gets A's object, every object is in its pool's
 * arena and big enough. */
START_TEST(test_never_crosses_pools) {
        Pool *a = open_standalone("fa", 256 * M), *b = open_standalone("fb", 256 * M);
        PoolStats sa, sb;
        ck_assert_int_eq(pool_stats(a, &sa), 0);
        ck_assert_int_eq(pool_stats(b, &sb), 0);

        uint64_t x = 88172645463325252ULL;
        for (int i = 0; i < 20000; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                size_t n = 1 + x % (FRONT_MAX_SIZE + 512);
                void *pa = pool_malloc(a, n);
                ck_assert_ptr_nonnull(pa);
                ck_assert_uint_eq(test_arena_of(pa), sa.arena);
                ck_assert_uint_ge(pool_usable_size(a, pa), n);
                memset(pa, 0xa5, n);
                pool_free(a, pa);

                void *pb = pool_malloc(b, n);
                ck_assert_ptr_nonnull(pb);
                ck_assert_ptr_ne(pb, pa);
                ck_assert_uint_eq(test_arena_of(pb), sb.arena);
                ck_assert_uint_ge(pool_usable_size(b, pb), n);
                if (i % 2)
                        pool_free(b, pb);
                else
                        pool_free_sized(b, pb, n);
        }
        pool_close(a);
        pool_close(b);
}
END_TEST

/* Same class, last in first out; a class never serves another's request. */
START_TEST(test_reuse_by_class) {
        Pool *p = open_standalone("fr", 64 * M);
        void *o64 = pool_malloc(p, 64), *o100 = pool_malloc(p, 100);
        pool_free(p, o64);
        pool_free(p, o100);
        ck_assert_uint_eq(held_objects(p), 2);

        void *again = pool_malloc(p, 57); /* class 64 */
        ck_assert_ptr_eq(again, o64);
        void *big = pool_malloc(p, 200); /* class 224: not 100's 112 */
        ck_assert_ptr_ne(big, o100);
        ck_assert_uint_ge(pool_usable_size(p, big), 200);
        void *o = pool_malloc(p, 112);
        ck_assert_ptr_eq(o, o100);

        /* calloc from the front cache is zeroed */
        memset(o, 0xff, 112);
        pool_free(p, o);
        unsigned char *z = pool_calloc(p, 1, 112);
        ck_assert_ptr_eq(z, o);
        for (int i = 0; i < 112; i++)
                ck_assert_uint_eq(z[i], 0);

        pool_free(p, again);
        pool_free(p, big);
        pool_free(p, z);
        pool_close(p);
}
END_TEST

/* Each class keeps at most FRONT_BIN_ITEMS objects and about
 * FRONT_BIN_BYTES; all of them together stay under 384 KiB. */
START_TEST(test_bounded) {
        Pool *p = open_standalone("fbound", 256 * M);
        enum { N = 100 };
        void *v[N];
        uint64_t objects, bytes, most = 0;

        for (unsigned c = 0; c < FRONT_CLASSES_MAX && front_class_size(c) > 0; c++) {
                size_t size = front_class_size(c);
                for (int i = 0; i < N; i++)
                        ck_assert_ptr_nonnull(v[i] = pool_malloc(p, size));
                uint64_t before, b0;
                pool_front_held(p, &before, &b0);
                for (int i = 0; i < N; i++)
                        pool_free_sized(p, v[i], size);
                pool_front_held(p, &objects, &bytes);
                uint64_t in_class = objects - before;
                ck_assert_uint_ge(in_class, 1);
                ck_assert_uint_le(in_class, FRONT_BIN_ITEMS);
                ck_assert_uint_le(in_class * size, MAX((uint64_t) FRONT_BIN_BYTES, 2 * size));
                most = bytes;
        }
        /* 337 KiB with jemalloc 5.3's classes */
        ck_assert_uint_le(most, 384 * K);
        /* jemalloc counts them as allocated (and what its tcache holds)
         * until a shrink gives them back */
        ck_assert_uint_ge(allocated(p), most);
        ck_assert_int_eq(pool_shrink_now(p, NULL), 0);
        ck_assert_uint_eq(allocated(p), 0);
        pool_close(p);
}
END_TEST

typedef struct Holder {
        Pool *p;
        pthread_barrier_t *barrier;
        uint64_t held_before, held_after;
        bool exit_early;
} Holder;

static void *holder_main(void *arg) {
        Holder *h = arg;
        void *v[32];
        for (int i = 0; i < 32; i++)
                ck_assert_ptr_nonnull(v[i] = pool_malloc(h->p, 64));
        for (int i = 0; i < 32; i++)
                pool_free(h->p, v[i]);
        h->held_before = held_objects(h->p);
        if (h->exit_early)
                return NULL;
        pthread_barrier_wait(h->barrier); /* 1: holding */
        pthread_barrier_wait(h->barrier); /* 2: the other thread shrank */
        void *x = pool_malloc(h->p, 4000); /* the next call, another class */
        h->held_after = held_objects(h->p);
        pool_free(h->p, x);
        return NULL;
}

/* A shrink from another thread: the holder gives its objects back at its
 * next call, whatever the class it asks for. */
START_TEST(test_flushed_by_shrink_elsewhere) {
        Pool *p = open_standalone("fshrink", 64 * M);
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 2);
        Holder h = { .p = p, .barrier = &b };
        pthread_t t;

        ck_assert_int_eq(pthread_create(&t, NULL, holder_main, &h), 0);
        pthread_barrier_wait(&b);
        ck_assert_uint_eq(h.held_before, 32);
        ck_assert_uint_ge(allocated(p), 32 * 64);
        ck_assert_int_eq(pool_shrink_now(p, NULL), 0);
        pthread_barrier_wait(&b);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_uint_eq(h.held_after, 0);
        pthread_barrier_destroy(&b);
        pool_close(p);
}
END_TEST

/* The shrinking thread's own front cache goes at once. */
START_TEST(test_flushed_by_own_shrink) {
        Pool *p = open_standalone("fown", 64 * M);
        void *v[16];
        for (int i = 0; i < 16; i++)
                v[i] = pool_malloc(p, 256);
        for (int i = 0; i < 16; i++)
                pool_free(p, v[i]);
        ck_assert_uint_eq(held_objects(p), 16);
        ck_assert_int_eq(pool_shrink_now(p, NULL), 0);
        ck_assert_uint_eq(held_objects(p), 0);
        ck_assert_uint_eq(allocated(p), 0);
        pool_close(p);
}
END_TEST

/* A thread that exits gives back what it held (with its tcache). */
START_TEST(test_flushed_at_thread_exit) {
        Pool *p = open_standalone("fexit", 64 * M);
        Holder h = { .p = p, .exit_early = true };
        pthread_t t;

        ck_assert_int_eq(pthread_create(&t, NULL, holder_main, &h), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_uint_eq(h.held_before, 32);
        ck_assert_uint_eq(allocated(p), 0);
        pool_close(p);
}
END_TEST

/* Objects held for a pool that was closed are forgotten: its arena is gone.
 * A new pool in the same slot starts empty and allocates from its own
 * arena (a stale object would be in none, or in a new arena of someone
 * else's). */
START_TEST(test_dropped_at_close) {
        Pool *a = open_standalone("fold", 64 * M);
        void *v[8];
        for (int i = 0; i < 8; i++)
                v[i] = pool_malloc(a, 64);
        for (int i = 0; i < 8; i++)
                pool_free(a, v[i]);
        ck_assert_uint_eq(held_objects(a), 8);
        unsigned slot = a->slot;
        pool_close(a);

        Pool *b = open_standalone("fnew", 64 * M);
        ck_assert_uint_eq(b->slot, slot);
        PoolStats sb;
        ck_assert_int_eq(pool_stats(b, &sb), 0);
        for (int i = 0; i < 64; i++) {
                void *x = pool_malloc(b, 64);
                ck_assert_uint_eq(test_arena_of(x), sb.arena);
                pool_free(b, x);
        }
        ck_assert_uint_eq(held_objects(b), 1);
        pool_close(b);
}
END_TEST

/* pool_free_sized(): any size from the request to the usable size, in and
 * out of the front cache's range; NULL is nothing. */
START_TEST(test_free_sized) {
        static const size_t sizes[] = { 0, 1, 8, 100, 4096, 4097, 20000, 3 * M };
        Pool *p = open_standalone("fsized", 64 * M);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                void *x = pool_malloc(p, sizes[i]);
                ck_assert_ptr_nonnull(x);
                pool_free_sized(p, x, sizes[i]);
                x = pool_malloc(p, sizes[i]);
                pool_free_sized(p, x, pool_usable_size(p, x));
        }
        pool_free_sized(p, NULL, 64);
        uint64_t objects, bytes;
        pool_front_held(p, &objects, &bytes);
        ck_assert_uint_ge(allocated(p), bytes);
        ck_assert_int_eq(pool_shrink_now(p, NULL), 0);
        ck_assert_uint_eq(allocated(p), 0);
        pool_close(p);
}
END_TEST

/* Threads allocating and freeing at random in two pools while another
 * shrinks both again and again (each shrink moves the epoch: every thread
 * flushes at its next call). Every object carries its owner's stamp,
 * checked before it is freed: an object handed out twice, or by the wrong
 * pool, shows as a wrong stamp or arena. */
enum { STRESS_THREADS = 3, STRESS_LIVE = 256, STRESS_OPS = 300000 };

typedef struct Stress {
        Pool *pools[2];
        unsigned arenas[2];
        unsigned id;
        unsigned long failures;
} Stress;

typedef struct StressObj {
        void *p;
        size_t n;
        unsigned pool;
        uint32_t stamp;
} StressObj;

static void stamp_fill(void *p, size_t n, uint32_t stamp) {
        memset(p, (int) (stamp & 0xff), n);
        memcpy(p, &stamp, MIN(n, sizeof stamp));
}

static bool stamp_ok(const void *p, size_t n, uint32_t stamp) {
        uint32_t head = 0;
        memcpy(&head, p, MIN(n, sizeof stamp));
        if (n >= sizeof stamp && head != stamp)
                return false;
        const unsigned char *c = p;
        for (size_t i = sizeof stamp; i < n; i++)
                if (c[i] != (stamp & 0xff))
                        return false;
        return true;
}

static void *stress_main(void *arg) {
        Stress *st = arg;
        StressObj live[STRESS_LIVE] = {};
        uint64_t x = 0x9e3779b97f4a7c15ULL * (st->id + 1);
        uint32_t next_stamp = st->id << 24;

        for (int op = 0; op < STRESS_OPS; op++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                StressObj *o = &live[x % STRESS_LIVE];
                if (o->p) {
                        if (!stamp_ok(o->p, o->n, o->stamp))
                                st->failures++;
                        unsigned a;
                        if (arena_lookup(o->p, &a) < 0 || a != st->arenas[o->pool])
                                st->failures++;
                        if (x & 1)
                                pool_free_sized(st->pools[o->pool], o->p, o->n);
                        else
                                pool_free(st->pools[o->pool], o->p);
                        o->p = NULL;
                }
                o->pool = (x >> 8) & 1;
                o->n = 1 + (x >> 16) % (FRONT_MAX_SIZE + 1024);
                o->stamp = ++next_stamp;
                o->p = (x >> 9) & 1 ? pool_malloc(st->pools[o->pool], o->n)
                                    : pool_calloc(st->pools[o->pool], 1, o->n);
                if (!o->p) {
                        st->failures++;
                        continue;
                }
                stamp_fill(o->p, o->n, o->stamp);
        }
        for (int i = 0; i < STRESS_LIVE; i++)
                if (live[i].p) {
                        if (!stamp_ok(live[i].p, live[i].n, live[i].stamp))
                                st->failures++;
                        pool_free(st->pools[live[i].pool], live[i].p);
                }
        return NULL;
}

START_TEST(test_stress_with_shrinks) {
        Pool *pools[2] = { open_standalone("sa", 512 * M), open_standalone("sb", 512 * M) };
        unsigned arenas[2];
        for (int i = 0; i < 2; i++) {
                PoolStats ps;
                ck_assert_int_eq(pool_stats(pools[i], &ps), 0);
                arenas[i] = ps.arena;
        }
        Stress st[STRESS_THREADS];
        pthread_t t[STRESS_THREADS];
        for (unsigned i = 0; i < STRESS_THREADS; i++) {
                st[i] = (Stress) { .pools = { pools[0], pools[1] }, .arenas = { arenas[0], arenas[1] }, .id = i };
                ck_assert_int_eq(pthread_create(&t[i], NULL, stress_main, &st[i]), 0);
        }
        /* Shrink both pools while the threads run: at least 20 times, then
         * until they are done. */
        unsigned shrinks = 0, done = 0, shrinks_running = 0;
        bool joined[STRESS_THREADS] = {};
        while (done < STRESS_THREADS) {
                ck_assert_int_eq(pool_shrink_now(pools[shrinks % 2], NULL), 0);
                shrinks++;
                struct timespec pause = { 0, 500 * 1000 };
                nanosleep(&pause, NULL);
                for (unsigned i = 0; i < STRESS_THREADS && shrinks >= 20; i++)
                        if (!joined[i] && pthread_tryjoin_np(t[i], NULL) == 0) {
                                joined[i] = true;
                                done++;
                                if (done == 1)
                                        shrinks_running = shrinks;
                        }
        }
        /* The shrinks came while the threads worked (about 1 ms each). */
        ck_assert_uint_ge(shrinks_running, 20);
        for (unsigned i = 0; i < STRESS_THREADS; i++)
                ck_assert_uint_eq(st[i].failures, 0);
        /* The threads have exited: everything they held is back. */
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(pool_shrink_now(pools[i], NULL), 0);
                ck_assert_uint_eq(allocated(pools[i]), 0);
                pool_close(pools[i]);
        }
}
END_TEST

static Suite *front_suite(void) {
        Suite *s = suite_create("front");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_class_table);
        tcase_add_test(tc, test_never_crosses_pools);
        tcase_add_test(tc, test_reuse_by_class);
        tcase_add_test(tc, test_bounded);
        tcase_add_test(tc, test_flushed_by_shrink_elsewhere);
        tcase_add_test(tc, test_flushed_by_own_shrink);
        tcase_add_test(tc, test_flushed_at_thread_exit);
        tcase_add_test(tc, test_dropped_at_close);
        tcase_add_test(tc, test_free_sized);
        tcase_add_test(tc, test_stress_with_shrinks);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(front_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
