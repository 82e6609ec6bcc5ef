/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <libcgroup.h>

#include "cgroup-errno.h"

int cgroup_errno_from_ecg(int ecg, int last_errno) {
        if (ecg <= 0)
                return ecg;

        switch (ecg) {
        case ECGOTHER:
                /* "Represents error coming from other libraries like glibc":
                 * the only code whose cause is in last_errno. */
                return last_errno > 0 ? -last_errno : -EIO;
        case ECGROUPNOTCOMPILED:
        case ECGROUPUNSUPP:
                return -EOPNOTSUPP;
        case ECGROUPNOTMOUNTED:
                /* Misleading: 2.0.2 also says "not mounted" for a cgroup that
                 * does not exist under a mounted hierarchy. */
        case ECGROUPNOTEXIST:
        case ECGROUPNOTCREATED:
                return -ENOENT;
        case ECGROUPVALUENOTEXIST:
                /* A control file that is not there, and also what
                 * cgroup_modify_cgroup() says for a missing cgroup. */
                return -ENOENT;
        case ECGROUPSUBSYSNOTMOUNTED:
                return -ENODEV;
        case ECGROUPNOTOWNER:
        case ECGROUPNOTALLOWED:
                /* mkdir's EPERM and its "any other" case. */
                return -EPERM;
        case ECGROUPMULTIMOUNTED:
        case ECGINVAL:
        case ECGNAMESPACEPATHS:
        case ECGNAMESPACECONTROLLER:
        case ECGMOUNTNAMESPACE:
        case ECGROUPNOTINITIALIZED: /* cgroup_init() not called: a caller bug */
                return -EINVAL;
        case ECGMAXVALUESEXCEEDED:
                return -E2BIG;
        case ECGCONTROLLEREXISTS:
        case ECGVALUEEXISTS:
                return -EEXIST;
        case ECGROUPPARSEFAIL:
        case ECGCONFIGPARSEFAIL:
                return -EBADMSG;
        case ECGROUPNORULES:
                return -ENOENT;
        case ECGEOF:
                /* End of an iteration: callers test for it before
                 * translating; anything else seeing it has no data. */
                return -ENODATA;
        case ECGNONEMPTY:
                return -EBUSY;
        case ECGCONTROLLERCREATEFAILED:
        case ECGFAIL:
        case ECGROUPNOTEQUAL:
        case ECGCONTROLLERNOTEQUAL:
        case ECGMOUNTFAIL:
        case ECGCANTSETVALUE:
        default:
                return -EIO;
        }
}

int cgroup_errno(int ecg) {
        if (ecg <= 0)
                return ecg;
        return cgroup_errno_from_ecg(ecg, cgroup_get_last_errno());
}
