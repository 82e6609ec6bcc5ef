/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

/* One queued outgoing line, with at most one fd sent with its first byte. */
typedef struct OutMessage {
        struct OutMessage *next;
        int fd;
        size_t len, offset;
        char data[];
} OutMessage;

typedef struct Connection Connection;

struct ControlRequest {
        unsigned n_ref;
        Connection *conn;       /* weak; NULL once answered or the connection closed */
        Peer peer;
        json_object *id;
        char *verb;
        int fd;                 /* sent with the reply, -1 if none */
        bool replied;
};

struct Connection {
        Control *control;
        Connection *prev, *next;
        int fd;
        Peer peer;
        sd_event_source *io_source, *timer_source;
        LineBuffer in;
        OutMessage *out_head, *out_tail;
        size_t out_bytes;
        ControlRequest *inflight;   /* weak: the request being answered */
        char **topics;
        size_t n_topics;
        uint64_t rate_window_start;
        unsigned rate_count;
        bool read_eof, dead, need_resume;
        bool dispatching;           /* inside a handler's synchronous call */
};

typedef struct Verb {
        char *verb;
        ControlVerbFlags flags;
        ControlVerbHandler fn;
        void *userdata;
} Verb;

struct Control {
        sd_event *event;
        char *path;
        char *group;
        ControlLimits limits;
        int listen_fd;
        bool bound;             /* we made the socket file (remove it at the end) */
        dev_t bound_dev;
        ino_t bound_ino;
        sd_event_source *listen_source, *accept_retry_source, *gc_source, *resume_source;
        Connection *connections;
        unsigned n_connections;   /* live ones */
        Verb *verbs;
        size_t n_verbs;
        ControlCredentialFunction credential_fn;
        void *credential_userdata;
        ControlTopicCheck topic_check;
        void *topic_check_userdata;
};

void control_limits_default(ControlLimits *ret) {
        *ret = (ControlLimits) {
                .line_max = PROTOCOL_LINE_MAX,
                /* 1 MiB: a status reply for 100 pools is ~30 KiB, a shrink
                 * event ~150 bytes; a peer 1 MiB behind is not reading. */
                .write_buffer_max = 1024 * 1024,
                /* 128: poolctl opens one at a time; each libpoold process
                 * holds one; worst case 128 * (64 KiB + 1 MiB) = 136 MiB. */
                .connections_max = 128,
                .idle_timeout_usec = 60ULL * 1000000ULL,
                /* 100/s: poolctl sends one request, libpoold one ack per
                 * shrink event (at most a few per second); a peer over it
                 * is broken or hostile. */
                .rate_max = 100,
                .rate_interval_usec = 1000000ULL,
                .subscriptions_max = 64,
        };
}

static void connection_close(Connection *conn, const char *why);
static void connection_process(Connection *conn);
static int control_reply_internal(ControlRequest *req, json_object *result, const ProtocolError *e);

static const char *peer_describe(const Peer *p, char *buf, size_t size) {
        snprintf(buf, size, "pid %d uid %u", (int) p->pid, (unsigned) p->uid);
        return buf;
}

/* ---- output ---- */

static void out_message_free(OutMessage *m) {
        if (m->fd >= 0)
                close(m->fd);
        free(m);
}

static bool connection_want_read(const Connection *conn) {
        return !conn->dead && !conn->read_eof && !conn->inflight;
}

static void connection_update_events(Connection *conn) {
        uint32_t events = 0;

        if (conn->dead)
                return;
        if (connection_want_read(conn))
                events |= EPOLLIN;
        if (conn->out_head)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(conn->io_source, events);
}

/* Re-arms the idle timeout. Subscribers wait for events by design, and a
 * request being answered is the daemon's delay, not the peer's: neither
 * times out. */
