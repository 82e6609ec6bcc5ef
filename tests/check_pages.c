/* SPDX-License-Identifier: MIT */
/* The daemon's budget pages (daemon/pages.c): sync across reloads, targets,
 * reaping dead processes, and the "open" verb on a real control server
 * (sd-event loop in this process, clients with ctl-client in forked
 * children, which map the page as libpoold does). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "ctl-client.h"
#include "libpoold/budget-page.h"
#include "pages.h"

#define M (UINT64_C(1) << 20)

/* Upper bound on loop iterations (10 ms each at most) while a child runs:
 * reached only when a test fails. */
#define PUMP_MAX 4000

/* --- a config and budget by hand: pages_sync reads names, NUMA, Max and target --- */

typedef struct TestConf {
        Config c;
        Budget b;
        PoolConf pc[4];
        PoolBudget pb[4];
} TestConf;

static void conf_add(TestConf *t, const char *name, uint64_t max, uint64_t target, NumaMode mode, const char *nodes) {
        size_t i = t->c.n_pools++;
        memset(&t->pc[i], 0, sizeof t->pc[i]);
        snprintf(t->pc[i].name, sizeof t->pc[i].name, "%s", name);
        t->pc[i].numa.mode = mode;
        if (nodes)
                ck_assert_int_eq(nodeset_parse(nodes, &t->pc[i].numa.nodes), 0);
        t->pb[i] = (PoolBudget) { .min = 0, .max = max, .target = target };
        t->c.pools = t->pc;
        t->b.pools = t->pb;
        t->b.n_pools = t->c.n_pools;
}

static BudgetPage *map_pool(Pages *p, const char *name) {
        int fd = pages_get_fd(p, name);
        ck_assert_int_ge(fd, 0);
        BudgetPage *pg;
        ck_assert_int_eq(budget_page_map(fd, &pg), 0);
        ck_assert_int_eq(budget_page_find(pg, name), 0);
        return pg;
}

/* The memfds this process holds (budget pages are "memfd:poold-budget"). */
static unsigned count_budget_memfds(void) {
        unsigned n = 0;
        DIR *d = opendir("/proc/self/fd");
        ck_assert_ptr_nonnull(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                char path[320], target[256];
                snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
                ssize_t k = readlink(path, target, sizeof target - 1);
                if (k <= 0)
                        continue;
                target[k] = 0;
                if (strstr(target, "memfd:poold-budget"))
                        n++;
        }
        closedir(d);
        return n;
}

/* A page is made when the pool is first opened, not at sync: 68 KiB of
 * resident shared memory per pool nobody uses is what poold would pay. A
 * target set before that is what the page starts with. */
START_TEST(test_lazy) {
        Pages *p;
        TestConf t = {};
        PagesPoolStats s;

        unsigned before = count_budget_memfds();
        ck_assert_int_eq(pages_new(&p), 0);
        conf_add(&t, "alpha", 100 * M, 60 * M, NUMA_LOCAL, NULL);
        conf_add(&t, "beta", 50 * M, 50 * M, NUMA_LOCAL, NULL);
        ck_assert_int_eq(pages_sync(p, &t.c, &t.b, NULL), 0);
        ck_assert_uint_eq(count_budget_memfds(), before);
        ck_assert_int_eq(pages_set_target(p, "alpha", 40 * M), 0);
        ck_assert_int_eq(pages_set_target(p, "alpha", 200 * M), -ERANGE);
        ck_assert_int_eq(pages_stats(p, "alpha", &s), 0);
        ck_assert_uint_eq(s.target, 40 * M);
        ck_assert_uint_eq(s.processes, 0);
        ck_assert_uint_eq(count_budget_memfds(), before);

        BudgetPage *pg = map_pool(p, "alpha"); /* pages_get_fd makes it */
        ck_assert_uint_eq(count_budget_memfds(), before + 2); /* poold's and the mapping's */
        ck_assert_uint_eq(atomic_load(&budget_page_pool(pg, 0)->target), 40 * M);
        ck_assert_uint_eq(atomic_load(&budget_page_pool(pg, 0)->max), 100 * M);
        budget_page_unmap(pg);
        pages_free(p);
        ck_assert_uint_eq(count_budget_memfds(), before);
}
END_TEST

