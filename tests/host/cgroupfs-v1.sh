#!/bin/sh
# Host integration: the cgroupfs driver (libcgroup) on this machine's real
# cgroup v1 memory hierarchy. Makes <mount>/poold-test-PID/poold/{data,kv}
# with tests/cgtool, checks the limits the kernel reports, moves a process
# and a two-thread process into a pool, re-applies
# changed limits to the existing pools (re-adoption: same directories,
# members still in place), and removes everything again, also on failure.
# Skips (77) when not root or when memory is not on a v1 hierarchy.

set -u
srcdir=${srcdir:-$(dirname "$0")/../..}
. "$srcdir/tests/host/lib-cgroup.sh"
CGTOOL=${CGTOOL:-./tests/cgtool}

require_root_v1 "cgroups cannot be made" "see tests/vm/scenarios/cgroup-cgroupfs-v2.sh"
ROOT="$MNT/poold-test-$$"
POOLS="$ROOT/poold"
MEMBERS=""

cleanup() {
        for p in $MEMBERS; do
                kill -9 "$p" 2>/dev/null
        done
        for p in $MEMBERS; do
                wait "$p" 2>/dev/null
        done
        [ -d "$ROOT" ] || return 0
        remove_test_root
}
trap 'cleanup; exit 1' INT TERM
trap 'cleanup' EXIT

mkdir "$ROOT" || exit 1
cg() { "$CGTOOL" -d cgroupfs -r "$ROOT" "$@"; }

# --- create ---
out=$(cg info) || fail "info"
check_eq "driver" "$(echo "$out" | kv driver)" cgroupfs
check_eq "version" "$(echo "$out" | kv version)" 1
check_eq "features (v1: no min, no mems, soft limit for high)" "$(echo "$out" | kv features)" ""
check_eq "parent path" "$(echo "$out" | kv parent)" "$POOLS"

check_ok "parent 1G" cg parent 1G
check_file "$POOLS/memory.limit_in_bytes" 1073741824
check_ok "apply data 64M 128M 256M" cg apply data 64M 128M 256M
check_file "$POOLS/data/memory.limit_in_bytes" 268435456
check_file "$POOLS/data/memory.soft_limit_in_bytes" 134217728
check_ok "apply kv 0 infinity infinity" cg apply kv 0 infinity infinity
# "No limit" on v1 reads back as PAGE_COUNTER_MAX pages.
check_file "$POOLS/kv/memory.limit_in_bytes" 9223372036854771712
check_file "$POOLS/kv/memory.soft_limit_in_bytes" 9223372036854771712
check_eq "list" "$(cg list | tr '\n' ' ')" "data kv "
check_eq "path data" "$(cg path data)" "$POOLS/data"

# --- members ---
sleep 300 &
SLEEPER=$!
MEMBERS="$SLEEPER"
check_ok "attach data $SLEEPER" cg attach data "$SLEEPER"
check_eq "cgroup of $SLEEPER" "$(memory_cgroup_of "$SLEEPER")" "/poold-test-$$/poold/data"

# Two threads: the whole process must move (libcgroup alone writes v1
# "tasks", which moves only the thread whose TID it was given).
"$CGTOOL" hold 300 &
THREADED=$!
MEMBERS="$MEMBERS $THREADED"
for _ in $(seq 1 100); do
        [ "$(find "/proc/$THREADED/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -ge 2 ] && break
        sleep 0.1
done
check_eq "threads of $THREADED" "$(find "/proc/$THREADED/task" -mindepth 1 -maxdepth 1 | wc -l)" 2
check_ok "attach data $THREADED" cg attach data "$THREADED"
for t in "/proc/$THREADED/task"/*; do
        check_eq "cgroup of thread ${t##*/}" \
                "$(sed -n 's/^[0-9]*:memory://p' "$t/cgroup")" "/poold-test-$$/poold/data"
done
NPROCS=2

out=$("$CGTOOL" stat "$POOLS/data") || fail "stat data"
check_eq "stat data version" "$(echo "$out" | kv version)" 1
check_eq "stat data max" "$(echo "$out" | kv max)" 268435456
check_eq "stat data high" "$(echo "$out" | kv high)" 134217728
check_eq "stat data nr_procs" "$(echo "$out" | kv nr_procs)" "$NPROCS"
check_eq "stat parent nr_procs (counts the pools)" "$("$CGTOOL" stat "$POOLS" | kv nr_procs)" "$NPROCS"
# Members moved in keep their old charges on v1 (no move_charge_at_immigrate),
# so current is only checked to be a number.
current=$(echo "$out" | kv current)
case "$current" in
''|*[!0-9]*) fail "data current='$current'" ;;
*) echo "ok: data current=$current" ;;
esac

# --- refusals ---
check_fails "attach to a missing pool" cg attach nosuch "$SLEEPER"
check_fails "attach a missing process" cg attach data 2147483647
check_fails "apply a bad name (a-b)" cg apply a-b 0 1M 2M
check_fails "apply a bad name (..)" cg apply .. 0 1M 2M
check_fails "protect on v1 (no memory.min)" cg protect cgroup "poold-test-$$/poold/data" 1M
check_fails "a root outside the memory hierarchy" "$CGTOOL" -d cgroupfs -r /tmp info
[ -d "$POOLS/a-b" ] && fail "a-b was created"

# --- re-adoption: apply again with changed limits ---
ino_before=$(stat -c %i "$POOLS/data")
check_ok "apply data again 64M 96M 200M" cg apply data 64M 96M 200M
check_ok "parent again 2G" cg parent 2G
check_eq "data not recreated (inode)" "$(stat -c %i "$POOLS/data")" "$ino_before"
check_file "$POOLS/data/memory.limit_in_bytes" 209715200
check_file "$POOLS/data/memory.soft_limit_in_bytes" 100663296
check_file "$POOLS/memory.limit_in_bytes" 2147483648
check_eq "cgroup of $SLEEPER after re-apply" "$(memory_cgroup_of "$SLEEPER")" "/poold-test-$$/poold/data"
check_eq "list after re-apply" "$(cg list | tr '\n' ' ')" "data kv "

# --- the shrink ladder's step: only the target moves ---
check_ok "set-high data 80M" cg set-high data 80M
check_file "$POOLS/data/memory.soft_limit_in_bytes" 83886080
check_file "$POOLS/data/memory.limit_in_bytes" 209715200
check_fails "set-high on a missing pool" cg set-high nosuch 80M
check_eq "set-high made no pool" "$(cg list | tr '\n' ' ')" "data kv "

# --- clean up, and prove it ---
trap - EXIT INT TERM
cleanup || fail "cleanup"
[ -d "$ROOT" ] && fail "$ROOT still exists"

if [ "$FAILED" != 0 ]; then
        echo "cgroupfs-v1: FAILED"
        exit 1
fi
echo "cgroupfs-v1: all checks passed"
exit 0
