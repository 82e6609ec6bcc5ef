/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pool-internal.h"

/* A cache of byte strings in a pool: a chained hash table for lookups and
 * one doubly linked list in recency order (head = most recently used) for
 * eviction. One allocation per entry, header + key + value, all from the
 * pool, so evicting an entry frees exactly what it charged. */

/* Tries at making room when the pool is at Max: each evicts at least the new
 * entry's size again; after a few rounds the entry is too large for what the
 * cache holds. */
#define CACHE_PUT_TRIES 8
/* Room below Max under which a put evicts before it allocates: an
 * allocation that fails at Max costs jemalloc two refused commits and the
 * arena a purge (1-2 us measured with nothing to purge, much more with),
 * and a cache at Max is the normal state of a cache. */
#define CACHE_ROOM_MIN (UINT64_C(256) << 10)
#define CACHE_BUCKETS_MIN 64
/* Bytes evicted per lock hold: 64 entries of 4 KiB. */
#define CACHE_EVICT_BATCH (UINT64_C(256) << 10)

typedef struct CacheEntry {
        struct CacheEntry *hnext; /* bucket chain; the eviction list once out of the table */
        struct CacheEntry **hlink; /* what points at this entry in its chain: O(1) unlink
                                    * without reading the other entries (each may be a
                                    * page of its own: a TLB miss apiece) */
        struct CacheEntry *prev;  /* LRU, towards the head (more recent) */
        struct CacheEntry *next;  /* LRU, towards the tail (less recent) */
        uint64_t hash;
        size_t key_size;
        size_t value_size;
        size_t charge;            /* usable size of this allocation */
        unsigned char data[];     /* key, then value */
} CacheEntry;

struct PoolCache {
        Pool *pool;
        pthread_mutex_t lock;
        CacheEntry **buckets;
        size_t n_buckets;         /* a power of two */
        size_t buckets_charge;
        CacheEntry *head, *tail;
        uint64_t n_entries;
        uint64_t grow_failed_at;  /* n_entries when doubling the table failed */
        uint64_t bytes;           /* entries' charges + buckets_charge */
        uint64_t max_bytes;       /* 0: none */
        uint64_t hits, misses, evictions, evicted_bytes;
};

/* FNV-1a, 64 bit: keys are short (ids, hashes of prompts); good enough
 * spread for a power-of-two table after the final mix. */
static uint64_t cache_hash(const void *key, size_t n) {
        const unsigned char *k = key;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < n; i++) {
                h ^= k[i];
                h *= UINT64_C(0x100000001b3);
        }
        h ^= h >> 29; /* FNV's low bits are weak; fold the high ones in */
        return h;
}

static void cache_lru_unlink(PoolCache *c, CacheEntry *e) {
        if (e->prev)
                e->prev->next = e->next;
        else
                c->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                c->tail = e->prev;
        e->prev = e->next = NULL;
}

static void cache_lru_push_head(PoolCache *c, CacheEntry *e) {
        e->prev = NULL;
        e->next = c->head;
        if (c->head)
                c->head->prev = e;
        c->head = e;
        if (!c->tail)
                c->tail = e;
}

static CacheEntry **cache_find_link(PoolCache *c, uint64_t hash, const void *key, size_t key_size) {
        CacheEntry **l = &c->buckets[hash & (c->n_buckets - 1)];
        for (; *l; l = &(*l)->hnext)
                if ((*l)->hash == hash && (*l)->key_size == key_size && memcmp((*l)->data, key, key_size) == 0)
                        return l;
        return l;
}

/* Links E into a chain at L. */
static void cache_link(CacheEntry **l, CacheEntry *e) {
        e->hnext = *l;
        if (e->hnext)
                e->hnext->hlink = &e->hnext;
        *l = e;
        e->hlink = l;
}

/* Takes E out of the table and the list; the caller frees it unlocked. */
static void cache_remove_locked(PoolCache *c, CacheEntry *e) {
        *e->hlink = e->hnext;
        if (e->hnext)
                e->hnext->hlink = e->hlink;
        e->hnext = NULL;
        e->hlink = NULL;
        cache_lru_unlink(c, e);
        c->n_entries--;
        c->bytes -= e->charge;
}

/* Takes least recently used entries out until BYTES are collected, never
 * KEEP (may be NULL); returns them as a list through hnext. */
static CacheEntry *cache_evict_locked(PoolCache *c, uint64_t bytes, const CacheEntry *keep, uint64_t *ret_freed) {
        CacheEntry *list = NULL;
        uint64_t freed = 0;

        while (freed < bytes && c->tail && c->tail != keep) {
                CacheEntry *e = c->tail;
                cache_remove_locked(c, e);
                freed += e->charge;
                c->evictions++;
                c->evicted_bytes += e->charge;
                e->hnext = list;
                list = e;
        }
        *ret_freed = freed;
        return list;
}

