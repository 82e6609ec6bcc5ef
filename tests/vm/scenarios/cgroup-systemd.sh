#!/bin/bash
# vm: timeout=240 nodes=2 mem=2048
# The systemd cgroup driver (pools/cgroup-systemd.c) against systemd as PID
# 1 on cgroup v2, through tests/cgtool: poold.slice and poold-data.slice
# made with StartTransientUnit carry exactly the limits asked for
# (memory.min/high/max, cpuset.mems); a runtime change of the target
# (SetUnitProperties) shows at once; `systemctl daemon-reload` keeps every
# value; a two-thread process attached to a pool lands, whole, in
# poold.slice/poold-data.slice/poold-data-PID.scope; applying again
# re-adopts the slices (no new ones; the member stays); a pool slice with a
# unit file gets runtime properties that win over it; a reserve tied to a
# unit is measured and protected (MemoryMin). Uses the build tree's cgtool.

tool=$VMTEST_BUILDDIR/tests/cgtool
[[ -x $tool ]] || vm_skip "$tool is not built (run make in $VMTEST_BUILDDIR)"
# Commands are logged on stderr so their stdout can be captured.
cg() {
	echo "+ cgtool -d systemd $*" >&2
	"$tool" -d systemd "$@"
}
kv() { sed -n "s/^$1=//p"; }
# all_nodes DIR: no node list (cpuset.mems empty, or no cpuset controller there)
all_nodes() {
	if [[ ! -e $1/cpuset.mems ]]; then
		vm_log "ok: $1: all nodes (no cpuset controller there)"
	elif [[ -z $(<"$1/cpuset.mems") ]]; then
		vm_log "ok: $1: all nodes (cpuset.mems empty)"
	else
		vm_fail "$1/cpuset.mems: expected all nodes, got '$(<"$1/cpuset.mems")'"
	fi
	[[ ! -e $1/cpuset.mems.effective ]] ||
		vm_assert_file_content "$1/cpuset.mems.effective" "0-$((VMTEST_NODES - 1))"
}

P=/sys/fs/cgroup/poold.slice
D=$P/poold-data.slice
holder=''
cleanup() {
	[[ -z $holder ]] || kill -9 "$holder" 2>/dev/null || true
	wait 2>/dev/null || true
	systemctl stop poold-model-test.service 2>/dev/null || true
	systemctl stop 'poold-data-*.scope' poold-data.slice poold-kv.slice poold.slice 2>/dev/null || true
}
trap cleanup EXIT

vm_log "systemd $(systemctl --version | head -n 1), dbus: $(systemctl is-active dbus.socket dbus.service 2>/dev/null | tr '\n' ' ')"

# 1. The driver: auto picks systemd here; v2 with min, high and mems.
out=$("$tool" -v info 2>"$VMTEST_TMPDIR/info.log")
vm_assert_eq "$(kv driver <<<"$out")" systemd "auto driver"
# Root talks to the manager on its private socket, not through dbus.
vm_assert_file_matches "$VMTEST_TMPDIR/info.log" "through unix:path=/run/systemd/private"
out=$(cg info)
vm_assert_eq "$(kv version <<<"$out")" 2 "version"
vm_assert_eq "$(kv features <<<"$out")" "min,high,mems," "features"
vm_assert_eq "$(kv parent <<<"$out")" "$P" "parent path"

# 2. Create: the parent's cap and one pool with every limit.
cg parent 1G || vm_fail "parent 1G"
vm_assert_file_content $P/memory.max 1073741824
# With `make check-vm` poold.slice is installed as a unit file (systemd/):
# then it is set at runtime, not made transient.
vm_log "poold.slice: Transient=$(systemctl show -P Transient poold.slice) FragmentPath=$(systemctl show -P FragmentPath poold.slice)"
cg apply data 64M 128M 256M 1 || vm_fail "apply data"
vm_assert_file_content $D/memory.min 67108864
vm_assert_file_content $D/memory.high 134217728
vm_assert_file_content $D/memory.max 268435456
vm_assert_file_content $D/cpuset.mems 1
vm_assert_file_content $D/cpuset.mems.effective 1
vm_log "$(systemctl show poold-data.slice -p MemoryMin -p MemoryHigh -p MemoryMax -p AllowedMemoryNodes -p Transient)"
vm_assert_eq "$(systemctl show -P Transient poold-data.slice)" yes "poold-data.slice is transient"
cg apply kv 0 infinity 512M || vm_fail "apply kv"
vm_assert_file_content $P/poold-kv.slice/memory.high max
vm_assert_file_content $P/poold-kv.slice/memory.max 536870912
all_nodes $P/poold-kv.slice
vm_assert_eq "$(cg list | tr '\n' ' ')" "data kv " "list"
vm_assert_eq "$(cg path data)" "$D" "path data"

# 3. A runtime change of the target shows at once (no sleep here), and the
# node list may grow.
cg apply data 64M 96M 256M 0-1 || vm_fail "apply data (runtime change)"
vm_assert_file_content $D/memory.high 100663296
vm_assert_file_content $D/cpuset.mems 0-1
vm_assert_eq "$(systemctl show -P MemoryHigh poold-data.slice)" 100663296 "MemoryHigh property"

# 4. daemon-reload keeps everything (runtime properties, not lost writes).
vm_run systemctl daemon-reload
vm_assert_file_content $P/memory.max 1073741824
vm_assert_file_content $D/memory.min 67108864
vm_assert_file_content $D/memory.high 100663296
vm_assert_file_content $D/memory.max 268435456
vm_assert_file_content $D/cpuset.mems 0-1
vm_assert_file_content $P/poold-kv.slice/memory.max 536870912

