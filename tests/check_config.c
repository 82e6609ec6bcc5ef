/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../pools/config.h" /* not autoconf's config.h (-I. comes first) */
#include "macro.h"

#define G (UINT64_C(1) << 30)
#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)
#define MINUTE (60 * SEC)

/* ---- a scratch directory per test ---- */

static char tmpdir[256];
static char conf_path[300];

static void setup(void) {
        const char *base = getenv("TMPDIR") ?: "/tmp";
        snprintf(tmpdir, sizeof tmpdir, "%s/check_config.XXXXXX", base);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(conf_path, sizeof conf_path, "%s/poold.conf", tmpdir);
}

static void teardown(void) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(text, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
}

static void write_dropin(const char *name, const char *text) {
        char path[600];
        snprintf(path, sizeof path, "%s.d", conf_path);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s.d/%s", conf_path, name);
        write_file(path, text);
}

static void dump_diag(const Diag *d) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  diag: %s\n", d->messages[i]);
}

/* Loads TEXT as poold.conf and expects it to fail with no Config and with a
 * message that names poold.conf:LINE and contains every one of the
 * NULL-terminated fragments (the key, as "Min=", among them). */
static void expect_error_at(const char *text, unsigned line, ...) {
        Diag d = {};
        Config *c = NULL;
        char where[400];
        va_list ap;

        write_file(conf_path, text);
        int r = config_load(conf_path, 4, &c, &d);
        if (r != -EINVAL)
                dump_diag(&d);
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(c);

        snprintf(where, sizeof where, "%s:%u: ", conf_path, line);
        bool found = false;
        for (size_t i = 0; i < d.n && !found; i++) {
                if (strncmp(d.messages[i], where, strlen(where)) != 0)
                        continue;
                bool all = true;
                va_start(ap, line);
                for (const char *frag; (frag = va_arg(ap, const char *));)
                        if (!strstr(d.messages[i], frag))
                                all = false;
                va_end(ap);
                found = all;
        }
        if (!found) {
                fprintf(stderr, "expected an error at %s with:", where);
                va_start(ap, line);
                for (const char *frag; (frag = va_arg(ap, const char *));)
                        fprintf(stderr, " [%s]", frag);
                va_end(ap);
                fprintf(stderr, "\n");
                dump_diag(&d);
        }
        ck_assert(found);
        diag_done(&d);
}

static Config *load_ok(unsigned n_nodes) {
        Diag d = {};
        Config *c = NULL;

        int r = config_load(conf_path, n_nodes, &c, &d);
        if (r != 0)
                dump_diag(&d);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(d.n, 0);
        diag_done(&d);
        return c;
}

static const PoolConf *pool(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_pools; i++)
                if (strcmp(c->pools[i].name, name) == 0)
                        return &c->pools[i];
        ck_abort_msg("no pool %s", name);
        return NULL;
}

static const ReserveConf *reserve(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_reserves; i++)
                if (strcmp(c->reserves[i].name, name) == 0)
                        return &c->reserves[i];
        ck_abort_msg("no reserve %s", name);
        return NULL;
}

/* ---- what is accepted ---- */

START_TEST(test_defaults) {
        Config *c;

        write_file(conf_path, "[Pool data]\n[Reserve os]\nSize=30G\n");
        c = load_ok(0);
        ck_assert_uint_eq(c->host.total, 0);
        ck_assert_int_eq(c->host.slack.kind, SIZE_PERCENT);
        ck_assert_uint_eq(c->host.slack.permyriad, 1000);
        ck_assert_int_eq(c->host.driver, CGROUP_DRIVER_AUTO);
        ck_assert_ptr_null(c->host.cgroup_root);

        const PoolConf *p = pool(c, "data");
        ck_assert_uint_eq(p->weight, 100);
        ck_assert_int_eq(p->priority, 0);
        ck_assert_int_eq(p->kind, POOL_KIND_CACHE);
        ck_assert_int_eq(p->numa.mode, NUMA_LOCAL);
        SizeSpec min = config_pool_min(p), max = config_pool_max(p);
        ck_assert_int_eq(min.kind, SIZE_BYTES);
        ck_assert_uint_eq(min.bytes, 0);
        ck_assert_int_eq(max.kind, SIZE_INFINITY);
        ck_assert_str_eq(p->loc.file, conf_path);
        ck_assert_uint_eq(p->loc.line, 1);

        const ReserveConf *r = reserve(c, "os");
        ck_assert_int_eq(r->size.kind, SIZE_BYTES);
        ck_assert_uint_eq(r->size.bytes, 30 * G);
        ck_assert(!r->protect);
        ck_assert_ptr_null(r->unit);
        ck_assert_ptr_null(r->cgroup);
        ck_assert_uint_eq(r->loc.line, 2);
        ck_assert_uint_eq(r->size_loc.line, 3);
        config_free(c);
}
END_TEST

START_TEST(test_full) {
        Config *c;

        write_file(conf_path,
                   "\xef\xbb\xbf# a BOM, comments of both kinds\n"
                   "; semicolon comment\n"
                   "[Host]\n"
                   "Total = 512G\n"
                   "Slack=12.5%   ; inline comment after a blank\n"
                   "CgroupDriver=cgroupfs\n"
                   "CgroupRoot=/sys/fs/cgroup/memory\n"
                   "\n"
                   "  [ Reserve models ]  # trailing comment\n"
                   "Size=35G\n"
                   "Unit=model-server@vision.service\n"
                   "Protect=yes\n"
                   "[Reserve os]\n"
                   "Size=5%\n"
                   "Cgroup=/system.slice\n"
                   "Protect=off\n"
                   "[Pool transformer]\n"
                   "Min=110G\n"
                   "Max=50%\n"
                   "Weight=300\n"
                   "Priority=-5\n"
                   "Kind=working\n"
                   "NUMA=bind:0-1,3\n"
                   "[Pool kv_spill]\n"
                   "Kind=fixed\n"
                   "Min=8G\n"
                   "NUMA=preferred:2\n"
                   "HugePages=yes\n"
                   "[Pool data]\r\n"
                   "Max=infinity\r\n"
                   "NUMA=interleave:0,2\r\n");
        c = load_ok(4);
        ck_assert_uint_eq(c->host.total, 512 * G);
        ck_assert_uint_eq(c->host.slack.permyriad, 1250);
        ck_assert_int_eq(c->host.driver, CGROUP_DRIVER_CGROUPFS);
        ck_assert_str_eq(c->host.cgroup_root, "/sys/fs/cgroup/memory");
        ck_assert_uint_eq(c->host.total_loc.line, 4);

        const ReserveConf *r = reserve(c, "models");
        ck_assert_str_eq(r->unit, "model-server@vision.service");
        ck_assert(r->protect);
        ck_assert_uint_eq(r->loc.line, 9);
        r = reserve(c, "os");
        ck_assert_int_eq(r->size.kind, SIZE_PERCENT);
        ck_assert_uint_eq(r->size.permyriad, 500);
        ck_assert_str_eq(r->cgroup, "/system.slice");
        ck_assert(!r->protect);

        const PoolConf *p = pool(c, "transformer");
        ck_assert_uint_eq(p->min.bytes, 110 * G);
        ck_assert_uint_eq(p->max.permyriad, 5000);
        ck_assert_uint_eq(p->weight, 300);
        ck_assert_int_eq(p->priority, -5);
        ck_assert_int_eq(p->kind, POOL_KIND_WORKING);
        ck_assert_int_eq(p->numa.mode, NUMA_BIND);
        ck_assert(nodeset_has(&p->numa.nodes, 0) && nodeset_has(&p->numa.nodes, 1) && nodeset_has(&p->numa.nodes, 3));
        ck_assert(!nodeset_has(&p->numa.nodes, 2));
        ck_assert_uint_eq(p->numa_loc.line, 23);

        /* a fixed pool with only Min has that one size for both */
        p = pool(c, "kv_spill");
        SizeSpec min = config_pool_min(p), max = config_pool_max(p);
        ck_assert_uint_eq(min.bytes, 8 * G);
        ck_assert_uint_eq(max.bytes, 8 * G);
        ck_assert_int_eq(p->numa.mode, NUMA_PREFERRED);
        ck_assert(p->hugepages);
        ck_assert(!pool(c, "transformer")->hugepages); /* the default */

        p = pool(c, "data");
        ck_assert_int_eq(p->numa.mode, NUMA_INTERLEAVE);
        ck_assert_int_eq(config_pool_max(p).kind, SIZE_INFINITY);
        config_free(c);
}
END_TEST

