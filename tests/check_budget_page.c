/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "budget-page.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)

static BudgetPage *page_with_pool(unsigned n_procs, uint64_t max, uint64_t target) {
        BudgetPage *pg;
        ck_assert_int_eq(budget_page_create(2, n_procs, &pg), 0);
        ck_assert_int_eq(budget_page_init_pool(pg, 1, "data", max, target, BUDGET_NUMA_LOCAL, NULL), 0);
        return pg;
}

START_TEST(test_size) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        ck_assert_uint_eq(budget_page_size(0, 1), 0);
        ck_assert_uint_eq(budget_page_size(1, 0), 0);
        ck_assert_uint_eq(budget_page_size(BUDGET_PAGE_POOLS_MAX + 1, 1), 0);
        ck_assert_uint_eq(budget_page_size(1, BUDGET_PAGE_PROCS_MAX + 1), 0);
        /* 64 + 320 + 64 = 448 bytes: one page */
        ck_assert_uint_eq(budget_page_size(1, 1), page);
        /* 64 + 16 * (320 + 64 * 64) = 70720 bytes */
        ck_assert_uint_eq(budget_page_size(16, 64), (70720 + page - 1) / page * page);
        ck_assert_uint_gt(budget_page_size(BUDGET_PAGE_POOLS_MAX, BUDGET_PAGE_PROCS_MAX), 0);
}
END_TEST

START_TEST(test_create_map_find) {
        BudgetPage *pg = page_with_pool(4, 100 * M, 80 * M);
        ck_assert_int_eq(budget_page_find(pg, "data"), 1);
        ck_assert_int_eq(budget_page_find(pg, "dat"), -ENOENT);
        ck_assert_int_eq(budget_page_find(pg, "other"), -ENOENT);
        ck_assert_ptr_null(budget_page_pool(pg, 2));
        ck_assert_ptr_null(budget_page_proc(pg, 1, 4));
        ck_assert_int_eq(budget_page_init_pool(pg, 0, "a_name_far_too_long_for_a_pool_name_x", 1, 1,
                                               BUDGET_NUMA_LOCAL, NULL), -EINVAL);
        ck_assert_int_eq(budget_page_init_pool(pg, 0, "x", 1, 2, BUDGET_NUMA_LOCAL, NULL), -EINVAL);
        ck_assert_int_eq(budget_page_init_pool(pg, 9, "x", 1, 1, BUDGET_NUMA_LOCAL, NULL), -ENOENT);

        /* A second mapping of the same memfd sees the same pool, and writes
         * through one are seen through the other. */
        BudgetPage *other;
        ck_assert_int_eq(budget_page_map(pg->fd, &other), 0);
        ck_assert_int_eq(budget_page_find(other, "data"), 1);
        BudgetPool *a = budget_page_pool(pg, 1), *b = budget_page_pool(other, 1);
        ck_assert_ptr_ne(a, b);
        ck_assert_int_eq(budget_charge(a, NULL, 5 * M), 0);
        ck_assert_uint_eq(atomic_load(&b->charged), 5 * M);
        ck_assert_uint_eq(atomic_load(&b->max), 100 * M);
        ck_assert_uint_eq(atomic_load(&b->target), 80 * M);
        budget_page_unmap(other);

        /* Sealed: nobody shrinks it under the others. */
        ck_assert_int_lt(ftruncate(pg->fd, 0), 0);
        ck_assert_int_eq(errno, EPERM);
        budget_page_unmap(pg);
}
END_TEST

static int map_modified(size_t offset, const void *bytes, size_t n) {
        BudgetPage *pg = page_with_pool(1, M, M);
        int fd = memfd_create("copy", MFD_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, pg->header, pg->size), (ssize_t) pg->size);
        ck_assert_int_eq(pwrite(fd, bytes, n, (off_t) offset), (ssize_t) n);
        budget_page_unmap(pg);

        BudgetPage *m = NULL;
        int r = budget_page_map(fd, &m);
        budget_page_unmap(m);
        close(fd);
        return r;
}

