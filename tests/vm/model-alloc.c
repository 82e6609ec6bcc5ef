/* SPDX-License-Identifier: MIT */
/* The "model" of the pressure scenario (tests/vm/scenarios/pressure-shrink.sh):
 * a process that needs a lot of anonymous memory at once, as a model server
 * does when it loads its weights.
 *
 *   model-alloc [--chunk SIZE] [--sample SIZE] [--watch SECONDS] [--mark SIZE]
 *               WATERMARK TOTAL
 *
 * Maps TOTAL of anonymous memory in chunks (default 16M), writing every page
 * (through a volatile pointer: PITFALLS.md, a hog whose writes the compiler
 * drops makes no pressure). Every SAMPLE bytes written (default 1M) it reads
 * MemAvailable from /proc/meminfo, so the moment MemAvailable first drops
 * below WATERMARK is known to within the time one SAMPLE takes to write
 * (printed as sample_max_usec). Once everything is mapped it polls
 * MemAvailable every 5 ms for up to --watch seconds (default 20) until it is
 * back above WATERMARK. --mark: also say when the allocation passes SIZE
 * (e.g. the plan of the reserve the model runs in, which poold measures).
 * Then it holds its memory until SIGTERM or SIGINT and
 * exits (freeing is exiting).
 *
 * Times are CLOCK_MONOTONIC microseconds, the clock poold stamps its events
 * with (sd-event), so the scenario can subtract them. Output, one line per
 * fact, key=value, line-buffered:
 *   model start t=.. avail=.. watermark=.. total=..
 *   model mark t=.. allocated=..                   (allocated >= --mark)
 *   model crossed t=.. prev=.. avail=.. allocated=..
 *                  (MemAvailable < WATERMARK at t, still above at the
 *                  sample before, prev: the crossing lies between them)
 *   model done t=.. allocated=.. min_avail=.. sample_max_usec=..
 *   model above t=.. avail=..                      (back above, after crossing)
 *   model still-below t=.. avail=..                (not back within --watch)
 *   model result crossed=T|- done=T above=T|- min_avail=.. mark=T|- prev=T|-
 *   model exit t=..
 * SIZE: bytes, or with a K, M or G suffix (powers of 1024).
 * Exit: 0 on a signal after holding, 1 on an error, 2 on bad usage. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (UINT64_C(1) << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Bytes, or K/M/G (powers of 1024). Returns 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || s[0] == '-')
                return -EINVAL;
        unsigned shift = 0;
        switch (*end) {
        case '\0': break;
        case 'K': case 'k': shift = 10; end++; break;
        case 'M': case 'm': shift = 20; end++; break;
        case 'G': case 'g': shift = 30; end++; break;
        default: return -EINVAL;
        }
        if (*end != '\0' || v > (UINT64_MAX >> shift))
                return -EINVAL;
        *ret = (uint64_t) v << shift;
        return 0;
}

/* MemAvailable in bytes, read with one pread of an fd kept open (reopening
 * /proc/meminfo per sample would double the cost). Returns 0 or -errno. */
static int read_available(int fd, uint64_t *ret) {
        char buf[4096];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        const char *p = strstr(buf, "\nMemAvailable:");
        if (!p)
                return -ENOENT;
        unsigned long long kib;
        if (sscanf(p + 14, " %llu kB", &kib) != 1)
                return -EBADMSG;
        *ret = (uint64_t) kib * 1024;
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "usage: model-alloc [--chunk SIZE] [--sample SIZE] [--watch SECONDS] [--mark SIZE]\n"
                   "                   WATERMARK TOTAL\n");
}

