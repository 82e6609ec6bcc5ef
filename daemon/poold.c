/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <link.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "checkcmd.h"
#include "control.h"
#include "log.h"
#include "manager.h"

/* Everything the command line sets; main() acts on it after parsing, so a
 * new option is one field, one getopt case and one line of --help. */
typedef struct Args {
        const char *config_path; /* NULL: POOLD_CONFIG_PATH */
        bool check_config;
        bool json;
        bool quiet;
        const char *socket_path; /* NULL: the default (or socket activation) */
} Args;

static void help(FILE *out) {
        fprintf(out,
                "Usage: poold [OPTIONS]\n"
                "\n"
                "Host-RAM pool manager.\n"
                "\n"
                "  -c, --config FILE   configuration file (default: %s)\n"
                "      --check-config  check the configuration, print it normalized with its\n"
                "                      budget and exit: 0 valid, 1 invalid, 2 usage\n"
                "      --json          with --check-config: one JSON document\n"
                "  -q, --quiet         with --check-config: print errors only (for ExecStartPre=)\n"
                "      --socket PATH   control socket (default: %s)\n"
                "  -h, --help          show this help\n"
                "      --version       show the version\n"
                "\n"
                "Without --check-config, runs the daemon in the foreground (SIGHUP reloads,\n"
                "SIGTERM stops and leaves the pools' limits in force).\n"
                "\n"
                "See poold(8).\n",
                POOLD_CONFIG_PATH, CONTROL_SOCKET_PATH);
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version), or
 * -EINVAL after printing what is wrong with the command line. */
static int parse_argv(int argc, char *argv[], Args *args) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CHECK_CONFIG,
                ARG_JSON,
                ARG_SOCKET,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "json", no_argument, NULL, ARG_JSON },
                { "quiet", no_argument, NULL, 'q' },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:qh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        args->config_path = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        args->check_config = true;
                        break;
                case ARG_JSON:
                        args->json = true;
                        break;
                case 'q':
                        args->quiet = true;
                        break;
                case ARG_SOCKET:
                        args->socket_path = optarg;
                        break;
                case 'h':
                        help(stdout);
                        return 0;
                case ARG_VERSION:
                        printf("poold %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        /* getopt has printed what is wrong. */
                        return -EINVAL;
                }

        if (optind < argc) {
                fprintf(stderr, "poold: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if ((args->json || args->quiet) && !args->check_config) {
                fprintf(stderr, "poold: --%s needs --check-config\n", args->json ? "json" : "quiet");
                return -EINVAL;
        }
        if (args->json && args->quiet) {
                fprintf(stderr, "poold: --json and --quiet exclude each other\n");
                return -EINVAL;
        }
        return 1;
}

static bool page_is_zero(const void *page, size_t size) {
        const uint64_t *w = page;
        for (size_t i = 0; i < size / sizeof *w; i++)
                if (w[i] != 0)
                        return false;
        return true;
}

/* Gives the whole pages of [START, START + SIZE) that hold only zeros back to
 * the kernel (MADV_DONTNEED: a private page reads as zeros again, and is
 * mapped anew only when written). poold is single-threaded, so nothing
 * writes a page between the check and the madvise. Returns the bytes given
 * back. */
static size_t release_zero_pages(void *start, size_t size) {
        const uintptr_t ps = (uintptr_t) sysconf(_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t) start + ps - 1) & ~(ps - 1);
        const uintptr_t end = ((uintptr_t) start + size) & ~(ps - 1);
        uintptr_t run = 0; /* start of the current run of zero pages, 0: none */
        size_t released = 0;

        for (; a <= end; a += ps) {
                bool zero = a < end && page_is_zero((const void *) a, ps);
                if (zero && !run)
                        run = a;
                else if (!zero && run) {
                        if (madvise((void *) run, a - run, MADV_DONTNEED) == 0)
                                released += a - run;
                        run = 0;
                }
        }
        return released;
}

