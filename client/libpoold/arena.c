/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/mempolicy.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"

#define ARENA_RW (PROT_READ | PROT_WRITE)
/* x86-64's PMD size: what a transparent huge page needs, aligned. */
#define ARENA_HUGEPAGE (UINT64_C(2) << 20)
#define ARENA_MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static ArenaHooks *arena_hooks_of(extent_hooks_t *hooks) {
        return (ArenaHooks *) ((char *) hooks - offsetof(ArenaHooks, hooks));
}

/* mbind through the raw syscall: libnuma's wrapper is the same syscall, but
 * its other calls allocate, and hooks must not. */
static int arena_mbind(const ArenaHooks *h, void *addr, size_t size) {
        if (h->mpol < 0)
                return 0;
        /* The kernel reads maxnode - 1 bits (libnuma passes size + 1 too). */
        if (syscall(SYS_mbind, addr, size, (unsigned long) h->mpol, h->nodemask,
                    (unsigned long) BUDGET_NUMA_NODES_MAX + 1, 0UL) < 0)
                return -errno;
        return 0;
}

static int arena_charge(ArenaHooks *h, size_t n) {
        int r = budget_charge(h->bp, h->slot, n);
        if (r < 0) {
                atomic_fetch_add_explicit(&h->commit_failures, 1, memory_order_relaxed);
                atomic_store_explicit(&h->over_max, 1, memory_order_relaxed);
                atomic_store_explicit(&h->refused_commit, n, memory_order_relaxed);
                return r;
        }
        atomic_store_explicit(&h->refused_commit, 0, memory_order_relaxed);

        atomic_fetch_add_explicit(&h->committed, n, memory_order_relaxed);
        if (r > 0 && atomic_exchange(&h->over_target, 1) == 0 && h->event_fd >= 0) {
                /* write(2) on an eventfd neither allocates nor blocks (the
                 * counter cannot overflow from one write per transition). */
                uint64_t one = 1;
                ssize_t w = write(h->event_fd, &one, sizeof one);
                (void) w;
        }
        return 0;
}

static void arena_uncharge(ArenaHooks *h, size_t n) {
        atomic_fetch_sub_explicit(&h->committed, n, memory_order_relaxed);
        budget_uncharge(h->bp, h->slot, n);
}

/* The table of this arena's mappings (see arena.h: only a whole mapping may
 * be unmapped before the arena is destroyed). A spin lock, not a mutex:
 * the hooks run with jemalloc's locks held and must not block or allocate;
 * it is held for a scan of at most ARENA_MAPPINGS_MAX entries and nothing
 * is called under it. */
static void arena_maps_lock(ArenaHooks *h) {
        while (atomic_flag_test_and_set_explicit(&h->maps_lock, memory_order_acquire))
                ;
}

static void arena_maps_unlock(ArenaHooks *h) {
        atomic_flag_clear_explicit(&h->maps_lock, memory_order_release);
}

/* Records [ADDR, ADDR + SIZE) as one of our mappings. A full table only
 * means that mapping stays until the arena is destroyed. */
static void arena_maps_add(ArenaHooks *h, void *addr, size_t size) {
        arena_maps_lock(h);
        if (h->n_maps < ARENA_MAPPINGS_MAX)
                h->maps[h->n_maps++] = (ArenaMapping) { (uintptr_t) addr, size, size };
        else
                atomic_fetch_add_explicit(&h->maps_untracked, 1, memory_order_relaxed);
        arena_maps_unlock(h);
}

/* Removes [ADDR, ADDR + SIZE) if it is exactly one recorded mapping, none
 * of it destroyed. Returns whether it was. */
static bool arena_maps_take(ArenaHooks *h, void *addr, size_t size) {
        bool found = false;
        arena_maps_lock(h);
        for (unsigned i = 0; i < h->n_maps; i++)
                if (h->maps[i].start == (uintptr_t) addr && h->maps[i].size == size &&
                    h->maps[i].left == size) {
                        h->maps[i] = h->maps[--h->n_maps];
                        found = true;
                        break;
                }
        arena_maps_unlock(h);
        return found;
}

