/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

/* Binary units only, as systemd reads them. "KB", "MB"... are refused: they
 * usually mean powers of 1000, and reading "64GB" as 64 GiB silently would be
 * off by 7.4%. "KiB" and friends are unambiguous and accepted. */
static const struct {
        char letter;
        unsigned shift;
} size_units[] = {
        { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 }, { 'P', 50 }, { 'E', 60 },
};

/* 10^18 * 2^60 < 2^128, so the fraction of any unit is computed exactly in
 * 128 bits with up to 18 digits after the point. */
#define SIZE_FRAC_DIGITS_MAX 18

static int is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Parses a run of decimal digits at S. Returns 0, -EINVAL if S does not
 * start with a digit, -ERANGE; *RET_END points after the digits unless
 * -EINVAL. */
static int parse_digits(const char *s, uint64_t *ret, const char **ret_end) {
        char *end;

        if (!is_digit(*s))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        /* strtoull moves END past every digit even on overflow, so callers
         * can still count the digits. */
        *ret_end = end;
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s)
                return -EINVAL;
        *ret = v;
        return 0;
}

int size_parse(const char *s, SizeSpec *ret) {
        uint64_t ipart, fpart = 0;
        unsigned fdigits = 0;
        const char *p;
        int r;

        if (!s || !*s)
                return -EINVAL;

        if (strcmp(s, "infinity") == 0) {
                *ret = (SizeSpec) { .kind = SIZE_INFINITY };
                return 0;
        }

        r = parse_digits(s, &ipart, &p);
        if (r < 0)
                return r;

        if (*p == '.') {
                const char *q;

                p++;
                /* Leading zeros of the fraction count as digits ("1.05"):
                 * count them from the text, not from the value. */
                r = parse_digits(p, &fpart, &q);
                if (r == -EINVAL)
                        return -EINVAL; /* "1." or "1.G" */
                if ((size_t) (q - p) > SIZE_FRAC_DIGITS_MAX)
                        return -EINVAL;
                if (r < 0)
                        return r;
                fdigits = (unsigned) (q - p);
                p = q;
        }

        if (*p == '%') {
                if (p[1] != '\0')
                        return -EINVAL;
                /* Hundredths of a percent are the resolution; "12.345%"
                 * would be rounded silently, so it is refused. */
                if (fdigits > 2)
                        return -EINVAL;
                if (ipart > 100)
                        return -ERANGE;
                uint64_t frac = fpart * (fdigits == 1 ? 10 : 1);
                uint64_t pm = ipart * 100 + frac;
                if (pm > 10000)
                        return -ERANGE;
                *ret = (SizeSpec) { .kind = SIZE_PERCENT, .permyriad = (uint32_t) pm };
                return 0;
        }

        unsigned shift = 0;
        if (*p == '\0' || (p[0] == 'B' && p[1] == '\0')) {
                /* Plain bytes: a fraction of a byte means nothing. */
                if (fdigits > 0)
                        return -EINVAL;
        } else {
                size_t i;

                for (i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
                        if (*p == size_units[i].letter)
                                break;
                if (i == sizeof size_units / sizeof size_units[0])
                        return -EINVAL;
                shift = size_units[i].shift;
                p++;
                if (*p != '\0' && strcmp(p, "iB") != 0)
                        return -EINVAL;
        }

        if (shift > 0 && ipart > (UINT64_MAX >> shift))
                return -ERANGE;
        uint64_t bytes = ipart << shift;

        if (fdigits > 0) {
                unsigned __int128 den = 1;
                for (unsigned i = 0; i < fdigits; i++)
                        den *= 10;
                /* Rounded down to the byte: 1.3K is 1331 bytes, not 1331.2. */
                unsigned __int128 add = ((unsigned __int128) fpart << shift) / den;
                if (add > UINT64_MAX - bytes)
                        return -ERANGE;
                bytes += (uint64_t) add;
        }

        *ret = (SizeSpec) { .kind = SIZE_BYTES, .bytes = bytes };
        return 0;
}

int size_parse_bytes(const char *s, uint64_t *ret) {
        SizeSpec spec;
        int r;

        r = size_parse(s, &spec);
        if (r < 0)
                return r;
        if (spec.kind != SIZE_BYTES)
                return -EINVAL;
        *ret = spec.bytes;
        return 0;
}

uint64_t size_resolve(const SizeSpec *s, uint64_t total) {
        switch (s->kind) {
        case SIZE_BYTES:
                return s->bytes;
        case SIZE_PERCENT:
                return (uint64_t) ((unsigned __int128) total * s->permyriad / 10000);
        case SIZE_INFINITY:
        case SIZE_UNSET:
        default:
                return UINT64_MAX;
        }
}

char *size_format_exact(uint64_t bytes, char buf[static SIZE_FMT_MAX]) {
        for (size_t i = sizeof size_units / sizeof size_units[0]; i > 0; i--) {
                unsigned shift = size_units[i - 1].shift;
                uint64_t mask = (UINT64_C(1) << shift) - 1;

                if (bytes != 0 && (bytes & mask) == 0) {
                        snprintf(buf, SIZE_FMT_MAX, "%" PRIu64 "%c", bytes >> shift, size_units[i - 1].letter);
                        return buf;
                }
        }
        snprintf(buf, SIZE_FMT_MAX, "%" PRIu64, bytes);
        return buf;
}

char *size_format_human(uint64_t bytes, char buf[static SIZE_FMT_MAX]) {
        if (bytes < 1024) {
                snprintf(buf, SIZE_FMT_MAX, "%" PRIu64 "B", bytes);
                return buf;
        }

        size_t i = 0;
        while (i + 1 < sizeof size_units / sizeof size_units[0] && (bytes >> size_units[i + 1].shift) > 0)
                i++;

        /* Tenths, rounded half up; 1023.96K rounds to 1024.0K, which reads
         * better one unit up as 1.0M. */
        for (;;) {
                unsigned shift = size_units[i].shift;
                unsigned __int128 tenths = (((unsigned __int128) bytes * 10) + ((unsigned __int128) 1 << (shift - 1))) >> shift;

                if (tenths >= 10240 && i + 1 < sizeof size_units / sizeof size_units[0]) {
                        i++;
                        continue;
                }
                snprintf(buf, SIZE_FMT_MAX, "%" PRIu64 ".%u%c", (uint64_t) (tenths / 10), (unsigned) (tenths % 10),
                         size_units[i].letter);
                return buf;
        }
}

char *size_spec_format(const SizeSpec *s, char buf[static SIZE_FMT_MAX]) {
        switch (s->kind) {
        case SIZE_BYTES:
                return size_format_exact(s->bytes, buf);
        case SIZE_PERCENT: {
                unsigned whole = s->permyriad / 100, frac = s->permyriad % 100;

                if (frac == 0)
                        snprintf(buf, SIZE_FMT_MAX, "%u%%", whole);
                else if (frac % 10 == 0)
                        snprintf(buf, SIZE_FMT_MAX, "%u.%u%%", whole, frac / 10);
                else
                        snprintf(buf, SIZE_FMT_MAX, "%u.%02u%%", whole, frac);
                return buf;
        }
        case SIZE_INFINITY:
                snprintf(buf, SIZE_FMT_MAX, "infinity");
                return buf;
        case SIZE_UNSET:
        default:
                buf[0] = '\0';
                return buf;
        }
}

bool size_spec_equal(const SizeSpec *a, const SizeSpec *b) {
        if (a->kind != b->kind)
                return false;
        switch (a->kind) {
        case SIZE_BYTES:
                return a->bytes == b->bytes;
        case SIZE_PERCENT:
                return a->permyriad == b->permyriad;
        default:
                return true;
        }
}
