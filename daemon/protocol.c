/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static const char *const error_code_table[_PROTOCOL_ERROR_CODE_MAX] = {
        [PROTOCOL_ERROR_BAD_REQUEST] = "bad_request",
        [PROTOCOL_ERROR_UNKNOWN_VERB] = "unknown_verb",
        [PROTOCOL_ERROR_TOO_LARGE] = "too_large",
        [PROTOCOL_ERROR_PERMISSION_DENIED] = "permission_denied",
        [PROTOCOL_ERROR_NOT_FOUND] = "not_found",
        [PROTOCOL_ERROR_INVALID] = "invalid",
        [PROTOCOL_ERROR_BUSY] = "busy",
        [PROTOCOL_ERROR_INTERNAL] = "internal",
};

static const int error_code_errno[_PROTOCOL_ERROR_CODE_MAX] = {
        [PROTOCOL_ERROR_BAD_REQUEST] = EBADMSG,
        [PROTOCOL_ERROR_UNKNOWN_VERB] = EOPNOTSUPP,
        [PROTOCOL_ERROR_TOO_LARGE] = EMSGSIZE,
        [PROTOCOL_ERROR_PERMISSION_DENIED] = EPERM,
        [PROTOCOL_ERROR_NOT_FOUND] = ENOENT,
        [PROTOCOL_ERROR_INVALID] = EINVAL,
        [PROTOCOL_ERROR_BUSY] = EBUSY,
        [PROTOCOL_ERROR_INTERNAL] = EIO,
};

const char *protocol_error_code_to_string(ProtocolErrorCode code) {
        if (code < 0 || code >= _PROTOCOL_ERROR_CODE_MAX)
                return NULL;
        return error_code_table[code];
}

ProtocolErrorCode protocol_error_code_from_string(const char *s) {
        if (!s)
                return _PROTOCOL_ERROR_CODE_UNSET;
        for (int i = 0; i < _PROTOCOL_ERROR_CODE_MAX; i++)
                if (strcmp(s, error_code_table[i]) == 0)
                        return (ProtocolErrorCode) i;
        return _PROTOCOL_ERROR_CODE_UNSET;
}

int protocol_error_code_to_errno(ProtocolErrorCode code) {
        if (code < 0 || code >= _PROTOCOL_ERROR_CODE_MAX)
                return -EPROTO;
        return -error_code_errno[code];
}

ProtocolErrorCode protocol_error_code_from_errno(int r) {
        switch (r < 0 ? -r : r) {
        case EBADMSG:
                return PROTOCOL_ERROR_BAD_REQUEST;
        case EOPNOTSUPP:
                return PROTOCOL_ERROR_UNKNOWN_VERB;
        case EMSGSIZE:
        case E2BIG:
                return PROTOCOL_ERROR_TOO_LARGE;
        case EPERM:
        case EACCES:
                return PROTOCOL_ERROR_PERMISSION_DENIED;
        case ENOENT:
        case ESRCH:
        case ENXIO:
                return PROTOCOL_ERROR_NOT_FOUND;
        case EINVAL:
        case ERANGE:
        case EDOM:
                return PROTOCOL_ERROR_INVALID;
        case EBUSY:
        case EAGAIN:
        case EALREADY:
                return PROTOCOL_ERROR_BUSY;
        default:
                return PROTOCOL_ERROR_INTERNAL;
        }
}

int protocol_error_set(ProtocolError *e, ProtocolErrorCode code, const char *format, ...) {
        if (e) {
                va_list ap;

                e->code = code;
                va_start(ap, format);
                /* Truncation is fine: the message is for humans. */
                if (vsnprintf(e->message, sizeof e->message, format, ap) < 0)
                        e->message[0] = '\0';
                va_end(ap);
        }
        return protocol_error_code_to_errno(code);
}

void line_buffer_init(LineBuffer *b, size_t max) {
        *b = (LineBuffer) { .max = max };
}

void line_buffer_done(LineBuffer *b) {
        free(b->data);
        line_buffer_init(b, b->max);
}

size_t line_buffer_pending(const LineBuffer *b) {
        return b->size - b->start;
}