/* Whether ADDR is the start of a recorded mapping. */
static bool arena_maps_is_start(ArenaHooks *h, void *addr) {
        bool found = false;
        arena_maps_lock(h);
        for (unsigned i = 0; i < h->n_maps && !found; i++)
                found = h->maps[i].start == (uintptr_t) addr;
        arena_maps_unlock(h);
        return found;
}

typedef enum ArenaDestroyed {
        ARENA_DESTROYED_UNTRACKED, /* in no recorded mapping */
        ARENA_DESTROYED_PART,      /* the mapping has parts still to be destroyed */
        ARENA_DESTROYED_LAST,      /* the mapping's last part: *RET is the whole mapping, now removed */
} ArenaDestroyed;

/* Counts [ADDR, ADDR + SIZE) as destroyed in the recorded mapping holding it. */
static ArenaDestroyed arena_maps_destroyed(ArenaHooks *h, void *addr, size_t size, ArenaMapping *ret) {
        uintptr_t a = (uintptr_t) addr;
        ArenaDestroyed d = ARENA_DESTROYED_UNTRACKED;
        arena_maps_lock(h);
        for (unsigned i = 0; i < h->n_maps; i++) {
                ArenaMapping *m = &h->maps[i];
                if (a < m->start || a - m->start >= m->size || size > m->size - (a - m->start) || size > m->left)
                        continue;
                m->left -= size;
                d = ARENA_DESTROYED_PART;
                if (m->left == 0) {
                        *ret = *m;
                        h->maps[i] = h->maps[--h->n_maps];
                        d = ARENA_DESTROYED_LAST;
                }
                break;
        }
        arena_maps_unlock(h);
        return d;
}

/* Maps SIZE bytes aligned to ALIGNMENT, at NEW_ADDR if it is not NULL. */
static void *arena_map(void *new_addr, size_t size, size_t alignment, int prot) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);

        if (new_addr) {
                void *p = mmap(new_addr, size, prot, ARENA_MAP_FLAGS | MAP_FIXED_NOREPLACE, -1, 0);
                if (p == MAP_FAILED)
                        return NULL;
                if (p != new_addr) { /* kernels before 4.17 take it as a hint */
                        munmap(p, size);
                        return NULL;
                }
                return p;
        }

        if (alignment <= page)
                alignment = page;
        if (size + alignment < size)
                return NULL;

        /* Over-map by the alignment and trim both ends. */
        size_t len = size + alignment - page;
        char *p = mmap(NULL, len, prot, ARENA_MAP_FLAGS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        uintptr_t a = ((uintptr_t) p + alignment - 1) & ~(uintptr_t) (alignment - 1);
        size_t lead = a - (uintptr_t) p;
        size_t trail = len - lead - size;
        if (lead > 0)
                munmap(p, lead);
        if (trail > 0)
                munmap((char *) a + size, trail);
        return (void *) a;
}

