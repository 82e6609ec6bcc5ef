/* SPDX-License-Identifier: MIT */
/* The control socket server on a real sd-event loop, with clients over real
 * unix sockets in a temporary directory: raw sockets driven from the test
 * (the loop is pumped in between), and ctl-client in forked children. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctl-client.h"
#include "protocol.h"

/* Upper bound on loop iterations (10 ms each at most) while waiting for
 * something that should happen at once: reached only when a test fails. */
#define PUMP_MAX 2000

static char base_dir[] = "/tmp/poold-check-control-XXXXXX";

typedef struct FakeCred {
        uid_t uid;
        bool privileged;
        unsigned calls;
} FakeCred;

typedef struct Fixture {
        char dir[256];
        char path[320];
        sd_event *e;
        Control *c;
        FakeCred cred;
        ControlRequest *held;        /* "hold": answered by the test */
        ControlRequest *slow;        /* "slow": answered by a timer */
        sd_event_source *slow_timer;
        unsigned poke_seq;
} Fixture;

static Fixture F;

/* ---- verbs of the test server ---- */

static int verb_echo(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "args", json_object_get(args));
        json_object_object_add(o, "verb", json_object_new_string(control_request_get_verb(req)));
        *ret = o;
        return 0;
}

static int verb_whoami(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        const Peer *p = control_request_get_peer(req);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "uid", json_object_new_int64(p->uid));
        json_object_object_add(o, "gid", json_object_new_int64(p->gid));
        json_object_object_add(o, "pid", json_object_new_int64(p->pid));
        json_object_object_add(o, "privileged", json_object_new_boolean(p->privileged));
        *ret = o;
        return 0;
}

static int verb_priv(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        *ret = json_object_new_object();
        json_object_object_add(*ret, "done", json_object_new_boolean(1));
        return 0;
}

static int verb_fail(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        const char *pool = NULL;
        int r = protocol_get_string(args, "pool", true, &pool, e);
        if (r < 0)
                return r;
        return protocol_error_set(e, PROTOCOL_ERROR_NOT_FOUND, "no pool \"%s\"", pool);
}

static int verb_fail_errno(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        return -EBUSY;
}

static int on_slow_timer(sd_event_source *s, uint64_t usec, void *ud) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "slow", json_object_new_boolean(1));
        ck_assert_int_eq(control_reply(F.slow, o), 0);
        F.slow = control_request_unref(F.slow);
        return 0;
}

static int verb_slow(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        ck_assert_ptr_null(F.slow);
        F.slow = control_request_ref(req);
        F.slow_timer = sd_event_source_disable_unref(F.slow_timer);
        ck_assert_int_ge(sd_event_add_time_relative(F.e, &F.slow_timer, CLOCK_MONOTONIC, 20000, 0, on_slow_timer, NULL), 0);
        return CONTROL_DEFERRED;
}

static int verb_hold(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        ck_assert_ptr_null(F.held);
        F.held = control_request_ref(req);
        return CONTROL_DEFERRED;
}

static int verb_forget(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        /* Deferred without keeping a reference: a handler bug the server
         * must answer for. */
        return CONTROL_DEFERRED;
}

static const char fd_content[] = "budget page v1";

static int verb_getfd(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        int fd = memfd_create("poold-test", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        ck_assert_int_eq(write(fd, fd_content, sizeof fd_content - 1), (ssize_t) sizeof fd_content - 1);
        int r = control_request_attach_fd(req, fd);
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(control_request_attach_fd(req, fd), -EALREADY);
        close(fd);   /* the server keeps its own copy */
        *ret = json_object_new_object();
        json_object_object_add(*ret, "size", json_object_new_int(sizeof fd_content - 1));
        return 0;
}

static json_object *shrink_event(unsigned seq, size_t pad) {
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "event", json_object_new_string("shrink"));
        json_object_object_add(ev, "pool", json_object_new_string("data"));
        json_object_object_add(ev, "target", json_object_new_int64(1 << 30));
        json_object_object_add(ev, "seq", json_object_new_int64(seq));
        if (pad > 0) {
                char *p = malloc(pad + 1);
                memset(p, 'x', pad);
                p[pad] = '\0';
                json_object_object_add(ev, "pad", json_object_new_string(p));
                free(p);
        }
        return ev;
}

static int verb_poke(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        json_object *ev = shrink_event(++F.poke_seq, 0);
        int n = control_broadcast(F.c, "pool/data", ev);
        json_object_put(ev);
        *ret = json_object_new_object();
        json_object_object_add(*ret, "reached", json_object_new_int(n));
        return 0;
}

static int verb_selfdrop(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        /* Broadcast until the requesting subscriber (which reads nothing)
         * is dropped for its full buffer, from inside its own request. */
        for (unsigned i = 0; i < 100000 && control_request_is_subscribed(req, "pool/data"); i++) {
                json_object *ev = shrink_event(i, 1000);
                control_broadcast(F.c, "pool/data", ev);
                json_object_put(ev);
        }
        ck_assert(!control_request_is_subscribed(req, "pool/data"));
        *ret = json_object_new_object();
        return 0;
}

static int verb_ack(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        static const char *const allowed[] = { "pool", "seq", "freed", NULL };
        const char *pool;
        uint64_t seq, freed = 0;
        char topic[PROTOCOL_TOPIC_MAX + 1];
        int r;

        if ((r = protocol_check_fields(args, allowed, e)) < 0 ||
            (r = protocol_get_string(args, "pool", true, &pool, e)) < 0 ||
            (r = protocol_get_uint64(args, "seq", true, &seq, e)) < 0 ||
            (r = protocol_get_uint64(args, "freed", false, &freed, e)) < 0)
                return r;
        snprintf(topic, sizeof topic, "pool/%s", pool);
        if (!control_request_is_subscribed(req, topic))
                return protocol_error_set(e, PROTOCOL_ERROR_INVALID, "not subscribed to %s", topic);
        *ret = json_object_new_object();
        json_object_object_add(*ret, "seq", json_object_new_int64((int64_t) seq));
        json_object_object_add(*ret, "freed", json_object_new_int64((int64_t) freed));
        return 0;
}

static int verb_quit(ControlRequest *req, json_object *args, void *ud, json_object **ret, ProtocolError *e) {
        sd_event_exit(F.e, 0);
        return 0;
}

static int topic_check(const char *topic, const Peer *peer, void *ud, ProtocolError *e) {
        if (strcmp(topic, "pool/nosuch") == 0)
                return protocol_error_set(e, PROTOCOL_ERROR_NOT_FOUND, "no pool \"nosuch\"");
        return 0;
}

static int fake_cred(int fd, const char *group, Peer *ret, void *ud) {
        FakeCred *fc = ud;
        fc->calls++;
        *ret = (Peer) { .uid = fc->uid, .gid = fc->uid, .pid = 4242, .privileged = fc->privileged };
        return 0;
}

