/* SPDX-License-Identifier: MIT */
#pragma once

/* Sizes as operators write them (as systemd does): bytes, K/M/G/T (binary,
 * powers of 1024), "infinity", or a percentage of the host's total. Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SizeKind {
        SIZE_UNSET = 0, /* key not given */
        SIZE_BYTES,
        SIZE_PERCENT,
        SIZE_INFINITY,
} SizeKind;

typedef struct SizeSpec {
        SizeKind kind;
        uint64_t bytes;     /* SIZE_BYTES */
        uint32_t permyriad; /* SIZE_PERCENT: hundredths of a percent, 10% = 1000, at most 10000 */
} SizeSpec;

/* Longest string size_format*() writes, with its NUL. */
#define SIZE_FMT_MAX 32

/* Parses "4096", "512K", "64M", "1.5G", "1T", "10%", "12.5%", "infinity".
 * Returns 0, -EINVAL on bad syntax, -ERANGE on overflow or a percentage over 100. */
int size_parse(const char *s, SizeSpec *ret);

/* Like size_parse() but only absolute sizes (for --total).
 * Returns 0, -EINVAL (also for percentages and infinity), -ERANGE. */
int size_parse_bytes(const char *s, uint64_t *ret);

/* The size in bytes against TOTAL; a percentage rounds down to the byte,
 * SIZE_INFINITY and SIZE_UNSET give UINT64_MAX. */
uint64_t size_resolve(const SizeSpec *s, uint64_t total);

/* Exact form that size_parse() reads back to the same value: the largest unit
 * that divides it ("447G", "1536M", "12345"). Returns BUF. */
char *size_format_exact(uint64_t bytes, char buf[static SIZE_FMT_MAX]);

/* Rounded human form with one decimal ("447.0G", "3.5M", "512B"). Returns BUF. */
char *size_format_human(uint64_t bytes, char buf[static SIZE_FMT_MAX]);

/* True if A and B are the same spec (kind and value). */
bool size_spec_equal(const SizeSpec *a, const SizeSpec *b);

/* The spec as written in a normalized config ("10%", "64G", "infinity", ""). Returns BUF. */
char *size_spec_format(const SizeSpec *s, char buf[static SIZE_FMT_MAX]);
