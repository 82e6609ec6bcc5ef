/* SPDX-License-Identifier: MIT */
/* libpoold-tool: a libpoold client for the host tests
 * (tests/host/libpoold-poold.sh), linked against libpoold.so like an
 * application and using only <poold.h>.
 *
 *   libpoold-tool [--socket PATH] hold POOL MIB SECONDS
 *       Opens POOL through poold, allocates MIB MiB in 1 MiB blocks with
 *       pool_malloc() (each written, so it is resident), registers a shrink
 *       callback that frees blocks, then serves pool_get_fd()/pool_poll()
 *       for SECONDS (or until SIGTERM/SIGINT). Prints a line after the
 *       allocation ("ready") and after every shrink ("shrunk").
 *   libpoold-tool [--socket PATH] fill-until-enomem POOL
 *       Allocates 1 MiB blocks (written) until pool_malloc() fails; prints
 *       the bytes reached and the errno. Exits 0 if the failure was ENOMEM.
 *
 * Lines are "EVENT key=value ...", one per line, flushed: pid, blocks,
 * allocated (bytes in blocks held), rss (VmRSS, bytes), shrinks (pool_poll()
 * calls that shrank), callbacks (shrink callback calls), freed (bytes the
 * callback freed, summed), charged, charged_self, target, max (pool_stats),
 * arena_allocated, arena_active, arena_resident, anon_huge (AnonHugePages of
 * the process, bytes). */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poold.h"

#define BLOCK_SIZE ((size_t) 1 << 20)

typedef struct Holder {
        void **blocks;
        size_t n_blocks;
        size_t n_allocated;
        uint64_t callbacks;
        uint64_t freed;
        uint64_t shrinks;
} Holder;

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

