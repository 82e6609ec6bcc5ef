/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's budget pages: one sealed memfd page (client/libpoold/
 * budget-page.h) per configured pool, handed to libpoold clients by the
 * "open" control verb. One page per pool, not one for all, because a page
 * is writable by whoever maps it: a client of pool A must not be able to
 * touch pool B's counters.
 *
 * poold writes Max, target and the NUMA policy into a page; clients charge
 * it from their jemalloc extent hooks; poold reads what is charged. A page
 * lives as long as its pool is configured: a reload keeps the page of every
 * pool that keeps its name (clients carry on with the new Max and target),
 * so a pool's budget is never split between an old and a new page.
 *
 * Everything runs on the daemon's loop thread; not thread-safe. */

#include <json-c/json.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"
#include "control.h"

/* Process slots per pool page: each process that opens the pool takes one
 * (budget_proc_attach) and gives it back at pool_close(). 1024 slots are
 * 64 KiB of page per pool; a 1025th process gets -ENOSPC from pool_open(). */
#define PAGES_PROCS_PER_POOL 1024U

typedef struct Pages Pages;

typedef struct PagesPoolStats {
        uint64_t max;
        uint64_t target;
        uint64_t charged;          /* bytes committed by every client's arena */
        uint64_t peak;             /* highest charged since the page was made */
        uint64_t processes;        /* slots in use (after reaping dead processes) */
        uint64_t commit_failures;  /* commits refused at Max, every client */
        uint64_t shrink_released;  /* charge given back by client shrinks, every client */
        uint64_t reaped;           /* charge given back for dead processes by this call */
        /* Summed over live slots, as each client last published them
         * (BudgetProc: at its pool_poll(), pool_stats(), or once a second
         * by its shrink thread; 0 from clients older than these fields). */
        uint64_t allocated;        /* bytes in live allocations */
        uint64_t active;           /* bytes of the pages holding them */
        uint64_t resident;         /* jemalloc's upper bound of the arenas' pages in RAM */
} PagesPoolStats;

/* Returns 0 with an empty set in *RET, or -ENOMEM. */
int pages_new(Pages **ret);
/* Unmaps and closes every page (clients keep their own mappings). Accepts
 * NULL. Returns NULL. */
Pages *pages_free(Pages *p);
static inline void pages_freep(Pages **p) {
        if (*p)
                pages_free(*p);
}

/* Makes the pages match C and B (B->pools in C's order): a pool whose name
 * is already known keeps its page, with Max, target and NUMA policy
 * updated; a new pool gets its page when a client first opens it (or
 * pages_get_fd() asks: 68 KiB of resident shared memory each, not paid for
 * pools nobody opens); a pool no longer in C loses its page
 * (clients that mapped it keep a private, now unwatched, budget). TARGETS
 * (may be NULL: the budget's) gives each pool's target in C's order; a
 * target over Max is cut to Max. Call at start and after every reload or
 * budget change. All or nothing: on error nothing changed.
 * Returns 0, -ENOMEM, -EINVAL (a name the page cannot hold), or the
 * memfd/mmap errno. */
int pages_sync(Pages *p, const Config *c, const Budget *b, const uint64_t *targets);

/* Sets POOL's target and bumps its target_seq, so clients see it at their
 * next poll. Call at every shrink, grow and `poolctl set target`, before
 * telling subscribers. Returns 0, -ENOENT (no such pool), -ERANGE (over Max). */
int pages_set_target(Pages *p, const char *pool, uint64_t target);

/* Fills RET with POOL's figures, after giving back the charge of processes
 * that died without closing. Returns 0 or -ENOENT. */
int pages_stats(Pages *p, const char *pool, PagesPoolStats *ret);

/* Gives back the charge of dead processes in every page: a slot's pid is
 * the client's as poold sees it ("open" tells the client), dead when
 * kill(pid, 0) fails with ESRCH; a negative pid (a client poold cannot
 * see) is never reaped. Returns the bytes given back. */
uint64_t pages_reap(Pages *p);

/* Returns the memfd of POOL's page (owned by P), or -ENOENT. */
int pages_get_fd(Pages *p, const char *pool);

/* The ControlVerbHandler of verb "open" (USERDATA: the Pages). Args
 * {"pool": NAME}; result {"pool", "max", "target", "numa", "version", "pid"}
 * with the page's memfd attached ("pid": the caller's pid as poold sees it,
 * for its process slot; null if poold cannot see it). Register it CONTROL_VERB_PRIVILEGED: the page
 * is writable, and whoever holds it can charge or free the pool's budget.
 * Errors: invalid (no or malformed name, unknown argument), not_found. */
int pages_verb_open(ControlRequest *req, json_object *args, void *userdata, json_object **ret_result,
                    ProtocolError *ret_error);
