/* SPDX-License-Identifier: MIT */
/* A pool opened through poold: the "open" verb hands over the pool's budget
 * page (a memfd, SCM_RIGHTS); the connection then stays, subscribed to topic
 * pool/NAME, and carries poold's shrink and grow requests one way and our
 * acknowledgements the other (docs/protocol.md). The page, not the event,
 * is the authority on the target: poold writes the new target into it
 * before it sends the event, so the event only says "look now". */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl-client.h"
#include "pool-internal.h"
#include "protocol.h"

static json_object *pool_args(const char *name) {
        json_object *args = json_object_new_object();
        if (!args)
                return NULL;
        json_object *v = json_object_new_string(name);
        if (!v || json_object_object_add(args, "pool", v) < 0) {
                json_object_put(v);
                json_object_put(args);
                return NULL;
        }
        return args;
}

/* The pid for this process's slot from the "open" reply RESULT. */
static pid_t pool_daemon_slot_pid(json_object *result) {
        json_object *v;
        if (!json_object_object_get_ex(result, "pid", &v))
                return getpid(); /* not said: take our own */
        if (!v)
                return -1; /* poold cannot see us: never reaped */
        if (!json_object_is_type(v, json_type_int))
                return getpid();
        int64_t pid = json_object_get_int64(v);
        return pid > 0 && pid <= INT32_MAX ? (pid_t) pid : getpid();
}

int pool_daemon_open(const char *name, const PoolOpenOptions *opts, BudgetPage **ret_page, CtlClient **ret_ctl,
                     pid_t *ret_pid) {
        const char *path = opts->socket_path ? opts->socket_path : CTL_SOCKET_PATH;
        CtlClient *c = NULL;
        json_object *args = NULL, *result = NULL;
        BudgetPage *page = NULL;
        int fd = -1, r;

        r = ctl_connect(path, &c);
        if (r < 0)
                return r;

        args = pool_args(name);
        if (!args) {
                r = -ENOMEM;
                goto fail;
        }
        r = ctl_call(c, "open", args, POOL_DAEMON_TIMEOUT_MS, &result, &fd);
        if (r == -ENOENT) /* not_found: poold runs, but has no such pool */
                r = -ENXIO;
        if (r < 0)
                goto fail;
        pid_t pid = pool_daemon_slot_pid(result);
        json_object_put(result);
        result = NULL;
        if (fd < 0) {
                r = -EPROTO;
                goto fail;
        }
        /* budget_page_map() checks magic, version and sizes: a poold of
         * another layout gives -EPROTO here. */
        r = budget_page_map(fd, &page);
        close(fd);
        if (r < 0)
                goto fail;
        if (budget_page_find(page, name) < 0) {
                r = -EPROTO;
                goto fail;
        }

        /* Subscribed before the pool exists: a request sent meanwhile is
         * queued in C and read at the first pool_poll(). */
        r = ctl_call(c, "subscribe", args, POOL_DAEMON_TIMEOUT_MS, NULL, NULL);
        if (r == -ENOENT)
                r = -ENXIO;
        if (r < 0)
                goto fail;

        json_object_put(args);
        *ret_page = page;
        *ret_ctl = c;
        *ret_pid = pid;
        return 0;

fail:
        json_object_put(args);
        json_object_put(result);
        budget_page_unmap(page);
        ctl_client_free(c);
        return r;
}

/* Called with conn_lock held. */
static void pool_daemon_drop_locked(Pool *p) {
        if (!p->ctl)
                return;
        if (p->poll_fd >= 0)
                (void) epoll_ctl(p->poll_fd, EPOLL_CTL_DEL, ctl_client_get_fd(p->ctl), NULL);
        p->ctl = ctl_client_free(p->ctl);
}

void pool_daemon_close(Pool *p) {
        pthread_mutex_lock(&p->conn_lock);
        pool_daemon_drop_locked(p);
        pthread_mutex_unlock(&p->conn_lock);
}