START_TEST(test_sync) {
        Pages *p;
        TestConf t = {};
        PagesPoolStats s;

        ck_assert_int_eq(pages_new(&p), 0);
        conf_add(&t, "alpha", 100 * M, 60 * M, NUMA_LOCAL, NULL);
        conf_add(&t, "beta", 50 * M, 50 * M, NUMA_INTERLEAVE, "0-1");
        t.pc[1].hugepages = true;
        ck_assert_int_eq(pages_sync(p, &t.c, &t.b, NULL), 0);

        ck_assert_int_eq(pages_stats(p, "alpha", &s), 0);
        ck_assert_uint_eq(s.max, 100 * M);
        ck_assert_uint_eq(s.target, 60 * M);
        ck_assert_uint_eq(s.charged, 0);
        ck_assert_uint_eq(s.processes, 0);
        ck_assert_int_eq(pages_stats(p, "gamma", &s), -ENOENT);
        /* One page per pool: a client of alpha cannot reach beta's counters. */
        ck_assert_int_ne(pages_get_fd(p, "alpha"), pages_get_fd(p, "beta"));

        BudgetPage *beta = map_pool(p, "beta");
        BudgetPool *bp = budget_page_pool(beta, 0);
        ck_assert_uint_eq(beta->header->n_pools, 1);
        ck_assert_uint_eq(bp->numa_mode, BUDGET_NUMA_INTERLEAVE);
        ck_assert_uint_eq(atomic_load(&bp->flags), BUDGET_POOL_HUGEPAGES); /* HugePages=yes */
        ck_assert_uint_eq(bp->numa_nodes[0], 3);
        /* Sealed: no client can shrink it under the others. */
        ck_assert_int_lt(ftruncate(beta->fd, 0), 0);

        BudgetPage *alpha = map_pool(p, "alpha");
        BudgetPool *ap = budget_page_pool(alpha, 0);
        ck_assert_uint_eq(atomic_load(&ap->flags), 0);
        int alpha_fd = pages_get_fd(p, "alpha");
        uint64_t seq = atomic_load(&ap->target_seq);
        ck_assert_int_eq(budget_charge(ap, NULL, 10 * M), 0);

        /* Reload: alpha stays (new Max, target given over Max: cut), beta
         * goes, gamma comes. */
        TestConf u = {};
        conf_add(&u, "gamma", 10 * M, 5 * M, NUMA_BIND, "0");
        conf_add(&u, "alpha", 80 * M, 70 * M, NUMA_LOCAL, NULL);
        u.pc[1].hugepages = true;
        uint64_t targets[] = { 4 * M, 90 * M };
        ck_assert_int_eq(pages_sync(p, &u.c, &u.b, targets), 0);
        /* for clients that open alpha from now on */
        ck_assert_uint_eq(atomic_load(&ap->flags), BUDGET_POOL_HUGEPAGES);
        ck_assert_int_eq(pages_get_fd(p, "alpha"), alpha_fd);
        ck_assert_int_eq(pages_get_fd(p, "beta"), -ENOENT);
        ck_assert_int_ge(pages_get_fd(p, "gamma"), 0);
        /* Seen by a client that mapped the page before the reload. */
        ck_assert_uint_eq(atomic_load(&ap->max), 80 * M);
        ck_assert_uint_eq(atomic_load(&ap->target), 80 * M);
        ck_assert_uint_gt(atomic_load(&ap->target_seq), seq);
        ck_assert_int_eq(pages_stats(p, "alpha", &s), 0);
        ck_assert_uint_eq(s.charged, 10 * M);
        ck_assert_int_eq(pages_stats(p, "gamma", &s), 0);
        ck_assert_uint_eq(s.target, 4 * M);
        /* The dropped pool's page lives on in its client. */
        ck_assert_uint_eq(atomic_load(&bp->max), 50 * M);

        /* Syncing the same thing again changes nothing a client acts on. */
        seq = atomic_load(&ap->target_seq);
        ck_assert_int_eq(pages_sync(p, &u.c, &u.b, targets), 0);
        ck_assert_uint_eq(atomic_load(&ap->target_seq), seq);

        budget_page_unmap(alpha);
        budget_page_unmap(beta);
        pages_free(p);
}
END_TEST

START_TEST(test_set_target) {
        Pages *p;
        TestConf t = {};

        ck_assert_int_eq(pages_new(&p), 0);
        conf_add(&t, "alpha", 100 * M, 60 * M, NUMA_LOCAL, NULL);
        ck_assert_int_eq(pages_sync(p, &t.c, &t.b, NULL), 0);
        BudgetPage *pg = map_pool(p, "alpha");
        BudgetPool *bp = budget_page_pool(pg, 0);
        uint64_t seq = atomic_load(&bp->target_seq);

        ck_assert_int_eq(pages_set_target(p, "alpha", 20 * M), 0);
        ck_assert_uint_eq(atomic_load(&bp->target), 20 * M);
        ck_assert_uint_eq(atomic_load(&bp->target_seq), seq + 1);
        ck_assert_int_eq(pages_set_target(p, "alpha", 101 * M), -ERANGE);
        ck_assert_uint_eq(atomic_load(&bp->target), 20 * M);
        ck_assert_int_eq(pages_set_target(p, "nosuch", M), -ENOENT);

        budget_page_unmap(pg);
        pages_free(p);
}
END_TEST