static void cache_free_list(PoolCache *c, CacheEntry *list) {
        while (list) {
                CacheEntry *n = list->hnext;
                pool_free_sized(c->pool, list, list->charge);
                list = n;
        }
}

/* Doubles the table when it is fuller than one entry per bucket. A failed
 * allocation only leaves chains longer; it is tried again once the cache
 * has grown by half, not at every put (a cache at its pool's Max would
 * otherwise pay a failed allocation per put). */
static void cache_grow_locked(PoolCache *c) {
        if (c->n_entries <= c->n_buckets)
                return;
        if (c->grow_failed_at > 0 && c->n_entries < c->grow_failed_at + c->grow_failed_at / 2)
                return;

        size_t n = c->n_buckets * 2;
        CacheEntry **b = pool_calloc(c->pool, n, sizeof *b);
        if (!b) {
                c->grow_failed_at = c->n_entries;
                return;
        }
        c->grow_failed_at = 0;
        for (size_t i = 0; i < c->n_buckets; i++)
                for (CacheEntry *e = c->buckets[i], *next; e; e = next) {
                        next = e->hnext;
                        cache_link(&b[e->hash & (n - 1)], e);
                }
        pool_free(c->pool, c->buckets);
        c->bytes -= c->buckets_charge;
        c->buckets = b;
        c->n_buckets = n;
        c->buckets_charge = pool_usable_size(c->pool, b);
        c->bytes += c->buckets_charge;
}

static uint64_t cache_on_shrink(Pool *p, uint64_t bytes, void *userdata) {
        return pool_cache_evict(userdata, bytes);
}

int pool_cache_new(Pool *p, const PoolCacheOptions *opts, PoolCache **ret) {
        if (!p || !ret)
                return -EINVAL;

        PoolCache *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->pool = p;
        c->max_bytes = opts ? opts->max_bytes : 0;
        c->n_buckets = CACHE_BUCKETS_MIN;
        c->buckets = pool_calloc(p, c->n_buckets, sizeof *c->buckets);
        if (!c->buckets) {
                free(c);
                return -ENOMEM;
        }
        c->buckets_charge = pool_usable_size(p, c->buckets);
        c->bytes = c->buckets_charge;
        pthread_mutex_init(&c->lock, NULL);

        int r = pool_on_shrink(p, cache_on_shrink, c);
        if (r < 0) {
                pool_free(p, c->buckets);
                pthread_mutex_destroy(&c->lock);
                free(c);
                return r;
        }

        *ret = c;
        return 0;
}

