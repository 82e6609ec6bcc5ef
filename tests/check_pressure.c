/* SPDX-License-Identifier: MIT */
/* daemon/pressure.c on a real sd-event loop and control socket, with a
 * fixture /proc (meminfo written by the test, no pressure/ directory: the
 * module must run on MemAvailable alone) and fake hands (PressureOps) that
 * record what would be written to the cgroups. The decisions themselves are
 * check_controller's; here: the wiring. MemAvailable under the watermark
 * leads to memory.high on the lowest-priority cache pool; a subscribed
 * client gets the shrink notice and its ack moves the step on long before
 * its deadline; acks from non-subscribers and stale acks are told apart;
 * the events verb returns what happened. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "budget.h"
#include "config.h"
#include "control.h"
#include "macro.h"
#include "pressure.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

static struct {
        char dir[128];
        char sock[160];
        sd_event *e;
        Control *c;
        Pressure *p;
        Config *cfg;
        Budget b;
        uint64_t usage[2];
        unsigned n_set_high;
        size_t set_high_pool[16];
        uint64_t set_high_bytes[16];
        unsigned n_target_changed;
} F;

static void write_meminfo(uint64_t available) {
        char path[200];
        snprintf(path, sizeof path, "%s/proc/meminfo", F.dir);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "MemTotal:       %8llu kB\nMemFree:        %8llu kB\nMemAvailable:   %8llu kB\n",
                (unsigned long long) (8 * GiB / 1024), (unsigned long long) (available / 1024),
                (unsigned long long) (available / 1024));
        fclose(f);
}

static void fake_measure(void *userdata _unused_, PolicyPoolSample *pools, size_t n_pools, uint64_t *reserve_usage _unused_,
                         size_t n_reserves _unused_, bool detailed _unused_) {
        for (size_t i = 0; i < n_pools && i < 2; i++) {
                pools[i].usage = F.usage[i];
                pools[i].events_high = pools[i].events_max = pools[i].events_oom = pools[i].events_oom_kill = 0;
        }
}

static int fake_set_high(void *userdata _unused_, size_t i, uint64_t bytes) {
        ck_assert_uint_lt(F.n_set_high, 16);
        F.set_high_pool[F.n_set_high] = i;
        F.set_high_bytes[F.n_set_high] = bytes;
        F.n_set_high++;
        /* The kernel reclaims at once (page cache, say). */
        if (i < 2 && F.usage[i] > bytes)
                F.usage[i] = bytes;
        return 0;
}

static void fake_target_changed(void *userdata _unused_, size_t i _unused_, uint64_t target _unused_) {
        F.n_target_changed++;
}

static const PressureOps fake_ops = {
        .measure = fake_measure,
        .set_high = fake_set_high,
        .target_changed = fake_target_changed,
};

/* Pool 0 "low" (priority 10) and pool 1 "high" (priority 50), both cache;
 * poolable = 8G - 1G - 10% (819.2M) = 6.2G, shared equally. */
static const char conf_text[] =
        "[Host]\nSlack=10%\n"
        "[Reserve os]\nSize=1G\n"
        "[Pool low]\nKind=cache\nPriority=10\nMin=512M\n"
        "[Pool high]\nKind=cache\nPriority=50\nMin=512M\n"
        "[Pressure]\nShrinkDeadline=60s\nCalmInterval=1s\nPressureInterval=100ms\n";

