/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "peer.h"

bool peer_decide_privileged(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                            bool have_group, gid_t group_gid) {
        if (uid == 0)
                return true;
        if (!have_group)
                return false;
        if (gid == group_gid)
                return true;
        for (size_t i = 0; i < n_groups; i++)
                if (groups[i] == group_gid)
                        return true;
        return false;
}

/* Looks up GROUP's gid. Returns 1 with *ret, 0 if there is no such group,
 * or a negative errno. */
static int group_lookup(const char *group, gid_t *ret) {
        /* 16 KiB covers a group line with ~1000 members; grow on ERANGE. */
        size_t size = 16384;

        for (int attempt = 0; attempt < 8; attempt++, size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                struct group gr, *result = NULL;

                if (!buf)
                        return -ENOMEM;
                int r = getgrnam_r(group, &gr, buf, size, &result);
                if (r == ERANGE)
                        continue;
                if (r != 0) {
                        /* NSS says ENOENT/ESRCH/EBADF/EPERM for "no such
                         * group" on some backends: treat every failure as a
                         * missing group, which only narrows privilege. */
                        return 0;
                }
                if (!result)
                        return 0;
                *ret = result->gr_gid;
                return 1;
        }
        return -ENOMEM;
}

/* Reads the peer's supplementary groups into a malloc'd array.
 *
 * Why SO_PEERGROUPS (Linux 4.13) rather than /proc/PID/status or
 * getgrouplist(uid):
 * - it is the groups of the process that called connect(), captured by the
 *   kernel at that moment, like SO_PEERCRED's uid: no race with the peer
 *   exiting and its pid being reused (which /proc/PID/status has), and it
 *   works when the peer's pid is in another pid namespace (pid 0);
 * - it reflects what the process really holds: a unit with
 *   SupplementaryGroups=poold (or DynamicUser) is privileged though
 *   /etc/group does not list it, and a process that dropped its groups is
 *   not, which getgrouplist() (the group database, not the process) gets
 *   both wrong.
 * On a kernel without it (ENOPROTOOPT) we report no supplementary groups:
 * then only root and peers whose primary gid is the group are privileged,
 * which errs on the side of refusing. */
static int peer_groups(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (int attempt = 0; attempt < 8; attempt++) {
                gid_t *g = malloc(len ? len : sizeof(gid_t));
                if (!g)
                        return -ENOMEM;
                socklen_t n = len;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &n) >= 0) {
                        *ret = g;
                        *ret_n = n / sizeof(gid_t);
                        return 0;
                }
                int r = negative_errno();
                free(g);
                if (r == -ERANGE && n > len) {
                        /* The kernel told us the size it needs. */
                        len = n;
                        continue;
                }
                if (r == -ENOPROTOOPT || r == -ENODATA) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return r;
        }
        return -ENOBUFS;
}

int peer_get(int fd, const char *group, Peer *ret) {
        struct ucred uc;
        socklen_t n = sizeof uc;
        _cleanup_free_ gid_t *groups = NULL;
        size_t n_groups = 0;
        gid_t group_gid = 0;
        int have_group = 0, r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &n) < 0)
                return negative_errno();
        if (n != sizeof uc)
                return -EIO;

        if (uc.uid != 0 && group) {
                /* Looked up per connection, not once at start: the group
                 * may be created (or a user added) while poold runs. */
                have_group = group_lookup(group, &group_gid);
                if (have_group < 0)
                        return have_group;
                if (have_group) {
                        r = peer_groups(fd, &groups, &n_groups);
                        if (r < 0)
                                return r;
                }
        }

        *ret = (Peer) {
                .uid = uc.uid,
                .gid = uc.gid,
                .pid = uc.pid,
                .privileged = peer_decide_privileged(uc.uid, uc.gid, groups, n_groups,
                                                     have_group > 0, group_gid),
        };
        return 0;
}