static void register_verbs(Control *c) {
        ck_assert_int_eq(control_register_verb(c, "echo", 0, verb_echo, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "whoami", 0, verb_whoami, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "priv", CONTROL_VERB_PRIVILEGED, verb_priv, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "fail", 0, verb_fail, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "fail_errno", 0, verb_fail_errno, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "slow", 0, verb_slow, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "hold", 0, verb_hold, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "forget", 0, verb_forget, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "getfd", 0, verb_getfd, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "poke", 0, verb_poke, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "selfdrop", 0, verb_selfdrop, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "ack", CONTROL_VERB_PRIVILEGED, verb_ack, NULL), 0);
        ck_assert_int_eq(control_register_verb(c, "quit", CONTROL_VERB_PRIVILEGED, verb_quit, NULL), 0);
        /* Taken names. */
        ck_assert_int_eq(control_register_verb(c, "echo", 0, verb_echo, NULL), -EEXIST);
        ck_assert_int_eq(control_register_verb(c, "subscribe", 0, verb_echo, NULL), -EEXIST);
        ck_assert_int_eq(control_register_verb(c, "", 0, verb_echo, NULL), -EINVAL);
        control_set_topic_check(c, topic_check, NULL);
}

/* ---- fixture ---- */

static void make_test_dir(void) {
        static unsigned n;
        snprintf(F.dir, sizeof F.dir, "%s/t%u-%d", base_dir, n++, (int) getpid());
        ck_assert_int_eq(mkdir(F.dir, 0755), 0);
        /* Traversable by nobody, for the tests that drop privileges. */
        ck_assert_int_eq(chmod(F.dir, 0755), 0);
        snprintf(F.path, sizeof F.path, "%s/run/control.sock", F.dir);
}

static void server_start(const ControlLimits *limits, bool fake) {
        memset(&F, 0, sizeof F);
        make_test_dir();
        ck_assert_int_ge(sd_event_new(&F.e), 0);
        ck_assert_int_eq(control_new(F.e, F.path, &F.c), 0);
        if (limits)
                ck_assert_int_eq(control_set_limits(F.c, limits), 0);
        if (fake) {
                F.cred = (FakeCred) { .uid = 0, .privileged = true };
                control_set_credential_function(F.c, fake_cred, &F.cred);
        }
        register_verbs(F.c);
        ck_assert_int_eq(control_start(F.c), 0);
        ck_assert_int_eq(control_start(F.c), -EALREADY);
}

static void server_stop(void) {
        F.held = control_request_unref(F.held);
        F.slow = control_request_unref(F.slow);
        F.slow_timer = sd_event_source_disable_unref(F.slow_timer);
        F.c = control_free(F.c);
        F.e = sd_event_unref(F.e);
}

static void pump_once(uint64_t usec) {
        ck_assert_int_ge(sd_event_run(F.e, usec), 0);
}

static void set_sun_path(struct sockaddr_un *sa, const char *path) {
        size_t n = strlen(path);
        ck_assert_uint_lt(n, sizeof sa->sun_path);
        memcpy(sa->sun_path, path, n + 1);
}

/* ---- raw clients ---- */

typedef struct Client {
        int fd;
        char *buf;
        size_t n, size;
        bool eof;
} Client;

static Client *client_connect_nowait(void) {
        Client *cl = calloc(1, sizeof *cl);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        set_sun_path(&sa, F.path);
        cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(cl->fd, 0);
        ck_assert_int_eq(connect(cl->fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(fcntl(cl->fd, F_SETFL, O_NONBLOCK), 0);
        return cl;
}

/* Connects and pumps until the server has accepted. */
static Client *client_connect(void) {
        unsigned before = control_connection_count(F.c);
        Client *cl = client_connect_nowait();
        for (int i = 0; i < PUMP_MAX && control_connection_count(F.c) == before; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_connection_count(F.c), before + 1);
        return cl;
}

static void client_close(Client *cl) {
        if (cl->fd >= 0)
                close(cl->fd);
        free(cl->buf);
        free(cl);
}

static void client_send_bytes(Client *cl, const char *s, size_t len) {
        while (len > 0) {
                ssize_t n = send(cl->fd, s, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EAGAIN) {
                        pump_once(10000);
                        continue;
                }
                ck_assert_msg(n > 0, "send: %s", strerror(errno));
                s += n;
                len -= (size_t) n;
        }
}

static void client_send(Client *cl, const char *s) {
        client_send_bytes(cl, s, strlen(s));
}

/* Reads what is there without waiting. Returns bytes read, 0 at EOF. */
static ssize_t client_fill(Client *cl) {
        char tmp[65536];
        ssize_t n = recv(cl->fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n < 0 && errno == ECONNRESET)
                n = 0;
        if (n == 0)
                cl->eof = true;
        if (n <= 0)
                return n;
        if (cl->n + (size_t) n + 1 > cl->size) {
                cl->size = (cl->n + (size_t) n + 1) * 2;
                cl->buf = realloc(cl->buf, cl->size);
        }
        memcpy(cl->buf + cl->n, tmp, (size_t) n);
        cl->n += (size_t) n;
        return n;
}

/* Takes one complete line from the buffer, parsed; NULL if none. */
static json_object *client_take(Client *cl) {
        char *nl = cl->n ? memchr(cl->buf, '\n', cl->n) : NULL;
        if (!nl)
                return NULL;
        *nl = '\0';
        json_object *o = json_tokener_parse(cl->buf);
        ck_assert_msg(o, "unparseable line from server: %s", cl->buf);
        size_t used = (size_t) (nl - cl->buf) + 1;
        memmove(cl->buf, nl + 1, cl->n - used);
        cl->n -= used;
        return o;
}

/* Waits for the next line; NULL if the server closed first. */
static json_object *client_recv(Client *cl) {
        for (int i = 0; i < PUMP_MAX; i++) {
                json_object *o = client_take(cl);
                if (o)
                        return o;
                if (cl->eof)
                        return NULL;
                if (client_fill(cl) > 0 || cl->eof)
                        continue;
                pump_once(10000);
        }
        ck_abort_msg("no line from the server");
        return NULL;
}

/* Pumps and reads until the server closes the connection. Returns true if
 * it did. */
static bool client_wait_eof(Client *cl) {
        for (int i = 0; i < PUMP_MAX; i++) {
                cl->n = 0;
                if (client_fill(cl) == 0)
                        return true;
                pump_once(10000);
        }
        return false;
}

/* True if nothing arrived (after letting the loop run a few times). */
static bool client_quiet(Client *cl) {
        for (int i = 0; i < 5; i++)
                pump_once(0);
        return client_fill(cl) < 0 && cl->n == 0;
}

static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key, json_object_to_json_string(o));
        return v;
}

/* Checks an OK reply and returns its result (borrowed from REPLY). */
static json_object *expect_ok(json_object *reply) {
        ck_assert_ptr_nonnull(reply);
        ck_assert_msg(json_object_get_boolean(member(reply, "ok")), "not ok: %s", json_object_to_json_string(reply));
        return member(reply, "result");
}

/* Checks an error reply with CODE and a message containing WANT. */
static void expect_error(json_object *reply, const char *code, const char *want) {
        ck_assert_ptr_nonnull(reply);
        ck_assert_msg(!json_object_get_boolean(member(reply, "ok")), "ok: %s", json_object_to_json_string(reply));
        json_object *err = member(reply, "error");
        ck_assert_str_eq(json_object_get_string(member(err, "code")), code);
        ck_assert_msg(strstr(json_object_get_string(member(err, "message")), want),
                      "message \"%s\" lacks \"%s\"", json_object_get_string(member(err, "message")), want);
}