int main(int argc, char *argv[]) {
        uint64_t chunk = 16 * MIB, sample = MIB, mark = UINT64_MAX, watermark, total;
        double watch = 20;
        int i;

        setvbuf(stdout, NULL, _IOLBF, 0);
        for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                if (i + 1 >= argc) {
                        usage(stderr);
                        return 2;
                }
                if (strcmp(argv[i], "--chunk") == 0) {
                        if (parse_size(argv[++i], &chunk) < 0 || chunk == 0)
                                return usage(stderr), 2;
                } else if (strcmp(argv[i], "--sample") == 0) {
                        if (parse_size(argv[++i], &sample) < 0 || sample == 0)
                                return usage(stderr), 2;
                } else if (strcmp(argv[i], "--mark") == 0) {
                        if (parse_size(argv[++i], &mark) < 0)
                                return usage(stderr), 2;
                } else if (strcmp(argv[i], "--watch") == 0) {
                        char *end;
                        watch = strtod(argv[++i], &end);
                        if (*end != '\0' || watch < 0)
                                return usage(stderr), 2;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (argc - i != 2 || parse_size(argv[i], &watermark) < 0 || parse_size(argv[i + 1], &total) < 0) {
                usage(stderr);
                return 2;
        }

        long page = sysconf(_SC_PAGESIZE);
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "model-alloc: /proc/meminfo: %s\n", strerror(errno));
                return 1;
        }
        uint64_t avail, min_avail;
        int r = read_available(fd, &avail);
        if (r < 0) {
                fprintf(stderr, "model-alloc: MemAvailable: %s\n", strerror(-r));
                return 1;
        }
        min_avail = avail;
        uint64_t t_start = now_usec(), t_cross = 0, t_prev = 0, t_above = 0, t_mark = 0, t_last = t_start,
                 sample_max = 0;
        printf("model start t=%" PRIu64 " avail=%" PRIu64 " watermark=%" PRIu64 " total=%" PRIu64 "\n",
               t_start, avail, watermark, total);

        uint64_t allocated = 0, since_sample = 0;
        while (allocated < total && !stop) {
                uint64_t len = total - allocated < chunk ? total - allocated : chunk;
                volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        fprintf(stderr, "model-alloc: mmap %" PRIu64 " bytes after %" PRIu64 ": %s\n", len,
                                allocated, strerror(errno));
                        return 1;
                }
                for (uint64_t off = 0; off < len && !stop; off += (uint64_t) page) {
                        p[off] = (char) (off >> 12 | 1);
                        allocated += (uint64_t) page;
                        since_sample += (uint64_t) page;
                        if (since_sample < sample)
                                continue;
                        since_sample = 0;
                        uint64_t t = now_usec(), t_before = t_last;
                        if (t - t_last > sample_max)
                                sample_max = t - t_last;
                        t_last = t;
                        if (allocated >= mark && t_mark == 0) {
                                t_mark = t;
                                printf("model mark t=%" PRIu64 " allocated=%" PRIu64 "\n", t, allocated);
                        }
                        if (read_available(fd, &avail) < 0)
                                continue;
                        if (avail < min_avail)
                                min_avail = avail;
                        if (avail < watermark && t_cross == 0) {
                                t_cross = t;
                                t_prev = t_before;
                                printf("model crossed t=%" PRIu64 " prev=%" PRIu64 " avail=%" PRIu64
                                       " allocated=%" PRIu64 "\n",
                                       t, t_prev, avail, allocated);
                        } else if (avail >= watermark && t_cross != 0 && t_above == 0) {
                                t_above = t;
                                printf("model above t=%" PRIu64 " avail=%" PRIu64 "\n", t, avail);
                        }
                }
        }
        uint64_t t_done = now_usec();
        printf("model done t=%" PRIu64 " allocated=%" PRIu64 " min_avail=%" PRIu64 " sample_max_usec=%" PRIu64
               "\n", t_done, allocated, min_avail, sample_max);

        /* Still below (or crossed only now): wait for the pools to give
         * the memory back, polling every 5 ms. */
        if (read_available(fd, &avail) == 0 && avail < watermark && t_cross == 0) {
                t_cross = t_done;
                t_prev = t_last;
                printf("model crossed t=%" PRIu64 " prev=%" PRIu64 " avail=%" PRIu64 " allocated=%" PRIu64 "\n",
                       t_done, t_prev, avail, allocated);
        }
        if (t_cross != 0 && t_above == 0) {
                uint64_t deadline = t_done + (uint64_t) (watch * 1e6);
                for (;;) {
                        uint64_t t = now_usec();
                        if (read_available(fd, &avail) == 0) {
                                if (avail < min_avail)
                                        min_avail = avail;
                                if (avail >= watermark) {
                                        t_above = t;
                                        printf("model above t=%" PRIu64 " avail=%" PRIu64 "\n", t, avail);
                                        break;
                                }
                        }
                        if (t >= deadline || stop) {
                                printf("model still-below t=%" PRIu64 " avail=%" PRIu64 "\n", t, avail);
                                break;
                        }
                        nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
                }
        }
        char cross_s[32] = "-", above_s[32] = "-", mark_s[32] = "-", prev_s[32] = "-";
        if (t_cross) {
                snprintf(cross_s, sizeof cross_s, "%" PRIu64, t_cross);
                snprintf(prev_s, sizeof prev_s, "%" PRIu64, t_prev);
        }
        if (t_above)
                snprintf(above_s, sizeof above_s, "%" PRIu64, t_above);
        if (t_mark)
                snprintf(mark_s, sizeof mark_s, "%" PRIu64, t_mark);
        printf("model result crossed=%s done=%" PRIu64 " above=%s min_avail=%" PRIu64 " mark=%s prev=%s\n",
               cross_s, t_done, above_s, min_avail, mark_s, prev_s);

        /* A sleep, not pause(): a signal between the test and pause() would
         * be waited for forever. */
        while (!stop)
                nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
        printf("model exit t=%" PRIu64 "\n", now_usec());
        return 0;
}
