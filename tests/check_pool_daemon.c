/* SPDX-License-Identifier: MIT */
/* libpoold with a pool opened through poold: a real control server with
 * pages_verb_open (daemon/pages.c) on an sd-event loop in this process, and
 * libpoold.so (the installed form) in forked children; plus a hand-written
 * server that sends garbage, against libpoold in this process. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "ctl-client.h"
#include "libpoold/budget-page.h"
#include "pages.h"
#include "poold.h"

#define M (UINT64_C(1) << 20)

/* Upper bound on loop iterations (10 ms each at most) while waiting for
 * something that should happen at once: reached only when a test fails. */
#define PUMP_MAX 1000

#define SHRINK_SEQ 7
#define FOREIGN_SEQ 99

typedef struct FakeCred {
        bool privileged;
        pid_t pid; /* reported instead of the real one, if not 0 */
} FakeCred;

typedef struct Fixture {
        char dir[64];
        char path[128];
        sd_event *e;
        Control *c;
        Pages *pages;
        FakeCred cred;
        unsigned n_acks;
        uint64_t ack_seq, ack_freed;
        bool ack_foreign; /* an ack for a request that was not for this client */
        uint64_t charged_before;
} Fixture;

static Fixture F;

/* The real credentials (the pid matters: it goes into the client's process
 * slot), with privilege and pid as the test says. */
static int fake_cred(int fd, const char *group, Peer *ret, void *ud) {
        FakeCred *fc = ud;
        int r = peer_get(fd, NULL, ret);
        if (r < 0)
                return r;
        ret->privileged = fc->privileged;
        if (fc->pid != 0)
                ret->pid = fc->pid;
        return 0;
}

static int verb_ack(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        static const char *const allowed[] = { "pool", "seq", "freed", NULL };
        const char *pool;
        uint64_t seq, freed = 0;
        int r;
        if ((r = protocol_check_fields(args, allowed, e)) < 0 ||
            (r = protocol_get_string(args, "pool", true, &pool, e)) < 0 ||
            (r = protocol_get_uint64(args, "seq", true, &seq, e)) < 0 ||
            (r = protocol_get_uint64(args, "freed", false, &freed, e)) < 0)
                return r;
        if (strcmp(pool, "cache") != 0 || seq != SHRINK_SEQ)
                F.ack_foreign = true;
        F.n_acks++;
        F.ack_seq = seq;
        F.ack_freed = freed;
        return 0;
}

static void broadcast(const char *json) {
        json_object *ev = json_tokener_parse(json);
        ck_assert_ptr_nonnull(ev);
        ck_assert_int_ge(control_broadcast(F.c, "pool/cache", ev), 0);
        json_object_put(ev);
}

/* "step": the daemon's side of a shrink, after checking what the client
 * charged: the new target into the page, then the request (with noise
 * around it the client must ignore). */
static int verb_step(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        PagesPoolStats s;
        ck_assert_int_eq(pages_stats(F.pages, "cache", &s), 0);
        ck_assert_uint_ge(s.charged, 24 * M);
        ck_assert_uint_eq(s.processes, 1);
        F.charged_before = s.charged;
        /* The client's pool_stats() published its arena's figures: its 24
         * blocks, on pages at least as large, in RAM at most what it
         * charged (jemalloc's resident is an upper bound of committed). */
        ck_assert_uint_eq(s.allocated, 24 * M);
        ck_assert_uint_ge(s.active, s.allocated);
        ck_assert_uint_ge(s.resident, s.active);
        ck_assert_uint_le(s.resident, s.charged);

        unsigned subscribers = control_subscriber_count(F.c, "pool/cache");
        ck_assert_int_eq(pages_set_target(F.pages, "cache", 8 * M), 0);
        broadcast("{\"event\":\"grow\",\"pool\":\"cache\",\"seq\":6,\"target\":67108864}");
        broadcast("{\"event\":\"shrink\",\"pool\":\"other\",\"seq\":99,\"target\":1}");
        broadcast("{\"event\":\"shrink\",\"pool\":\"cache\",\"seq\":\"eight\"}");
        broadcast("{\"event\":\"shrink\",\"pool\":42,\"seq\":99}");
        broadcast("{\"event\":\"defrag\",\"pool\":\"cache\",\"seq\":99}");
        broadcast("{\"event\":\"shrink\",\"pool\":\"cache\",\"seq\":7,\"target\":8388608,\"free\":16777216,"
                  "\"deadline_ms\":200,\"time_usec\":1}");

        json_object *o = json_object_new_object();
        json_object_object_add(o, "subscribers", json_object_new_int((int) subscribers));
        *ret = o;
        return 0;
}