int line_buffer_feed(LineBuffer *b, const void *data, size_t n) {
        const char *p = data;

        if (b->discarding) {
                /* The rest of an over-long line: drop bytes up to its newline
                 * without storing them, so a peer sending megabytes without a
                 * newline costs no memory. */
                const char *nl = memchr(p, '\n', n);
                if (!nl)
                        return 0;
                b->discarding = false;
                n -= (size_t) (nl + 1 - p);
                p = nl + 1;
        }
        if (n == 0)
                return 0;

        if (b->start > 0) {
                memmove(b->data, b->data + b->start, b->size - b->start);
                b->size -= b->start;
                b->scanned -= b->start;
                b->start = 0;
        }

        if (n > SIZE_MAX - b->size - 1)
                return -ENOMEM;
        if (b->size + n + 1 > b->allocated) {
                size_t want = MAX(b->allocated * 2, b->size + n + 1);
                want = MAX(want, (size_t) 4096);
                char *d = realloc(b->data, want);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->allocated = want;
        }
        memcpy(b->data + b->size, p, n);
        b->size += n;
        b->data[b->size] = '\0';
        return 0;
}

int line_buffer_next(LineBuffer *b, char **ret_line, size_t *ret_len) {
        if (b->start >= b->size) {
                b->start = b->size = b->scanned = 0;
                return 0;
        }

        size_t from = MAX(b->scanned, b->start);
        char *nl = memchr(b->data + from, '\n', b->size - from);
        if (!nl) {
                b->scanned = b->size;
                if (b->size - b->start > b->max) {
                        b->start = b->size = b->scanned = 0;
                        b->discarding = true;
                        return -EMSGSIZE;
                }
                return 0;
        }

        size_t end = (size_t) (nl - b->data);
        size_t len = end - b->start;
        char *line = b->data + b->start;

        b->start = b->scanned = end + 1;
        if (len > b->max)
                return -EMSGSIZE;

        *nl = '\0';
        *ret_line = line;
        *ret_len = len;
        return 1;
}

void protocol_request_done(ProtocolRequest *r) {
        json_object_put(r->id);
        json_object_put(r->args);
        free(r->verb);
        *r = (ProtocolRequest) {};
}

static bool is_json_space(char c) {
        /* RFC 8259 whitespace: a "\r\n" from telnet or nc -C is accepted. */
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Returns the offset of the first byte that is not part of well-formed
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), or LEN if all is well. json-c's own check lets overlong forms
 * such as C0 AF ("/") through. */
static size_t utf8_invalid_offset(const unsigned char *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                unsigned char c = s[i];
                size_t n;
                unsigned char lo = 0x80, hi = 0xbf;   /* range of the second byte */

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1;
                else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        if (c == 0xe0)
                                lo = 0xa0;    /* overlong below U+0800 */
                        else if (c == 0xed)
                                hi = 0x9f;    /* surrogates U+D800..DFFF */
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        if (c == 0xf0)
                                lo = 0x90;    /* overlong below U+10000 */
                        else if (c == 0xf4)
                                hi = 0x8f;    /* past U+10FFFF */
                } else
                        return i;

                if (len - i <= n)
                        return i;
                if (s[i + 1] < lo || s[i + 1] > hi)
                        return i;
                for (size_t k = 2; k <= n; k++)
                        if ((s[i + k] & 0xc0) != 0x80)
                                return i;
                i += n + 1;
        }
        return len;
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

int protocol_parse_message(const char *line, size_t len, json_object **ret, ProtocolError *ret_error) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;

        /* json-c would stop at a NUL and call the rest trailing data; say
         * what is really wrong instead. */
        const char *nul = memchr(line, '\0', len);
        if (nul)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                          "message contains a NUL byte at offset %zu", (size_t) (nul - line));
        size_t bad = utf8_invalid_offset((const unsigned char *) line, len);
        if (bad < len)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                          "message is not valid UTF-8 at byte %zu", bad);
        if (len >= INT32_MAX)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST, "message too long");

        tok = json_tokener_new_ex(PROTOCOL_DEPTH_MAX);
        if (!tok)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INTERNAL, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                            JSON_TOKENER_VALIDATE_UTF8);

        /* LEN + 1 passes the terminating NUL, which tells json-c the input
         * ends here (a bare number would otherwise be "incomplete"). */
        json_object *o = json_tokener_parse_ex(tok, line, (int) len + 1);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_success) {
                json_object_put(o);
                switch (jerr) {
                case json_tokener_continue:
                case json_tokener_error_parse_eof:
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                                  "incomplete JSON");
                case json_tokener_error_depth:
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                                  "JSON nested deeper than %d levels", PROTOCOL_DEPTH_MAX);
                case json_tokener_error_parse_utf8_string:
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                                  "message is not valid UTF-8");
                default:
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                                  "malformed JSON near byte %zu: %s",
                                                  json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
                }
        }
        if (!o)
                /* "null" parses to a NULL object with success. */
                return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                          "message must be a JSON object, got null");

        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (!is_json_space(line[i])) {
                        json_object_put(o);
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                                  "trailing data after the JSON object at byte %zu", i);
                }

        if (!json_object_is_type(o, json_type_object)) {
                int r = protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                           "message must be a JSON object, got %s",
                                           json_type_to_name(json_object_get_type(o)));
                json_object_put(o);
                return r;
        }

        *ret = o;
        return 0;
}

