/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ctl-client.h"
#include "front.h"
#include "pool-internal.h"

#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

/* Every thread that touches a pool has a PoolThread: for each pool slot, the
 * explicit tcache it uses with that pool and the mallocx() flags naming
 * both. An explicit tcache per arena per thread because with jemalloc's
 * automatic tcache, MALLOCX_ARENA can hand out memory of another arena (the
 * automatic tcache caches by size class, not by arena), and
 * MALLOCX_TCACHE_NONE costs 3-4x per call (PITFALLS.md). In front of the
 * tcache, the thread's front cache for the pool (front.h), allocated at the
 * slot's first use and kept for the thread's life. */
typedef struct ThreadSlot {
        uint64_t epoch;   /* == Pool.epoch while FLAGS may be used as they are */
        uint64_t pool_id; /* the Pool.id this slot was set up for */
        int flags;        /* MALLOCX_ARENA | MALLOCX_TCACHE */
        unsigned tcache;
        bool has_tcache;
        Front *front;     /* NULL: none could be allocated, or no tcache */
} ThreadSlot;

typedef struct PoolThread {
        ThreadSlot slots[POOL_SLOTS_MAX];
} PoolThread;

/* initial-exec: one %fs-relative load on the allocation path instead of a
 * __tls_get_addr() call; 32 bytes of static TLS in all. */
static _Thread_local PoolThread *pool_thread_tls __attribute__((tls_model("initial-exec")));

/* The pool this thread used last, with its flags: the allocation path's
 * check. Every load on the way to mallocx()'s flags is latency the call
 * waits for; through the slot table it was three dependent loads (table
 * pointer, slot, flags), measured 20-30% over jemalloc alone for 64-byte
 * pairs; this is one. POOL may dangle after pool_close(): a new pool at
 * the same address has a new EPOCH, so it never matches. */
typedef struct PoolLast {
        const Pool *pool;
        uint64_t epoch;
        int flags;
        Front *front;
} PoolLast;
static _Thread_local PoolLast pool_last __attribute__((tls_model("initial-exec")));

static pthread_once_t pool_thread_once = PTHREAD_ONCE_INIT;
static pthread_key_t pool_thread_key;
static bool pool_thread_key_ok;

/* Open pools by slot, and the tcache lists in them; taken when a thread
 * first uses a pool, at thread exit and at open/close, never per call. */
static pthread_mutex_t pool_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static Pool *pool_registry[POOL_SLOTS_MAX];

/* Source of Pool.id and Pool.epoch values: never reused, so a stale slot
 * of a closed pool never matches a new one. */
static _Atomic uint64_t pool_counter;

static uint64_t pool_counter_next(void) {
        return atomic_fetch_add(&pool_counter, 1) + 1;
}

bool pool_name_valid(const char *s) {
        if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        size_t i;
        for (i = 1; s[i]; i++) {
                if (i >= POOL_NAME_MAX)
                        return false;
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        }
        return true;
}

/* Called with pool_registry_lock held. */
static void pool_unregister_tcache_locked(Pool *p, unsigned tc) {
        for (size_t i = 0; i < p->n_tcaches; i++)
                if (p->tcaches[i] == tc) {
                        p->tcaches[i] = p->tcaches[--p->n_tcaches];
                        return;
                }
}

/* Thread exit: destroy this thread's tcaches of pools still open (those of
 * closed pools were destroyed by pool_close()). */
static void pool_thread_exit(void *v) {
        PoolThread *t = v;

        pthread_mutex_lock(&pool_registry_lock);
        for (unsigned i = 0; i < POOL_SLOTS_MAX; i++) {
                ThreadSlot *s = &t->slots[i];
                Pool *p = pool_registry[i];
                if (s->has_tcache && p && p->id == s->pool_id) {
                        if (s->front)
                                front_flush(s->front, s->flags);
                        pool_unregister_tcache_locked(p, s->tcache);
                        (void) arena_tcache_destroy(s->tcache);
                }
                free(s->front);
        }
        pthread_mutex_unlock(&pool_registry_lock);

        pool_last = (PoolLast) {};
        pool_thread_tls = NULL;
        free(t);
}

static void pool_thread_key_init(void) {
        pool_thread_key_ok = pthread_key_create(&pool_thread_key, pool_thread_exit) == 0;
}

