/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the config parser, its validation and the budget:
 * any input must be read without a crash, a leak or undefined behaviour,
 * and a config that parses and validates must survive config_dump() and a
 * second parse unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../pools/budget.h"
#include "../../pools/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const void *data, size_t size, Config **ret) {
        Config *c = NULL;
        Diag d = {};
        FILE *f;
        int r;

        if (config_new(&c) < 0)
                return -1;
        /* glibc's fmemopen() refuses size 0 */
        f = fmemopen((void *) (size > 0 ? data : ""), size > 0 ? size : 1, "r");
        if (!f) {
                config_free(c);
                return -1;
        }
        r = config_parse_stream(c, f, "fuzz.conf", &d);
        fclose(f);
        if (config_validate(c, 4, &d) < 0 && r == 0)
                r = -1;

        /* whatever came out, the budget must cope with it */
        uint64_t nodes[4] = { UINT64_C(128) << 30, UINT64_C(128) << 30, UINT64_C(64) << 30, 0 };
        HostFacts h = { .total = UINT64_C(512) << 30, .n_nodes = 4, .node_total = nodes };
        Budget b;
        if (budget_compute(c, &h, &b, &d) == 0)
                budget_done(&b);

        diag_done(&d);
        *ret = c;
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *a = NULL, *b = NULL;
        char *text = NULL;
        size_t len = 0;

        /* CONFIG_LINE_MAX-long lines are the interesting edge; far larger
         * inputs only slow the fuzzer down. */
        if (size > 64 * 1024)
                return 0;

        if (parse(data, size, &a) == 0) {
                FILE *out = open_memstream(&text, &len);
                if (!out)
                        abort();
                config_dump(a, out);
                fclose(out);
                if (parse(text, len, &b) != 0 || !config_equal(a, b)) {
                        fprintf(stderr, "round trip failed; dump:\n%s\n", text);
                        abort();
                }
        }

        free(text);
        config_free(a);
        config_free(b);
        return 0;
}
