/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>

#include "diag.h"

int diag_add(Diag *d, const char *format, ...) {
        va_list ap;
        char *m;

        va_start(ap, format);
        int r = vasprintf(&m, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        char **v = realloc(d->messages, (d->n + 1) * sizeof *v);
        if (!v) {
                free(m);
                return -ENOMEM;
        }
        v[d->n++] = m;
        d->messages = v;
        return 0;
}

void diag_print(const Diag *d, FILE *out, const char *prefix) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(out, "%s%s\n", prefix ? prefix : "", d->messages[i]);
}

void diag_done(Diag *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->messages[i]);
        free(d->messages);
        d->messages = NULL;
        d->n = 0;
}
