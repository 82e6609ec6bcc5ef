/* SPDX-License-Identifier: MIT */
/* A cache that cooperates with poold, for the pressure scenario
 * (tests/vm/scenarios/pressure-shrink.sh). Started inside its pool
 * (`poolctl run --pool data -- shrink-client ...`), it
 *
 *   - holds HOLD of anonymous memory in CHUNK mappings (default 1M), every
 *     page written (volatile: the writes must happen, PITFALLS.md);
 *   - subscribes to topic pool/POOL on poold's control socket (plain
 *     sockets and json-c, docs/protocol.md; not libpoold, on purpose: this
 *     tests the protocol as any client sees it);
 *   - on "shrink": unmaps chunks until it has freed at least `free` and
 *     holds no more than `target` (a cache drops entries until it fits),
 *     then acks with the bytes freed;
 *   - on "grow": maps chunks again up to min(HOLD, target - MARGIN): the
 *     pool's cgroup also holds this process's own page tables and stack,
 *     so filling the target to the byte would meet memory.high.
 *
 *   shrink-client --pool NAME --hold SIZE [--chunk SIZE] [--margin SIZE]
 *                 [--socket PATH] [--no-subscribe]
 *
 * --no-subscribe: only hold the memory (a member of a working pool that
 * cannot give anything back). Every line is printed with CLOCK_MONOTONIC
 * microseconds (poold's event clock):
 *   client ready t=.. held=..
 *   client shrink t=.. seq=.. event_t=.. target=.. free=.. freed=.. held=.. ack_t=..
 *   client grow t=.. seq=.. event_t=.. target=.. grown=.. held=..
 *   client ack-reply t=.. ok=true|false [error]
 *   client exit t=.. held=..
 * Exits on SIGTERM/SIGINT (0), when poold closes the connection (3), or on
 * an error (1; 2 for bad usage). */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MIB (UINT64_C(1) << 20)
/* docs/protocol.md: the server's lines are at most what its buffers hold;
 * events are a few hundred bytes. */
#define LINE_MAX_BYTES 65536

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || s[0] == '-')
                return -EINVAL;
        unsigned shift = 0;
        switch (*end) {
        case '\0': break;
        case 'K': case 'k': shift = 10; end++; break;
        case 'M': case 'm': shift = 20; end++; break;
        case 'G': case 'g': shift = 30; end++; break;
        default: return -EINVAL;
        }
        if (*end != '\0' || v > (UINT64_MAX >> shift))
                return -EINVAL;
        *ret = (uint64_t) v << shift;
        return 0;
}

/* The held memory: a stack of equal chunks. */
static void **chunks;
static size_t n_chunks, cap_chunks;
static uint64_t chunk_size;

static int grow_one(void) {
        if (n_chunks == cap_chunks) {
                size_t cap = cap_chunks ? cap_chunks * 2 : 256;
                void **c = realloc(chunks, cap * sizeof *c);
                if (!c)
                        return -ENOMEM;
                chunks = c;
                cap_chunks = cap;
        }
        volatile char *p = mmap(NULL, chunk_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -errno;
        for (uint64_t off = 0; off < chunk_size; off += 4096)
                p[off] = 1;
        chunks[n_chunks++] = (void *) p;
        return 0;
}

static void shrink_one(void) {
        munmap(chunks[--n_chunks], chunk_size);
}

static uint64_t held(void) {
        return (uint64_t) n_chunks * chunk_size;
}

static int send_line(int fd, const char *s) {
        size_t len = strlen(s), done = 0;
        while (done < len) {
                ssize_t n = send(fd, s + done, len - done, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) n;
        }
        return 0;
}

static uint64_t get_u64(json_object *o, const char *key, bool *ok) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
                *ok = false;
                return 0;
        }
        return json_object_get_uint64(v);
}

static int64_t next_id = 1;

