#!/bin/bash
# vm: timeout=150 nodes=2 mem=2048
# policy/psi.c in a guest where triggers may have sub-second windows (root
# with CAP_SYS_RESOURCE, cgroup v2): the 1 s and 500 ms windows are taken as
# asked (no fallback), and the triggers fire under a memory hog throttled at
# its cgroup's memory.high, on the cgroup's memory.pressure and on
# /proc/pressure/memory, only after the hog started. psi_read() then parses
# the cgroup's stall counters. Uses tests/psi-tool and tests/psi-hog from
# the build tree (built by `make`).

tool=$VMTEST_BUILDDIR/tests/psi-tool
hog=$VMTEST_BUILDDIR/tests/psi-hog
for b in "$tool" "$hog"; do
	[[ -x $b ]] || vm_skip "$b is not built (run make in $VMTEST_BUILDDIR)"
done
[[ -r /proc/pressure/memory ]] || vm_skip "the guest kernel has no PSI (/proc/pressure/memory)"
vm_log "kernel $(uname -r), CapEff $(awk '/^CapEff/ { print $2 }' /proc/self/status)"

# The memory controller for a child of the root (systemd normally enabled it).
if ! grep -qw memory /sys/fs/cgroup/cgroup.subtree_control; then
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
fi
cg=/sys/fs/cgroup/vmtest-psi
mkdir "$cg"
hog_pid=''
tool_pid=''
cleanup() {
	[[ -z $hog_pid ]] || kill -9 "$hog_pid" 2>/dev/null || true
	[[ -z $tool_pid ]] || kill "$tool_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT

# 1. Windows: what the development hosts refuse, the guest takes as asked.
out=$VMTEST_TMPDIR/armed.out
ready=$VMTEST_TMPDIR/ready
specs=(
	"/proc/pressure/memory:some:150000:1000000"
	"$cg/memory.pressure:some:50000:500000"
	"$cg/memory.pressure:full:50000:500000"
)
"$tool" wait 60000 "$ready" "${specs[@]}" >"$out" 2>&1 &
tool_pid=$!
vm_wait_for 10 "triggers armed" test -e "$ready"
cat "$out"
vm_assert_eq "$(grep -c '^armed .* as-asked$' "$out")" 3 "triggers armed with the window asked for"
grep -q '^armed 0 /proc/pressure/memory some 150000 1000000 as-asked$' "$out" ||
	vm_fail "/proc/pressure/memory: 1 s window not taken as asked"
grep -q "^armed 1 $cg/memory.pressure some 50000 500000 as-asked\$" "$out" ||
	vm_fail "$cg/memory.pressure: 500 ms window not taken as asked"

# 2. Quiet first: nothing may fire before the hog starts (a trigger that
# fires for nothing proves nothing). The guest is idle; 1.5 s covers one
# 1 s window and three 500 ms ones.
sleep 1.5
if grep -q '^fired' "$out"; then
	cat "$out"
	vm_fail "a trigger fired before any memory pressure"
fi
vm_log "ok: no trigger fired in 1.5 s without pressure"
before=$("$tool" read "$cg/memory.pressure")
vm_log "$before"

# 3. The hog: 256 MiB written over and over in a cgroup held at 32 MiB by
# memory.high (no memory.max: throttled and reclaimed, never OOM-killed;
# the guest has no swap, so the kernel can only stall it).
echo $((32 << 20)) >"$cg/memory.high"
hog_start=$(date +%s%N)
bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 256 0' _ "$cg" "$hog" &
hog_pid=$!
vm_log "hog $hog_pid started in $cg (memory.high 32M)"

rc=0
wait "$tool_pid" || rc=$?
tool_pid=''
cat "$out"
((rc == 0)) || vm_fail "psi-tool wait exited with $rc: not every trigger fired within 60 s"
while read -r _ idx path kind at; do
	((at > hog_start)) || vm_fail "trigger $idx ($path $kind) fired before the hog started"
	vm_log "ok: $path $kind fired $(((at - hog_start) / 1000000)) ms after the hog started"
done < <(grep '^fired' "$out")
vm_assert_eq "$(grep -c '^fired' "$out")" 3 "triggers fired"
vm_log "memory.current $(cat "$cg/memory.current"), memory.events: $(tr '\n' ' ' <"$cg/memory.events")"

# 4. psi_read() on the stalled cgroup: the counters moved.
after=$("$tool" read "$cg/memory.pressure")
vm_log "$after"
some_before=$(sed -n 's/.*: some .* total=\([0-9]*\)$/\1/p' <<<"$before")
some_after=$(sed -n 's/.*: some .* total=\([0-9]*\)$/\1/p' <<<"$after")
full_after=$(sed -n 's/.*: full .* total=\([0-9]*\)$/\1/p' <<<"$after")
[[ -n $some_after && -n $full_after ]] || vm_fail "psi-tool read printed no totals"
((some_after > some_before)) || vm_fail "some total did not grow ($some_before -> $some_after)"
# The triggers asked for 50 ms of stall in a window: at least that much.
((some_after - some_before >= 50000)) || vm_fail "some stall grew by less than 50 ms"
vm_log "ok: some stall total grew by $(((some_after - some_before) / 1000)) ms"

kill -9 "$hog_pid"
wait "$hog_pid" 2>/dev/null || true
hog_pid=''
