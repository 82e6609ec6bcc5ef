/* SPDX-License-Identifier: MIT */
/* psi-tool: drives policy/psi.c from scripts (the VM scenario
 * tests/vm/scenarios/psi-trigger.sh). Not installed.
 *
 *   psi-tool read PATH
 *       parses a pressure file with psi_read() and prints its fields.
 *   psi-tool wait TIMEOUT_MS READY_FILE SPEC...
 *       SPEC is PATH:some|full:STALL_US:WINDOW_US. Opens every trigger with
 *       psi_trigger_open(), prints the window each one got, creates
 *       READY_FILE (so a script knows the triggers are armed), then waits
 *       until each has fired once or TIMEOUT_MS passed. Prints one line per
 *       firing with CLOCK_REALTIME in ns (comparable with `date +%s%N`).
 *       Exits 0 if all fired, 1 on timeout, 2 on errors. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "psi.h"

#define SPECS_MAX 16

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

static uint64_t now_ns(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmd_read(const char *path) {
        PsiStats st;
        int r = psi_read(path, &st);

        if (r < 0) {
                fprintf(stderr, "psi-tool: %s: %s\n", path, strerror(-r));
                return 2;
        }
        printf("%s: some avg10=%u avg60=%u avg300=%u total=%" PRIu64 "\n", path, st.some.avg10, st.some.avg60,
               st.some.avg300, st.some.total_usec);
        if (st.has_full)
                printf("%s: full avg10=%u avg60=%u avg300=%u total=%" PRIu64 "\n", path, st.full.avg10,
                       st.full.avg60, st.full.avg300, st.full.total_usec);
        return 0;
}

/* PATH:KIND:STALL:WINDOW; PATH may itself hold no ':'. */
static int parse_spec(char *spec, char **ret_path, PsiKind *ret_kind, uint64_t *ret_stall, uint64_t *ret_window) {
        char *f[4];
        char *p = spec;

        for (size_t i = 0; i < 4; i++) {
                f[i] = p;
                p = strchr(p, ':');
                if (i < 3) {
                        if (!p)
                                return -EINVAL;
                        *p++ = '\0';
                } else if (p)
                        return -EINVAL;
        }
        if (strcmp(f[1], "some") == 0)
                *ret_kind = PSI_SOME;
        else if (strcmp(f[1], "full") == 0)
                *ret_kind = PSI_FULL;
        else
                return -EINVAL;
        if (parse_u64(f[2], ret_stall) < 0 || parse_u64(f[3], ret_window) < 0)
                return -EINVAL;
        *ret_path = f[0];
        return 0;
}

static int cmd_wait(uint64_t timeout_ms, const char *ready, int n, char **specs) {
        PsiTrigger *t[SPECS_MAX] = {};
        const char *paths[SPECS_MAX];
        bool fired[SPECS_MAX] = {};
        int rc = 2, left = n;

        if (n > SPECS_MAX) {
                fprintf(stderr, "psi-tool: at most %d triggers\n", SPECS_MAX);
                return 2;
        }
        for (int i = 0; i < n; i++) {
                char *path;
                PsiKind kind;
                uint64_t stall, window;

                if (parse_spec(specs[i], &path, &kind, &stall, &window) < 0) {
                        fprintf(stderr, "psi-tool: bad trigger spec (PATH:some|full:STALL_US:WINDOW_US)\n");
                        goto out;
                }
                int r = psi_trigger_open(path, kind, stall, window, &t[i]);
                if (r < 0) {
                        fprintf(stderr, "psi-tool: %s: \"%s %" PRIu64 " %" PRIu64 "\": %s\n", path,
                                psi_kind_to_string(kind), stall, window, strerror(-r));
                        goto out;
                }
                paths[i] = path;
                PsiWindow w = psi_trigger_window(t[i]);
                printf("armed %d %s %s %" PRIu64 " %" PRIu64 " %s\n", i, path, psi_kind_to_string(kind),
                       w.stall_usec, w.window_usec, psi_trigger_fell_back(t[i]) ? "fallback" : "as-asked");
        }
        fflush(stdout);

        int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                fprintf(stderr, "psi-tool: %s: %m\n", ready);
                goto out;
        }
        close(fd);

        uint64_t deadline = now_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000u;
        while (left > 0) {
                struct pollfd pfd[SPECS_MAX];
                int map[SPECS_MAX], m = 0;
                uint64_t now = now_ns(CLOCK_MONOTONIC);

                if (now >= deadline) {
                        rc = 1;
                        printf("timeout: %d trigger(s) did not fire\n", left);
                        goto out;
                }
                for (int i = 0; i < n; i++)
                        if (!fired[i]) {
                                pfd[m] = (struct pollfd) { .fd = psi_trigger_fd(t[i]), .events = POLLPRI };
                                map[m++] = i;
                        }
                int r = poll(pfd, (nfds_t) m, (int) ((deadline - now) / 1000000u) + 1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "psi-tool: poll: %m\n");
                        goto out;
                }
                for (int k = 0; k < m; k++) {
                        if (pfd[k].revents & (POLLERR | POLLNVAL)) {
                                fprintf(stderr, "psi-tool: %s: event source gone\n", paths[map[k]]);
                                goto out;
                        }
                        if (pfd[k].revents & POLLPRI) {
                                fired[map[k]] = true;
                                left--;
                                printf("fired %d %s %s %" PRIu64 "\n", map[k], paths[map[k]],
                                       psi_kind_to_string(psi_trigger_kind(t[map[k]])), now_ns(CLOCK_REALTIME));
                                fflush(stdout);
                        }
                }
        }
        rc = 0;
out:
        for (int i = 0; i < n; i++)
                psi_trigger_free(t[i]);
        return rc;
}

int main(int argc, char **argv) {
        uint64_t timeout;

        if (argc == 3 && strcmp(argv[1], "read") == 0)
                return cmd_read(argv[2]);
        if (argc >= 5 && strcmp(argv[1], "wait") == 0 && parse_u64(argv[2], &timeout) == 0)
                return cmd_wait(timeout, argv[3], argc - 4, argv + 4);
        fprintf(stderr, "usage: psi-tool read PATH\n"
                        "       psi-tool wait TIMEOUT_MS READY_FILE PATH:some|full:STALL_US:WINDOW_US...\n");
        return 2;
}