static int handle_event(int fd, const char *pool, uint64_t limit, uint64_t margin, json_object *o) {
        json_object *ev;
        if (!json_object_object_get_ex(o, "event", &ev) || !json_object_is_type(ev, json_type_string))
                return 0;
        const char *event = json_object_get_string(ev);
        bool ok = true;
        uint64_t t = now_usec();
        uint64_t seq = get_u64(o, "seq", &ok);
        uint64_t target = get_u64(o, "target", &ok);
        bool has_time = true;
        uint64_t event_t = get_u64(o, "time_usec", &has_time);
        if (!ok) {
                printf("client bad-event t=%" PRIu64 " %s\n", t, json_object_to_json_string(o));
                return 0;
        }
        char event_ts[32] = "-";
        if (has_time)
                snprintf(event_ts, sizeof event_ts, "%" PRIu64, event_t);

        if (strcmp(event, "shrink") == 0) {
                bool has_free = true;
                uint64_t free_req = get_u64(o, "free", &has_free);
                uint64_t freed = 0;
                while (n_chunks > 0 && (freed < free_req || held() > target)) {
                        shrink_one();
                        freed += chunk_size;
                }
                char line[256];
                snprintf(line, sizeof line,
                         "{\"id\":%" PRId64 ",\"verb\":\"ack\",\"args\":{\"pool\":\"%s\",\"seq\":%" PRIu64
                         ",\"freed\":%" PRIu64 "}}\n",
                         next_id++, pool, seq, freed);
                int r = send_line(fd, line);
                uint64_t t_ack = now_usec();
                printf("client shrink t=%" PRIu64 " seq=%" PRIu64 " event_t=%s target=%" PRIu64 " free=%" PRIu64
                       " freed=%" PRIu64 " held=%" PRIu64 " ack_t=%" PRIu64 "\n",
                       t, seq, event_ts, target, free_req, freed, held(), t_ack);
                return r;
        }
        if (strcmp(event, "grow") == 0) {
                uint64_t want = target > margin ? target - margin : 0;
                if (want > limit)
                        want = limit;
                uint64_t grown = 0;
                while (held() + chunk_size <= want && grow_one() == 0)
                        grown += chunk_size;
                printf("client grow t=%" PRIu64 " seq=%" PRIu64 " event_t=%s target=%" PRIu64 " grown=%" PRIu64
                       " held=%" PRIu64 "\n",
                       t, seq, event_ts, target, grown, held());
                return 0;
        }
        /* docs/protocol.md: unknown events are ignored. */
        printf("client other t=%" PRIu64 " %s\n", t, json_object_to_json_string(o));
        return 0;
}

static int connect_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void usage(FILE *f) {
        fprintf(f, "usage: shrink-client --pool NAME --hold SIZE [--chunk SIZE] [--margin SIZE]\n"
                   "                     [--socket PATH] [--no-subscribe]\n");
}

