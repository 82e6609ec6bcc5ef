/* SPDX-License-Identifier: MIT */
#pragma once

/* The pressure controller's decisions as events: a fixed ring of the last
 * EVENTLOG_CAPACITY records, each a PolicyAction with a sequence number,
 * the wall-clock time and, for a forced step, how long the step took and
 * what it freed. `poolctl events` reads the ring through the "events" verb;
 * subscribers of the "events" topic get each record as it is added.
 *
 * Records are kept as structs (about 600 bytes each), not as json-c
 * objects (several KiB each): 256 of them cost 150 KiB, and the JSON is
 * built only when somebody asks. Pure apart from reading CLOCK_REALTIME in
 * eventlog_add(). */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "controller.h"

/* Enough for a few minutes of a busy episode (a step is 2-3 events). */
#define EVENTLOG_CAPACITY 256

typedef struct EventRecord {
        uint64_t seq;            /* 1, 2, ... since poold started */
        uint64_t wall_usec;      /* CLOCK_REALTIME when recorded */
        uint64_t duration_usec;  /* set_high: since the step's shrink notice; else 0 */
        uint64_t freed;          /* set_high: the pool's usage at the notice minus now;
                                  * shrink: bytes the clients acknowledged; POLICY_UNKNOWN */
        PolicyAction action;
} EventRecord;

typedef struct EventLog EventLog;

/* Returns 0 or -ENOMEM; CAPACITY 0 means EVENTLOG_CAPACITY. */
int eventlog_new(size_t capacity, EventLog **ret);
EventLog *eventlog_free(EventLog *l);
static inline void eventlog_freep(EventLog **l) {
        if (*l)
                eventlog_free(*l);
}

/* Records A (copied) and returns the record, valid until CAPACITY more are
 * added. */
const EventRecord *eventlog_add(EventLog *l, const PolicyAction *a, uint64_t duration_usec, uint64_t freed);

/* The sequence number of the newest record, 0 if none. */
uint64_t eventlog_last_seq(const EventLog *l);

/* The name an action has in events and the journal: "shrink" (the
 * cooperative notice), "set_high", "grow", "exhausted", "recovered",
 * "pool_events", "stuck", "reserve". */
const char *eventlog_action_name(PolicyActionType t);

/* One record as the JSON object docs/protocol.md ("events") describes.
 * Returns NULL on allocation failure. */
json_object *eventlog_record_json(const EventRecord *r);

/* The records with seq > AFTER, oldest first, at most LIMIT of them (the
 * newest LIMIT; 0: all kept), as a JSON array. Returns 0 or -ENOMEM. */
int eventlog_json(const EventLog *l, uint64_t after, size_t limit, json_object **ret);
