/* SPDX-License-Identifier: MIT */
/* The systemd driver: pools are slices, and systemd writes their cgroups.
 * poold.slice holds poold-<pool>.slice; members sit in their own units
 * (Slice=poold-data.slice) or in transient scopes made by attach. Every
 * change goes through the manager (StartTransientUnit, SetUnitProperties
 * with runtime=true), so it survives daemon-reload and nothing else fights
 * systemd over those files. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cgroup-util.h"
#include "log.h"
#include "macro.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_JOB "org.freedesktop.systemd1.Job"

#define PARENT_SLICE "poold.slice"

/* While nothing arrives, look this often whether the job still exists, in
 * case its JobRemoved signal was lost (it never should be). */
#define JOB_POLL_USEC (1000000ULL)

/* systemd's own error names (src/libsystemd/sd-bus/bus-common-errors.c) with
 * the errno it maps them to. libsystemd does not ship this table, so
 * without it every one of them would read as EIO. */
static const sd_bus_error_map systemd_errors[] = {
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoSuchUnit", ENOENT),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoUnitForPID", ESRCH),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoUnitForInvocationID", ENOENT),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitExists", EEXIST),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.LoadFailed", EIO),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.BadUnitSetting", ENOEXEC),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.JobFailed", EREMOTEIO),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoSuchJob", ENOENT),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NotSubscribed", EINVAL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.AlreadySubscribed", EINVAL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.OnlyByDependency", EINVAL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.TransactionJobsConflicting", EDEADLK),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.TransactionOrderIsCyclic", EDEADLK),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.TransactionIsDestructive", EDEADLK),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitMasked", ERFKILL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitGenerated", EADDRNOTAVAIL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitLinked", ELOOP),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.JobTypeNotApplicable", EBADR),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoIsolation", EPERM),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.ShuttingDown", ECANCELED),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.ScopeNotRunning", EHOSTDOWN),
        SD_BUS_ERROR_MAP_END
};

typedef struct JobWait {
        const char *path; /* the job waited for; NULL: none */
        bool done;
        char result[32];  /* "done", "failed", "canceled", "timeout", "dependency", "skipped" */
} JobWait;

typedef struct SystemdDriver {
        CgroupDriver base;
        sd_bus *bus;
        sd_bus_slot *job_removed;
        JobWait wait;
} SystemdDriver;

static SystemdDriver *to_sd(CgroupDriver *d) {
        return (SystemdDriver *) d;
}

static void bus_error_done(sd_bus_error *e) {
        sd_bus_error_free(e);
}
#define _cleanup_bus_error_ _cleanup_(bus_error_done)

static void bus_message_unrefp(sd_bus_message **m) {
        if (*m)
                sd_bus_message_unref(*m);
}
#define _cleanup_bus_message_ _cleanup_(bus_message_unrefp)

static void bus_closep(sd_bus **b) {
        if (*b)
                sd_bus_flush_close_unref(*b);
}

/* Logs a failed call once, with systemd's message, and returns -errno. */
static int call_failed(int r, const sd_bus_error *e, const char *what, const char *unit) {
        return log_debug_errno(r, "systemd: %s %s: %s", what, unit,
                               e && sd_bus_error_is_set(e) ? e->message : "call failed");
}

void cgroup_systemd_nodes_to_bytes(const NodeSet *s, uint8_t ret[static NODESET_MAX / 8], size_t *ret_n) {
        memset(ret, 0, NODESET_MAX / 8);
        int last = nodeset_last(s);
        for (int i = 0; i <= last; i++)
                if (nodeset_has(s, (unsigned) i))
                        ret[i / 8] |= (uint8_t) (1u << (i % 8));
        *ret_n = last < 0 ? 0 : (size_t) last / 8 + 1;
}

static int job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        SystemdDriver *s = userdata;
        uint32_t id;
        const char *path, *unit, *result;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0; /* not ours to fail on */
        if (s->wait.path && strcmp(path, s->wait.path) == 0) {
                s->wait.done = true;
                snprintf(s->wait.result, sizeof s->wait.result, "%s", result);
        }
        return 0;
}