static void connection_update_timer(Connection *conn) {
        if (conn->dead)
                return;
        if (conn->n_topics > 0 || conn->inflight) {
                (void) sd_event_source_set_enabled(conn->timer_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(conn->timer_source, conn->control->limits.idle_timeout_usec);
        (void) sd_event_source_set_enabled(conn->timer_source, SD_EVENT_ONESHOT);
}

/* Closes a connection that has nothing left to do after its peer's EOF. */
static void connection_maybe_finish(Connection *conn) {
        if (conn->dead || !conn->read_eof || conn->inflight || conn->out_head)
                return;
        if (line_buffer_pending(&conn->in) > 0)
                return;
        connection_close(conn, NULL);
}

/* Writes what the socket takes now. Returns 0 (possibly with bytes left), or
 * a negative errno after closing the connection. */
static int connection_flush(Connection *conn) {
        while (conn->out_head) {
                OutMessage *m = conn->out_head;
                struct iovec iov = {
                        .iov_base = m->data + m->offset,
                        .iov_len = m->len - m->offset,
                };
                union {
                        struct cmsghdr cmsghdr;
                        char buf[CMSG_SPACE(sizeof(int))];
                } control = {};
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                };
                ssize_t n;

                if (m->fd >= 0 && m->offset == 0) {
                        mh.msg_control = &control;
                        mh.msg_controllen = sizeof control.buf;
                        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
                        cmsg->cmsg_level = SOL_SOCKET;
                        cmsg->cmsg_type = SCM_RIGHTS;
                        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cmsg), &m->fd, sizeof(int));
                }

                n = sendmsg(conn->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        int r = negative_errno();
                        connection_close(conn, "write failed");
                        return r;
                }
                if (m->fd >= 0) {
                        /* The kernel holds its own reference now. */
                        close(m->fd);
                        m->fd = -1;
                }
                m->offset += (size_t) n;
                conn->out_bytes -= (size_t) n;
                if (m->offset == m->len) {
                        conn->out_head = m->next;
                        if (!conn->out_head)
                                conn->out_tail = NULL;
                        out_message_free(m);
                }
        }

        connection_update_events(conn);
        return 0;
}

/* Queues one line (DATA of LEN bytes, its newline included) and FD (taken
 * over; -1 for none), then writes what it can. A peer whose unsent bytes
 * already reach the cap is not reading: it is dropped instead. Returns 0, or
 * a negative errno when the connection is (now) closed. */
static int connection_send(Connection *conn, const char *data, size_t len, int fd) {
        if (conn->dead) {
                if (fd >= 0)
                        close(fd);
                return -ENOTCONN;
        }
        if (conn->out_bytes >= conn->control->limits.write_buffer_max) {
                if (fd >= 0)
                        close(fd);
                connection_close(conn, "peer does not read: write buffer full");
                return -ENOBUFS;
        }

        OutMessage *m = malloc(sizeof *m + len);
        if (!m) {
                if (fd >= 0)
                        close(fd);
                connection_close(conn, "out of memory");
                return -ENOMEM;
        }
        m->next = NULL;
        m->fd = fd;
        m->len = len;
        m->offset = 0;
        memcpy(m->data, data, len);

        if (conn->out_tail)
                conn->out_tail->next = m;
        else
                conn->out_head = m;
        conn->out_tail = m;
        conn->out_bytes += len;

        return connection_flush(conn);
}

/* Serializes MSG (reference taken) and queues it. */
static int connection_send_json(Connection *conn, json_object *msg, int fd) {
        _cleanup_free_ char *line = NULL;
        size_t len;
        int r;

        if (!msg) {
                if (fd >= 0)
                        close(fd);
                connection_close(conn, "out of memory");
                return -ENOMEM;
        }
        r = protocol_serialize(msg, &line, &len);
        json_object_put(msg);
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                connection_close(conn, "out of memory");
                return r;
        }
        return connection_send(conn, line, len, fd);
}

static int connection_send_error(Connection *conn, json_object *id, ProtocolErrorCode code, const char *format, ...) _printf_(4, 5);
static int connection_send_error(Connection *conn, json_object *id, ProtocolErrorCode code, const char *format, ...) {
        ProtocolError e = { .code = code };
        va_list ap;

        va_start(ap, format);
        if (vsnprintf(e.message, sizeof e.message, format, ap) < 0)
                e.message[0] = '\0';
        va_end(ap);
        return connection_send_json(conn, protocol_reply_error(id, &e), -1);
}

/* ---- connection lifetime ---- */

static void connection_free(Connection *conn) {
        Control *c = conn->control;

        if (!conn->dead)
                connection_close(conn, NULL);
        if (conn->prev)
                conn->prev->next = conn->next;
        else
                c->connections = conn->next;
        if (conn->next)
                conn->next->prev = conn->prev;
        free(conn);
}

/* Closes the socket at once and releases everything but the struct, which
 * stays in the list (marked dead) until the gc source frees it: callers up
 * the stack may still hold it (a broadcast walking the list, the request
 * loop of the very connection a handler's broadcast just dropped). */
static void connection_close(Connection *conn, const char *why) {
        Control *c = conn->control;
        char buf[64];

        if (conn->dead)
                return;
        if (why)
                log_debug("control: dropping connection (%s): %s", peer_describe(&conn->peer, buf, sizeof buf), why);

        conn->dead = true;
        c->n_connections--;

        conn->io_source = sd_event_source_disable_unref(conn->io_source);
        conn->timer_source = sd_event_source_disable_unref(conn->timer_source);
        if (conn->fd >= 0)
                close(conn->fd);
        conn->fd = -1;

        while (conn->out_head) {
                OutMessage *m = conn->out_head;
                conn->out_head = m->next;
                out_message_free(m);
        }
        conn->out_tail = NULL;
        conn->out_bytes = 0;

        if (conn->inflight) {
                conn->inflight->conn = NULL;
                conn->inflight = NULL;
        }

        for (size_t i = 0; i < conn->n_topics; i++)
                free(conn->topics[i]);
        free(conn->topics);
        conn->topics = NULL;
        conn->n_topics = 0;

        line_buffer_done(&conn->in);

        (void) sd_event_source_set_enabled(c->gc_source, SD_EVENT_ONESHOT);
}

