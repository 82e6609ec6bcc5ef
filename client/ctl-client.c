/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl-client.h"
#include "macro.h"
#include "protocol.h"

/* Descriptors received but not yet matched to their reply. The daemon sends
 * at most one per reply and answers one request at a time, so more than one
 * or two here means a confused peer: extras are closed. */
#define CTL_FDS_MAX 8

struct CtlClient {
        int fd;
        LineBuffer in;
        int64_t next_id;
        bool eof;

        json_object *events[CTL_EVENTS_MAX];
        unsigned events_head, n_events;

        int fds[CTL_FDS_MAX];
        unsigned n_fds;

        char *error_code, *error_message;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static uint64_t deadline_from_timeout(int timeout_ms) {
        if (timeout_ms < 0)
                return UINT64_MAX;
        return now_usec() + (uint64_t) timeout_ms * 1000ULL;
}

/* Milliseconds left until DEADLINE for poll(): rounded up so we never wake
 * early and spin, -1 for no deadline, 0 when past. */
static int remaining_ms(uint64_t deadline) {
        if (deadline == UINT64_MAX)
                return -1;
        uint64_t now = now_usec();
        if (now >= deadline)
                return 0;
        uint64_t ms = (deadline - now + 999) / 1000;
        return ms > INT32_MAX ? INT32_MAX : (int) ms;
}

int ctl_connect(const char *path, CtlClient **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = {
                .tv_sec = CTL_CONNECT_TIMEOUT_MS / 1000,
                .tv_usec = (CTL_CONNECT_TIMEOUT_MS % 1000) * 1000,
        };
        _cleanup_close_ int fd = -1;

        if (!path || !path[0])
                return -EINVAL;
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();

        /* A blocking AF_UNIX connect() waits for room in the listener's
         * backlog for as long as SO_SNDTIMEO says (then EAGAIN); a
         * non-blocking one would fail at once. */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
                return negative_errno();
        for (;;) {
                if (connect(fd, (struct sockaddr *) &sa,
                            (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1)) >= 0)
                        break;
                if (errno != EINTR)
                        return negative_errno();
        }

        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();

        CtlClient *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->fd = TAKE_FD(fd);
        c->next_id = 1;
        line_buffer_init(&c->in, CTL_LINE_MAX);
        *ret = c;
        return 0;
}

static void client_clear_error(CtlClient *c) {
        free(c->error_code);
        free(c->error_message);
        c->error_code = c->error_message = NULL;
}

CtlClient *ctl_client_free(CtlClient *c) {
        if (!c)
                return NULL;
        if (c->fd >= 0)
                close(c->fd);
        line_buffer_done(&c->in);
        for (unsigned i = 0; i < c->n_events; i++)
                json_object_put(c->events[(c->events_head + i) % CTL_EVENTS_MAX]);
        for (unsigned i = 0; i < c->n_fds; i++)
                close(c->fds[i]);
        client_clear_error(c);
        free(c);
        return NULL;
}

const char *ctl_client_error_code(const CtlClient *c) {
        return c->error_code;
}

const char *ctl_client_error_message(const CtlClient *c) {
        return c->error_message;
}

int ctl_client_get_fd(const CtlClient *c) {
        return c->fd;
}

unsigned ctl_client_pending_events(const CtlClient *c) {
        return c->n_events;
}

static void client_push_event(CtlClient *c, json_object *ev) {
        if (c->n_events == CTL_EVENTS_MAX) {
                json_object_put(c->events[c->events_head]);
                c->events_head = (c->events_head + 1) % CTL_EVENTS_MAX;
                c->n_events--;
        }
        c->events[(c->events_head + c->n_events) % CTL_EVENTS_MAX] = ev;
        c->n_events++;
}

static json_object *client_pop_event(CtlClient *c) {
        if (c->n_events == 0)
                return NULL;
        json_object *ev = c->events[c->events_head];
        c->events_head = (c->events_head + 1) % CTL_EVENTS_MAX;
        c->n_events--;
        return ev;
}

static void client_push_fd(CtlClient *c, int fd) {
        if (c->n_fds == CTL_FDS_MAX) {
                close(fd);
                return;
        }
        c->fds[c->n_fds++] = fd;
}

static int client_pop_fd(CtlClient *c) {
        if (c->n_fds == 0)
                return -1;
        int fd = c->fds[0];
        memmove(c->fds, c->fds + 1, (c->n_fds - 1) * sizeof(int));
        c->n_fds--;
        return fd;
}

/* Reads what has arrived (one recvmsg), keeping any passed fds. Returns 1 if
 * bytes were read, 0 at EOF, -EAGAIN if nothing is there, or a negative errno. */
static int client_receive(CtlClient *c) {
        char buf[65536];
        union {
                struct cmsghdr cmsghdr;
                char buf[CMSG_SPACE(sizeof(int) * CTL_FDS_MAX)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        ssize_t n;

        do
                n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();

        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
                        client_push_fd(c, fd);
                }
        }

        if (n == 0) {
                c->eof = true;
                return 0;
        }
        int r = line_buffer_feed(&c->in, buf, (size_t) n);
        if (r < 0)
                return r;
        return 1;
}

/* Returns the next complete message, reading until DEADLINE. Returns 0 with
 * *ret, -ETIMEDOUT, -ECONNRESET, -EBADMSG. */
static int client_read_message(CtlClient *c, uint64_t deadline, json_object **ret) {
        for (;;) {
                char *line;
                size_t len;
                int r = line_buffer_next(&c->in, &line, &len);
                if (r == -EMSGSIZE)
                        return -EBADMSG;
                if (r > 0) {
                        ProtocolError e;
                        if (len == 0)
                                continue;
                        if (protocol_parse_message(line, len, ret, &e) < 0)
                                return -EBADMSG;
                        return 0;
                }
                if (c->eof)
                        return -ECONNRESET;

                r = client_receive(c);
                if (r > 0)
                        continue;
                if (r == 0)
                        return -ECONNRESET;
                if (r != -EAGAIN)
                        return r == -EPIPE ? -ECONNRESET : r;

                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                r = poll(&p, 1, remaining_ms(deadline));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (r == 0)
                        return -ETIMEDOUT;
        }
}

static bool message_is_event(json_object *msg) {
        return json_object_object_get_ex(msg, "event", NULL);
}

/* Returns the number of fds the reply MSG announces ("fds": 1). */
static int message_fds(json_object *msg) {
        json_object *v;
        if (!json_object_object_get_ex(msg, "fds", &v) || !json_object_is_type(v, json_type_int))
                return 0;
        int64_t n = json_object_get_int64(v);
        return n > 0 && n <= CTL_FDS_MAX ? (int) n : 0;
}

static void client_discard_reply(CtlClient *c, json_object *msg) {
        for (int i = message_fds(msg); i > 0; i--) {
                int fd = client_pop_fd(c);
                if (fd >= 0)
                        close(fd);
        }
        json_object_put(msg);
}

static int client_send(CtlClient *c, const char *data, size_t len, uint64_t deadline) {
        while (len > 0) {
                ssize_t n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n >= 0) {
                        data += n;
                        len -= (size_t) n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EPIPE || errno == ECONNRESET)
                        return -ECONNRESET;
                if (errno != EAGAIN)
                        return negative_errno();

                struct pollfd p = { .fd = c->fd, .events = POLLOUT };
                int r = poll(&p, 1, remaining_ms(deadline));
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r == 0)
                        return -ETIMEDOUT;
        }
        return 0;
}

