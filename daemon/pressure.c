/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eventlog.h"
#include "log.h"
#include "macro.h"
#include "meminfo.h"
#include "pressure.h"
#include "psi.h"
#include "signals.h"
#include "size.h"

/* The last events shown in the status document. */
#define PRESSURE_STATUS_EVENTS 5

typedef struct PressurePool {
        char name[POOL_NAME_MAX + 1];
        char topic[POOL_NAME_MAX + 8];      /* "pool/NAME" */
        PsiTrigger *psi[_PSI_KIND_MAX];
        sd_event_source *psi_source[_PSI_KIND_MAX];
        bool psi_fired;

        /* The pending shrink notice: its number, who should answer it, who did. */
        uint64_t notice_seq;
        unsigned acks_expected;
        unsigned acks;
        uint64_t acked_bytes;
        uint64_t notice_usec;
        uint64_t usage_at_notice;           /* POLICY_UNKNOWN */
        uint64_t published;                 /* the target last given to target_changed; 0: none */
} PressurePool;

typedef struct HostTrigger {
        PsiTrigger *trigger;
        sd_event_source *source;
        bool fired;
} HostTrigger;

struct Pressure {
        sd_event *event;
        Control *control;
        char *proc_root;
        char *psi_path;                     /* PROC_ROOT/pressure/memory */
        PressureOps ops;
        void *userdata;

        Controller *ctl;
        PolicyConf conf;                    /* as configured */
        uint64_t window_used_usec;          /* the host triggers' window, 0: none open */
        int host_psi_error;                 /* why there is no host trigger, 0 */

        size_t n_pools, n_reserves;
        PressurePool *pools;
        PolicyPoolSample *samples;
        uint64_t *reserve_usage;
        bool have_samples;
        uint64_t measured_usec;

        HostTrigger host[_PSI_KIND_MAX];

        sd_event_source *timer;
        bool started;
        bool in_tick;
        uint64_t interval_usec;             /* the last sampling interval chosen */
        uint64_t mem_available;
        uint64_t watched_total;             /* MemTotal the budget was made of; 0: not watched */
        uint64_t swap_free;                 /* SwapFree at the last round */
        PolicySignals signals;
        bool pressure;
        bool exhausted;
        uint64_t next_notice_seq;
        uint64_t ticks;

        EventLog *log;
};

