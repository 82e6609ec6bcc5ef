/* SPDX-License-Identifier: MIT */
/* The control protocol's pure parts: framing, request parsing and
 * validation, reply building, argument helpers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* Parses LINE (a C string) and expects bad_request with a message
 * containing WANT. Returns the recovered id (a new reference, or NULL). */
static json_object *expect_bad(const char *line, size_t len, const char *want) {
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;

        int k = protocol_parse_request(line, len, &r, &e);
        ck_assert_msg(k == -EBADMSG, "%s: returned %d", line, k);
        ck_assert_int_eq(e.code, PROTOCOL_ERROR_BAD_REQUEST);
        ck_assert_msg(strstr(e.message, want), "%s: message \"%s\" lacks \"%s\"", line, e.message, want);
        ck_assert_ptr_null(r.verb);
        ck_assert_ptr_null(r.args);
        json_object *id = json_object_get(r.id);
        protocol_request_done(&r);
        return id;
}

static void expect_bad_str(const char *line, const char *want) {
        json_object_put(expect_bad(line, strlen(line), want));
}

START_TEST(test_error_codes) {
        static const char *names[] = {
                "bad_request", "unknown_verb", "too_large", "permission_denied",
                "not_found", "invalid", "busy", "internal",
        };
        static const int errnos[] = {
                -EBADMSG, -EOPNOTSUPP, -EMSGSIZE, -EPERM, -ENOENT, -EINVAL, -EBUSY, -EIO,
        };

        ck_assert_int_eq(_PROTOCOL_ERROR_CODE_MAX, 8);
        for (int i = 0; i < _PROTOCOL_ERROR_CODE_MAX; i++) {
                ck_assert_str_eq(protocol_error_code_to_string(i), names[i]);
                ck_assert_int_eq(protocol_error_code_from_string(names[i]), i);
                ck_assert_int_eq(protocol_error_code_to_errno(i), errnos[i]);
                /* errno -> code -> errno is the identity for the listed ones. */
                ck_assert_int_eq(protocol_error_code_from_errno(errnos[i]), i);
        }
        ck_assert_ptr_null(protocol_error_code_to_string(_PROTOCOL_ERROR_CODE_MAX));
        ck_assert_ptr_null(protocol_error_code_to_string(_PROTOCOL_ERROR_CODE_UNSET));
        ck_assert_int_eq(protocol_error_code_from_string("nope"), _PROTOCOL_ERROR_CODE_UNSET);
        ck_assert_int_eq(protocol_error_code_from_string(NULL), _PROTOCOL_ERROR_CODE_UNSET);
        ck_assert_int_eq(protocol_error_code_to_errno(_PROTOCOL_ERROR_CODE_UNSET), -EPROTO);
        ck_assert_int_eq(protocol_error_code_from_errno(-EACCES), PROTOCOL_ERROR_PERMISSION_DENIED);
        ck_assert_int_eq(protocol_error_code_from_errno(-EAGAIN), PROTOCOL_ERROR_BUSY);
        ck_assert_int_eq(protocol_error_code_from_errno(-ERANGE), PROTOCOL_ERROR_INVALID);
        ck_assert_int_eq(protocol_error_code_from_errno(-ENOSPC), PROTOCOL_ERROR_INTERNAL);

        ProtocolError e = PROTOCOL_ERROR_INIT;
        ck_assert_int_eq(protocol_error_set(&e, PROTOCOL_ERROR_NOT_FOUND, "no pool %s", "data"), -ENOENT);
        ck_assert_int_eq(e.code, PROTOCOL_ERROR_NOT_FOUND);
        ck_assert_str_eq(e.message, "no pool data");
        ck_assert_int_eq(protocol_error_set(NULL, PROTOCOL_ERROR_BUSY, "x"), -EBUSY);

        /* Long messages are cut, not overflowed. */
        char big[1000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        protocol_error_set(&e, PROTOCOL_ERROR_INVALID, "%s", big);
        ck_assert_uint_eq(strlen(e.message), PROTOCOL_MESSAGE_MAX - 1);
}
END_TEST

START_TEST(test_parse_valid) {
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;
        const char *line = "{\"verb\":\"status\"}";

        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        ck_assert_str_eq(r.verb, "status");
        ck_assert_ptr_null(r.id);
        ck_assert(json_object_is_type(r.args, json_type_object));
        ck_assert_int_eq(json_object_object_length(r.args), 0);
        protocol_request_done(&r);

        /* Whitespace around, \r\n from telnet, members in any order,
         * unknown members ignored, args null = absent. */
        line = " \t{ \"args\" : null , \"x\": 1, \"verb\" : \"set\", \"id\" : 7 } \r";
        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        ck_assert_str_eq(r.verb, "set");
        ck_assert_int_eq(json_object_get_int(r.id), 7);
        ck_assert_int_eq(json_object_object_length(r.args), 0);
        protocol_request_done(&r);

        line = "{\"id\":\"a\",\"verb\":\"set\",\"args\":{\"pool\":\"data\",\"target\":1073741824}}";
        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        const char *pool = NULL;
        uint64_t target = 0;
        ck_assert_int_eq(protocol_get_string(r.args, "pool", true, &pool, &e), 1);
        ck_assert_str_eq(pool, "data");
        ck_assert_int_eq(protocol_get_uint64(r.args, "target", true, &target, &e), 1);
        ck_assert_uint_eq(target, 1073741824ULL);
        protocol_request_done(&r);
}
END_TEST

START_TEST(test_parse_malformed) {
        /* Not JSON. */
        expect_bad_str("hello", "malformed JSON");
        expect_bad_str("{verb:status}", "malformed JSON");
        /* Strict JSON: no single quotes, no trailing commas, no comments. */
        expect_bad_str("{'verb':'status'}", "malformed JSON");
        expect_bad_str("{\"verb\":\"status\",}", "malformed JSON");
        expect_bad_str("{\"verb\":\"status\"} // hi", "trailing data");
        /* Cut short. */
        expect_bad_str("{\"verb\":\"status\"", "incomplete JSON");
        expect_bad_str("", "incomplete JSON");

        /* JSON, not an object. */
        expect_bad_str("[1,2]", "must be a JSON object, got array");
        expect_bad_str("\"status\"", "must be a JSON object, got string");
        expect_bad_str("42", "must be a JSON object, got int");
        expect_bad_str("true", "must be a JSON object, got boolean");
        expect_bad_str("null", "must be a JSON object, got null");

        /* Missing verb, verb of the wrong type (null counts as missing). */
        expect_bad_str("{}", "missing \"verb\"");
        expect_bad_str("{\"verb\":null}", "missing \"verb\"");
        expect_bad_str("{\"verb\":5}", "\"verb\" must be a string, got int");
        expect_bad_str("{\"verb\":[\"status\"]}", "\"verb\" must be a string, got array");
        expect_bad_str("{\"verb\":{}}", "\"verb\" must be a string, got object");

        /* Args that are not an object. */
        expect_bad_str("{\"verb\":\"set\",\"args\":[1]}", "\"args\" must be an object, got array");
        expect_bad_str("{\"verb\":\"set\",\"args\":\"pool=data\"}", "\"args\" must be an object, got string");
        expect_bad_str("{\"verb\":\"set\",\"args\":3}", "\"args\" must be an object, got int");

        /* Trailing garbage after the object: a second object, a bracket, text. */
        expect_bad_str("{\"verb\":\"status\"}{\"verb\":\"status\"}", "trailing data");
        expect_bad_str("{\"verb\":\"status\"}]", "trailing data");
        expect_bad_str("{\"verb\":\"status\"} x", "trailing data after the JSON object at byte 18");
}
END_TEST

START_TEST(test_parse_id_recovered_on_error) {
        /* Errors after the id was read echo it. */
        const char *line = "{\"id\":[1,\"x\"],\"verb\":5}";
        json_object *id = expect_bad(line, strlen(line), "must be a string");
        ck_assert_ptr_nonnull(id);
        ck_assert_str_eq(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN), "[1,\"x\"]");
        json_object_put(id);

        line = "{\"id\":\"q1\",\"verb\":\"set\",\"args\":7}";
        id = expect_bad(line, strlen(line), "\"args\"");
        ck_assert_str_eq(json_object_get_string(id), "q1");
        json_object_put(id);

        /* Unparseable: no id. */
        id = expect_bad("{\"id\":3,", 7, "incomplete");
        ck_assert_ptr_null(id);
}
END_TEST

