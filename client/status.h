/* SPDX-License-Identifier: MIT */
#pragma once

/* Renders poold's status document (the "status" verb's result, see
 * daemon/manager.h) as the human table of `poolctl status`. Pure: takes the
 * JSON and a FILE*, reads no file, clock or global. */

#include <json-c/json.h>
#include <stdio.h>

/* Prints the host line, the reserves (planned, measured, diff), the pools
 * (kind, priority, min/target/max, used, peak, members, NUMA, events since
 * poold started), orphaned pools, the RAM layout bar and the warnings.
 * Missing figures print as "-". Returns 0, -EBADMSG if STATUS lacks the
 * "host" object or its "pools" array, -EIO if writing OUT failed. */
int status_print(json_object *status, FILE *out);