static int verb_acked(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "n", json_object_new_int((int) F.n_acks));
        json_object_object_add(o, "seq", json_object_new_uint64(F.ack_seq));
        json_object_object_add(o, "freed", json_object_new_uint64(F.ack_freed));
        PagesPoolStats s;
        ck_assert_int_eq(pages_stats(F.pages, "cache", &s), 0);
        json_object_object_add(o, "allocated", json_object_new_uint64(s.allocated));
        *ret = o;
        return 0;
}

static void server_start(void) {
        memset(&F, 0, sizeof F);
        strcpy(F.dir, "/tmp/check-pool-daemon-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(F.dir));
        snprintf(F.path, sizeof F.path, "%s/control.sock", F.dir);
        ck_assert_int_ge(sd_event_new(&F.e), 0);
        ck_assert_int_eq(control_new(F.e, F.path, &F.c), 0);
        F.cred.privileged = true;
        control_set_credential_function(F.c, fake_cred, &F.cred);

        /* One pool "cache": Max 64 MiB, target 64 MiB. */
        PoolConf pc = { .name = "cache" };
        PoolBudget pb = { .max = 64 * M, .target = 64 * M };
        Config c = { .pools = &pc, .n_pools = 1 };
        Budget b = { .pools = &pb, .n_pools = 1 };
        ck_assert_int_eq(pages_new(&F.pages), 0);
        ck_assert_int_eq(pages_sync(F.pages, &c, &b, NULL), 0);

        ck_assert_int_eq(control_register_verb(F.c, "open", CONTROL_VERB_PRIVILEGED, pages_verb_open, F.pages), 0);
        ck_assert_int_eq(control_register_verb(F.c, "ack", CONTROL_VERB_PRIVILEGED, verb_ack, NULL), 0);
        ck_assert_int_eq(control_register_verb(F.c, "step", 0, verb_step, NULL), 0);
        ck_assert_int_eq(control_register_verb(F.c, "acked", 0, verb_acked, NULL), 0);
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

static int run_child(void (*fn)(unsigned), unsigned arg) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                fn(arg);
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

/* --- the child: a cache of 1 MiB blocks that frees from the end when asked --- */

#define BLOCKS 24
static void *blocks[BLOCKS];
static unsigned n_blocks;
static _Atomic unsigned shrink_calls;

static uint64_t on_shrink(Pool *p, uint64_t bytes, void *userdata) {
        uint64_t freed = 0;
        while (freed < bytes && n_blocks > 0) {
                void *b = blocks[--n_blocks];
                freed += pool_usable_size(p, b);
                pool_free(p, b);
        }
        atomic_fetch_add(&shrink_calls, 1);
        return freed;
}

static int64_t call_int(CtlClient *c, const char *verb, const char *member) {
        json_object *res = NULL, *v;
        CHILD_CHECK(ctl_call(c, verb, NULL, 10000, &res, NULL) == 0);
        CHILD_CHECK(json_object_object_get_ex(res, member, &v));
        int64_t n = json_object_get_int64(v);
        json_object_put(res);
        return n;
}

static void child_shrink(unsigned flags) {
        PoolOpenOptions o = { .flags = flags, .socket_path = F.path };
        PoolStats st;
        Pool *p;

        CHILD_CHECK(pool_open("cache", &o, &p) == 0);
        CHILD_CHECK(pool_stats(p, &st) == 0);
        CHILD_CHECK(st.max == 64 * M && st.target == 64 * M);
        CHILD_CHECK(pool_on_shrink(p, on_shrink, NULL) == 0);
        for (n_blocks = 0; n_blocks < BLOCKS; n_blocks++)
                CHILD_CHECK((blocks[n_blocks] = pool_malloc(p, M)) != NULL);
        CHILD_CHECK(pool_stats(p, &st) == 0);
        uint64_t before = st.charged_self;
        CHILD_CHECK(before >= BLOCKS * M);
        /* pool_stats() published the arena's figures in this process's
         * slot: "step" checks what the server sees of them. */
        uint64_t allocated_before = st.allocated;

        /* Nothing pending yet: the fd is quiet. */
        struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
        if (!(flags & POOL_OPEN_SHRINK_THREAD))
                CHILD_CHECK(poll(&pfd, 1, 0) == 0);

        CtlClient *c;
        CHILD_CHECK(ctl_connect(F.path, &c) == 0);
        CHILD_CHECK(call_int(c, "step", "subscribers") == 1);

        if (flags & POOL_OPEN_SHRINK_THREAD) {
                /* Until the thread's shrink is over (callbacks, then the
                 * purge), not only its callback called: under ASan the
                 * purge took long enough to be seen half done. */
                for (int i = 0; i < PUMP_MAX; i++) {
                        CHILD_CHECK(pool_stats(p, &st) == 0);
                        if (st.n_shrinks > 0)
                                break;
                        usleep(10000);
                }
        } else {
                CHILD_CHECK(poll(&pfd, 1, 10000) == 1);
                CHILD_CHECK(pool_poll(p) == 1);
                /* pool_poll() published what the shrink left; the server
                 * reads it from the page. */
                int64_t after = call_int(c, "acked", "allocated");
                CHILD_CHECK(after >= 0 && (uint64_t) after < allocated_before);
                CHILD_CHECK((uint64_t) after == (uint64_t) n_blocks * M);
        }
        CHILD_CHECK(atomic_load(&shrink_calls) > 0);
        CHILD_CHECK(pool_stats(p, &st) == 0);
        CHILD_CHECK(st.target == 8 * M);
        CHILD_CHECK(st.charged_self < before);
        CHILD_CHECK(st.charged <= 8 * M);

        /* The ack travels on the pool's own connection; wait until the
         * server has read it. */
        int64_t n = 0;
        for (int i = 0; i < PUMP_MAX && (n = call_int(c, "acked", "n")) == 0; i++)
                usleep(10000);
        CHILD_CHECK(n >= 1);
        CHILD_CHECK(call_int(c, "acked", "seq") == SHRINK_SEQ);
        CHILD_CHECK(call_int(c, "acked", "freed") > 0);

        pool_close(p);
        ctl_client_free(c);
        _exit(0);
}

static void check_shrink(unsigned flags) {
        PagesPoolStats s;

        server_start();
        ck_assert_int_eq(run_child(child_shrink, flags), 0);
        ck_assert(!F.ack_foreign);
        ck_assert_uint_eq(F.ack_seq, SHRINK_SEQ);
        ck_assert_uint_gt(F.ack_freed, 0);
        ck_assert_uint_gt(F.charged_before, 0);
        /* Closed: the arena's charge is given back, the slot freed. */
        ck_assert_int_eq(pages_stats(F.pages, "cache", &s), 0);
        ck_assert_uint_eq(s.charged, 0);
        ck_assert_uint_eq(s.processes, 0);
        ck_assert_uint_eq(s.reaped, 0);
        ck_assert_uint_ge(s.peak, F.charged_before);
        ck_assert_uint_gt(s.shrink_released, 0);
        server_stop();
}

START_TEST(test_shrink_poll) {
        check_shrink(0);
}
END_TEST

START_TEST(test_shrink_thread) {
        check_shrink(POOL_OPEN_SHRINK_THREAD);
}
END_TEST

/* Opens, charges, dies without closing. */
static void child_dies(unsigned unused) {
        PoolOpenOptions o = { .socket_path = F.path };
        Pool *p;
        CHILD_CHECK(pool_open("cache", &o, &p) == 0);
        CHILD_CHECK(pool_malloc(p, 4 * M) != NULL);
        _exit(0);
}

/* The slot holds the pid poold sees, not the client's getpid(): poold
 * reaps a client that died by the pid it knows. Reported as this (live)
 * process, as for a client in a PID namespace whose number differs, the
 * dead child's slot stays; reported truly, it is reaped. */
START_TEST(test_slot_pid_from_poold) {
        PagesPoolStats s;

        server_start();
        F.cred.pid = getpid();
        ck_assert_int_eq(run_child(child_dies, 0), 0);
        ck_assert_int_eq(pages_stats(F.pages, "cache", &s), 0);
        ck_assert_uint_eq(s.processes, 1);
        ck_assert_uint_eq(s.reaped, 0);
        ck_assert_uint_ge(s.charged, 4 * M);
        server_stop();

        server_start();
        ck_assert_int_eq(run_child(child_dies, 0), 0);
        ck_assert_int_eq(pages_stats(F.pages, "cache", &s), 0);
        ck_assert_uint_eq(s.processes, 0);
        ck_assert_uint_ge(s.reaped, 4 * M);
        ck_assert_uint_eq(s.charged, 0);
        server_stop();
}
END_TEST

static void child_refused(unsigned privileged) {
        PoolOpenOptions o = { .socket_path = F.path };
        Pool *p;
        if (privileged) {
                CHILD_CHECK(pool_open("nosuch", &o, &p) == -ENXIO);
                /* Standalone options do not reach poold. */
                CHILD_CHECK(pool_open("Cache", &o, &p) == -EINVAL);
        } else
                CHILD_CHECK(pool_open("cache", &o, &p) == -EPERM);
        _exit(0);
}

START_TEST(test_refused) {
        server_start();
        ck_assert_int_eq(run_child(child_refused, 1), 0);
        F.cred.privileged = false;
        ck_assert_int_eq(run_child(child_refused, 0), 0);
        ck_assert_uint_eq(F.n_acks, 0);
        server_stop();
}
END_TEST

START_TEST(test_not_running) {
        char dir[] = "/tmp/check-pool-daemon-XXXXXX";
        char path[128];
        PoolOpenOptions o = { .socket_path = path };
        Pool *p;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/control.sock", dir);
        ck_assert_int_eq(pool_open("cache", &o, &p), -ENOENT);

        /* A socket file left by a dead poold. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(pool_open("cache", &o, &p), -ECONNREFUSED);
        close(fd);
        unlink(path);
        rmdir(dir);
}
END_TEST

/* --- a hand-written server that sends garbage after a good open --- */

static bool raw_read_line(int fd, char *buf, size_t size) {
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t k = read(fd, buf + n, 1);
                if (k <= 0)
                        return false;
                if (buf[n] == '\n') {
                        buf[n] = 0;
                        return true;
                }
                n++;
        }
        return false;
}

static bool raw_send(int fd, const char *s) {
        size_t len = strlen(s);
        return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t) len;
}

static void raw_server(int listen_fd) {
        char line[4096];
        BudgetPage *pg;

        CHILD_CHECK(budget_page_create(1, 4, &pg) == 0);
        CHILD_CHECK(budget_page_init_pool(pg, 0, "cache", 64 * M, 64 * M, BUDGET_NUMA_LOCAL, NULL) == 0);
        int fd = accept(listen_fd, NULL, NULL);
        CHILD_CHECK(fd >= 0);

        CHILD_CHECK(raw_read_line(fd, line, sizeof line) && strstr(line, "\"open\""));
        static const char reply[] = "{\"id\":1,\"ok\":true,\"result\":{\"pool\":\"cache\"},\"fds\":1}\n";
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) reply, .iov_len = sizeof reply - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pg->fd, sizeof(int));
        CHILD_CHECK(sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t) iov.iov_len);

        CHILD_CHECK(raw_read_line(fd, line, sizeof line) && strstr(line, "\"subscribe\""));
        CHILD_CHECK(raw_send(fd, "{\"id\":2,\"ok\":true,\"result\":{\"topic\":\"pool/cache\",\"subscribed\":true}}\n"));

        /* Garbage, then one good request. */
        static const char *const junk[] = {
                "not json\n",
                "{\"event\":\"shrink\"\n",
                "[1,2,3]\n",
                "\"shrink\"\n",
                "\xff\xfe\xfd\n",
                "\n",
                "{\"event\":null,\"pool\":\"cache\",\"seq\":3}\n",
                "{\"event\":\"shrink\",\"pool\":\"cache\",\"seq\":-1}\n",
                "{\"event\":\"shrink\",\"pool\":\"cache\",\"seq\":1.5}\n",
                "{\"event\":\"shrink\",\"pool\":[\"cache\"],\"seq\":4}\n",
                "{\"id\":55,\"ok\":true,\"fds\":1}\n",
                "{\"id\":\"ack\",\"ok\":false,\"error\":{\"code\":\"unknown_verb\",\"message\":\"no\"}}\n",
                "{\"event\":\"shrink\",\"pool\":\"cache\",\"seq\":5,\"target\":1048576}\n",
        };
        for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
                CHILD_CHECK(raw_send(fd, junk[i]));

        /* The one acknowledgement: for seq 5, no other. */
        CHILD_CHECK(raw_read_line(fd, line, sizeof line));
        CHILD_CHECK(strstr(line, "\"verb\":\"ack\"") && strstr(line, "\"seq\":5") && strstr(line, "\"pool\":\"cache\""));
        /* And goes away: the client carries on without it. */
        _exit(0);
}