static int job_result_to_errno(const char *result) {
        if (strcmp(result, "done") == 0 || strcmp(result, "skipped") == 0)
                return 0;
        if (strcmp(result, "canceled") == 0)
                return -ECANCELED;
        if (strcmp(result, "timeout") == 0)
                return -ETIME;
        if (strcmp(result, "dependency") == 0)
                return -ENOLINK;
        return -EREMOTEIO; /* "failed", "invalid", "unsupported", "once" */
}

/* GetUnit (METHOD "GetUnit": loaded units only) or LoadUnit (loads a unit
 * file first): the object path of UNIT. Returns 0, -ENOENT, or -errno. */
static int unit_path(SystemdDriver *s, const char *method, const char *unit, char **ret) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(s->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, &reply, "s", unit);
        if (r < 0) {
                if (r != -ENOENT)
                        call_failed(r, &e, method, unit);
                return r;
        }
        const char *path;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        return (*ret = strdup(path)) ? 0 : -ENOMEM;
}

static int get_unit_path(SystemdDriver *s, const char *unit, char **ret) {
        return unit_path(s, "GetUnit", unit, ret);
}

static int get_unit_string(SystemdDriver *s, const char *unit_path, const char *iface, const char *prop, char **ret) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(s->bus, SD_DEST, unit_path, iface, prop, &e, ret);
        if (r < 0)
                return call_failed(r, &e, prop, unit_path);
        return 0;
}

/* Returns 1 while the job object exists, 0 once it is gone, or -errno. */
static int job_exists(SystemdDriver *s, const char *job_path) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        uint32_t id;
        int r = sd_bus_get_property_trivial(s->bus, SD_DEST, job_path, SD_JOB, "Id", &e, 'u', &id);
        if (r >= 0)
                return 1;
        if (sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
            sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchJob") || r == -ENOENT)
                return 0;
        return r;
}

/* Waits until JOB_PATH (queued for UNIT) is removed and returns its result
 * as 0 or -errno; -ETIMEDOUT after CGROUP_JOB_TIMEOUT_USEC. The match was
 * installed at open, before the job could finish, so its signal is not
 * missed; should it be anyway, a job that vanished counts as done when its
 * unit is active. */
static int wait_job(SystemdDriver *s, const char *job_path, const char *unit) {
        s->wait = (JobWait) { .path = job_path };
        uint64_t deadline = clock_now_usec(CLOCK_MONOTONIC) + CGROUP_JOB_TIMEOUT_USEC;
        bool gone = false;
        int r;

        for (;;) {
                r = sd_bus_process(s->bus, NULL);
                if (r < 0)
                        goto out;
                if (s->wait.done)
                        break;
                if (r > 0)
                        continue;
                if (gone)
                        break; /* drained after the job vanished, no signal */

                uint64_t n = clock_now_usec(CLOCK_MONOTONIC);
                if (n >= deadline) {
                        r = log_debug_errno(-ETIMEDOUT, "systemd: job %s for %s did not finish", job_path, unit);
                        goto out;
                }
                r = sd_bus_wait(s->bus, MIN(deadline - n, JOB_POLL_USEC));
                if (r < 0)
                        goto out;
                if (r == 0) {
                        r = job_exists(s, job_path);
                        if (r < 0)
                                goto out;
                        gone = r == 0;
                }
        }

        if (s->wait.done) {
                r = job_result_to_errno(s->wait.result);
                if (r < 0)
                        log_debug_errno(r, "systemd: job for %s: %s", unit, s->wait.result);
        } else {
                _cleanup_free_ char *path = NULL, *state = NULL;
                r = get_unit_path(s, unit, &path);
                if (r >= 0)
                        r = get_unit_string(s, path, SD_UNIT, "ActiveState", &state);
                if (r >= 0)
                        r = strcmp(state, "active") == 0 ? 0 : -EREMOTEIO;
        }
out:
        s->wait = (JobWait) {};
        return r;
}