static int on_gc(sd_event_source *s, void *userdata) {
        Control *c = userdata;

        for (Connection *conn = c->connections, *next; conn; conn = next) {
                next = conn->next;
                if (conn->dead)
                        connection_free(conn);
        }
        return 0;
}

static int on_resume(sd_event_source *s, void *userdata) {
        Control *c = userdata;

        for (Connection *conn = c->connections; conn; conn = conn->next) {
                if (conn->dead || !conn->need_resume)
                        continue;
                conn->need_resume = false;
                connection_process(conn);
        }
        return 0;
}

/* Continues a connection's queued requests from the loop, never from inside
 * control_reply(): a deferred reply may be sent from anywhere in the
 * manager, and handlers must not be re-entered from there. */
static void connection_schedule_resume(Connection *conn) {
        if (conn->dead)
                return;
        conn->need_resume = true;
        (void) sd_event_source_set_enabled(conn->control->resume_source, SD_EVENT_ONESHOT);
}

/* ---- requests ---- */

static bool connection_is_subscribed(const Connection *conn, const char *topic) {
        for (size_t i = 0; i < conn->n_topics; i++)
                if (strcmp(conn->topics[i], topic) == 0)
                        return true;
        return false;
}

static ControlRequest *request_new(Connection *conn, json_object *id, char *verb) {
        ControlRequest *req = malloc(sizeof *req);
        if (!req)
                return NULL;
        *req = (ControlRequest) {
                .n_ref = 1,
                .conn = conn,
                .peer = conn->peer,
                .id = id,
                .verb = verb,
                .fd = -1,
        };
        return req;
}

ControlRequest *control_request_ref(ControlRequest *req) {
        if (req)
                req->n_ref++;
        return req;
}

ControlRequest *control_request_unref(ControlRequest *req) {
        if (!req || --req->n_ref > 0)
                return NULL;

        if (!req->replied) {
                /* A handler that deferred and then lost the request: answer
                 * rather than leave the client (and its later requests)
                 * waiting forever. */
                ProtocolError e = { .code = PROTOCOL_ERROR_INTERNAL };
                snprintf(e.message, sizeof e.message, "request dropped without an answer");
                req->n_ref++;   /* alive during the reply */
                (void) control_reply_internal(req, NULL, &e);
                req->n_ref--;
        }
        json_object_put(req->id);
        free(req->verb);
        if (req->fd >= 0)
                close(req->fd);
        free(req);
        return NULL;
}

const Peer *control_request_get_peer(const ControlRequest *req) {
        return &req->peer;
}

const char *control_request_get_verb(const ControlRequest *req) {
        return req->verb;
}

bool control_request_is_subscribed(const ControlRequest *req, const char *topic) {
        return req->conn && !req->conn->dead && connection_is_subscribed(req->conn, topic);
}

int control_request_attach_fd(ControlRequest *req, int fd) {
        if (fd < 0)
                return -EBADF;
        if (req->replied || req->fd >= 0)
                return -EALREADY;
        /* At 3 or above: never take over stdin/stdout/stderr slots. */
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return negative_errno();
        req->fd = copy;
        return 0;
}

static int control_reply_internal(ControlRequest *req, json_object *result, const ProtocolError *e) {
        Connection *conn = req->conn;
        int fd = -1, r = 0;

        if (req->replied) {
                json_object_put(result);
                return -EALREADY;
        }
        req->replied = true;
        req->conn = NULL;
        fd = TAKE_FD(req->fd);

        if (!conn || conn->dead) {
                json_object_put(result);
                if (fd >= 0)
                        close(fd);
                log_debug("control: reply to \"%s\" dropped: the client has gone", req->verb);
                return 0;
        }

        json_object *msg;
        if (e) {
                json_object_put(result);
                if (fd >= 0)
                        /* Descriptors go with successful answers only. */
                        close(TAKE_FD(fd));
                msg = protocol_reply_error(req->id, e);
        } else {
                msg = protocol_reply_ok(req->id, result);
                if (msg && fd >= 0 &&
                    json_object_object_add(msg, "fds", json_object_new_int(1)) < 0) {
                        json_object_put(msg);
                        msg = NULL;
                }
        }

        if (conn->inflight == req) {
                conn->inflight = NULL;
                /* Answered from inside the handler: the request loop goes
                 * on by itself. */
                if (!conn->dispatching)
                        connection_schedule_resume(conn);
        }
        r = connection_send_json(conn, msg, fd);
        if (r == -ENOMEM)
                return r;
        if (!conn->dead) {
                connection_update_timer(conn);
                connection_update_events(conn);
        }
        /* A dropped connection is the peer's doing: not the caller's error. */
        return 0;
}

