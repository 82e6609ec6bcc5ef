/* SPDX-License-Identifier: MIT */
#pragma once

/* The budget page: the shared memory through which every process using a
 * pool, and poold, agree on the pool's Max, target and what is charged.
 * Used by libpoold and by the daemon: no jemalloc types here.
 *
 * Why shared memory: the charge changes on every extent commit in every
 * client process; a message to the daemon per commit would put a syscall
 * round trip into allocations. With the counters in a memfd mapped
 * MAP_SHARED, a commit is one atomic fetch_add and the daemon reads totals
 * without asking anyone. The daemon creates the memfd and hands it to
 * clients over the control socket (SCM_RIGHTS); a standalone client creates
 * its own. The memfd is sealed against shrinking so a client cannot make
 * another process fault (SIGBUS) on a truncated page.
 *
 * Layout (version 1), all integers host-endian, every record 64-byte aligned
 * so that counters written by different processes do not share cache lines:
 *
 *   offset 0            BudgetPageHeader (64 bytes): magic, version, the
 *                       sizes of the three records, counts, total size
 *   64                  pool 0: BudgetPool (320 bytes)
 *   64 + 320            pool 0's process slots: n_procs x BudgetProc (64 bytes)
 *   64 + (320 + 64n)    pool 1 ...
 *
 * A reader checks magic, version, each record size and the total size
 * against its own, and refuses anything else with -EPROTO: a client and a
 * daemon of different versions never guess at each other's layout.
 *
 * Accounting: charged is the sum over every process of the bytes its arena
 * has committed (mapped read-write). A commit does fetch_add then compares
 * with max; over max it subtracts again and fails, so charged never stays
 * above max and the allocation fails cleanly. Two commits racing near max
 * may both fail where one alone would fit: the pool is then within one
 * extent of Max, and failing a little early beats a compare-and-swap loop
 * that many processes would contend on. Each process also counts its own
 * charge in its slot, so the daemon can give back the charge of a process
 * that died without closing (budget_proc_reap()) and so each process is
 * asked for its share of a shrink, not the whole excess.
 *
 * target_seq is bumped at every target change so a process can tell that it
 * has not yet acted on the latest target (it stores the seq it acted on in
 * its slot's seen_seq). */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUDGET_PAGE_MAGIC "PooldBP"  /* 8 bytes with its NUL */
#define BUDGET_PAGE_VERSION 1U

/* Caps that keep budget_page_size() far from overflow and a bad header from
 * making a reader map gigabytes. */
#define BUDGET_PAGE_POOLS_MAX 4096U
#define BUDGET_PAGE_PROCS_MAX 65536U

#define BUDGET_POOL_NAME_MAX 32     /* [a-z][a-z0-9_]{0,31}, as poold.conf */
#define BUDGET_POOL_NAME_SIZE 40    /* the name + NUL, padded */
#define BUDGET_NUMA_NODES_MAX 1024  /* bits in BudgetPool.numa_nodes */

typedef enum BudgetPoolState {
        BUDGET_POOL_FREE = 0,
        BUDGET_POOL_ACTIVE = 1,
} BudgetPoolState;

/* NUMA modes as the page stores them (the same numbering as PoolNumaMode). */
typedef enum BudgetNumaMode {
        BUDGET_NUMA_LOCAL = 0,
        BUDGET_NUMA_BIND = 1,
        BUDGET_NUMA_INTERLEAVE = 2,
        BUDGET_NUMA_PREFERRED = 3,
} BudgetNumaMode;

/* BudgetPool.flags: how poold's config wants clients to back the pool. */
enum {
        BUDGET_POOL_HUGEPAGES = UINT64_C(1) << 0, /* HugePages=yes: as POOL_OPEN_HUGEPAGES */
};

