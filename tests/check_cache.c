/* SPDX-License-Identifier: MIT */
/* The ready cache on top of a pool: lookups, LRU order, eviction under its
 * own cap, at the pool's Max, and when the pool shrinks. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-internal.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)

static Pool *open_pool(uint64_t max) {
        PoolOpenOptions o = { .flags = POOL_OPEN_STANDALONE, .max = max };
        Pool *p;
        ck_assert_int_eq(pool_open("cache", &o, &p), 0);
        return p;
}

static int put_str(PoolCache *c, const char *k, const char *v) {
        return pool_cache_put(c, k, strlen(k), v, strlen(v) + 1);
}

static bool has(PoolCache *c, const char *k) {
        char buf[8192];
        int r = pool_cache_get(c, k, strlen(k), buf, sizeof buf, NULL);
        ck_assert(r == 0 || r == -ENOENT);
        return r == 0;
}

static void put_n(PoolCache *c, const char *prefix, unsigned from, unsigned to, size_t value_size) {
        char *v = malloc(value_size);
        ck_assert_ptr_nonnull(v);
        memset(v, 'v', value_size);
        for (unsigned i = from; i < to; i++) {
                char k[32];
                int n = snprintf(k, sizeof k, "%s%u", prefix, i);
                ck_assert_int_eq(pool_cache_put(c, k, (size_t) n, v, value_size), 0);
        }
        free(v);
}

START_TEST(test_put_get_delete) {
        Pool *p = open_pool(64 * M);
        PoolCache *c;
        ck_assert_int_eq(pool_cache_new(NULL, NULL, &c), -EINVAL);
        ck_assert_int_eq(pool_cache_new(p, NULL, &c), 0);

        ck_assert_int_eq(put_str(c, "alpha", "one"), 0);
        ck_assert_int_eq(put_str(c, "beta", "two"), 0);
        char buf[16];
        size_t n = 0;
        ck_assert_int_eq(pool_cache_get(c, "alpha", 5, buf, sizeof buf, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_str_eq(buf, "one");

        /* Replace: same key, new value, one entry. */
        ck_assert_int_eq(put_str(c, "alpha", "uno, longer"), 0);
        ck_assert_int_eq(pool_cache_get(c, "alpha", 5, buf, sizeof buf, &n), 0);
        ck_assert_str_eq(buf, "uno, longer");
        PoolCacheStats s;
        ck_assert_int_eq(pool_cache_stats(c, &s), 0);
        ck_assert_uint_eq(s.entries, 2);

        /* Too small a buffer: the size, nothing copied. */
        memset(buf, 0, sizeof buf);
        ck_assert_int_eq(pool_cache_get(c, "alpha", 5, buf, 4, &n), -ENOBUFS);
        ck_assert_uint_eq(n, 12);
        ck_assert_int_eq(buf[0], 0);

        /* Keys are bytes: a prefix or a key with a NUL inside is another key. */
        ck_assert_int_eq(pool_cache_get(c, "alph", 4, buf, sizeof buf, NULL), -ENOENT);
        ck_assert_int_eq(pool_cache_put(c, "a\0b", 3, "x", 1), 0);
        ck_assert_int_eq(pool_cache_get(c, "a\0c", 3, buf, sizeof buf, NULL), -ENOENT);
        ck_assert_int_eq(pool_cache_get(c, "a\0b", 3, buf, sizeof buf, &n), 0);
        ck_assert_uint_eq(n, 1);
        /* Empty key and empty value are fine. */
        ck_assert_int_eq(pool_cache_put(c, "", 0, NULL, 0), 0);
        ck_assert_int_eq(pool_cache_get(c, "", 0, buf, 0, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(pool_cache_put(c, NULL, 3, "x", 1), -EINVAL);

        ck_assert_int_eq(pool_cache_delete(c, "beta", 4), 0);
        ck_assert_int_eq(pool_cache_delete(c, "beta", 4), -ENOENT);
        ck_assert(!has(c, "beta"));

        ck_assert_int_eq(pool_cache_stats(c, &s), 0);
        ck_assert_uint_eq(s.entries, 3);
        ck_assert_uint_gt(s.hits, 0);
        ck_assert_uint_gt(s.misses, 0);
        ck_assert_uint_eq(s.evictions, 0);

        pool_cache_free(c);
        ck_assert_ptr_null(pool_cache_free(NULL));
        pool_close(p);
}
END_TEST

static void borrow_copy(const void *value, size_t size, void *userdata) {
        memcpy(userdata, value, size);
}

START_TEST(test_borrow) {
        Pool *p = open_pool(64 * M);
        PoolCache *c;
        ck_assert_int_eq(pool_cache_new(p, NULL, &c), 0);
        ck_assert_int_eq(put_str(c, "k", "borrowed"), 0);
        char buf[16] = {};
        ck_assert_int_eq(pool_cache_borrow(c, "k", 1, borrow_copy, buf), 0);
        ck_assert_str_eq(buf, "borrowed");
        ck_assert_int_eq(pool_cache_borrow(c, "x", 1, borrow_copy, buf), -ENOENT);
        pool_cache_free(c);
        pool_close(p);
}
END_TEST

START_TEST(test_lru_order) {
        Pool *p = open_pool(64 * M);
        PoolCache *c;
        /* An entry of a 900-byte value is 56 + 1 + 900 bytes, a 1024-byte
         * size class; the table is 64 pointers = 512 bytes: a cap of 4 KiB
         * holds three entries. */
        PoolCacheOptions o = { .max_bytes = 4 * K };
        ck_assert_int_eq(pool_cache_new(p, &o, &c), 0);

        char v[900];
        memset(v, 1, sizeof v);
        ck_assert_int_eq(pool_cache_put(c, "a", 1, v, sizeof v), 0);
        ck_assert_int_eq(pool_cache_put(c, "b", 1, v, sizeof v), 0);
        ck_assert_int_eq(pool_cache_put(c, "c", 1, v, sizeof v), 0);
        PoolCacheStats s;
        ck_assert_int_eq(pool_cache_stats(c, &s), 0);
        ck_assert_uint_eq(s.entries, 3);
        ck_assert_uint_eq(s.evictions, 0);

        /* Use a: now b is the least recently used and goes first. */
        ck_assert(has(c, "a"));
        ck_assert_int_eq(pool_cache_put(c, "d", 1, v, sizeof v), 0);
        ck_assert_int_eq(pool_cache_stats(c, &s), 0);
        ck_assert_uint_eq(s.entries, 3);
        ck_assert_uint_eq(s.evictions, 1);
        ck_assert(!has(c, "b"));
        /* Order now, oldest first: c, a, d. Borrowing c makes a the oldest. */
        char tmp[900];
        ck_assert_int_eq(pool_cache_borrow(c, "c", 1, borrow_copy, tmp), 0);
        ck_assert_int_eq(pool_cache_put(c, "e", 1, v, sizeof v), 0);
        ck_assert(!has(c, "a")); /* a miss moves nothing */

        /* Order: d, c, e. Evict explicitly: the oldest, and no more than
         * asked for (one entry covers 1 byte). */
        ck_assert_uint_eq(pool_cache_evict(c, 1), 1024);
        ck_assert(!has(c, "d"));
        ck_assert(has(c, "c"));
        ck_assert(has(c, "e"));

        /* Larger than the cap: refused, nothing evicted. */
        char big[8192];
        ck_assert_int_eq(pool_cache_put(c, "big", 3, big, sizeof big), -E2BIG);
        ck_assert(has(c, "c"));
        pool_cache_free(c);
        pool_close(p);
}
END_TEST

START_TEST(test_evicts_on_shrink) {
        Pool *p = open_pool(512 * M);
        PoolCache *c;
        ck_assert_int_eq(pool_cache_new(p, NULL, &c), 0);

        put_n(c, "k", 0, 20000, 4000); /* about 80 MiB */
        PoolStats before, after;
        PoolCacheStats cs;
        ck_assert_int_eq(pool_stats(p, &before), 0);
        ck_assert_uint_gt(before.charged, 70 * M);

        /* The first 100 keys are touched: they are the most recent now. */
        for (unsigned i = 0; i < 100; i++) {
                char k[16];
                snprintf(k, sizeof k, "k%u", i);
                ck_assert(has(c, k));
        }

        ck_assert_int_eq(pool_set_target(p, 40 * M), 0);
        ck_assert_int_eq(pool_poll(p), 1);
        ck_assert_int_eq(pool_stats(p, &after), 0);
        ck_assert_int_eq(pool_cache_stats(c, &cs), 0);
        ck_assert_uint_le(after.charged, 40 * M);
        ck_assert_uint_gt(cs.evictions, 0);
        ck_assert_uint_lt(cs.entries, 20000);
        /* The cache freed what it was asked for, not everything. */
        ck_assert_uint_ge(cs.evicted_bytes, after.shrink_requested);
        ck_assert_uint_ge(cs.bytes, 20 * M);
        ck_assert_uint_eq(after.shrink_reported, cs.evicted_bytes);

        /* The survivors are the recent ones: the touched keys and the
         * newest puts; the oldest untouched ones are gone. */
        ck_assert(has(c, "k0"));
        ck_assert(has(c, "k99"));
        ck_assert(has(c, "k19999"));
        ck_assert(!has(c, "k100"));
        ck_assert(!has(c, "k5000"));

        pool_cache_free(c);
        /* Freed: a shrink no longer calls it (it would touch freed memory). */
        ck_assert_int_eq(pool_remove_shrink(p, NULL, NULL), -ENOENT);
        ck_assert_int_eq(pool_set_target(p, 1 * M), 0);
        ck_assert_int_ge(pool_poll(p), 0);
        pool_close(p);
}
END_TEST

START_TEST(test_room_at_max) {
        /* 100 MiB into a 32 MiB pool: every put succeeds by evicting. */
        Pool *p = open_pool(32 * M);
        PoolCache *c;
        ck_assert_int_eq(pool_cache_new(p, NULL, &c), 0);
        put_n(c, "x", 0, 25600, 4000);

        PoolCacheStats cs;
        PoolStats s;
        ck_assert_int_eq(pool_cache_stats(c, &cs), 0);
        ck_assert_int_eq(pool_stats(p, &s), 0);
        ck_assert_uint_gt(cs.evictions, 0);
        ck_assert_uint_gt(cs.entries, 1000);
        ck_assert_uint_le(s.charged, 32 * M);
        ck_assert(has(c, "x25599"));
        ck_assert(!has(c, "x0"));

        /* Mixed sizes, including ones larger than any freed entry. */
        char *v = calloc(1, 2 * M);
        for (unsigned i = 0; i < 40; i++) {
                char k[16];
                snprintf(k, sizeof k, "big%u", i);
                ck_assert_int_eq(pool_cache_put(c, k, strlen(k), v, 2 * M - i * 4096), 0);
        }
        free(v);
        ck_assert_int_eq(pool_stats(p, &s), 0);
        ck_assert_uint_le(s.charged, 32 * M);

        /* An entry larger than the whole pool cannot be made room for. */
        char *huge = malloc(40 * M);
        ck_assert_int_eq(pool_cache_put(c, "huge", 4, huge, 40 * M), -ENOMEM);
        free(huge);
        pool_cache_free(c);
        pool_close(p);
}
END_TEST

typedef struct Worker {
        PoolCache *c;
        unsigned id;
        unsigned ok;
} Worker;

static void *worker(void *arg) {
        Worker *w = arg;
        char v[512];
        unsigned seed = w->id;
        for (unsigned i = 0; i < 50000; i++) {
                char k[16];
                unsigned key = (unsigned) rand_r(&seed) % 5000;
                int n = snprintf(k, sizeof k, "%u", key);
                switch (rand_r(&seed) % 4) {
                case 0:
                case 1:
                        memset(v, (int) (key & 0xff), sizeof v);
                        if (pool_cache_put(w->c, k, (size_t) n, v, sizeof v) == 0)
                                w->ok++;
                        break;
                case 2: {
                        char out[512];
                        size_t sz;
                        int r = pool_cache_get(w->c, k, (size_t) n, out, sizeof out, &sz);
                        /* A value is always whole and belongs to its key. */
                        if (r == 0 && sz == sizeof out && (unsigned char) out[0] == (key & 0xff) &&
                            (unsigned char) out[511] == (key & 0xff))
                                w->ok++;
                        else if (r == -ENOENT)
                                w->ok++;
                        break;
                }
                default:
                        (void) pool_cache_delete(w->c, k, (size_t) n);
                        w->ok++;
                }
        }
        return NULL;
}

START_TEST(test_threads) {
        /* Four threads against a pool whose Max forces evictions, while the
         * main thread keeps shrinking it. */
        Pool *p = open_pool(8 * M);
        PoolCache *c;
        ck_assert_int_eq(pool_cache_new(p, NULL, &c), 0);

        pthread_t t[4];
        Worker w[4];
        for (unsigned i = 0; i < 4; i++) {
                w[i] = (Worker) { .c = c, .id = i + 1 };
                ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
        }
        for (unsigned i = 0; i < 20; i++) {
                ck_assert_int_eq(pool_set_target(p, (i % 2 ? 4 : 6) * M), 0);
                ck_assert_int_ge(pool_poll(p), 0);
        }
        for (unsigned i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                ck_assert_uint_eq(w[i].ok, 50000);
        }
        PoolStats s;
        ck_assert_int_eq(pool_stats(p, &s), 0);
        ck_assert_uint_le(s.peak, 8 * M);
        pool_cache_free(c);
        pool_close(p);
}
END_TEST

int main(void) {
        Suite *s = suite_create("cache");
        TCase *tc = tcase_create("cache");
        tcase_set_timeout(tc, 60);

        tcase_add_test(tc, test_put_get_delete);
        tcase_add_test(tc, test_borrow);
        tcase_add_test(tc, test_lru_order);
        tcase_add_test(tc, test_evicts_on_shrink);
        tcase_add_test(tc, test_room_at_max);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
