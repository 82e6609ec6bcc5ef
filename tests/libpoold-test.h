/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers the libpoold unit tests share (check_arena, check_front). */

#include <check.h>
#include <string.h>

#include "pool-internal.h"

/* Opens a standalone pool or fails the test. */
static inline Pool *test_open_standalone(const char *name, uint64_t max, uint64_t target, unsigned flags) {
        PoolOpenOptions o = { .flags = POOL_OPEN_STANDALONE | flags, .max = max, .target = target };
        Pool *p;
        int r = pool_open(name, &o, &p);
        ck_assert_msg(r == 0, "pool_open(%s): %s", name, strerror(-r));
        return p;
}

/* The jemalloc arena PTR belongs to, or fails the test. */
static inline unsigned test_arena_of(const void *ptr) {
        unsigned a;
        ck_assert_int_eq(arena_lookup(ptr, &a), 0);
        return a;
}