static json_object *call(Client *cl, const char *line) {
        client_send(cl, line);
        return client_recv(cl);
}

/* ---- forked children with ctl-client; the parent serves meanwhile ---- */

#define CHILD_CHECK(x)                                                                  \
        do {                                                                            \
                if (!(x)) {                                                             \
                        fprintf(stderr, "child check failed at line %d: %s\n", __LINE__, #x); \
                        _exit(1);                                                       \
                }                                                                       \
        } while (0)

/* Forks, runs FN(ARG) in the child (which must _exit), serves until it
 * ends; returns its exit code. */
static int run_child(void (*fn)(const void *arg), const void *arg) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                fn(arg);
                _exit(0);
        }
        for (int i = 0; i < PUMP_MAX * 2; i++) {
                int status;
                pump_once(10000);
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

/* ---- tests ---- */

START_TEST(test_basic) {
        struct stat st;
        char dir[400];

        server_start(NULL, false);

        /* The missing directory was made 0755, the socket is 0666. */
        snprintf(dir, sizeof dir, "%s/run", F.dir);
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        ck_assert_int_eq(lstat(F.path, &st), 0);
        ck_assert(S_ISSOCK(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0666);
        ck_assert_str_eq(control_get_path(F.c), F.path);

        Client *cl = client_connect();
        json_object *r = call(cl, "{\"id\":\"a\",\"verb\":\"echo\",\"args\":{\"x\":1}}\n");
        json_object *res = expect_ok(r);
        ck_assert_str_eq(json_object_get_string(member(r, "id")), "a");
        ck_assert_int_eq(json_object_get_int(member(member(res, "args"), "x")), 1);
        json_object_put(r);

        /* The real credentials (SO_PEERCRED): this process. */
        r = call(cl, "{\"verb\":\"whoami\"}\n");
        res = expect_ok(r);
        ck_assert_int_eq(json_object_get_int64(member(res, "uid")), geteuid());
        ck_assert_int_eq(json_object_get_int64(member(res, "pid")), getpid());
        ck_assert(json_object_get_type(member(r, "id")) == json_type_null);
        json_object_put(r);

        /* Two requests and a blank line in one write: two replies, in order. */
        client_send(cl, "{\"id\":1,\"verb\":\"echo\"}\n\r\n  \n{\"id\":2,\"verb\":\"whoami\"}\n");
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 1);
        ck_assert_str_eq(json_object_get_string(member(expect_ok(r), "verb")), "echo");
        json_object_put(r);
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 2);
        expect_ok(r);
        json_object_put(r);
        ck_assert(client_quiet(cl));

        client_close(cl);
        server_stop();
        /* The server removed its socket. */
        ck_assert_int_eq(lstat(F.path, &st), -1);
        ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_errors_keep_connection) {
        server_start(NULL, false);
        Client *cl = client_connect();
        json_object *r;

        r = call(cl, "this is not json\n");
        expect_error(r, "bad_request", "malformed JSON");
        ck_assert(json_object_get_type(member(r, "id")) == json_type_null);
        json_object_put(r);

        r = call(cl, "[\"status\"]\n");
        expect_error(r, "bad_request", "must be a JSON object");
        json_object_put(r);

        r = call(cl, "{\"id\":5,\"verb\":7}\n");
        expect_error(r, "bad_request", "\"verb\" must be a string");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 5);
        json_object_put(r);

        r = call(cl, "{\"id\":6,\"verb\":\"frobnicate\"}\n");
        expect_error(r, "unknown_verb", "unknown verb \"frobnicate\"");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 6);
        json_object_put(r);

        /* 70000 bytes without a newline, then its end: one too_large. */
        size_t big = 70000;
        char *s = malloc(big + 1);
        memset(s, 'a', big);
        s[big] = '\0';
        client_send(cl, s);
        r = client_recv(cl);
        expect_error(r, "too_large", "longer than 65536 bytes");
        json_object_put(r);
        client_send(cl, s);    /* more of the same line: skipped quietly */
        ck_assert(client_quiet(cl));
        free(s);
        r = call(cl, "still the long line\n{\"id\":7,\"verb\":\"echo\"}\n");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 7);
        expect_ok(r);
        json_object_put(r);

        r = call(cl, "{\"id\":8,\"verb\":\"fail\",\"args\":{\"pool\":\"data\"}}\n");
        expect_error(r, "not_found", "no pool \"data\"");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"fail\",\"args\":{\"pool\":3}}\n");
        expect_error(r, "invalid", "argument \"pool\" must be a string, got int");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"fail_errno\"}\n");
        expect_error(r, "busy", strerror(EBUSY));
        json_object_put(r);

        r = call(cl, "{\"id\":9,\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);

        client_close(cl);
        server_stop();
}
END_TEST

START_TEST(test_half_request_does_not_block) {
        server_start(NULL, false);
        Client *a = client_connect(), *b = client_connect();

        client_send(a, "{\"id\":1,\"verb\":\"ec");
        ck_assert(client_quiet(a));

        json_object *r = call(b, "{\"id\":2,\"verb\":\"whoami\"}\n");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 2);
        expect_ok(r);
        json_object_put(r);

        r = call(a, "ho\"}\n");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 1);
        expect_ok(r);
        json_object_put(r);

        client_close(a);
        client_close(b);
        server_stop();
}
END_TEST

START_TEST(test_permission_fake_credentials) {
        server_start(NULL, true);

        F.cred = (FakeCred) { .uid = 1234, .privileged = false };
        Client *u = client_connect();
        F.cred = (FakeCred) { .uid = 0, .privileged = true };
        Client *p = client_connect();

        json_object *r = call(u, "{\"id\":1,\"verb\":\"priv\"}\n");
        expect_error(r, "permission_denied", "needs root or membership in group \"poold\"");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 1);
        json_object_put(r);

        /* The connection stays usable, and reports who the server thinks it is. */
        r = call(u, "{\"verb\":\"whoami\"}\n");
        json_object *res = expect_ok(r);
        ck_assert_int_eq(json_object_get_int(member(res, "uid")), 1234);
        ck_assert(!json_object_get_boolean(member(res, "privileged")));
        json_object_put(r);

        /* Reading verbs and subscribing are open to everyone; ack is not. */
        r = call(u, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);
        r = call(u, "{\"verb\":\"ack\",\"args\":{\"pool\":\"data\",\"seq\":1}}\n");
        expect_error(r, "permission_denied", "\"ack\"");
        json_object_put(r);

        r = call(p, "{\"verb\":\"priv\"}\n");
        ck_assert(json_object_get_boolean(member(expect_ok(r), "done")));
        json_object_put(r);

        /* Root only when there is no group. */
        ck_assert_int_eq(control_set_privileged_group(F.c, NULL), 0);
        r = call(u, "{\"verb\":\"priv\"}\n");
        expect_error(r, "permission_denied", "\"priv\" needs root");
        json_object_put(r);

        ck_assert_uint_eq(F.cred.calls, 1);   /* per connection, not per request */
        client_close(u);
        client_close(p);
        server_stop();
}
END_TEST

/* The real SO_PEERCRED/SO_PEERGROUPS path, from children that became
 * nobody (root only). */
typedef struct DropArg {
        uid_t uid;
        gid_t gid;
        gid_t extra_group;    /* (gid_t) -1: none */
        bool want_privileged;
        const char *path;
} DropArg;