START_TEST(test_garbage_from_server) {
        char dir[] = "/tmp/check-pool-daemon-XXXXXX";
        char path[128];
        PoolOpenOptions o = { .socket_path = path };
        Pool *p;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/control.sock", dir);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(listen(lfd, 4), 0);

        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                raw_server(lfd);
        close(lfd);

        ck_assert_int_eq(pool_open("cache", &o, &p), 0);
        void *x = pool_malloc(p, 4096);
        ck_assert_ptr_nonnull(x);
        int status = -1;
        for (int i = 0; i < PUMP_MAX; i++) {
                struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
                ck_assert_int_ge(poll(&pfd, 1, 10), 0);
                ck_assert_int_ge(pool_poll(p), 0);
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
        }
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);

        /* The server is gone: reading its end of file drops the connection,
         * after which the fd no longer reports the socket, and the pool
         * still allocates from its page. */
        ck_assert_int_ge(pool_poll(p), 0);
        ck_assert_int_ge(pool_poll(p), 0);
        struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
        ck_assert_int_eq(poll(&pfd, 1, 0), 0);
        void *y = pool_malloc(p, 4096);
        ck_assert_ptr_nonnull(y);
        pool_free(p, y);
        pool_free(p, x);
        pool_close(p);
        unlink(path);
        rmdir(dir);
}
END_TEST

static Suite *pool_daemon_suite(void) {
        Suite *s = suite_create("pool_daemon");
        TCase *tc = tcase_create("pool_daemon");
        tcase_add_test(tc, test_shrink_poll);
        tcase_add_test(tc, test_shrink_thread);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_slot_pid_from_poold);
        tcase_add_test(tc, test_not_running);
        tcase_add_test(tc, test_garbage_from_server);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(pool_daemon_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