START_TEST(test_mismatch_refused) {
        uint32_t v = 2;
        ck_assert_int_eq(map_modified(offsetof(BudgetPageHeader, version), &v, sizeof v), -EPROTO);
        ck_assert_int_eq(map_modified(0, "XooldBP", 8), -EPROTO);
        v = 328; /* a daemon whose BudgetPool grew */
        ck_assert_int_eq(map_modified(offsetof(BudgetPageHeader, pool_size), &v, sizeof v), -EPROTO);
        v = 32;
        ck_assert_int_eq(map_modified(offsetof(BudgetPageHeader, proc_size), &v, sizeof v), -EPROTO);
        v = 100; /* says 100 pools: the total size no longer agrees */
        ck_assert_int_eq(map_modified(offsetof(BudgetPageHeader, n_pools), &v, sizeof v), -EPROTO);
        uint64_t big = 1 << 30;
        ck_assert_int_eq(map_modified(offsetof(BudgetPageHeader, total_size), &big, sizeof big), -EPROTO);
        v = 2; /* unchanged: the copy itself maps */
        ck_assert_int_eq(map_modified(offsetof(BudgetPageHeader, n_pools), &v, sizeof v), 0);

        /* A file shorter than its header says */
        BudgetPage *pg = page_with_pool(1, M, M);
        int fd = memfd_create("short", MFD_CLOEXEC);
        ck_assert_int_eq(write(fd, pg->header, 100), 100);
        BudgetPage *m;
        ck_assert_int_eq(budget_page_map(fd, &m), -EPROTO);
        ck_assert_int_eq(ftruncate(fd, 10), 0);
        ck_assert_int_eq(budget_page_map(fd, &m), -EPROTO);
        close(fd);
        ck_assert_int_eq(budget_page_map(-1, &m), -EBADF);
        budget_page_unmap(pg);
}
END_TEST