static int pool_register_tcache(Pool *p, unsigned tc) {
        int r = 0;

        pthread_mutex_lock(&pool_registry_lock);
        if (p->n_tcaches == p->n_tcaches_allocated) {
                size_t n = MAX(p->n_tcaches_allocated * 2, (size_t) 8);
                unsigned *a = realloc(p->tcaches, n * sizeof *a);
                if (!a) {
                        r = -ENOMEM;
                        goto out;
                }
                p->tcaches = a;
                p->n_tcaches_allocated = n;
        }
        p->tcaches[p->n_tcaches++] = tc;
out:
        pthread_mutex_unlock(&pool_registry_lock);
        return r;
}

static int pool_thread_flags_table(Pool *p) {
        /* Correct but slow: used when no tcache can be had. */
        int fallback = MALLOCX_ARENA(p->arena) | MALLOCX_TCACHE_NONE;

        PoolThread *t = pool_thread_tls;
        if (!t) {
                if (pthread_once(&pool_thread_once, pool_thread_key_init) != 0 || !pool_thread_key_ok)
                        return fallback;
                t = calloc(1, sizeof *t);
                if (!t)
                        return fallback;
                if (pthread_setspecific(pool_thread_key, t) != 0) {
                        free(t);
                        return fallback;
                }
                pool_thread_tls = t;
        }

        ThreadSlot *s = &t->slots[p->slot];
        /* Read before flushing: a shrink that moves the epoch on after this
         * load makes the next call flush again. */
        uint64_t epoch = atomic_load(&p->epoch);

        if (s->pool_id == p->id) {
                /* Same pool, new epoch: a shrink asked for cached objects back. */
                if (s->front)
                        front_flush(s->front, s->flags);
                if (s->has_tcache)
                        (void) arena_tcache_flush(s->tcache);
                s->epoch = epoch;
                return s->flags;
        }

        /* First use of this pool by this thread. A tcache left in the slot
         * by a closed pool was destroyed by its pool_close(), and what its
         * front cache held went with the arena: forget it, keep the memory. */
        Front *front = s->front;
        if (front)
                front_drop(front);
        *s = (ThreadSlot) { .pool_id = p->id, .flags = fallback };
        unsigned tc;
        if (arena_tcache_create(&tc) >= 0) {
                if (pool_register_tcache(p, tc) >= 0) {
                        s->tcache = tc;
                        s->has_tcache = true;
                        s->flags = MALLOCX_ARENA(p->arena) | MALLOCX_TCACHE(tc);
                        if (!front)
                                front = front_new();
                } else
                        (void) arena_tcache_destroy(tc);
        }
        /* Without a tcache (the slow fallback) no front cache either: kept
         * for the next pool in this slot. */
        s->front = s->has_tcache ? front : NULL;
        if (!s->has_tcache)
                free(front);
        s->epoch = epoch;
        return s->flags;
}

/* A thread switching between pools: the slot table, then remember. */
static __attribute__((noinline)) int pool_thread_flags_slow(Pool *p) {
        int flags;
        uint64_t epoch = atomic_load(&p->epoch);
        PoolThread *t = pool_thread_tls;

        if (t && t->slots[p->slot].epoch == epoch)
                flags = t->slots[p->slot].flags;
        else
                flags = pool_thread_flags_table(p);

        /* The table path may have moved the epoch on (never: only shrinks
         * do) or failed to set up a tcache (then FLAGS has none): remember
         * what the slot says. */
        if (pool_thread_tls) {
                ThreadSlot *s = &pool_thread_tls->slots[p->slot];
                pool_last = (PoolLast) { .pool = p, .epoch = s->epoch, .flags = flags, .front = s->front };
        }
        return flags;
}

/* Whether the record of the last pool this thread used is P's and current:
 * the allocation path's one TLS line and two compares. */
static inline bool pool_last_is(const Pool *p) {
        return _likely_(pool_last.pool == p &&
                        pool_last.epoch == atomic_load_explicit(&p->epoch, memory_order_relaxed));
}

static inline int pool_thread_flags(Pool *p) {
        if (pool_last_is(p))
                return pool_last.flags;
        return pool_thread_flags_slow(p);
}

/* The fast paths' check: this thread's front cache for P if the record is
 * P's and current, else NULL (the slow path sets it up). */