static void setup(void) {
        char path[200];
        memset(&F, 0, sizeof F);
        snprintf(F.dir, sizeof F.dir, "/tmp/check-pressure.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(F.dir));
        snprintf(path, sizeof path, "%s/proc", F.dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        snprintf(F.sock, sizeof F.sock, "%s/control.sock", F.dir);
        write_meminfo(4 * GiB);

        Diag d = {};
        ck_assert_int_eq(config_new(&F.cfg), 0);
        FILE *f = fmemopen((void *) conf_text, sizeof conf_text - 1, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_parse_stream(F.cfg, f, "test.conf", &d), 0);
        fclose(f);
        ck_assert_int_eq(config_validate(F.cfg, 0, &d), 0);
        HostFacts h = { .total = 8 * GiB };
        ck_assert_int_eq(budget_compute(F.cfg, &h, &F.b, &d), 0);
        diag_done(&d);
        F.usage[0] = F.b.pools[0].target;
        F.usage[1] = F.b.pools[1].target;

        ck_assert_int_ge(sd_event_new(&F.e), 0);
        ck_assert_int_eq(control_new(F.e, F.sock, &F.c), 0);
        ck_assert_int_eq(pressure_new(F.e, F.c, path, &fake_ops, NULL, &F.p), 0);
        ck_assert_int_eq(pressure_configure(F.p, F.cfg, &F.b, NULL), 0);
        ck_assert_int_eq(pressure_register_verbs(F.p, F.c), 0);
        ck_assert_int_eq(control_start(F.c), 0);
        ck_assert_int_eq(pressure_start(F.p, NULL), 0);
}

static void teardown(void) {
        char cmd[200];
        F.p = pressure_free(F.p);
        F.c = control_free(F.c);
        F.e = sd_event_unref(F.e);
        budget_done(&F.b);
        config_free(F.cfg);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
        (void) system(cmd);
}

static void pump(unsigned times) {
        for (unsigned i = 0; i < times; i++)
                ck_assert_int_ge(sd_event_run(F.e, 20000), 0);
}

/* Pumps until COND holds, for at most about 5 s of loop time. */
#define PUMP_UNTIL(cond)                                                     \
        do {                                                                 \
                for (unsigned _i = 0; _i < 250 && !(cond); _i++)             \
                        ck_assert_int_ge(sd_event_run(F.e, 20000), 0);       \
        } while (0)

static int client_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, F.sock);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        return fd;
}

static void client_send(int fd, const char *line) {
        size_t n = strlen(line);
        ck_assert_int_eq(send(fd, line, n, MSG_NOSIGNAL), (ssize_t) n);
}

