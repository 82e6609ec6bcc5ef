/* SPDX-License-Identifier: MIT */
#pragma once

/* One jemalloc arena per pool, with extent hooks that map the arena's memory
 * themselves, place it on the pool's NUMA nodes (raw mbind) and charge the
 * pool's budget page for every committed byte. Also the one adapter between
 * jemalloc's mallctl() (positive error numbers) and our negative errno.
 *
 * What jemalloc 5.3 does with these hooks (measured, see check_arena.c):
 * - it grows the arena by asking alloc for geometrically growing chunks with
 *   *commit=false (opt.retain is on); the hooks map them PROT_NONE and charge
 *   nothing; jemalloc commits only the part it uses (commit hook: charge,
 *   then make it read-write). The arena's metadata (base) is asked for with
 *   *commit=true and is charged at once, about 2 MiB per arena.
 * - when an unused (dirty) extent is purged, by decay or arena.<i>.purge,
 *   jemalloc calls dalloc first. Ours unmaps it only if it is exactly one
 *   whole mapping that alloc made (a table of them, maps[]); for anything
 *   else it opts out (returns true), and jemalloc then calls decommit
 *   (ours: uncharge, PROT_NONE, MADV_DONTNEED: the pages go back to the
 *   kernel, RSS falls) and keeps the range as retained address space,
 *   which it commits again for later allocations. That is jemalloc's own
 *   mode on Linux (opt.retain; its default hooks never unmap).
 *   Why never part of a mapping: with opt.retain jemalloc keeps arenas
 *   apart only by head extents (the first extent of each mapping: it never
 *   merges into one), and checks the neighbour's arena only in an assert
 *   (extent_can_acquire_neighbor(), jemalloc 5.3 extent.h). Unmapping part
 *   of a mapping left a hole next to a non-head extent of this arena;
 *   another pool's arena mapped its next chunk into the hole and merged
 *   our extent into its own ecache: SIGSEGV in mallocx with two pools after
 *   16 x 1 MiB freed and purged in one (check_arena.c
 *   test_two_pools_free_then_other). A whole mapping leaves a hole whose
 *   edges are mapping edges, where only head extents meet. A merge hook
 *   cannot guard this: jemalloc takes the neighbour out of its ecache
 *   before it calls merge. At arena destruction, destroy unmaps a mapping
 *   when its last part is destroyed (other arenas still run meanwhile). A
 *   range jemalloc abandons (it does so only when it cannot allocate an
 *   extent struct) keeps its mapping: address space, no memory.
 * - when a commit fails at Max, jemalloc does not stop: having found a
 *   retained range and failed to commit it, it maps a fresh chunk (up to
 *   8 MiB) to grow into, fails to commit that too, and keeps it as retained
 *   address space until the arena is destroyed (measured: 280 GiB after
 *   18,000 failures). So a refused commit is remembered (refused_commit)
 *   and alloc does not map an uncommitted chunk while that size still does
 *   not fit under Max; jemalloc then asks for the request alone, committed,
 *   which the charge refuses before mapping. Failures at Max map nothing
 *   (check_arena.c: under 32 MiB of address space after 1000 failures,
 *   where the cap below was reached before).
 * - the bound: an arena's address space (reserved: committed, retained
 *   and metadata) never exceeds arena_reserve_limit(Max) = 4 x Max + 1 GiB;
 *   alloc refuses past it. Since nothing is unmapped but whole mappings,
 *   the retained part only grows, up to the most the arena ever needed at
 *   once plus fragmentation; within the bound jemalloc reuses it.
 * The hooks never allocate, never take locks and never use stdio: they run
 * inside jemalloc with its locks held. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jemalloc/jemalloc.h>

#include "budget-page.h"

#define ARENA_NODEMASK_WORDS (BUDGET_NUMA_NODES_MAX / 64)

/* Address space an arena may reserve for a pool of MAX bytes: what jemalloc
 * can commit (MAX) four times over for fragmentation and growth chunks, plus
 * 1 GiB so small pools are never short. Address space is cheap (128 TiB);
 * only its unbounded growth is not. */
#define ARENA_RESERVE_SLACK (UINT64_C(1) << 30)
static inline uint64_t arena_reserve_limit(uint64_t max) {
        return max > (UINT64_MAX - ARENA_RESERVE_SLACK) / 4 ? UINT64_MAX : max * 4 + ARENA_RESERVE_SLACK;
}