/* Property builders: each appends one (sv) entry to an open a(sv). */
static int append_u64(sd_bus_message *m, const char *name, uint64_t v) {
        return sd_bus_message_append(m, "(sv)", name, "t", v);
}

static int append_str(sd_bus_message *m, const char *name, const char *v) {
        return sd_bus_message_append(m, "(sv)", name, "s", v);
}

static int append_nodes(sd_bus_message *m, const NodeSet *nodes) {
        uint8_t bytes[NODESET_MAX / 8];
        size_t n;
        cgroup_systemd_nodes_to_bytes(nodes, bytes, &n);

        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "AllowedMemoryNodes");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
                /* An empty array resets the setting: all nodes. */
                r = sd_bus_message_append_array(m, 'y', bytes, n);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

typedef struct SliceProps {
        bool set_min, set_high, set_mems;
        bool skip_max; /* a MemoryHigh-only change (the shrink ladder's step) */
        uint64_t min, high, max;
        const NodeSet *mems;
        const char *description;
} SliceProps;

static int append_slice_props(sd_bus_message *m, const SliceProps *p, bool transient) {
        int r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0 && transient && p->description)
                r = append_str(m, "Description", p->description);
        if (r >= 0 && p->set_min)
                r = append_u64(m, "MemoryMin", p->min);
        if (r >= 0 && p->set_high)
                r = append_u64(m, "MemoryHigh", p->high);
        if (r >= 0 && !p->skip_max)
                r = append_u64(m, "MemoryMax", p->max);
        if (r >= 0 && p->set_mems)
                r = append_nodes(m, p->mems);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Calls StartTransientUnit(UNIT, "fail", props) with PROPS appended by
 * APPEND and waits for the job. Returns 0, -EEXIST (the unit exists), or -errno. */
static int start_transient(SystemdDriver *s, const char *unit,
                           int (*append)(sd_bus_message *m, const void *userdata), const void *userdata) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(s->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = append(m, userdata);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return log_debug_errno(r, "systemd: cannot build StartTransientUnit for %s", unit);

        r = sd_bus_call(s->bus, m, 0, &e, &reply);
        if (r < 0) {
                if (r == -EEXIST)
                        return r;
                return call_failed(r, &e, "StartTransientUnit", unit);
        }
        const char *job;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        _cleanup_free_ char *job_copy = strdup(job);
        if (!job_copy)
                return -ENOMEM;
        return wait_job(s, job_copy, unit);
}

static int append_slice_transient(sd_bus_message *m, const void *userdata) {
        return append_slice_props(m, userdata, true);
}

/* Makes sure UNIT is started; after SetUnitProperties on an existing unit
 * this also serves as the round trip after which systemd has applied them
 * (it realizes cgroups before it answers the next call). */
static int ensure_active(SystemdDriver *s, const char *unit) {
        _cleanup_free_ char *path = NULL, *state = NULL;
        /* LoadUnit, not GetUnit: a unit that has a file but was never
         * started is unloaded again by systemd's garbage collection right
         * after SetUnitProperties (measured: GetUnit said NoSuchUnit). */
        int r = unit_path(s, "LoadUnit", unit, &path);
        if (r < 0)
                return r;
        r = get_unit_string(s, path, SD_UNIT, "ActiveState", &state);
        if (r < 0)
                return r;
        if (strcmp(state, "active") == 0 || strcmp(state, "reloading") == 0)
                return 0;

        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        r = sd_bus_call_method(s->bus, SD_DEST, SD_PATH, SD_MANAGER, "StartUnit", &e, &reply, "ss", unit,
                               "replace");
        if (r < 0)
                return call_failed(r, &e, "StartUnit", unit);
        const char *job;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        _cleanup_free_ char *job_copy = strdup(job);
        if (!job_copy)
                return -ENOMEM;
        return wait_job(s, job_copy, unit);
}

