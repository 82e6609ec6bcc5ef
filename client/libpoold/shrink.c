/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pool-internal.h"

/* The shrink thread also wakes this often without an event: a target
 * lowered by another process (poold) through the shared page does not
 * write our eventfd. One second is the daemon's own pressure granularity
 * (PSI windows of 1-2 s, PITFALLS.md). */
#define SHRINK_THREAD_PERIOD_MS 1000

/* A shrink frees down to 1/64 (1.6%) below the target, not to the target
 * itself: a pool that stops exactly at its target is over it again at its
 * next commit, and a cache filled at full speed then shrinks (and purges)
 * once per put (measured with the cache example: 13,860 shrinks for
 * 25,600 puts). */
#define SHRINK_HYSTERESIS_DIV 64

static uint64_t shrink_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static void shrink_signal(Pool *p) {
        if (atomic_exchange(&p->hooks->over_target, 1) == 0) {
                uint64_t one = 1;
                ssize_t w = write(p->event_fd, &one, sizeof one);
                (void) w;
        }
}

int pool_on_shrink(Pool *p, PoolShrinkFn fn, void *userdata) {
        int r = 0;

        if (!p || !fn)
                return -EINVAL;

        pthread_mutex_lock(&p->shrink_lock);
        for (size_t i = 0; i < p->n_callbacks; i++)
                if (p->callbacks[i].fn == fn && p->callbacks[i].userdata == userdata) {
                        r = -EEXIST;
                        goto out;
                }
        PoolShrinkCallback *a = realloc(p->callbacks, (p->n_callbacks + 1) * sizeof *a);
        if (!a) {
                r = -ENOMEM;
                goto out;
        }
        p->callbacks = a;
        p->callbacks[p->n_callbacks++] = (PoolShrinkCallback) { fn, userdata };
out:
        pthread_mutex_unlock(&p->shrink_lock);
        return r;
}

int pool_remove_shrink(Pool *p, PoolShrinkFn fn, void *userdata) {
        int r = -ENOENT;

        pthread_mutex_lock(&p->shrink_lock);
        for (size_t i = 0; i < p->n_callbacks; i++)
                if (p->callbacks[i].fn == fn && p->callbacks[i].userdata == userdata) {
                        for (size_t j = i + 1; j < p->n_callbacks; j++)
                                p->callbacks[j - 1] = p->callbacks[j];
                        p->n_callbacks--;
                        r = 0;
                        break;
                }
        pthread_mutex_unlock(&p->shrink_lock);
        return r;
}

void shrink_done(Pool *p) {
        free(p->callbacks);
        p->callbacks = NULL;
        p->n_callbacks = 0;
}

/* Called with shrink_lock held. */
static int shrink_run(Pool *p, uint64_t *ret_released) {
        uint64_t t0 = shrink_now_ns();
        uint64_t seq = atomic_load(&p->bp->target_seq);
        uint64_t charged = atomic_load(&p->bp->charged);
        uint64_t target = atomic_load(&p->bp->target);
        uint64_t self = atomic_load(&p->hooks->committed);

        /* Only this process's share: every process using the pool is asked
         * for its part of the excess, not for all of it. */
        uint64_t need = 0;
        if (charged > target) {
                uint64_t goal = target - target / SHRINK_HYSTERESIS_DIV;
                need = budget_shrink_share(charged, goal, self);
                /* First round for this target: the fraction of our charge
                 * the pool had to lose when it was set, which does not
                 * shrink because another process went first. */
                if (seq != p->seen_seq)
                        need = MAX(need, budget_shrink_share_at(atomic_load(&p->bp->target_charged), goal, self));
        }
        uint64_t reported = 0;
        for (size_t i = 0; i < p->n_callbacks && reported < need; i++) {
                uint64_t got = p->callbacks[i].fn(p, need - reported, p->callbacks[i].userdata);
                reported = reported + got < reported ? UINT64_MAX : reported + got;
        }

        /* What the callbacks freed sits in tcaches and dirty pages, still
         * committed: give it back to the arena, then the pages to the kernel. */
        pool_flush_tcaches(p);
        int r = arena_purge(p->arena);

        uint64_t after = atomic_load(&p->hooks->committed);
        uint64_t released = self > after ? self - after : 0;

        atomic_fetch_add(&p->n_shrinks, 1);
        atomic_fetch_add(&p->shrink_requested, need);
        atomic_fetch_add(&p->shrink_reported, reported);
        atomic_fetch_add(&p->shrink_released, released);
        atomic_fetch_add(&p->bp->shrink_released, released);
        atomic_fetch_add(&p->released_unacked, released);
        if (p->proc) {
                atomic_fetch_add(&p->proc->shrink_requested, need);
                atomic_fetch_add(&p->proc->shrink_released, released);
                atomic_store(&p->proc->seen_seq, seq);
        }
        p->seen_seq = seq;
        atomic_store(&p->last_shrink_ns, shrink_now_ns() - t0);

        if (ret_released)
                *ret_released = released;
        return r;
}

