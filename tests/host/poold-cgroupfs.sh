#!/bin/sh
# Host integration: poold itself on this machine's real cgroup v1 memory
# hierarchy with the cgroupfs driver, driven through poolctl. Under a
# test-only subtree <mount>/poold-test-PID (CgroupRoot=), with the control
# socket in a temporary directory: start, limits in the kernel, run/set,
# a bad reload keeping the old config, SIGTERM leaving limits and members,
# a restart re-adopting them (a pool dropped from the config stays as an
# orphan), and an unprivileged user reading but not changing. Removes
# everything again, also on failure.
# Skips (77) when not root or when memory is not on a v1 hierarchy.

set -u
srcdir=${srcdir:-$(dirname "$0")/../..}
. "$srcdir/tests/host/lib-cgroup.sh"
CGTOOL=${CGTOOL:-./tests/cgtool}
POOLD=${POOLD:-./poold}
POOLCTL=${POOLCTL:-./poolctl}

require_root_v1 "cgroups cannot be made" "tests/vm/scenarios/poold-systemd.sh covers v2"
ROOT="$MNT/poold-test-$$"
POOLS="$ROOT/poold"
TMP=$(mktemp -d /tmp/poold-test.XXXXXX) || exit 1
# nobody must reach the socket (0666) through the directory.
chmod 755 "$TMP"
SOCK="$TMP/control.sock"
CONF="$TMP/poold.conf"
DAEMON=""
RUNNER=""

members() { tr '\n' ' ' 2>/dev/null <"$POOLS/$1/cgroup.procs" | sed 's/ $//'; }

cleanup() {
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
        kill_pool_members
        [ -n "$RUNNER" ] && wait "$RUNNER" 2>/dev/null
        remove_test_root
        [ -f "$TMP/poold.log" ] && sed 's/^/poold: /' "$TMP/poold.log"
        rm -rf "$TMP"
}
trap 'cleanup; exit 1' INT TERM
trap 'cleanup' EXIT

write_conf() { # with or without the kv pool
        cat >"$CONF" <<EOC
[Host]
Total=4G
Slack=10%
CgroupDriver=cgroupfs
CgroupRoot=$ROOT

[Reserve os]
Size=1G

[Pool data]
Min=512M
Max=2G
Weight=400
EOC
        [ "$1" = with-kv ] && cat >>"$CONF" <<EOC

[Pool kv]
Max=1G
EOC
        return 0
}

start_daemon() {
        "$POOLD" -c "$CONF" --socket "$SOCK" >>"$TMP/poold.log" 2>&1 &
        DAEMON=$!
        for _ in $(seq 50); do
                "$POOLCTL" status --socket "$SOCK" >/dev/null 2>&1 && return 0
                kill -0 "$DAEMON" 2>/dev/null || break
                sleep 0.1
        done
        fail "poold did not start"
        return 1
}

mkdir "$ROOT" || exit 1
write_conf with-kv
start_daemon || exit 1

# --- start: the pools exist with the budget's limits ---
# poolable = 4G - 1G - 10% of 4G = 2791728743; data: target = Max = 2G; the
# v1 kernel rounds limits down to pages.
js=$("$POOLCTL" status --json --socket "$SOCK") || fail "status --json"
check_eq "status lists data" "$(echo "$js" | grep -c '"name": "data"')" 1
check_eq "status lists kv" "$(echo "$js" | grep -c '"name": "kv"')" 1
check_eq "status driver" "$(echo "$js" | grep -c '"driver": "cgroupfs"')" 1
check_file "$POOLS/memory.limit_in_bytes" $((2791728743 / 4096 * 4096))
check_file "$POOLS/data/memory.limit_in_bytes" 2147483648
check_file "$POOLS/data/memory.soft_limit_in_bytes" 2147483648
check_file "$POOLS/kv/memory.limit_in_bytes" 1073741824

# --- run: the command lands in the pool, poolctl returns its status ---
"$POOLCTL" run --socket "$SOCK" --pool data -- sleep 300 &
RUNNER=$!
for _ in $(seq 50); do
        [ -n "$(members data)" ] && break
        sleep 0.1
done
MEMBER=$(members data)
check_eq "one member in data" "$(echo "$MEMBER" | wc -w)" 1
check_eq "the member is the command" "$(cat /proc/"$MEMBER"/comm 2>/dev/null)" sleep
"$POOLCTL" run --socket "$SOCK" --pool data -- sh -c 'exit 7'
check_eq "run returns the command's exit status" $? 7
"$POOLCTL" run --socket "$SOCK" --pool nosuch -- true 2>/dev/null
check_eq "run into a missing pool" $? 1
st=$("$POOLCTL" status --socket "$SOCK")
check_eq "status table shows the member" "$(echo "$st" | awk '$1 == "data" { print $9 }')" 1

# --- set: runtime limits, checked against the budget ---
check_ok "set data max 1G" "$POOLCTL" set --socket "$SOCK" --pool data max 1G
check_file "$POOLS/data/memory.limit_in_bytes" 1073741824
"$POOLCTL" set --socket "$SOCK" --pool data min 3G 2>/dev/null
check_eq "set min above poolable is refused" $? 1
check_file "$POOLS/data/memory.limit_in_bytes" 1073741824
check_ok "set data target 768M" "$POOLCTL" set --socket "$SOCK" --pool data target 768M
check_file "$POOLS/data/memory.soft_limit_in_bytes" 805306368