START_TEST(test_reap) {
        Pages *p;
        TestConf t = {};
        PagesPoolStats s;

        ck_assert_int_eq(pages_new(&p), 0);
        conf_add(&t, "alpha", 100 * M, 100 * M, NUMA_LOCAL, NULL);
        ck_assert_int_eq(pages_sync(p, &t.c, &t.b, NULL), 0);
        BudgetPage *pg = map_pool(p, "alpha");
        BudgetPool *bp = budget_page_pool(pg, 0);

        /* This process: alive, 3 MiB. */
        BudgetProc *self;
        ck_assert_int_eq(budget_proc_attach(pg, 0, getpid(), &self), 0);
        ck_assert_int_eq(budget_charge(bp, self, 3 * M), 0);
        budget_proc_set_arena(self, 1 * M, 2 * M, 3 * M);

        /* A child charges 5 MiB and dies without giving them back. */
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                BudgetProc *slot;
                if (budget_proc_attach(pg, 0, getpid(), &slot) < 0 || budget_charge(bp, slot, 5 * M) < 0)
                        _exit(1);
                budget_proc_set_arena(slot, 10 * M, 20 * M, 30 * M);
                _exit(0);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_uint_eq(atomic_load(&bp->charged), 8 * M);

        ck_assert_int_eq(pages_stats(p, "alpha", &s), 0);
        ck_assert_uint_eq(s.reaped, 5 * M);
        ck_assert_uint_eq(s.charged, 3 * M);
        ck_assert_uint_eq(s.peak, 8 * M);
        ck_assert_uint_eq(s.processes, 1);
        /* The arena figures of live slots only: the dead child's are gone. */
        ck_assert_uint_eq(s.allocated, 1 * M);
        ck_assert_uint_eq(s.active, 2 * M);
        ck_assert_uint_eq(s.resident, 3 * M);
        /* Nothing left to reap. */
        ck_assert_uint_eq(pages_reap(p), 0);

        /* A process poold cannot see (negative pid, as "open" tells a
         * client in a PID namespace poold cannot see): never reaped. */
        BudgetProc *unseen;
        ck_assert_int_eq(budget_proc_attach(pg, 0, -1, &unseen), 0);
        ck_assert_int_eq(budget_charge(bp, unseen, 2 * M), 0);
        budget_proc_set_arena(unseen, 4 * M, 5 * M, 6 * M);
        ck_assert_int_eq(pages_stats(p, "alpha", &s), 0);
        ck_assert_uint_eq(s.reaped, 0);
        ck_assert_uint_eq(s.charged, 5 * M);
        ck_assert_uint_eq(s.processes, 2);
        /* Summed over the live slots. */
        ck_assert_uint_eq(s.allocated, 5 * M);
        ck_assert_uint_eq(s.active, 7 * M);
        ck_assert_uint_eq(s.resident, 9 * M);
        budget_proc_reap(bp, unseen);

        budget_proc_reap(bp, self);
        ck_assert_int_eq(pages_stats(p, "alpha", &s), 0);
        ck_assert_uint_eq(s.processes, 0);
        ck_assert_uint_eq(s.charged, 0);
        ck_assert_uint_eq(s.allocated + s.active + s.resident, 0);

        budget_page_unmap(pg);
        pages_free(p);
}
END_TEST

/* --- the "open" verb on a real server --- */

typedef struct FakeCred {
        bool privileged;
        pid_t pid; /* what SO_PEERCRED would say; 0: a peer poold cannot see */
} FakeCred;

typedef struct Fixture {
        char dir[64];
        char path[128];
        sd_event *e;
        Control *c;
        Pages *pages;
        FakeCred cred;
} Fixture;

static Fixture F;

static int fake_cred(int fd, const char *group, Peer *ret, void *ud) {
        FakeCred *fc = ud;
        *ret = (Peer) { .uid = fc->privileged ? 0 : 65534, .gid = 65534, .pid = fc->pid, .privileged = fc->privileged };
        return 0;
}

/* "target" {"pool", "target"}: what the manager does on a shrink. */
static int verb_target(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        const char *pool;
        uint64_t target;
        if (protocol_get_string(args, "pool", true, &pool, e) < 0 ||
            protocol_get_uint64(args, "target", true, &target, e) < 0)
                return -EINVAL;
        return pages_set_target(F.pages, pool, target);
}