int control_reply(ControlRequest *req, json_object *result) {
        return control_reply_internal(req, result, NULL);
}

int control_reply_with_fd(ControlRequest *req, json_object *result, int fd) {
        int r = control_request_attach_fd(req, fd);
        if (r < 0) {
                json_object_put(result);
                return r;
        }
        return control_reply(req, result);
}

int control_reply_error(ControlRequest *req, const ProtocolError *e) {
        ProtocolError copy = { .code = PROTOCOL_ERROR_INTERNAL };

        if (e && e->code != _PROTOCOL_ERROR_CODE_UNSET)
                copy = *e;
        return control_reply_internal(req, NULL, &copy);
}

/* ---- built-in verbs ---- */

static int topic_from_args(Connection *conn, json_object *args, char *topic, ProtocolError *e) {
        static const char *const allowed[] = { "pool", "topic", NULL };
        const char *pool = NULL, *t = NULL;
        int r;

        r = protocol_check_fields(args, allowed, e);
        if (r < 0)
                return r;
        r = protocol_get_string(args, "pool", false, &pool, e);
        if (r < 0)
                return r;
        r = protocol_get_string(args, "topic", false, &t, e);
        if (r < 0)
                return r;
        if (!pool == !t)
                return protocol_error_set(e, PROTOCOL_ERROR_INVALID,
                                          "exactly one of \"pool\" or \"topic\" is required");
        if (pool) {
                if (!protocol_pool_name_is_valid(pool))
                        return protocol_error_set(e, PROTOCOL_ERROR_INVALID,
                                                  "invalid pool name \"%.64s\"", pool);
                snprintf(topic, PROTOCOL_TOPIC_MAX + 1, "pool/%s", pool);
        } else {
                if (!protocol_topic_is_valid(t))
                        return protocol_error_set(e, PROTOCOL_ERROR_INVALID,
                                                  "invalid topic \"%.80s\"", t);
                snprintf(topic, PROTOCOL_TOPIC_MAX + 1, "%s", t);
        }
        return 0;
}