START_TEST(test_missing_file) {
        Diag d = {};
        Config *c = NULL;

        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -ENOENT);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_ptr_nonnull(strstr(d.messages[0], conf_path));
        diag_done(&d);
}
END_TEST

/* A failed load leaves the caller's Config alone (a bad reload keeps the
 * running config). */
START_TEST(test_failed_load_keeps_old) {
        Config *old;
        Diag d = {};

        write_file(conf_path, "[Pool data]\nMin=1G\n");
        old = load_ok(0);
        Config *c = old;
        write_file(conf_path, "[Pool data]\nMin=1X\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_eq(c, old);
        ck_assert_uint_eq(pool(c, "data")->min.bytes, G);
        diag_done(&d);
        config_free(old);
}
END_TEST

/* ---- every error: file:line, the key, no Config ---- */

START_TEST(test_error_format) {
        Diag d = {};
        Config *c = NULL;
        char want[400];

        write_file(conf_path, "[Pool data]\nMin=5X\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 1);
        snprintf(want, sizeof want, "%s:2: [Pool data] Min=: invalid size \"5X\"", conf_path);
        ck_assert_msg(strncmp(d.messages[0], want, strlen(want)) == 0, "%s", d.messages[0]);
        diag_done(&d);
}
END_TEST

START_TEST(test_error_sections) {
        expect_error_at("[Pol data]\nMin=1G\n", 1, "[Pol data]", "unknown section", NULL);
        expect_error_at("[pool data]\n", 1, "case-sensitive", NULL);
        expect_error_at("[Host extra]\n", 1, "[Host extra]", "no name", NULL);
        expect_error_at("[Pool]\n", 1, "[Pool]", "name is missing", NULL);
        expect_error_at("[Pool a b]\n", 1, "one word", NULL);
        expect_error_at("[Pool data\nMin=1G\n", 1, "']'", NULL);
        expect_error_at("[Pool data] x\n", 1, "after the section header", NULL);
        expect_error_at("Min=1G\n[Pool data]\n", 1, "Min=", "outside of any section", NULL);
        /* the same section twice in one file */
        expect_error_at("[Pool data]\nMin=1G\n[Pool other]\n[Pool data]\n", 4, "[Pool data]", "twice", "line 1",
                        NULL);
        expect_error_at("[Host]\n[Host]\n", 2, "[Host]", "twice", NULL);
        expect_error_at("[Reserve os]\nSize=1G\n[Reserve os]\n", 3, "[Reserve os]", "twice", NULL);
        /* one name for a reserve and a pool */
        expect_error_at("[Reserve data]\nSize=1G\n[Pool data]\n", 3, "[Pool data]", "already used by [Reserve data]",
                        NULL);
        expect_error_at("[Pool data]\n[Reserve data]\nSize=1G\n", 2, "[Reserve data]", "already used by [Pool data]",
                        NULL);
}
END_TEST

START_TEST(test_error_names) {
        expect_error_at("[Pool Data]\n", 1, "invalid name \"Data\"", NULL);
        expect_error_at("[Pool 1data]\n", 1, "invalid name", NULL);
        expect_error_at("[Pool _data]\n", 1, "invalid name", NULL);
        expect_error_at("[Pool da-ta]\n", 1, "invalid name", NULL);
        expect_error_at("[Pool ../etc]\n", 1, "invalid name", NULL);
        expect_error_at("[Pool a/b]\n", 1, "invalid name", NULL);
        expect_error_at("[Reserve os.slice]\nSize=1G\n", 1, "invalid name", NULL);
        /* 33 characters: one too many */
        expect_error_at("[Pool abcdefghijklmnopqrstuvwxyz0123456]\n", 1, "invalid name", NULL);

        ck_assert(pool_name_is_valid("a"));
        ck_assert(pool_name_is_valid("kv_spill"));
        ck_assert(pool_name_is_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
        ck_assert(!pool_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
        ck_assert(!pool_name_is_valid(""));
        ck_assert(!pool_name_is_valid(NULL));
}
END_TEST

START_TEST(test_error_syntax) {
        expect_error_at("[Pool data]\nMin 1G\n", 2, "expected Key=Value", NULL);
        expect_error_at("[Pool data]\nMin: 1G\n", 2, "expected Key=Value", NULL);
        expect_error_at("[Pool data]\n=1G\n", 2, "key is missing", NULL);
        expect_error_at("[Pool data]\nMin ;=1G\n", 2, "expected Key=Value", NULL);
        /* an indented line is a key of its own, not a continuation */
        expect_error_at("[Pool data]\nMin=1G\n  Max=2G\n  Min=3G\n", 4, "Min=", "twice", NULL);
        {
                /* a NUL byte */
                static const char text[] = "[Pool data]\nMin=1G\0junk\n";
                FILE *f = fopen(conf_path, "we");
                ck_assert_ptr_nonnull(f);
                ck_assert_uint_eq(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
                fclose(f);
                Diag d = {};
                Config *c = NULL;
                ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
                ck_assert_ptr_null(c);
                ck_assert_uint_eq(d.n, 1);
                ck_assert_ptr_nonnull(strstr(d.messages[0], "poold.conf:2: "));
                ck_assert_ptr_nonnull(strstr(d.messages[0], "NUL"));
                diag_done(&d);
        }
}
END_TEST

START_TEST(test_error_keys) {
        expect_error_at("[Pool data]\nMinimum=1G\n", 2, "[Pool data] Minimum=", "unknown key", "Min=, Max=", NULL);
        expect_error_at("[Pool data]\nmin=1G\n", 2, "min=", "did you mean Min=", NULL);
        expect_error_at("[Host]\nSize=1G\n", 2, "[Host] Size=", "unknown key", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nWeight=5\n", 3, "[Reserve os] Weight=", "unknown key", NULL);
        /* the same key twice in one section of one file */
        expect_error_at("[Pool data]\nMin=1G\nMax=4G\nMin=2G\n", 4, "[Pool data] Min=", "twice", "line 2", NULL);
        expect_error_at("[Host]\nSlack=1%\nSlack=2%\n", 3, "Slack=", "twice", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nSize=2G\n", 3, "Size=", "twice", NULL);
        /* also when the section header was repeated */
        expect_error_at("[Pool data]\nMin=1G\n[Pool data]\nMin=2G\n", 4, "Min=", "twice", NULL);
        expect_error_at("[Pool data]\nMin=\n", 2, "Min=", "empty value", NULL);
        expect_error_at("[Pool data]\nMin= ; nothing\n", 2, "Min=", "empty value", NULL);
}
END_TEST

START_TEST(test_error_values) {
        /* sizes */
        expect_error_at("[Pool data]\nMin=lots\n", 2, "Min=", "invalid size", NULL);
        expect_error_at("[Pool data]\nMin=-1G\n", 2, "Min=", "invalid size", NULL);
        expect_error_at("[Pool data]\nMin=64GB\n", 2, "Min=", "invalid size", NULL);
        expect_error_at("[Pool data]\nMax=16E\n", 2, "Max=", "too large", NULL);
        expect_error_at("[Pool data]\nMax=99999999999999999999\n", 2, "Max=", "too large", NULL);
        expect_error_at("[Pool data]\nMax=101%\n", 2, "Max=", "at most 100%", NULL);
        expect_error_at("[Pool data]\nMin=infinity\n", 2, "Min=", "infinity", NULL);
        expect_error_at("[Host]\nTotal=50%\n", 2, "[Host] Total=", NULL);
        expect_error_at("[Host]\nTotal=infinity\n", 2, "Total=", NULL);
        expect_error_at("[Host]\nTotal=0\n", 2, "Total=", "cannot be 0", NULL);
        expect_error_at("[Host]\nSlack=infinity\n", 2, "Slack=", NULL);
        expect_error_at("[Host]\nSlack=100.5%\n", 2, "Slack=", "100%", NULL);
        expect_error_at("[Reserve os]\nSize=infinity\n", 2, "[Reserve os] Size=", NULL);
        expect_error_at("[Reserve os]\nSize=1.5\n", 2, "Size=", "invalid size", NULL);
        /* host */
        expect_error_at("[Host]\nCgroupDriver=docker\n", 2, "CgroupDriver=", "systemd", NULL);
        expect_error_at("[Host]\nCgroupRoot=sys/fs/cgroup\n", 2, "CgroupRoot=", "absolute", NULL);
        expect_error_at("[Host]\nCgroupRoot=/sys/../etc\n", 2, "CgroupRoot=", NULL);
        expect_error_at("[Host]\nCgroupRoot=/sys//fs\n", 2, "CgroupRoot=", NULL);
        /* reserves */
        expect_error_at("[Reserve os]\nSize=1G\nUnit=sshd\n", 3, "Unit=", "invalid unit name", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nUnit=multi-user.target\n", 3, "Unit=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nUnit=getty@.service\n", 3, "Unit=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nUnit=a b.service\n", 3, "Unit=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nUnit=../x.service\n", 3, "Unit=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nCgroup=../etc\n", 3, "Cgroup=", "invalid cgroup path", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nCgroup=system.slice/../..\n", 3, "Cgroup=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nCgroup=a//b\n", 3, "Cgroup=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nCgroup=a/\n", 3, "Cgroup=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nCgroup=/\n", 3, "Cgroup=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nCgroup=a/./b\n", 3, "Cgroup=", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nProtect=maybe\n", 3, "Protect=", "yes or no", NULL);
        /* pools */
        expect_error_at("[Pool data]\nWeight=0\n", 2, "Weight=", "1 to 10000", NULL);
        expect_error_at("[Pool data]\nMin=1G\nHugePages=2M\n", 3, "[Pool data] HugePages=", "\"2M\"", "yes or no",
                        NULL);
        expect_error_at("[Pool data]\nWeight=10001\n", 2, "Weight=", NULL);
        expect_error_at("[Pool data]\nWeight=-1\n", 2, "Weight=", NULL);
        expect_error_at("[Pool data]\nWeight=1.5\n", 2, "Weight=", NULL);
        expect_error_at("[Pool data]\nWeight=99999999999999999999999\n", 2, "Weight=", NULL);
        expect_error_at("[Pool data]\nPriority=1001\n", 2, "Priority=", "-1000 to 1000", NULL);
        expect_error_at("[Pool data]\nPriority=-1001\n", 2, "Priority=", NULL);
        expect_error_at("[Pool data]\nPriority=--1\n", 2, "Priority=", NULL);
        expect_error_at("[Pool data]\nKind=pinned\n", 2, "Kind=", "cache, working or fixed", NULL);
        expect_error_at("[Pool data]\nNUMA=bind\n", 2, "NUMA=", "expected local", NULL);
        expect_error_at("[Pool data]\nNUMA=bind:\n", 2, "NUMA=", NULL);
        expect_error_at("[Pool data]\nNUMA=bind:0-\n", 2, "NUMA=", NULL);
        expect_error_at("[Pool data]\nNUMA=bind:3-1\n", 2, "NUMA=", "upwards", NULL);
        expect_error_at("[Pool data]\nNUMA=bind:1024\n", 2, "NUMA=", "1023", NULL);
        expect_error_at("[Pool data]\nNUMA=preferred:0-1\n", 2, "NUMA=", NULL);
        expect_error_at("[Pool data]\nNUMA=everywhere\n", 2, "NUMA=", NULL);
}
END_TEST

START_TEST(test_error_validate) {
        /* Min > Max, both of one kind */
        expect_error_at("[Pool data]\nMin=5G\nMax=4G\n", 2, "[Pool data] Min=", "Min=5G is above Max=4G", "poold.conf:3",
                        NULL);
        expect_error_at("[Pool data]\nMax=10%\nMin=20%\n", 3, "Min=", "Min=20% is above Max=10%", NULL);
        /* fixed pools */
        expect_error_at("[Pool data]\nKind=fixed\nMin=4G\nMax=5G\n", 3, "Min=", "one size", NULL);
        expect_error_at("[Pool data]\nKind=fixed\n", 2, "Kind=", "needs its size", NULL);
        expect_error_at("[Pool data]\nKind=fixed\nMax=infinity\n", 3, "Max=", "infinity", NULL);
        /* unknown NUMA node: the host has 4 (0-3) */
        expect_error_at("[Pool data]\nNUMA=bind:2-4\n", 2, "NUMA=", "node 4 does not exist", "0-3", NULL);
        expect_error_at("[Pool data]\nNUMA=preferred:7\n", 2, "NUMA=", "node 7", NULL);
        expect_error_at("[Pool data]\nNUMA=interleave:0,9\n", 2, "NUMA=", "node 9", NULL);
        /* reserves */
        expect_error_at("[Reserve os]\nProtect=no\n", 1, "[Reserve os] Size=", "missing", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nUnit=a.service\nCgroup=a\n", 4, "Cgroup=", "give one", NULL);
        expect_error_at("[Reserve os]\nSize=1G\nProtect=yes\n", 3, "Protect=", "needs Unit= or Cgroup=", NULL);
}
END_TEST

/* One run reports every error of the file, each at its own line. */
START_TEST(test_every_error_reported) {
        Diag d = {};
        Config *c = NULL;

        write_file(conf_path,
                   "[Host]\n"          /* 1 */
                   "Slack=lots\n"      /* 2 */
                   "[Pool data]\n"     /* 3 */
                   "Min=1X\n"          /* 4 */
                   "Bogus=1\n"         /* 5 */
                   "Weight=0\n"        /* 6 */
                   "[Pol x]\n"         /* 7 */
                   "Min=1G\n"          /* 8: under a bad header: not checked */
                   "[Pool other]\n"    /* 9 */
                   "Min=3G\n"          /* 10 */
                   "Max=2G\n"          /* 11 */
                   "no equals here\n"  /* 12 */
                   "[Reserve os]\n");  /* 13: no Size= */
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        static const unsigned lines[] = { 2, 4, 5, 6, 7, 10, 12, 13 };
        if (d.n != ELEMENTSOF(lines))
                dump_diag(&d);
        ck_assert_uint_eq(d.n, ELEMENTSOF(lines));
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                char where[400];
                bool found = false;
                snprintf(where, sizeof where, "%s:%u: ", conf_path, lines[i]);
                for (size_t k = 0; k < d.n; k++)
                        if (strncmp(d.messages[k], where, strlen(where)) == 0)
                                found = true;
                ck_assert_msg(found, "no error at line %u", lines[i]);
        }
        diag_done(&d);
}
END_TEST

/* ---- long lines: an error with file:line, never cut ---- */

START_TEST(test_long_lines) {
        char *text, *path;
        size_t n;
        Config *c;

        /* "CgroupRoot=" (11) + a 4085-byte path = 4096 bytes: the longest
         * line accepted, read whole (inih's default would cut it at 200). */
        path = malloc(4086);
        ck_assert_ptr_nonnull(path);
        for (n = 0; n < 4085; n++)
                path[n] = n % 200 == 0 ? '/' : 'a';
        path[4085] = '\0';
        ck_assert_int_eq(asprintf(&text, "# %s\n[Host]\nCgroupRoot=%s\n[Pool data]\nMin=1G\n", path, path) > 0, 1);
        write_file(conf_path, text);
        c = load_ok(0);
        ck_assert_str_eq(c->host.cgroup_root, path);
        ck_assert_uint_eq(pool(c, "data")->min_loc.line, 5);
        config_free(c);
        free(text);

        /* one byte more: an error at that line, and the lines after it keep
         * their numbers (the rest is not read as a line of its own) */
        path[4085] = 'b';
        path[4086 - 1] = 'b';
        char *longer = malloc(4087);
        memcpy(longer, path, 4085);
        longer[4085] = 'b';
        longer[4086] = '\0';
        ck_assert_int_eq(asprintf(&text, "[Host]\nCgroupRoot=%s\n[Pool data]\nMin=1X\n", longer) > 0, 1);
        expect_error_at(text, 2, "[Host] CgroupRoot=", "4097 bytes long", "4096", NULL);
        expect_error_at(text, 4, "[Pool data] Min=", NULL);
        free(text);

        /* a long value whose tail looks like a key is not read as one */
        ck_assert_int_eq(asprintf(&text, "[Pool data]\nNUMA=local%0300d\nMin=1G\n", 0) > 0, 1);
        expect_error_at(text, 2, "NUMA=", NULL);
        free(text);

        /* long comments are fine: they never reach inih */
        char *comment = malloc(10001);
        memset(comment, 'x', 10000);
        comment[10000] = '\0';
        ck_assert_int_eq(asprintf(&text, "#%s\n[Pool data]\nMin=1G\n", comment) > 0, 1);
        write_file(conf_path, text);
        c = load_ok(0);
        config_free(c);
        free(text);
        free(comment);
        free(longer);
        free(path);
}
END_TEST

/* ---- drop-ins ---- */

START_TEST(test_dropins) {
        Config *c;
        char link[600];

        write_file(conf_path,
                   "[Host]\nSlack=10%\n"
                   "[Pool data]\nMin=10G\nMax=100G\n"
                   "[Pool work]\nKind=working\n");
        /* bytewise order: 10-a < 20-b < 9-c */
        write_dropin("20-b.conf", "[Pool data]\nMin=20G\n[Pool extra]\nWeight=7\n");
        write_dropin("10-a.conf", "[Pool data]\nMin=15G\nWeight=50\n[Host]\nSlack=5%\n");
        write_dropin("9-c.conf", "[Pool data]\nMin=30G\n");
        write_dropin("README", "this is not a conf file [Pool\n");
        write_dropin(".hidden.conf", "garbage\n");
        write_dropin("99-masked.conf.orig", "garbage\n");
        snprintf(link, sizeof link, "%s.d/50-masked.conf", conf_path);
        ck_assert_int_eq(symlink("/dev/null", link), 0);

        c = load_ok(0);
        const PoolConf *p = pool(c, "data");
        ck_assert_uint_eq(p->min.bytes, 30 * G); /* 9-c.conf is last */
        ck_assert_uint_eq(p->max.bytes, 100 * G);
        ck_assert_uint_eq(p->weight, 50);
        ck_assert_str_eq(p->loc.file, conf_path); /* where the section began */
        ck_assert_ptr_nonnull(strstr(p->min_loc.file, "9-c.conf"));
        ck_assert_uint_eq(p->min_loc.line, 2);
        ck_assert_uint_eq(c->host.slack.permyriad, 500);
        ck_assert_uint_eq(pool(c, "extra")->weight, 7);
        ck_assert_int_eq(pool(c, "work")->kind, POOL_KIND_WORKING);
        ck_assert_uint_eq(c->n_pools, 3);
        ck_assert_uint_eq(c->n_files, 4);
        config_free(c);
}
END_TEST

START_TEST(test_dropin_errors) {
        Diag d = {};
        Config *c = NULL;
        char dir[600];

        /* errors in a drop-in name the drop-in */
        write_file(conf_path, "[Pool data]\nMin=1G\n");
        write_dropin("10-x.conf", "[Pool data]\nMin=2G\nMin=3G\n");
        write_dropin("20-y.conf", "[Reserve data]\nSize=1G\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 2);
        ck_assert_ptr_nonnull(strstr(d.messages[0], "poold.conf.d/10-x.conf:3: [Pool data] Min="));
        ck_assert_ptr_nonnull(strstr(d.messages[1], "poold.conf.d/20-y.conf:1: [Reserve data]"));
        ck_assert_ptr_nonnull(strstr(d.messages[1], "poold.conf:1"));
        diag_done(&d);

        /* a fixed pool whose size is given twice over two files */
        snprintf(dir, sizeof dir, "rm -f %s.d/*", conf_path);
        ck_assert_int_eq(system(dir), 0);
        write_file(conf_path, "[Pool data]\nKind=fixed\nMax=8G\n");
        write_dropin("10-x.conf", "[Pool data]\nMax=9G\n");
        c = load_ok(0);
        ck_assert_uint_eq(config_pool_min(pool(c, "data")).bytes, 9 * G);
        c = config_free(c);
        write_dropin("20-y.conf", "[Pool data]\nMin=2G\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_ptr_nonnull(strstr(d.messages[0], "20-y.conf:2: [Pool data] Min="));
        ck_assert_ptr_nonnull(strstr(d.messages[0], "10-x.conf:2"));
        diag_done(&d);

        /* a directory where a drop-in should be */
        snprintf(dir, sizeof dir, "rm -f %s.d/*.conf", conf_path);
        ck_assert_int_eq(system(dir), 0);
        snprintf(dir, sizeof dir, "%s.d/30-dir.conf", conf_path);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        write_file(conf_path, "[Pool data]\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_ptr_nonnull(strstr(d.messages[0], "30-dir.conf"));
        diag_done(&d);
}
END_TEST

/* ---- [Pressure] ---- */

START_TEST(test_pressure_defaults) {
        Config *c;
        PressureConf d;
        Diag diag = {};

        /* The numbers documented at PressureConf and in poold.conf(5). */
        config_pressure_defaults(&d);
        ck_assert_uint_eq(d.some_stall_usec, 150 * MS);
        ck_assert_uint_eq(d.full_stall_usec, 50 * MS);
        ck_assert_uint_eq(d.window_usec, 1 * SEC);
        ck_assert_int_eq(d.watermark.kind, SIZE_UNSET);
        ck_assert_uint_eq(d.shrink_extra_permyriad, 100);
        ck_assert_uint_eq(d.pressure_step_permyriad, 500);
        ck_assert_uint_eq(d.calm_interval_usec, 1 * SEC);
        ck_assert_uint_eq(d.pressure_interval_usec, 100 * MS);
        ck_assert_uint_eq(d.shrink_deadline_usec, 200 * MS);
        ck_assert_uint_eq(d.shrink_settle_usec, 2 * SEC);
        ck_assert_uint_eq(d.grow_hold_usec, 30 * SEC);
        ck_assert_uint_eq(d.grow_hold_max_usec, 30 * MINUTE);
        ck_assert_uint_eq(d.grow_step_permyriad, 500);
        ck_assert_uint_eq(d.grow_interval_usec, 5 * SEC);
        ck_assert_uint_eq(d.oscillation_window_usec, 5 * MINUTE);
        ck_assert_int_eq(config_pressure_validate(&d, NULL, &diag), 0);
        ck_assert_uint_eq(diag.n, 0);

        /* A config without [Pressure] (or with an empty one) has them. */
        write_file(conf_path, "[Pool data]\n");
        c = load_ok(0);
        ck_assert(memcmp(&c->pressure, &d, sizeof d) == 0);
        for (size_t k = 0; k < _PRESSURE_KEY_MAX; k++) {
                ck_assert_ptr_null(c->pressure_loc[k].file);
                ck_assert_uint_eq(c->pressure_loc[k].line, 0);
        }
        config_free(c);

        write_file(conf_path, "[Pressure]\n[Pool data]\n");
        c = load_ok(0);
        ck_assert(memcmp(&c->pressure, &d, sizeof d) == 0);
        config_free(c);
}
END_TEST

START_TEST(test_pressure_keys) {
        Config *c;

        write_file(conf_path,
                   "[Pool data]\n"
                   "[Pressure]\n"                  /* 2 */
                   "PressureSomeStall=200ms\n"     /* 3 */
                   "PressureFullStall=0.1s\n"      /* 4 */
                   "PressureWindow=2\n"            /* 5: a bare number is seconds */
                   "Watermark=8G\n"                /* 6 */
                   "ShrinkExtra=0.5%\n"            /* 7 */
                   "PressureStep=10%\n"            /* 8 */
                   "CalmInterval=1min 30s\n"       /* 9 */
                   "PressureInterval=50ms\n"       /* 10 */
                   "ShrinkDeadline=500us\n"        /* 11 */
                   "ShrinkSettle=3s\n"             /* 12 */
                   "GrowHold=1min\n"               /* 13 */
                   "GrowHoldMax=1h\n"              /* 14 */
                   "GrowStep=2.5%\n"               /* 15 */
                   "GrowInterval=10s\n"            /* 16 */
                   "OscillationWindow=15min\n");   /* 17 */
        c = load_ok(0);
        const PressureConf *p = &c->pressure;
        ck_assert_uint_eq(p->some_stall_usec, 200 * MS);
        ck_assert_uint_eq(p->full_stall_usec, 100 * MS);
        ck_assert_uint_eq(p->window_usec, 2 * SEC);
        ck_assert_int_eq(p->watermark.kind, SIZE_BYTES);
        ck_assert_uint_eq(p->watermark.bytes, 8 * G);
        ck_assert_uint_eq(p->shrink_extra_permyriad, 50);
        ck_assert_uint_eq(p->pressure_step_permyriad, 1000);
        ck_assert_uint_eq(p->calm_interval_usec, 90 * SEC);
        ck_assert_uint_eq(p->pressure_interval_usec, 50 * MS);
        ck_assert_uint_eq(p->shrink_deadline_usec, 500);
        ck_assert_uint_eq(p->shrink_settle_usec, 3 * SEC);
        ck_assert_uint_eq(p->grow_hold_usec, 1 * MINUTE);
        ck_assert_uint_eq(p->grow_hold_max_usec, 60 * MINUTE);
        ck_assert_uint_eq(p->grow_step_permyriad, 250);
        ck_assert_uint_eq(p->grow_interval_usec, 10 * SEC);
        ck_assert_uint_eq(p->oscillation_window_usec, 15 * MINUTE);
        for (size_t k = 0; k < _PRESSURE_KEY_MAX; k++) {
                ck_assert_str_eq(c->pressure_loc[k].file, conf_path);
                ck_assert_uint_eq(c->pressure_loc[k].line, 3 + k); /* the file is in PressureKey order */
        }
        config_free(c);

        /* a watermark as a percentage of total, and auto back to the slack */
        write_file(conf_path, "[Pressure]\nWatermark=5%\n[Pool data]\n");
        c = load_ok(0);
        ck_assert_int_eq(c->pressure.watermark.kind, SIZE_PERCENT);
        ck_assert_uint_eq(c->pressure.watermark.permyriad, 500);
        config_free(c);
        write_file(conf_path, "[Pressure]\nWatermark=auto\n[Pool data]\n");
        c = load_ok(0);
        ck_assert_int_eq(c->pressure.watermark.kind, SIZE_UNSET);
        ck_assert_uint_eq(c->pressure_loc[PRESSURE_WATERMARK].line, 2);
        config_free(c);

        /* the limits themselves are accepted */
        write_file(conf_path,
                   "[Pressure]\nPressureWindow=10s\nPressureSomeStall=10s\nPressureFullStall=1us\n"
                   "PressureInterval=1s\nCalmInterval=1s\nGrowHold=2h\nGrowHoldMax=2h\nGrowStep=100%\n"
                   "ShrinkExtra=0%\nPressureStep=100%\nWatermark=0\n[Pool data]\n");
        c = load_ok(0);
        ck_assert_uint_eq(c->pressure.window_usec, 10 * SEC);
        ck_assert_uint_eq(c->pressure.full_stall_usec, 1);
        ck_assert_uint_eq(c->pressure.shrink_extra_permyriad, 0);
        ck_assert_uint_eq(c->pressure.grow_step_permyriad, 10000);
        ck_assert_int_eq(c->pressure.watermark.kind, SIZE_BYTES);
        ck_assert_uint_eq(c->pressure.watermark.bytes, 0);
        config_free(c);
}
END_TEST

START_TEST(test_pressure_errors) {
        /* the section */
        expect_error_at("[Pressure x]\n", 1, "[Pressure x]", "[Pressure] takes no name", NULL);
        expect_error_at("[Pressure]\nGrowHold=1s\n[Pressure]\n", 3, "[Pressure]", "twice", "line 1", NULL);
        expect_error_at("[pressure]\n", 1, "case-sensitive", NULL);
        expect_error_at("[Host]\n[Pol x]\n", 2, "expected [Host], [Pressure], [Reserve NAME] or [Pool NAME]", NULL);
        /* keys */
        expect_error_at("[Pressure]\nBogus=1\n", 2, "[Pressure] Bogus=", "unknown key", "PressureSomeStall=",
                        "OscillationWindow=", NULL);
        expect_error_at("[Pressure]\npressurewindow=1s\n", 2, "did you mean PressureWindow=", NULL);
        expect_error_at("[Pressure]\nGrowHold=1s\nGrowHold=2s\n", 3, "[Pressure] GrowHold=", "twice", "line 2",
                        NULL);
        expect_error_at("[Pressure]\nGrowHold=\n", 2, "[Pressure] GrowHold=", "empty value", NULL);
        expect_error_at("[Pressure]\nSlack=5%\n", 2, "[Pressure] Slack=", "unknown key", NULL);

        /* time spans */
        static const char *const bad_spans[] = {
                "fast", "-1s", "1.s", ".5s", "infinity", "1 fortnight", "5 3s", "1s 5", "0.5us", "1x", "1 S",
                "1e3ms", "1,5s",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_spans); i++) {
                char text[200];
                snprintf(text, sizeof text, "[Pool data]\n[Pressure]\nShrinkSettle=%s\n", bad_spans[i]);
                expect_error_at(text, 3, "[Pressure] ShrinkSettle=", "invalid time span", bad_spans[i], NULL);
        }
        expect_error_at("[Pressure]\nGrowHoldMax=18446744073709551616us\n", 2, "GrowHoldMax=", "too long", NULL);
        expect_error_at("[Pressure]\nGrowHoldMax=1000000000w\n", 2, "GrowHoldMax=", "too long", NULL);

        /* percentages */
        expect_error_at("[Pressure]\nShrinkExtra=5\n", 2, "[Pressure] ShrinkExtra=", "expected a percentage", NULL);
        expect_error_at("[Pressure]\nPressureStep=1G\n", 2, "[Pressure] PressureStep=", "expected a percentage",
                        NULL);
        expect_error_at("[Pressure]\nGrowStep=0.125%\n", 2, "[Pressure] GrowStep=", "two decimals", NULL);
        expect_error_at("[Pressure]\nGrowStep=101%\n", 2, "[Pressure] GrowStep=", "at most 100%", NULL);
        expect_error_at("[Pressure]\nGrowStep=0%\n", 2, "[Pressure] GrowStep=", "above 0", NULL);
        expect_error_at("[Pressure]\nGrowStep=infinity\n", 2, "[Pressure] GrowStep=", "expected a percentage",
                        NULL);

        /* the watermark */
        expect_error_at("[Pressure]\nWatermark=infinity\n", 2, "[Pressure] Watermark=", "infinity", NULL);
        expect_error_at("[Pressure]\nWatermark=5X\n", 2, "[Pressure] Watermark=", "invalid size", NULL);
        expect_error_at("[Pressure]\nWatermark=101%\n", 2, "[Pressure] Watermark=", "at most 100%", NULL);

        /* ranges, checked after parsing, still at the key's line */
        expect_error_at("[Pressure]\nPressureWindow=11s\n", 2, "[Pressure] PressureWindow=", "11s",
                        "at most 10s", NULL);
        expect_error_at("[Pressure]\nPressureWindow=0\n", 2, "[Pressure] PressureWindow=", "above 0", NULL);
        static const char *const zero_keys[] = {
                "PressureSomeStall", "PressureFullStall", "CalmInterval", "PressureInterval", "ShrinkDeadline",
                "ShrinkSettle",      "GrowHold",          "GrowInterval", "OscillationWindow",
        };
        for (size_t i = 0; i < ELEMENTSOF(zero_keys); i++) {
                char text[200], key[64];
                snprintf(text, sizeof text, "[Pool data]\n\n[Pressure]\n%s=0ms\n", zero_keys[i]);
                snprintf(key, sizeof key, "[Pressure] %s=", zero_keys[i]);
                expect_error_at(text, 4, key, "above 0", NULL);
        }
        expect_error_at("[Pressure]\nPressureSomeStall=2s\n", 2, "[Pressure] PressureSomeStall=",
                        "2s must not exceed PressureWindow= (1s, the default)", NULL);
        expect_error_at("[Pressure]\nPressureFullStall=300ms\nPressureWindow=200ms\n", 2,
                        "[Pressure] PressureFullStall=", "300ms must not exceed PressureWindow= (200ms, set at",
                        "poold.conf:3)", NULL);
        /* only the window given: the window is what to fix */
        expect_error_at("[Pressure]\nPressureWindow=100ms\n", 2, "[Pressure] PressureWindow=",
                        "100ms must not be below PressureSomeStall= (150ms, the default)", NULL);
        expect_error_at("[Pressure]\nGrowHold=2h\n", 2, "[Pressure] GrowHold=",
                        "2h must not exceed GrowHoldMax= (30min, the default)", NULL);
        expect_error_at("[Pressure]\nGrowHoldMax=10s\n", 2, "[Pressure] GrowHoldMax=",
                        "10s must not be below GrowHold= (30s, the default)", NULL);
}
END_TEST

/* PressureInterval above CalmInterval: refused with the exact message, at
 * whichever of the two keys the file gave. */
START_TEST(test_pressure_interval_above_calm) {
        Diag d = {};
        Config *c = NULL;
        char want[1024];

        write_file(conf_path, "[Pool data]\n[Pressure]\nPressureInterval=2s\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 1);
        snprintf(want, sizeof want,
                 "%s:3: [Pressure] PressureInterval=: 2s must not exceed CalmInterval= (1s, the default)",
                 conf_path);
        ck_assert_str_eq(d.messages[0], want);
        diag_done(&d);

        write_file(conf_path, "[Pressure]\nCalmInterval=50ms\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 1);
        snprintf(want, sizeof want,
                 "%s:2: [Pressure] CalmInterval=: 50ms must not be below PressureInterval= (100ms, the default)",
                 conf_path);
        ck_assert_str_eq(d.messages[0], want);
        diag_done(&d);

        write_file(conf_path, "[Pressure]\nCalmInterval=500ms\nPressureInterval=600ms\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 1);
        snprintf(want, sizeof want,
                 "%s:3: [Pressure] PressureInterval=: 600ms must not exceed CalmInterval= (500ms, set at %s:2)",
                 conf_path, conf_path);
        ck_assert_str_eq(d.messages[0], want);
        diag_done(&d);

        /* equal is fine */
        write_file(conf_path, "[Pressure]\nCalmInterval=500ms\nPressureInterval=500ms\n[Pool data]\n");
        c = load_ok(0);
        config_free(c);

        /* not from a file: no location, the same words (controller_conf_validate()) */
        PressureConf p;
        config_pressure_defaults(&p);
        p.pressure_interval_usec = 2 * SEC;
        ck_assert_int_eq(config_pressure_validate(&p, NULL, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_str_eq(d.messages[0], "[Pressure] PressureInterval=: 2s must not exceed CalmInterval= (1s, the default)");
        diag_done(&d);
        /* without a Diag the verdict is the same */
        ck_assert_int_eq(config_pressure_validate(&p, NULL, NULL), -EINVAL);
}
END_TEST

/* Every problem is reported in one run, each once. */
START_TEST(test_pressure_every_error) {
        Diag d = {};
        Config *c = NULL;

        write_file(conf_path,
                   "[Pressure]\n"
                   "PressureWindow=11s\n"      /* 2: range */
                   "GrowStep=0%\n"             /* 3: range */
                   "ShrinkExtra=x\n"           /* 4: syntax */
                   "CalmInterval=soon\n"       /* 5: syntax */
                   "GrowHold=2h\n"             /* 6: above GrowHoldMax */
                   "[Pool data]\nWeight=0\n"); /* 8: elsewhere */
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        if (d.n != 6)
                dump_diag(&d);
        ck_assert_uint_eq(d.n, 6);
        static const unsigned lines[] = { 2, 3, 4, 5, 6, 8 };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                char where[400];
                bool found = false;
                snprintf(where, sizeof where, "%s:%u: ", conf_path, lines[i]);
                for (size_t j = 0; j < d.n; j++)
                        found = found || strncmp(d.messages[j], where, strlen(where)) == 0;
                ck_assert_msg(found, "no message at line %u", lines[i]);
        }
        diag_done(&d);
}
END_TEST

START_TEST(test_pressure_dropins) {
        Config *c;
        Diag d = {};

        write_file(conf_path,
                   "[Pool data]\n"
                   "[Pressure]\nCalmInterval=2s\nPressureInterval=200ms\nWatermark=4G\nGrowStep=1%\n");
        write_dropin("10-a.conf", "[Pressure]\nCalmInterval=5s\nWatermark=auto\n");
        write_dropin("20-b.conf", "# later wins\n[Pressure]\nGrowStep=3%\n");
        c = load_ok(0);
        ck_assert_uint_eq(c->pressure.calm_interval_usec, 5 * SEC);
        ck_assert_uint_eq(c->pressure.pressure_interval_usec, 200 * MS);
        ck_assert_int_eq(c->pressure.watermark.kind, SIZE_UNSET);
        ck_assert_uint_eq(c->pressure.grow_step_permyriad, 300);
        ck_assert_ptr_nonnull(strstr(c->pressure_loc[PRESSURE_CALM_INTERVAL].file, "10-a.conf"));
        ck_assert_uint_eq(c->pressure_loc[PRESSURE_CALM_INTERVAL].line, 2);
        ck_assert_ptr_nonnull(strstr(c->pressure_loc[PRESSURE_GROW_STEP].file, "20-b.conf"));
        ck_assert_uint_eq(c->pressure_loc[PRESSURE_GROW_STEP].line, 3);
        ck_assert_str_eq(c->pressure_loc[PRESSURE_INTERVAL].file, conf_path);
        ck_assert_uint_eq(c->pressure_loc[PRESSURE_INTERVAL].line, 4);
        c = config_free(c);

        /* a drop-in that breaks the pair: refused, and the message names
         * both files */
        write_dropin("30-c.conf", "[Pressure]\nCalmInterval=100ms\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_ptr_nonnull(strstr(d.messages[0], "poold.conf:4: [Pressure] PressureInterval=: 200ms must not "
                                                    "exceed CalmInterval= (100ms, set at "));
        ck_assert_ptr_nonnull(strstr(d.messages[0], "30-c.conf:2)"));
        diag_done(&d);

        /* a bad value in a drop-in names the drop-in */
        write_dropin("30-c.conf", "[Pressure]\n\nGrowInterval=5 s x\n");
        ck_assert_int_eq(config_load(conf_path, 0, &c, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_ptr_nonnull(strstr(d.messages[0], "30-c.conf:3: [Pressure] GrowInterval=: invalid time span"));
        diag_done(&d);
}
END_TEST

/* ---- the normalized dump reads back to an equal Config ---- */

static Config *parse_text(const char *text) {
        Config *c;
        Diag d = {};
        FILE *f = fmemopen((void *) text, strlen(text), "r");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_new(&c), 0);
        int r = config_parse_stream(c, f, "text", &d);
        if (r == 0)
                r = config_validate(c, 0, &d);
        if (r != 0)
                dump_diag(&d);
        ck_assert_int_eq(r, 0);
        fclose(f);
        diag_done(&d);
        return c;
}

static char *dump(const Config *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        config_dump(c, f);
        fclose(f);
        return buf;
}

static void assert_round_trip(const char *text) {
        Config *a = parse_text(text);
        char *d1 = dump(a);
        Config *b = parse_text(d1);
        char *d2 = dump(b);

        ck_assert_msg(config_equal(a, b), "not equal after the round trip:\n%s", d1);
        ck_assert_str_eq(d1, d2);
        config_free(a);
        config_free(b);
        free(d1);
        free(d2);
}

START_TEST(test_dump_round_trip) {
        assert_round_trip("");
        assert_round_trip("[Pool data]\n");
        assert_round_trip("[Host]\nTotal=512G\nSlack=0\nCgroupDriver=systemd\nCgroupRoot=/sys/fs/cgroup\n"
                          "[Reserve os]\nSize=30G\nCgroup=system.slice\nProtect=yes\n"
                          "[Reserve models]\nSize=6.25%\nUnit=models@vision.service\n"
                          "[Pool transformer]\nMin=110G\nMax=50%\nWeight=300\nPriority=-10\nKind=working\n"
                          "NUMA=bind:0-3,7\n"
                          "[Pool fixed_min]\nKind=fixed\nMin=8G\nNUMA=preferred:1\n"
                          "[Pool fixed_max]\nKind=fixed\nMax=12.5%\n"
                          "[Pool both]\nKind=fixed\nMin=1.5G\nMax=1536M\nNUMA=interleave:0,2\n"
                          "[Pool odd]\nMin=12345\nMax=1.3M\n");
        assert_round_trip("[Pressure]\nPressureSomeStall=1.5ms\nPressureFullStall=999us\nPressureWindow=10s\n"
                          "Watermark=12.5%\nShrinkExtra=0.05%\nPressureStep=0%\nCalmInterval=1min 30.5s\n"
                          "PressureInterval=1s\nShrinkDeadline=2s\nShrinkSettle=1h\nGrowHold=90min\n"
                          "GrowHoldMax=1d\nGrowStep=100%\nGrowInterval=1w\nOscillationWindow=123456789us\n");
        assert_round_trip("[Pressure]\nWatermark=1536M\n");

        /* every default spelled out */
        Config *c = parse_text("[Pool data]\n[Reserve os]\nSize=1G\n");
        char *d = dump(c);
        static const char *const keys[] = {
                "Total=auto\n", "Slack=10%\n", "CgroupDriver=auto\n", "CgroupRoot=auto\n", "Size=1G\n",
                "Protect=no\n", "Min=0\n",     "Max=infinity\n",      "Weight=100\n",      "Priority=0\n",
                "Kind=cache\n", "NUMA=local\n",
                "[Pressure]\n", "PressureSomeStall=150ms\n", "PressureFullStall=50ms\n", "PressureWindow=1s\n",
                "Watermark=auto\n", "ShrinkExtra=1%\n", "PressureStep=5%\n", "CalmInterval=1s\n",
                "PressureInterval=100ms\n", "ShrinkDeadline=200ms\n", "ShrinkSettle=2s\n", "GrowHold=30s\n",
                "GrowHoldMax=30min\n", "GrowStep=5%\n", "GrowInterval=5s\n", "OscillationWindow=5min\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                ck_assert_msg(strstr(d, keys[i]), "no %s in\n%s", keys[i], d);
        free(d);
        config_free(c);

        /* a node list longer than the fixed format buffer is written whole */
        char *text, *list = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&list, &size);
        for (unsigned n = 0; n < 1024; n += 2)
                fprintf(f, "%s%u", n ? "," : "", n);
        fclose(f);
        ck_assert_int_eq(asprintf(&text, "[Pool wide]\nNUMA=bind:%s\n", list) > 0, 1);
        assert_round_trip(text);
        free(text);
        free(list);
}
END_TEST

/* config_equal() itself must see differences, or the round trip proves
 * nothing. */
START_TEST(test_equal_sees_differences) {
        static const char *const base = "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\n"
                                        "NUMA=bind:0\n";
        static const char *const other[] = {
                "[Host]\nSlack=11%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=bind:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=2G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=bind:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\nProtect=yes\nUnit=a.service\n[Pool data]\nMin=1G\n"
                "Weight=5\nNUMA=bind:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=2G\nWeight=5\nNUMA=bind:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=6\nNUMA=bind:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=bind:1\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=interleave:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=bind:0\n"
                "Kind=working\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=bind:0\n"
                "Max=3G\n",
                "[Host]\nSlack=10%\nTotal=1T\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\n"
                "NUMA=bind:0\n",
                "[Host]\nSlack=10%\n[Reserve os]\nSize=1G\n[Pool data]\nMin=1G\nWeight=5\nNUMA=bind:0\n"
                "[Pool more]\n",
                /* one per [Pressure] key (a non-default value) */
                "[Pressure]\nPressureSomeStall=151ms\n", "[Pressure]\nPressureFullStall=51ms\n",
                "[Pressure]\nPressureWindow=2s\n", "[Pressure]\nWatermark=10%\n", "[Pressure]\nWatermark=1G\n",
                "[Pressure]\nShrinkExtra=2%\n", "[Pressure]\nPressureStep=6%\n", "[Pressure]\nCalmInterval=2s\n",
                "[Pressure]\nPressureInterval=101ms\n", "[Pressure]\nShrinkDeadline=201ms\n",
                "[Pressure]\nShrinkSettle=3s\n", "[Pressure]\nGrowHold=31s\n", "[Pressure]\nGrowHoldMax=31min\n",
                "[Pressure]\nGrowStep=6%\n", "[Pressure]\nGrowInterval=6s\n",
                "[Pressure]\nOscillationWindow=6min\n",
        };
        Config *a = parse_text(base), *same = parse_text(base);
        _cleanup_free_ char *with_defaults = NULL;

        /* the defaults written out are the same config */
        ck_assert_int_eq(asprintf(&with_defaults,
                                  "%s[Pressure]\nPressureSomeStall=150ms\nPressureWindow=1000ms\nWatermark=auto\n"
                                  "GrowHoldMax=0.5h\nGrowStep=5%%\n",
                                  base) > 0,
                         1);
        Config *defaults = parse_text(with_defaults);
        ck_assert(config_equal(a, defaults));
        config_free(defaults);

        ck_assert(config_equal(a, same));
        for (size_t i = 0; i < ELEMENTSOF(other); i++) {
                _cleanup_free_ char *text = NULL;
                /* the [Pressure] cases are the base plus that section */
                ck_assert_int_eq(asprintf(&text, "%s%s", strncmp(other[i], "[Pressure]", 10) == 0 ? base : "",
                                          other[i]) > 0,
                                 1);
                Config *b = parse_text(text);
                ck_assert_msg(!config_equal(a, b), "case %zu seen as equal", i);
                config_free(b);
        }
        config_free(a);
        config_free(same);
}
END_TEST

/* The parser as a drop-in stack: config_parse_stream() twice. */
START_TEST(test_parse_stream_twice) {
        Config *c;
        Diag d = {};
        static const char a[] = "[Pool data]\nMin=1G\n", b[] = "[Pool data]\nMin=2G\n[Pool data]\n";
        FILE *f;

        ck_assert_int_eq(config_new(&c), 0);
        f = fmemopen((void *) a, sizeof a - 1, "r");
        ck_assert_int_eq(config_parse_stream(c, f, "a.conf", &d), 0);
        fclose(f);
        f = fmemopen((void *) b, sizeof b - 1, "r");
        ck_assert_int_eq(config_parse_stream(c, f, "b.conf", &d), -EINVAL);
        fclose(f);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_str_eq(d.messages[0], "b.conf:3: [Pool data]: section appears twice in this file (first at line 1)");
        diag_done(&d);
        config_free(c);
}
END_TEST

START_TEST(test_numa_policy) {
        NumaPolicy p;
        char buf[NODESET_FMT_MAX + 16];

        ck_assert_int_eq(numa_policy_parse("local", &p), 0);
        ck_assert_int_eq(p.mode, NUMA_LOCAL);
        ck_assert_str_eq(numa_policy_format(&p, buf), "local");
        ck_assert_int_eq(numa_policy_parse("bind:0-3,7", &p), 0);
        ck_assert_str_eq(numa_policy_format(&p, buf), "bind:0-3,7");
        ck_assert_int_eq(numa_policy_parse("interleave:2,0", &p), 0);
        ck_assert_str_eq(numa_policy_format(&p, buf), "interleave:0,2");
        ck_assert_int_eq(numa_policy_parse("preferred:1", &p), 0);
        ck_assert_str_eq(numa_policy_format(&p, buf), "preferred:1");
        ck_assert_int_eq(numa_policy_parse("preferred:1,2", &p), -EINVAL);
        ck_assert_int_eq(numa_policy_parse("bind:2000", &p), -ERANGE);
        ck_assert_int_eq(numa_policy_parse("Local", &p), -EINVAL);
        ck_assert_int_eq(numa_policy_parse("", &p), -EINVAL);

        ck_assert_int_eq(pool_kind_from_string("working"), POOL_KIND_WORKING);
        ck_assert_int_eq(pool_kind_from_string("Working"), -EINVAL);
        ck_assert_str_eq(pool_kind_to_string(POOL_KIND_FIXED), "fixed");
        ck_assert_ptr_null(pool_kind_to_string(_POOL_KIND_MAX));
        ck_assert_int_eq(cgroup_driver_from_string("cgroupfs"), CGROUP_DRIVER_CGROUPFS);
        ck_assert_int_eq(cgroup_driver_from_string("x"), -EINVAL);
        ck_assert_str_eq(cgroup_driver_to_string(CGROUP_DRIVER_SYSTEMD), "systemd");
}
END_TEST

/* The shipped default and examples load (with 2 NUMA nodes, as the NUMA
 * example needs). */
START_TEST(test_shipped_configs) {
        static const char *const files[] = {
                "/../conf/poold.conf",
                "/../conf/examples/512g-host.conf",
                "/../conf/examples/numa.conf",
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char path[600];
                Diag d = {};
                Config *c = NULL;

                snprintf(path, sizeof path, "%s%s", TEST_SRCDIR, files[i]);
                int r = config_load(path, 2, &c, &d);
                if (r != 0)
                        dump_diag(&d);
                ck_assert_msg(r == 0, "%s: %d", path, r);
                ck_assert_uint_gt(c->n_pools, 0);
                config_free(c);
                diag_done(&d);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("config");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_full);
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_failed_load_keeps_old);
        tcase_add_test(tc, test_error_format);
        tcase_add_test(tc, test_error_sections);
        tcase_add_test(tc, test_error_names);
        tcase_add_test(tc, test_error_syntax);
        tcase_add_test(tc, test_error_keys);
        tcase_add_test(tc, test_error_values);
        tcase_add_test(tc, test_error_validate);
        tcase_add_test(tc, test_every_error_reported);
        tcase_add_test(tc, test_long_lines);
        tcase_add_test(tc, test_dropins);
        tcase_add_test(tc, test_dropin_errors);
        tcase_add_test(tc, test_pressure_defaults);
        tcase_add_test(tc, test_pressure_keys);
        tcase_add_test(tc, test_pressure_errors);
        tcase_add_test(tc, test_pressure_interval_above_calm);
        tcase_add_test(tc, test_pressure_every_error);
        tcase_add_test(tc, test_pressure_dropins);
        tcase_add_test(tc, test_dump_round_trip);
        tcase_add_test(tc, test_equal_sees_differences);
        tcase_add_test(tc, test_parse_stream_twice);
        tcase_add_test(tc, test_numa_policy);
        tcase_add_test(tc, test_shipped_configs);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
