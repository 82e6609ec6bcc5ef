/* SPDX-License-Identifier: MIT */
#pragma once

/* A list of error messages for the operator, collected by the config and
 * budget checks so that one run reports every problem, not just the first. */

#include <stddef.h>
#include <stdio.h>

#include "macro.h"

typedef struct Diag {
        char **messages;
        size_t n;
} Diag;

/* Appends one formatted message. Returns 0 or -ENOMEM. */
int diag_add(Diag *d, const char *format, ...) _printf_(2, 3);
/* Prints every message, one a line, each after PREFIX (may be ""). */
void diag_print(const Diag *d, FILE *out, const char *prefix);
/* Frees the messages; D may be reused afterwards. */
void diag_done(Diag *d);