# 5. A member: a two-thread process goes into its own scope in the pool.
"$tool" hold 600 &
holder=$!
vm_wait_for 10 "holder has two threads" bash -c "test \$(ls /proc/$holder/task | wc -l) -ge 2"
cg attach data "$holder" || vm_fail "attach data $holder"
scope=poold-data-$holder.scope
for t in "/proc/$holder/task"/*; do
	vm_assert_file_content "$t/cgroup" "0::/poold.slice/poold-data.slice/$scope"
done
vm_assert_eq "$(systemctl is-active "$scope")" active "$scope"
vm_assert_file_matches "$D/$scope/cgroup.procs" "^$holder\$"
cg attach data "$holder" || vm_fail "attaching again to the same pool"
out=$("$tool" stat $D)
vm_log "$out"
vm_assert_eq "$(kv nr_procs <<<"$out")" 1 "stat nr_procs (in the scope)"
vm_assert_eq "$(kv high <<<"$out")" 100663296 "stat high"
vm_assert_eq "$(kv version <<<"$out")" 2 "stat version"
[[ -n $(kv pressure_some_total <<<"$out") ]] || vm_fail "stat: no memory.pressure"
if [[ -n $(kv peak <<<"$out") ]]; then
	vm_log "ok: memory.peak present"
else
	vm_log "note: no memory.peak on $(uname -r)"
fi

# 6. Refusals: no pool is made by attaching, no bad name reaches systemd.
if cg attach nosuch "$holder"; then vm_fail "attach to a missing pool succeeded"; fi
[[ ! -e $P/poold-nosuch.slice ]] || vm_fail "poold-nosuch.slice was made"
vm_assert_eq "$(systemctl show -P ActiveState poold-nosuch.slice)" inactive "poold-nosuch.slice"
# systemctl show has now loaded poold-nosuch.slice (slices need no unit
# file): still no pool, neither for attach nor for list.
if cg attach nosuch "$holder"; then vm_fail "attach to a merely loaded slice succeeded"; fi
vm_assert_eq "$(cg list | tr '\n' ' ')" "data kv " "list (loaded slices left out)"
if cg apply a-b 0 1M 2M; then vm_fail "apply a-b succeeded"; fi
[[ ! -e $P/poold-a.slice ]] || vm_fail "poold-a.slice was made"
vm_assert_file_content /proc/$holder/cgroup "0::/poold.slice/poold-data.slice/$scope"
if cg attach data 2147483647; then vm_fail "attach of a missing process succeeded"; fi

# 7. Re-adoption: a new driver applies again; the slices are changed, not
# made again, and the member stays.
inv_before=$(systemctl show -P InvocationID poold-data.slice)
cg apply data 32M 80M 200M || vm_fail "re-apply data"
cg parent 900M || vm_fail "re-apply parent"
vm_assert_eq "$(systemctl show -P InvocationID poold-data.slice)" "$inv_before" "same slice instance"
vm_assert_file_content $D/memory.min 33554432
vm_assert_file_content $D/memory.high 83886080
vm_assert_file_content $D/memory.max 209715200
all_nodes $D
vm_assert_file_content $P/memory.max 943718400
vm_assert_file_content /proc/$holder/cgroup "0::/poold.slice/poold-data.slice/$scope"
vm_run systemctl daemon-reload
vm_assert_file_content $D/memory.high 83886080
vm_assert_file_content /proc/$holder/cgroup "0::/poold.slice/poold-data.slice/$scope"

# 8. A pool slice that has a unit file (an operator's, or one shipped):
# StartTransientUnit is refused (UnitExists), so the driver sets runtime
# properties on it and starts it; they win over the file and survive
# daemon-reload.
cat >/run/systemd/system/poold-filed.slice <<'UNIT'
[Slice]
MemoryMax=100M
UNIT
vm_run systemctl daemon-reload
cg apply filed 0 50M 200M || vm_fail "apply filed"
F=$P/poold-filed.slice
vm_assert_eq "$(systemctl show -P Transient poold-filed.slice)" no "poold-filed.slice is from a file"
vm_assert_eq "$(systemctl is-active poold-filed.slice)" active "poold-filed.slice"
vm_assert_file_content $F/memory.max 209715200
vm_assert_file_content $F/memory.high 52428800
vm_run systemctl daemon-reload
vm_assert_file_content $F/memory.max 209715200
vm_assert_eq "$(cg list | tr '\n' ' ')" "data filed kv " "list"
vm_run systemctl stop poold-filed.slice
rm /run/systemd/system/poold-filed.slice
rm -rf /run/systemd/system.control/poold-filed.slice.d

# 9. A reserve tied to a unit: measured where systemd put it, protected
# with MemoryMin (also when named by its cgroup), kept over daemon-reload.
vm_run systemd-run --unit=poold-model-test --slice=system.slice sleep 600
vm_wait_for 10 "poold-model-test.service active" systemctl is-active poold-model-test.service
M=/sys/fs/cgroup/system.slice/poold-model-test.service
vm_assert_eq "$(cg reserve-path unit poold-model-test.service)" "$M" "reserve path of the unit"
cg protect unit poold-model-test.service 32M || vm_fail "protect unit"
vm_assert_file_content $M/memory.min 33554432
cg protect cgroup system.slice/poold-model-test.service 16M || vm_fail "protect cgroup"
vm_assert_file_content $M/memory.min 16777216
vm_assert_eq "$(systemctl show -P MemoryMin poold-model-test.service)" 16777216 "MemoryMin property"
vm_run systemctl daemon-reload
vm_assert_file_content $M/memory.min 16777216
"$tool" stat "$M" | grep -E '^(current|min|nr_procs)='
if cg reserve-path unit no-such-unit.service; then vm_fail "reserve path of a missing unit"; fi

vm_log "PASS: systemd driver"