/* Memory poold needed only to start. RSS of an idle poold on
 * conf/poold.conf was 4232 kB, 804 kB of it private dirty pages of one
 * table in libcgroup's .bss: libcgroup 2.0.2's cgroup_init() clears
 * cg_mount_table, 100 controller slots of two 4 KiB path buffers each
 * (821,824 bytes), of which a v1 host fills a dozen; the zero pages go back
 * here. Then malloc_trim() returns the heap the config, budget and first
 * stats read used. */
static void release_startup_memory(void) {
        /* The table is an exported symbol (cg_mount_table@@CGROUP_2.0); its
         * size comes from the symbol, so another libcgroup layout is
         * handled, and a libcgroup without it is left alone. */
        void *table = dlsym(RTLD_DEFAULT, "cg_mount_table");
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        if (table && dladdr1(table, &info, (void **) &sym, RTLD_DL_SYMENT) != 0 && sym && sym->st_size > 0) {
                size_t n = release_zero_pages(table, sym->st_size);
                log_debug("released %zu KiB of zero pages in libcgroup's cg_mount_table (%zu KiB)", n / 1024,
                          (size_t) sym->st_size / 1024);
        }
        (void) malloc_trim(0);
}

/* Transient work leaves free pages inside glibc's heap that free() does not
 * give back, because a longer-lived block above them pins the top: with 64
 * pools, 20 status requests (each builds ~370 KiB of JSON objects) left the
 * heap at 476 kB resident, 196 kB after malloc_trim(0), which also returns
 * free pages below the top. So after the loop has handled something, trim
 * when the heap holds at least TRIM_FREE_MIN free, at most every
 * TRIM_INTERVAL_USEC (a trim of a mostly trimmed heap is a few madvise calls). */
#define TRIM_FREE_MIN (128u * 1024u)
#define TRIM_INTERVAL_USEC UINT64_C(5000000)

static int on_post_trim(sd_event_source *s, void *userdata) {
        uint64_t *last = userdata, now;

        if (sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now) < 0 ||
            now - *last < TRIM_INTERVAL_USEC)
                return 0;
        struct mallinfo2 mi = mallinfo2();
        if (mi.fordblks < TRIM_FREE_MIN)
                return 0;
        *last = now;
        (void) malloc_trim(0);
        return 0;
}

int main(int argc, char *argv[]) {
        Args args = {};

        log_set_ident("poold");

        int r = parse_argv(argc, argv, &args);
        if (r <= 0) {
                if (r < 0)
                        fprintf(stderr, "Try 'poold --help'.\n");
                return r < 0 ? EXIT_USAGE : 0;
        }

        if (args.check_config) {
                CheckOptions o = {
                        .config_path = args.config_path,
                        .json = args.json,
                        .quiet = args.quiet,
                        /* Errors at error level in the journal (ExecStartPre=),
                         * as log.c marks its own lines. */
                        .error_prefix = isatty(STDERR_FILENO) ? NULL : "<3>",
                };
                return checkcmd_run(&o, stdout, stderr);
        }

        ManagerOptions mo = {
                .config_path = args.config_path,
                .socket_path = args.socket_path,
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        r = manager_new(&mo, &m);
        if (r < 0) {
                log_error_errno(r, "cannot start");
                return EXIT_FAILURE;
        }
        r = manager_start(m);
        if (r < 0) {
                /* manager_start() has said why. */
                (void) sd_notifyf(false, "STATUS=failed to start: %s\nERRNO=%d", strerror(-r), -r);
                return EXIT_FAILURE;
        }
        release_startup_memory();
        static uint64_t last_trim;
        r = sd_event_add_post(manager_get_event(m), NULL, on_post_trim, &last_trim);
        if (r < 0)
                log_warning_errno(r, "cannot set up heap trimming, ignoring");
        r = sd_event_loop(manager_get_event(m));
        if (r < 0) {
                log_error_errno(r, "event loop failed");
                return EXIT_FAILURE;
        }
        return 0;
}