START_TEST(test_id_echoed_every_type) {
        /* Each id as sent (compact); the reply must carry it back exactly. */
        static const char *ids[] = {
                "null", "true", "false", "0", "-5", "9223372036854775807",
                "18446744073709551615", "1.5", "-2.25e-3", "\"\"", "\"req-1\"",
                "\"\\u00fcn\\u00efc\\u00f6de\"", "\"\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "de\"", "\"tab\\tnl\\n\"",
                "[]", "[1,{\"a\":[null,true]}]", "{}", "{\"k\":{\"n\":[1,2,3]}}",
        };

        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                char line[512];
                ProtocolRequest r;
                ProtocolError e = PROTOCOL_ERROR_INIT;
                char *out = NULL;
                size_t len;

                snprintf(line, sizeof line, "{\"id\":%s,\"verb\":\"status\"}", ids[i]);
                ck_assert_msg(protocol_parse_request(line, strlen(line), &r, &e) == 0, "%s: %s", line, e.message);

                /* OK reply. */
                json_object *reply = protocol_reply_ok(r.id, NULL);
                ck_assert_ptr_nonnull(reply);
                ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
                json_object *back = NULL;
                ck_assert_int_eq(protocol_parse_message(out, len - 1, &back, &e), 0);
                json_object *bid = NULL;
                ck_assert(json_object_object_get_ex(back, "id", &bid));
                /* The same value, parsed back from the wire. */
                ck_assert_msg(json_object_equal(bid, r.id) || (!bid && !r.id), "id %s not echoed: %s", ids[i], out);
                json_object_put(back);
                free(out);
                json_object_put(reply);

                /* Error reply echoes it too. */
                ProtocolError err;
                protocol_error_set(&err, PROTOCOL_ERROR_INVALID, "bad");
                reply = protocol_reply_error(r.id, &err);
                ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
                ck_assert_int_eq(protocol_parse_message(out, len - 1, &back, &e), 0);
                ck_assert(json_object_object_get_ex(back, "id", &bid));
                ck_assert_msg(json_object_equal(bid, r.id) || (!bid && !r.id), "id %s not echoed: %s", ids[i], out);
                json_object_put(back);
                free(out);
                json_object_put(reply);

                protocol_request_done(&r);
        }

        /* Numbers keep their spelling (no 1.5 -> 1.5000000000000000). */
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;
        char *out;
        size_t len;
        const char *line = "{\"id\":1.5,\"verb\":\"x\"}";
        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        json_object *reply = protocol_reply_ok(r.id, NULL);
        ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":1.5,\"ok\":true,\"result\":{}}\n");
        free(out);
        json_object_put(reply);
        protocol_request_done(&r);

        /* No id at all: the reply says null. */
        line = "{\"verb\":\"x\"}";
        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        reply = protocol_reply_ok(r.id, NULL);
        ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":null,\"ok\":true,\"result\":{}}\n");
        free(out);
        json_object_put(reply);
        protocol_request_done(&r);
}
END_TEST

