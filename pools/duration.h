/* SPDX-License-Identifier: MIT */
#pragma once

/* Time spans as operators write them in poold.conf, in systemd's time
 * syntax (systemd.time(7)), the subset poold needs. libsystemd exports no
 * parser for it (parse_sec() is internal to systemd), hence this one. Pure. */

#include <stdint.h>

#define DURATION_USEC_PER_MSEC UINT64_C(1000)
#define DURATION_USEC_PER_SEC UINT64_C(1000000)

/* Longest string duration_format() writes, with its NUL ("18446744073709551615us"). */
#define DURATION_FMT_MAX 32

/* Parses S into microseconds. S is one or more "NUMBER[.FRACTION]UNIT"
 * parts, written together or apart ("1min30s", "1min 30s": the parts add
 * up); units are us (usec, µs), ms (msec), s (sec, second, seconds),
 * min (m, minute, minutes), h (hr, hour, hours), d (day, days), w (week,
 * weeks), case-sensitive as in systemd. A bare number is seconds, as
 * systemd's parse_sec() reads it ("2" is 2s), and only alone. A fraction
 * that is not a whole number of microseconds ("0.5us") is refused, not
 * rounded. No sign, no "infinity".
 * Returns 0, -EINVAL (syntax), -ERANGE (above UINT64_MAX microseconds). */
int duration_parse(const char *s, uint64_t *ret_usec);

/* Exact form duration_parse() reads back to the same value: the largest of
 * h, min, s, ms, us that divides it ("30min", "1500ms", "0"). Returns BUF. */
char *duration_format(uint64_t usec, char buf[static DURATION_FMT_MAX]);