static void server_start(void) {
        TestConf t = {};

        memset(&F, 0, sizeof F);
        strcpy(F.dir, "/tmp/check-pages-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(F.dir));
        snprintf(F.path, sizeof F.path, "%s/control.sock", F.dir);
        ck_assert_int_ge(sd_event_new(&F.e), 0);
        ck_assert_int_eq(control_new(F.e, F.path, &F.c), 0);
        F.cred.privileged = true;
        F.cred.pid = 4242;
        control_set_credential_function(F.c, fake_cred, &F.cred);

        ck_assert_int_eq(pages_new(&F.pages), 0);
        conf_add(&t, "alpha", 100 * M, 60 * M, NUMA_LOCAL, NULL);
        conf_add(&t, "beta", 50 * M, 50 * M, NUMA_PREFERRED, "0");
        ck_assert_int_eq(pages_sync(F.pages, &t.c, &t.b, NULL), 0);

        ck_assert_int_eq(control_register_verb(F.c, "open", CONTROL_VERB_PRIVILEGED, pages_verb_open, F.pages), 0);
        ck_assert_int_eq(control_register_verb(F.c, "target", 0, verb_target, NULL), 0);
        ck_assert_int_eq(control_start(F.c), 0);
}

static void server_stop(void) {
        F.c = control_free(F.c);
        F.e = sd_event_unref(F.e);
        F.pages = pages_free(F.pages);
        unlink(F.path);
        rmdir(F.dir);
}

#define CHILD_CHECK(x)                                                                        \
        do {                                                                                  \
                if (!(x)) {                                                                   \
                        fprintf(stderr, "child check failed at line %d: %s\n", __LINE__, #x); \
                        _exit(1);                                                             \
                }                                                                             \
        } while (0)

/* Forks, runs FN in the child (which must _exit), serves until it ends;
 * returns its exit code. */
static int run_child(void (*fn)(void)) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                fn();
                _exit(0);
        }
        for (int i = 0; i < PUMP_MAX; i++) {
                int status;
                ck_assert_int_ge(sd_event_run(F.e, 10000), 0);
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        ck_assert(WIFEXITED(status));
                        return WEXITSTATUS(status);
                }
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("child did not finish");
        return -1;
}

static json_object *args_pool(const char *name) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "pool", json_object_new_string(name));
        return a;
}

static void child_open(void) {
        CtlClient *c;
        json_object *res = NULL, *v, *a;
        int fd = -1;

        CHILD_CHECK(ctl_connect(F.path, &c) == 0);
        a = args_pool("alpha");
        CHILD_CHECK(ctl_call(c, "open", a, 10000, &res, &fd) == 0);
        json_object_put(a);
        CHILD_CHECK(fd >= 0);
        CHILD_CHECK(json_object_object_get_ex(res, "pool", &v) && strcmp(json_object_get_string(v), "alpha") == 0);
        CHILD_CHECK(json_object_object_get_ex(res, "max", &v) && json_object_get_uint64(v) == 100 * M);
        CHILD_CHECK(json_object_object_get_ex(res, "target", &v) && json_object_get_uint64(v) == 60 * M);
        CHILD_CHECK(json_object_object_get_ex(res, "numa", &v) && strcmp(json_object_get_string(v), "local") == 0);
        CHILD_CHECK(json_object_object_get_ex(res, "version", &v) && json_object_get_int(v) == BUDGET_PAGE_VERSION);
        /* The pid poold sees for this connection, for the process slot. */
        CHILD_CHECK(json_object_object_get_ex(res, "pid", &v) && json_object_get_int(v) == 4242);
        json_object_put(res);

        /* The page maps as libpoold maps it, holds only this pool, and a
         * client's charge is what the daemon reads. */
        BudgetPage *pg;
        CHILD_CHECK(budget_page_map(fd, &pg) == 0);
        close(fd);
        CHILD_CHECK(pg->header->n_pools == 1);
        CHILD_CHECK(budget_page_find(pg, "alpha") == 0);
        CHILD_CHECK(budget_page_find(pg, "beta") == -ENOENT);
        BudgetPool *bp = budget_page_pool(pg, 0);
        CHILD_CHECK(atomic_load(&bp->max) == 100 * M);
        BudgetProc *slot;
        CHILD_CHECK(budget_proc_attach(pg, 0, getpid(), &slot) == 0);
        CHILD_CHECK(budget_charge(bp, slot, 7 * M) == 0);

        /* A target change by the daemon is seen through the page. */
        uint64_t seq = atomic_load(&bp->target_seq);
        a = args_pool("alpha");
        json_object_object_add(a, "target", json_object_new_uint64(20 * M));
        CHILD_CHECK(ctl_call(c, "target", a, 10000, NULL, NULL) == 0);
        json_object_put(a);
        CHILD_CHECK(atomic_load(&bp->target) == 20 * M);
        CHILD_CHECK(atomic_load(&bp->target_seq) > seq);

        /* Refusals: unknown pool, bad names, unknown or missing argument. */
        a = args_pool("nosuch");
        CHILD_CHECK(ctl_call(c, "open", a, 10000, NULL, &fd) == -ENOENT);
        CHILD_CHECK(strcmp(ctl_client_error_code(c), "not_found") == 0);
        json_object_put(a);
        static const char *const bad[] = { "Alpha", "1a", "", "a-b", "a23456789012345678901234567890123", "../x" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                a = args_pool(bad[i]);
                CHILD_CHECK(ctl_call(c, "open", a, 10000, NULL, &fd) == -EINVAL);
                CHILD_CHECK(strcmp(ctl_client_error_code(c), "invalid") == 0);
                json_object_put(a);
        }
        a = json_object_new_object();
        CHILD_CHECK(ctl_call(c, "open", a, 10000, NULL, NULL) == -EINVAL);
        json_object_object_add(a, "pool", json_object_new_int(3));
        CHILD_CHECK(ctl_call(c, "open", a, 10000, NULL, NULL) == -EINVAL);
        json_object_put(a);
        a = args_pool("alpha");
        json_object_object_add(a, "extra", json_object_new_int(1));
        CHILD_CHECK(ctl_call(c, "open", a, 10000, NULL, NULL) == -EINVAL);
        json_object_put(a);

        budget_page_unmap(pg);
        ctl_client_free(c);
        _exit(0);
}

