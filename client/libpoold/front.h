/* SPDX-License-Identifier: MIT */
#pragma once

/* The front cache: per thread and per pool, a short stack of freed small
 * objects for each jemalloc size class up to FRONT_MAX_SIZE, in front of
 * the pool's explicit tcache. Not installed.
 *
 * Why it exists: jemalloc 5.3 has a fast path only for its automatic
 * tcache (malloc/free, sdallocx with flags 0); mallocx/dallocx with
 * MALLOCX_TCACHE take the general path, which is what a per-pool arena
 * needs. Measured side by side on one machine (bench/RESULTS.md,
 * "libpoold"): a 64-byte malloc+free pair costs 11.9 ns through
 * mallocx/dallocx with an explicit tcache, 6.1 ns through jemalloc's
 * malloc/free and 8.2-9.1 ns through glibc's. A pop here is a table
 * lookup and a load; a push needs the object's size class, which costs one
 * sallocx() (about 3 ns). It never returns an object of another size class
 * or pool: a stack holds one class of one pool's arena, and everything in
 * it was allocated by that arena.
 *
 * What it holds is allocated in jemalloc's figures (and charged: the pages
 * are committed) but free for the application: per class at most
 * FRONT_BIN_ITEMS objects and FRONT_BIN_BYTES, 337 KiB in all if a thread
 * fills every class (jemalloc's explicit tcache under it may hold more:
 * up to 200 objects per small class). It is given back to the arena when
 * the pool's epoch moves on (a shrink: at the thread's next call), at thread
 * exit, and when a stack overflows (its older half). A thread that never
 * calls into the pool again keeps what it holds until the pool is closed,
 * as jemalloc's own tcaches do.
 *
 * Not thread-safe: a Front belongs to one thread. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Classes served: jemalloc's up to 4 KiB, 29 of them with its default
 * configuration (8, 16, 32, 48, ... 3584, 4096). Larger objects go straight
 * to jemalloc, where the extra cost of the general path is small against
 * the object's use. */
#define FRONT_MAX_SIZE 4096
#define FRONT_CLASSES_MAX 32
/* Per class at most this many objects and bytes (at least 2 objects): 64
 * of 64 B (4 KiB), 16 of 1 KiB, 4 of 4 KiB. Measured with bench_alloc's
 * mixed sizes (16 B-4 KiB, 1024 live): 4 KiB per class made the pool 4-21%
 * slower than the plain arena (stacks of 1-2 large objects spill and run
 * empty), 16 KiB 2-19% faster; 32 KiB gained little more. */
#define FRONT_BIN_ITEMS 64
#define FRONT_BIN_BYTES 16384

typedef struct FrontBin {
        unsigned n;
        unsigned cap; /* copied from the class table: no global load on the path */
        void *items[FRONT_BIN_ITEMS];
} FrontBin;

typedef struct Front {
        FrontBin bins[FRONT_CLASSES_MAX];
} Front;

/* The class table, built by front_init(). FRONT_CLASS_OF[(n + 7) / 8] is the
 * class index of a request of N bytes (1 <= N <= FRONT_MAX_SIZE), or
 * FRONT_NO_CLASS (all of them before front_init(), or if it failed). */
#define FRONT_NO_CLASS UINT8_MAX
extern uint8_t front_class_of[FRONT_MAX_SIZE / 8 + 1];

/* Builds the class table from jemalloc's nallocx(), once per process.
 * Thread-safe. Returns 0, or -errno (then every size has FRONT_NO_CLASS and
 * the front cache serves nothing). */
int front_init(void);

/* A Front for one thread and pool, empty (calloc), or NULL. */
Front *front_new(void);

/* Size class of a request of N bytes, or FRONT_NO_CLASS. */
static inline unsigned front_class(size_t n) {
        return n - 1 < FRONT_MAX_SIZE ? front_class_of[(n + 7) >> 3] : FRONT_NO_CLASS;
}

/* An object of class C, or NULL if the stack is empty. */
static inline void *front_pop(Front *f, unsigned c) {
        FrontBin *b = &f->bins[c];
        return b->n > 0 ? b->items[--b->n] : NULL;
}

/* Gives a full stack's older half back to jemalloc with FLAGS (out of line:
 * the allocation path stays small). */
void front_spill(FrontBin *b, int flags);

/* Keeps PTR, of class C, if its stack has room. Returns whether it did. */
static inline bool front_try_push(Front *f, unsigned c, void *ptr) {
        FrontBin *b = &f->bins[c];
        if (__builtin_expect(b->n >= b->cap, 0))
                return false;
        b->items[b->n++] = ptr;
        return true;
}

/* Keeps PTR, of class C, spilling half a full stack first. */
static inline void front_push(Front *f, unsigned c, void *ptr, int flags) {
        if (!front_try_push(f, c, ptr)) {
                front_spill(&f->bins[c], flags);
                f->bins[c].items[f->bins[c].n++] = ptr;
        }
}

/* Gives everything back to jemalloc with FLAGS (dallocx). */
void front_flush(Front *f, int flags);

/* Forgets everything without freeing it: for a pool whose arena is gone. */
void front_drop(Front *f);

/* The size of class C (tests). */
size_t front_class_size(unsigned c);

/* Objects and bytes held (tests, statistics). */
void front_held(const Front *f, uint64_t *ret_objects, uint64_t *ret_bytes);