START_TEST(test_embedded_nul) {
        /* The NUL and everything after it are part of the line: refused,
         * not silently cut at the NUL. */
        static const char line1[] = "{\"verb\":\"status\"}\0{\"verb\":\"reload\"}";
        json_object_put(expect_bad(line1, sizeof line1 - 1, "NUL byte at offset 17"));
        static const char line2[] = "{\"verb\":\"sta\0tus\"}";
        json_object_put(expect_bad(line2, sizeof line2 - 1, "NUL byte at offset 12"));
        static const char line3[] = "\0";
        json_object_put(expect_bad(line3, 1, "NUL byte at offset 0"));

        /* Through the line buffer: NULs are counted in the length. */
        LineBuffer b;
        char *l;
        size_t len;
        line_buffer_init(&b, 100);
        ck_assert_int_eq(line_buffer_feed(&b, "a\0b\n", 4), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_uint_eq(len, 3);
        ck_assert_int_eq(memcmp(l, "a\0b", 3), 0);
        line_buffer_done(&b);

        /* An escaped NUL inside a string is valid JSON, but not in an
         * argument we hand to C as a string. */
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;
        const char *s = NULL;
        const char *line = "{\"verb\":\"x\",\"args\":{\"pool\":\"da\\u0000ta\"}}";
        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        ck_assert_int_eq(protocol_get_string(r.args, "pool", true, &s, &e), -EINVAL);
        ck_assert(strstr(e.message, "NUL"));
        protocol_request_done(&r);
}
END_TEST

START_TEST(test_non_utf8) {
        expect_bad_str("{\"verb\":\"\xff\"}", "not valid UTF-8");
        /* Overlong encoding of '/'. */
        expect_bad_str("{\"verb\":\"x\",\"args\":{\"pool\":\"\xc0\xaf\"}}", "not valid UTF-8");
        /* A truncated sequence. */
        expect_bad_str("{\"verb\":\"\xe2\x82\"}", "not valid UTF-8");
        /* A UTF-16 surrogate, and a code point past U+10FFFF. */
        expect_bad_str("{\"verb\":\"\xed\xa0\x80\"}", "not valid UTF-8 at byte 9");
        expect_bad_str("{\"verb\":\"\xf4\x90\x80\x80\"}", "not valid UTF-8 at byte 9");
        /* Outside a string. */
        expect_bad_str("\xfe{\"verb\":\"x\"}", "not valid UTF-8 at byte 0");

        /* Valid UTF-8 passes untouched. */
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;
        const char *line = "{\"verb\":\"x\",\"args\":{\"who\":\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80\"}}";
        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);
        const char *who;
        ck_assert_int_eq(protocol_get_string(r.args, "who", true, &who, &e), 1);
        ck_assert_str_eq(who, "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80");
        protocol_request_done(&r);
}
END_TEST

