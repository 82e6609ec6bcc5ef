/* SPDX-License-Identifier: MIT */
/* A cache in a pool, in the smallest useful program. Copy it.
 *
 *   cc cache-example.c $(pkg-config --cflags --libs libpoold) -o cache-example
 *   ./cache-example             # standalone: a private 64 MiB budget
 *   ./cache-example POOL [SOCKET]  # pool POOL of a running poold (as root
 *                                  # or a member of group poold)
 *
 * Through poold the pool's Max, target and NUMA policy are poold's, and
 * poold's shrink requests are handled by pool_poll(): call it from your
 * event loop when pool_get_fd() is readable (or pass
 * POOL_OPEN_SHRINK_THREAD). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <poold/poold.h>

int main(int argc, char *argv[]) {
        PoolOpenOptions opts = {
                .flags = POOL_OPEN_STANDALONE,
                .max = UINT64_C(64) << 20,    /* over this, allocations fail: nothing is killed */
                .target = UINT64_C(48) << 20, /* over this, the cache is asked to shrink */
        };
        const char *name = "example";
        if (argc > 1) {
                /* poold's budget: flags 0, the sizes above are not used. */
                opts = (PoolOpenOptions) { .socket_path = argc > 2 ? argv[2] : NULL };
                name = argv[1];
        }
        Pool *pool;
        int r = pool_open(name, &opts, &pool);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "pool_open: poold is not running\n");
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "pool_open %s: %s\n", name, r == -ENXIO ? "poold has no such pool" : strerror(-r));
                return 1;
        }

        PoolCache *cache;
        r = pool_cache_new(pool, NULL, &cache); /* registers its shrink callback */
        if (r < 0) {
                fprintf(stderr, "pool_cache_new: %s\n", strerror(-r));
                pool_close(pool);
                return 1;
        }

        /* 100 MiB of values into a 64 MiB pool: the cache evicts its least
         * recently used entries to make room; no put fails. */
        char value[4000];
        memset(value, 'x', sizeof value);
        for (unsigned i = 0; i < 25600; i++) {
                char key[32];
                int n = snprintf(key, sizeof key, "item-%u", i);
                r = pool_cache_put(cache, key, (size_t) n, value, sizeof value);
                if (r < 0) {
                        fprintf(stderr, "pool_cache_put: %s\n", strerror(-r));
                        break;
                }
                /* Shrink work never runs inside an allocation: run it here. */
                (void) pool_poll(pool);
        }

        size_t size;
        r = pool_cache_get(cache, "item-25599", strlen("item-25599"), value, sizeof value, &size);
        printf("newest entry: %s\n", r == 0 ? "present" : strerror(-r));
        r = pool_cache_get(cache, "item-0", strlen("item-0"), value, sizeof value, &size);
        printf("oldest entry: %s\n", r == 0 ? "present" : strerror(-r));

        PoolStats ps;
        PoolCacheStats cs;
        if (pool_stats(pool, &ps) == 0 && pool_cache_stats(cache, &cs) == 0)
                printf("entries %" PRIu64 ", evicted %" PRIu64 ", charged %" PRIu64 " of max %" PRIu64
                       " (target %" PRIu64 "), shrinks %" PRIu64 "\n",
                       cs.entries, cs.evictions, ps.charged, ps.max, ps.target, ps.n_shrinks);

        pool_cache_free(cache);
        pool_close(pool);
        return 0;
}