START_TEST(test_charge_rules) {
        BudgetPage *pg = page_with_pool(2, 10 * M, 6 * M);
        BudgetPool *bp = budget_page_pool(pg, 1);
        BudgetProc *s;
        ck_assert_int_eq(budget_proc_attach(pg, 1, 1234, &s), 0);

        ck_assert_int_eq(budget_charge(bp, s, 4 * M), 0);  /* 4M: under target */
        ck_assert_int_eq(budget_charge(bp, s, 3 * M), 1);  /* 7M: over target */
        ck_assert_int_eq(budget_charge(bp, s, 4 * M), -ENOMEM); /* 11M: over max, undone */
        ck_assert_uint_eq(atomic_load(&bp->charged), 7 * M);
        ck_assert_uint_eq(atomic_load(&s->charged), 7 * M);
        ck_assert_uint_eq(atomic_load(&bp->commit_failures), 1);
        ck_assert_int_eq(budget_charge(bp, s, 3 * M), 1);  /* exactly max is allowed */
        ck_assert_uint_eq(atomic_load(&bp->peak), 10 * M);
        ck_assert_int_eq(budget_charge(bp, s, 1), -ENOMEM);
        ck_assert_int_eq(budget_charge(bp, s, UINT64_MAX), -ENOMEM); /* wraps: still refused */
        ck_assert_uint_eq(atomic_load(&bp->charged), 10 * M);

        budget_uncharge(bp, s, 5 * M);
        ck_assert_uint_eq(atomic_load(&bp->charged), 5 * M);
        ck_assert_uint_eq(atomic_load(&bp->peak), 10 * M);

        uint64_t seq = atomic_load(&bp->target_seq);
        ck_assert_int_eq(budget_set_target(bp, 11 * M), -ERANGE);
        ck_assert_uint_eq(atomic_load(&bp->target_seq), seq);
        ck_assert_int_eq(budget_set_target(bp, 2 * M), 0);
        ck_assert_uint_eq(atomic_load(&bp->target_seq), seq + 1);
        ck_assert_int_eq(budget_charge(bp, NULL, 1), 1);
        budget_uncharge(bp, NULL, 1);

        /* Slots: two, then full; reaping gives the charge back and frees one. */
        BudgetProc *s2, *s3;
        ck_assert_int_eq(budget_proc_attach(pg, 1, 1235, &s2), 0);
        ck_assert_int_eq(budget_proc_attach(pg, 1, 1236, &s3), -ENOSPC);
        ck_assert_int_eq(budget_charge(bp, s2, 2 * M), 1);
        /* The arena figures a process publishes go with its slot. */
        budget_proc_set_arena(s, 3 * M, 4 * M, 5 * M);
        ck_assert_uint_eq(atomic_load(&s->allocated), 3 * M);
        ck_assert_uint_eq(atomic_load(&s->active), 4 * M);
        ck_assert_uint_eq(atomic_load(&s->resident), 5 * M);
        ck_assert_uint_eq(budget_proc_reap(bp, s), 5 * M);
        ck_assert_uint_eq(atomic_load(&s->allocated), 0);
        ck_assert_uint_eq(atomic_load(&s->active), 0);
        ck_assert_uint_eq(atomic_load(&s->resident), 0);
        ck_assert_uint_eq(atomic_load(&bp->charged), 2 * M);
        /* A slot a writer left figures in (not through reap) starts at 0. */
        budget_proc_set_arena(s, 1, 2, 3);
        ck_assert_int_eq(budget_proc_attach(pg, 1, 1236, &s3), 0);
        ck_assert_ptr_eq(s3, s);
        ck_assert_int_eq(atomic_load(&s3->pid), 1236);
        ck_assert_uint_eq(atomic_load(&s3->charged), 0);
        ck_assert_uint_eq(atomic_load(&s3->allocated) + atomic_load(&s3->active) + atomic_load(&s3->resident), 0);
        ck_assert_int_eq(budget_proc_attach(pg, 7, 1, &s3), -ENOENT);
        budget_page_unmap(pg);
}
END_TEST

START_TEST(test_shrink_share) {
        ck_assert_uint_eq(budget_shrink_share(10, 10, 10), 0);
        ck_assert_uint_eq(budget_shrink_share(9, 10, 9), 0);
        ck_assert_uint_eq(budget_shrink_share(100, 60, 100), 40);
        ck_assert_uint_eq(budget_shrink_share(100, 60, 0), 0);
        /* one process of four equal ones: a quarter of the excess */
        ck_assert_uint_eq(budget_shrink_share(400 * M, 200 * M, 100 * M), 50 * M);
        /* rounded up: 3 * 1 / 4 = 0.75 -> 1 */
        ck_assert_uint_eq(budget_shrink_share(4, 1, 1), 1);
        /* 1 TiB pools, no 64-bit overflow: (2T - 1T) * 1.5T / 2T = 0.75T */
        uint64_t T = UINT64_C(1) << 40;
        ck_assert_uint_eq(budget_shrink_share(2 * T, T, 3 * T / 2), 3 * T / 4);
        /* a slot reading more than the total (racing reads): the whole excess */
        ck_assert_uint_eq(budget_shrink_share(100, 60, 120), 40);

        /* At the target change: the same fraction of each process's charge. */
        ck_assert_uint_eq(budget_shrink_share_at(0, 60, 50), 0); /* unknown (older writer) */
        ck_assert_uint_eq(budget_shrink_share_at(60, 60, 50), 0);
        ck_assert_uint_eq(budget_shrink_share_at(100, 60, 50), 20);
        ck_assert_uint_eq(budget_shrink_share_at(4, 1, 1), 1); /* 0.75 rounded up */
        ck_assert_uint_eq(budget_shrink_share_at(2 * T, T, 3 * T / 2), 3 * T / 4);
        /* Two equal processes, 140 -> 60: the first frees 40 either way;
         * the second, after it, is asked 20 by the excess left (100 - 60,
         * half of it by its share) and 40 by the fraction: the pool reaches
         * 60 only with the fraction. */
        ck_assert_uint_eq(budget_shrink_share(140, 60, 70), 40);
        ck_assert_uint_eq(budget_shrink_share(100, 60, 70), 28);
        ck_assert_uint_eq(budget_shrink_share_at(140, 60, 70), 40);
}
END_TEST