static char *nested(int arrays) {
        /* {"verb":"x","args":{"a":[[...]]}}: the object and args are two
         * levels, each array one more. */
        size_t size = 64 + 2 * (size_t) arrays;
        char *s = malloc(size), *p = s;
        p += sprintf(p, "{\"verb\":\"x\",\"args\":{\"a\":");
        for (int i = 0; i < arrays; i++)
                *p++ = '[';
        for (int i = 0; i < arrays; i++)
                *p++ = ']';
        strcpy(p, "}}");
        return s;
}

START_TEST(test_deep_nesting) {
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;

        /* Exactly PROTOCOL_DEPTH_MAX levels: accepted. */
        char *s = nested(PROTOCOL_DEPTH_MAX - 2);
        ck_assert_msg(protocol_parse_request(s, strlen(s), &r, &e) == 0, "%s", e.message);
        protocol_request_done(&r);
        free(s);

        /* One more: refused, by json-c's depth limit rather than a crash. */
        s = nested(PROTOCOL_DEPTH_MAX - 1);
        json_object_put(expect_bad(s, strlen(s), "nested deeper than 32 levels"));
        free(s);

        /* Far deeper (recursion would blow a stack without the limit). */
        s = nested(100000);
        json_object_put(expect_bad(s, strlen(s), "nested deeper"));
        free(s);
}
END_TEST