static void *arena_hook_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment, bool *zero,
                              bool *commit, unsigned arena_ind) {
        ArenaHooks *h = arena_hooks_of(hooks);
        bool committed = *commit;

        uint64_t max = atomic_load_explicit(&h->bp->max, memory_order_relaxed);

        /* jemalloc asks for an uncommitted chunk (it grows its retained
         * address space) after it found no retained range that fits, or
         * after it found one and our commit refused it at Max. In the
         * second case the chunk's commit asks the same size and would be
         * refused too, and the chunk would stay retained (8 MiB of address
         * space per failure, see arena.h): refuse now if the refused size
         * still does not fit. jemalloc then asks for exactly the request,
         * committed, which the charge below refuses without mapping. */
        uint64_t refused = atomic_load_explicit(&h->refused_commit, memory_order_relaxed);
        if (!committed && refused > 0 &&
            atomic_load_explicit(&h->bp->charged, memory_order_relaxed) + refused > max) {
                atomic_fetch_add_explicit(&h->grows_refused, 1, memory_order_relaxed);
                return NULL;
        }

        uint64_t limit = arena_reserve_limit(max);
        uint64_t reserved = atomic_fetch_add(&h->reserved, size) + size;
        if (reserved < size || reserved > limit) {
                atomic_fetch_sub(&h->reserved, size);
                return NULL;
        }

        /* Charge before mapping, so a pool at Max never maps at all. */
        if (committed && arena_charge(h, size) < 0) {
                atomic_fetch_sub(&h->reserved, size);
                return NULL;
        }

        bool huge = h->hugepages && size >= ARENA_HUGEPAGE;
        if (huge && alignment < ARENA_HUGEPAGE && !new_addr)
                alignment = ARENA_HUGEPAGE;
        /* Huge: read-write though not committed (see ArenaHooks.hugepages);
         * jemalloc touches nothing before it commits, so no page comes in. */
        void *p = arena_map(new_addr, size, alignment, committed || h->hugepages ? ARENA_RW : PROT_NONE);
        if (!p)
                goto fail;
        /* Fails only where THP is compiled out: then 4 KiB pages, as without. */
        if (huge)
                (void) madvise(p, size, MADV_HUGEPAGE);

        /* The policy belongs to the mapping, so it covers the pages faulted
         * in later, after a commit: set it once here. */
        if (arena_mbind(h, p, size) < 0) {
                munmap(p, size);
                goto fail;
        }

        arena_maps_add(h, p, size);
        *zero = true; /* fresh anonymous memory */
        return p;

fail:
        atomic_fetch_sub(&h->reserved, size);
        if (committed)
                arena_uncharge(h, size);
        return NULL;
}

static bool arena_hook_dalloc(extent_hooks_t *hooks, void *addr, size_t size, bool committed,
                              unsigned arena_ind) {
        ArenaHooks *h = arena_hooks_of(hooks);

        /* Only a whole mapping of ours may go (see arena.h): unmapping part
         * of one leaves a hole next to a non-head extent of this arena,
         * another arena maps into the hole and jemalloc (opt.retain) merges
         * across. Anything else: opt out, jemalloc decommits it (our
         * decommit uncharges it and gives the pages back) and keeps the
         * range as retained, to commit again later. */
        if (!arena_maps_take(h, addr, size))
                return true;
        if (munmap(addr, size) < 0) {
                arena_maps_add(h, addr, size);
                return true;
        }
        atomic_fetch_sub(&h->reserved, size);
        if (committed)
                arena_uncharge(h, size);
        return false;
}

static void arena_hook_destroy(extent_hooks_t *hooks, void *addr, size_t size, bool committed,
                               unsigned arena_ind) {
        ArenaHooks *h = arena_hooks_of(hooks);
        ArenaMapping whole;

        if (committed)
                arena_uncharge(h, size);

        /* The arena is going, but other arenas may be growing meanwhile:
         * a hole in a mapping whose other parts this arena has not yet
         * destroyed is the same hazard as in dalloc. So a part only gives
         * its pages back; the mapping goes whole with its last part. */
        switch (arena_maps_destroyed(h, addr, size, &whole)) {
        case ARENA_DESTROYED_PART:
                if (committed)
                        (void) madvise(addr, size, MADV_DONTNEED);
                break;
        case ARENA_DESTROYED_LAST:
                if (munmap((void *) whole.start, whole.size) == 0)
                        atomic_fetch_sub(&h->reserved, whole.size);
                break;
        case ARENA_DESTROYED_UNTRACKED: /* the table was full when it was mapped */
                if (munmap(addr, size) == 0)
                        atomic_fetch_sub(&h->reserved, size);
                break;
        }
}