/* Pumps the loop until a whole line arrives on FD; returns it parsed. */
static json_object *client_read(int fd) {
        char buf[65536];
        size_t n = 0;
        for (unsigned i = 0; i < 250; i++) {
                ssize_t k = recv(fd, buf + n, 1, MSG_DONTWAIT);
                if (k == 1) {
                        if (buf[n] == '\n') {
                                buf[n] = 0;
                                json_object *o = json_tokener_parse(buf);
                                ck_assert_msg(o != NULL, "not JSON: %s", buf);
                                return o;
                        }
                        n++;
                        ck_assert_uint_lt(n, sizeof buf - 1);
                        i = 0;
                        continue;
                }
                pump(1);
        }
        ck_abort_msg("no line from poold");
        return NULL;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static uint64_t ju64(json_object *o, const char *key) {
        json_object *v;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
        return json_object_get_uint64(v);
}

START_TEST(test_calm_does_nothing) {
        pump(20);
        ck_assert_uint_eq(F.n_set_high, 0);
        ck_assert_str_eq(pressure_pool_stage(F.p, 0), "steady");
        ck_assert_uint_eq(pressure_pool_target(F.p, 0), F.b.pools[0].target);
}
END_TEST

START_TEST(test_low_memory_shrinks_lowest_priority) {
        pump(5);
        /* 300M available against an 819.2M watermark: a deficit of about
         * 520M (+1% of poolable), which the low pool alone can give. */
        write_meminfo(300 * MiB);
        PUMP_UNTIL(F.n_set_high > 0);
        ck_assert_uint_ge(F.n_set_high, 1);
        ck_assert_uint_eq(F.set_high_pool[0], 0);
        ck_assert_uint_lt(F.set_high_bytes[0], F.b.pools[0].target - 500 * MiB);
        ck_assert_uint_ge(F.set_high_bytes[0], F.b.pools[0].min);
        ck_assert_uint_eq(pressure_pool_target(F.p, 1), F.b.pools[1].target);
        ck_assert_uint_ge(F.n_target_changed, 1);

        /* The events verb tells the same story. */
        int fd = client_connect();
        client_send(fd, "{\"id\":1,\"verb\":\"events\"}\n");
        json_object *reply = client_read(fd), *result, *events;
        ck_assert(json_object_object_get_ex(reply, "result", &result));
        ck_assert(json_object_object_get_ex(result, "events", &events));
        bool seen = false;
        for (size_t i = 0; i < json_object_array_length(events); i++) {
                json_object *ev = json_object_array_get_idx(events, i);
                if (strcmp(jstr(ev, "action"), "set_high") == 0 && strcmp(jstr(ev, "pool"), "low") == 0)
                        seen = true;
                ck_assert_str_ne(jstr(ev, "pool") ? jstr(ev, "pool") : "", "high");
        }
        ck_assert(seen);
        ck_assert_uint_eq(ju64(result, "last_seq"), json_object_array_length(events));
        json_object_put(reply);
        close(fd);
}
END_TEST

START_TEST(test_ack_moves_the_step_on) {
        int fd = client_connect(), other = client_connect();
        client_send(fd, "{\"id\":1,\"verb\":\"subscribe\",\"args\":{\"pool\":\"low\"}}\n");
        json_object_put(client_read(fd));
        pump(5);

        write_meminfo(300 * MiB);
        json_object *n = client_read(fd);
        ck_assert_str_eq(jstr(n, "event"), "shrink");
        ck_assert_str_eq(jstr(n, "pool"), "low");
        ck_assert_str_eq(jstr(n, "topic"), "pool/low");
        uint64_t seq = ju64(n, "seq"), target = ju64(n, "target"), free_ = ju64(n, "free");
        ck_assert_uint_eq(ju64(n, "deadline_ms"), 60000);
        ck_assert_uint_eq(target + free_, F.b.pools[0].target);
        json_object_put(n);
        /* The deadline is a minute away: nothing forced yet. */
        pump(10);
        ck_assert_uint_eq(F.n_set_high, 0);
        ck_assert_str_eq(pressure_pool_stage(F.p, 0), "shrinking-cooperative");

        /* Not a subscriber: refused. */
        char line[256];
        snprintf(line, sizeof line, "{\"id\":2,\"verb\":\"ack\",\"args\":{\"pool\":\"low\",\"seq\":%llu}}\n",
                 (unsigned long long) seq);
        client_send(other, line);
        json_object *r = client_read(other), *err;
        ck_assert(json_object_object_get_ex(r, "error", &err));
        json_object_put(r);
        pump(5);
        ck_assert_uint_eq(F.n_set_high, 0);

        /* A stale ack is answered but changes nothing. */
        snprintf(line, sizeof line, "{\"id\":3,\"verb\":\"ack\",\"args\":{\"pool\":\"low\",\"seq\":%llu}}\n",
                 (unsigned long long) seq + 100);
        client_send(fd, line);
        r = client_read(fd);
        json_object *res, *cur;
        ck_assert(json_object_object_get_ex(r, "result", &res));
        ck_assert(json_object_object_get_ex(res, "current", &cur));
        ck_assert(!json_object_get_boolean(cur));
        json_object_put(r);
        pump(5);
        ck_assert_uint_eq(F.n_set_high, 0);

        /* The client freed what it was asked: its ack ends the wait. */
        F.usage[0] = target;
        snprintf(line, sizeof line,
                 "{\"id\":4,\"verb\":\"ack\",\"args\":{\"pool\":\"low\",\"seq\":%llu,\"freed\":%llu}}\n",
                 (unsigned long long) seq, (unsigned long long) free_);
        client_send(fd, line);
        r = client_read(fd);
        ck_assert(json_object_object_get_ex(r, "result", &res));
        ck_assert(json_object_object_get_ex(res, "current", &cur));
        ck_assert(json_object_get_boolean(cur));
        json_object_put(r);
        PUMP_UNTIL(F.n_set_high > 0);
        ck_assert_uint_eq(F.n_set_high, 1);
        ck_assert_uint_eq(F.set_high_pool[0], 0);
        ck_assert_uint_eq(F.set_high_bytes[0], target);
        close(fd);
        close(other);
}
END_TEST

START_TEST(test_status_json) {
        pump(5);
        json_object *o = NULL;
        ck_assert_int_eq(pressure_status_json(F.p, &o), 0);
        ck_assert_str_eq(jstr(o, "state"), "calm");
        ck_assert_uint_eq(ju64(o, "mem_available"), 4 * GiB);
        /* The watermark defaults to the slack. */
        ck_assert_uint_eq(ju64(o, "watermark"), F.b.slack);
        json_object *psi, *err;
        ck_assert(json_object_object_get_ex(o, "psi", &psi));
        ck_assert(json_object_object_get_ex(psi, "error", &err));
        ck_assert_ptr_nonnull(err); /* the fixture has no pressure/memory */
        json_object_put(o);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("pressure");
        TCase *tc = tcase_create("loop");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_calm_does_nothing);
        tcase_add_test(tc, test_low_memory_shrinks_lowest_priority);
        tcase_add_test(tc, test_ack_moves_the_step_on);
        tcase_add_test(tc, test_status_json);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