# --- the shrink ladder's events: a lowered target is a set_high step ---
ev=$("$POOLCTL" events --socket "$SOCK" --json | grep '"action":"set_high"' | grep '"pool":"data"' | tail -1)
check_eq "set target 768M is a set_high event" "$(echo "$ev" | grep -c '"new_target":805306368')" 1
"$POOLCTL" events --socket "$SOCK" --follow --json >"$TMP/follow.json" 2>&1 &
FOLLOWER=$!
sleep 0.5
check_ok "set data target 700M" "$POOLCTL" set --socket "$SOCK" --pool data target 700M
for _ in $(seq 50); do
        grep -q '"new_target":734003200' "$TMP/follow.json" && break
        sleep 0.1
done
kill "$FOLLOWER" 2>/dev/null
wait "$FOLLOWER" 2>/dev/null
check_eq "events --follow shows the new step" "$(grep -c '"new_target":734003200' "$TMP/follow.json")" 1
check_eq "events --follow repeats nothing" "$(grep -c '"new_target":805306368' "$TMP/follow.json")" 1
runuser -u nobody -- "$POOLCTL" events --socket "$SOCK" >/dev/null 2>&1
check_eq "nobody: events" $? 0
sub() { printf '{"verb":"subscribe","args":%s}\n' "$1" | socat -t1 - UNIX-CONNECT:"$SOCK"; }
check_eq "subscribe to a configured pool" "$(sub '{"pool":"data"}' | grep -c '"subscribed":true')" 1
check_eq "subscribe to an unknown pool" "$(sub '{"pool":"nosuch"}' | grep -c '"code":"not_found"')" 1
check_eq "subscribe to an unknown topic" "$(sub '{"topic":"bogus"}' | grep -c '"code":"not_found"')" 1

# --- unprivileged: read yes, change no ---
runuser -u nobody -- "$POOLCTL" status --socket "$SOCK" >/dev/null 2>&1
check_eq "nobody: status" $? 0
runuser -u nobody -- "$POOLCTL" set --socket "$SOCK" --pool data max 2G 2>/dev/null
check_eq "nobody: set" $? 4
runuser -u nobody -- "$POOLCTL" reload --socket "$SOCK" 2>/dev/null
check_eq "nobody: reload" $? 4
check_file "$POOLS/data/memory.limit_in_bytes" 1073741824

# --- a bad config on SIGHUP and on `poolctl reload` keeps the running one ---
cp "$CONF" "$TMP/good.conf"
printf '\n[Pool broken]\nMin=10Q\n' >>"$CONF"
kill -HUP "$DAEMON"
# The signal and the next request race on the loop: wait for the verdict.
for _ in $(seq 100); do
        js=$("$POOLCTL" status --json --socket "$SOCK")
        echo "$js" | grep -q '"last_reload_error": "' && break
        sleep 0.1
done
check_eq "status says the reload failed" "$(echo "$js" | grep -c '"last_reload_error": ".*10Q')" 1
check_eq "status still lists data after a bad reload" "$(echo "$js" | grep -c '"name": "data"')" 1
check_eq "no pool broken" "$(echo "$js" | grep -c '"name": "broken"')" 0
check_file "$POOLS/data/memory.limit_in_bytes" 1073741824
"$POOLCTL" reload --socket "$SOCK" 2>"$TMP/reload.err"
check_eq "poolctl reload of a bad config" $? 1
check_eq "reload error names the line" "$(grep -c 'poold.conf:.*Min=' "$TMP/reload.err")" 1
"$POOLCTL" status --socket "$SOCK" | grep -q '^Last reload failed' || fail "status table does not show the reload error"
kill -0 "$DAEMON" 2>/dev/null || fail "poold died on a bad reload"

# --- SIGTERM: limits and members stay ---
kill -TERM "$DAEMON"
wait "$DAEMON"
check_eq "poold exits 0 on SIGTERM" $? 0
DAEMON=""
check_file "$POOLS/data/memory.limit_in_bytes" 1073741824
check_eq "member still in data after stop" "$(members data)" "$MEMBER"
kill -0 "$MEMBER" 2>/dev/null || fail "member died with poold"

# --- restart without kv: data re-adopted with the config's limits, kv orphaned ---
write_conf without-kv
start_daemon || exit 1
check_file "$POOLS/data/memory.limit_in_bytes" 2147483648
check_eq "member still in data after restart" "$(members data)" "$MEMBER"
check_file "$POOLS/kv/memory.limit_in_bytes" 1073741824
js=$("$POOLCTL" status --json --socket "$SOCK")
check_eq "kv reported as orphaned" "$(echo "$js" | grep -c 'pool kv is not configured (orphaned)')" 1
check_eq "data counts its member" "$(echo "$js" | grep -c '"members": 1')" 1

# --- pools never inside poold's own cgroup (a stop would take the members) ---
mkdir -p "$ROOT/self/sub"
cat >"$TMP/inside.conf" <<EOC
[Host]
Total=4G
CgroupDriver=cgroupfs
CgroupRoot=$ROOT/self/sub
[Pool data]
Min=64M
EOC
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" -c "$3" --socket "$4"' sh "$ROOT/self" "$POOLD" \
        "$TMP/inside.conf" "$TMP/inside.sock" >"$TMP/inside.err" 2>&1
check_eq "poold refuses pools inside its own cgroup" $? 1
check_eq "and says why" "$(grep -c "inside poold's own cgroup" "$TMP/inside.err")" 1
check_eq "no pool made there" "$(find "$ROOT/self/sub" -mindepth 1 -type d)" ""
rmdir "$ROOT/self/sub" "$ROOT/self" 2>/dev/null

exit "$FAILED"