static bool arena_hook_commit(extent_hooks_t *hooks, void *addr, size_t size, size_t offset, size_t length,
                              unsigned arena_ind) {
        ArenaHooks *h = arena_hooks_of(hooks);

        if (arena_charge(h, length) < 0)
                return true;
        if (h->hugepages) /* mapped read-write already */
                return false;
        if (mprotect((char *) addr + offset, length, ARENA_RW) < 0) {
                arena_uncharge(h, length);
                return true;
        }
        return false;
}

static bool arena_hook_decommit(extent_hooks_t *hooks, void *addr, size_t size, size_t offset, size_t length,
                                unsigned arena_ind) {
        ArenaHooks *h = arena_hooks_of(hooks);
        char *p = (char *) addr + offset;

        /* mprotect + MADV_DONTNEED rather than a fresh PROT_NONE mmap over
         * the range: a new mapping would drop the mbind policy. Once the
         * range is PROT_NONE, jemalloc commits it again before any use, so
         * it counts as decommitted; MADV_DONTNEED on a private anonymous
         * range we mapped fails only on bad arguments. With huge pages the
         * range stays read-write (see ArenaHooks.hugepages): the pages go,
         * the protection against a stray use does not. */
        if (!h->hugepages && mprotect(p, length, PROT_NONE) < 0)
                return true;
        (void) madvise(p, length, MADV_DONTNEED);
        arena_uncharge(h, length);
        return false;
}

static bool arena_hook_purge_lazy(extent_hooks_t *hooks, void *addr, size_t size, size_t offset,
                                  size_t length, unsigned arena_ind) {
        /* Still committed (charged): only the kernel may reclaim the pages. */
        return madvise((char *) addr + offset, length, MADV_FREE) < 0;
}

static bool arena_hook_purge_forced(extent_hooks_t *hooks, void *addr, size_t size, size_t offset,
                                    size_t length, unsigned arena_ind) {
        /* Still committed (charged): the pages read back as zeros. */
        return madvise((char *) addr + offset, length, MADV_DONTNEED) < 0;
}

static bool arena_hook_split(extent_hooks_t *hooks, void *addr, size_t size, size_t size_a, size_t size_b,
                             bool committed, unsigned arena_ind) {
        return false; /* a range is only ever unmapped whole (dalloc) or at destroy */
}

static bool arena_hook_merge(extent_hooks_t *hooks, void *addr_a, size_t size_a, void *addr_b, size_t size_b,
                             bool committed, unsigned arena_ind) {
        /* With opt.retain jemalloc merges only within one mapping (it
         * never merges into a head extent, the first of each mapping; see
         * arena.h): allowed, and no lookup on this frequent path. Without
         * it (MALLOC_CONF=retain:false) it merges adjacent mappings of this
         * arena, and the result could never be unmapped by dalloc (not one
         * whole mapping): refuse a merge at a mapping's start. Refusing is
         * safe within one arena (jemalloc puts the neighbour back); it
         * would not help across arenas, where jemalloc has already taken
         * the neighbour out of the wrong ecache before it asks. */
        ArenaHooks *h = arena_hooks_of(hooks);
        return h->merge_check && arena_maps_is_start(h, addr_b);
}

void arena_hooks_init(ArenaHooks *h, BudgetPool *bp, BudgetProc *slot, int mpol, const uint64_t *nodemask,
                      int event_fd) {
        memset(h, 0, sizeof *h);
        h->hooks = (extent_hooks_t) {
                .alloc = arena_hook_alloc,
                .dalloc = arena_hook_dalloc,
                .destroy = arena_hook_destroy,
                .commit = arena_hook_commit,
                .decommit = arena_hook_decommit,
                .purge_lazy = arena_hook_purge_lazy,
                .purge_forced = arena_hook_purge_forced,
                .split = arena_hook_split,
                .merge = arena_hook_merge,
        };
        h->bp = bp;
        h->slot = slot;
        h->mpol = mpol;
        _Static_assert(sizeof h->nodemask == BUDGET_NUMA_NODES_MAX / 8, "nodemask size");
        if (nodemask)
                memcpy(h->nodemask, nodemask, sizeof h->nodemask);
        h->event_fd = event_fd;

        /* jemalloc's default on 64-bit Linux is true; a failed read leaves
         * the check on, which is only slower. */
        bool retain = false;
        size_t sz = sizeof retain;
        h->merge_check = mallctl("opt.retain", &retain, &sz, NULL, 0) != 0 || !retain;
}