typedef struct BudgetPageHeader {
        char magic[8];            /* BUDGET_PAGE_MAGIC */
        uint32_t version;         /* BUDGET_PAGE_VERSION */
        uint32_t header_size;     /* sizeof(BudgetPageHeader) */
        uint32_t pool_size;       /* sizeof(BudgetPool) */
        uint32_t proc_size;       /* sizeof(BudgetProc) */
        uint32_t n_pools;
        uint32_t n_procs;         /* process slots per pool */
        uint64_t total_size;      /* budget_page_size(n_pools, n_procs) */
        _Atomic uint64_t seq;     /* bumped when the writer changes pools */
        uint8_t reserved[16];
} BudgetPageHeader;

typedef struct BudgetPool {
        /* cache line 0: identity and limits, read on every commit, written rarely */
        char name[BUDGET_POOL_NAME_SIZE];
        _Atomic uint32_t state;      /* BudgetPoolState */
        uint32_t numa_mode;          /* BudgetNumaMode */
        _Atomic uint64_t max;
        _Atomic uint64_t target;
        /* cache line 1: events */
        _Atomic uint64_t target_seq;      /* bumped at every target change */
        _Atomic uint64_t commit_failures; /* commits refused over max */
        _Atomic uint64_t shrink_released; /* charge given back by shrinks, every process */
        _Atomic uint64_t peak;            /* highest charged */
        /* charged when the target last changed (budget_set_target), so
         * every process frees the same fraction of its own charge for that
         * change, whenever it gets to it (budget_shrink_share_at()). 0 from
         * a writer older than this field (was reserved1[0], layout and
         * version unchanged): processes then go by the current excess. */
        _Atomic uint64_t target_charged;
        /* BUDGET_POOL_* flags, written by poold (was reserved1[0], layout
         * and version unchanged: 0 from an older writer). */
        _Atomic uint64_t flags;
        uint64_t reserved1[2];
        /* cache line 2: written by every commit of every process */
        _Atomic uint64_t charged;
        uint64_t reserved2[7];
        /* cache lines 3-4 */
        uint64_t numa_nodes[BUDGET_NUMA_NODES_MAX / 64];
} BudgetPool;

typedef struct BudgetProc {
        _Atomic int32_t pid;              /* 0: free; the process as the page's writer (poold)
                                           * sees it; negative: unknown to it, never reaped */
        uint32_t reserved0;
        _Atomic uint64_t charged;         /* this process's part of the pool's charged */
        _Atomic uint64_t seen_seq;        /* the target_seq this process last shrank for */
        _Atomic uint64_t shrink_requested; /* bytes its callbacks were asked for */
        _Atomic uint64_t shrink_released;  /* charge its shrinks gave back */
        /* What its arena holds, from jemalloc's per-arena stats, written by
         * the process itself at pool_poll(), pool_stats() and by its shrink
         * thread (at most once a second), never from an extent hook
         * (jemalloc holds the arena's locks there): so as fresh as the
         * process's last poll. allocated: bytes in live allocations; active:
         * bytes of the pages holding them; resident: jemalloc's upper
         * bound of the arena's pages in RAM, its metadata included. The gap
         * allocated..resident is allocator overhead. These were reserved[3]
         * (always 0) before, so the layout and BUDGET_PAGE_VERSION are
         * unchanged: a client older than this writes 0 here. */
        _Atomic uint64_t allocated;
        _Atomic uint64_t active;
        _Atomic uint64_t resident;
} BudgetProc;

/* A mapping of a page in this process. */
typedef struct BudgetPage {
        int fd;
        size_t size;
        BudgetPageHeader *header;
} BudgetPage;

/* Bytes of a page with N_POOLS pools of N_PROCS slots each (rounded up to
 * the page size), or 0 if the counts are 0 or over the caps. */
size_t budget_page_size(unsigned n_pools, unsigned n_procs);

/* Creates a sealed memfd page with N_POOLS free pools of N_PROCS slots.
 * Returns 0, -EINVAL (counts), -ENOMEM, or the memfd/mmap errno. */
int budget_page_create(unsigned n_pools, unsigned n_procs, BudgetPage **ret);

