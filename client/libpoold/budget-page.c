/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget-page.h"

/* The layout is shared between processes built separately: pin it. */
_Static_assert(sizeof(BudgetPageHeader) == 64, "BudgetPageHeader is 64 bytes");
_Static_assert(sizeof(BudgetPool) == 320, "BudgetPool is 320 bytes");
_Static_assert(sizeof(BudgetProc) == 64, "BudgetProc is 64 bytes");
_Static_assert(offsetof(BudgetPool, target_seq) == 64, "BudgetPool line 1");
_Static_assert(offsetof(BudgetPool, charged) == 128, "BudgetPool line 2");
_Static_assert(offsetof(BudgetPool, numa_nodes) == 192, "BudgetPool lines 3-4");
/* Formerly reserved[3]: version 1 clients that predate them leave 0 there. */
_Static_assert(offsetof(BudgetProc, allocated) == 40 && offsetof(BudgetProc, resident) == 56,
               "BudgetProc arena figures where reserved[3] was");
_Static_assert(sizeof(BUDGET_PAGE_MAGIC) == 8, "magic is 8 bytes with its NUL");
/* Counters are shared across processes: they must be lock-free (a lock-based
 * fallback would keep its lock in this process's memory, not in the page). */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

static size_t budget_pool_stride(unsigned n_procs) {
        return sizeof(BudgetPool) + (size_t) n_procs * sizeof(BudgetProc);
}

size_t budget_page_size(unsigned n_pools, unsigned n_procs) {
        if (n_pools == 0 || n_pools > BUDGET_PAGE_POOLS_MAX || n_procs == 0 || n_procs > BUDGET_PAGE_PROCS_MAX)
                return 0;

        /* At most 64 + 4096 * (320 + 65536 * 64) bytes, about 16 GiB: no overflow in size_t. */
        size_t n = sizeof(BudgetPageHeader) + (size_t) n_pools * budget_pool_stride(n_procs);
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        return (n + page - 1) / page * page;
}

int budget_page_check_header(const BudgetPageHeader *h, uint64_t file_size) {
        if (file_size < sizeof(BudgetPageHeader))
                return -EPROTO;
        if (memcmp(h->magic, BUDGET_PAGE_MAGIC, sizeof h->magic) != 0)
                return -EPROTO;
        if (h->version != BUDGET_PAGE_VERSION)
                return -EPROTO;
        if (h->header_size != sizeof(BudgetPageHeader) || h->pool_size != sizeof(BudgetPool) ||
            h->proc_size != sizeof(BudgetProc))
                return -EPROTO;

        size_t size = budget_page_size(h->n_pools, h->n_procs);
        if (size == 0 || h->total_size != size || file_size < size)
                return -EPROTO;
        return 0;
}

static int budget_page_mmap(int fd, size_t size, BudgetPage **ret) {
        BudgetPage *pg = calloc(1, sizeof *pg);
        if (!pg)
                return -ENOMEM;

        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
                int r = errno > 0 ? -errno : -EIO;
                free(pg);
                return r;
        }

        pg->fd = fd;
        pg->size = size;
        pg->header = m;
        *ret = pg;
        return 0;
}