/* The "KEY: N kB" line of PATH (a /proc file), in bytes; 0 if missing. */
static uint64_t proc_kb_field(const char *path, const char *key) {
        FILE *f = fopen(path, "re");
        char line[256];
        size_t n = strlen(key);
        uint64_t kb = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, n) == 0 && line[n] == ':') {
                        kb = strtoull(line + n + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return kb * 1024;
}

static uint64_t rss_bytes(void) {
        return proc_kb_field("/proc/self/status", "VmRSS");
}

/* AnonHugePages of this process, bytes. */
static uint64_t anon_huge_bytes(void) {
        return proc_kb_field("/proc/self/smaps_rollup", "AnonHugePages");
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void report(const char *event, Pool *p, const Holder *h) {
        PoolStats s = {};
        int r = pool_stats(p, &s);
        printf("%s pid=%d blocks=%zu allocated=%zu rss=%" PRIu64 " shrinks=%" PRIu64 " callbacks=%" PRIu64
               " freed=%" PRIu64 " charged=%" PRIu64 " charged_self=%" PRIu64 " target=%" PRIu64 " max=%" PRIu64
               " arena_allocated=%" PRIu64 " arena_active=%" PRIu64 " arena_resident=%" PRIu64
               " anon_huge=%" PRIu64 " stats_error=%d\n",
               event, (int) getpid(), h->n_blocks, h->n_blocks * BLOCK_SIZE, rss_bytes(), h->shrinks, h->callbacks,
               h->freed, s.charged, s.charged_self, s.target, s.max, s.allocated, s.active, s.resident,
               anon_huge_bytes(), r);
        fflush(stdout);
}

/* Frees the newest blocks until BYTES are freed or none are left. */
static uint64_t shrink_cb(Pool *p, uint64_t bytes, void *userdata) {
        Holder *h = userdata;
        uint64_t freed = 0;

        h->callbacks++;
        while (freed < bytes && h->n_blocks > 0) {
                void *b = h->blocks[--h->n_blocks];
                freed += pool_usable_size(p, b);
                pool_free(p, b);
        }
        h->freed += freed;
        return freed;
}

static int open_pool(const char *name, const char *socket_path, Pool **ret) {
        PoolOpenOptions opts = { .socket_path = socket_path };
        int r = pool_open(name, &opts, ret);
        if (r < 0)
                fprintf(stderr, "pool_open(%s): %s\n", name, strerror(-r));
        return r;
}

static int cmd_hold(const char *name, const char *socket_path, unsigned long mib, unsigned long seconds) {
        Holder h = {};
        Pool *p;

        if (open_pool(name, socket_path, &p) < 0)
                return 1;
        h.n_allocated = mib;
        h.blocks = calloc(mib ? mib : 1, sizeof *h.blocks);
        if (!h.blocks || pool_on_shrink(p, shrink_cb, &h) < 0) {
                fprintf(stderr, "out of memory\n");
                pool_close(p);
                return 1;
        }
        for (unsigned long i = 0; i < mib; i++) {
                void *b = pool_malloc(p, BLOCK_SIZE);
                if (!b) {
                        printf("alloc_failed errno=%s blocks=%zu\n", errno == ENOMEM ? "ENOMEM" : strerror(errno),
                               h.n_blocks);
                        break;
                }
                memset(b, 0x5a, BLOCK_SIZE);
                h.blocks[h.n_blocks++] = b;
        }
        /* Publishes this process's arena figures (budget page slot). */
        (void) pool_poll(p);
        report("ready", p, &h);

        struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
        uint64_t end = now_ms() + (uint64_t) seconds * 1000;
        while (!stop && now_ms() < end) {
                (void) poll(&pfd, 1, 200);
                int r = pool_poll(p);
                if (r > 0) {
                        h.shrinks++;
                        report("shrunk", p, &h);
                } else if (r < 0)
                        printf("poll_error error=%s\n", strerror(-r));
        }
        report("exit", p, &h);
        for (size_t i = 0; i < h.n_blocks; i++)
                pool_free(p, h.blocks[i]);
        free(h.blocks);
        pool_close(p);
        return 0;
}

static int cmd_fill(const char *name, const char *socket_path) {
        Pool *p;
        size_t n = 0, cap = 0;
        void **blocks = NULL;
        int err = 0;

        if (open_pool(name, socket_path, &p) < 0)
                return 1;
        for (;;) {
                if (n == cap) {
                        size_t c = cap ? cap * 2 : 256;
                        void **a = realloc(blocks, c * sizeof *a);
                        if (!a) {
                                err = errno;
                                break;
                        }
                        blocks = a;
                        cap = c;
                }
                errno = 0;
                void *b = pool_malloc(p, BLOCK_SIZE);
                if (!b) {
                        err = errno;
                        break;
                }
                memset(b, 0x5a, BLOCK_SIZE);
                blocks[n++] = b;
        }
        PoolStats s = {};
        (void) pool_stats(p, &s);
        printf("enomem pid=%d reached=%zu errno=%s charged=%" PRIu64 " max=%" PRIu64 " commit_failures=%" PRIu64
               " rss=%" PRIu64 "\n",
               (int) getpid(), n * BLOCK_SIZE, err == ENOMEM ? "ENOMEM" : strerror(err), s.charged, s.max,
               s.commit_failures, rss_bytes());
        fflush(stdout);
        for (size_t i = 0; i < n; i++)
                pool_free(p, blocks[i]);
        free(blocks);
        pool_close(p);
        return err == ENOMEM ? 0 : 1;
}

static int usage(void) {
        fprintf(stderr, "usage: libpoold-tool [--socket PATH] hold POOL MIB SECONDS\n"
                        "       libpoold-tool [--socket PATH] fill-until-enomem POOL\n");
        return 2;
}

int main(int argc, char *argv[]) {
        const char *socket_path = NULL;
        int i = 1;

        if (argc > 2 && strcmp(argv[1], "--socket") == 0) {
                socket_path = argv[2];
                i = 3;
        }
        if (argc - i < 2)
                return usage();

        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        const char *cmd = argv[i], *pool = argv[i + 1];
        if (strcmp(cmd, "hold") == 0 && argc - i == 4) {
                char *e1, *e2;
                unsigned long mib = strtoul(argv[i + 2], &e1, 10);
                unsigned long secs = strtoul(argv[i + 3], &e2, 10);
                if (*e1 || *e2 || mib > (1UL << 20))
                        return usage();
                return cmd_hold(pool, socket_path, mib, secs);
        }
        if (strcmp(cmd, "fill-until-enomem") == 0 && argc - i == 2)
                return cmd_fill(pool, socket_path);
        return usage();
}
