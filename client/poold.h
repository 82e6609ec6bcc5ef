/* SPDX-License-Identifier: MIT */
#pragma once

/* libpoold: memory from a named poold pool.
 *
 * Each pool a process opens gets its own jemalloc arena. The arena's pages
 * are mapped by libpoold, placed on the pool's NUMA nodes and charged, a
 * committed extent at a time (never per malloc), to the pool's shared budget
 * page: over Max an allocation fails cleanly (NULL, errno ENOMEM) and nothing
 * is killed; over the target the shrink callbacks the application registered
 * are asked to free memory, then the arena is purged so the pages go back to
 * the kernel.
 *
 * Linking: libpoold uses jemalloc's non-standard API (mallocx...). Debian's
 * jemalloc has no symbol prefix, so where libjemalloc comes before libc in
 * the process's symbol lookup order (a program that itself needs
 * libjemalloc, a static link, LD_PRELOAD) jemalloc's malloc() replaces
 * glibc's for the whole process; a program linked with -lpoold alone keeps
 * glibc's. Both arrangements are supported.
 *
 * All functions are thread-safe unless said otherwise. Errors are negative
 * errno values; the allocation functions return NULL and set errno. See
 * libpoold(3). */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct Pool Pool;
typedef struct PoolCache PoolCache;

/* Pool names are [a-z][a-z0-9_]{0,31}, as in poold.conf. */
#define POOL_NAME_MAX 32

/* Highest NUMA node number + 1 a policy can name (the kernel's limit on
 * x86-64, CONFIG_NODES_SHIFT=10). */
#define POOL_NUMA_NODES_MAX 1024

enum {
        /* Do not ask poold: the pool's budget is the Max and target given in
         * the options, kept in a budget page private to this process. */
        POOL_OPEN_STANDALONE = 1U << 0,
        /* Start a thread that runs shrink work (pool_poll()) as soon as it is
         * pending, so the application need not call pool_poll() itself. */
        POOL_OPEN_SHRINK_THREAD = 1U << 1,
        /* Back the arena with transparent huge pages (madvise(MADV_HUGEPAGE)
         * on its chunks of 2 MiB and more): page faults and giving memory
         * back cost a fraction (1 GiB freed in 2 ms instead of 60 here),
         * TLB misses fewer. The price: a huge page faulted in for a
         * partly used 2 MiB range counts in RSS whole (the pool's charge
         * follows jemalloc's commits, so RSS may exceed it by up to 2 MiB
         * per such range); with /sys/kernel/mm/transparent_hugepage/defrag
         * at "madvise" (Debian's default) a fault may compact memory first,
         * which is slow when memory is short; a stray write to decommitted
         * pool memory is not caught. Ignored where THP is "never". */
        POOL_OPEN_HUGEPAGES = 1U << 2,
};

typedef enum PoolNumaMode {
        POOL_NUMA_LOCAL = 0,  /* no policy: the kernel's default (first touch) */
        POOL_NUMA_BIND,       /* only the nodes in numa_nodes */
        POOL_NUMA_INTERLEAVE, /* round-robin over numa_nodes */
        POOL_NUMA_PREFERRED,  /* the lowest node in numa_nodes, others when it is full */
} PoolNumaMode;

typedef struct PoolOpenOptions {
        unsigned flags;        /* POOL_OPEN_* */
        uint64_t max;          /* standalone: the cap in bytes (required, > 0) */
        uint64_t target;       /* standalone: the initial target; 0 means max */
        PoolNumaMode numa_mode;
        uint64_t numa_nodes[POOL_NUMA_NODES_MAX / 64]; /* bit N = node N */
        const char *socket_path; /* poold's control socket; NULL: the default */
} PoolOpenOptions;