/* Records the daemon's error of reply MSG and returns its errno. */
static int client_take_error(CtlClient *c, json_object *msg) {
        json_object *err, *v;
        const char *code = NULL, *message = NULL;

        if (json_object_object_get_ex(msg, "error", &err) && json_object_is_type(err, json_type_object)) {
                if (json_object_object_get_ex(err, "code", &v) && json_object_is_type(v, json_type_string))
                        code = json_object_get_string(v);
                if (json_object_object_get_ex(err, "message", &v) && json_object_is_type(v, json_type_string))
                        message = json_object_get_string(v);
        }
        if (!code)
                return -EBADMSG;

        c->error_code = strdup(code);
        c->error_message = strdup(message ? message : code);
        if (!c->error_code || !c->error_message)
                return -ENOMEM;
        return protocol_error_code_to_errno(protocol_error_code_from_string(code));
}

int ctl_call(CtlClient *c, const char *verb, json_object *args, int timeout_ms,
             json_object **ret_result, int *ret_fd) {
        uint64_t deadline = deadline_from_timeout(timeout_ms);
        _cleanup_free_ char *line = NULL;
        size_t len;
        int r;

        client_clear_error(c);
        if (!verb || (args && !json_object_is_type(args, json_type_object)))
                return -EINVAL;

        int64_t id = c->next_id++;
        json_object *jid = json_object_new_int64(id);
        json_object *req = protocol_request_build(jid, verb, args);
        json_object_put(jid);
        if (!req)
                return -ENOMEM;
        r = protocol_serialize(req, &line, &len);
        json_object_put(req);
        if (r < 0)
                return r;

        r = client_send(c, line, len, deadline);
        if (r < 0)
                return r;

        for (;;) {
                json_object *msg = NULL, *v;

                r = client_read_message(c, deadline, &msg);
                if (r < 0)
                        return r;

                if (message_is_event(msg)) {
                        client_push_event(c, msg);
                        continue;
                }

                if (!json_object_object_get_ex(msg, "ok", &v) || !json_object_is_type(v, json_type_boolean)) {
                        json_object_put(msg);
                        return -EBADMSG;
                }
                bool ok = json_object_get_boolean(v);

                /* The daemon answers in order, so a reply with another id
                 * is the late answer to a call that timed out: skip it. A
                 * null id is the daemon's answer to what it could not parse
                 * (or "busy" at accept): ours. */
                json_object *rid = NULL;
                (void) json_object_object_get_ex(msg, "id", &rid);
                if (rid && !(json_object_is_type(rid, json_type_int) && json_object_get_int64(rid) == id)) {
                        client_discard_reply(c, msg);
                        continue;
                }

                int fd = -1;
                if (message_fds(msg) > 0) {
                        fd = client_pop_fd(c);
                        if (fd < 0) {
                                json_object_put(msg);
                                return -EBADMSG;
                        }
                }

                if (!ok) {
                        if (fd >= 0)
                                close(fd);
                        r = client_take_error(c, msg);
                        json_object_put(msg);
                        return r;
                }

                json_object *result = NULL;
                if (json_object_object_get_ex(msg, "result", &v) && v)
                        result = json_object_get(v);
                else
                        result = json_object_new_object();
                json_object_put(msg);
                if (!result) {
                        if (fd >= 0)
                                close(fd);
                        return -ENOMEM;
                }

                if (ret_result)
                        *ret_result = result;
                else
                        json_object_put(result);
                if (ret_fd)
                        *ret_fd = fd;
                else if (fd >= 0)
                        close(fd);
                return 0;
        }
}

int ctl_read_event(CtlClient *c, int timeout_ms, json_object **ret) {
        uint64_t deadline = deadline_from_timeout(timeout_ms);

        for (;;) {
                json_object *ev = client_pop_event(c), *msg = NULL;
                if (ev) {
                        *ret = ev;
                        return 0;
                }

                int r = client_read_message(c, deadline, &msg);
                if (r < 0)
                        return r;
                if (message_is_event(msg))
                        client_push_event(c, msg);
                else
                        /* A reply nobody waits for (a call that timed out). */
                        client_discard_reply(c, msg);
        }
}
