/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "psi.h"

struct PsiTrigger {
        int fd;
        PsiKind kind;
        PsiWindow requested;
        PsiWindow used;
};

static const char *const psi_kind_table[_PSI_KIND_MAX] = {
        [PSI_SOME] = "some",
        [PSI_FULL] = "full",
};

const char *psi_kind_to_string(PsiKind k) {
        if ((unsigned) k >= _PSI_KIND_MAX)
                return NULL;
        return psi_kind_table[k];
}

int psi_read(const char *path, PsiStats *ret) {
        /* Two lines of at most ~90 bytes each; 4 KiB leaves room and
         * catches a wrong path pointing at something big. */
        char buf[4096];
        size_t n = 0;
        _cleanup_close_ int fd = -1;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        for (;;) {
                if (n == sizeof buf - 1)
                        return -EFBIG;
                ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        if (strlen(buf) != n) /* an embedded NUL */
                return -EBADMSG;
        return psi_parse(buf, ret);
}

static uint64_t scale_stall(uint64_t stall, uint64_t from, uint64_t to) {
        /* Both windows are at most 10 s = 1e7 us, so the product fits. */
        uint64_t s = stall * to / from;
        return MAX(s, UINT64_C(1));
}

int psi_window_candidates(uint64_t stall_usec, uint64_t window_usec,
                          PsiWindow ret[static PSI_WINDOW_CANDIDATES_MAX]) {
        int n = 0;

        if (window_usec == 0 || window_usec > PSI_WINDOW_MAX_USEC)
                return -EINVAL;
        if (stall_usec == 0 || stall_usec > window_usec)
                return -EINVAL;

        ret[n++] = (PsiWindow) { stall_usec, window_usec };
        if (window_usec < PSI_WINDOW_MIN_OLD_USEC)
                ret[n++] = (PsiWindow) {
                        scale_stall(stall_usec, window_usec, PSI_WINDOW_MIN_OLD_USEC),
                        PSI_WINDOW_MIN_OLD_USEC,
                };
        if (window_usec % PSI_WINDOW_UNPRIV_USEC != 0) {
                uint64_t w = (window_usec / PSI_WINDOW_UNPRIV_USEC + 1) * PSI_WINDOW_UNPRIV_USEC;
                /* 10 s is itself a multiple of 2 s, so w never passes it. */
                ret[n++] = (PsiWindow) { scale_stall(stall_usec, window_usec, w), w };
        }
        return n;
}

/* Registers one trigger on a fresh fd. A fresh open per attempt keeps a
 * refused write from leaving anything behind on the fd we keep. */
static int trigger_try(const char *path, PsiKind kind, const PsiWindow *w, int *ret_fd) {
        char buf[64];
        _cleanup_close_ int fd = -1;

        int k = snprintf(buf, sizeof buf, "%s %" PRIu64 " %" PRIu64, psi_kind_to_string(kind),
                         w->stall_usec, w->window_usec);
        if (k < 0 || (size_t) k >= sizeof buf)
                return -EINVAL;

        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* psi.rst writes the trailing NUL too; the kernel copies at most
         * 127 bytes and parses up to the NUL. */
        ssize_t n = write(fd, buf, (size_t) k + 1);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != (size_t) k + 1)
                return -EIO;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int psi_trigger_open(const char *path, PsiKind kind, uint64_t stall_usec, uint64_t window_usec,
                     PsiTrigger **ret) {
        PsiWindow cand[PSI_WINDOW_CANDIDATES_MAX];
        int n, r = -EINVAL, fd = -1;

        if ((unsigned) kind >= _PSI_KIND_MAX)
                return -EINVAL;
        n = psi_window_candidates(stall_usec, window_usec, cand);
        if (n < 0)
                return n;

        for (int i = 0; i < n; i++) {
                r = trigger_try(path, kind, &cand[i], &fd);
                if (r >= 0) {
                        PsiTrigger *t = malloc(sizeof *t);
                        if (!t) {
                                close(fd);
                                return -ENOMEM;
                        }
                        *t = (PsiTrigger) {
                                .fd = fd,
                                .kind = kind,
                                .requested = cand[0],
                                .used = cand[i],
                        };
                        *ret = t;
                        return 0;
                }
                log_debug("%s: trigger \"%s %" PRIu64 " %" PRIu64 "\" refused: %s", path,
                          psi_kind_to_string(kind), cand[i].stall_usec, cand[i].window_usec,
                          strerror(-r));
                /* Only EINVAL means "this window": anything else (no file,
                 * no permission, PSI off) fails every window alike. */
                if (r != -EINVAL)
                        return r;
        }
        return r;
}

PsiTrigger *psi_trigger_free(PsiTrigger *t) {
        if (!t)
                return NULL;
        if (t->fd >= 0)
                close(t->fd);
        free(t);
        return NULL;
}

int psi_trigger_fd(const PsiTrigger *t) {
        return t->fd;
}

PsiKind psi_trigger_kind(const PsiTrigger *t) {
        return t->kind;
}

PsiWindow psi_trigger_window(const PsiTrigger *t) {
        return t->used;
}

PsiWindow psi_trigger_requested(const PsiTrigger *t) {
        return t->requested;
}

bool psi_trigger_fell_back(const PsiTrigger *t) {
        return t->used.window_usec != t->requested.window_usec ||
               t->used.stall_usec != t->requested.stall_usec;
}

int psi_trigger_poll(PsiTrigger *t, int timeout_msec) {
        struct pollfd p = { .fd = t->fd, .events = POLLPRI };

        for (;;) {
                int r = poll(&p, 1, timeout_msec);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (r == 0)
                        return 0;
                break;
        }
        /* psi.rst: POLLERR means "event source is gone". */
        if (p.revents & (POLLERR | POLLNVAL))
                return -ENODEV;
        if (p.revents & POLLPRI)
                return 1;
        return -EIO;
}