int pool_shrink_now(Pool *p, uint64_t *ret_released) {
        pthread_mutex_lock(&p->shrink_lock);
        (void) atomic_exchange(&p->hooks->over_target, 0);
        int r = shrink_run(p, ret_released);
        pthread_mutex_unlock(&p->shrink_lock);
        return r;
}

static int shrink_poll_page(Pool *p) {
        uint64_t v;
        ssize_t n = read(p->event_fd, &v, sizeof v); /* drain; non-blocking */
        (void) n;

        /* Cleared before looking at the figures: a commit that crosses the
         * target after this sets it again and runs another round. */
        bool pending = atomic_exchange(&p->hooks->over_target, 0) != 0;
        uint64_t seq = atomic_load(&p->bp->target_seq);

        pthread_mutex_lock(&p->shrink_lock);
        if (seq != p->seen_seq)
                pending = true;

        int r = 0;
        if (!pending)
                goto out;

        if (atomic_load(&p->bp->charged) <= atomic_load(&p->bp->target)) {
                /* A raised target, or someone else already shrank. */
                p->seen_seq = seq;
                if (p->proc)
                        atomic_store(&p->proc->seen_seq, seq);
                goto out;
        }

        r = shrink_run(p, NULL);
        if (r >= 0)
                r = 1;
out:
        pthread_mutex_unlock(&p->shrink_lock);
        return r;
}

/* Publishes the arena's figures in this process's slot, for poold's status
 * (BudgetProc.allocated, active, resident). Here and in pool_stats(), never
 * in an extent hook: reading them takes jemalloc's stats locks, which the
 * hooks' callers hold. */
static void shrink_publish_arena(Pool *p) {
        ArenaStats a;
        if (p->proc && arena_get_stats(p->arena, &a) >= 0)
                budget_proc_set_arena(p->proc, a.allocated, a.active, a.resident);
}

static int shrink_poll(Pool *p) {
        bool requested = false;
        uint64_t seq = 0;

        /* poold's requests first: it wrote the new target into the page
         * before sending, so the page check below sees it. */
        if (p->poll_fd >= 0)
                pool_daemon_read(p, &requested, &seq);

        int r = shrink_poll_page(p);

        /* Every request is answered, also when there was nothing to free
         * (another process already shrank, or this one holds nothing): poold
         * waits for acknowledgements up to its deadline. Only the latest seq:
         * a later request supersedes earlier ones (docs/protocol.md). */
        if (requested)
                pool_daemon_ack(p, seq);
        return r;
}

/* shrink_poll(), then the arena's figures published if PERIOD_NS passed
 * since *LAST_NS (0: never published), or, with AFTER_SHRINK, if any
 * shrink ran meanwhile (status then shows what it left). Not at every
 * call: refreshing jemalloc's stats ("epoch") merges every arena's under
 * its ctl lock, tens of microseconds with a few arenas, and a poller may
 * come far more often than status is read. */
static int shrink_poll_publish(Pool *p, _Atomic uint64_t *last_ns, uint64_t period_ns, bool after_shrink) {
        uint64_t now = shrink_now_ns(), last = atomic_load(last_ns);
        uint64_t shrinks = atomic_load(&p->n_shrinks);
        bool due = last == 0 || now - last >= period_ns;
        if (due)
                atomic_store(last_ns, now);
        int r = shrink_poll(p);
        if (due || (after_shrink && atomic_load(&p->n_shrinks) != shrinks))
                shrink_publish_arena(p);
        return r;
}

/* pool_poll() publishes at most this often, and after any shrink. */
#define POOL_POLL_PUBLISH_NS (UINT64_C(100) * 1000000)

int pool_poll(Pool *p) {
        return shrink_poll_publish(p, &p->published_ns, POOL_POLL_PUBLISH_NS, true);
}

int pool_set_target(Pool *p, uint64_t target) {
        int r = budget_set_target(p->bp, target);
        if (r < 0)
                return r;
        if (atomic_load(&p->bp->charged) > target)
                shrink_signal(p);
        return 0;
}

static void *shrink_thread_main(void *arg) {
        Pool *p = arg;
        /* With poold, the epoll fd: its requests wake the thread too. */
        struct pollfd pfd = { .fd = pool_get_fd(p), .events = POLLIN };
        _Atomic uint64_t published = 0;

        while (!atomic_load(&p->closing)) {
                (void) poll(&pfd, 1, SHRINK_THREAD_PERIOD_MS);
                if (atomic_load(&p->closing))
                        break;
                /* The arena's figures once a period: a busy pool can wake
                 * this thread at every commit over the target. */
                (void) shrink_poll_publish(p, &published, SHRINK_THREAD_PERIOD_MS * UINT64_C(1000000), false);
        }
        return NULL;
}

int shrink_thread_start(Pool *p) {
        /* The thread takes no signals: the application's handlers expect
         * them on its own threads. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = -pthread_create(&p->thread, NULL, shrink_thread_main, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

void shrink_thread_stop(Pool *p) {
        uint64_t one = 1;

        atomic_store(&p->closing, true);
        ssize_t w = write(p->event_fd, &one, sizeof one);
        (void) w;
        pthread_join(p->thread, NULL);
        p->has_thread = false;
}
