/* SPDX-License-Identifier: MIT */
#pragma once

/* The control socket's wire protocol (docs/protocol.md): newline-delimited
 * JSON requests, replies and pushed events. Pure: no sockets, clocks or
 * globals, only libc and json-c, so the client library can compile it in.
 *
 *   request: {"id": <any, echoed>, "verb": "status", "args": {...}}
 *   reply:   {"id": ..., "ok": true, "result": {...}}
 *            {"id": ..., "ok": false, "error": {"code": "invalid", "message": "..."}}
 *   event:   {"event": "shrink", "topic": "pool/data", ...} */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Where poold listens by default (RUNSTATEDIR comes from the Makefile);
 * the server and the client take the path as a parameter. */
#define PROTOCOL_SOCKET_PATH RUNSTATEDIR "/poold/control.sock"

/* The longest request line the daemon accepts, newline excluded: 64 KiB is
 * a hundred times the largest request we send (a "set" with a few pools,
 * ~500 bytes) and small enough that 128 connections cost 8 MiB at worst. */
#define PROTOCOL_LINE_MAX ((size_t) 65536)

/* Nesting limit for requests: json-c's own default (32). Our requests nest
 * three levels deep; the limit only bounds the parser's recursion. */
#define PROTOCOL_DEPTH_MAX 32

/* Error messages are cut to this many bytes (with the NUL). */
#define PROTOCOL_MESSAGE_MAX 256

/* Topic names ("events", "pool/data"): one or two segments of
 * [a-z][a-z0-9_]{0,31} joined by '/', so at most 65 bytes. */
#define PROTOCOL_TOPIC_MAX 65

/* The stable error codes of a failed reply. Their strings are the wire
 * format: never renumber the strings, only add. */
typedef enum ProtocolErrorCode {
        PROTOCOL_ERROR_BAD_REQUEST,       /* "bad_request": not a well-formed request */
        PROTOCOL_ERROR_UNKNOWN_VERB,      /* "unknown_verb" */
        PROTOCOL_ERROR_TOO_LARGE,         /* "too_large": line over PROTOCOL_LINE_MAX */
        PROTOCOL_ERROR_PERMISSION_DENIED, /* "permission_denied" */
        PROTOCOL_ERROR_NOT_FOUND,         /* "not_found": no such pool, topic... */
        PROTOCOL_ERROR_INVALID,           /* "invalid": a well-formed request with bad arguments */
        PROTOCOL_ERROR_BUSY,              /* "busy": try again later */
        PROTOCOL_ERROR_INTERNAL,          /* "internal": the daemon failed */
        _PROTOCOL_ERROR_CODE_MAX,
        _PROTOCOL_ERROR_CODE_UNSET = -1,
} ProtocolErrorCode;

/* An error code with its human message, filled by the parsing and argument
 * helpers and by verb handlers. */
typedef struct ProtocolError {
        ProtocolErrorCode code;
        char message[PROTOCOL_MESSAGE_MAX];
} ProtocolError;

#define PROTOCOL_ERROR_INIT { .code = _PROTOCOL_ERROR_CODE_UNSET }

/* Returns the wire string of CODE ("bad_request"...), or NULL if out of range. */
const char *protocol_error_code_to_string(ProtocolErrorCode code);
/* Returns the code named S, or _PROTOCOL_ERROR_CODE_UNSET if S is unknown. */
ProtocolErrorCode protocol_error_code_from_string(const char *s);
/* Returns the negative errno a client reports for CODE: bad_request -EBADMSG,
 * unknown_verb -EOPNOTSUPP, too_large -EMSGSIZE, permission_denied -EPERM,
 * not_found -ENOENT, invalid -EINVAL, busy -EBUSY, internal -EIO; -EPROTO for
 * anything else. */
int protocol_error_code_to_errno(ProtocolErrorCode code);
/* Returns the code a handler's negative errno R maps to (the inverse of the
 * above, plus -EACCES permission_denied, -EAGAIN busy, -ERANGE invalid...);
 * internal for anything unlisted. */
ProtocolErrorCode protocol_error_code_from_errno(int r);

/* Sets E's code and formatted message (cut to PROTOCOL_MESSAGE_MAX). E may be
 * NULL. Returns protocol_error_code_to_errno(CODE), so handlers can `return
 * protocol_error_set(...)`. */
int protocol_error_set(ProtocolError *e, ProtocolErrorCode code, const char *format, ...) _printf_(3, 4);

/* Splits a byte stream into lines of at most MAX bytes (newline excluded). */
typedef struct LineBuffer {
        char *data;
        size_t start;      /* first byte not yet returned as a line */
        size_t size;       /* bytes held, from data[0] */
        size_t allocated;
        size_t scanned;    /* data[start..scanned) holds no newline */
        size_t max;
        bool discarding;   /* skipping the rest of an over-long line */
} LineBuffer;