START_TEST(test_line_buffer_multiple) {
        LineBuffer b;
        char *l;
        size_t len;
        const char *in = "{\"verb\":\"a\"}\n{\"verb\":\"b\"}\n\n{\"verb\":\"c\"}\n{\"verb\":\"d";

        line_buffer_init(&b, PROTOCOL_LINE_MAX);
        ck_assert_int_eq(line_buffer_feed(&b, in, strlen(in)), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_str_eq(l, "{\"verb\":\"a\"}");
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_str_eq(l, "{\"verb\":\"b\"}");
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_str_eq(l, "{\"verb\":\"c\"}");
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);
        ck_assert_uint_eq(line_buffer_pending(&b), strlen("{\"verb\":\"d"));
        ck_assert_int_eq(line_buffer_feed(&b, "\"}\n", 3), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_str_eq(l, "{\"verb\":\"d\"}");
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);
        ck_assert_uint_eq(line_buffer_pending(&b), 0);
        line_buffer_done(&b);
}
END_TEST

START_TEST(test_line_buffer_every_split) {
        /* Three requests; the stream cut into two reads at every byte
         * boundary, then fed one byte at a time: always the same lines. */
        const char *stream = "{\"id\":1,\"verb\":\"status\"}\n{\"id\":\"x\",\"verb\":\"set\",\"args\":{\"pool\":\"data\"}}\r\n{\"verb\":\"reload\"}\n";
        const char *want[] = {
                "{\"id\":1,\"verb\":\"status\"}",
                "{\"id\":\"x\",\"verb\":\"set\",\"args\":{\"pool\":\"data\"}}\r",
                "{\"verb\":\"reload\"}",
        };
        size_t n = strlen(stream);

        for (size_t cut = 0; cut <= n; cut++) {
                LineBuffer b;
                char *l;
                size_t len;
                size_t got = 0;

                line_buffer_init(&b, PROTOCOL_LINE_MAX);
                ck_assert_int_eq(line_buffer_feed(&b, stream, cut), 0);
                while (line_buffer_next(&b, &l, &len) == 1) {
                        ck_assert_uint_lt(got, 3);
                        ck_assert_str_eq(l, want[got]);
                        got++;
                }
                ck_assert_int_eq(line_buffer_feed(&b, stream + cut, n - cut), 0);
                while (line_buffer_next(&b, &l, &len) == 1) {
                        ck_assert_uint_lt(got, 3);
                        ck_assert_str_eq(l, want[got]);
                        got++;
                }
                ck_assert_msg(got == 3, "cut at %zu: %zu lines", cut, got);

                /* And each line parses to the same request. */
                line_buffer_done(&b);
        }

        LineBuffer b;
        char *l;
        size_t len, got = 0;
        line_buffer_init(&b, PROTOCOL_LINE_MAX);
        for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(line_buffer_feed(&b, stream + i, 1), 0);
                while (line_buffer_next(&b, &l, &len) == 1) {
                        ProtocolRequest r;
                        ProtocolError e = PROTOCOL_ERROR_INIT;
                        ck_assert_str_eq(l, want[got]);
                        ck_assert_int_eq(protocol_parse_request(l, len, &r, &e), 0);
                        protocol_request_done(&r);
                        got++;
                }
        }
        ck_assert_uint_eq(got, 3);
        line_buffer_done(&b);
}
END_TEST