/* Maps FD (dup'ed; the caller keeps its own) after checking its header.
 * Returns 0, -EPROTO (magic, version, record sizes or total size differ;
 * file shorter than the header says), -EBADF, -ENOMEM, or the mmap errno. */
int budget_page_map(int fd, BudgetPage **ret);

/* Checks a header against this build's layout and FILE_SIZE. Pure.
 * Returns 0 or -EPROTO. */
int budget_page_check_header(const BudgetPageHeader *h, uint64_t file_size);

/* Unmaps and closes. Accepts NULL. Returns NULL. */
BudgetPage *budget_page_unmap(BudgetPage *pg);

/* Pool I of the page, or NULL if I is out of range. */
BudgetPool *budget_page_pool(const BudgetPage *pg, unsigned i);
/* Process slot J of pool I, or NULL if out of range. */
BudgetProc *budget_page_proc(const BudgetPage *pg, unsigned i, unsigned j);

/* Finds the active pool NAME. Returns its index or -ENOENT. */
int budget_page_find(const BudgetPage *pg, const char *name);

/* Makes pool I active with NAME, MAX and TARGET (writer side: the daemon, or
 * a standalone client for its own page). NUMA_NODES may be NULL.
 * Returns 0, -EINVAL (name too long, target > max, mode), -ENOENT (no pool I). */
int budget_page_init_pool(BudgetPage *pg, unsigned i, const char *name, uint64_t max, uint64_t target,
                          BudgetNumaMode numa_mode, const uint64_t *numa_nodes);

/* Claims a free process slot of pool I for PID. Returns 0, -ENOSPC (every
 * slot taken), -ENOENT (no pool I). */
int budget_proc_attach(const BudgetPage *pg, unsigned i, pid_t pid, BudgetProc **ret);

/* Gives back what SLOT still has charged and frees it. For a process's own
 * slot at close, and for the daemon when the slot's process died.
 * Returns the bytes given back. */
uint64_t budget_proc_reap(BudgetPool *bp, BudgetProc *slot);

/* Charges N bytes to BP (and SLOT, which may be NULL).
 * Returns 0 (charged, within target), 1 (charged, now over target), or
 * -ENOMEM (over max: nothing charged, commit_failures counted). Lock-free
 * and allocation-free: called from jemalloc's extent hooks. */
int budget_charge(BudgetPool *bp, BudgetProc *slot, uint64_t n);

/* Takes N bytes off BP (and SLOT). Lock-free and allocation-free. */
void budget_uncharge(BudgetPool *bp, BudgetProc *slot, uint64_t n);

/* Publishes SLOT's arena figures (BudgetProc.allocated, active, resident). */
void budget_proc_set_arena(BudgetProc *slot, uint64_t allocated, uint64_t active, uint64_t resident);

/* Sets BP's target, records what is charged then (target_charged) and
 * bumps target_seq. Returns 0 or -ERANGE (over max). */
int budget_set_target(BudgetPool *bp, uint64_t target);

/* This process's share of a shrink: of CHARGED (every process) over TARGET,
 * the part in proportion to SELF (this process's charge), rounded up.
 * Returns 0 when not over target. Pure. */
uint64_t budget_shrink_share(uint64_t charged, uint64_t target, uint64_t self);

/* This process's share of a target change: the fraction of SELF that the
 * pool had to lose when the change was made, CHARGED_THEN (target_charged)
 * over TARGET, rounded up. budget_shrink_share() asks for a share of the
 * excess left now: after another process has shrunk, that is a share of
 * what it left, and one round falls short (two equal clients of a pool at
 * 132 MiB told 64 MiB were left at 73 MiB, measured on the host). With the
 * fraction, every process frees its part of the excess as it was, whoever
 * goes first. Returns 0 when CHARGED_THEN is 0 (unknown) or not over
 * TARGET. Pure. */
uint64_t budget_shrink_share_at(uint64_t charged_then, uint64_t target, uint64_t self);