/* The figures of one pool, as seen by this process. */
typedef struct PoolStats {
        uint64_t allocated;    /* bytes in live allocations of this process's arena */
        uint64_t active;       /* bytes of the arena's pages holding live allocations */
        uint64_t resident;     /* bytes of the arena resident in RAM (jemalloc's estimate, upper bound) */
        uint64_t mapped;       /* bytes of the arena mapped and committed */
        uint64_t retained;     /* bytes of address space kept without memory behind it */
        uint64_t charged;      /* bytes charged to the pool by every process using it */
        uint64_t charged_self; /* bytes charged by this process's arena */
        uint64_t target;       /* the pool's target */
        uint64_t max;          /* the pool's Max */
        uint64_t peak;         /* highest charged seen by the budget page */
        uint64_t commit_failures; /* commits refused because the pool was at Max (this process) */
        uint64_t n_shrinks;       /* shrinks run by this process */
        uint64_t shrink_requested; /* bytes callbacks were asked to free, summed */
        uint64_t shrink_reported;  /* bytes callbacks said they freed, summed */
        uint64_t shrink_released;  /* bytes of charge shrinks gave back, summed */
        uint64_t last_shrink_ns;   /* duration of the last shrink */
        unsigned arena;            /* jemalloc arena index */
} PoolStats;

/* Asked to free about BYTES of the pool's memory. Returns the bytes it freed
 * (its own count; may be less or more). Runs in pool_poll(),
 * pool_shrink_now() or the shrink thread, never inside an allocation. It may
 * call pool_free() but not pool_on_shrink(), pool_remove_shrink(),
 * pool_shrink_now(), pool_poll() or pool_close() on the same pool. */
typedef uint64_t (*PoolShrinkFn)(Pool *p, uint64_t bytes, void *userdata);

/* Opens pool NAME. With POOL_OPEN_STANDALONE, OPTS->max is the budget.
 * Without it the budget (Max, target, NUMA policy: OPTS' are ignored) comes
 * from poold: pool_open() connects to OPTS->socket_path, asks for the pool's
 * budget page (verb "open", privileged: root or group poold), maps it, and
 * keeps the connection, subscribed to the pool's shrink requests, which
 * pool_poll() reads (see pool_get_fd()). Blocks up to 5 s per reply.
 * Returns 0, -EINVAL (bad name, options, or NUMA nodes), -ENOMEM (also: Max
 * too small for the arena's own metadata), -EMFILE (too many pools open),
 * -ENOENT/-ECONNREFUSED (poold not running), -ENXIO (poold has no such
 * pool), -EPERM (not root nor in group poold), -ENOSPC (every process slot
 * of the pool taken), -ETIMEDOUT/-ECONNRESET/-EBADMSG (poold did not answer
 * properly), -EPROTO (budget page of another version). */
int pool_open(const char *name, const PoolOpenOptions *opts, Pool **ret);

/* Destroys the arena (every allocation of P is released), stops the shrink
 * thread and frees P. No other thread may use P during or after the call.
 * Accepts NULL. Returns NULL. */
Pool *pool_close(Pool *p);

/* The pool's name. */
const char *pool_name(const Pool *p);

/* Allocates N bytes from P. Returns NULL with errno ENOMEM over Max. */
void *pool_malloc(Pool *p, size_t n);
/* Allocates NMEMB * SIZE zeroed bytes. Returns NULL with errno ENOMEM over
 * Max or on overflow. */
void *pool_calloc(Pool *p, size_t nmemb, size_t size);
/* Resizes PTR (NULL: allocates; N == 0: frees and returns NULL). On failure
 * returns NULL with errno ENOMEM and PTR is untouched. */
void *pool_realloc(Pool *p, void *ptr, size_t n);
/* Frees PTR (NULL: nothing), which must come from P. */
void pool_free(Pool *p, void *ptr);
/* Frees PTR as pool_free() does, given N: the size it was allocated with, or
 * any size from that up to pool_usable_size(PTR). Saves the size lookup
 * pool_free() makes (about 3 ns, a third of a small allocation's cost); a
 * wrong N corrupts the pool, as with jemalloc's sdallocx(). */
void pool_free_sized(Pool *p, void *ptr, size_t n);
/* Returns the usable size of PTR, which must come from P. */
size_t pool_usable_size(Pool *p, const void *ptr);

/* Registers FN(P, bytes, USERDATA), called in registration order when the
 * pool must shrink. Returns 0, -EINVAL, -EEXIST (same FN and USERDATA),
 * -ENOMEM. */
int pool_on_shrink(Pool *p, PoolShrinkFn fn, void *userdata);
/* Unregisters FN/USERDATA, waiting for a shrink in progress. Returns 0 or -ENOENT. */
int pool_remove_shrink(Pool *p, PoolShrinkFn fn, void *userdata);

