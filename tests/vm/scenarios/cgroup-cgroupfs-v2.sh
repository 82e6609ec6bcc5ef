#!/bin/bash
# vm: timeout=240 nodes=2 mem=2048
# The cgroupfs driver (pools/cgroup-cgroupfs.c, libcgroup 2.0.2) on real
# cgroup v2, without fighting systemd: everything happens inside a scope
# with Delegate=yes (systemd-run --scope), whose subtree is ours. The
# scope's own process first moves into a leaf (a delegated cgroup with
# processes cannot enable controllers for children: EBUSY), then tests/cgtool
# makes <scope>/poold/{data,kv} and the test checks memory.min/high/max and
# cpuset.mems, a two-thread member, re-adoption (same directories, member
# kept, node list back to all), that a create the kernel refuses (cpuset.mems on a
# node that does not exist) leaves no half-made cgroup, and memory.min for a
# reserve named by its cgroup.

tool=$VMTEST_BUILDDIR/tests/cgtool
[[ -x $tool ]] || vm_skip "$tool is not built (run make in $VMTEST_BUILDDIR)"

inner=$VMTEST_TMPDIR/inner.sh
cat >"$inner" <<'EOF'
set -euo pipefail
. "$VMTEST_HARNESSDIR/lib.sh"
tool=$VMTEST_BUILDDIR/tests/cgtool
kv() { sed -n "s/^$1=//p"; }
cg() {
	echo "+ cgtool -d cgroupfs -r $ROOT $*" >&2
	"$tool" -d cgroupfs -r "$ROOT" "$@"
}

SCOPE=$(sed -n 's/^0:://p' /proc/self/cgroup)
ROOT=/sys/fs/cgroup$SCOPE
vm_log "delegated scope: $SCOPE; controllers: $(<"$ROOT/cgroup.controllers")"
vm_assert_file_matches "$ROOT/cgroup.controllers" '(^| )memory( |$)'

# Out of the scope's own cgroup into a leaf, so its children may get
# controllers (the no-internal-process rule).
mkdir "$ROOT/supervisor"
echo $$ >"$ROOT/supervisor/cgroup.procs"
vm_assert_file_content "$ROOT/cgroup.procs" ""

