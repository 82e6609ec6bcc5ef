/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodeset.h"

void nodeset_clear(NodeSet *s) {
        memset(s, 0, sizeof *s);
}

void nodeset_add(NodeSet *s, unsigned node) {
        if (node < NODESET_MAX)
                s->bits[node / 64] |= UINT64_C(1) << (node % 64);
}

bool nodeset_has(const NodeSet *s, unsigned node) {
        return node < NODESET_MAX && (s->bits[node / 64] >> (node % 64)) & 1;
}

unsigned nodeset_count(const NodeSet *s) {
        unsigned n = 0;

        for (size_t i = 0; i < NODESET_MAX / 64; i++)
                n += (unsigned) __builtin_popcountll(s->bits[i]);
        return n;
}

bool nodeset_is_empty(const NodeSet *s) {
        for (size_t i = 0; i < NODESET_MAX / 64; i++)
                if (s->bits[i])
                        return false;
        return true;
}

bool nodeset_is_subset(const NodeSet *a, const NodeSet *b) {
        for (size_t i = 0; i < NODESET_MAX / 64; i++)
                if (a->bits[i] & ~b->bits[i])
                        return false;
        return true;
}

bool nodeset_equal(const NodeSet *a, const NodeSet *b) {
        return memcmp(a->bits, b->bits, sizeof a->bits) == 0;
}

int nodeset_last(const NodeSet *s) {
        for (size_t i = NODESET_MAX / 64; i > 0; i--)
                if (s->bits[i - 1])
                        return (int) ((i - 1) * 64 + 63 - (unsigned) __builtin_clzll(s->bits[i - 1]));
        return -1;
}

/* One node number: digits only (strtoull alone would take " 1", "+1", "-1").
 * Returns 0, -EINVAL, -ERANGE. */
static int nodeset_parse_node(const char *s, unsigned *ret, const char **ret_end) {
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE || v >= NODESET_MAX)
                return -ERANGE;
        if (errno != 0)
                return -EINVAL;
        *ret = (unsigned) v;
        *ret_end = end;
        return 0;
}

int nodeset_parse(const char *s, NodeSet *ret) {
        NodeSet set;
        const char *p = s;
        int r;

        if (!s || !*s)
                return -EINVAL;

        nodeset_clear(&set);
        for (;;) {
                unsigned a, b;

                r = nodeset_parse_node(p, &a, &p);
                if (r < 0)
                        return r;
                b = a;
                if (*p == '-') {
                        r = nodeset_parse_node(p + 1, &b, &p);
                        if (r < 0)
                                return r;
                        if (b < a)
                                return -ERANGE;
                }
                for (unsigned n = a; n <= b; n++)
                        nodeset_add(&set, n);

                if (*p == '\0')
                        break;
                if (*p != ',')
                        return -EINVAL;
                p++; /* "0," and "0,,1" fail on the next node */
        }

        *ret = set;
        return 0;
}

/* Calls EMIT for each maximal run [a, b] in order. */
#define NODESET_FOREACH_RUN(s, a, b)                                                    \
        for (int a = nodeset_next((s), 0), b; a >= 0 && (b = nodeset_run_end((s), a), 1); \
             a = nodeset_next((s), (unsigned) b + 1))

static int nodeset_next(const NodeSet *s, unsigned from) {
        for (unsigned n = from; n < NODESET_MAX; n++) {
                uint64_t w = s->bits[n / 64] >> (n % 64);
                if (w)
                        return (int) (n + (unsigned) __builtin_ctzll(w));
                n |= 63; /* rest of this word is empty */
        }
        return -1;
}

static int nodeset_run_end(const NodeSet *s, int a) {
        unsigned b = (unsigned) a;
        while (b + 1 < NODESET_MAX && nodeset_has(s, b + 1))
                b++;
        return (int) b;
}

/* Writes the canonical form into OUT (SIZE bytes with the NUL), complete
 * items only. Returns the length of the whole form, as snprintf does. */
static size_t nodeset_write(const NodeSet *s, char *out, size_t size) {
        size_t n = 0, written = 0;
        bool first = true;

        NODESET_FOREACH_RUN(s, a, b) {
                char item[32];
                int k;

                if (a == b)
                        k = snprintf(item, sizeof item, "%s%d", first ? "" : ",", a);
                else
                        k = snprintf(item, sizeof item, "%s%d-%d", first ? "" : ",", a, b);
                first = false;
                if (written == n && n + (size_t) k < size) {
                        memcpy(out + n, item, (size_t) k);
                        written += (size_t) k;
                }
                n += (size_t) k;
        }
        if (size > 0)
                out[written] = '\0';
        return n;
}

char *nodeset_format(const NodeSet *s, char buf[static NODESET_FMT_MAX]) {
        size_t n = nodeset_write(s, buf, NODESET_FMT_MAX);

        if (n >= NODESET_FMT_MAX) {
                /* BUF holds whole items; drop the last ones until ",..." fits. */
                size_t len = strlen(buf);
                while (len > 0 && (len + 5 > NODESET_FMT_MAX || buf[len] != ','))
                        len--;
                strcpy(buf + len, ",...");
        }
        return buf;
}

int nodeset_to_string(const NodeSet *s, char **ret) {
        size_t n = nodeset_write(s, NULL, 0);
        char *buf = malloc(n + 1);

        if (!buf)
                return -ENOMEM;
        nodeset_write(s, buf, n + 1);
        *ret = buf;
        return 0;
}