int budget_page_create(unsigned n_pools, unsigned n_procs, BudgetPage **ret) {
        size_t size = budget_page_size(n_pools, n_procs);
        if (size == 0)
                return -EINVAL;

        int fd = memfd_create("poold-budget", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return errno > 0 ? -errno : -EIO;

        /* Sealed so that no process that gets the fd can shrink it under the
         * others (their next access would be SIGBUS) or grow it. */
        if (ftruncate(fd, (off_t) size) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
                int r = errno > 0 ? -errno : -EIO;
                close(fd);
                return r;
        }

        BudgetPage *pg;
        int r = budget_page_mmap(fd, size, &pg);
        if (r < 0) {
                close(fd);
                return r;
        }

        /* A fresh memfd reads as zeros: every pool is FREE, every slot pid 0. */
        BudgetPageHeader *h = pg->header;
        memcpy(h->magic, BUDGET_PAGE_MAGIC, sizeof h->magic);
        h->version = BUDGET_PAGE_VERSION;
        h->header_size = sizeof(BudgetPageHeader);
        h->pool_size = sizeof(BudgetPool);
        h->proc_size = sizeof(BudgetProc);
        h->n_pools = n_pools;
        h->n_procs = n_procs;
        h->total_size = size;
        atomic_store(&h->seq, 1);

        *ret = pg;
        return 0;
}

int budget_page_map(int fd, BudgetPage **ret) {
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return -EBADF;
        if (st.st_size < (off_t) sizeof(BudgetPageHeader))
                return -EPROTO;

        BudgetPageHeader h;
        ssize_t n = pread(fd, &h, sizeof h, 0);
        if (n < 0)
                return errno > 0 ? -errno : -EIO;
        if ((size_t) n != sizeof h)
                return -EPROTO;

        int r = budget_page_check_header(&h, (uint64_t) st.st_size);
        if (r < 0)
                return r;

        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return errno > 0 ? -errno : -EIO;

        r = budget_page_mmap(copy, h.total_size, ret);
        if (r < 0)
                close(copy);
        return r;
}

BudgetPage *budget_page_unmap(BudgetPage *pg) {
        if (!pg)
                return NULL;
        munmap(pg->header, pg->size);
        if (pg->fd >= 0)
                close(pg->fd);
        free(pg);
        return NULL;
}

BudgetPool *budget_page_pool(const BudgetPage *pg, unsigned i) {
        const BudgetPageHeader *h = pg->header;
        if (i >= h->n_pools)
                return NULL;
        return (BudgetPool *) ((char *) pg->header + sizeof(BudgetPageHeader) +
                               (size_t) i * budget_pool_stride(h->n_procs));
}

BudgetProc *budget_page_proc(const BudgetPage *pg, unsigned i, unsigned j) {
        BudgetPool *bp = budget_page_pool(pg, i);
        if (!bp || j >= pg->header->n_procs)
                return NULL;
        return (BudgetProc *) ((char *) bp + sizeof(BudgetPool)) + j;
}

int budget_page_find(const BudgetPage *pg, const char *name) {
        for (unsigned i = 0; i < pg->header->n_pools; i++) {
                BudgetPool *bp = budget_page_pool(pg, i);
                if (atomic_load(&bp->state) != BUDGET_POOL_ACTIVE)
                        continue;
                if (strncmp(bp->name, name, sizeof bp->name) == 0)
                        return (int) i;
        }
        return -ENOENT;
}

int budget_page_init_pool(BudgetPage *pg, unsigned i, const char *name, uint64_t max, uint64_t target,
                          BudgetNumaMode numa_mode, const uint64_t *numa_nodes) {
        BudgetPool *bp = budget_page_pool(pg, i);
        if (!bp)
                return -ENOENT;
        if (strlen(name) > BUDGET_POOL_NAME_MAX || target > max || (unsigned) numa_mode > BUDGET_NUMA_PREFERRED)
                return -EINVAL;

        memset(bp->name, 0, sizeof bp->name);
        strcpy(bp->name, name);
        bp->numa_mode = numa_mode;
        if (numa_nodes)
                memcpy(bp->numa_nodes, numa_nodes, sizeof bp->numa_nodes);
        else
                memset(bp->numa_nodes, 0, sizeof bp->numa_nodes);
        atomic_store(&bp->max, max);
        atomic_store(&bp->target, target);
        atomic_fetch_add(&bp->target_seq, 1);
        /* Last, with release order: a reader that sees ACTIVE sees the rest. */
        atomic_store_explicit(&bp->state, BUDGET_POOL_ACTIVE, memory_order_release);
        atomic_fetch_add(&pg->header->seq, 1);
        return 0;
}

int budget_proc_attach(const BudgetPage *pg, unsigned i, pid_t pid, BudgetProc **ret) {
        if (!budget_page_pool(pg, i))
                return -ENOENT;

        for (unsigned j = 0; j < pg->header->n_procs; j++) {
                BudgetProc *s = budget_page_proc(pg, i, j);
                int32_t expected = 0;
                if (atomic_compare_exchange_strong(&s->pid, &expected, (int32_t) pid)) {
                        atomic_store(&s->seen_seq, 0);
                        budget_proc_set_arena(s, 0, 0, 0);
                        *ret = s;
                        return 0;
                }
        }
        return -ENOSPC;
}

uint64_t budget_proc_reap(BudgetPool *bp, BudgetProc *slot) {
        uint64_t n = atomic_exchange(&slot->charged, 0);
        if (n > 0)
                atomic_fetch_sub(&bp->charged, n);
        atomic_store(&slot->shrink_requested, 0);
        atomic_store(&slot->shrink_released, 0);
        budget_proc_set_arena(slot, 0, 0, 0);
        atomic_store(&slot->pid, 0);
        return n;
}

void budget_proc_set_arena(BudgetProc *slot, uint64_t allocated, uint64_t active, uint64_t resident) {
        /* Three relaxed stores: a reader may see a mix of two refreshes,
         * which for figures a second old is no worse than either. */
        atomic_store_explicit(&slot->allocated, allocated, memory_order_relaxed);
        atomic_store_explicit(&slot->active, active, memory_order_relaxed);
        atomic_store_explicit(&slot->resident, resident, memory_order_relaxed);
}

int budget_charge(BudgetPool *bp, BudgetProc *slot, uint64_t n) {
        uint64_t max = atomic_load_explicit(&bp->max, memory_order_relaxed);
        uint64_t old = atomic_fetch_add(&bp->charged, n);
        uint64_t now = old + n;

        if (now < old || now > max) {
                atomic_fetch_sub(&bp->charged, n);
                atomic_fetch_add_explicit(&bp->commit_failures, 1, memory_order_relaxed);
                return -ENOMEM;
        }
        if (slot)
                atomic_fetch_add_explicit(&slot->charged, n, memory_order_relaxed);

        uint64_t peak = atomic_load_explicit(&bp->peak, memory_order_relaxed);
        while (now > peak &&
               !atomic_compare_exchange_weak_explicit(&bp->peak, &peak, now, memory_order_relaxed,
                                                      memory_order_relaxed))
                ;

        return now > atomic_load_explicit(&bp->target, memory_order_relaxed) ? 1 : 0;
}

void budget_uncharge(BudgetPool *bp, BudgetProc *slot, uint64_t n) {
        if (slot)
                atomic_fetch_sub_explicit(&slot->charged, n, memory_order_relaxed);
        atomic_fetch_sub(&bp->charged, n);
}

int budget_set_target(BudgetPool *bp, uint64_t target) {
        if (target > atomic_load(&bp->max))
                return -ERANGE;
        /* Before the seq: a process that sees the new seq sees this too. */
        atomic_store(&bp->target_charged, atomic_load(&bp->charged));
        atomic_store(&bp->target, target);
        atomic_fetch_add(&bp->target_seq, 1);
        return 0;
}

uint64_t budget_shrink_share_at(uint64_t charged_then, uint64_t target, uint64_t self) {
        if (charged_then <= target || self == 0)
                return 0;
        /* self * (charged_then - target) / charged_then, rounded up, in 128
         * bits as budget_shrink_share(); never more than SELF. */
        unsigned __int128 x = (unsigned __int128) (charged_then - target) * self;
        return (uint64_t) ((x + charged_then - 1) / charged_then);
}

uint64_t budget_shrink_share(uint64_t charged, uint64_t target, uint64_t self) {
        if (charged <= target || self == 0)
                return 0;
        if (self >= charged)
                return charged - target;

        /* excess * self / charged, rounded up; 128-bit because a 1 TiB pool
         * times a 1 TiB share overflows 64 bits. */
        unsigned __int128 x = (unsigned __int128) (charged - target) * self;
        return (uint64_t) ((x + charged - 1) / charged);
}
