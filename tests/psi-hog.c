/* SPDX-License-Identifier: MIT */
/* psi-hog MIB SECONDS: maps MIB MiB of anonymous memory and writes through
 * it, page by page, over and over, for SECONDS (0: until killed). The writes
 * go through a volatile pointer: with a plain one the compiler may drop
 * them and no page is ever touched, so there is no pressure (PITFALLS.md).
 * Run inside a cgroup whose memory.high is below MIB, the kernel throttles
 * and reclaims on every pass: memory stall that PSI counts. Not installed. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv) {
        uint64_t mib, seconds;

        if (argc != 3 || parse_u64(argv[1], &mib) < 0 || parse_u64(argv[2], &seconds) < 0 || mib == 0 ||
            mib > (UINT64_C(1) << 20)) {
                fprintf(stderr, "usage: psi-hog MIB SECONDS\n");
                return 2;
        }
        size_t len = (size_t) mib << 20;
        long page = sysconf(_SC_PAGESIZE);
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
                fprintf(stderr, "psi-hog: mmap %zu bytes: %s\n", len, strerror(errno));
                return 1;
        }
        volatile unsigned char *p = m;
        time_t end = time(NULL) + (time_t) seconds;
        unsigned char v = 1;
        for (unsigned long pass = 0;; pass++, v++) {
                for (size_t off = 0; off < len; off += (size_t) page)
                        p[off] = v;
                if (pass == 0) {
                        printf("psi-hog: %" PRIu64 " MiB touched\n", mib);
                        fflush(stdout);
                }
                if (seconds > 0 && time(NULL) >= end)
                        break;
        }
        return 0;
}