START_TEST(test_verb_open) {
        PagesPoolStats s;

        server_start();
        ck_assert_int_eq(run_child(child_open), 0);
        /* The child died holding 7 MiB in its slot: given back. */
        ck_assert_int_eq(pages_stats(F.pages, "alpha", &s), 0);
        ck_assert_uint_eq(s.reaped, 7 * M);
        ck_assert_uint_eq(s.charged, 0);
        ck_assert_uint_eq(s.peak, 7 * M);
        ck_assert_uint_eq(s.target, 20 * M);
        server_stop();
}
END_TEST

static void child_unseen(void) {
        CtlClient *c;
        json_object *res = NULL, *v, *a = args_pool("beta");
        int fd = -1;
        CHILD_CHECK(ctl_connect(F.path, &c) == 0);
        CHILD_CHECK(ctl_call(c, "open", a, 10000, &res, &fd) == 0);
        CHILD_CHECK(fd >= 0);
        CHILD_CHECK(json_object_object_get_ex(res, "pid", &v) && v == NULL);
        CHILD_CHECK(json_object_object_get_ex(res, "numa", &v) && strcmp(json_object_get_string(v), "preferred:0") == 0);
        json_object_put(res);
        json_object_put(a);
        ctl_client_free(c);
        _exit(0);
}

START_TEST(test_verb_open_unseen_peer) {
        server_start();
        F.cred.pid = 0;
        ck_assert_int_eq(run_child(child_unseen), 0);
        server_stop();
}
END_TEST

static void child_unprivileged(void) {
        CtlClient *c;
        int fd = -1;
        CHILD_CHECK(ctl_connect(F.path, &c) == 0);
        json_object *a = args_pool("alpha");
        CHILD_CHECK(ctl_call(c, "open", a, 10000, NULL, &fd) == -EPERM);
        CHILD_CHECK(fd == -1);
        CHILD_CHECK(strcmp(ctl_client_error_code(c), "permission_denied") == 0);
        json_object_put(a);
        ctl_client_free(c);
        _exit(0);
}

START_TEST(test_verb_open_unprivileged) {
        server_start();
        F.cred.privileged = false;
        ck_assert_int_eq(run_child(child_unprivileged), 0);
        server_stop();
}
END_TEST

static Suite *pages_suite(void) {
        Suite *s = suite_create("pages");
        TCase *tc = tcase_create("pages");
        tcase_add_test(tc, test_lazy);
        tcase_add_test(tc, test_sync);
        tcase_add_test(tc, test_set_target);
        tcase_add_test(tc, test_reap);
        tcase_add_test(tc, test_verb_open);
        tcase_add_test(tc, test_verb_open_unprivileged);
        tcase_add_test(tc, test_verb_open_unseen_peer);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(pages_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
