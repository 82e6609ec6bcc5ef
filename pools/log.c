/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int log_max_level = LOG_INFO;
static int log_prefix_mode = -1;
static const char *log_ident;

void log_set_max_level(int level) {
        if (level < LOG_EMERG)
                level = LOG_EMERG;
        if (level > LOG_DEBUG)
                level = LOG_DEBUG;
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_prefix(int mode) {
        log_prefix_mode = mode;
}

void log_set_ident(const char *ident) {
        log_ident = ident;
}

static int log_use_prefix(void) {
        if (log_prefix_mode >= 0)
                return log_prefix_mode;
        return !isatty(STDERR_FILENO);
}

int log_internalv(int level, int error, const char *format, va_list ap) {
        int saved = errno;
        int ret = error > 0 ? -error : error;

        if (level > log_max_level)
                goto out;

        /* Built in one buffer and written with one call, so lines from
         * several threads do not interleave and journald sees whole lines. */
        char line[2048];
        size_t n = 0;
        if (log_use_prefix())
                n += (size_t) snprintf(line, sizeof line, "<%d>", level & LOG_PRIMASK);
        else if (log_ident)
                n += (size_t) snprintf(line, sizeof line, "%s: ", log_ident);

        int k = vsnprintf(line + n, sizeof line - n, format, ap);
        if (k > 0)
                n = MIN(n + (size_t) k, sizeof line - 1);
        if (error != 0 && n < sizeof line - 1) {
                k = snprintf(line + n, sizeof line - n, ": %s", strerror(error > 0 ? error : -error));
                if (k > 0)
                        n = MIN(n + (size_t) k, sizeof line - 1);
        }
        if (n >= sizeof line - 1)
                n = sizeof line - 2;
        line[n++] = '\n';

        ssize_t w _unused_ = write(STDERR_FILENO, line, n);
out:
        errno = saved;
        return ret;
}

int log_internal(int level, int error, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        int r = log_internalv(level, error, format, ap);
        va_end(ap);
        return r;
}