/* SetUnitProperties(UNIT, runtime=true, PROPS). */
static int set_properties(SystemdDriver *s, const char *unit, const SliceProps *p) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(s->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", unit, 1);
        if (r >= 0)
                r = append_slice_props(m, p, false);
        if (r < 0)
                return log_debug_errno(r, "systemd: cannot build SetUnitProperties for %s", unit);
        r = sd_bus_call(s->bus, m, 0, &e, NULL);
        if (r < 0)
                return call_failed(r, &e, "SetUnitProperties", unit);
        return 0;
}

/* Creates slice UNIT with P, or sets P on the existing one and starts it. */
static int apply_slice(SystemdDriver *s, const char *unit, const SliceProps *p) {
        int r = start_transient(s, unit, append_slice_transient, p);
        if (r != -EEXIST)
                return r;

        log_debug("systemd: %s exists, setting its properties", unit);
        r = set_properties(s, unit, p);
        if (r < 0)
                return r;
        return ensure_active(s, unit);
}

static char *pool_slice(const char *pool) {
        char *u;
        if (asprintf(&u, "poold-%s.slice", pool) < 0)
                return NULL;
        return u;
}

static int sd_apply_parent(CgroupDriver *d, uint64_t max) {
        SliceProps p = {
                .max = max,
                .description = "poold memory pools",
        };
        return apply_slice(to_sd(d), PARENT_SLICE, &p);
}

static int sd_apply_pool(CgroupDriver *d, const char *pool, const PoolLimits *l) {
        _cleanup_free_ char *unit = pool_slice(pool);
        _cleanup_free_ char *desc = NULL;
        if (!unit || asprintf(&desc, "poold pool %s", pool) < 0)
                return -ENOMEM;

        /* On v1 systemd maps MemoryMax to limit_in_bytes and has nowhere to
         * put MemoryMin/MemoryHigh or (cpuset being v2-only in systemd)
         * AllowedMemoryNodes: they are not sent there. */
        SliceProps p = {
                .set_min = d->features & CGROUP_FEATURE_MIN,
                .set_high = d->features & CGROUP_FEATURE_HIGH,
                .set_mems = d->features & CGROUP_FEATURE_MEMS,
                .min = l->min,
                .high = l->high,
                .max = l->max,
                .mems = &l->mems,
                .description = desc,
        };
        if (!p.set_min && l->min > 0)
                log_debug("pool %s: MemoryMin is not enforced on this hierarchy", pool);
        if (!p.set_mems && !nodeset_is_empty(&l->mems))
                log_debug("pool %s: AllowedMemoryNodes is not enforced on this hierarchy", pool);
        return apply_slice(to_sd(d), unit, &p);
}

/* One SetUnitProperties(MemoryHigh) on an existing slice: the shrink
 * ladder's step, one round trip where apply_pool makes three or four. */
static int sd_set_high(CgroupDriver *d, const char *pool, uint64_t high) {
        _cleanup_free_ char *unit = pool_slice(pool);
        if (!unit)
                return -ENOMEM;
        if (!(d->features & CGROUP_FEATURE_HIGH))
                return -EOPNOTSUPP; /* v1: systemd has nowhere to put MemoryHigh */
        SliceProps p = { .set_high = true, .high = high, .skip_max = true };
        return set_properties(to_sd(d), unit, &p);
}

