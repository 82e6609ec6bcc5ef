/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "front.h"

uint8_t front_class_of[FRONT_MAX_SIZE / 8 + 1] = { [0 ... FRONT_MAX_SIZE / 8] = FRONT_NO_CLASS };
static unsigned front_cap[FRONT_CLASSES_MAX];
static size_t front_class_sizes[FRONT_CLASSES_MAX];

static pthread_once_t front_once = PTHREAD_ONCE_INIT;
static int front_init_result;

static void front_build(void) {
        uint8_t table[FRONT_MAX_SIZE / 8 + 1];
        unsigned n_classes = 0;
        size_t last = 0;

        memset(table, FRONT_NO_CLASS, sizeof table);
        /* jemalloc's classes are multiples of 8 (its smallest is 8, the
         * quantum 16), so every request in (8(k-1), 8k] has the class of 8k. */
        for (size_t k = 1; k <= FRONT_MAX_SIZE / 8; k++) {
                size_t c = nallocx(k * 8, 0);
                if (c == 0 || c % 8 != 0 || c < last) {
                        front_init_result = -ENOTSUP;
                        break;
                }
                if (c != last) {
                        if (n_classes == FRONT_CLASSES_MAX || c > FRONT_MAX_SIZE)
                                break;
                        front_class_sizes[n_classes] = c;
                        unsigned cap = (unsigned) (FRONT_BIN_BYTES / c);
                        front_cap[n_classes] = cap > FRONT_BIN_ITEMS ? FRONT_BIN_ITEMS : cap < 2 ? 2 : cap;
                        n_classes++;
                        last = c;
                }
                table[k] = (uint8_t) (n_classes - 1);
        }
        /* Whole or not at all; pthread_once() orders this before every
         * pool_open() returns, so no allocation path sees it half made. */
        if (front_init_result == 0)
                memcpy(front_class_of, table, sizeof table);
}

int front_init(void) {
        int r = pthread_once(&front_once, front_build);
        return r != 0 ? -r : front_init_result;
}

Front *front_new(void) {
        Front *f = calloc(1, sizeof *f);
        if (f)
                for (unsigned c = 0; c < FRONT_CLASSES_MAX; c++)
                        f->bins[c].cap = front_cap[c];
        return f;
}

void front_spill(FrontBin *b, int flags) {
        unsigned half = b->cap / 2 > 0 ? b->cap / 2 : 1;
        if (half > b->n)
                half = b->n;
        for (unsigned i = 0; i < half; i++)
                dallocx(b->items[i], flags);
        memmove(b->items, b->items + half, (b->n - half) * sizeof b->items[0]);
        b->n -= half;
}

void front_flush(Front *f, int flags) {
        for (unsigned c = 0; c < FRONT_CLASSES_MAX; c++) {
                FrontBin *b = &f->bins[c];
                for (unsigned i = 0; i < b->n; i++)
                        dallocx(b->items[i], flags);
                b->n = 0;
        }
}

void front_drop(Front *f) {
        for (unsigned c = 0; c < FRONT_CLASSES_MAX; c++)
                f->bins[c].n = 0;
}

size_t front_class_size(unsigned c) {
        return c < FRONT_CLASSES_MAX ? front_class_sizes[c] : 0;
}

void front_held(const Front *f, uint64_t *ret_objects, uint64_t *ret_bytes) {
        uint64_t objects = 0, bytes = 0;
        for (unsigned c = 0; c < FRONT_CLASSES_MAX; c++) {
                objects += f->bins[c].n;
                bytes += (uint64_t) f->bins[c].n * front_class_sizes[c];
        }
        *ret_objects = objects;
        *ret_bytes = bytes;
}