int protocol_parse_request(const char *line, size_t len, ProtocolRequest *ret, ProtocolError *ret_error) {
        json_object *o = NULL, *v;
        int r;

        *ret = (ProtocolRequest) {};

        r = protocol_parse_message(line, len, &o, ret_error);
        if (r < 0)
                return r;

        /* The id first, so every later error can be matched by the client. */
        if (json_object_object_get_ex(o, "id", &v))
                ret->id = json_object_get(v);

        if (!json_object_object_get_ex(o, "verb", &v) || !v) {
                r = protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST, "missing \"verb\"");
                goto fail;
        }
        if (!json_object_is_type(v, json_type_string)) {
                r = protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                       "\"verb\" must be a string, got %s",
                                       json_type_to_name(json_object_get_type(v)));
                goto fail;
        }
        ret->verb = strndup(json_object_get_string(v), (size_t) json_object_get_string_len(v));
        if (!ret->verb) {
                r = protocol_error_set(ret_error, PROTOCOL_ERROR_INTERNAL, "out of memory");
                goto fail;
        }

        if (json_object_object_get_ex(o, "args", &v) && v) {
                if (!json_object_is_type(v, json_type_object)) {
                        r = protocol_error_set(ret_error, PROTOCOL_ERROR_BAD_REQUEST,
                                               "\"args\" must be an object, got %s",
                                               json_type_to_name(json_object_get_type(v)));
                        goto fail;
                }
                ret->args = json_object_get(v);
        } else {
                ret->args = json_object_new_object();
                if (!ret->args) {
                        r = protocol_error_set(ret_error, PROTOCOL_ERROR_INTERNAL, "out of memory");
                        goto fail;
                }
        }

        json_object_put(o);
        return 0;

fail:
        /* Keep the id for the error reply; drop the rest. */
        json_object_put(o);
        free(ret->verb);
        ret->verb = NULL;
        json_object_put(ret->args);
        ret->args = NULL;
        return r;
}

