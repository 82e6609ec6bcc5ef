#!/bin/bash
# bench/bench-daemon.sh: what poold costs when idle, and how long
# `poolctl status` takes with 64 pools. Results go to bench/RESULTS.md.
#
# Runs on this kind of host as root: the cgroupfs driver on the cgroup v1
# memory hierarchy, under a private CgroupRoot (<mount>/poold-bench-PID) and a
# private control socket; removes both afterwards, also on failure.
#
#   (a) idle: poold on conf/poold.conf (2 reserves, 4 pools) and on a
#       generated 64-pool configuration; after a settling pause, CPU is
#       utime+stime from /proc/PID/stat (10 ms ticks) and the run time of
#       /proc/PID/schedstat (ns) over IDLE_SECONDS, memory is VmRSS and the
#       /proc/PID/smaps_rollup split at the end.
#   (b) status: RUNS x `poolctl status` (the table) against the 64-pool
#       poold, each timed from the shell (bash's EPOCHREALTIME around the
#       command: fork, exec, connect, request, render, exit); median, p90,
#       max; and poold's own CPU time (ticks and schedstat) over them.
#
# Usage (from a build directory): sudo bench/bench-daemon.sh
# Environment: POOLD, POOLCTL, CGTOOL (default ./poold, ./poolctl,
# ./tests/cgtool), IDLE_SECONDS (60), SETTLE_SECONDS (3), RUNS (200),
# NPOOLS (64). Exits 77 where it cannot run (not root, no v1 memory).

set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
POOLD=${POOLD:-./poold}
POOLCTL=${POOLCTL:-./poolctl}
CGTOOL=${CGTOOL:-./tests/cgtool}
IDLE_SECONDS=${IDLE_SECONDS:-60}
SETTLE_SECONDS=${SETTLE_SECONDS:-3}
RUNS=${RUNS:-200}
NPOOLS=${NPOOLS:-64}

. "$srcdir/tests/host/lib-cgroup.sh"
require_root_v1 "cgroups cannot be made"
ROOT="$MNT/poold-bench-$$"
POOLS="$ROOT/poold"
TMP=$(mktemp -d /tmp/poold-bench.XXXXXX) || exit 1
SOCK="$TMP/control.sock"
HZ=$(getconf CLK_TCK)
DAEMON=""

cleanup() {
        if [ -n "$DAEMON" ]; then
                kill "$DAEMON" 2>/dev/null
                wait "$DAEMON" 2>/dev/null
        fi
        DAEMON=""
        # The pools have no members: they can all go.
        remove_test_root
        rm -rf "$TMP"
}
trap 'cleanup; exit 1' INT TERM
trap 'cleanup' EXIT

# The default configuration, pointed at the private root.
sed -e 's|^CgroupDriver=.*|CgroupDriver=cgroupfs|' -e "s|^CgroupRoot=.*|CgroupRoot=$ROOT|" \
        "$srcdir/conf/poold.conf" >"$TMP/default.conf"
grep -q "^CgroupRoot=$ROOT\$" "$TMP/default.conf" || { echo "conf/poold.conf has no CgroupRoot= line" >&2; exit 1; }