/* A mapping made by the alloc hook; LEFT is what the destroy hook has not
 * yet destroyed of it. 256 is far more than an arena makes: jemalloc grows
 * by chunks 1/4 size class larger each time (2 MiB, 2.5, 3, ...), about 60
 * chunks for 64 GiB, plus the base blocks (a handful). */
#define ARENA_MAPPINGS_MAX 256
typedef struct ArenaMapping {
        uintptr_t start;
        size_t size;
        size_t left;
} ArenaMapping;

typedef struct ArenaHooks {
        /* First: jemalloc passes &hooks to every hook, which finds the rest
         * of this struct from it. jemalloc keeps the pointer for the arena's
         * whole life: this struct must outlive the arena. */
        extent_hooks_t hooks;

        BudgetPool *bp;
        BudgetProc *slot;   /* this process's slot; may be NULL */

        int mpol;           /* MPOL_* for mbind, or -1 for no policy */
        unsigned long nodemask[ARENA_NODEMASK_WORDS];

        /* POOL_OPEN_HUGEPAGES: chunks of 2 MiB and more are mapped 2 MiB
         * aligned, read-write from the start and madvise(MADV_HUGEPAGE), so
         * the kernel backs them with transparent huge pages. Commit and
         * decommit then only charge and uncharge (decommit also drops the
         * pages): an mprotect() per extent would split the mapping into
         * VMAs too small for a huge page. */
        bool hugepages;

        /* Set by a commit that left the pool over its target; cleared by
         * whoever runs the shrink. On its 0 -> 1 change the hook writes 1 to
         * event_fd (if >= 0), so a poll() or the shrink thread wakes up. */
        _Atomic int over_target;
        int event_fd;

        /* Set by a commit refused over max: the allocation that failed may
         * succeed after a purge, which the allocating thread does (a hook
         * cannot: jemalloc's locks are held). */
        _Atomic int over_max;

        /* The size of the last commit refused at Max, 0 after one that
         * succeeded: alloc does not map a fresh chunk only for its commit
         * to be refused again. */
        _Atomic uint64_t refused_commit;
        _Atomic uint64_t grows_refused;    /* chunks alloc did not map for that */

        /* Every mapping alloc made, so dalloc can tell a whole mapping
         * (which it may unmap) from part of one (which it must not). */
        atomic_flag maps_lock;
        unsigned n_maps;
        ArenaMapping maps[ARENA_MAPPINGS_MAX];
        _Atomic uint64_t maps_untracked;   /* mappings made while maps[] was full */
        bool merge_check;                  /* refuse merges across mappings: opt.retain is off */

        _Atomic uint64_t committed;        /* what this arena has charged now */
        _Atomic uint64_t reserved;         /* address space mapped now, committed or not */
        _Atomic uint64_t commit_failures;
} ArenaHooks;

typedef struct ArenaStats {
        uint64_t allocated; /* small + large allocated */
        uint64_t active;    /* pactive * page size */
        uint64_t resident;
        uint64_t mapped;
        uint64_t retained;
} ArenaStats;

/* Fills H's hook table and state. MPOL is -1 or an MPOL_* mode with
 * NODEMASK (ARENA_NODEMASK_WORDS words). EVENT_FD may be -1. */
void arena_hooks_init(ArenaHooks *h, BudgetPool *bp, BudgetProc *slot, int mpol, const uint64_t *nodemask,
                      int event_fd);

/* Checks that the kernel accepts H's NUMA policy, on a scratch mapping.
 * Returns 0 or -EINVAL (nodes that do not exist), or another mbind errno. */
int arena_hooks_check_numa(const ArenaHooks *h);

/* Creates an arena using H (which must outlive it). Returns 0 or -errno
 * (-ENOMEM also when the budget cannot hold the arena's metadata). */
int arena_create(ArenaHooks *h, unsigned *ret_index);
/* Destroys arena INDEX and everything allocated from it. Returns 0 or -errno. */
int arena_destroy(unsigned index);
/* Returns the arena's unused dirty and muzzy pages to the kernel. Returns 0 or -errno. */
int arena_purge(unsigned index);

/* Explicit tcaches (tcache.create/flush/destroy). Return 0 or -errno. */
int arena_tcache_create(unsigned *ret_id);
int arena_tcache_flush(unsigned id);
int arena_tcache_destroy(unsigned id);

/* Arena index that PTR was allocated from. Returns 0 or -errno. */
int arena_lookup(const void *ptr, unsigned *ret_index);

/* Refreshes jemalloc's statistics and reads arena INDEX's. Returns 0 or -errno. */
int arena_get_stats(unsigned index, ArenaStats *ret);
