/* SPDX-License-Identifier: MIT */
#pragma once

/* What pool.c, shrink.c and the tests share about a Pool. Not installed. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "budget-page.h"
#include "macro.h"
#include "poold.h"

/* Pools open at once in one process. Every thread that uses pools keeps a
 * table of this many slots (32 bytes each, 2 KiB), and jemalloc allows at
 * most 4095 arenas anyway; poold's pools are a handful. */
#define POOL_SLOTS_MAX 64

typedef struct PoolShrinkCallback {
        PoolShrinkFn fn;
        void *userdata;
} PoolShrinkCallback;

struct Pool {
        char name[POOL_NAME_MAX + 1];
        unsigned flags;

        /* Identity in this process: SLOT indexes every thread's slot table;
         * ID tells this pool from an earlier one that had the same slot. */
        unsigned slot;
        uint64_t id;
        /* A thread's cached tcache flags for this pool are valid while its
         * slot's epoch equals this. A shrink moves it on, so that every
         * thread flushes its tcache (returns cached objects to the arena)
         * at its next call, which is the only safe time to flush a tcache
         * another thread uses. (jemalloc 5.3 flushes an explicit tcache by
         * destroying it and builds a new one, 32 KiB, at its next use: a
         * few tens of us per thread per shrink.) */
        _Atomic uint64_t epoch;

        unsigned arena;
        /* Separately allocated: if jemalloc refuses to destroy the arena,
         * the hooks (and the page they point into) must stay. */
        ArenaHooks *hooks;
        bool arena_created;

        BudgetPage *page;
        unsigned page_index;
        BudgetPool *bp;
        BudgetProc *proc;
        int event_fd;

        /* tcaches created for this pool by threads, under pool_registry_lock */
        unsigned *tcaches;
        size_t n_tcaches;
        size_t n_tcaches_allocated;

        /* shrink state, under shrink_lock */
        pthread_mutex_t shrink_lock;
        PoolShrinkCallback *callbacks;
        size_t n_callbacks;
        uint64_t seen_seq;
        _Atomic uint64_t n_shrinks;
        _Atomic uint64_t shrink_requested;
        _Atomic uint64_t shrink_reported;
        _Atomic uint64_t shrink_released;
        _Atomic uint64_t last_shrink_ns;

        /* POOL_OPEN_SHRINK_THREAD */
        pthread_t thread;
        bool has_thread;
        _Atomic bool closing;
};

/* Opens a pool on an existing budget page: pool PAGE_INDEX of PAGE, with a
 * fresh process slot. With OWN_PAGE the pool owns PAGE, also when this fails
 * (it is unmapped at close, or at once). Used by
 * pool_open() (standalone: its own page; later: the page poold sends) and by
 * the tests. Returns 0 or -errno as pool_open(). */
int pool_open_page(const char *name, unsigned flags, BudgetPage *page, bool own_page, Pool **ret);

/* Flushes the calling thread's tcache for P, if it has one, and moves P's
 * epoch on so other threads flush theirs at their next call. */
void pool_flush_tcaches(Pool *p);

/* Starts and stops the shrink thread (shrink.c). Return 0 or -errno. */
int shrink_thread_start(Pool *p);
void shrink_thread_stop(Pool *p);

/* Frees the callback table (shrink.c), at close. */
void shrink_done(Pool *p);

/* Returns true for [a-z][a-z0-9_]{0,31}. */
bool pool_name_valid(const char *s);