START_TEST(test_line_buffer_too_long) {
        LineBuffer b;
        char *l;
        size_t len;
        char *big = malloc(PROTOCOL_LINE_MAX + 100);

        memset(big, 'a', PROTOCOL_LINE_MAX + 100);
        line_buffer_init(&b, PROTOCOL_LINE_MAX);

        /* Exactly the maximum: accepted. */
        ck_assert_int_eq(line_buffer_feed(&b, big, PROTOCOL_LINE_MAX), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);
        ck_assert_int_eq(line_buffer_feed(&b, "\n", 1), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_uint_eq(len, PROTOCOL_LINE_MAX);

        /* One more byte, newline in the same read: refused once. */
        ck_assert_int_eq(line_buffer_feed(&b, big, PROTOCOL_LINE_MAX + 1), 0);
        ck_assert_int_eq(line_buffer_feed(&b, "\n{\"verb\":\"ok1\"}\n", 16), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), -EMSGSIZE);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_str_eq(l, "{\"verb\":\"ok1\"}");

        /* No newline in sight: refused as soon as it passes the limit, the
         * rest skipped without being stored, then the next line works. */
        ck_assert_int_eq(line_buffer_feed(&b, big, PROTOCOL_LINE_MAX + 100), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), -EMSGSIZE);
        ck_assert_uint_eq(line_buffer_pending(&b), 0);
        for (int i = 0; i < 50; i++) {
                ck_assert_int_eq(line_buffer_feed(&b, big, PROTOCOL_LINE_MAX), 0);
                ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);
                ck_assert_uint_eq(line_buffer_pending(&b), 0);
        }
        /* Memory stayed bounded by one line and one read. */
        ck_assert_uint_le(b.allocated, 4 * PROTOCOL_LINE_MAX);
        ck_assert_int_eq(line_buffer_feed(&b, "tail\n{\"verb\":\"ok2\"}\n", 20), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 1);
        ck_assert_str_eq(l, "{\"verb\":\"ok2\"}");
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);

        /* Split across reads, growing past the limit a byte at a time. */
        for (size_t i = 0; i < PROTOCOL_LINE_MAX; i += 4096) {
                ck_assert_int_eq(line_buffer_feed(&b, big, 4096), 0);
                ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);
        }
        ck_assert_int_eq(line_buffer_feed(&b, "a", 1), 0);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), -EMSGSIZE);
        ck_assert_int_eq(line_buffer_next(&b, &l, &len), 0);

        line_buffer_done(&b);
        free(big);
}
END_TEST