/* json_object_object_add() that drops VALUE on failure. */
static int object_add(json_object *o, const char *key, json_object *value) {
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

json_object *protocol_reply_ok(json_object *id, json_object *result) {
        json_object *o = json_object_new_object();

        if (!result)
                result = json_object_new_object();
        if (!o || !result ||
            object_add(o, "id", json_object_get(id)) < 0 ||
            object_add(o, "ok", json_object_new_boolean(1)) < 0 ||
            object_add(o, "result", TAKE_PTR(result)) < 0) {
                json_object_put(result);
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *protocol_reply_error(json_object *id, const ProtocolError *e) {
        ProtocolErrorCode code = e ? e->code : PROTOCOL_ERROR_INTERNAL;
        const char *s = protocol_error_code_to_string(code);
        const char *message = e && e->message[0] ? e->message : NULL;

        if (!s) {
                s = protocol_error_code_to_string(PROTOCOL_ERROR_INTERNAL);
                if (!message)
                        message = "internal error";
        }
        if (!message)
                message = s;

        json_object *o = json_object_new_object();
        json_object *err = json_object_new_object();
        if (!o || !err ||
            object_add(err, "code", json_object_new_string(s)) < 0 ||
            object_add(err, "message", json_object_new_string(message)) < 0 ||
            object_add(o, "id", json_object_get(id)) < 0 ||
            object_add(o, "ok", json_object_new_boolean(0)) < 0 ||
            object_add(o, "error", TAKE_PTR(err)) < 0) {
                json_object_put(err);
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *protocol_request_build(json_object *id, const char *verb, json_object *args) {
        json_object *o = json_object_new_object();

        if (!o ||
            object_add(o, "id", json_object_get(id)) < 0 ||
            object_add(o, "verb", json_object_new_string(verb)) < 0 ||
            (args && object_add(o, "args", json_object_get(args)) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int protocol_serialize(json_object *msg, char **ret, size_t *ret_len) {
        size_t len;
        const char *s = json_object_to_json_string_length(
                msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;

        char *buf = malloc(len + 2);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, s, len);
        buf[len] = '\n';
        buf[len + 1] = '\0';
        *ret = buf;
        *ret_len = len + 1;
        return 0;
}

static int get_field(json_object *args, const char *field, bool required, json_type type,
                     const char *what, json_object **ret, ProtocolError *ret_error) {
        json_object *v = NULL;

        if (args && json_object_is_type(args, json_type_object))
                (void) json_object_object_get_ex(args, field, &v);
        if (!v) {
                if (required)
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                                  "missing argument \"%s\"", field);
                return 0;
        }
        if (!json_object_is_type(v, type))
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                          "argument \"%s\" must be %s, got %s", field, what,
                                          json_type_to_name(json_object_get_type(v)));
        *ret = v;
        return 1;
}

int protocol_get_string(json_object *args, const char *field, bool required, const char **ret, ProtocolError *ret_error) {
        json_object *v;
        int r = get_field(args, field, required, json_type_string, "a string", &v, ret_error);
        if (r <= 0)
                return r;
        const char *s = json_object_get_string(v);
        if (strlen(s) != (size_t) json_object_get_string_len(v))
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                          "argument \"%s\" contains a NUL character", field);
        *ret = s;
        return 1;
}

int protocol_get_uint64(json_object *args, const char *field, bool required, uint64_t *ret, ProtocolError *ret_error) {
        json_object *v;
        int r = get_field(args, field, required, json_type_int, "an integer", &v, ret_error);
        if (r <= 0)
                return r;
        /* json-c keeps integers as int64 or, above INT64_MAX, uint64; a
         * negative one reads back negative as int64. */
        if (json_object_get_int64(v) < 0)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                          "argument \"%s\" must not be negative", field);
        /* json-c saturates integers past 2^64-1 to UINT64_MAX, so that value
         * cannot be told from an overflow: refuse it. */
        uint64_t u = json_object_get_uint64(v);
        if (u == UINT64_MAX)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                          "argument \"%s\" is out of range", field);
        *ret = u;
        return 1;
}

int protocol_get_int64(json_object *args, const char *field, bool required, int64_t *ret, ProtocolError *ret_error) {
        json_object *v;
        int r = get_field(args, field, required, json_type_int, "an integer", &v, ret_error);
        if (r <= 0)
                return r;
        int64_t i = json_object_get_int64(v);
        /* get_int64 clamps a uint64 above INT64_MAX to INT64_MAX. */
        if ((i == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX) ||
            i == INT64_MIN /* saturated, like UINT64_MAX above */)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                          "argument \"%s\" is out of range", field);
        *ret = i;
        return 1;
}

int protocol_get_bool(json_object *args, const char *field, bool required, bool *ret, ProtocolError *ret_error) {
        json_object *v;
        int r = get_field(args, field, required, json_type_boolean, "a boolean", &v, ret_error);
        if (r <= 0)
                return r;
        *ret = json_object_get_boolean(v);
        return 1;
}

int protocol_get_object(json_object *args, const char *field, bool required, json_object **ret, ProtocolError *ret_error) {
        return get_field(args, field, required, json_type_object, "an object", ret, ret_error);
}

int protocol_get_array(json_object *args, const char *field, bool required, json_object **ret, ProtocolError *ret_error) {
        return get_field(args, field, required, json_type_array, "an array", ret, ret_error);
}

int protocol_check_fields(json_object *args, const char *const *allowed, ProtocolError *ret_error) {
        if (!args || !json_object_is_type(args, json_type_object))
                return 0;

        json_object_object_foreach(args, key, value) {
                bool found = false;
                (void) value;
                for (const char *const *a = allowed; a && *a; a++)
                        if (strcmp(*a, key) == 0) {
                                found = true;
                                break;
                        }
                if (!found)
                        return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID,
                                                  "unknown argument \"%.64s\"", key);
        }
        return 0;
}

/* Length of a pool-name segment at S ([a-z][a-z0-9_]{0,31}), 0 if none. */
static size_t segment_length(const char *s) {
        size_t n = 0;

        if (!(s[0] >= 'a' && s[0] <= 'z'))
                return 0;
        for (n = 1; s[n]; n++) {
                char c = s[n];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                        break;
        }
        /* 32: names become unit names (poold-NAME.slice); see pools/config.h. */
        return n <= 32 ? n : 0;
}

bool protocol_pool_name_is_valid(const char *s) {
        if (!s)
                return false;
        size_t n = segment_length(s);
        return n > 0 && s[n] == '\0';
}

bool protocol_topic_is_valid(const char *s) {
        if (!s)
                return false;
        size_t n = segment_length(s);
        if (n == 0)
                return false;
        if (s[n] == '\0')
                return true;
        if (s[n] != '/')
                return false;
        return protocol_pool_name_is_valid(s + n + 1);
}