static void child_dropped(const void *p) {
        const DropArg *a = p;
        CtlClient *c = NULL;
        json_object *res = NULL;
        int r;

        if (a->extra_group != (gid_t) -1)
                CHILD_CHECK(setgroups(1, &a->extra_group) == 0);
        else
                CHILD_CHECK(setgroups(0, NULL) == 0);
        CHILD_CHECK(setgid(a->gid) == 0);
        CHILD_CHECK(setuid(a->uid) == 0);
        CHILD_CHECK(geteuid() == a->uid);

        CHILD_CHECK(ctl_connect(a->path, &c) == 0);
        CHILD_CHECK(ctl_call(c, "whoami", NULL, 10000, &res, NULL) == 0);
        json_object *v;
        CHILD_CHECK(json_object_object_get_ex(res, "uid", &v) && json_object_get_int64(v) == (int64_t) a->uid);
        CHILD_CHECK(json_object_object_get_ex(res, "gid", &v) && json_object_get_int64(v) == (int64_t) a->gid);
        CHILD_CHECK(json_object_object_get_ex(res, "pid", &v) && json_object_get_int64(v) == getpid());
        CHILD_CHECK(json_object_object_get_ex(res, "privileged", &v) && json_object_get_boolean(v) == a->want_privileged);
        json_object_put(res);

        r = ctl_call(c, "priv", NULL, 10000, &res, NULL);
        if (a->want_privileged) {
                CHILD_CHECK(r == 0);
                json_object_put(res);
        } else {
                CHILD_CHECK(r == -EPERM);
                CHILD_CHECK(strcmp(ctl_client_error_code(c), "permission_denied") == 0);
                CHILD_CHECK(strstr(ctl_client_error_message(c), "\"priv\""));
        }
        /* Usable after a refusal. */
        CHILD_CHECK(ctl_call(c, "echo", NULL, 10000, NULL, NULL) == 0);
        CHILD_CHECK(ctl_client_error_code(c) == NULL);
        ctl_client_free(c);
        _exit(0);
}

START_TEST(test_permission_real_credentials) {
        struct passwd *pw = getpwnam("nobody");
        if (!pw) {
                fprintf(stderr, "check_control: no user \"nobody\": real-credential test not run\n");
                return;
        }
        uid_t nobody = pw->pw_uid;
        gid_t nobody_gid = pw->pw_gid;

        /* A group that nobody is not in by default, to play "poold". */
        struct group *gr = NULL;
        static const char *candidates[] = { "users", "daemon", "adm", "staff", "disk" };
        for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !gr; i++) {
                gr = getgrnam(candidates[i]);
                if (gr && (gr->gr_gid == 0 || gr->gr_gid == nobody_gid))
                        gr = NULL;
        }
        if (!gr) {
                fprintf(stderr, "check_control: no spare group: real-credential test not run\n");
                return;
        }
        char group[64];
        snprintf(group, sizeof group, "%s", gr->gr_name);
        gid_t group_gid = gr->gr_gid;

        server_start(NULL, false);
        ck_assert_int_eq(control_set_privileged_group(F.c, group), 0);

        /* nobody, without the group: refused. */
        DropArg a = { .uid = nobody, .gid = nobody_gid, .extra_group = (gid_t) -1,
                      .want_privileged = false, .path = F.path };
        ck_assert_int_eq(run_child(child_dropped, &a), 0);

        /* nobody with the group as a supplementary group: allowed. */
        a.extra_group = group_gid;
        a.want_privileged = true;
        ck_assert_int_eq(run_child(child_dropped, &a), 0);

        /* ... or as its primary group. */
        a.extra_group = (gid_t) -1;
        a.gid = group_gid;
        ck_assert_int_eq(run_child(child_dropped, &a), 0);

        /* A group that does not exist: nobody-with-groups is refused, root
         * (this process) is still allowed. */
        ck_assert_int_eq(control_set_privileged_group(F.c, "poold-check-no-such-group"), 0);
        a.gid = nobody_gid;
        a.extra_group = group_gid;
        a.want_privileged = false;
        ck_assert_int_eq(run_child(child_dropped, &a), 0);

        /* The children's connections are gone (they exited). */
        for (int i = 0; i < PUMP_MAX && control_connection_count(F.c) > 0; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_connection_count(F.c), 0);
        Client *cl = client_connect();
        json_object *r = call(cl, "{\"verb\":\"priv\"}\n");
        expect_ok(r);
        json_object_put(r);
        client_close(cl);

        server_stop();
}
END_TEST

START_TEST(test_idle_timeout) {
        ControlLimits l;
        control_limits_default(&l);
        l.idle_timeout_usec = 200000;
        server_start(&l, false);

        Client *silent = client_connect();
        Client *half = client_connect();
        Client *sub = client_connect();
        client_send(half, "{\"verb\":");

        json_object *r = call(sub, "{\"verb\":\"subscribe\",\"args\":{\"topic\":\"events\"}}\n");
        expect_ok(r);
        json_object_put(r);

        ck_assert(client_wait_eof(silent));
        ck_assert(client_wait_eof(half));

        /* Three timeouts later the subscriber is still there. */
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
                pump_once(50000);
                clock_gettime(CLOCK_MONOTONIC, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) < 600000000LL);
        ck_assert_uint_eq(control_subscriber_count(F.c, "events"), 1);
        r = call(sub, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);
        ck_assert_uint_eq(control_connection_count(F.c), 1);

        client_close(silent);
        client_close(half);
        client_close(sub);
        server_stop();
}
END_TEST