/* budget_set_target() records what was charged when the target changed. */
START_TEST(test_target_charged) {
        BudgetPage *pg = page_with_pool(1, 100 * M, 100 * M);
        BudgetPool *bp = budget_page_pool(pg, 1);
        ck_assert_int_eq(budget_charge(bp, NULL, 70 * M), 0);
        ck_assert_int_eq(budget_set_target(bp, 40 * M), 0);
        ck_assert_uint_eq(atomic_load(&bp->target_charged), 70 * M);
        budget_uncharge(bp, NULL, 30 * M);
        ck_assert_uint_eq(atomic_load(&bp->target_charged), 70 * M);
        ck_assert_int_eq(budget_set_target(bp, 200 * M), -ERANGE);
        ck_assert_uint_eq(atomic_load(&bp->target_charged), 70 * M);
        ck_assert_int_eq(budget_set_target(bp, 30 * M), 0);
        ck_assert_uint_eq(atomic_load(&bp->target_charged), 40 * M);
        budget_page_unmap(pg);
}
END_TEST

/* Hammering: each thread charges and uncharges random sizes, keeping a
 * window of its own charges, and leaves KEEP pages charged at the end. */
typedef struct Hammer {
        BudgetPool *bp;
        BudgetProc *slot;
        unsigned seed;
        unsigned rounds;
        unsigned keep;
        uint64_t failures;
} Hammer;

static void *hammer(void *arg) {
        Hammer *h = arg;
        uint64_t held[16] = {};
        unsigned seed = h->seed;

        for (unsigned i = 0; i < h->rounds; i++) {
                unsigned k = (unsigned) rand_r(&seed) % 16;
                if (held[k]) {
                        budget_uncharge(h->bp, h->slot, held[k]);
                        held[k] = 0;
                } else {
                        uint64_t n = ((uint64_t) rand_r(&seed) % 512 + 1) * 4096;
                        if (budget_charge(h->bp, h->slot, n) >= 0)
                                held[k] = n;
                        else
                                h->failures++;
                }
        }
        for (unsigned k = 0; k < 16; k++)
                if (held[k])
                        budget_uncharge(h->bp, h->slot, held[k]);
        for (unsigned k = 0; k < h->keep; k++)
                ck_assert_int_ge(budget_charge(h->bp, h->slot, 4096), 0);
        return NULL;
}

static void hammer_threads(BudgetPool *bp, BudgetProc *slot, unsigned n, unsigned seed, unsigned keep,
                           uint64_t *ret_failures) {
        pthread_t t[8];
        Hammer h[8];
        ck_assert_uint_le(n, 8);
        for (unsigned i = 0; i < n; i++) {
                h[i] = (Hammer) { .bp = bp, .slot = slot, .seed = seed + i, .rounds = 300000, .keep = keep };
                ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
        }
        uint64_t failures = 0;
        for (unsigned i = 0; i < n; i++) {
                pthread_join(t[i], NULL);
                failures += h[i].failures;
        }
        if (ret_failures)
                *ret_failures = failures;
}

