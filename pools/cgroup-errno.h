/* SPDX-License-Identifier: MIT */
#pragma once

/* The one place where libcgroup's ECG* codes (50000 and up, positive)
 * become negative errno. Nothing else in poold looks at an ECG* value. */

/* Pure mapping: ECG is a libcgroup return value, LAST_ERRNO what
 * cgroup_get_last_errno() said (used for ECGOTHER only: libcgroup leaves it
 * stale after other errors). Returns 0 for 0; a negative ECG (already
 * -errno) unchanged; -EIO for codes it does not know. */
int cgroup_errno_from_ecg(int ecg, int last_errno);

/* cgroup_errno_from_ecg(ECG, cgroup_get_last_errno()). */
int cgroup_errno(int ecg);
