/* SPDX-License-Identifier: MIT */
/* Built from client/ctl-client.c and daemon/protocol.c with json-c alone
 * (see daemon/control.mk): fails to link if the client half ever needs
 * libpoolcore or libsystemd. At run time, checks the "poold is not running"
 * answers poolctl relies on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl-client.h"

int main(void) {
        char dir[] = "/tmp/poold-ctl-XXXXXX", path[sizeof dir + 32];
        CtlClient *c = NULL;
        int r, fails = 0;

        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 99;
        }
        snprintf(path, sizeof path, "%s/control.sock", dir);

        r = ctl_connect(path, &c);
        if (r != -ENOENT) {
                fprintf(stderr, "FAIL: connect to a missing socket: %d (want -ENOENT)\n", r);
                fails++;
        }

        /* A stale socket: bound, never listened on, closed. */
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror("bind");
                return 99;
        }
        close(fd);
        r = ctl_connect(path, &c);
        if (r != -ECONNREFUSED) {
                fprintf(stderr, "FAIL: connect to a stale socket: %d (want -ECONNREFUSED)\n", r);
                fails++;
        }

        unlink(path);
        rmdir(dir);
        printf("%d passed, %d failed\n", 2 - fails, fails);
        return fails ? 1 : 0;
}