START_TEST(test_threads_exact) {
        /* Max far above what 4 threads x 16 x 2 MiB can hold: nothing fails. */
        BudgetPage *pg = page_with_pool(1, 1024 * G, 1024 * G);
        BudgetPool *bp = budget_page_pool(pg, 1);
        BudgetProc *s;
        ck_assert_int_eq(budget_proc_attach(pg, 1, getpid(), &s), 0);

        uint64_t failures;
        hammer_threads(bp, s, 4, 1, 100, &failures);
        ck_assert_uint_eq(failures, 0);
        ck_assert_uint_eq(atomic_load(&bp->charged), 4 * 100 * 4096);
        ck_assert_uint_eq(atomic_load(&s->charged), 4 * 100 * 4096);
        budget_page_unmap(pg);
}
END_TEST

START_TEST(test_threads_max_holds) {
        /* Max of 16 MiB against 4 threads wanting up to 4 x 16 x 2 MiB: many
         * charges fail, charged never passes max, and ends at zero. */
        BudgetPage *pg = page_with_pool(1, 16 * M, 8 * M);
        BudgetPool *bp = budget_page_pool(pg, 1);

        uint64_t failures;
        hammer_threads(bp, NULL, 4, 7, 0, &failures);
        ck_assert_uint_gt(failures, 0);
        ck_assert_uint_eq(atomic_load(&bp->commit_failures), failures);
        ck_assert_uint_le(atomic_load(&bp->peak), 16 * M);
        ck_assert_uint_gt(atomic_load(&bp->peak), 8 * M);
        ck_assert_uint_eq(atomic_load(&bp->charged), 0);
        budget_page_unmap(pg);
}
END_TEST

START_TEST(test_fork_shared) {
        /* Two processes, two threads each, one memfd: the sum is exact and
         * each slot holds its own process's part. */
        BudgetPage *pg = page_with_pool(2, 1024 * G, 1024 * G);
        BudgetPool *bp = budget_page_pool(pg, 1);

        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* The child maps the page anew from the fd, as a client
                 * given it by poold would. */
                BudgetPage *mine;
                BudgetProc *s;
                if (budget_page_map(pg->fd, &mine) < 0 || budget_proc_attach(mine, 1, getpid(), &s) < 0)
                        _exit(2);
                hammer_threads(budget_page_pool(mine, 1), s, 2, 100, 300, NULL);
                _exit(atomic_load(&s->charged) == 2 * 300 * 4096 ? 0 : 1);
        }

        BudgetProc *s;
        ck_assert_int_eq(budget_proc_attach(pg, 1, getpid(), &s), 0);
        hammer_threads(bp, s, 2, 200, 50, NULL);

        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_uint_eq(atomic_load(&s->charged), 2 * 50 * 4096);
        ck_assert_uint_eq(atomic_load(&bp->charged), (2 * 50 + 2 * 300) * 4096);

        /* The daemon's view: the child died holding 600 pages; reaping its
         * slot gives them back. */
        BudgetProc *child = budget_page_proc(pg, 1, 0) == s ? budget_page_proc(pg, 1, 1) : budget_page_proc(pg, 1, 0);
        ck_assert_int_eq(atomic_load(&child->pid), pid);
        ck_assert_uint_eq(budget_proc_reap(bp, child), 2 * 300 * 4096);
        ck_assert_uint_eq(atomic_load(&bp->charged), 2 * 50 * 4096);
        budget_page_unmap(pg);
}
END_TEST

int main(void) {
        Suite *s = suite_create("budget_page");
        TCase *tc = tcase_create("budget_page");
        tcase_set_timeout(tc, 60);

        tcase_add_test(tc, test_size);
        tcase_add_test(tc, test_create_map_find);
        tcase_add_test(tc, test_mismatch_refused);
        tcase_add_test(tc, test_charge_rules);
        tcase_add_test(tc, test_shrink_share);
        tcase_add_test(tc, test_target_charged);
        tcase_add_test(tc, test_threads_exact);
        tcase_add_test(tc, test_threads_max_holds);
        tcase_add_test(tc, test_fork_shared);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