/* Sets the pool's target (the daemon does this in poold mode). Lowering it
 * under what is charged makes shrink work pending. Returns 0 or -ERANGE
 * (over Max). */
int pool_set_target(Pool *p, uint64_t target);

/* Runs pending shrink work: reads poold's requests (opened through poold),
 * and if the pool is over its target, asks the callbacks for this process's
 * share of the excess, then purges the arena; a request from poold is then
 * acknowledged with the charge given back. Then publishes the arena's
 * allocated/active/resident in the budget page (poolctl status sums them).
 * Never blocks on poold (an acknowledgement waits at most 1 s for room in
 * the socket buffer).
 * Returns 1 if it shrank, 0 if nothing was pending, or a negative errno. */
int pool_poll(Pool *p);

/* Shrinks now whether pending or not: callbacks (if over target), then a
 * purge of the arena's unused pages. RET_RELEASED (may be NULL) gets the
 * bytes of charge given back. Returns 0 or a negative errno. */
int pool_shrink_now(Pool *p, uint64_t *ret_released);

/* An fd that becomes readable (POLLIN) when shrink work may be pending:
 * poll it and call pool_poll(). Standalone an eventfd; through poold an
 * epoll fd over that eventfd and poold's socket, so poold's requests wake
 * the poller too. Owned by P; do not read it. Returns the fd. */
int pool_get_fd(Pool *p);

/* Fills RET with the pool's figures. Through poold, also publishes the
 * arena's allocated/active/resident in the budget page for poolctl status
 * (as pool_poll() does). Returns 0 or a negative errno. */
int pool_stats(Pool *p, PoolStats *ret);

/* --- A ready cache on top of a pool: byte-string keys and values, a hash
 * table and LRU order, thread-safe (one mutex). It registers a shrink
 * callback that evicts least recently used entries until the bytes asked for
 * are freed, and evicts to make room when the pool is at Max. --- */

typedef struct PoolCacheOptions {
        uint64_t max_bytes; /* the cache's own cap (entries' usable sizes); 0: only the pool's */
} PoolCacheOptions;

typedef struct PoolCacheStats {
        uint64_t entries;
        uint64_t bytes;     /* usable bytes of entries and the hash table */
        uint64_t hits;
        uint64_t misses;
        uint64_t evictions; /* entries evicted (cap, Max or shrink) */
        uint64_t evicted_bytes;
} PoolCacheStats;

/* Called with the value while the cache is locked; must not call into the cache. */
typedef void (*PoolCacheBorrowFn)(const void *value, size_t size, void *userdata);

/* Creates a cache whose entries live in P (OPTS may be NULL). P must outlive
 * it. Returns 0, -EINVAL, -ENOMEM. */
int pool_cache_new(Pool *p, const PoolCacheOptions *opts, PoolCache **ret);
/* Frees every entry and the cache. Accepts NULL. Returns NULL. */
PoolCache *pool_cache_free(PoolCache *c);

/* Stores a copy of KEY/VALUE, replacing an entry with the same key and
 * evicting LRU entries over the cap or when the pool is at Max.
 * Returns 0, -EINVAL, -E2BIG (larger than the cache's cap), -ENOMEM. */
int pool_cache_put(PoolCache *c, const void *key, size_t key_size, const void *value, size_t value_size);
/* Copies the value of KEY into BUF and marks it recently used. RET_SIZE (may
 * be NULL) gets the value's size. Returns 0, -ENOENT, -ENOBUFS (BUF smaller
 * than the value: nothing copied, RET_SIZE set). */
int pool_cache_get(PoolCache *c, const void *key, size_t key_size, void *buf, size_t buf_size, size_t *ret_size);
/* Calls FN with the value of KEY in place. Returns 0 or -ENOENT. */
int pool_cache_borrow(PoolCache *c, const void *key, size_t key_size, PoolCacheBorrowFn fn, void *userdata);
/* Removes KEY. Returns 0 or -ENOENT. */
int pool_cache_delete(PoolCache *c, const void *key, size_t key_size);
/* Evicts least recently used entries until BYTES are freed or the cache is
 * empty. Returns the bytes freed. */
uint64_t pool_cache_evict(PoolCache *c, uint64_t bytes);
/* Fills RET. Returns 0. */
int pool_cache_stats(PoolCache *c, PoolCacheStats *ret);

#ifdef __cplusplus
}
#endif
