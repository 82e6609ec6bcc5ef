/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "psi-parse.h"

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool skip_literal(const char **p, const char *lit) {
        size_t n = strlen(lit);

        if (strncmp(*p, lit, n) != 0)
                return false;
        *p += n;
        return true;
}

/* "KEY=I.FF" as the kernel prints it ("%lu.%02lu"): a share of time in
 * percent, so 0.00..100.00. */
static int parse_avg(const char **p, const char *key, uint32_t *ret) {
        const char *s = *p;
        uint32_t whole = 0;
        unsigned digits = 0;

        if (!skip_literal(&s, key))
                return -EBADMSG;
        while (is_digit(*s)) {
                if (++digits > 3)
                        return -EBADMSG;
                whole = whole * 10 + (uint32_t) (*s++ - '0');
        }
        if (digits == 0 || *s++ != '.')
                return -EBADMSG;
        if (!is_digit(s[0]) || !is_digit(s[1]))
                return -EBADMSG;
        uint32_t v = whole * 100 + (uint32_t) (s[0] - '0') * 10 + (uint32_t) (s[1] - '0');
        if (v > 10000)
                return -EBADMSG;
        *p = s + 2;
        *ret = v;
        return 0;
}

static int parse_total(const char **p, uint64_t *ret) {
        const char *s = *p;
        char *end;

        if (!skip_literal(&s, "total="))
                return -EBADMSG;
        /* strtoull would accept blanks and a sign: require a digit first. */
        if (!is_digit(*s))
                return -EBADMSG;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || end == s)
                return -EBADMSG;
        *p = end;
        *ret = v;
        return 0;
}

static int parse_line(const char **p, const char *name, PsiLine *ret) {
        const char *s = *p;
        PsiLine l = {};
        int r;

        if (!skip_literal(&s, name) || !skip_literal(&s, " "))
                return -EBADMSG;
        r = parse_avg(&s, "avg10=", &l.avg10);
        if (r < 0 || !skip_literal(&s, " "))
                return -EBADMSG;
        r = parse_avg(&s, "avg60=", &l.avg60);
        if (r < 0 || !skip_literal(&s, " "))
                return -EBADMSG;
        r = parse_avg(&s, "avg300=", &l.avg300);
        if (r < 0 || !skip_literal(&s, " "))
                return -EBADMSG;
        r = parse_total(&s, &l.total_usec);
        if (r < 0 || !skip_literal(&s, "\n"))
                return -EBADMSG;
        *p = s;
        *ret = l;
        return 0;
}

int psi_parse(const char *text, PsiStats *ret) {
        const char *p = text;
        PsiStats st = {};
        int r;

        r = parse_line(&p, "some", &st.some);
        if (r < 0)
                return r;
        if (*p != '\0') {
                r = parse_line(&p, "full", &st.full);
                if (r < 0)
                        return r;
                st.has_full = true;
        }
        if (*p != '\0')
                return -EBADMSG;
        *ret = st;
        return 0;
}