/* Prepares B for lines of at most MAX bytes. */
void line_buffer_init(LineBuffer *b, size_t max);
/* Frees B's memory; B may be initialised again. */
void line_buffer_done(LineBuffer *b);
/* Appends N bytes. Returns 0 or -ENOMEM. Invalidates lines returned before. */
int line_buffer_feed(LineBuffer *b, const void *data, size_t n);
/* Takes the next complete line. Returns 1 with *ret_line (NUL-terminated in
 * place, newline removed, valid until the next feed) and *ret_len (which
 * counts embedded NULs); 0 if no complete line is held; -EMSGSIZE once for
 * each line longer than the maximum, whose bytes are then skipped up to and
 * including its newline. */
int line_buffer_next(LineBuffer *b, char **ret_line, size_t *ret_len);
/* Returns the number of bytes held that are not yet part of a returned line. */
size_t line_buffer_pending(const LineBuffer *b);

/* A parsed request. */
typedef struct ProtocolRequest {
        json_object *id;     /* any JSON value, NULL if absent; echoed */
        char *verb;
        json_object *args;   /* always an object (empty if absent or null) */
} ProtocolRequest;

/* Frees the members of R (not R itself); R may be reused afterwards. */
void protocol_request_done(ProtocolRequest *r);

/* Parses one request line of LEN bytes (no newline; LINE[LEN] must be NUL).
 * Returns 0 and fills RET; or -EBADMSG with RET_ERROR set (code bad_request)
 * and RET->id holding the request's id when it could be read, so the error
 * reply can echo it (RET must then still be cleared with
 * protocol_request_done). */
int protocol_parse_request(const char *line, size_t len, ProtocolRequest *ret, ProtocolError *ret_error);

/* Parses one reply or event line (for clients): like protocol_parse_request
 * but accepts any object. Returns 0 with *ret (a new reference), or -EBADMSG
 * with RET_ERROR set. */
int protocol_parse_message(const char *line, size_t len, json_object **ret, ProtocolError *ret_error);

/* Builds {"id":ID,"ok":true,"result":RESULT}. Takes RESULT's reference (NULL
 * means {}); ID is borrowed (NULL means null). Returns the object or NULL on
 * OOM. */
json_object *protocol_reply_ok(json_object *id, json_object *result);
/* Builds {"id":ID,"ok":false,"error":{"code":..,"message":..}}. An unset code
 * becomes internal. Returns the object or NULL on OOM. */
json_object *protocol_reply_error(json_object *id, const ProtocolError *e);
/* Builds {"id":ID,"verb":VERB,"args":ARGS} (ARGS borrowed, NULL: omitted). */
json_object *protocol_request_build(json_object *id, const char *verb, json_object *args);

/* Serializes MSG as one line: compact JSON and a '\n' (strings escape
 * newlines, so the line has exactly one). Returns 0 with *ret (malloc'd) and
 * *ret_len (newline included), or -ENOMEM. */
int protocol_serialize(json_object *msg, char **ret, size_t *ret_len);

/* Argument helpers for verb handlers. Each looks up FIELD in the object
 * ARGS; a null value counts as absent. Returns 1 with *ret set when present
 * and of the right type; 0 when absent and not REQUIRED (*ret untouched);
 * -EINVAL with RET_ERROR set (code invalid, message naming FIELD) when
 * absent and REQUIRED or of the wrong type. */
int protocol_get_string(json_object *args, const char *field, bool required, const char **ret, ProtocolError *ret_error);
/* Integers only (no 1.0, no "1"): uint64 0..2^64-2, int64 -2^63+1..2^63-1
 * (json-c saturates larger literals to the extremes, so those are refused). */
int protocol_get_uint64(json_object *args, const char *field, bool required, uint64_t *ret, ProtocolError *ret_error);
int protocol_get_int64(json_object *args, const char *field, bool required, int64_t *ret, ProtocolError *ret_error);
int protocol_get_bool(json_object *args, const char *field, bool required, bool *ret, ProtocolError *ret_error);
/* *ret is borrowed from ARGS. */
int protocol_get_object(json_object *args, const char *field, bool required, json_object **ret, ProtocolError *ret_error);
int protocol_get_array(json_object *args, const char *field, bool required, json_object **ret, ProtocolError *ret_error);
/* Returns 0 if every member of ARGS is named in the NULL-terminated ALLOWED,
 * else -EINVAL with RET_ERROR naming the first unknown member. */
int protocol_check_fields(json_object *args, const char *const *allowed, ProtocolError *ret_error);

/* Returns true for a pool name as poold.conf allows it: [a-z][a-z0-9_]{0,31}. */
bool protocol_pool_name_is_valid(const char *s);
/* Returns true for a topic: one or two '/'-joined segments, each a valid
 * pool name ("events", "pool/data"). Which topics exist is the daemon's. */
bool protocol_topic_is_valid(const char *s);
