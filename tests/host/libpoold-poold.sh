#!/bin/sh
# Host integration: libpoold clients (tests/libpoold-tool, linked against
# libpoold.so) against a real poold on this machine's cgroup v1 memory
# hierarchy (cgroupfs driver, private CgroupRoot=<mount>/poold-test-PID,
# private control socket). Proves:
#  (a) two processes share one pool budget: status arena.charged is about
#      the sum of what they hold, processes = 2;
#  (b) allocating past the pool's Max fails with ENOMEM, nothing is killed;
#  (c) `poolctl set target` lowered: poold sends the shrink notice, the
#      clients' callbacks free blocks, their RSS and the charge fall, they
#      acknowledge (the set_high after the notice says "clients answered");
#  (d) kill -9 of a client gives its charge back (processes = 1);
# Every wait is a bounded poll for the condition, never a sleep taken as
# proof. Removes everything again, also on failure.
# Skips (77) when not root, memory not on cgroup v1, or jq missing.

set -u
srcdir=${srcdir:-$(dirname "$0")/../..}
. "$srcdir/tests/host/lib-cgroup.sh"
CGTOOL=${CGTOOL:-./tests/cgtool}
POOLD=${POOLD:-./poold}
POOLCTL=${POOLCTL:-./poolctl}
TOOL=${TOOL:-./tests/libpoold-tool}
MiB=1048576

require_root_v1 "cgroups cannot be made, open is privileged"
command -v jq >/dev/null 2>&1 || { echo "SKIP: jq missing"; exit 77; }
ROOT="$MNT/poold-test-$$"
POOLS="$ROOT/poold"
TMP=$(mktemp -d /tmp/libpoold-test.XXXXXX) || exit 1
chmod 755 "$TMP"
SOCK="$TMP/control.sock"
CONF="$TMP/poold.conf"
DAEMON=""
RUNNERS=""
PIDS=""