START_TEST(test_connection_cap) {
        ControlLimits l;
        control_limits_default(&l);
        l.connections_max = 3;
        server_start(&l, false);

        Client *c[3];
        for (int i = 0; i < 3; i++)
                c[i] = client_connect();
        ck_assert_uint_eq(control_connection_count(F.c), 3);

        Client *extra = client_connect_nowait();
        json_object *r = client_recv(extra);
        expect_error(r, "busy", "too many connections");
        json_object_put(r);
        ck_assert(client_wait_eof(extra));
        client_close(extra);

        /* The others are unaffected. */
        r = call(c[1], "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);

        /* A place frees up: accepted again. */
        client_close(c[0]);
        for (int i = 0; i < PUMP_MAX && control_connection_count(F.c) != 2; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_connection_count(F.c), 2);
        c[0] = client_connect();
        r = call(c[0], "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);

        for (int i = 0; i < 3; i++)
                client_close(c[i]);
        server_stop();
}
END_TEST

START_TEST(test_flood_dropped) {
        ControlLimits l;
        control_limits_default(&l);
        l.rate_max = 10;
        l.rate_interval_usec = 60ULL * 1000000ULL;   /* the whole test is one window */
        server_start(&l, false);

        Client *flood = client_connect(), *good = client_connect();

        char *lines = malloc(50 * 64), *p = lines;
        for (int i = 0; i < 50; i++)
                p += sprintf(p, "{\"id\":%d,\"verb\":\"echo\"}\n", i);
        client_send(flood, lines);
        free(lines);

        for (int i = 0; i < 10; i++) {
                json_object *r = client_recv(flood);
                ck_assert_int_eq(json_object_get_int(member(r, "id")), i);
                expect_ok(r);
                json_object_put(r);
        }
        json_object *r = client_recv(flood);
        expect_error(r, "busy", "rate limit: more than 10 requests in 60000 ms");
        json_object_put(r);
        ck_assert(client_wait_eof(flood));
        ck_assert_uint_eq(control_connection_count(F.c), 1);

        r = call(good, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);

        client_close(flood);
        client_close(good);
        server_stop();
}
END_TEST

/* Reads every complete line available on CL, checking that shrink events
 * come in sequence from *NEXT. Returns the number read. */
static unsigned drain_events(Client *cl, unsigned *next) {
        unsigned n = 0;
        while (client_fill(cl) > 0)
                ;
        for (json_object *o; (o = client_take(cl)); n++) {
                ck_assert_str_eq(json_object_get_string(member(o, "event")), "shrink");
                ck_assert_str_eq(json_object_get_string(member(o, "topic")), "pool/data");
                ck_assert_uint_eq(json_object_get_int64(member(o, "seq")), *next);
                (*next)++;
                json_object_put(o);
        }
        return n;
}

START_TEST(test_hanging_subscriber_dropped) {
        ControlLimits l;
        control_limits_default(&l);
        l.write_buffer_max = 16384;
        server_start(&l, false);

        Client *hang = client_connect(), *good = client_connect();
        json_object *r = call(hang, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);
        r = call(good, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        ck_assert_str_eq(json_object_get_string(member(expect_ok(r), "topic")), "pool/data");
        json_object_put(r);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 2);

        /* Broadcast 1 KiB events; the good one reads, the hanging one does
         * not, until the hanging one's socket buffer and then its 16 KiB
         * queue are full. */
        unsigned seq = 0, next = 0;
        for (; seq < 100000 && control_subscriber_count(F.c, "pool/data") == 2; seq++) {
                json_object *ev = shrink_event(seq, 1000);
                int n = control_broadcast(F.c, "pool/data", ev);
                json_object_put(ev);
                ck_assert_int_ge(n, 1);
                pump_once(0);
                drain_events(good, &next);
        }
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 1);
        ck_assert_uint_gt(seq, 10);

        /* The good subscriber got every event, in order, and gets more. */
        for (int i = 0; i < PUMP_MAX && next < seq; i++) {
                pump_once(10000);
                drain_events(good, &next);
        }
        ck_assert_uint_eq(next, seq);
        json_object *ev = shrink_event(seq++, 0);
        ck_assert_int_eq(control_broadcast(F.c, "pool/data", ev), 1);
        json_object_put(ev);
        for (int i = 0; i < PUMP_MAX && next < seq; i++) {
                pump_once(10000);
                drain_events(good, &next);
        }
        ck_assert_uint_eq(next, seq);

        /* The hanging one finds its connection closed once it reads. */
        ck_assert(client_wait_eof(hang));
        r = call(good, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);

        client_close(hang);
        client_close(good);
        server_stop();
}
END_TEST

START_TEST(test_slow_reader_dropped) {
        ControlLimits l;
        control_limits_default(&l);
        l.write_buffer_max = 8192;
        l.rate_max = 1000000;
        server_start(&l, false);

        Client *slow = client_connect(), *good = client_connect();

        /* Requests whose replies are 4 KiB; the replies are never read. */
        char pad[4001];
        memset(pad, 'x', 4000);
        pad[4000] = '\0';
        char req[4100];
        int len = snprintf(req, sizeof req, "{\"verb\":\"echo\",\"args\":{\"pad\":\"%s\"}}\n", pad);

        bool gone = false;
        for (unsigned i = 0; i < 5000 && !gone && control_connection_count(F.c) == 2; i++) {
                for (size_t off = 0; off < (size_t) len;) {
                        ssize_t n = send(slow->fd, req + off, (size_t) len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                                gone = true;
                                break;
                        }
                        if (n > 0)
                                off += (size_t) n;
                        pump_once(0);
                        if (control_connection_count(F.c) < 2)
                                break;
                }
        }
        for (int i = 0; i < PUMP_MAX && control_connection_count(F.c) == 2; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_connection_count(F.c), 1);

        /* The other connection never noticed. */
        json_object *r = call(good, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);
        ck_assert(client_wait_eof(slow));

        client_close(slow);
        client_close(good);
        server_stop();
}
END_TEST

START_TEST(test_vanishing_subscriber) {
        server_start(NULL, false);

        /* Goes away while idle: noticed by the loop. */
        Client *s = client_connect();
        json_object *r = call(s, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 1);
        client_close(s);
        for (int i = 0; i < PUMP_MAX && control_subscriber_count(F.c, "pool/data") > 0; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 0);
        ck_assert_uint_eq(control_connection_count(F.c), 0);

        /* Goes away just before a broadcast: EPIPE, dropped, poold fine
         * (no SIGPIPE: this process would die of it). */
        s = client_connect();
        r = call(s, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);
        client_close(s);
        json_object *ev = shrink_event(1, 0);
        ck_assert_int_eq(control_broadcast(F.c, "pool/data", ev), 0);
        json_object_put(ev);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 0);

        Client *other = client_connect();
        r = call(other, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);
        client_close(other);
        server_stop();
}
END_TEST

START_TEST(test_subscribe_validation) {
        ControlLimits l;
        control_limits_default(&l);
        l.subscriptions_max = 2;
        server_start(&l, false);
        Client *cl = client_connect();
        json_object *r;

        r = call(cl, "{\"verb\":\"subscribe\"}\n");
        expect_error(r, "invalid", "exactly one of \"pool\" or \"topic\"");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\",\"topic\":\"events\"}}\n");
        expect_error(r, "invalid", "exactly one of");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"Bad-Name\"}}\n");
        expect_error(r, "invalid", "invalid pool name \"Bad-Name\"");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"topic\":\"pool/\"}}\n");
        expect_error(r, "invalid", "invalid topic");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":5}}\n");
        expect_error(r, "invalid", "argument \"pool\" must be a string");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\",\"extra\":1}}\n");
        expect_error(r, "invalid", "unknown argument \"extra\"");
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"nosuch\"}}\n");
        expect_error(r, "not_found", "no pool \"nosuch\"");
        json_object_put(r);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/nosuch"), 0);

        /* Idempotent. */
        for (int i = 0; i < 2; i++) {
                r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
                json_object *res = expect_ok(r);
                ck_assert_str_eq(json_object_get_string(member(res, "topic")), "pool/data");
                ck_assert(json_object_get_boolean(member(res, "subscribed")));
                json_object_put(r);
        }
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 1);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"topic\":\"events\"}}\n");
        expect_ok(r);
        json_object_put(r);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"kv\"}}\n");
        expect_error(r, "invalid", "too many subscriptions (at most 2)");
        json_object_put(r);

        r = call(cl, "{\"verb\":\"unsubscribe\",\"args\":{\"pool\":\"data\"}}\n");
        ck_assert(!json_object_get_boolean(member(expect_ok(r), "subscribed")));
        json_object_put(r);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 0);
        ck_assert_uint_eq(control_subscriber_count(F.c, "events"), 1);
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"kv\"}}\n");
        expect_ok(r);
        json_object_put(r);

        client_close(cl);
        server_stop();
}
END_TEST