static inline Front *pool_last_front(const Pool *p) {
        return pool_last_is(p) ? pool_last.front : NULL;
}

/* The front cache of this thread for P, set up by the slow path if needed;
 * NULL if it has none. Sets *RET_FLAGS. */
static inline Front *pool_thread_front(Pool *p, int *ret_flags) {
        *ret_flags = pool_thread_flags(p);
        /* The slow path leaves the record on P, unless the thread has no
         * PoolThread (out of memory): then it has no front cache either. */
        return pool_last.pool == p ? pool_last.front : NULL;
}

void pool_front_held(Pool *p, uint64_t *ret_objects, uint64_t *ret_bytes) {
        PoolThread *t = pool_thread_tls;
        ThreadSlot *s = t ? &t->slots[p->slot] : NULL;
        *ret_objects = *ret_bytes = 0;
        if (s && s->pool_id == p->id && s->front)
                front_held(s->front, ret_objects, ret_bytes);
}

void pool_flush_tcaches(Pool *p) {
        PoolThread *t = pool_thread_tls;
        if (t) {
                ThreadSlot *s = &t->slots[p->slot];
                if (s->pool_id == p->id) {
                        if (s->front)
                                front_flush(s->front, s->flags);
                        if (s->has_tcache)
                                (void) arena_tcache_flush(s->tcache);
                }
        }
        atomic_store(&p->epoch, pool_counter_next());
}

/* A commit refused at Max may fit once the arena's unused pages are given
 * back; the hook could not purge (jemalloc's locks are held), so the
 * failing call does, once. mallocx() sets no errno: we do. */
static bool pool_retry_after_purge(Pool *p) {
        if (!atomic_exchange(&p->hooks->over_max, 0))
                return false;
        /* No tcache flush here: jemalloc 5.3 flushes an explicit tcache by
         * destroying it, and its next use allocates a new one (32 KiB,
         * zeroed with MADV_DONTNEED: a TLB shootdown), which made every
         * failed allocation at Max cost ~0.5 ms. The purge alone gives
         * back every unused extent. */
        return arena_purge(p->arena) >= 0;
}

/* The failure path of pool_malloc() and pool_calloc(), out of line so the
 * allocation path keeps only P and N across the call into jemalloc. */
static __attribute__((noinline, cold)) void *pool_alloc_failed(Pool *p, size_t n, int extra_flags) {
        void *r;
        if (pool_retry_after_purge(p) && (r = mallocx(n, pool_thread_flags(p) | extra_flags)))
                return r;
        errno = ENOMEM;
        return NULL;
}

/* N bytes (N > 0) from the front cache or from jemalloc, with EXTRA_FLAGS
 * (0 or MALLOCX_ZERO). */
static __attribute__((noinline)) void *pool_alloc_slow(Pool *p, size_t n, int extra_flags) {
        int flags;
        Front *f = pool_thread_front(p, &flags);
        unsigned c = front_class(n);
        void *r;
        if (f && c != FRONT_NO_CLASS && (r = front_pop(f, c)))
                return extra_flags & MALLOCX_ZERO ? memset(r, 0, n) : r;
        r = mallocx(n, flags | extra_flags);
        if (_unlikely_(r == NULL))
                return pool_alloc_failed(p, n, extra_flags);
        return r;
}

void *pool_malloc(Pool *p, size_t n) {
        n += n == 0; /* mallocx(0) is undefined */
        /* The fast path keeps no registers: a stack of the thread's front
         * cache, or everything else out of line. */
        unsigned c = front_class(n);
        Front *f;
        if (_likely_(c != FRONT_NO_CLASS && (f = pool_last_front(p)))) {
                void *r = front_pop(f, c);
                if (_likely_(r != NULL))
                        return r;
        }
        return pool_alloc_slow(p, n, 0);
}

void *pool_calloc(Pool *p, size_t nmemb, size_t size) {
        size_t n;
        if (__builtin_mul_overflow(nmemb, size, &n)) {
                errno = ENOMEM;
                return NULL;
        }
        return pool_alloc_slow(p, n + (n == 0), MALLOCX_ZERO);
}