holder=''
cleanup() {
	[[ -z $holder ]] || kill -9 "$holder" 2>/dev/null || true
	wait 2>/dev/null || true
	for d in "$ROOT"/poold/*/ "$ROOT/poold"; do
		[[ -d $d ]] && rmdir "$d" 2>/dev/null || true
	done
}
trap cleanup EXIT

out=$(cg info)
vm_log "$out"
vm_assert_eq "$(kv driver <<<"$out")" cgroupfs "driver"
vm_assert_eq "$(kv version <<<"$out")" 2 "version"
features=$(kv features <<<"$out")
vm_assert_eq "$(kv parent <<<"$out")" "$ROOT/poold" "parent path"

cg parent 1G || vm_fail "parent 1G"
vm_assert_file_content "$ROOT/poold/memory.max" 1073741824
vm_log "subtree_control: scope '$(<"$ROOT/cgroup.subtree_control")', poold '$(<"$ROOT/poold/cgroup.subtree_control")'"

cg apply data 64M 128M 256M 1 || vm_fail "apply data"
D=$ROOT/poold/data
vm_assert_file_content "$D/memory.min" 67108864
vm_assert_file_content "$D/memory.high" 134217728
vm_assert_file_content "$D/memory.max" 268435456
if [[ $features == *mems* ]]; then
	vm_assert_file_content "$D/cpuset.mems" 1
	vm_assert_file_content "$D/cpuset.mems.effective" 1
else
	vm_log "note: cpuset not delegated here (features '$features'), node list not checked"
fi
cg apply kv 0 infinity infinity || vm_fail "apply kv"
vm_assert_file_content "$ROOT/poold/kv/memory.high" max
vm_assert_file_content "$ROOT/poold/kv/memory.max" max
vm_assert_file_content "$ROOT/poold/kv/memory.min" 0
vm_assert_eq "$(cg list | tr '\n' ' ')" "data kv " "list"

# A member with two threads.
"$tool" hold 600 &
holder=$!
vm_wait_for 10 "holder has two threads" bash -c "test \$(ls /proc/$holder/task | wc -l) -ge 2"
cg attach data "$holder" || vm_fail "attach"
for t in "/proc/$holder/task"/*; do
	vm_assert_file_content "$t/cgroup" "0::$SCOPE/poold/data"
done
out=$("$tool" stat "$D")
vm_log "$out"
vm_assert_eq "$(kv nr_procs <<<"$out")" 1 "stat nr_procs"
vm_assert_eq "$(kv min <<<"$out")" 67108864 "stat min"

# Refusals.
if cg attach nosuch "$holder"; then vm_fail "attach to a missing pool succeeded"; fi
if cg apply a-b 0 1M 2M; then vm_fail "apply a-b succeeded"; fi
[[ ! -e $ROOT/poold/a-b ]] || vm_fail "a-b was made"

# A create the kernel refuses after libcgroup's mkdir: cpuset.mems on a
# node this guest lacks. The half-made cgroup must be gone again.
if [[ $features == *mems* ]]; then
	if cg apply bad 0 1M 2M 5; then vm_fail "apply with node 5 succeeded"; fi
	[[ ! -e $ROOT/poold/bad ]] || vm_fail "a half-made $ROOT/poold/bad was left behind"
	vm_log "ok: the refused create left no cgroup"
	# The same on an existing pool: refused, the pool and its member stay.
	if cg apply data 64M 128M 256M 5; then vm_fail "re-apply with node 5 succeeded"; fi
	[[ -d $D ]] || vm_fail "$D vanished after a refused change"
	vm_assert_file_content "/proc/$holder/cgroup" "0::$SCOPE/poold/data"
fi

# Re-adoption: apply again with other limits and all nodes.
ino=$(stat -c %i "$D")
"$tool" -v -d cgroupfs -r "$ROOT" apply data 32M 96M 200M || vm_fail "re-apply data"
vm_assert_eq "$(stat -c %i "$D")" "$ino" "data not recreated (inode)"
vm_assert_file_content "$D/memory.min" 33554432
vm_assert_file_content "$D/memory.high" 100663296
vm_assert_file_content "$D/memory.max" 209715200
if [[ $features == *mems* ]]; then
	# All nodes again: the parent's (the kernel refuses an empty list in
	# a populated cgroup).
	vm_assert_file_content "$D/cpuset.mems" "$(<"$ROOT/poold/cpuset.mems.effective")"
	vm_assert_file_content "$D/cpuset.mems.effective" 0-1
fi
vm_assert_file_content "/proc/$holder/cgroup" "0::$SCOPE/poold/data"

# A reserve named by its cgroup (relative to the hierarchy root).
rel=${SCOPE#/}/poold/kv
vm_assert_eq "$(cg reserve-path cgroup "$rel")" "$ROOT/poold/kv" "reserve path"
cg protect cgroup "$rel" 8M || vm_fail "protect"
vm_assert_file_content "$ROOT/poold/kv/memory.min" 8388608
if cg protect unit x.service 8M; then vm_fail "protect unit with cgroupfs succeeded"; fi

kill -9 "$holder"
wait "$holder" 2>/dev/null || true
holder=''
rmdir "$D" "$ROOT/poold/kv" "$ROOT/poold" || vm_fail "cleanup"
vm_log "PASS: cgroupfs driver on cgroup v2"
EOF

# The harness exports the VMTEST_* variables; systemd-run --scope runs the
# command itself, so they reach the inner script.
vm_run systemd-run --scope --unit=poold-cgfs-test --property=Delegate=yes --quiet bash "$inner" ||
	vm_fail "the delegated scope's test failed"
