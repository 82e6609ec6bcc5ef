/* SPDX-License-Identifier: MIT */
#pragma once

/* Logging to stderr. When stderr is not a terminal (journald, a pipe) each
 * line carries the sd-daemon priority prefix ("<3>"), so journald files it at
 * the right level. Library code logs at debug only; the daemon and poolctl
 * log where they decide. */

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

/* Sets the most verbose level printed (LOG_DEBUG..LOG_EMERG); default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Forces the "<N>" prefixes on (1) or off (0); -1 restores auto (on unless
 * stderr is a tty). */
void log_set_prefix(int mode);

/* Sets a program name printed before messages on a terminal ("poolctl: "). */
void log_set_ident(const char *ident);

/* Prints one line at LEVEL. With ERROR != 0 appends ": strerror(|ERROR|)".
 * Returns -|ERROR| (or 0 for ERROR == 0) so callers can `return log_...`. */
int log_internal(int level, int error, const char *format, ...) _printf_(3, 4);
int log_internalv(int level, int error, const char *format, va_list ap) _printf_(3, 0);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