cleanup() {
        for p in $PIDS; do
                kill -9 "$p" 2>/dev/null
        done
        for r in $RUNNERS; do
                wait "$r" 2>/dev/null
        done
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
        kill_pool_members
        remove_test_root
        for f in "$TMP"/*.out "$TMP/poold.log"; do
                [ -f "$f" ] && sed "s|^|$(basename "$f"): |" "$f"
        done
        rm -rf "$TMP"
}
trap 'cleanup; exit 1' INT TERM
trap 'cleanup' EXIT

# ShrinkDeadline=5s: the clients' acknowledgements, not the deadline, must
# end the cooperative stage (the default 200 ms is a tight race on a loaded
# 2-core machine).
cat >"$CONF" <<EOC
[Host]
Total=4G
Slack=10%
CgroupDriver=cgroupfs
CgroupRoot=$ROOT

[Reserve os]
Size=1G

[Pressure]
ShrinkDeadline=5s

[Pool cache]
Kind=cache
Max=256M

[Pool huge]
Kind=cache
Max=256M
HugePages=yes
EOC

# wait_for TRIES CMD...: CMD until it succeeds, TRIES times 0.1 s at most.
wait_for() {
        n=$1
        shift
        for _ in $(seq "$n"); do
                "$@" && return 0
                sleep 0.1
        done
        return 1
}

status_json() { "$POOLCTL" status --json --socket "$SOCK"; }
# arena FIELD: the pool's status arena.FIELD (null if no arena object).
arena() { status_json | jq -r ".pools[] | select(.name == \"cache\") | .arena.$1"; }
# last LINE-FILE KEY: KEY= of the last line of a tool's output.
last() { tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
vmrss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status" 2>/dev/null; }
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# start_holder NAME MIB: a client in the pool's cgroup (poolctl run), so
# poold sees its memory as the pool's usage and asks it to shrink.
start_holder() {
        "$POOLCTL" run --socket "$SOCK" --pool cache -- "$TOOL" --socket "$SOCK" hold cache "$2" 600 \
                >"$TMP/$1.out" 2>&1 &
        RUNNERS="$RUNNERS $!"
        if ! wait_for 100 grep -q '^ready ' "$TMP/$1.out"; then
                fail "$1 did not get ready"
                return 1
        fi
        PIDS="$PIDS $(last "$TMP/$1.out" pid)"
}

mkdir "$ROOT" || exit 1
"$POOLD" -c "$CONF" --socket "$SOCK" >>"$TMP/poold.log" 2>&1 &
DAEMON=$!
wait_for 50 "$POOLCTL" status --socket "$SOCK" >/dev/null 2>&1 || { fail "poold did not start"; exit 1; }

# --- (a) two processes share one pool budget ---
start_holder a 64 || exit 1
start_holder b 64 || exit 1
A=$(last "$TMP/a.out" pid)
B=$(last "$TMP/b.out" pid)
check_eq "a holds 64 MiB" "$(last "$TMP/a.out" allocated)" $((64 * MiB))
check_eq "b holds 64 MiB" "$(last "$TMP/b.out" allocated)" $((64 * MiB))
check_eq "a is in the pool's cgroup" "$(grep -cx "$A" "$POOLS/cache/cgroup.procs")" 1
check_eq "b is in the pool's cgroup" "$(grep -cx "$B" "$POOLS/cache/cgroup.procs")" 1
check_eq "status: processes" "$(arena processes)" 2
charged=$(arena charged)
sa=$(last "$TMP/a.out" charged_self)
sb=$(last "$TMP/b.out" charged_self)
echo "charged=$charged a.charged_self=$sa b.charged_self=$sb"
# Each arena holds its 64 blocks plus metadata and a partly used extent:
# the pool's charge is the sum of both (same page), 128 MiB..160 MiB.
check_eq "status charged = a + b" "$charged" $((sa + sb))
[ "$charged" -ge $((128 * MiB)) ] && [ "$charged" -le $((160 * MiB)) ] ||
        fail "status charged $charged not within 128..160 MiB"
check_eq "a sees the pool's charge" "$(last "$TMP/a.out" max)" $((256 * MiB))

# --- (e) status shows what the arenas hold (published at pool_poll) ---
al=$(arena allocated)
ac=$(arena active)
re=$(arena resident)
echo "arena allocated=$al active=$ac resident=$re charged=$charged"
if [ "$al" = null ] || [ -z "$al" ]; then
        fail "status has no arena.allocated"
else
        # Only the 1 MiB blocks live in the arenas: exactly a's and b's.
        check_eq "status arena.allocated = a's + b's blocks" "$al" $((128 * MiB))
        [ "$ac" -ge "$al" ] || fail "arena.active $ac < allocated $al"
        [ "$re" -ge "$ac" ] || fail "arena.resident $re < active $ac"
        # resident is jemalloc's upper bound of committed pages: never more
        # than what the hooks charged.
        [ "$re" -le "$charged" ] || fail "arena.resident $re > charged $charged"
        echo "ok: allocated <= active <= resident <= charged"
fi
"$POOLCTL" status --socket "$SOCK" | sed -n '/^LIBPOOLD/,/^$/p' >"$TMP/table"
cat "$TMP/table"
check_eq "poolctl status LIBPOOLD table: cache ALLOCATED" "$(awk '$1 == "cache" { print $3 }' "$TMP/table")" 128.0M

# --- (b) past Max: ENOMEM, nobody killed ---
# The filler runs outside the pool's cgroup: its arena fills the budget to
# Max (256M), and the cgroup's limit is that same Max, so inside it the
# processes' other memory would push the cgroup past its limit first.
"$TOOL" --socket "$SOCK" fill-until-enomem cache >"$TMP/fill.out" 2>&1
check_eq "fill-until-enomem exits 0 (ENOMEM seen)" $? 0
check_eq "the failure is ENOMEM" "$(last "$TMP/fill.out" errno)" ENOMEM
reached=$(last "$TMP/fill.out" reached)
fcharged=$(last "$TMP/fill.out" charged)
echo "filler reached=$reached charged_at_failure=$fcharged"
[ "$reached" -ge $((64 * MiB)) ] || fail "filler reached only $reached"
[ "$fcharged" -le $((256 * MiB)) ] || fail "charged $fcharged over Max"
[ "$fcharged" -ge $((240 * MiB)) ] || fail "charged $fcharged: failed far below Max"
alive "$A" || fail "a died at Max"
alive "$B" || fail "b died at Max"
check_eq "nobody killed: a, b alive" "$(alive "$A" && alive "$B" && echo yes)" yes
wait_for 50 test "$(arena processes)" = 2 || fail "the filler's slot was not given back"
check_eq "status after the filler closed: processes" "$(arena processes)" 2
check_eq "status after the filler closed: charged" "$(arena charged)" "$charged"

# --- (c) target lowered: callbacks, RSS and charge fall, acks ---
rss_a0=$(vmrss "$A")
rss_b0=$(vmrss "$B")
last_seq=$("$POOLCTL" events --json --socket "$SOCK" | jq -s 'map(.seq) | max // 0')
check_ok "set target 64M" "$POOLCTL" set --socket "$SOCK" --pool cache target 64M
shrunk() { grep -q '^shrunk ' "$TMP/a.out" && grep -q '^shrunk ' "$TMP/b.out"; }
wait_for 100 shrunk || fail "the clients did not shrink"
# Each process frees the fraction of its charge that the pool had to lose
# when the target was set (budget_shrink_share_at), whoever polls first:
# one notice brings the pool to its target.
low() { [ "$(arena charged)" -le $((64 * MiB)) ]; }
wait_for 100 low || fail "charged did not fall to the 64M target ($charged -> $(arena charged))"
rss_a1=$(vmrss "$A")
rss_b1=$(vmrss "$B")
charged1=$(arena charged)
echo "rss a $rss_a0 -> $rss_a1, b $rss_b0 -> $rss_b1; charged $charged -> $charged1"
echo "a: $(grep '^shrunk ' "$TMP/a.out" | tail -n 1)"
echo "b: $(grep '^shrunk ' "$TMP/b.out" | tail -n 1)"
[ "$(last "$TMP/a.out" callbacks)" -ge 1 ] || fail "a's callback did not run"
[ "$(last "$TMP/b.out" callbacks)" -ge 1 ] || fail "b's callback did not run"
# 128 MiB held, 64M target less 1/64 hysteresis: each frees about 33 MiB.
[ "$rss_a1" -le $((rss_a0 - 24 * MiB)) ] || fail "a's RSS did not fall by 24 MiB ($rss_a0 -> $rss_a1)"
[ "$rss_b1" -le $((rss_b0 - 24 * MiB)) ] || fail "b's RSS did not fall by 24 MiB ($rss_b0 -> $rss_b1)"
[ "$charged1" -lt "$charged" ] || fail "charged did not fall"
# Each client's pool_poll() published what its shrink left.
check_eq "status arena.allocated after the shrink = a's + b's blocks" "$(arena allocated)" \
        $(($(last "$TMP/a.out" allocated) + $(last "$TMP/b.out" allocated)))
# The notice, then memory.high lowered because every client answered.
ev_done() {
        "$POOLCTL" events --json --socket "$SOCK" |
                jq -e -s "map(select(.seq > $last_seq and .pool == \"cache\" and .action == \"set_high\")) | length > 0" \
                >/dev/null
}
wait_for 100 ev_done || fail "no set_high after the notice"
"$POOLCTL" events --json --socket "$SOCK" |
        jq -c -s "map(select(.seq > $last_seq and .pool == \"cache\")) | .[] | {seq, action, new_target, bytes, reason}" \
        >"$TMP/events.json"
cat "$TMP/events.json"
check_eq "a shrink notice for the new target" \
        "$(jq -s 'map(select(.action == "shrink" and .new_target == 67108864)) | length' "$TMP/events.json")" 1
notice=$(jq -s 'map(select(.action == "shrink")) | .[0].seq' "$TMP/events.json")
check_eq "set_high after the notice, because the clients answered" \
        "$(jq -s "map(select(.action == \"set_high\" and .seq > $notice and (.reason | test(\"clients answered\")))) | length" \
                "$TMP/events.json")" 1

# --- (d) kill -9 of a client: its charge given back ---
before=$(arena charged)
sb=$(last "$TMP/b.out" charged_self)
kill -9 "$A"
gone() { [ "$(arena processes)" = 1 ]; }
wait_for 100 gone || fail "a's slot was not reaped"
after=$(arena charged)
echo "charged $before -> $after after kill -9 of a; b holds $sb"
check_eq "status after kill -9: processes" "$(arena processes)" 1
[ "$after" -lt "$before" ] || fail "charged did not drop ($before -> $after)"
check_eq "what is left is b's" "$after" "$sb"
alive "$B" || fail "b died with a"

# --- (f) HugePages=yes in poold.conf reaches the client through its budget
# page: its arena is backed by transparent huge pages (THP "madvise" is
# enough; skipped where THP is "never") ---
"$TOOL" --socket "$SOCK" hold huge 64 600 >"$TMP/huge.out" 2>&1 &
RUNNERS="$RUNNERS $!"
if wait_for 100 grep -q '^ready ' "$TMP/huge.out"; then
        H=$(last "$TMP/huge.out" pid)
        PIDS="$PIDS $H"
        huge=$(last "$TMP/huge.out" anon_huge)
        echo "huge pool client: AnonHugePages $huge bytes for 64 MiB held; cache client b: $(last "$TMP/b.out" anon_huge)"
        if grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
                echo "skip: THP is never on this machine"
        else
                [ "$huge" -ge $((32 * MiB)) ] || fail "HugePages=yes: AnonHugePages $huge < 32 MiB of 64 held"
        fi
        kill "$H"
else
        fail "the huge pool's client did not get ready"
fi
check_eq "status: huge has hugepages" "$(status_json | jq -r '.pools[] | select(.name == "huge") | .hugepages')" true
check_eq "status: cache has not" "$(status_json | jq -r '.pools[] | select(.name == "cache") | .hugepages')" false
"$POOLCTL" status --socket "$SOCK" | grep -q '^huge .* local+thp ' || fail "poolctl status does not show local+thp for huge"

exit "$FAILED"