static json_object *topic_result(const char *topic, bool subscribed) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        if (json_object_object_add(o, "topic", json_object_new_string(topic)) < 0 ||
            json_object_object_add(o, "subscribed", json_object_new_boolean(subscribed)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int verb_subscribe(ControlRequest *req, json_object *args, void *userdata,
                          json_object **ret_result, ProtocolError *e) {
        Control *c = userdata;
        Connection *conn = req->conn;
        char topic[PROTOCOL_TOPIC_MAX + 1];
        int r;

        r = topic_from_args(conn, args, topic, e);
        if (r < 0)
                return r;

        if (!connection_is_subscribed(conn, topic)) {
                if (c->topic_check) {
                        r = c->topic_check(topic, &req->peer, c->topic_check_userdata, e);
                        if (r < 0)
                                return r;
                }
                if (conn->n_topics >= c->limits.subscriptions_max)
                        return protocol_error_set(e, PROTOCOL_ERROR_INVALID,
                                                  "too many subscriptions (at most %u)", c->limits.subscriptions_max);
                char **t = realloc(conn->topics, (conn->n_topics + 1) * sizeof *t);
                if (!t)
                        return -ENOMEM;
                conn->topics = t;
                t[conn->n_topics] = strdup(topic);
                if (!t[conn->n_topics])
                        return -ENOMEM;
                conn->n_topics++;
        }

        *ret_result = topic_result(topic, true);
        return *ret_result ? 0 : -ENOMEM;
}

static int verb_unsubscribe(ControlRequest *req, json_object *args, void *userdata,
                            json_object **ret_result, ProtocolError *e) {
        Connection *conn = req->conn;
        char topic[PROTOCOL_TOPIC_MAX + 1];
        int r;

        r = topic_from_args(conn, args, topic, e);
        if (r < 0)
                return r;

        for (size_t i = 0; i < conn->n_topics; i++)
                if (strcmp(conn->topics[i], topic) == 0) {
                        free(conn->topics[i]);
                        conn->topics[i] = conn->topics[--conn->n_topics];
                        break;
                }

        *ret_result = topic_result(topic, false);
        return *ret_result ? 0 : -ENOMEM;
}

/* ---- request processing ---- */

static const Verb *control_find_verb(const Control *c, const char *verb) {
        for (size_t i = 0; i < c->n_verbs; i++)
                if (strcmp(c->verbs[i].verb, verb) == 0)
                        return &c->verbs[i];
        return NULL;
}

/* Counts one request against the rate limit. Returns false after dropping
 * the connection. */
static bool connection_rate_ok(Connection *conn) {
        const ControlLimits *l = &conn->control->limits;
        uint64_t now = 0;

        /* The loop's time of this iteration: a burst read in one go counts
         * as simultaneous, which is what it is. */
        (void) sd_event_now(conn->control->event, CLOCK_MONOTONIC, &now);
        if (conn->rate_count == 0 || now - conn->rate_window_start >= l->rate_interval_usec) {
                conn->rate_window_start = now;
                conn->rate_count = 0;
        }
        if (++conn->rate_count <= l->rate_max)
                return true;

        (void) connection_send_error(conn, NULL, PROTOCOL_ERROR_BUSY,
                                     "rate limit: more than %u requests in %llu ms, closing",
                                     l->rate_max, (unsigned long long) (l->rate_interval_usec / 1000));
        connection_close(conn, "rate limit exceeded");
        return false;
}

static void connection_handle_line(Connection *conn, char *line, size_t len) {
        Control *c = conn->control;
        ProtocolRequest pr;
        ProtocolError e = PROTOCOL_ERROR_INIT;
        json_object *result = NULL;
        int r;

        r = protocol_parse_request(line, len, &pr, &e);
        if (r < 0) {
                (void) connection_send_json(conn, protocol_reply_error(pr.id, &e), -1);
                protocol_request_done(&pr);
                return;
        }

        const Verb *v = control_find_verb(c, pr.verb);
        if (!v) {
                (void) connection_send_error(conn, pr.id, PROTOCOL_ERROR_UNKNOWN_VERB,
                                             "unknown verb \"%.64s\"", pr.verb);
                protocol_request_done(&pr);
                return;
        }
        if ((v->flags & CONTROL_VERB_PRIVILEGED) && !conn->peer.privileged) {
                if (c->group)
                        (void) connection_send_error(conn, pr.id, PROTOCOL_ERROR_PERMISSION_DENIED,
                                                     "\"%s\" needs root or membership in group \"%s\"",
                                                     v->verb, c->group);
                else
                        (void) connection_send_error(conn, pr.id, PROTOCOL_ERROR_PERMISSION_DENIED,
                                                     "\"%s\" needs root", v->verb);
                protocol_request_done(&pr);
                return;
        }

        ControlRequest *req = request_new(conn, TAKE_PTR(pr.id), TAKE_PTR(pr.verb));
        if (!req) {
                protocol_request_done(&pr);
                connection_close(conn, "out of memory");
                return;
        }
        conn->inflight = req;

        conn->dispatching = true;
        r = v->fn(req, pr.args, v->userdata, &result, &e);
        if (r == CONTROL_DEFERRED) {
                json_object_put(result);
                /* Stays in flight (unless answered already); our reference
                 * goes below, the handler holds its own. */
        } else if (req->replied) {
                json_object_put(result);
        } else if (r >= 0) {
                (void) control_reply(req, result);
        } else {
                if (e.code == _PROTOCOL_ERROR_CODE_UNSET || e.code >= _PROTOCOL_ERROR_CODE_MAX) {
                        e.code = protocol_error_code_from_errno(r);
                        snprintf(e.message, sizeof e.message, "%s", strerror(-r));
                }
                json_object_put(result);
                (void) control_reply_error(req, &e);
        }
        conn->dispatching = false;
        /* May answer (internal error) a deferred request whose handler
         * kept no reference; that is outside the handler, so resume. */
        control_request_unref(req);
        protocol_request_done(&pr);

        if (!conn->dead)
                connection_update_timer(conn);
}

static bool line_is_blank(const char *line, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!strchr(" \t\r", line[i]) || line[i] == '\0')
                        return false;
        return true;
}

/* Answers the complete lines held, in order, until one is deferred. */
static void connection_process(Connection *conn) {
        while (!conn->dead && !conn->inflight) {
                char *line;
                size_t len;
                int r = line_buffer_next(&conn->in, &line, &len);
                if (r == 0)
                        break;
                if (!connection_rate_ok(conn))
                        return;
                if (r == -EMSGSIZE) {
                        (void) connection_send_error(conn, NULL, PROTOCOL_ERROR_TOO_LARGE,
                                                     "request line longer than %zu bytes",
                                                     conn->control->limits.line_max);
                        continue;
                }
                if (r < 0) {
                        connection_close(conn, "cannot split lines");
                        return;
                }
                /* Empty lines are ignored, for people typing into socat. */
                if (line_is_blank(line, len))
                        continue;
                connection_handle_line(conn, line, len);
        }

        if (conn->dead)
                return;
        connection_update_events(conn);
        connection_maybe_finish(conn);
}

/* ---- events from the loop ---- */

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *conn = userdata;

        if (revents & EPOLLERR) {
                connection_close(conn, "socket error");
                return 0;
        }
        if (revents & EPOLLOUT) {
                if (connection_flush(conn) < 0)
                        return 0;
                connection_maybe_finish(conn);
                if (conn->dead)
                        return 0;
        }

        if ((revents & (EPOLLIN | EPOLLHUP)) && connection_want_read(conn)) {
                /* At most 4 reads (64 KiB) per wakeup, so one busy peer
                 * cannot starve the others. */
                for (int i = 0; i < 4 && connection_want_read(conn); i++) {
                        char buf[16384];
                        ssize_t n = read(conn->fd, buf, sizeof buf);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                if (errno == EAGAIN)
                                        break;
                                connection_close(conn, "read failed");
                                return 0;
                        }
                        if (n == 0) {
                                conn->read_eof = true;
                                /* A last request without its newline still counts. */
                                if (line_buffer_pending(&conn->in) > 0 &&
                                    line_buffer_feed(&conn->in, "\n", 1) < 0) {
                                        connection_close(conn, "out of memory");
                                        return 0;
                                }
                        } else if (line_buffer_feed(&conn->in, buf, (size_t) n) < 0) {
                                connection_close(conn, "out of memory");
                                return 0;
                        }
                        connection_process(conn);
                        if (n < (ssize_t) sizeof buf)
                                break;
                }
        }

        /* HUP: the peer closed both ways; nothing we write can arrive. */
        if (!conn->dead && (revents & EPOLLHUP))
                connection_close(conn, NULL);
        return 0;
}

