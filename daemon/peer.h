/* SPDX-License-Identifier: MIT */
#pragma once

/* Who is at the other end of a control connection, and whether they may
 * change things (root, or a member of the privileged group, "poold"). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct Peer {
        uid_t uid;         /* effective uid at connect() time */
        gid_t gid;         /* effective gid at connect() time */
        pid_t pid;         /* 0 if the peer is in a pid namespace we cannot see */
        bool privileged;
} Peer;

/* Decides privilege from values: true for uid 0, or when GROUP_GID is the
 * peer's GID or one of its N_GROUPS supplementary GROUPS. HAVE_GROUP false
 * (the group does not exist) leaves only root. Pure. */
bool peer_decide_privileged(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                            bool have_group, gid_t group_gid);

/* Reads the peer of the connected AF_UNIX socket FD (SO_PEERCRED and
 * SO_PEERGROUPS) and decides privilege against the group named GROUP (NULL:
 * root only). Returns 0, or a negative errno from getsockopt() or the group
 * lookup (-ENOMEM). */
int peer_get(int fd, const char *group, Peer *ret);
