#!/bin/bash
# vm: expect=pass timeout=90 nodes=3 mem=1536 cpus=2
# The header sets the guest's shape; lib.sh's helpers pass and fail as
# documented; the scenario sees the paths and scratch space it is promised.

vm_assert_eq "$VMTEST_NODES/$VMTEST_MEM/$VMTEST_CPUS" "3/1536/2" "shape from the header"
vm_assert_file_content /sys/devices/system/node/online 0-2
vm_assert_eq "$(nproc)" 2 "online CPUs"
# QEMU splits the RAM evenly; the kernel keeps some of it for itself.
total_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
((total_kb > 1300 * 1024 && total_kb <= 1536 * 1024)) || vm_fail "MemTotal $total_kb kB for 1536 MiB"
vm_log "ok: MemTotal $total_kb kB"
# node2 has memory but no CPU (cpus=2 over 3 nodes).
vm_assert_file_content /sys/devices/system/node/node2/cpulist ""

# Paths: the source tree is visible at its host path; results share writable.
[[ -f $VMTEST_SRCDIR/tests/vm/lib.sh ]] || vm_fail "source tree not visible at $VMTEST_SRCDIR"
[[ -z $(ls -A "$VMTEST_TMPDIR") ]] || vm_fail "VMTEST_TMPDIR $VMTEST_TMPDIR is not empty"
[[ -w $VMTEST_RESULTS ]] || vm_fail "results share $VMTEST_RESULTS not writable"

# vm_wait_for: succeeds once the condition holds, fails at its deadline.
(sleep 0.5; echo ready >"$VMTEST_TMPDIR/flag") &
vm_wait_for 10 "flag file appears" test -s "$VMTEST_TMPDIR/flag"
vm_assert_file_content "$VMTEST_TMPDIR/flag" ready
if (vm_wait_for 0.3 "a condition that never holds" false); then
	vm_fail "vm_wait_for did not fail at its deadline"
fi
if (vm_assert_file_content "$VMTEST_TMPDIR/flag" other); then
	vm_fail "vm_assert_file_content accepted wrong content"
fi
if (vm_assert_file_matches "$VMTEST_TMPDIR/flag" '^nope$'); then
	vm_fail "vm_assert_file_matches accepted a non-matching file"
fi
vm_log "ok: failing helpers fail"

# vm_cgroup_read on the root and on a child.
[[ "$(vm_cgroup_read / cgroup.controllers)" == *memory* ]] || vm_fail "vm_cgroup_read / cgroup.controllers lacks memory"
if (vm_cgroup_read / memory.max >/dev/null); then
	vm_fail "vm_cgroup_read of a missing file succeeded"
fi
mkdir /sys/fs/cgroup/vmtest-shape
echo 64M >/sys/fs/cgroup/vmtest-shape/memory.max
vm_assert_eq "$(vm_cgroup_read vmtest-shape memory.max)" $((64 * 1024 * 1024)) "vmtest-shape memory.max"
rmdir /sys/fs/cgroup/vmtest-shape