int main(int argc, char *argv[]) {
        const char *pool = NULL, *path = RUNSTATEDIR "/poold/control.sock";
        uint64_t hold = 0, margin = 16 * MIB;
        bool subscribe = true;

        chunk_size = MIB;
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--no-subscribe") == 0) {
                        subscribe = false;
                        continue;
                }
                if (i + 1 >= argc) {
                        usage(stderr);
                        return 2;
                }
                const char *v = argv[++i];
                int r = 0;
                if (strcmp(a, "--pool") == 0)
                        pool = v;
                else if (strcmp(a, "--socket") == 0)
                        path = v;
                else if (strcmp(a, "--hold") == 0)
                        r = parse_size(v, &hold);
                else if (strcmp(a, "--chunk") == 0)
                        r = parse_size(v, &chunk_size);
                else if (strcmp(a, "--margin") == 0)
                        r = parse_size(v, &margin);
                else
                        r = -EINVAL;
                if (r < 0 || chunk_size < 4096) {
                        usage(stderr);
                        return 2;
                }
        }
        if (!pool || strlen(pool) > 32 || strspn(pool, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(pool)) {
                usage(stderr);
                return 2;
        }

        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        while (held() + chunk_size <= hold) {
                int r = grow_one();
                if (r < 0) {
                        fprintf(stderr, "shrink-client: mapping chunk %zu: %s\n", n_chunks, strerror(-r));
                        return 1;
                }
        }

        int fd = -1;
        if (subscribe) {
                /* poold may still be starting: retry for 10 s. */
                for (int tries = 0; (fd = connect_socket(path)) < 0; tries++) {
                        if (tries >= 100) {
                                fprintf(stderr, "shrink-client: %s: %s\n", path, strerror(-fd));
                                return 1;
                        }
                        nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
                }
                char line[128];
                snprintf(line, sizeof line, "{\"id\":0,\"verb\":\"subscribe\",\"args\":{\"pool\":\"%s\"}}\n", pool);
                if (send_line(fd, line) < 0) {
                        fprintf(stderr, "shrink-client: subscribe: %m\n");
                        return 1;
                }
        }
        printf("client ready t=%" PRIu64 " held=%" PRIu64 " pool=%s subscribe=%s\n", now_usec(), held(), pool,
               subscribe ? "yes" : "no");

        static char buf[LINE_MAX_BYTES + 1];
        size_t len = 0;
        int rc = 0;
        while (!stop) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                /* Without a socket, just hold (the signal interrupts). */
                int n = poll(&p, fd >= 0 ? 1 : 0, 1000);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "shrink-client: poll: %m\n");
                        rc = 1;
                        break;
                }
                if (n == 0 || fd < 0)
                        continue;
                ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "shrink-client: read: %m\n");
                        rc = 1;
                        break;
                }
                if (got == 0) {
                        printf("client eof t=%" PRIu64 " (poold closed the connection)\n", now_usec());
                        rc = 3;
                        break;
                }
                len += (size_t) got;
                char *start = buf, *nl;
                while ((nl = memchr(start, '\n', len - (size_t) (start - buf)))) {
                        *nl = '\0';
                        json_object *o = json_tokener_parse(start);
                        start = nl + 1;
                        if (!o || !json_object_is_type(o, json_type_object)) {
                                printf("client bad-line t=%" PRIu64 "\n", now_usec());
                                json_object_put(o);
                                continue;
                        }
                        json_object *okv;
                        if (json_object_object_get_ex(o, "ok", &okv)) {
                                /* A reply: to the subscribe (id 0) or an ack. */
                                json_object *id;
                                json_object_object_get_ex(o, "id", &id);
                                printf("client reply t=%" PRIu64 " id=%s ok=%s%s%s\n", now_usec(),
                                       json_object_to_json_string(id), json_object_get_boolean(okv) ? "true" : "false",
                                       json_object_get_boolean(okv) ? "" : " ",
                                       json_object_get_boolean(okv) ? "" : json_object_to_json_string(o));
                                if (!json_object_get_boolean(okv) && json_object_get_int64(id) == 0) {
                                        fprintf(stderr, "shrink-client: subscribe refused: %s\n",
                                                json_object_to_json_string(o));
                                        rc = 1;
                                        stop = 1;
                                }
                        } else if (handle_event(fd, pool, hold, margin, o) < 0) {
                                fprintf(stderr, "shrink-client: ack: %m\n");
                                rc = 1;
                                stop = 1;
                        }
                        json_object_put(o);
                }
                len -= (size_t) (start - buf);
                memmove(buf, start, len);
                if (len == sizeof buf - 1) {
                        fprintf(stderr, "shrink-client: line over %d bytes\n", LINE_MAX_BYTES);
                        rc = 1;
                        break;
                }
        }
        printf("client exit t=%" PRIu64 " held=%" PRIu64 "\n", now_usec(), held());
        if (fd >= 0)
                close(fd);
        return rc;
}
