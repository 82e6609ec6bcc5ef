/* SPDX-License-Identifier: MIT */
/* libFuzzer target for psi_parse(): any bytes either parse into values in
 * range or are refused with -EBADMSG, never a crash or an overread. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psi-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PsiStats st;
        char *text = malloc(size + 1);

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        int r = psi_parse(text, &st);
        if (r == 0) {
                if (st.some.avg10 > 10000 || st.some.avg60 > 10000 || st.some.avg300 > 10000)
                        abort();
                if (st.has_full && (st.full.avg10 > 10000 || st.full.avg60 > 10000 || st.full.avg300 > 10000))
                        abort();
        } else if (r != -EBADMSG)
                abort();
        free(text);
        return 0;
}