int pressure_new(sd_event *event, Control *control, const char *proc_root, const PressureOps *ops,
                 void *userdata, Pressure **ret) {
        _cleanup_free_ Pressure *p = calloc(1, sizeof *p);
        int r;

        if (!p)
                return -ENOMEM;
        p->event = event;
        p->control = control;
        p->ops = *ops;
        p->userdata = userdata;
        p->mem_available = POLICY_UNKNOWN;
        if (!proc_root)
                proc_root = "/proc";
        p->proc_root = strdup(proc_root);
        if (!p->proc_root || asprintf(&p->psi_path, "%s/pressure/memory", proc_root) < 0) {
                free(p->proc_root);
                return -ENOMEM;
        }
        r = eventlog_new(0, &p->log);
        if (r < 0) {
                free(p->psi_path);
                free(p->proc_root);
                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static void pool_triggers_close(PressurePool *pp) {
        for (int k = 0; k < _PSI_KIND_MAX; k++) {
                pp->psi_source[k] = sd_event_source_disable_unref(pp->psi_source[k]);
                pp->psi[k] = psi_trigger_free(pp->psi[k]);
        }
}

static void host_triggers_close(Pressure *p) {
        for (int k = 0; k < _PSI_KIND_MAX; k++) {
                p->host[k].source = sd_event_source_disable_unref(p->host[k].source);
                p->host[k].trigger = psi_trigger_free(p->host[k].trigger);
        }
        p->window_used_usec = 0;
}

static void pools_free(PressurePool *pools, size_t n) {
        for (size_t i = 0; pools && i < n; i++)
                pool_triggers_close(&pools[i]);
        free(pools);
}

Pressure *pressure_free(Pressure *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        host_triggers_close(p);
        pools_free(p->pools, p->n_pools);
        free(p->samples);
        free(p->reserve_usage);
        controller_free(p->ctl);
        eventlog_free(p->log);
        free(p->psi_path);
        free(p->proc_root);
        free(p);
        return NULL;
}

/* --- the round --- */

static void pressure_schedule(Pressure *p, uint64_t when);
static int pressure_tick(Pressure *p);

static int on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        (void) pressure_tick(userdata);
        return 0;
}

/* A trigger's fd: EPOLLPRI when the stall passed its threshold, EPOLLERR
 * when the cgroup went away (then the trigger is dropped). */
static int on_host_psi(sd_event_source *s, int fd _unused_, uint32_t revents, void *userdata) {
        Pressure *p = userdata;
        for (int k = 0; k < _PSI_KIND_MAX; k++) {
                if (p->host[k].source != s)
                        continue;
                if (revents & EPOLLERR) {
                        log_warning("PSI trigger on %s failed: watching MemAvailable only", p->psi_path);
                        p->host[k].source = sd_event_source_disable_unref(p->host[k].source);
                        return 0;
                }
                p->host[k].fired = true;
        }
        return pressure_tick(p);
}

static int on_pool_psi(sd_event_source *s, int fd _unused_, uint32_t revents, void *userdata) {
        Pressure *p = userdata;
        for (size_t i = 0; i < p->n_pools; i++)
                for (int k = 0; k < _PSI_KIND_MAX; k++) {
                        PressurePool *pp = &p->pools[i];
                        if (pp->psi_source[k] != s)
                                continue;
                        if (revents & EPOLLERR) {
                                log_debug("pool %s: its PSI trigger went away (cgroup removed)", pp->name);
                                pool_triggers_close(pp);
                                return 0;
                        }
                        pp->psi_fired = true;
                        return pressure_tick(p);
                }
        return 0;
}

/* The sampling interval: MemAvailable is read again before the headroom
 * above the watermark could be used up at PRESSURE_FILL_RATE, so a drop
 * below it is seen within about one PressureInterval however calm it was
 * before; never less often than CalmInterval, never more often than
 * PressureInterval. With 10 GiB of headroom that is the calm 1 s; with
 * 200 MiB, 49 ms -> PressureInterval (100 ms). */
static uint64_t pressure_sample_interval(const Pressure *p) {
        const PolicyConf *c = &p->conf;
        if (p->pressure || p->mem_available == POLICY_UNKNOWN)
                return p->pressure ? c->pressure_interval_usec : c->calm_interval_usec;
        uint64_t headroom = p->mem_available > p->signals.watermark ? p->mem_available - p->signals.watermark : 0;
        /* headroom / rate seconds, in microseconds, without overflow. */
        uint64_t t = headroom / (PRESSURE_FILL_RATE_BYTES_PER_SEC / POLICY_USEC_PER_SEC);
        return MIN(MAX(t, c->pressure_interval_usec), c->calm_interval_usec);
}

static void pressure_schedule(Pressure *p, uint64_t when) {
        if (!p->timer)
                return;
        /* sd-event coalesces timers within their accuracy (250 ms if 0 is
         * given): 1 ms keeps a 100 ms sampling interval honest. */
        (void) sd_event_source_set_time_accuracy(p->timer, POLICY_USEC_PER_MSEC);
        (void) sd_event_source_set_time(p->timer, when);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static bool pressure_busy(const Pressure *p) {
        for (size_t i = 0; i < p->n_pools; i++) {
                PolicyPoolStatus st;
                if (controller_pool_status(p->ctl, i, &st) >= 0 && st.stage != POLICY_STAGE_STEADY)
                        return true;
        }
        return false;
}

/* Fresh figures are needed before any decision that may take memory: when
 * MemAvailable is at or under the watermark, a trigger fired, or a step is
 * under way. Calm rounds reuse readings up to PRESSURE_MEASURE_CALM_USEC
 * old, which keeps an idle poold from reading every pool's cgroup each
 * time it samples MemAvailable. */
static void pressure_measure(Pressure *p, uint64_t now) {
        bool fired = p->host[PSI_SOME].fired || p->host[PSI_FULL].fired;
        for (size_t i = 0; i < p->n_pools && !fired; i++)
                fired = p->pools[i].psi_fired;
        bool low = p->mem_available != POLICY_UNKNOWN && p->mem_available <= p->signals.watermark;
        for (size_t i = 0; i < p->n_reserves; i++)
                p->reserve_usage[i] = POLICY_UNKNOWN;
        if (p->have_samples && !p->pressure && !fired && !low && now - p->measured_usec < PRESSURE_MEASURE_CALM_USEC &&
            !pressure_busy(p)) {
                p->ops.measure(p->userdata, NULL, 0, p->reserve_usage, p->n_reserves, false);
                return;
        }
        for (size_t i = 0; i < p->n_pools; i++) {
                PolicyPoolSample *s = &p->samples[i];
                s->usage = s->events_high = s->events_max = s->events_oom = s->events_oom_kill = POLICY_UNKNOWN;
        }
        bool detailed = p->pressure || fired || low || pressure_busy(p);
        p->ops.measure(p->userdata, p->samples, p->n_pools, p->reserve_usage, p->n_reserves, detailed);
        /* What swap can take, the kernel can reclaim. */
        for (size_t i = 0; i < p->n_pools; i++)
                p->samples[i].unreclaimable = p->samples[i].unreclaimable > p->swap_free ?
                                                      p->samples[i].unreclaimable - p->swap_free :
                                                      0;
        p->measured_usec = now;
        p->have_samples = true;
}

static void log_event(const EventRecord *r) {
        const PolicyAction *a = &r->action;
        char t1[SIZE_FMT_MAX], t2[SIZE_FMT_MAX], b[SIZE_FMT_MAX];
        const char *name = eventlog_action_name(a->type);

        switch (a->type) {
        case POLICY_ACTION_NOTIFY_SHRINK:
                log_notice("event %" PRIu64 ": shrink pool %s %s -> %s, clients asked to free %s within %" PRIu64
                           " ms: %s", r->seq, a->name, size_format_human(a->old_target, t1),
                           size_format_human(a->new_target, t2), size_format_human(a->bytes, b),
                           (a->deadline_usec - a->time_usec) / POLICY_USEC_PER_MSEC, a->reason);
                break;
        case POLICY_ACTION_SET_HIGH:
                log_notice("event %" PRIu64 ": set_high pool %s memory.high=%s (%s): %s", r->seq, a->name,
                           size_format_human(a->bytes, t1), controller_stage_to_string(a->stage), a->reason);
                break;
        case POLICY_ACTION_NOTIFY_GROW:
                log_info("event %" PRIu64 ": grow pool %s %s -> %s: %s", r->seq, a->name,
                         size_format_human(a->old_target, t1), size_format_human(a->new_target, t2), a->reason);
                break;
        case POLICY_ACTION_REPORT_EXHAUSTED:
                log_error("event %" PRIu64 ": EXHAUSTED: every pool is at its Min and the pressure remains; "
                          "left to the kernel: %s", r->seq, a->reason);
                break;
        default:
                log_warning("event %" PRIu64 ": %s%s%s: %s", r->seq, name, a->name[0] ? " " : "", a->name,
                            a->reason);
        }
}

static void pressure_notice(Pressure *p, const PolicyAction *a, const char *event) {
        PressurePool *pp = &p->pools[a->pool];
        if (!p->control || control_subscriber_count(p->control, pp->topic) == 0)
                return;
        json_object *o = json_object_new_object();
        if (!o)
                return;
        json_object_object_add(o, "event", json_object_new_string(event));
        json_object_object_add(o, "pool", json_object_new_string(pp->name));
        json_object_object_add(o, "seq", json_object_new_uint64(pp->notice_seq));
        json_object_object_add(o, "target", json_object_new_uint64(a->new_target));
        if (a->type == POLICY_ACTION_NOTIFY_SHRINK) {
                json_object_object_add(o, "free", json_object_new_uint64(a->bytes));
                json_object_object_add(o, "deadline_ms",
                                       json_object_new_uint64((a->deadline_usec - a->time_usec) / POLICY_USEC_PER_MSEC));
        }
        json_object_object_add(o, "time_usec", json_object_new_uint64(a->time_usec));
        (void) control_broadcast(p->control, pp->topic, o);
        json_object_put(o);
}

/* Budget pages learn every new target once, whichever action carries it (a
 * step without subscribers has no notice, only SET_HIGH). */
static void pressure_publish(Pressure *p, size_t i, uint64_t target) {
        PressurePool *pp = &p->pools[i];
        if (pp->published == target)
                return;
        pp->published = target;
        if (p->ops.target_changed)
                p->ops.target_changed(p->userdata, i, target);
}

static void pressure_carry_out(Pressure *p, const PolicyAction *a) {
        uint64_t duration = 0, freed = POLICY_UNKNOWN;
        PressurePool *pp = a->pool < p->n_pools ? &p->pools[a->pool] : NULL;
        int r;

        switch (a->type) {
        case POLICY_ACTION_NOTIFY_SHRINK:
                if (!pp)
                        break;
                pressure_publish(p, a->pool, a->new_target);
                pp->notice_seq = ++p->next_notice_seq;
                pp->acks_expected = p->control ? control_subscriber_count(p->control, pp->topic) : 0;
                pp->acks = 0;
                pp->acked_bytes = 0;
                pp->notice_usec = a->time_usec;
                pp->usage_at_notice = a->usage;
                pressure_notice(p, a, "shrink");
                break;
        case POLICY_ACTION_SET_HIGH:
                if (!pp)
                        break;
                r = p->ops.set_high(p->userdata, a->pool, a->bytes);
                pressure_publish(p, a->pool, a->new_target);
                if (r < 0)
                        log_error_errno(r, "pool %s: cannot set memory.high to %" PRIu64, pp->name, a->bytes);
                if (a->stage == POLICY_STAGE_SHRINKING_FORCED && pp->notice_usec > 0) {
                        duration = a->time_usec - pp->notice_usec;
                        if (pp->usage_at_notice != POLICY_UNKNOWN && a->usage != POLICY_UNKNOWN)
                                freed = pp->usage_at_notice > a->usage ? pp->usage_at_notice - a->usage : 0;
                }
                break;
        case POLICY_ACTION_NOTIFY_GROW:
                if (!pp)
                        break;
                pressure_publish(p, a->pool, a->new_target);
                pp->notice_seq = ++p->next_notice_seq;
                pressure_notice(p, a, "grow");
                break;
        default:
                break;
        }

        const EventRecord *rec = eventlog_add(p->log, a, duration, freed);
        if (!rec)
                return (void) log_error("out of memory recording an event");
        log_event(rec);
        if (p->control && control_subscriber_count(p->control, "events") > 0) {
                json_object *o = eventlog_record_json(rec);
                if (o) {
                        /* Every pushed line names its event (docs/protocol.md). */
                        json_object_object_add(o, "event", json_object_new_string(eventlog_action_name(a->type)));
                        (void) control_broadcast(p->control, "events", o);
                        json_object_put(o);
                }
        }
}

static int pressure_tick(Pressure *p) {
        PolicyOutput out = {};
        int r;

        if (!p->ctl || p->in_tick)
                return 0;
        p->in_tick = true;
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);

        uint64_t avail = POLICY_UNKNOWN, total = 0;
        MemInfo mi;
        r = meminfo_read(p->proc_root, &mi);
        if (r >= 0) {
                avail = mi.available;
                total = mi.total;
                p->swap_free = mi.swap_free;
        }
        if (r < 0 && p->mem_available != POLICY_UNKNOWN)
                log_warning_errno(r, "cannot read %s/meminfo: deciding without MemAvailable", p->proc_root);
        p->mem_available = r < 0 ? POLICY_UNKNOWN : avail;
        if (r >= 0 && p->watched_total != 0 && total != p->watched_total) {
                log_notice("MemTotal changed from %" PRIu64 " to %" PRIu64 " bytes: re-partitioning",
                           p->watched_total, total);
                /* Once per change, whether the new total fits or not. */
                p->watched_total = total;
                if (p->ops.total_changed)
                        p->ops.total_changed(p->userdata, total); /* calls pressure_configure() */
        }

        pressure_measure(p, now);
        for (size_t i = 0; i < p->n_pools; i++) {
                PressurePool *pp = &p->pools[i];
                PolicyPoolSample *s = &p->samples[i];
                s->psi_fired = pp->psi_fired;
                s->subscribers = p->control ? control_subscriber_count(p->control, pp->topic) : 0;
                s->shrink_acked = pp->notice_seq > 0 && pp->acks >= pp->acks_expected;
        }

        PolicyInput in = {
                .now_usec = now,
                .mem_available = p->mem_available,
                .psi_some_fired = p->host[PSI_SOME].fired,
                .psi_full_fired = p->host[PSI_FULL].fired,
                .n_reserves = p->n_reserves,
                .reserve_usage = p->reserve_usage,
                .n_pools = p->n_pools,
                .pools = p->samples,
        };
        r = controller_tick(p->ctl, &in, &out);
        if (r < 0) {
                log_error_errno(r, "the pressure controller refused its input");
                p->in_tick = false;
                pressure_schedule(p, now + p->conf.calm_interval_usec);
                return r;
        }
        p->ticks++;
        for (int k = 0; k < _PSI_KIND_MAX; k++)
                p->host[k].fired = false;
        for (size_t i = 0; i < p->n_pools; i++)
                p->pools[i].psi_fired = false;

        bool was_exhausted = p->exhausted;
        p->signals = out.signals;
        p->pressure = out.pressure;
        p->exhausted = out.exhausted;
        for (size_t i = 0; i < out.n_actions; i++)
                pressure_carry_out(p, &out.actions[i]);
        if (was_exhausted != p->exhausted && p->ops.state_changed)
                p->ops.state_changed(p->userdata);

        p->interval_usec = pressure_sample_interval(p);
        uint64_t next = MIN(out.next_wakeup_usec, now + p->interval_usec);
        controller_output_done(&out);
        p->in_tick = false;
        pressure_schedule(p, MAX(next, now + 1));
        return 0;
}

/* --- configuration --- */

static void conf_from_config(const Config *c, PolicyConf *ret) {
        *ret = c->pressure;
}

/* Opens the host's triggers for CONF; on failure (no PSI, an old kernel
 * refusing the file to writers without CAP_SYS_RESOURCE) MemAvailable alone
 * decides and the reason is logged once and shown in status. */
static void host_triggers_open(Pressure *p) {
        PsiTrigger *some = NULL, *full = NULL;
        uint64_t used = 0;
        int r;

        host_triggers_close(p);
        r = signals_open_triggers(p->psi_path, &p->conf, &some, &full, &used);
        if (r < 0) {
                if (p->host_psi_error != r)
                        log_warning_errno(r, "no PSI trigger on %s: deciding on MemAvailable alone", p->psi_path);
                p->host_psi_error = r;
                return;
        }
        p->host_psi_error = 0;
        p->host[PSI_SOME].trigger = some;
        p->host[PSI_FULL].trigger = full;
        for (int k = 0; k < _PSI_KIND_MAX; k++) {
                r = sd_event_add_io(p->event, &p->host[k].source, psi_trigger_fd(p->host[k].trigger), EPOLLPRI,
                                    on_host_psi, p);
                if (r < 0) {
                        log_warning_errno(r, "cannot watch the PSI trigger on %s", p->psi_path);
                        host_triggers_close(p);
                        p->host_psi_error = r;
                        return;
                }
        }
        p->window_used_usec = used;
        if (used != p->conf.window_usec)
                log_notice("PSI: the kernel refused a %" PRIu64 " ms window on %s (a writer without "
                           "CAP_SYS_RESOURCE needs a multiple of 2 s): using %" PRIu64 " ms",
                           p->conf.window_usec / POLICY_USEC_PER_MSEC, p->psi_path, used / POLICY_USEC_PER_MSEC);
}

/* A pool's own triggers, where its cgroup has memory.pressure (cgroup v2):
 * a stall there is the pool's memory.high at work, not host pressure. */
static void pool_triggers_open(Pressure *p, PressurePool *pp, const char *dir) {
        _cleanup_free_ char *path = NULL;
        PsiTrigger *some = NULL, *full = NULL;
        int r;

        pool_triggers_close(pp);
        if (p->host_psi_error != 0 || !dir || asprintf(&path, "%s/memory.pressure", dir) < 0)
                return;
        r = signals_open_triggers(path, &p->conf, &some, &full, NULL);
        if (r < 0) {
                log_debug_errno(r, "pool %s: no PSI trigger on %s", pp->name, path);
                return;
        }
        pp->psi[PSI_SOME] = some;
        pp->psi[PSI_FULL] = full;
        for (int k = 0; k < _PSI_KIND_MAX; k++)
                if (sd_event_add_io(p->event, &pp->psi_source[k], psi_trigger_fd(pp->psi[k]), EPOLLPRI, on_pool_psi,
                                    p) < 0) {
                        pool_triggers_close(pp);
                        return;
                }
}

/* Where the kernel accepted a longer PSI window than configured, the
 * controller counts with it: pressure lingers for two real windows, not two
 * asked-for ones. */
static void pressure_use_window(Pressure *p) {
        if (p->window_used_usec == 0 || p->window_used_usec == p->conf.window_usec)
                return;
        PolicyConf used = p->conf;
        used.window_usec = p->window_used_usec;
        if (used.some_stall_usec > used.window_usec || used.full_stall_usec > used.window_usec ||
            controller_set_conf(p->ctl, &used) < 0)
                log_debug("keeping the configured PSI window for the controller");
}

int pressure_configure(Pressure *p, const Config *c, const Budget *b, char *const *paths) {
        PolicyConf conf;
        int r;

        conf_from_config(c, &conf);
        PressurePool *pools = calloc(c->n_pools ? c->n_pools : 1, sizeof *pools);
        PolicyPoolSample *samples = calloc(c->n_pools ? c->n_pools : 1, sizeof *samples);
        uint64_t *reserve_usage = calloc(c->n_reserves ? c->n_reserves : 1, sizeof *reserve_usage);
        if (!pools || !samples || !reserve_usage) {
                free(pools);
                free(samples);
                free(reserve_usage);
                return -ENOMEM;
        }

        if (!p->ctl) {
                r = controller_new(&conf, c, b, clock_now_usec(CLOCK_MONOTONIC), &p->ctl);
        } else {
                r = controller_set_conf(p->ctl, &conf);
                if (r >= 0)
                        r = controller_set_budget(p->ctl, c, b);
        }
        if (r < 0) {
                free(pools);
                free(samples);
                free(reserve_usage);
                return r;
        }

        bool psi_changed = conf.some_stall_usec != p->conf.some_stall_usec ||
                           conf.full_stall_usec != p->conf.full_stall_usec || conf.window_usec != p->conf.window_usec;
        p->conf = conf;
        if (p->started && (psi_changed || (p->window_used_usec == 0 && p->host_psi_error == 0)))
                host_triggers_open(p);
        pressure_use_window(p);

        for (size_t i = 0; i < c->n_pools; i++) {
                PressurePool *pp = &pools[i];
                snprintf(pp->name, sizeof pp->name, "%s", c->pools[i].name);
                snprintf(pp->topic, sizeof pp->topic, "pool/%s", c->pools[i].name);
                samples[i] = (PolicyPoolSample) { .usage = POLICY_UNKNOWN, .events_high = POLICY_UNKNOWN,
                                                  .events_max = POLICY_UNKNOWN, .events_oom = POLICY_UNKNOWN,
                                                  .events_oom_kill = POLICY_UNKNOWN };
                /* A pool that keeps its name keeps its notice state and samples. */
                for (size_t j = 0; j < p->n_pools; j++)
                        if (strcmp(p->pools[j].name, pp->name) == 0) {
                                PressurePool *old = &p->pools[j];
                                pp->notice_seq = old->notice_seq;
                                pp->acks_expected = old->acks_expected;
                                pp->acks = old->acks;
                                pp->acked_bytes = old->acked_bytes;
                                pp->notice_usec = old->notice_usec;
                                pp->usage_at_notice = old->usage_at_notice;
                                pp->published = old->published;
                                samples[i] = p->samples[j];
                        }
                if (p->started)
                        pool_triggers_open(p, pp, paths ? paths[i] : NULL);
        }
        pools_free(p->pools, p->n_pools);
        free(p->samples);
        free(p->reserve_usage);
        p->pools = pools;
        p->samples = samples;
        p->reserve_usage = reserve_usage;
        for (size_t i = 0; i < c->n_reserves; i++)
                reserve_usage[i] = POLICY_UNKNOWN;
        p->n_pools = c->n_pools;
        p->n_reserves = c->n_reserves;
        p->have_samples = false; /* measure at the next round */
        /* A new plan takes effect before the caller answers (`poolctl set`,
         * reload): pools without subscribers get their memory.high now. */
        if (p->started && !p->in_tick)
                (void) pressure_tick(p);
        return 0;
}

void pressure_watch_total(Pressure *p, uint64_t total) {
        p->watched_total = total;
}

int pressure_adopt_target(Pressure *p, size_t i, uint64_t target) {
        if (!p->ctl)
                return -ENXIO;
        return controller_adopt_target(p->ctl, i, target);
}

int pressure_start(Pressure *p, char *const *paths) {
        int r;

        if (!p->ctl)
                return -ENXIO;
        p->started = true;
        host_triggers_open(p);
        pressure_use_window(p);
        for (size_t i = 0; i < p->n_pools; i++)
                pool_triggers_open(p, &p->pools[i], paths ? paths[i] : NULL);
        r = sd_event_add_time(p->event, &p->timer, CLOCK_MONOTONIC, clock_now_usec(CLOCK_MONOTONIC), POLICY_USEC_PER_MSEC, on_timer, p);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

/* --- queries --- */

uint64_t pressure_pool_target(const Pressure *p, size_t i) {
        PolicyPoolStatus st;
        if (!p || !p->ctl || controller_pool_status(p->ctl, i, &st) < 0)
                return UINT64_MAX;
        return st.target;
}

const char *pressure_pool_stage(const Pressure *p, size_t i) {
        PolicyPoolStatus st;
        if (!p || !p->ctl || controller_pool_status(p->ctl, i, &st) < 0)
                return NULL;
        return controller_stage_to_string(st.stage);
}

bool pressure_exhausted(const Pressure *p) {
        return p && p->exhausted;
}

static json_object *u64_or_null(uint64_t v) {
        return v == POLICY_UNKNOWN ? NULL : json_object_new_uint64(v);
}

int pressure_status_json(Pressure *p, json_object **ret) {
        json_object *o = json_object_new_object(), *psi = json_object_new_object(), *events = NULL;
        if (!o || !psi) {
                json_object_put(o);
                json_object_put(psi);
                return -ENOMEM;
        }
        json_object_object_add(o, "state", json_object_new_string(p->exhausted ? "exhausted" :
                                                                   p->pressure  ? "pressure" :
                                                                                  "calm"));
        json_object_object_add(o, "mem_available", u64_or_null(p->mem_available));
        json_object_object_add(o, "watermark", json_object_new_uint64(p->signals.watermark));
        json_object_object_add(o, "deficit", json_object_new_uint64(p->signals.deficit));
        json_object_object_add(o, "in_flight", json_object_new_uint64(p->signals.in_flight));
        json_object_object_add(o, "overshoot", json_object_new_uint64(p->signals.overshoot));
        json_object_object_add(o, "interval_usec", json_object_new_uint64(p->interval_usec));

        json_object_object_add(psi, "path", json_object_new_string(p->psi_path));
        json_object_object_add(psi, "error", p->host_psi_error ? json_object_new_string(strerror(-p->host_psi_error)) : NULL);
        json_object_object_add(psi, "window_usec", json_object_new_uint64(p->conf.window_usec));
        json_object_object_add(psi, "window_used_usec", p->window_used_usec ? json_object_new_uint64(p->window_used_usec) : NULL);
        PsiStats st;
        bool have = psi_read(p->psi_path, &st) >= 0;
        /* hundredths of a percent, as the kernel prints them */
        json_object_object_add(psi, "some_avg10", have ? json_object_new_int((int) st.some.avg10) : NULL);
        json_object_object_add(psi, "full_avg10", have && st.has_full ? json_object_new_int((int) st.full.avg10) : NULL);
        json_object_object_add(o, "psi", psi);

        uint64_t last = eventlog_last_seq(p->log);
        if (eventlog_json(p->log, last > PRESSURE_STATUS_EVENTS ? last - PRESSURE_STATUS_EVENTS : 0, 0, &events) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_object_add(o, "last_events", events);
        *ret = o;
        return 0;
}

void pressure_pool_status_json(const Pressure *p, size_t i, json_object *o) {
        PolicyPoolStatus st;
        if (!p || !p->ctl || controller_pool_status(p->ctl, i, &st) < 0)
                return;
        json_object_object_add(o, "stage", json_object_new_string(controller_stage_to_string(st.stage)));
        json_object_object_add(o, "shrink_episodes", json_object_new_int((int) st.shrink_episodes));
        json_object_object_add(o, "hold_usec", json_object_new_uint64(st.hold_usec));
        json_object_object_add(o, "subscribers",
                               json_object_new_int(p->control ? (int) control_subscriber_count(p->control, p->pools[i].topic) : 0));
}

/* --- verbs --- */

static int verb_ack(ControlRequest *req, json_object *args, void *userdata, json_object **ret_result,
                    ProtocolError *ret_error) {
        Pressure *p = userdata;
        static const char *const allowed[] = { "pool", "seq", "freed", NULL };
        const char *pool;
        uint64_t seq, freed = 0;
        int r;

        if ((r = protocol_check_fields(args, allowed, ret_error)) < 0 ||
            (r = protocol_get_string(args, "pool", true, &pool, ret_error)) < 0 ||
            (r = protocol_get_uint64(args, "seq", true, &seq, ret_error)) < 0 ||
            (r = protocol_get_uint64(args, "freed", false, &freed, ret_error)) < 0)
                return r;
        PressurePool *pp = NULL;
        for (size_t i = 0; i < p->n_pools; i++)
                if (strcmp(p->pools[i].name, pool) == 0)
                        pp = &p->pools[i];
        if (!pp)
                return protocol_error_set(ret_error, PROTOCOL_ERROR_NOT_FOUND, "no pool named '%.40s'", pool);
        /* Only a subscriber was asked, so only a subscriber answers. */
        if (!control_request_is_subscribed(req, pp->topic))
                return protocol_error_set(ret_error, PROTOCOL_ERROR_INVALID, "not subscribed to %s", pp->topic);

        bool current = seq == pp->notice_seq && pp->acks < pp->acks_expected;
        if (current) {
                pp->acks++;
                pp->acked_bytes += freed;
                log_debug("pool %s: notice %" PRIu64 " acknowledged (%u of %u), %" PRIu64 " bytes freed", pp->name,
                          seq, pp->acks, pp->acks_expected, freed);
                /* Everyone answered: go on to the forced stage now rather
                 * than at the deadline. */
                if (pp->acks >= pp->acks_expected && p->started && !p->in_tick)
                        pressure_schedule(p, clock_now_usec(CLOCK_MONOTONIC));
        }
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "current", json_object_new_boolean(current));
        *ret_result = o;
        return 0;
}

static int verb_events(ControlRequest *req _unused_, json_object *args, void *userdata, json_object **ret_result,
                       ProtocolError *ret_error) {
        Pressure *p = userdata;
        static const char *const allowed[] = { "after", "limit", NULL };
        uint64_t after = 0, limit = 0;
        json_object *events;
        int r;

        if ((r = protocol_check_fields(args, allowed, ret_error)) < 0 ||
            (r = protocol_get_uint64(args, "after", false, &after, ret_error)) < 0 ||
            (r = protocol_get_uint64(args, "limit", false, &limit, ret_error)) < 0)
                return r;
        r = eventlog_json(p->log, after, (size_t) MIN(limit, (uint64_t) SIZE_MAX), &events);
        if (r < 0)
                return r;
        json_object *o = json_object_new_object();
        if (!o) {
                json_object_put(events);
                return -ENOMEM;
        }
        json_object_object_add(o, "events", events);
        json_object_object_add(o, "last_seq", json_object_new_uint64(eventlog_last_seq(p->log)));
        *ret_result = o;
        return 0;
}

int pressure_register_verbs(Pressure *p, Control *control) {
        int r;
        if ((r = control_register_verb(control, "ack", 0, verb_ack, p)) < 0 ||
            (r = control_register_verb(control, "events", 0, verb_events, p)) < 0)
                return r;
        return 0;
}