START_TEST(test_events_and_ack) {
        server_start(NULL, true);
        Client *s = client_connect(), *e = client_connect(), *n = client_connect();
        json_object *r;

        r = call(s, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);
        r = call(e, "{\"verb\":\"subscribe\",\"args\":{\"topic\":\"events\"}}\n");
        expect_ok(r);
        json_object_put(r);

        json_object *ev = shrink_event(7, 0);
        ck_assert_int_eq(control_broadcast(F.c, "pool/data", ev), 1);
        json_object_put(ev);
        r = client_recv(s);
        ck_assert_str_eq(json_object_get_string(member(r, "event")), "shrink");
        ck_assert_str_eq(json_object_get_string(member(r, "topic")), "pool/data");
        ck_assert_str_eq(json_object_get_string(member(r, "pool")), "data");
        ck_assert_int_eq(json_object_get_int(member(r, "seq")), 7);
        ck_assert(!json_object_object_get_ex(r, "ok", NULL));
        json_object_put(r);
        ck_assert(client_quiet(e));
        ck_assert(client_quiet(n));

        r = call(s, "{\"id\":1,\"verb\":\"ack\",\"args\":{\"pool\":\"data\",\"seq\":7,\"freed\":1048576}}\n");
        json_object *res = expect_ok(r);
        ck_assert_int_eq(json_object_get_int(member(res, "seq")), 7);
        ck_assert_int_eq(json_object_get_int64(member(res, "freed")), 1048576);
        json_object_put(r);

        r = call(n, "{\"verb\":\"ack\",\"args\":{\"pool\":\"data\",\"seq\":7}}\n");
        expect_error(r, "invalid", "not subscribed to pool/data");
        json_object_put(r);
        r = call(s, "{\"verb\":\"ack\",\"args\":{\"pool\":\"data\",\"seq\":-1}}\n");
        expect_error(r, "invalid", "argument \"seq\" must not be negative");
        json_object_put(r);

        /* The plain event stream, with a topic of its own. */
        ev = json_object_new_object();
        json_object_object_add(ev, "event", json_object_new_string("reload"));
        ck_assert_int_eq(control_broadcast(F.c, "events", ev), 1);
        json_object_put(ev);
        r = client_recv(e);
        ck_assert_str_eq(json_object_get_string(member(r, "event")), "reload");
        ck_assert_str_eq(json_object_get_string(member(r, "topic")), "events");
        json_object_put(r);
        ck_assert(client_quiet(s));

        /* Nobody on a topic: nothing sent. Bad topics refused. */
        ev = shrink_event(1, 0);
        ck_assert_int_eq(control_broadcast(F.c, "pool/other", ev), 0);
        ck_assert_int_eq(control_broadcast(F.c, "Pool/data", ev), -EINVAL);
        json_object_put(ev);
        ck_assert_int_eq(control_broadcast(F.c, "events", NULL), -EINVAL);

        client_close(s);
        client_close(e);
        client_close(n);
        server_stop();
}
END_TEST

START_TEST(test_deferred) {
        server_start(NULL, false);
        Client *cl = client_connect();
        json_object *r;

        /* Pipelined behind a deferred request: answered after it, in order. */
        client_send(cl, "{\"id\":1,\"verb\":\"slow\"}\n{\"id\":2,\"verb\":\"echo\"}\n");
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 1);
        ck_assert(json_object_get_boolean(member(expect_ok(r), "slow")));
        json_object_put(r);
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 2);
        expect_ok(r);
        json_object_put(r);

        /* A handler that deferred and kept nothing: answered anyway. */
        r = call(cl, "{\"id\":3,\"verb\":\"forget\"}\n");
        expect_error(r, "internal", "dropped without an answer");
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 3);
        json_object_put(r);

        /* Events still flow while a request waits. */
        r = call(cl, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);
        client_send(cl, "{\"id\":4,\"verb\":\"hold\"}\n{\"id\":5,\"verb\":\"echo\"}\n");
        for (int i = 0; i < PUMP_MAX && !F.held; i++)
                pump_once(10000);
        ck_assert_ptr_nonnull(F.held);
        ck_assert_str_eq(control_request_get_verb(F.held), "hold");
        json_object *ev = shrink_event(1, 0);
        ck_assert_int_eq(control_broadcast(F.c, "pool/data", ev), 1);
        json_object_put(ev);
        r = client_recv(cl);
        ck_assert_str_eq(json_object_get_string(member(r, "event")), "shrink");
        json_object_put(r);
        ck_assert(client_quiet(cl));   /* id 5 waits behind id 4 */

        ProtocolError e;
        protocol_error_set(&e, PROTOCOL_ERROR_BUSY, "pool data is resizing");
        ck_assert_int_eq(control_reply_error(F.held, &e), 0);
        ck_assert_int_eq(control_reply(F.held, NULL), -EALREADY);
        F.held = control_request_unref(F.held);
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 4);
        expect_error(r, "busy", "pool data is resizing");
        json_object_put(r);
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 5);
        expect_ok(r);
        json_object_put(r);

        /* The client leaves while its request waits: the late answer goes
         * nowhere, quietly. */
        client_send(cl, "{\"id\":6,\"verb\":\"hold\"}\n");
        for (int i = 0; i < PUMP_MAX && !F.held; i++)
                pump_once(10000);
        ck_assert_ptr_nonnull(F.held);
        client_close(cl);
        for (int i = 0; i < PUMP_MAX && control_connection_count(F.c) > 0; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_connection_count(F.c), 0);
        ck_assert_int_eq(control_request_is_subscribed(F.held, "pool/data"), false);
        ck_assert_int_eq(control_reply(F.held, json_object_new_object()), 0);
        F.held = control_request_unref(F.held);

        server_stop();
}
END_TEST

START_TEST(test_half_close) {
        server_start(NULL, false);
        Client *cl = client_connect();

        /* The last request may lack its newline; EOF ends it. */
        client_send(cl, "{\"id\":1,\"verb\":\"echo\"}");
        ck_assert_int_eq(shutdown(cl->fd, SHUT_WR), 0);
        json_object *r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 1);
        expect_ok(r);
        json_object_put(r);
        ck_assert(client_wait_eof(cl));
        client_close(cl);

        /* A deferred answer still arrives after the client's EOF. */
        cl = client_connect();
        client_send(cl, "{\"id\":2,\"verb\":\"hold\"}\n");
        ck_assert_int_eq(shutdown(cl->fd, SHUT_WR), 0);
        for (int i = 0; i < PUMP_MAX && !F.held; i++)
                pump_once(10000);
        ck_assert_ptr_nonnull(F.held);
        ck_assert(client_quiet(cl));
        ck_assert_uint_eq(control_connection_count(F.c), 1);
        ck_assert_int_eq(control_reply(F.held, NULL), 0);
        F.held = control_request_unref(F.held);
        r = client_recv(cl);
        ck_assert_int_eq(json_object_get_int(member(r, "id")), 2);
        expect_ok(r);
        json_object_put(r);
        ck_assert(client_wait_eof(cl));
        client_close(cl);

        server_stop();
}
END_TEST

