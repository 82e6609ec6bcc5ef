/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "macro.h"

#define USEC_PER_MINUTE (60 * DURATION_USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)

/* systemd's names (src/basic/time-util.c), longest first where one is a
 * prefix of another ("msec" before "ms" before "m"), without months and
 * years: a month of 30.44 days is no setting for a memory controller. */
static const struct {
        const char *name;
        uint64_t usec;
} duration_units[] = {
        { "seconds", DURATION_USEC_PER_SEC },
        { "second", DURATION_USEC_PER_SEC },
        { "sec", DURATION_USEC_PER_SEC },
        { "s", DURATION_USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "msec", DURATION_USEC_PER_MSEC },
        { "ms", DURATION_USEC_PER_MSEC },
        { "m", USEC_PER_MINUTE },
        { "hours", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "days", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "d", USEC_PER_DAY },
        { "weeks", 7 * USEC_PER_DAY },
        { "week", 7 * USEC_PER_DAY },
        { "w", 7 * USEC_PER_DAY },
        { "usec", 1 },
        { "us", 1 },
        { "\xc2\xb5s", 1 }, /* µs, MICRO SIGN */
        { "\xce\xbcs", 1 }, /* μs, GREEK SMALL LETTER MU */
};

/* 10^18 * 6.048e11 (a week in us) < 2^128: a fraction of up to 18 digits of
 * any unit is computed exactly in 128 bits. */
#define DURATION_FRAC_DIGITS_MAX 18

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Reads a run of digits at *P into *RET and advances *P. Returns the number
 * of digits, or -ERANGE past UINT64_MAX. */
static int read_digits(const char **p, unsigned __int128 *ret) {
        unsigned __int128 v = 0;
        int n = 0;

        for (; is_digit(**p); (*p)++, n++) {
                v = v * 10 + (unsigned) (**p - '0');
                if (v > UINT64_MAX)
                        return -ERANGE;
        }
        *ret = v;
        return n;
}

int duration_parse(const char *s, uint64_t *ret_usec) {
        unsigned __int128 total = 0;
        const char *p = s;
        unsigned parts = 0;

        if (!s)
                return -EINVAL;
        while (is_blank(*p))
                p++;
        if (*p == '\0')
                return -EINVAL;

        while (*p != '\0') {
                unsigned __int128 ipart, fpart = 0, den = 1;
                int n;

                /* A part starts with a digit: no sign, no "infinity", no ".5s". */
                if (!is_digit(*p))
                        return -EINVAL;
                n = read_digits(&p, &ipart);
                if (n < 0)
                        return n;
                if (*p == '.') {
                        const char *q = ++p;

                        /* Leading zeros of the fraction ("1.05s") are digits
                         * too: count them from the text. Very long fractions
                         * cannot be whole microseconds of any unit anyway. */
                        while (is_digit(*q) && (size_t) (q - p) < DURATION_FRAC_DIGITS_MAX) {
                                fpart = fpart * 10 + (unsigned) (*q - '0');
                                den *= 10;
                                q++;
                        }
                        if (q == p || is_digit(*q))
                                return -EINVAL; /* "1.s", or more than 18 digits */
                        p = q;
                }
                while (is_blank(*p))
                        p++;

                uint64_t unit = 0;
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                        size_t len = strlen(duration_units[i].name);
                        if (strncmp(p, duration_units[i].name, len) == 0 &&
                            (p[len] == '\0' || is_blank(p[len]) || is_digit(p[len]))) {
                                unit = duration_units[i].usec;
                                p += len;
                                break;
                        }
                }
                if (unit == 0) {
                        /* A bare number: seconds, and only as the whole value
                         * ("1 30s" is more likely a typo than 31 seconds). */
                        if (*p != '\0' || parts > 0)
                                return -EINVAL;
                        unit = DURATION_USEC_PER_SEC;
                }

                unsigned __int128 frac = fpart * unit;
                if (frac % den != 0)
                        return -EINVAL; /* finer than a microsecond */
                total += ipart * unit + frac / den;
                if (total > UINT64_MAX)
                        return -ERANGE;
                parts++;

                while (is_blank(*p))
                        p++;
        }

        *ret_usec = (uint64_t) total;
        return 0;
}

char *duration_format(uint64_t usec, char buf[static DURATION_FMT_MAX]) {
        static const struct {
                const char *name;
                uint64_t usec;
        } out_units[] = {
                { "h", USEC_PER_HOUR },
                { "min", USEC_PER_MINUTE },
                { "s", DURATION_USEC_PER_SEC },
                { "ms", DURATION_USEC_PER_MSEC },
        };

        if (usec == 0) {
                snprintf(buf, DURATION_FMT_MAX, "0");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(out_units); i++)
                if (usec % out_units[i].usec == 0) {
                        snprintf(buf, DURATION_FMT_MAX, "%" PRIu64 "%s", usec / out_units[i].usec, out_units[i].name);
                        return buf;
                }
        snprintf(buf, DURATION_FMT_MAX, "%" PRIu64 "us", usec);
        return buf;
}