PoolCache *pool_cache_free(PoolCache *c) {
        if (!c)
                return NULL;

        /* First, so that no shrink runs into a cache being freed (it waits
         * for one in progress). */
        (void) pool_remove_shrink(c->pool, cache_on_shrink, c);

        for (CacheEntry *e = c->head, *n; e; e = n) {
                n = e->next;
                pool_free_sized(c->pool, e, e->charge);
        }
        pool_free(c->pool, c->buckets);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

int pool_cache_put(PoolCache *c, const void *key, size_t key_size, const void *value, size_t value_size) {
        if (!c || (!key && key_size > 0) || (!value && value_size > 0))
                return -EINVAL;

        size_t n;
        if (__builtin_add_overflow(sizeof(CacheEntry), key_size, &n) || __builtin_add_overflow(n, value_size, &n))
                return -E2BIG;
        if (c->max_bytes > 0 && n > c->max_bytes)
                return -E2BIG;

        /* Near Max: free the coldest entries first, so the allocation is
         * served from what they leave (same thread's tcache, same arena)
         * instead of failing. */
        uint64_t charged = atomic_load_explicit(&c->pool->bp->charged, memory_order_relaxed);
        uint64_t max = atomic_load_explicit(&c->pool->bp->max, memory_order_relaxed);
        if (charged + n + CACHE_ROOM_MIN > max) {
                uint64_t freed;
                pthread_mutex_lock(&c->lock);
                CacheEntry *list = cache_evict_locked(c, n, NULL, &freed);
                pthread_mutex_unlock(&c->lock);
                cache_free_list(c, list);
        }

        CacheEntry *e = pool_malloc(c->pool, n);
        for (unsigned i = 0; !e && i < CACHE_PUT_TRIES; i++) {
                /* The pool is at Max: make room from the cold end. */
                uint64_t freed;
                pthread_mutex_lock(&c->lock);
                CacheEntry *list = cache_evict_locked(c, n * (i + 1), NULL, &freed);
                pthread_mutex_unlock(&c->lock);
                if (!list)
                        break;
                cache_free_list(c, list);
                e = pool_malloc(c->pool, n);
        }
        if (!e)
                return -ENOMEM;

        e->hnext = e->prev = e->next = NULL;
        e->hlink = NULL;
        e->hash = cache_hash(key, key_size);
        e->key_size = key_size;
        e->value_size = value_size;
        e->charge = pool_usable_size(c->pool, e);
        if (key_size > 0)
                memcpy(e->data, key, key_size);
        if (value_size > 0)
                memcpy(e->data + key_size, value, value_size);

        CacheEntry *old = NULL, *evicted = NULL;
        pthread_mutex_lock(&c->lock);
        CacheEntry **l = cache_find_link(c, e->hash, key, key_size);
        if (*l) {
                old = *l;
                cache_remove_locked(c, old);
                l = cache_find_link(c, e->hash, key, key_size);
        }
        cache_link(l, e);
        cache_lru_push_head(c, e);
        c->n_entries++;
        c->bytes += e->charge;
        if (c->max_bytes > 0 && c->bytes > c->max_bytes) {
                /* Never the new entry: it fits the cap alone (checked above,
                 * give or take its size class). */
                uint64_t freed;
                evicted = cache_evict_locked(c, c->bytes - c->max_bytes, e, &freed);
        }
        cache_grow_locked(c);
        pthread_mutex_unlock(&c->lock);

        if (old)
                pool_free_sized(c->pool, old, old->charge);
        cache_free_list(c, evicted);
        return 0;
}

static CacheEntry *cache_lookup_locked(PoolCache *c, const void *key, size_t key_size) {
        CacheEntry *e = *cache_find_link(c, cache_hash(key, key_size), key, key_size);
        if (!e) {
                c->misses++;
                return NULL;
        }
        c->hits++;
        if (c->head != e) {
                cache_lru_unlink(c, e);
                cache_lru_push_head(c, e);
        }
        return e;
}

int pool_cache_get(PoolCache *c, const void *key, size_t key_size, void *buf, size_t buf_size, size_t *ret_size) {
        int r = 0;

        pthread_mutex_lock(&c->lock);
        CacheEntry *e = cache_lookup_locked(c, key, key_size);
        if (!e) {
                r = -ENOENT;
                goto out;
        }
        if (ret_size)
                *ret_size = e->value_size;
        if (e->value_size > buf_size) {
                r = -ENOBUFS;
                goto out;
        }
        if (e->value_size > 0)
                memcpy(buf, e->data + e->key_size, e->value_size);
out:
        pthread_mutex_unlock(&c->lock);
        return r;
}

int pool_cache_borrow(PoolCache *c, const void *key, size_t key_size, PoolCacheBorrowFn fn, void *userdata) {
        pthread_mutex_lock(&c->lock);
        CacheEntry *e = cache_lookup_locked(c, key, key_size);
        if (e)
                fn(e->data + e->key_size, e->value_size, userdata);
        pthread_mutex_unlock(&c->lock);
        return e ? 0 : -ENOENT;
}

int pool_cache_delete(PoolCache *c, const void *key, size_t key_size) {
        pthread_mutex_lock(&c->lock);
        CacheEntry *e = *cache_find_link(c, cache_hash(key, key_size), key, key_size);
        if (e)
                cache_remove_locked(c, e);
        pthread_mutex_unlock(&c->lock);

        if (!e)
                return -ENOENT;
        pool_free_sized(c->pool, e, e->charge);
        return 0;
}

uint64_t pool_cache_evict(PoolCache *c, uint64_t bytes) {
        uint64_t freed = 0;

        /* In batches: the lock is not held for a whole shrink (1 GiB is
         * 262,144 entries), and an entry is freed while its header is
         * still in the cache and TLB from being unlinked. */
        while (freed < bytes) {
                uint64_t n = 0;
                pthread_mutex_lock(&c->lock);
                CacheEntry *list = cache_evict_locked(c, MIN(bytes - freed, CACHE_EVICT_BATCH), NULL, &n);
                pthread_mutex_unlock(&c->lock);
                if (!list)
                        break;
                cache_free_list(c, list);
                freed += n;
        }
        return freed;
}

int pool_cache_stats(PoolCache *c, PoolCacheStats *ret) {
        pthread_mutex_lock(&c->lock);
        *ret = (PoolCacheStats) {
                .entries = c->n_entries,
                .bytes = c->bytes,
                .hits = c->hits,
                .misses = c->misses,
                .evictions = c->evictions,
                .evicted_bytes = c->evicted_bytes,
        };
        pthread_mutex_unlock(&c->lock);
        return 0;
}