START_TEST(test_reply_building) {
        char *out;
        size_t len;

        json_object *id = json_object_new_int(42);
        json_object *result = json_object_new_object();
        json_object_object_add(result, "pools", json_object_new_int(3));
        json_object *reply = protocol_reply_ok(id, result);
        ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":42,\"ok\":true,\"result\":{\"pools\":3}}\n");
        ck_assert_uint_eq(len, strlen(out));
        free(out);
        json_object_put(reply);

        ProtocolError e;
        protocol_error_set(&e, PROTOCOL_ERROR_PERMISSION_DENIED, "\"set\" needs root");
        reply = protocol_reply_error(id, &e);
        ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":42,\"ok\":false,\"error\":{\"code\":\"permission_denied\",\"message\":\"\\\"set\\\" needs root\"}}\n");
        free(out);
        json_object_put(reply);
        json_object_put(id);

        /* Unset code: internal. Newlines in a message are escaped, so the
         * reply is one line. Slashes are not escaped (topics read well). */
        ProtocolError unset = PROTOCOL_ERROR_INIT;
        snprintf(unset.message, sizeof unset.message, "line1\nline2 pool/data");
        reply = protocol_reply_error(NULL, &unset);
        ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"line1\\nline2 pool/data\"}}\n");
        ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
        free(out);
        json_object_put(reply);

        /* No message: the code stands in. */
        reply = protocol_reply_error(NULL, NULL);
        ck_assert_int_eq(protocol_serialize(reply, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"internal\"}}\n");
        free(out);
        json_object_put(reply);

        /* Request building, round trip through the parser. */
        json_object *args = json_object_new_object();
        json_object_object_add(args, "pool", json_object_new_string("data"));
        id = json_object_new_int(9);
        json_object *req = protocol_request_build(id, "subscribe", args);
        ck_assert_int_eq(protocol_serialize(req, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":9,\"verb\":\"subscribe\",\"args\":{\"pool\":\"data\"}}\n");
        ProtocolRequest r;
        ProtocolError pe = PROTOCOL_ERROR_INIT;
        ck_assert_int_eq(protocol_parse_request(out, len - 1, &r, &pe), 0);
        ck_assert_str_eq(r.verb, "subscribe");
        ck_assert_int_eq(json_object_get_int(r.id), 9);
        ck_assert(json_object_equal(r.args, args));
        protocol_request_done(&r);
        free(out);
        json_object_put(req);
        req = protocol_request_build(NULL, "status", NULL);
        ck_assert_int_eq(protocol_serialize(req, &out, &len), 0);
        ck_assert_str_eq(out, "{\"id\":null,\"verb\":\"status\"}\n");
        free(out);
        json_object_put(req);
        json_object_put(id);
        json_object_put(args);
}
END_TEST

START_TEST(test_arg_helpers) {
        const char *line =
                "{\"verb\":\"x\",\"args\":{\"s\":\"str\",\"u\":12,\"neg\":-3,\"f\":1.0,\"qs\":\"12\","
                "\"big\":18446744073709551614,\"huge\":99999999999999999999,\"b\":true,"
                "\"o\":{},\"a\":[],\"n\":null,\"i64min\":-9223372036854775807}}";
        ProtocolRequest r;
        ProtocolError e = PROTOCOL_ERROR_INIT;
        const char *s = "untouched";
        uint64_t u = 77;
        int64_t i = 77;
        bool b = false;
        json_object *o = NULL;

        ck_assert_int_eq(protocol_parse_request(line, strlen(line), &r, &e), 0);

        ck_assert_int_eq(protocol_get_string(r.args, "s", true, &s, &e), 1);
        ck_assert_str_eq(s, "str");
        /* Missing: optional leaves *ret alone, required names the field. */
        s = "untouched";
        ck_assert_int_eq(protocol_get_string(r.args, "pool", false, &s, &e), 0);
        ck_assert_str_eq(s, "untouched");
        ck_assert_int_eq(protocol_get_string(r.args, "pool", true, &s, &e), -EINVAL);
        ck_assert_int_eq(e.code, PROTOCOL_ERROR_INVALID);
        ck_assert_str_eq(e.message, "missing argument \"pool\"");
        /* null counts as absent. */
        ck_assert_int_eq(protocol_get_string(r.args, "n", false, &s, &e), 0);
        ck_assert_int_eq(protocol_get_string(r.args, "n", true, &s, &e), -EINVAL);
        /* Wrong types. */
        ck_assert_int_eq(protocol_get_string(r.args, "u", true, &s, &e), -EINVAL);
        ck_assert_str_eq(e.message, "argument \"u\" must be a string, got int");

        ck_assert_int_eq(protocol_get_uint64(r.args, "u", true, &u, &e), 1);
        ck_assert_uint_eq(u, 12);
        ck_assert_int_eq(protocol_get_uint64(r.args, "big", true, &u, &e), 1);
        ck_assert_uint_eq(u, 18446744073709551614ULL);
        ck_assert_int_eq(protocol_get_uint64(r.args, "huge", true, &u, &e), -EINVAL);
        ck_assert(strstr(e.message, "out of range"));
        ck_assert_int_eq(protocol_get_uint64(r.args, "neg", true, &u, &e), -EINVAL);
        ck_assert_str_eq(e.message, "argument \"neg\" must not be negative");
        ck_assert_int_eq(protocol_get_uint64(r.args, "f", true, &u, &e), -EINVAL);
        ck_assert_str_eq(e.message, "argument \"f\" must be an integer, got double");
        ck_assert_int_eq(protocol_get_uint64(r.args, "qs", true, &u, &e), -EINVAL);
        ck_assert_uint_eq(u, 18446744073709551614ULL);

        ck_assert_int_eq(protocol_get_int64(r.args, "neg", true, &i, &e), 1);
        ck_assert_int_eq(i, -3);
        ck_assert_int_eq(protocol_get_int64(r.args, "i64min", true, &i, &e), 1);
        ck_assert_int_eq(i, -9223372036854775807LL);
        ck_assert_int_eq(protocol_get_int64(r.args, "big", true, &i, &e), -EINVAL);
        ck_assert(strstr(e.message, "out of range"));

        ck_assert_int_eq(protocol_get_bool(r.args, "b", true, &b, &e), 1);
        ck_assert(b);
        ck_assert_int_eq(protocol_get_bool(r.args, "u", true, &b, &e), -EINVAL);
        ck_assert_str_eq(e.message, "argument \"u\" must be a boolean, got int");

        ck_assert_int_eq(protocol_get_object(r.args, "o", true, &o, &e), 1);
        ck_assert(json_object_is_type(o, json_type_object));
        ck_assert_int_eq(protocol_get_object(r.args, "a", true, &o, &e), -EINVAL);
        ck_assert_int_eq(protocol_get_array(r.args, "a", true, &o, &e), 1);
        ck_assert(json_object_is_type(o, json_type_array));
        ck_assert_int_eq(protocol_get_array(r.args, "o", true, &o, &e), -EINVAL);
        ck_assert_str_eq(e.message, "argument \"o\" must be an array, got object");

        /* NULL or non-object args behave as empty. */
        ck_assert_int_eq(protocol_get_string(NULL, "s", false, &s, &e), 0);
        ck_assert_int_eq(protocol_get_string(NULL, "s", true, &s, &e), -EINVAL);

        static const char *const allowed[] = { "s", "u", "neg", "f", "qs", "big", "huge", "b", "o", "a", "n", "i64min", NULL };
        static const char *const fewer[] = { "s", "u", NULL };
        ck_assert_int_eq(protocol_check_fields(r.args, allowed, &e), 0);
        ck_assert_int_eq(protocol_check_fields(r.args, fewer, &e), -EINVAL);
        ck_assert(strstr(e.message, "unknown argument \""));
        ck_assert_int_eq(protocol_check_fields(NULL, fewer, &e), 0);

        protocol_request_done(&r);
}
END_TEST

START_TEST(test_names) {
        ck_assert(protocol_pool_name_is_valid("data"));
        ck_assert(protocol_pool_name_is_valid("kv_spill2"));
        ck_assert(protocol_pool_name_is_valid("a"));
        ck_assert(protocol_pool_name_is_valid("abcdefghijklmnopqrstuvwxyz012345"));   /* 32 */
        ck_assert(!protocol_pool_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));  /* 33 */
        ck_assert(!protocol_pool_name_is_valid(""));
        ck_assert(!protocol_pool_name_is_valid(NULL));
        ck_assert(!protocol_pool_name_is_valid("Data"));
        ck_assert(!protocol_pool_name_is_valid("2data"));
        ck_assert(!protocol_pool_name_is_valid("da-ta"));
        ck_assert(!protocol_pool_name_is_valid("../x"));
        ck_assert(!protocol_pool_name_is_valid("pool/data"));

        ck_assert(protocol_topic_is_valid("events"));
        ck_assert(protocol_topic_is_valid("pool/data"));
        ck_assert(!protocol_topic_is_valid("pool/"));
        ck_assert(!protocol_topic_is_valid("/data"));
        ck_assert(!protocol_topic_is_valid("pool/data/x"));
        ck_assert(!protocol_topic_is_valid("pool//data"));
        ck_assert(!protocol_topic_is_valid("pool/Data"));
        ck_assert(!protocol_topic_is_valid(""));
        ck_assert(!protocol_topic_is_valid(NULL));
}
END_TEST

static Suite *protocol_suite(void) {
        Suite *s = suite_create("protocol");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_error_codes);
        tcase_add_test(tc, test_parse_valid);
        tcase_add_test(tc, test_parse_malformed);
        tcase_add_test(tc, test_parse_id_recovered_on_error);
        tcase_add_test(tc, test_id_echoed_every_type);
        tcase_add_test(tc, test_embedded_nul);
        tcase_add_test(tc, test_non_utf8);
        tcase_add_test(tc, test_deep_nesting);
        tcase_add_test(tc, test_line_buffer_multiple);
        tcase_add_test(tc, test_line_buffer_every_split);
        tcase_add_test(tc, test_line_buffer_too_long);
        tcase_add_test(tc, test_reply_building);
        tcase_add_test(tc, test_arg_helpers);
        tcase_add_test(tc, test_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(protocol_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