static __attribute__((noinline, cold)) void *pool_realloc_failed(Pool *p, void *ptr, size_t n) {
        void *r;
        if (pool_retry_after_purge(p) && (r = rallocx(ptr, n, pool_thread_flags(p))))
                return r;
        errno = ENOMEM;
        return NULL;
}

void *pool_realloc(Pool *p, void *ptr, size_t n) {
        if (!ptr)
                return pool_malloc(p, n);
        if (n == 0) {
                pool_free(p, ptr);
                return NULL;
        }

        void *r = rallocx(ptr, n, pool_thread_flags(p));
        if (_unlikely_(r == NULL))
                return pool_realloc_failed(p, ptr, n);
        return r;
}

/* Out of line: the free path's registers stay few. */
static __attribute__((noinline)) void pool_free_slow(Pool *p, void *ptr, unsigned c) {
        int flags;
        Front *f = pool_thread_front(p, &flags);
        if (f && c != FRONT_NO_CLASS)
                front_push(f, c, ptr, flags);
        else
                dallocx(ptr, flags);
}

void pool_free_sized(Pool *p, void *ptr, size_t n) {
        if (_unlikely_(ptr == NULL))
                return;
        /* N is what was asked for (or anything up to the usable size): the
         * same class as the object's, without jemalloc's lookup. */
        unsigned c = front_class(n + (n == 0));
        Front *f;
        if (_likely_(c != FRONT_NO_CLASS && (f = pool_last_front(p)) && front_try_push(f, c, ptr)))
                return;
        if (c == FRONT_NO_CLASS) {
                sdallocx(ptr, n + (n == 0), pool_thread_flags(p));
                return;
        }
        pool_free_slow(p, ptr, c);
}

void pool_free(Pool *p, void *ptr) {
        if (_unlikely_(ptr == NULL))
                return;
        /* The class first: across this call only P and PTR are kept.
         * Then a push onto a stack with room; anything else (a full stack
         * spills, a large object) out of line. */
        unsigned c = front_class(sallocx(ptr, 0));
        Front *f;
        if (_likely_(c != FRONT_NO_CLASS && (f = pool_last_front(p)) && front_try_push(f, c, ptr)))
                return;
        pool_free_slow(p, ptr, c);
}

size_t pool_usable_size(Pool *p, const void *ptr) {
        return sallocx(ptr, 0);
}

const char *pool_name(const Pool *p) {
        return p->name;
}

int pool_get_fd(Pool *p) {
        return p->poll_fd >= 0 ? p->poll_fd : p->event_fd;
}

static int pool_mpol(BudgetNumaMode mode) {
        switch (mode) {
        case BUDGET_NUMA_LOCAL:
                return -1;
        case BUDGET_NUMA_BIND:
                return MPOL_BIND;
        case BUDGET_NUMA_INTERLEAVE:
                return MPOL_INTERLEAVE;
        case BUDGET_NUMA_PREFERRED:
                return MPOL_PREFERRED;
        }
        return -2;
}

static void pool_release(Pool *p) {
        if (p->has_thread)
                shrink_thread_stop(p);

        pthread_mutex_lock(&pool_registry_lock);
        if (pool_registry[p->slot] == p)
                pool_registry[p->slot] = NULL;
        /* No other thread may use P now (contract), so flushing and
         * destroying their tcaches cannot race with their use. Their
         * PoolThread slots go stale: P's id is never reused. */
        for (size_t i = 0; i < p->n_tcaches; i++)
                (void) arena_tcache_destroy(p->tcaches[i]);
        p->n_tcaches = 0;
        pthread_mutex_unlock(&pool_registry_lock);

        bool keep = false;
        if (p->arena_created && arena_destroy(p->arena) < 0)
                /* jemalloc still holds the hooks and may call them: they
                 * and the page they charge must stay. Leaked on purpose. */
                keep = true;

        if (p->hooks)
                p->hooks->event_fd = -1;
        if (!keep) {
                if (p->proc)
                        (void) budget_proc_reap(p->bp, p->proc);
                free(p->hooks);
                if (p->page)
                        budget_page_unmap(p->page);
        }

        pool_daemon_close(p);
        if (p->poll_fd >= 0)
                close(p->poll_fd);
        if (p->event_fd >= 0)
                close(p->event_fd);
        shrink_done(p);
        pthread_mutex_destroy(&p->shrink_lock);
        pthread_mutex_destroy(&p->conn_lock);
        free(p->tcaches);
        free(p);
}