int arena_hooks_check_numa(const ArenaHooks *h) {
        if (h->mpol < 0)
                return 0;

        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        void *p = mmap(NULL, page, PROT_NONE, ARENA_MAP_FLAGS, -1, 0);
        if (p == MAP_FAILED)
                return -errno;
        int r = arena_mbind(h, p, page);
        munmap(p, page);
        return r;
}

/* The adapter: mallctl() returns a positive errno. */
static int arena_ctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
        int r = mallctl(name, oldp, oldlenp, newp, newlen);
        return r > 0 ? -r : r;
}

int arena_create(ArenaHooks *h, unsigned *ret_index) {
        extent_hooks_t *hooks = &h->hooks;
        unsigned index;
        size_t sz = sizeof index;

        int r = arena_ctl("arenas.create", &index, &sz, &hooks, sizeof hooks);
        if (r < 0)
                return r;
        *ret_index = index;
        return 0;
}

/* Runs "arena.<INDEX>.<WHAT>". */
static int arena_ctl_void(unsigned index, const char *what) {
        char name[64];
        snprintf(name, sizeof name, "arena.%u.%s", index, what);
        return arena_ctl(name, NULL, NULL, NULL, 0);
}

int arena_destroy(unsigned index) {
        return arena_ctl_void(index, "destroy");
}

int arena_purge(unsigned index) {
        return arena_ctl_void(index, "purge");
}

int arena_tcache_create(unsigned *ret_id) {
        unsigned id;
        size_t sz = sizeof id;
        int r = arena_ctl("tcache.create", &id, &sz, NULL, 0);
        if (r < 0)
                return r;
        *ret_id = id;
        return 0;
}

int arena_tcache_flush(unsigned id) {
        return arena_ctl("tcache.flush", NULL, NULL, &id, sizeof id);
}

int arena_tcache_destroy(unsigned id) {
        return arena_ctl("tcache.destroy", NULL, NULL, &id, sizeof id);
}

int arena_lookup(const void *ptr, unsigned *ret_index) {
        unsigned index;
        size_t sz = sizeof index;
        int r = arena_ctl("arenas.lookup", &index, &sz, &ptr, sizeof ptr);
        if (r < 0)
                return r;
        *ret_index = index;
        return 0;
}

/* Reads the size_t "stats.arenas.<INDEX>.<WHAT>". */
static int arena_read_size(unsigned index, const char *what, uint64_t *ret) {
        char name[96];
        size_t v, sz = sizeof v;
        snprintf(name, sizeof name, "stats.arenas.%u.%s", index, what);
        int r = arena_ctl(name, &v, &sz, NULL, 0);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int arena_get_stats(unsigned index, ArenaStats *ret) {
        uint64_t epoch = 1;
        size_t sz = sizeof epoch;
        int r = arena_ctl("epoch", &epoch, &sz, &epoch, sizeof epoch);
        if (r < 0)
                return r;

        ArenaStats s = {};
        uint64_t small, large, pactive;
        if ((r = arena_read_size(index, "small.allocated", &small)) < 0 ||
            (r = arena_read_size(index, "large.allocated", &large)) < 0 ||
            (r = arena_read_size(index, "pactive", &pactive)) < 0 ||
            (r = arena_read_size(index, "resident", &s.resident)) < 0 ||
            (r = arena_read_size(index, "mapped", &s.mapped)) < 0 ||
            (r = arena_read_size(index, "retained", &s.retained)) < 0)
                return r;
        s.allocated = small + large;
        s.active = pactive * (uint64_t) sysconf(_SC_PAGESIZE);
        *ret = s;
        return 0;
}