static int on_connection_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        connection_close(userdata, "idle timeout");
        return 0;
}

static int connection_new(Control *c, int fd, const Peer *peer) {
        Connection *conn = calloc(1, sizeof *conn);
        int r;

        if (!conn)
                return -ENOMEM;
        conn->control = c;
        conn->fd = fd;
        conn->peer = *peer;
        line_buffer_init(&conn->in, c->limits.line_max);

        r = sd_event_add_io(c->event, &conn->io_source, fd, EPOLLIN, on_connection_io, conn);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(c->event, &conn->timer_source, CLOCK_MONOTONIC,
                                       c->limits.idle_timeout_usec, 1000000ULL /* 1 s: no hurry */,
                                       on_connection_timeout, conn);
        if (r < 0)
                goto fail;

        conn->next = c->connections;
        if (c->connections)
                c->connections->prev = conn;
        c->connections = conn;
        c->n_connections++;
        return 0;

fail:
        sd_event_source_disable_unref(conn->io_source);
        sd_event_source_disable_unref(conn->timer_source);
        free(conn);
        return r;
}

static void refuse_busy(int fd) {
        /* A fresh socket's buffer takes this line whole. */
        static const char line[] =
                "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many connections\"}}\n";
        (void) send(fd, line, sizeof line - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        close(fd);
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Control *c = userdata;
        (void) sd_event_source_set_enabled(c->listen_source, SD_EVENT_ON);
        return 0;
}

static int on_accept(sd_event_source *s, int listen_fd, uint32_t revents, void *userdata) {
        Control *c = userdata;
        int r;

        /* 32 per wakeup: the rest stay in the backlog for the next one. */
        for (int i = 0; i < 32; i++) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        r = negative_errno();
                        if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM) {
                                /* Out of fds or memory: epoll would wake us
                                 * again at once. Pause accepting for 100 ms
                                 * (long enough for connections to close,
                                 * short enough to go unnoticed by poolctl). */
                                log_debug_errno(r, "control: cannot accept, pausing");
                                (void) sd_event_source_set_enabled(c->listen_source, SD_EVENT_OFF);
                                if (!c->accept_retry_source)
                                        (void) sd_event_add_time_relative(c->event, &c->accept_retry_source,
                                                                          CLOCK_MONOTONIC, 100000, 0,
                                                                          on_accept_retry, c);
                                else {
                                        (void) sd_event_source_set_time_relative(c->accept_retry_source, 100000);
                                        (void) sd_event_source_set_enabled(c->accept_retry_source, SD_EVENT_ONESHOT);
                                }
                                return 0;
                        }
                        log_debug_errno(r, "control: accept failed, ignoring");
                        return 0;
                }

                if (c->n_connections >= c->limits.connections_max) {
                        log_debug("control: refusing a connection: %u open", c->n_connections);
                        refuse_busy(fd);
                        continue;
                }

                Peer peer;
                if (c->credential_fn)
                        r = c->credential_fn(fd, c->group, &peer, c->credential_userdata);
                else
                        r = peer_get(fd, c->group, &peer);
                if (r < 0) {
                        log_debug_errno(r, "control: cannot read peer credentials, refusing connection");
                        close(fd);
                        continue;
                }

                r = connection_new(c, fd, &peer);
                if (r < 0) {
                        log_debug_errno(r, "control: cannot set up connection, refusing it");
                        close(fd);
                        continue;
                }
        }
        return 0;
}