int pool_open_page(const char *name, unsigned flags, BudgetPage *page, bool own_page, Pool **ret) {
        return pool_open_page_ctl(name, flags, page, own_page, NULL, 0, ret);
}

/* Watches the eventfd and poold's socket with one fd the application (or
 * the shrink thread) can poll. Returns 0 or -errno. */
static int pool_poll_fd_setup(Pool *p) {
        p->poll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (p->poll_fd < 0)
                return -errno;
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = p->event_fd };
        if (epoll_ctl(p->poll_fd, EPOLL_CTL_ADD, p->event_fd, &ev) < 0)
                return -errno;
        ev.data.fd = ctl_client_get_fd(p->ctl);
        if (epoll_ctl(p->poll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
                return -errno;
        /* Requests that came while pool_open() waited for a reply are
         * queued, which leaves the socket unreadable: say so through the
         * eventfd. */
        if (ctl_client_pending_events(p->ctl) > 0) {
                uint64_t one = 1;
                ssize_t w = write(p->event_fd, &one, sizeof one);
                (void) w;
        }
        return 0;
}

int pool_open_page_ctl(const char *name, unsigned flags, BudgetPage *page, bool own_page, CtlClient *ctl,
                       pid_t slot_pid, Pool **ret) {
        int r, idx, mpol;
        BudgetPool *bp;
        Pool *p;

        r = -EINVAL;
        if (!pool_name_valid(name))
                goto fail_early;
        r = idx = budget_page_find(page, name);
        if (idx < 0)
                goto fail_early;
        bp = budget_page_pool(page, (unsigned) idx);
        mpol = pool_mpol((BudgetNumaMode) bp->numa_mode);
        r = -EPROTO;
        if (mpol < -1)
                goto fail_early;
        r = -ENOMEM;
        p = calloc(1, sizeof *p);
        if (!p)
                goto fail_early;

        strcpy(p->name, name);
        p->ctl = ctl;
        p->poll_fd = -1;
        pthread_mutex_init(&p->conn_lock, NULL);
        if (own_page)
                p->page = page;
        p->flags = flags;
        p->event_fd = -1;
        p->bp = bp;
        p->page_index = (unsigned) idx;
        pthread_mutex_init(&p->shrink_lock, NULL);
        /* From here on pool_release() undoes what was done. */

        p->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->event_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (p->ctl) {
                r = pool_poll_fd_setup(p);
                if (r < 0)
                        goto fail;
        }

        r = budget_proc_attach(page, (unsigned) idx, slot_pid != 0 ? slot_pid : getpid(), &p->proc);
        if (r < 0)
                goto fail;

        p->hooks = calloc(1, sizeof *p->hooks);
        if (!p->hooks) {
                r = -ENOMEM;
                goto fail;
        }
        arena_hooks_init(p->hooks, bp, p->proc, mpol, bp->numa_nodes, p->event_fd);
        /* The application's flag, or poold's HugePages=yes for the pool. */
        p->hooks->hugepages = (flags & POOL_OPEN_HUGEPAGES) || (atomic_load(&bp->flags) & BUDGET_POOL_HUGEPAGES);
        r = arena_hooks_check_numa(p->hooks);
        if (r < 0) {
                r = -EINVAL;
                goto fail;
        }

        /* A failure leaves the front cache serving nothing: slower, correct. */
        (void) front_init();

        p->id = pool_counter_next();
        atomic_store(&p->epoch, pool_counter_next());
        pthread_mutex_lock(&pool_registry_lock);
        r = -EMFILE;
        for (unsigned i = 0; i < POOL_SLOTS_MAX; i++)
                if (!pool_registry[i]) {
                        pool_registry[i] = p;
                        p->slot = i;
                        r = 0;
                        break;
                }
        pthread_mutex_unlock(&pool_registry_lock);
        if (r < 0)
                goto fail;

        r = arena_create(p->hooks, &p->arena);
        if (r < 0) {
                /* The arena's metadata is the first commit: over Max here
                 * means the budget cannot hold even an empty arena. */
                if (atomic_load(&p->hooks->commit_failures) > 0)
                        r = -ENOMEM;
                goto fail;
        }
        p->arena_created = true;
        p->seen_seq = atomic_load(&bp->target_seq);

        if (flags & POOL_OPEN_SHRINK_THREAD) {
                r = shrink_thread_start(p);
                if (r < 0)
                        goto fail;
                p->has_thread = true;
        }

        *ret = p;
        return 0;

fail:
        pool_release(p);
        return r;

fail_early:
        if (own_page)
                budget_page_unmap(page);
        ctl_client_free(ctl);
        return r;
}

/* Through poold: the page poold sends, and the connection kept for its
 * shrink requests (connection.c). */
static int pool_open_daemon(const char *name, const PoolOpenOptions *opts, Pool **ret) {
        BudgetPage *page;
        CtlClient *ctl;
        pid_t pid;
        int r = pool_daemon_open(name, opts, &page, &ctl, &pid);
        if (r < 0)
                return r;
        return pool_open_page_ctl(name, opts->flags, page, true, ctl, pid, ret);
}

int pool_open(const char *name, const PoolOpenOptions *opts, Pool **ret) {
        static const PoolOpenOptions defaults = {};

        if (!name || !ret || !pool_name_valid(name))
                return -EINVAL;
        if (!opts)
                opts = &defaults;
        if (opts->flags & ~(unsigned) (POOL_OPEN_STANDALONE | POOL_OPEN_SHRINK_THREAD | POOL_OPEN_HUGEPAGES))
                return -EINVAL;

        if (!(opts->flags & POOL_OPEN_STANDALONE))
                return pool_open_daemon(name, opts, ret);

        uint64_t target = opts->target ? opts->target : opts->max;
        if (opts->max == 0 || target > opts->max)
                return -EINVAL;
        if ((unsigned) opts->numa_mode > POOL_NUMA_PREFERRED)
                return -EINVAL;
        if (opts->numa_mode != POOL_NUMA_LOCAL) {
                bool any = false;
                for (size_t i = 0; i < ELEMENTSOF(opts->numa_nodes); i++)
                        any = any || opts->numa_nodes[i] != 0;
                if (!any)
                        return -EINVAL;
        }

        /* Standalone: a page of our own with one pool and one slot, laid out
         * as poold's, so everything after this is the same in both modes. */
        BudgetPage *page;
        int r = budget_page_create(1, 1, &page);
        if (r < 0)
                return r;
        _Static_assert((int) POOL_NUMA_BIND == (int) BUDGET_NUMA_BIND &&
                       (int) POOL_NUMA_INTERLEAVE == (int) BUDGET_NUMA_INTERLEAVE &&
                       (int) POOL_NUMA_PREFERRED == (int) BUDGET_NUMA_PREFERRED,
                       "PoolNumaMode and BudgetNumaMode agree");
        r = budget_page_init_pool(page, 0, name, opts->max, target, (BudgetNumaMode) opts->numa_mode,
                                  opts->numa_nodes);
        if (r < 0) {
                budget_page_unmap(page);
                return r;
        }
        return pool_open_page(name, opts->flags, page, true, ret);
}

Pool *pool_close(Pool *p) {
        if (p)
                pool_release(p);
        return NULL;
}

int pool_stats(Pool *p, PoolStats *ret) {
        ArenaStats a;
        int r = arena_get_stats(p->arena, &a);
        if (r < 0)
                return r;
        /* Fresh figures: poold's status shows them too. */
        if (p->proc)
                budget_proc_set_arena(p->proc, a.allocated, a.active, a.resident);

        *ret = (PoolStats) {
                .allocated = a.allocated,
                .active = a.active,
                .resident = a.resident,
                .mapped = a.mapped,
                .retained = a.retained,
                .charged = atomic_load(&p->bp->charged),
                .charged_self = atomic_load(&p->hooks->committed),
                .target = atomic_load(&p->bp->target),
                .max = atomic_load(&p->bp->max),
                .peak = atomic_load(&p->bp->peak),
                .commit_failures = atomic_load(&p->hooks->commit_failures),
                .n_shrinks = atomic_load(&p->n_shrinks),
                .shrink_requested = atomic_load(&p->shrink_requested),
                .shrink_reported = atomic_load(&p->shrink_reported),
                .shrink_released = atomic_load(&p->shrink_released),
                .last_shrink_ns = atomic_load(&p->last_shrink_ns),
                .arena = p->arena,
        };
        return 0;
}
