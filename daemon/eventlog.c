/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eventlog.h"
#include "macro.h"

struct EventLog {
        EventRecord *ring;
        size_t capacity;
        size_t n;         /* records kept: min(added, capacity) */
        uint64_t last_seq;
};

int eventlog_new(size_t capacity, EventLog **ret) {
        EventLog *l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->capacity = capacity ? capacity : EVENTLOG_CAPACITY;
        /* Allocated at first use: an idle poold never pays for it. */
        *ret = l;
        return 0;
}

EventLog *eventlog_free(EventLog *l) {
        if (!l)
                return NULL;
        free(l->ring);
        free(l);
        return NULL;
}

const EventRecord *eventlog_add(EventLog *l, const PolicyAction *a, uint64_t duration_usec, uint64_t freed) {
        if (!l->ring) {
                l->ring = calloc(l->capacity, sizeof *l->ring);
                if (!l->ring)
                        return NULL;
        }
        EventRecord *r = &l->ring[l->last_seq % l->capacity];
        *r = (EventRecord) {
                .seq = ++l->last_seq,
                .wall_usec = clock_now_usec(CLOCK_REALTIME),
                .duration_usec = duration_usec,
                .freed = freed,
                .action = *a,
        };
        if (l->n < l->capacity)
                l->n++;
        return r;
}

uint64_t eventlog_last_seq(const EventLog *l) {
        return l->last_seq;
}

static const char *const action_names[_POLICY_ACTION_MAX] = {
        [POLICY_ACTION_NOTIFY_SHRINK] = "shrink",
        [POLICY_ACTION_SET_HIGH] = "set_high",
        [POLICY_ACTION_NOTIFY_GROW] = "grow",
        [POLICY_ACTION_REPORT_EXHAUSTED] = "exhausted",
        [POLICY_ACTION_REPORT_RECOVERED] = "recovered",
        [POLICY_ACTION_REPORT_POOL_EVENTS] = "pool_events",
        [POLICY_ACTION_REPORT_STUCK] = "stuck",
        [POLICY_ACTION_REPORT_RESERVE] = "reserve",
};

const char *eventlog_action_name(PolicyActionType t) {
        return (unsigned) t < _POLICY_ACTION_MAX ? action_names[t] : "unknown";
}

static json_object *u64_or_null(uint64_t v) {
        return v == POLICY_UNKNOWN ? NULL : json_object_new_uint64(v);
}

static json_object *signals_json(const PolicySignals *s) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "mem_available", u64_or_null(s->mem_available));
        json_object_object_add(o, "watermark", json_object_new_uint64(s->watermark));
        json_object_object_add(o, "mem_deficit", json_object_new_uint64(s->mem_deficit));
        json_object_object_add(o, "in_flight", json_object_new_uint64(s->in_flight));
        json_object_object_add(o, "deficit", json_object_new_uint64(s->deficit));
        json_object_object_add(o, "overshoot", json_object_new_uint64(s->overshoot));
        json_object_object_add(o, "plan_excess", json_object_new_uint64(s->plan_excess));
        json_object_object_add(o, "psi_some", json_object_new_boolean(s->psi_some));
        json_object_object_add(o, "psi_full", json_object_new_boolean(s->psi_full));
        json_object_object_add(o, "psi_pools", json_object_new_int((int) s->psi_pools));
        json_object_object_add(o, "pressure", json_object_new_boolean(s->pressure));
        return o;
}

json_object *eventlog_record_json(const EventRecord *r) {
        const PolicyAction *a = &r->action;
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "seq", json_object_new_uint64(r->seq));
        json_object_object_add(o, "time_usec", json_object_new_uint64(a->time_usec));
        json_object_object_add(o, "wall_usec", json_object_new_uint64(r->wall_usec));
        json_object_object_add(o, "action", json_object_new_string(eventlog_action_name(a->type)));
        json_object_object_add(o, "pool", a->pool != SIZE_MAX ? json_object_new_string(a->name) : NULL);
        json_object_object_add(o, "reserve", a->reserve != SIZE_MAX ? json_object_new_string(a->name) : NULL);
        bool pool = a->pool != SIZE_MAX;
        json_object_object_add(o, "stage", pool ? json_object_new_string(controller_stage_to_string(a->stage)) : NULL);
        json_object_object_add(o, "old_target", pool ? json_object_new_uint64(a->old_target) : NULL);
        json_object_object_add(o, "new_target", pool ? json_object_new_uint64(a->new_target) : NULL);
        json_object_object_add(o, "usage", u64_or_null(a->usage));
        json_object_object_add(o, "bytes", u64_or_null(a->bytes));
        json_object_object_add(o, "deadline_usec",
                               a->type == POLICY_ACTION_NOTIFY_SHRINK ? json_object_new_uint64(a->deadline_usec) : NULL);
        json_object_object_add(o, "duration_usec",
                               a->type == POLICY_ACTION_SET_HIGH ? json_object_new_uint64(r->duration_usec) : NULL);
        json_object_object_add(o, "freed", u64_or_null(r->freed));
        json_object_object_add(o, "signals", signals_json(&a->signals));
        json_object_object_add(o, "reason", json_object_new_string(a->reason));
        return o;
}

int eventlog_json(const EventLog *l, uint64_t after, size_t limit, json_object **ret) {
        json_object *arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        uint64_t first = l->last_seq - l->n + 1; /* oldest kept */
        if (after + 1 > first)
                first = after + 1;
        if (limit > 0 && l->last_seq >= first && l->last_seq - first + 1 > limit)
                first = l->last_seq - limit + 1;
        for (uint64_t s = first; s <= l->last_seq; s++) {
                json_object *o = eventlog_record_json(&l->ring[(s - 1) % l->capacity]);
                if (!o || json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        json_object_put(arr);
                        return -ENOMEM;
                }
        }
        *ret = arr;
        return 0;
}