# NPOOLS cache pools on this host's RAM: Min 16M each leaves the budget
# valid on any host with a few GiB.
{
        printf '[Host]\nTotal=auto\nSlack=10%%\nCgroupDriver=cgroupfs\nCgroupRoot=%s\n\n' "$ROOT"
        printf '[Reserve os]\nSize=10%%\n'
        for i in $(seq -w 1 "$NPOOLS"); do
                printf '\n[Pool p%s]\nMin=16M\nMax=1G\nWeight=%d\nPriority=%d\nKind=cache\n' \
                        "$i" $((100 + 10#$i)) $((10#$i))
        done
} >"$TMP/pools.conf"

ticks() { # utime + stime of PID (fields 14 and 15; comm has no spaces here)
        awk '{ print $14 + $15 }' "/proc/$1/stat"
}
cpu_ns() { # time on CPU in ns (schedstat, finer than the 10 ms ticks)
        cut -d' ' -f1 "/proc/$1/schedstat"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
rollup() { # the smaps_rollup figures worth reading, one line
        awk '/^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):/ { printf "%s %s kB, ", $1, $2 }' \
                "/proc/$1/smaps_rollup" | sed 's/, $//'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

start_daemon() { # CONF
        mkdir -p "$ROOT" || exit 1
        "$POOLD" -c "$1" --socket "$SOCK" >>"$TMP/poold.log" 2>&1 &
        DAEMON=$!
        for _ in $(seq 100); do
                "$POOLCTL" status --socket "$SOCK" >/dev/null 2>&1 && return 0
                kill -0 "$DAEMON" 2>/dev/null || break
                sleep 0.1
        done
        echo "poold did not start:" >&2
        cat "$TMP/poold.log" >&2
        exit 1
}

stop_daemon() {
        kill "$DAEMON"
        wait "$DAEMON"
        DAEMON=""
}

idle() { # NAME CONF
        start_daemon "$2"
        sleep "$SETTLE_SECONDS"
        local t0 t1 n0 n1 r0
        r0=$(rss_kb "$DAEMON")
        t0=$(ticks "$DAEMON")
        n0=$(cpu_ns "$DAEMON")
        sleep "$IDLE_SECONDS"
        t1=$(ticks "$DAEMON")
        n1=$(cpu_ns "$DAEMON")
        echo "idle $1: CPU $((t1 - t0)) ticks, $(awk -v n=$((n1 - n0)) 'BEGIN { printf "%.1f", n / 1e6 }') ms (schedstat) over ${IDLE_SECONDS} s = $(awk -v n=$((n1 - n0)) -v s="$IDLE_SECONDS" \
                'BEGIN { printf "%.4f", 100 * n / 1e9 / s }')% of one CPU; VmRSS ${r0} kB after ${SETTLE_SECONDS} s, $(rss_kb "$DAEMON") kB after $((SETTLE_SECONDS + IDLE_SECONDS)) s"
        echo "idle $1: smaps_rollup: $(rollup "$DAEMON")"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r), $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "poold: $POOLD ($(readlink -f "$POOLD")); date $(date -u '+%F %T') UTC; load average at start: $(loadavg)"

idle "default config (conf/poold.conf)" "$TMP/default.conf"
stop_daemon

idle "$NPOOLS pools" "$TMP/pools.conf"

# (b) with the same daemon, still running.
for _ in 1 2 3 4 5; do "$POOLCTL" status --socket "$SOCK" >/dev/null || exit 1; done
bytes=$("$POOLCTL" status --json --socket "$SOCK" | wc -c)
: >"$TMP/times"
t0=$(ticks "$DAEMON")
n0=$(cpu_ns "$DAEMON")
for _ in $(seq "$RUNS"); do
        s=$EPOCHREALTIME
        "$POOLCTL" status --socket "$SOCK" >/dev/null || exit 1
        e=$EPOCHREALTIME
        echo "$s $e" >>"$TMP/times"
done
t1=$(ticks "$DAEMON")
n1=$(cpu_ns "$DAEMON")
awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$TMP/times" | sort -n >"$TMP/ms"
n=$(wc -l <"$TMP/ms")
pct() { sed -n "$(( ($1 * n + 99) / 100 ))p" "$TMP/ms"; }
echo "status $NPOOLS pools: $n runs, wall median $(pct 50) ms, p90 $(pct 90) ms, max $(tail -n 1 "$TMP/ms") ms (min $(head -n 1 "$TMP/ms") ms)"
echo "status $NPOOLS pools: poold CPU $((t1 - t0)) ticks, $(awk -v c=$((n1 - n0)) 'BEGIN { printf "%.1f", c / 1e6 }') ms (schedstat) over $n requests = $(awk -v c=$((n1 - n0)) -v n="$n" \
        'BEGIN { printf "%.2f", c / 1e6 / n }') ms per request (the periodic sampling included); status --json is $bytes bytes"
echo "status $NPOOLS pools: VmRSS right after the requests $(rss_kb "$DAEMON") kB; smaps_rollup: $(rollup "$DAEMON")"
# poold trims its heap at most every 5 s after work (daemon/poold.c).
sleep 6
echo "status $NPOOLS pools: VmRSS 6 s later $(rss_kb "$DAEMON") kB; smaps_rollup: $(rollup "$DAEMON")"
stop_daemon
echo "load average at the end: $(loadavg)"
exit 0