/* Looks at one message. Sets *SHRINK and raises *SEQ for a well-formed
 * shrink request for P; ignores everything else: other events ("grow": the
 * target in the page went up, pool_poll() sees that by itself), other
 * pools, members of the wrong type. */
static void pool_daemon_handle(Pool *p, json_object *ev, bool *shrink, uint64_t *seq) {
        const char *event, *pool;
        uint64_t s;

        if (!json_object_is_type(ev, json_type_object))
                return;
        if (protocol_get_string(ev, "event", true, &event, NULL) < 0 ||
            protocol_get_string(ev, "pool", true, &pool, NULL) < 0 || strcmp(pool, p->name) != 0)
                return;
        if (strcmp(event, "shrink") != 0)
                return;
        /* Without a seq there is nothing to acknowledge; pool_poll() looks
         * at the page's target anyway. */
        if (protocol_get_uint64(ev, "seq", true, &s, NULL) < 0)
                return;
        if (!*shrink || s > *seq)
                *seq = s;
        *shrink = true;
}

void pool_daemon_read(Pool *p, bool *ret_shrink, uint64_t *ret_seq) {
        bool shrink = false;
        uint64_t seq = 0;

        pthread_mutex_lock(&p->conn_lock);
        for (unsigned i = 0; p->ctl && i < POOL_EVENTS_PER_POLL; i++) {
                json_object *ev = NULL;
                int r = ctl_read_event(p->ctl, 0, &ev);
                if (r == -ETIMEDOUT)
                        break; /* nothing more has arrived */
                if (r == -EBADMSG)
                        continue; /* that line is consumed: read on */
                if (r < 0) {
                        /* poold went away (or the stream broke): the pool
                         * keeps the page and its last target; a new poold
                         * has new pages, so only a new pool_open() joins it. */
                        pool_daemon_drop_locked(p);
                        break;
                }
                pool_daemon_handle(p, ev, &shrink, &seq);
                json_object_put(ev);
        }
        pthread_mutex_unlock(&p->conn_lock);

        *ret_shrink = shrink;
        *ret_seq = seq;
}

static uint64_t pool_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000U + (uint64_t) ts.tv_nsec / 1000000U;
}

/* Sends LINE whole within POOL_ACK_TIMEOUT_MS. Returns 0 or -errno. */
static int pool_daemon_send(int fd, const char *line, size_t len) {
        uint64_t deadline = pool_now_ms() + POOL_ACK_TIMEOUT_MS;

        while (len > 0) {
                ssize_t n = send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n >= 0) {
                        line += n;
                        len -= (size_t) n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                uint64_t now = pool_now_ms();
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                if (poll(&pfd, 1, (int) (deadline - now)) < 0 && errno != EINTR)
                        return -errno;
        }
        return 0;
}

void pool_daemon_ack(Pool *p, uint64_t seq) {
        json_object *args = NULL, *id = NULL, *req = NULL;
        char *line = NULL;
        size_t len;

        pthread_mutex_lock(&p->conn_lock);
        if (!p->ctl)
                goto out;

        uint64_t freed = atomic_exchange(&p->released_unacked, 0);
        args = pool_args(p->name);
        if (!args || json_object_object_add(args, "seq", json_object_new_uint64(seq)) < 0 ||
            json_object_object_add(args, "freed", json_object_new_uint64(freed)) < 0)
                goto out;
        /* Sent without waiting for the reply: pool_poll() must not stall on
         * poold. The reply comes back with this id, which no ctl_call() of
         * ours uses (they count 1, 2, ...), so ctl_read_event() drops it. */
        id = json_object_new_string("ack");
        req = id ? protocol_request_build(id, "ack", args) : NULL;
        if (!req || protocol_serialize(req, &line, &len) < 0)
                goto out;
        if (pool_daemon_send(ctl_client_get_fd(p->ctl), line, len) < 0)
                pool_daemon_drop_locked(p);
out:
        pthread_mutex_unlock(&p->conn_lock);
        free(line);
        json_object_put(req);
        json_object_put(id);
        json_object_put(args);
}