static int sd_list_pools(CgroupDriver *d, char ***ret) {
        SystemdDriver *s = to_sd(d);
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(s->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 1, "poold-*.slice");
        if (r < 0)
                return r;
        r = sd_bus_call(s->bus, m, 0, &e, &reply);
        if (r < 0)
                return call_failed(r, &e, "ListUnitsByPatterns", "poold-*.slice");

        _cleanup_(cgroup_strv_freep) char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!l)
                return -ENOMEM;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *active;
                r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, NULL, NULL,
                                        NULL, NULL);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                /* Started slices only: systemd also lists a slice it merely
                 * loaded because someone asked about the name. */
                if (strcmp(active, "active") != 0 && strcmp(active, "reloading") != 0)
                        continue;

                /* "poold-<pool>.slice", where <pool> has no '-': a name
                 * with one is a slice deeper down, not a pool. */
                size_t len = strlen(name);
                if (len <= strlen("poold-") + strlen(".slice"))
                        continue;
                char pool[POOL_NAME_MAX + 1];
                size_t pl = len - strlen("poold-") - strlen(".slice");
                if (pl > POOL_NAME_MAX)
                        continue;
                memcpy(pool, name + strlen("poold-"), pl);
                pool[pl] = '\0';
                if (!cgroup_pool_name_is_valid(pool))
                        continue;
                r = cgroup_strv_push(&l, &n, pool);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int sd_parent_path(CgroupDriver *d, char **ret) {
        /* systemd names a slice's cgroup after its chain of parents:
         * poold.slice → <mount>/poold.slice. */
        char *p = cgroup_util_path_join(d->hierarchy.memory_mount, PARENT_SLICE);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int sd_pool_path(CgroupDriver *d, const char *pool, char **ret) {
        char *p;
        if (asprintf(&p, "%s/%s/poold-%s.slice", d->hierarchy.memory_mount, PARENT_SLICE, pool) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

typedef struct ScopeProps {
        const char *slice;
        const char *description;
        uint32_t pid;
} ScopeProps;

static int append_scope(sd_bus_message *m, const void *userdata) {
        const ScopeProps *p = userdata;
        int r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_str(m, "Description", p->description);
        if (r >= 0)
                r = append_str(m, "Slice", p->slice);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, p->pid);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int sd_attach(CgroupDriver *d, const char *pool, pid_t pid) {
        SystemdDriver *s = to_sd(d);
        _cleanup_free_ char *slice = pool_slice(pool), *scope = NULL, *desc = NULL, *slice_path = NULL;
        if (!slice || asprintf(&scope, "poold-%s-%d.scope", pool, (int) pid) < 0 ||
            asprintf(&desc, "poold pool %s member %d", pool, (int) pid) < 0)
                return -ENOMEM;

        /* Without this check systemd would make a pool slice with no
         * limits on the fly. Loaded is not enough: systemd loads any slice
         * name it is asked about (`systemctl show x.slice`) without a unit
         * file; a pool is a slice that was started. */
        _cleanup_free_ char *state = NULL;
        int r = get_unit_path(s, slice, &slice_path);
        if (r >= 0)
                r = get_unit_string(s, slice_path, SD_UNIT, "ActiveState", &state);
        if (r < 0)
                return r;
        if (strcmp(state, "active") != 0 && strcmp(state, "reloading") != 0)
                return -ENOENT;
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return -ESRCH;

        ScopeProps p = { .slice = slice, .description = desc, .pid = (uint32_t) pid };
        r = start_transient(s, scope, append_scope, &p);
        if (r != -EEXIST)
                return r;

        /* The scope exists: fine if it already holds PID (a repeated attach). */
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *scope_path = NULL;
        r = get_unit_path(s, scope, &scope_path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(s->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnitByPID", &e, &reply, "u", (uint32_t) pid);
        if (r < 0)
                return call_failed(r, &e, "GetUnitByPID", scope);
        const char *pid_unit;
        r = sd_bus_message_read(reply, "o", &pid_unit);
        if (r < 0)
                return r;
        return strcmp(pid_unit, scope_path) == 0 ? 0 : -EEXIST;
}

/* The D-Bus interface that carries ControlGroup for UNIT's type. */
static const char *unit_cgroup_interface(const char *unit) {
        static const char *const types[][2] = {
                { ".service", "org.freedesktop.systemd1.Service" },
                { ".scope", "org.freedesktop.systemd1.Scope" },
                { ".slice", "org.freedesktop.systemd1.Slice" },
                { ".socket", "org.freedesktop.systemd1.Socket" },
                { ".mount", "org.freedesktop.systemd1.Mount" },
                { ".swap", "org.freedesktop.systemd1.Swap" },
        };
        size_t l = strlen(unit);
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                size_t sl = strlen(types[i][0]);
                if (l > sl && strcmp(unit + l - sl, types[i][0]) == 0)
                        return types[i][1];
        }
        return NULL;
}

static bool unit_name_is_plausible(const char *unit) {
        size_t l = strlen(unit);
        if (l == 0 || l > 255)
                return false;
        for (const char *p = unit; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(":-_.\\@", *p)))
                        return false;
        return true;
}

/* The ControlGroup of UNIT ("/system.slice/x.service"). Returns 0,
 * -EINVAL (not a unit type with a cgroup), -ENOENT (not loaded or no cgroup
 * now), or -errno. */
static int unit_cgroup(SystemdDriver *s, const char *unit, char **ret) {
        const char *iface = unit_cgroup_interface(unit);
        if (!iface || !unit_name_is_plausible(unit))
                return -EINVAL;
        _cleanup_free_ char *path = NULL, *cg = NULL;
        int r = get_unit_path(s, unit, &path);
        if (r < 0)
                return r;
        r = get_unit_string(s, path, iface, "ControlGroup", &cg);
        if (r < 0)
                return r;
        if (!*cg)
                return -ENOENT;
        *ret = TAKE_PTR(cg);
        return 0;
}

static int sd_reserve_path(CgroupDriver *d, const char *unit, const char *cgroup, char **ret) {
        _cleanup_free_ char *cg = NULL;
        if (unit) {
                int r = unit_cgroup(to_sd(d), unit, &cg);
                if (r < 0)
                        return r;
                cgroup = cg;
        }
        char *p = cgroup_util_path_join(d->hierarchy.memory_mount, cgroup);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int set_memory_min(SystemdDriver *s, const char *unit, uint64_t min) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(s->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", unit, 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sv)", 1, "MemoryMin", "t", min);
        if (r < 0)
                return r;
        r = sd_bus_call(s->bus, m, 0, &e, NULL);
        if (r < 0)
                return call_failed(r, &e, "SetUnitProperties MemoryMin", unit);
        return 0;
}

static int sd_protect(CgroupDriver *d, const char *unit, const char *cgroup, uint64_t min) {
        SystemdDriver *s = to_sd(d);
        if (d->hierarchy.memory_version == CGROUP_VERSION_V1)
                return -EOPNOTSUPP;

        if (unit) {
                if (!unit_cgroup_interface(unit) || !unit_name_is_plausible(unit))
                        return -EINVAL;
                _cleanup_free_ char *path = NULL;
                int r = get_unit_path(s, unit, &path);
                if (r < 0)
                        return r;
                return set_memory_min(s, unit, min);
        }

        /* A cgroup that is a unit's own is changed through the unit, or
         * systemd would put its MemoryMin back at the next daemon-reload.
         * GetUnitByControlGroup answers with the nearest unit above a path,
         * so only an exact ControlGroup match counts. */
        _cleanup_free_ char *want = NULL;
        if (asprintf(&want, "/%s", cgroup[0] == '/' ? cgroup + 1 : cgroup) < 0)
                return -ENOMEM;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(s->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnitByControlGroup", &e, &reply, "s",
                                   want);
        if (r >= 0) {
                const char *upath;
                _cleanup_free_ char *id = NULL, *ucg = NULL;
                r = sd_bus_message_read(reply, "o", &upath);
                if (r >= 0)
                        r = get_unit_string(s, upath, SD_UNIT, "Id", &id);
                if (r >= 0 && unit_cgroup_interface(id) && unit_cgroup(s, id, &ucg) >= 0 && strcmp(ucg, want) == 0)
                        return set_memory_min(s, id, min);
        }

        /* Not a unit's cgroup (a subtree some service manages itself):
         * write the file, as the operator asked. */
        _cleanup_free_ char *dir = cgroup_util_path_join(d->hierarchy.memory_mount, cgroup);
        char buf[32];
        if (!dir)
                return -ENOMEM;
        if (min == UINT64_MAX)
                snprintf(buf, sizeof buf, "max");
        else
                snprintf(buf, sizeof buf, "%" PRIu64, min);
        log_debug("cgroup %s is no unit's, writing memory.min=%s", dir, buf);
        return cgroup_util_write_file(dir, "memory.min", buf);
}

static void sd_free(CgroupDriver *d) {
        SystemdDriver *s = to_sd(d);
        sd_bus_slot_unref(s->job_removed);
        if (s->bus)
                sd_bus_flush_close_unref(s->bus);
        free(s);
}

static const CgroupDriverOps sd_ops = {
        .name = "systemd",
        .free = sd_free,
        .apply_parent = sd_apply_parent,
        .apply_pool = sd_apply_pool,
        .set_high = sd_set_high,
        .list_pools = sd_list_pools,
        .parent_path = sd_parent_path,
        .pool_path = sd_pool_path,
        .attach = sd_attach,
        .reserve_path = sd_reserve_path,
        .protect = sd_protect,
};

/* Connects to ADDRESS as a peer (no Hello: systemd's private socket is not a
 * bus). Returns 0 or -errno. */
static int connect_direct(const char *address, sd_bus **ret) {
        _cleanup_(bus_closep) sd_bus *b = NULL;
        int r = sd_bus_new(&b);
        if (r < 0)
                return r;
        r = sd_bus_set_address(b, address);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(b, "poold-systemd");
        r = sd_bus_start(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

static void sd_freep(SystemdDriver **s) {
        if (*s)
                cgroup_driver_free(&(*s)->base);
}

int cgroup_systemd_open(const CgroupHierarchy *h, const char *address, CgroupDriver **ret) {
        int r;

        r = sd_bus_error_add_map(systemd_errors);
        if (r < 0)
                return r;

        _cleanup_(sd_freep) SystemdDriver *s = calloc(1, sizeof(SystemdDriver));
        if (!s)
                return -ENOMEM;
        s->base.ops = &sd_ops;
        r = cgroup_hierarchy_copy(h, &s->base.hierarchy);
        if (r < 0)
                return r;

        const char *via = address ? address : CGROUP_SYSTEMD_PRIVATE_ADDRESS;
        r = connect_direct(via, &s->bus);
        if (r < 0 && !address) {
                log_debug_errno(r, "systemd: private socket unavailable, trying the system bus");
                via = "the system bus";
                r = sd_bus_open_system(&s->bus);
        }
        if (r < 0)
                return log_debug_errno(r, "systemd: cannot connect to the manager");

        /* On a bus the sender is systemd's well-known name; a direct
         * connection's messages carry no sender, so match none (as
         * systemctl does). The JobRemoved of a job this connection queued
         * is sent to it without Subscribe(). */
        r = sd_bus_match_signal(s->bus, &s->job_removed, sd_bus_is_bus_client(s->bus) > 0 ? SD_DEST : NULL,
                                SD_PATH, SD_MANAGER, "JobRemoved", job_removed, s);
        if (r < 0)
                return log_debug_errno(r, "systemd: cannot watch JobRemoved");

        /* One round trip: a manager that does not answer (a stale socket)
         * fails here, at open, not at the first pool. */
        _cleanup_free_ char *version = NULL;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        r = sd_bus_get_property_string(s->bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &version);
        if (r < 0)
                return call_failed(r, &e, "Get", "Version");

        if (h->memory_version == CGROUP_VERSION_V2) {
                s->base.features = CGROUP_FEATURE_MIN | CGROUP_FEATURE_HIGH;
                if (h->cpuset_mount && h->cpuset_version == CGROUP_VERSION_V2)
                        s->base.features |= CGROUP_FEATURE_MEMS;
        }
        log_debug("systemd driver: systemd %s through %s, %s, v%d", version, via,
                  cgroup_layout_to_string(h->layout), (int) h->memory_version);
        *ret = &TAKE_PTR(s)->base;
        return 0;
}
