/* SPDX-License-Identifier: MIT */
#pragma once

/* The client side of the control socket (docs/protocol.md): connect, send
 * one request, wait for its reply (with a timeout), receive an fd passed
 * with a reply, read pushed events. Blocking calls with timeouts, no event
 * loop: poolctl uses it as is, libpoold polls ctl_client_get_fd().
 *
 * Only libc and json-c (and daemon/protocol.c, which is also only those),
 * so libpoold can compile it in. Not thread-safe: one CtlClient per thread,
 * or a lock around it. */

#include <json-c/json.h>

#include "protocol.h"

typedef struct CtlClient CtlClient;

/* The daemon's socket unless told otherwise: /run/poold/control.sock. */
#define CTL_SOCKET_PATH PROTOCOL_SOCKET_PATH

/* How long ctl_connect() waits when the daemon's accept backlog is full. */
#define CTL_CONNECT_TIMEOUT_MS 5000

/* The longest reply or event line the client accepts: 16 MiB (a status of
 * thousands of pools is still a few MiB). */
#define CTL_LINE_MAX ((size_t) 16 * 1024 * 1024)

/* Pushed events kept while a call waits for its reply; past this the oldest
 * are dropped (a shrink request is superseded by the next one anyway). */
#define CTL_EVENTS_MAX 256

/* Connects to the control socket at PATH. Returns 0 with *ret; -ENOENT (no
 * socket there) or -ECONNREFUSED (a stale socket) when poold is not running;
 * -EAGAIN if its backlog stayed full for CTL_CONNECT_TIMEOUT_MS;
 * -ENAMETOOLONG, -EACCES, -ENOMEM or another negative errno. */
int ctl_connect(const char *path, CtlClient **ret);

/* Closes the connection, any received fd not handed out, and queued events.
 * Returns NULL. */
CtlClient *ctl_client_free(CtlClient *c);
static inline void ctl_client_freep(CtlClient **c) {
        if (*c)
                ctl_client_free(*c);
}

/* Sends {"id":N,"verb":VERB,"args":ARGS} (ARGS borrowed; NULL: none) and
 * waits up to TIMEOUT_MS (-1: no limit) for its reply; events arriving
 * meanwhile are queued for ctl_read_event(). Returns 0 with *ret_result (a
 * new reference, never NULL; RET_RESULT may be NULL) and *ret_fd (the fd
 * sent with the reply, O_CLOEXEC, or -1; RET_FD NULL closes it); or
 * -ETIMEDOUT; -ECONNRESET if the daemon closed the connection; -EBADMSG for
 * a malformed reply; or, when the daemon answered with an error, the
 * negative errno of its code (protocol_error_code_to_errno: -EPERM for
 * permission_denied, -ENOENT for not_found, -EINVAL for invalid, -EBUSY...)
 * with ctl_client_error_code()/ctl_client_error_message() giving it. */
int ctl_call(CtlClient *c, const char *verb, json_object *args, int timeout_ms,
             json_object **ret_result, int *ret_fd);

/* The code ("permission_denied") and message of the daemon's error for the
 * last ctl_call() that failed with one; NULL otherwise. Valid until the next
 * call. */
const char *ctl_client_error_code(const CtlClient *c);
const char *ctl_client_error_message(const CtlClient *c);

/* Returns the next pushed event ({"event":...,"topic":...}), waiting up to
 * TIMEOUT_MS (0: only what has arrived; -1: no limit). Returns 0 with *ret
 * (a new reference), -ETIMEDOUT (also for TIMEOUT_MS 0 with nothing there),
 * -ECONNRESET if the daemon closed the connection, -EBADMSG. */
int ctl_read_event(CtlClient *c, int timeout_ms, json_object **ret);

/* Returns the socket, to poll() for POLLIN before ctl_read_event(c, 0, ...).
 * Queued events (ctl_client_pending_events) do not make it readable. */
int ctl_client_get_fd(const CtlClient *c);
/* Returns the number of events already queued. */
unsigned ctl_client_pending_events(const CtlClient *c);