START_TEST(test_self_drop_in_handler) {
        ControlLimits l;
        control_limits_default(&l);
        l.write_buffer_max = 4096;
        server_start(&l, false);

        Client *s = client_connect(), *other = client_connect();
        json_object *r = call(s, "{\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        expect_ok(r);
        json_object_put(r);

        /* Its own handler's broadcasts drop it; the server must neither
         * touch the freed connection nor stop. */
        client_send(s, "{\"id\":1,\"verb\":\"selfdrop\"}\n");
        for (int i = 0; i < PUMP_MAX && control_subscriber_count(F.c, "pool/data") > 0; i++)
                pump_once(10000);
        ck_assert_uint_eq(control_subscriber_count(F.c, "pool/data"), 0);
        ck_assert(client_wait_eof(s));

        r = call(other, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);
        client_close(s);
        client_close(other);
        server_stop();
}
END_TEST

static void child_ctl_client(const void *arg) {
        const char *path = arg;
        CtlClient *c = NULL;
        json_object *res = NULL, *ev = NULL, *v;
        int fd = -1;

        CHILD_CHECK(ctl_connect(path, &c) == 0);
        CHILD_CHECK(ctl_client_get_fd(c) >= 0);

        /* An fd with the reply, readable, close-on-exec. */
        CHILD_CHECK(ctl_call(c, "getfd", NULL, 10000, &res, &fd) == 0);
        CHILD_CHECK(fd >= 0);
        CHILD_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        char buf[64] = {};
        CHILD_CHECK(pread(fd, buf, sizeof buf - 1, 0) == (ssize_t) sizeof fd_content - 1);
        CHILD_CHECK(strcmp(buf, fd_content) == 0);
        CHILD_CHECK(json_object_object_get_ex(res, "size", &v) && json_object_get_int(v) == (int) sizeof fd_content - 1);
        CHILD_CHECK(!json_object_object_get_ex(res, "fds", NULL));
        json_object_put(res);
        close(fd);
        /* Without RET_FD the fd is closed for us; no fd: -1. */
        CHILD_CHECK(ctl_call(c, "getfd", NULL, 10000, NULL, NULL) == 0);
        fd = 99;
        CHILD_CHECK(ctl_call(c, "echo", NULL, 10000, NULL, &fd) == 0);
        CHILD_CHECK(fd == -1);

        /* Args are sent; the result comes back. */
        json_object *args = json_object_new_object();
        json_object_object_add(args, "pool", json_object_new_string("data"));
        CHILD_CHECK(ctl_call(c, "echo", args, 10000, &res, NULL) == 0);
        CHILD_CHECK(json_object_object_get_ex(res, "args", &v) && json_object_equal(v, args));
        json_object_put(res);

        /* The server's errors as errnos, with code and message. */
        CHILD_CHECK(ctl_call(c, "fail", args, 10000, &res, NULL) == -ENOENT);
        CHILD_CHECK(strcmp(ctl_client_error_code(c), "not_found") == 0);
        CHILD_CHECK(strcmp(ctl_client_error_message(c), "no pool \"data\"") == 0);
        CHILD_CHECK(ctl_call(c, "nope", NULL, 10000, NULL, NULL) == -EOPNOTSUPP);
        CHILD_CHECK(strcmp(ctl_client_error_code(c), "unknown_verb") == 0);
        CHILD_CHECK(ctl_call(c, "fail", NULL, 10000, NULL, NULL) == -EINVAL);

        /* Events pushed while a call waits are queued for ctl_read_event. */
        CHILD_CHECK(ctl_call(c, "subscribe", args, 10000, NULL, NULL) == 0);
        CHILD_CHECK(ctl_read_event(c, 0, &ev) == -ETIMEDOUT);
        CHILD_CHECK(ctl_call(c, "poke", NULL, 10000, &res, NULL) == 0);
        CHILD_CHECK(json_object_object_get_ex(res, "reached", &v) && json_object_get_int(v) == 1);
        json_object_put(res);
        CHILD_CHECK(ctl_client_pending_events(c) == 1);
        CHILD_CHECK(ctl_read_event(c, 0, &ev) == 0);
        CHILD_CHECK(json_object_object_get_ex(ev, "event", &v) && strcmp(json_object_get_string(v), "shrink") == 0);
        CHILD_CHECK(json_object_object_get_ex(ev, "seq", &v) && json_object_get_int(v) == 1);
        json_object_put(ev);
        CHILD_CHECK(ctl_read_event(c, 0, &ev) == -ETIMEDOUT);
        json_object_put(args);

        /* A deferred reply arrives; one that never does times out. */
        CHILD_CHECK(ctl_call(c, "slow", NULL, 10000, &res, NULL) == 0);
        CHILD_CHECK(json_object_object_get_ex(res, "slow", &v) && json_object_get_boolean(v));
        json_object_put(res);
        CHILD_CHECK(ctl_call(c, "hold", NULL, 100, &res, NULL) == -ETIMEDOUT);
        ctl_client_free(c);
        _exit(0);
}

START_TEST(test_ctl_client_and_fd_passing) {
        server_start(NULL, true);
        ck_assert_int_eq(run_child(child_ctl_client, F.path), 0);
        server_stop();
}
END_TEST

static void child_rate_limited(const void *arg) {
        CtlClient *c = NULL;
        CHILD_CHECK(ctl_connect(arg, &c) == 0);
        CHILD_CHECK(ctl_call(c, "echo", NULL, 10000, NULL, NULL) == 0);
        /* Over the limit of 1: the busy answer, then the connection is gone. */
        CHILD_CHECK(ctl_call(c, "echo", NULL, 10000, NULL, NULL) == -EBUSY);
        CHILD_CHECK(strstr(ctl_client_error_message(c), "rate limit"));
        CHILD_CHECK(ctl_call(c, "echo", NULL, 10000, NULL, NULL) == -ECONNRESET);
        CHILD_CHECK(ctl_read_event(c, 10000, &(json_object *) { NULL }) == -ECONNRESET);
        ctl_client_free(c);
        _exit(0);
}

START_TEST(test_ctl_client_dropped) {
        ControlLimits l;
        control_limits_default(&l);
        l.rate_max = 1;
        l.rate_interval_usec = 60ULL * 1000000ULL;
        server_start(&l, false);
        ck_assert_int_eq(run_child(child_rate_limited, F.path), 0);
        server_stop();
}
END_TEST

START_TEST(test_ctl_connect_not_running) {
        CtlClient *c = NULL;

        make_test_dir();
        /* No socket: -ENOENT. */
        ck_assert_int_eq(ctl_connect(F.path, &c), -ENOENT);

        /* A socket nobody listens on: -ECONNREFUSED. */
        char dir[400];
        snprintf(dir, sizeof dir, "%s/run", F.dir);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        set_sun_path(&sa, F.path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        close(fd);
        ck_assert_int_eq(ctl_connect(F.path, &c), -ECONNREFUSED);

        char longpath[200];
        memset(longpath, 'x', sizeof longpath - 1);
        longpath[sizeof longpath - 1] = '\0';
        ck_assert_int_eq(ctl_connect(longpath, &c), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_socket_files) {
        sd_event *e = NULL;
        Control *c = NULL;
        struct stat st;
        char dir[400];

        make_test_dir();
        snprintf(dir, sizeof dir, "%s/run", F.dir);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        ck_assert_int_ge(sd_event_new(&e), 0);

        /* A regular file at the path is never removed. */
        FILE *f = fopen(F.path, "w");
        fputs("precious\n", f);
        fclose(f);
        ck_assert_int_eq(control_new(e, F.path, &c), 0);
        ck_assert_int_eq(control_start(c), -EEXIST);
        c = control_free(c);
        ck_assert_int_eq(lstat(F.path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(st.st_size, 9);
        ck_assert_int_eq(unlink(F.path), 0);

        /* A stale socket (nobody listening) is replaced. */
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        set_sun_path(&sa, F.path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        close(fd);
        ck_assert_int_eq(control_new(e, F.path, &c), 0);
        ck_assert_int_eq(control_start(c), 0);

        /* A live one is not: a second server refuses, and leaves the
         * first's socket in place when freed. */
        Control *second = NULL;
        ck_assert_int_eq(control_new(e, F.path, &second), 0);
        ck_assert_int_eq(control_start(second), -EADDRINUSE);
        second = control_free(second);
        ck_assert_int_eq(lstat(F.path, &st), 0);
        ck_assert(S_ISSOCK(st.st_mode));

        /* The first still answers; the second's probe connection to it
         * came and went. */
        F.e = e;
        F.c = c;
        register_verbs(c);
        for (int i = 0; i < 10 || (i < PUMP_MAX && control_connection_count(c) > 0); i++)
                pump_once(1000);
        ck_assert_uint_eq(control_connection_count(c), 0);
        Client *cl = client_connect();
        json_object *r = call(cl, "{\"verb\":\"echo\"}\n");
        expect_ok(r);
        json_object_put(r);
        client_close(cl);

        /* Freed, it removes its socket, but only its own: a file that
         * replaced it stays. */
        ck_assert_int_eq(unlink(F.path), 0);
        f = fopen(F.path, "w");
        fclose(f);
        F.c = control_free(F.c);
        ck_assert_int_eq(lstat(F.path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        /* Bad arguments. */
        char longpath[200];
        memset(longpath, 'x', sizeof longpath - 1);
        longpath[sizeof longpath - 1] = '\0';
        ck_assert_int_eq(control_new(e, longpath, &c), -ENAMETOOLONG);
        ck_assert_int_eq(control_new(e, F.path, &c), 0);
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        ck_assert_int_eq(control_start_fd(c, p[0]), -EINVAL);
        close(p[0]);
        close(p[1]);
        ControlLimits l;
        control_limits_default(&l);
        l.rate_max = 0;
        ck_assert_int_eq(control_set_limits(c, &l), -EINVAL);
        c = control_free(c);

        sd_event_unref(e);
        F.e = NULL;
}
END_TEST

typedef struct ActivationArg {
        int listen_fd;
        char never[400];
        char activated[400];
} ActivationArg;

static void child_activated(const void *p) {
        const ActivationArg *a = p;
        sd_event *e = NULL;
        Control *c = NULL;
        struct stat st;
        char env[32];

        /* What systemd does: the socket at fd 3, LISTEN_PID = us. */
        if (a->listen_fd != 3) {
                CHILD_CHECK(dup2(a->listen_fd, 3) == 3);
                close(a->listen_fd);
        }
        snprintf(env, sizeof env, "%d", (int) getpid());
        setenv("LISTEN_PID", env, 1);
        setenv("LISTEN_FDS", "1", 1);

        CHILD_CHECK(sd_event_new(&e) >= 0);
        CHILD_CHECK(control_new(e, a->never, &c) == 0);
        CHILD_CHECK(control_register_verb(c, "echo", 0, verb_echo, NULL) == 0);
        CHILD_CHECK(control_register_verb(c, "quit", 0, verb_quit, NULL) == 0);
        F.e = e;
        CHILD_CHECK(control_start(c) == 0);
        /* The environment was consumed, and no socket was made. */
        CHILD_CHECK(getenv("LISTEN_FDS") == NULL);
        CHILD_CHECK(lstat(a->never, &st) < 0 && errno == ENOENT);

        CHILD_CHECK(sd_event_loop(e) >= 0);
        control_free(c);
        sd_event_unref(e);
        /* An activated socket belongs to systemd: not removed. */
        CHILD_CHECK(lstat(a->activated, &st) == 0 && S_ISSOCK(st.st_mode));
        _exit(0);
}

START_TEST(test_socket_activation) {
        ActivationArg a = {};
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        make_test_dir();
        snprintf(a.activated, sizeof a.activated, "%s/activated.sock", F.dir);
        snprintf(a.never, sizeof a.never, "%s/other/never.sock", F.dir);
        a.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        set_sun_path(&sa, a.activated);
        ck_assert_int_eq(bind(a.listen_fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(listen(a.listen_fd, 16), 0);

        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                child_activated(&a);
        close(a.listen_fd);

        CtlClient *c = NULL;
        json_object *res = NULL;
        ck_assert_int_eq(ctl_connect(a.activated, &c), 0);
        ck_assert_int_eq(ctl_call(c, "echo", NULL, 10000, &res, NULL), 0);
        ck_assert_str_eq(json_object_get_string(member(res, "verb")), "echo");
        json_object_put(res);
        ck_assert_int_eq(ctl_call(c, "quit", NULL, 10000, NULL, NULL), 0);
        ctl_client_free(c);

        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);

        char other[400];
        snprintf(other, sizeof other, "%s/other", F.dir);
        struct stat st;
        ck_assert_int_eq(stat(other, &st), -1);
}
END_TEST

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        remove(path);
        return 0;
}

static Suite *control_suite(void) {
        Suite *s = suite_create("control");
        TCase *tc = tcase_create("server");

        /* A failure shows as a hang bounded by PUMP_MAX; give it room. */
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_basic);
        tcase_add_test(tc, test_errors_keep_connection);
        tcase_add_test(tc, test_half_request_does_not_block);
        tcase_add_test(tc, test_permission_fake_credentials);
        tcase_add_test(tc, test_idle_timeout);
        tcase_add_test(tc, test_connection_cap);
        tcase_add_test(tc, test_flood_dropped);
        tcase_add_test(tc, test_hanging_subscriber_dropped);
        tcase_add_test(tc, test_slow_reader_dropped);
        tcase_add_test(tc, test_vanishing_subscriber);
        tcase_add_test(tc, test_subscribe_validation);
        tcase_add_test(tc, test_events_and_ack);
        tcase_add_test(tc, test_deferred);
        tcase_add_test(tc, test_half_close);
        tcase_add_test(tc, test_self_drop_in_handler);
        tcase_add_test(tc, test_ctl_client_and_fd_passing);
        tcase_add_test(tc, test_ctl_client_dropped);
        tcase_add_test(tc, test_ctl_connect_not_running);
        tcase_add_test(tc, test_socket_files);
        tcase_add_test(tc, test_socket_activation);
        if (geteuid() == 0)
                tcase_add_test(tc, test_permission_real_credentials);
        else
                fprintf(stderr, "check_control: not root: the SO_PEERCRED test with dropped privileges is skipped\n");
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        /* SIGPIPE stays fatal: the server must never raise it (it writes
         * with MSG_NOSIGNAL), and the vanishing-subscriber test would die. */
        if (!mkdtemp(base_dir)) {
                perror("mkdtemp");
                return 99;
        }
        if (chmod(base_dir, 0755) < 0) {
                perror("chmod");
                return 99;
        }

        SRunner *sr = srunner_create(control_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
