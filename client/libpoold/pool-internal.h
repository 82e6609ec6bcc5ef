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

/* How long pool_open() waits for each of poold's replies ("open",
 * "subscribe"): the same 5 s ctl_connect() waits for a full backlog. poold
 * answers from memory; only a wedged daemon takes longer. */
#define POOL_DAEMON_TIMEOUT_MS 5000

/* How long an acknowledgement may wait for room in the socket's send
 * buffer (about 200 KiB, so only a daemon that stopped reading fills it). A
 * half-sent line would corrupt the stream: past this the connection is
 * closed instead. */
#define POOL_ACK_TIMEOUT_MS 1000

/* Messages pool_poll() reads from the socket per call at most, so a flood
 * cannot keep it from returning (poold sends one per target change). */
#define POOL_EVENTS_PER_POLL 64

/* client/ctl-client.h, without making every user of this header need json-c. */
typedef struct CtlClient CtlClient;

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
        _Atomic uint64_t published_ns;   /* when pool_poll() last published the arena's figures */
        _Atomic uint64_t shrink_reported;
        _Atomic uint64_t shrink_released;
        _Atomic uint64_t last_shrink_ns;

        /* Opened through poold: the control connection, subscribed to topic
         * pool/NAME (NULL standalone, or once poold closed it), under
         * conn_lock. POLL_FD is an epoll fd watching EVENT_FD and the socket,
         * what pool_get_fd() returns then (-1 standalone). */
        pthread_mutex_t conn_lock;
        CtlClient *ctl;
        int poll_fd;
        /* Charge given back by shrinks since the last ack to poold. */
        _Atomic uint64_t released_unacked;

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
/* pool_open_page() with poold's connection CTL (may be NULL), which the pool
 * takes in every case: its events are read by pool_poll(). SLOT_PID goes
 * into the process slot (0: getpid()). */
int pool_open_page_ctl(const char *name, unsigned flags, BudgetPage *page, bool own_page, CtlClient *ctl,
                       pid_t slot_pid, Pool **ret);

/* poold's side of a pool (connection.c). pool_daemon_open() connects to
 * OPTS->socket_path (NULL: the default), asks for pool NAME's budget page
 * and subscribes to its events. *RET_PID gets the pid for this process's
 * slot: this process as poold sees it (another PID namespace gives another
 * number), -1 if poold cannot see it. Returns 0 with *RET_PAGE and *RET_CTL, or
 * -ENOENT/-ECONNREFUSED (poold not running), -ENXIO (no such pool),
 * -EPERM, -EPROTO, -ETIMEDOUT, -ENOMEM... */
int pool_daemon_open(const char *name, const PoolOpenOptions *opts, BudgetPage **ret_page, CtlClient **ret_ctl,
                     pid_t *ret_pid);
/* Reads what poold sent (at most POOL_EVENTS_PER_POLL messages). Sets
 * *RET_SHRINK and *RET_SEQ (the highest seq) when a shrink request for P
 * with a seq came. Anything malformed or unknown is skipped. If poold closed the
 * connection, the pool carries on with its page, unwatched. */
void pool_daemon_read(Pool *p, bool *ret_shrink, uint64_t *ret_seq);
/* Acknowledges shrink request SEQ with the charge given back since the
 * last acknowledgement. */
void pool_daemon_ack(Pool *p, uint64_t seq);
/* Closes the connection. */
void pool_daemon_close(Pool *p);

/* Flushes the calling thread's tcache for P, if it has one, and moves P's
 * epoch on so other threads flush theirs at their next call. */
void pool_flush_tcaches(Pool *p);

/* What the calling thread's front cache for P holds (tests). */
void pool_front_held(Pool *p, uint64_t *ret_objects, uint64_t *ret_bytes);

/* Starts and stops the shrink thread (shrink.c). Return 0 or -errno. */
int shrink_thread_start(Pool *p);
void shrink_thread_stop(Pool *p);

/* Frees the callback table (shrink.c), at close. */
void shrink_done(Pool *p);

/* Returns true for [a-z][a-z0-9_]{0,31}. */
bool pool_name_valid(const char *s);
