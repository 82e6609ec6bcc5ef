/* SPDX-License-Identifier: MIT */
#pragma once

/* The control socket server (docs/protocol.md): accepts connections on an
 * AF_UNIX stream socket on an sd-event loop, frames and parses requests
 * (protocol.h), checks privilege (peer.h), dispatches verbs to handlers the
 * manager registers, and pushes events to subscribers. It knows nothing of
 * pools: verbs' meanings are the handlers'. Built-in verbs: "subscribe" and
 * "unsubscribe".
 *
 * Everything runs on the loop's thread; nothing blocks: a peer that sends
 * half a request, reads nothing, floods, or goes away costs its own
 * connection, never another's. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "peer.h"
#include "protocol.h"

/* Where poold listens unless told otherwise. */
#define CONTROL_SOCKET_PATH PROTOCOL_SOCKET_PATH
/* The group whose members may use privileged verbs. */
#define CONTROL_PRIVILEGED_GROUP "poold"

typedef struct Control Control;
typedef struct ControlRequest ControlRequest;

typedef struct ControlLimits {
        size_t line_max;              /* request line, newline excluded */
        size_t write_buffer_max;      /* unsent bytes before a peer is dropped */
        unsigned connections_max;     /* simultaneous connections */
        uint64_t idle_timeout_usec;   /* no complete request for this long: closed */
        unsigned rate_max;            /* requests per rate_interval_usec before a drop */
        uint64_t rate_interval_usec;
        unsigned subscriptions_max;   /* topics per connection */
} ControlLimits;

/* Fills RET with the defaults documented in docs/protocol.md: 64 KiB lines,
 * 1 MiB write buffer, 128 connections, 60 s idle, 100 requests/s, 64 topics. */
void control_limits_default(ControlLimits *ret);

typedef enum ControlVerbFlags {
        CONTROL_VERB_PRIVILEGED = 1 << 0,   /* root and the privileged group only */
} ControlVerbFlags;

/* A handler's return value when it keeps a reference to REQ
 * (control_request_ref) and replies later with control_reply*(). Until
 * then the connection's further requests wait (replies stay in order);
 * pushed events still flow. */
#define CONTROL_DEFERRED 1

/* A verb handler. ARGS is the request's "args" object (never NULL; borrowed,
 * valid during the call). Returns 0 with *ret_result set (the reference is
 * taken; NULL means {}), a negative errno with RET_ERROR optionally filled
 * (protocol_error_set; left unset, the code comes from the errno), or
 * CONTROL_DEFERRED. */
typedef int (*ControlVerbHandler)(ControlRequest *req, json_object *args, void *userdata,
                                  json_object **ret_result, ProtocolError *ret_error);

/* Reads the credentials of a freshly accepted connection FD; the default is
 * peer_get(). Tests inject a fake. Returns 0 or a negative errno (the
 * connection is then refused). */
typedef int (*ControlCredentialFunction)(int fd, const char *group, Peer *ret, void *userdata);

/* Decides whether TOPIC (already syntax-checked) may be subscribed to by
 * PEER. Returns 0, or a negative errno with RET_ERROR optionally filled
 * (-ENOENT: no such pool). */
typedef int (*ControlTopicCheck)(const char *topic, const Peer *peer, void *userdata, ProtocolError *ret_error);

/* Creates a server for SOCKET_PATH (NULL: CONTROL_SOCKET_PATH) on EVENT,
 * not yet listening. Returns 0 or -ENOMEM, -ENAMETOOLONG (path over 107
 * bytes). */
int control_new(sd_event *event, const char *socket_path, Control **ret);
/* Closes every connection (deferred requests then reply into nothing), stops
 * listening, removes the socket file if this server made it and it is still
 * ours. Returns NULL. */
Control *control_free(Control *c);
static inline void control_freep(Control **c) {
        if (*c)
                control_free(*c);
}

/* Replaces the limits (before control_start). Returns 0 or -EINVAL for a
 * zero limit. */
int control_set_limits(Control *c, const ControlLimits *limits);
/* Sets the privileged group (default "poold"; NULL: root only). Returns 0 or -ENOMEM. */
int control_set_privileged_group(Control *c, const char *group);
/* Replaces how peers' credentials are read (NULL: peer_get). Returns 0. */
int control_set_credential_function(Control *c, ControlCredentialFunction fn, void *userdata);
/* Sets the check run on each subscribe (NULL: any valid topic). Returns 0. */
int control_set_topic_check(Control *c, ControlTopicCheck fn, void *userdata);

/* Registers FN for VERB. Returns 0, -EEXIST if VERB is taken (including the
 * built-in subscribe/unsubscribe), -EINVAL for an empty verb, -ENOMEM. */
int control_register_verb(Control *c, const char *verb, ControlVerbFlags flags,
                          ControlVerbHandler fn, void *userdata);

/* Starts listening: on the first AF_UNIX stream listening socket passed by
 * socket activation (sd_listen_fds), else on a socket it creates at the path
 * (parent directory made 0755 if missing, socket 0666; a stale socket nobody
 * listens on is replaced). Returns 0, -EADDRINUSE if a live server listens
 * there, -EEXIST if the path is not a socket, or another negative errno. */
int control_start(Control *c);
/* Starts listening on FD (a listening AF_UNIX stream socket, taken over).
 * Returns 0, -ENOTSOCK/-EINVAL if FD is not such a socket, or a negative errno. */
int control_start_fd(Control *c, int fd);
/* Returns the configured socket path (with socket activation, the socket
 * systemd passed may live elsewhere). */
const char *control_get_path(const Control *c);

/* Pushes EVENT (an object; a "topic" member is added if absent) as one line
 * to every connection subscribed to TOPIC. Subscribers whose unsent bytes
 * exceed the write buffer cap are dropped. Returns the number of
 * subscribers it was queued to, or -ENOMEM/-EINVAL. */
int control_broadcast(Control *c, const char *topic, json_object *event);
/* Returns the number of live connections subscribed to TOPIC. */
unsigned control_subscriber_count(const Control *c, const char *topic);
/* Returns the number of live connections. */
unsigned control_connection_count(const Control *c);

ControlRequest *control_request_ref(ControlRequest *req);
/* Drops a reference; returns NULL. An unanswered request whose last
 * reference goes is answered with an internal error. */
ControlRequest *control_request_unref(ControlRequest *req);
static inline void control_request_unrefp(ControlRequest **req) {
        if (*req)
                control_request_unref(*req);
}
/* Returns who sent REQ (valid while REQ is referenced). */
const Peer *control_request_get_peer(const ControlRequest *req);
/* Returns REQ's verb. */
const char *control_request_get_verb(const ControlRequest *req);
/* Returns true if REQ's connection is still open and subscribed to TOPIC. */
bool control_request_is_subscribed(const ControlRequest *req, const char *topic);
/* Sends a duplicate of FD with REQ's reply (SCM_RIGHTS); the caller keeps
 * FD. Returns 0, -EBADF, -EALREADY (already answered or an fd attached). */
int control_request_attach_fd(ControlRequest *req, int fd);

/* Answers REQ with RESULT (reference taken; NULL: {}). Returns 0 (also when
 * the client has gone: the answer is then dropped), -EALREADY if REQ was
 * answered already, -ENOMEM. */
int control_reply(ControlRequest *req, json_object *result);
/* control_request_attach_fd() and control_reply() together. */
int control_reply_with_fd(ControlRequest *req, json_object *result, int fd);
/* Answers REQ with an error (E NULL or unset code: internal). Returns as
 * control_reply. */
int control_reply_error(ControlRequest *req, const ProtocolError *e);