/* ---- the server ---- */

int control_new(sd_event *event, const char *socket_path, Control **ret) {
        Control *c;
        int r;

        if (!socket_path)
                socket_path = CONTROL_SOCKET_PATH;
        if (strlen(socket_path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return -ENAMETOOLONG;
        if (socket_path[0] == '\0')
                return -EINVAL;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->listen_fd = -1;
        control_limits_default(&c->limits);
        c->path = strdup(socket_path);
        c->group = strdup(CONTROL_PRIVILEGED_GROUP);
        if (!c->path || !c->group) {
                r = -ENOMEM;
                goto fail;
        }

        r = sd_event_add_defer(event, &c->gc_source, on_gc, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->gc_source, SD_EVENT_OFF);
        /* Free dead connections only after every other event of the
         * iteration: one of them may still be walking the list. */
        (void) sd_event_source_set_priority(c->gc_source, SD_EVENT_PRIORITY_IDLE);

        r = sd_event_add_defer(event, &c->resume_source, on_resume, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->resume_source, SD_EVENT_OFF);

        r = control_register_verb(c, "subscribe", 0, verb_subscribe, c);
        if (r < 0)
                goto fail;
        r = control_register_verb(c, "unsubscribe", 0, verb_unsubscribe, c);
        if (r < 0)
                goto fail;

        *ret = c;
        return 0;

fail:
        control_free(c);
        return r;
}

Control *control_free(Control *c) {
        if (!c)
                return NULL;

        while (c->connections)
                connection_free(c->connections);

        c->listen_source = sd_event_source_disable_unref(c->listen_source);
        c->accept_retry_source = sd_event_source_disable_unref(c->accept_retry_source);
        c->gc_source = sd_event_source_disable_unref(c->gc_source);
        c->resume_source = sd_event_source_disable_unref(c->resume_source);

        if (c->bound) {
                struct stat st;
                /* Only if the file is still the socket we made: a second
                 * poold that replaced it keeps its own. */
                if (lstat(c->path, &st) >= 0 && S_ISSOCK(st.st_mode) &&
                    st.st_dev == c->bound_dev && st.st_ino == c->bound_ino)
                        (void) unlink(c->path);
        }
        if (c->listen_fd >= 0)
                close(c->listen_fd);

        for (size_t i = 0; i < c->n_verbs; i++)
                free(c->verbs[i].verb);
        free(c->verbs);
        free(c->path);
        free(c->group);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

int control_set_limits(Control *c, const ControlLimits *limits) {
        if (limits->line_max == 0 || limits->write_buffer_max == 0 || limits->connections_max == 0 ||
            limits->idle_timeout_usec == 0 || limits->rate_max == 0 || limits->rate_interval_usec == 0)
                return -EINVAL;
        c->limits = *limits;
        return 0;
}

int control_set_privileged_group(Control *c, const char *group) {
        char *g = NULL;

        if (group) {
                g = strdup(group);
                if (!g)
                        return -ENOMEM;
        }
        free(c->group);
        c->group = g;
        return 0;
}

int control_set_credential_function(Control *c, ControlCredentialFunction fn, void *userdata) {
        c->credential_fn = fn;
        c->credential_userdata = userdata;
        return 0;
}

int control_set_topic_check(Control *c, ControlTopicCheck fn, void *userdata) {
        c->topic_check = fn;
        c->topic_check_userdata = userdata;
        return 0;
}

int control_register_verb(Control *c, const char *verb, ControlVerbFlags flags,
                          ControlVerbHandler fn, void *userdata) {
        if (!verb || !verb[0] || !fn)
                return -EINVAL;
        if (control_find_verb(c, verb))
                return -EEXIST;

        Verb *v = realloc(c->verbs, (c->n_verbs + 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        c->verbs = v;
        v[c->n_verbs] = (Verb) {
                .verb = strdup(verb),
                .flags = flags,
                .fn = fn,
                .userdata = userdata,
        };
        if (!v[c->n_verbs].verb)
                return -ENOMEM;
        c->n_verbs++;
        return 0;
}

const char *control_get_path(const Control *c) {
        return c->path;
}

int control_start_fd(Control *c, int fd) {
        int r;

        if (c->listen_fd >= 0)
                return -EALREADY;
        r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;

        /* accept() must not block when a peer gave up between the wakeup
         * and our accept(). */
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return negative_errno();

        r = sd_event_add_io(c->event, &c->listen_source, fd, EPOLLIN, on_accept, c);
        if (r < 0)
                return r;
        c->listen_fd = fd;
        return 0;
}

/* Makes the socket's directory (0755, only the last level) if missing. */
static int make_parent_directory(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        const char *dir = dirname(copy);

        if (mkdir(dir, 0755) < 0) {
                if (errno == EEXIST)
                        return 0;
                return negative_errno();
        }
        /* mkdir() applied the umask; the directory must be searchable by
         * everyone, who may all read status. */
        if (chmod(dir, 0755) < 0)
                return negative_errno();
        return 0;
}

/* Returns 1 if something accepts connections at SA, 0 if nothing does. */
static int socket_is_live(const struct sockaddr_un *sa, socklen_t len) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (const struct sockaddr *) sa, len) >= 0)
                return 1;
        if (errno == EAGAIN)
                /* Listening, its backlog full: very much alive. */
                return 1;
        if (errno == ECONNREFUSED)
                return 0;
        return negative_errno();
}

static int control_bind(Control *c, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        socklen_t len;
        struct stat st;
        int r;

        strncpy(sa.sun_path, c->path, sizeof sa.sun_path - 1);
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);

        r = make_parent_directory(c->path);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();

        if (bind(fd, (struct sockaddr *) &sa, len) < 0) {
                if (errno != EADDRINUSE)
                        return negative_errno();

                /* Something is at the path. Never unlink what is not a
                 * socket (a misconfigured path could name a real file), and
                 * never a socket someone listens on (a running poold). */
                if (lstat(c->path, &st) < 0)
                        return negative_errno();
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                r = socket_is_live(&sa, len);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EADDRINUSE;
                log_debug("control: removing stale socket %s", c->path);
                if (unlink(c->path) < 0 && errno != ENOENT)
                        return negative_errno();
                if (bind(fd, (struct sockaddr *) &sa, len) < 0)
                        return negative_errno();
        }

        /* 0666: everyone may connect to read status; privilege is decided
         * per connection from SO_PEERCRED, not by file mode. */
        if (chmod(c->path, 0666) < 0)
                return negative_errno();
        if (lstat(c->path, &st) < 0)
                return negative_errno();
        if (listen(fd, SOMAXCONN) < 0)
                return negative_errno();

        c->bound_dev = st.st_dev;
        c->bound_ino = st.st_ino;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int control_start(Control *c) {
        int n, r, fd = -1;

        if (c->listen_fd >= 0)
                return -EALREADY;

        /* Socket activation: take the first listening AF_UNIX stream socket
         * systemd passed; the environment is cleared so children of poold
         * (poolctl run) do not think the fds are theirs. */
        n = sd_listen_fds(1);
        for (int i = 0; i < n; i++) {
                int candidate = SD_LISTEN_FDS_START + i;
                if (sd_is_socket_unix(candidate, SOCK_STREAM, 1, NULL, 0) > 0)
                        return control_start_fd(c, candidate);
        }
        if (n > 0)
                log_debug("control: %d fds passed, none a listening unix stream socket; making %s", n, c->path);

        r = control_bind(c, &fd);
        if (r < 0)
                return r;
        r = control_start_fd(c, fd);
        if (r < 0) {
                (void) unlink(c->path);
                close(fd);
                return r;
        }
        c->bound = true;
        return 0;
}

int control_broadcast(Control *c, const char *topic, json_object *event) {
        _cleanup_free_ char *line = NULL;
        size_t len;
        int r, n = 0;

        if (!protocol_topic_is_valid(topic) || !event || !json_object_is_type(event, json_type_object))
                return -EINVAL;
        if (!json_object_object_get_ex(event, "topic", NULL) &&
            json_object_object_add(event, "topic", json_object_new_string(topic)) < 0)
                return -ENOMEM;

        r = protocol_serialize(event, &line, &len);
        if (r < 0)
                return r;

        for (Connection *conn = c->connections; conn; conn = conn->next) {
                if (conn->dead || !connection_is_subscribed(conn, topic))
                        continue;
                if (connection_send(conn, line, len, -1) >= 0)
                        n++;
        }
        return n;
}

unsigned control_subscriber_count(const Control *c, const char *topic) {
        unsigned n = 0;

        for (const Connection *conn = c->connections; conn; conn = conn->next)
                if (!conn->dead && connection_is_subscribed(conn, topic))
                        n++;
        return n;
}

unsigned control_connection_count(const Control *c) {
        return c->n_connections;
}
