#!/bin/bash
# vm: timeout=120 nodes=2 mem=2048
# The guest is what poold's users run: systemd as PID 1, cgroup v2 with the
# memory and cpuset controllers, the requested NUMA nodes, and PSI triggers
# with a 1 s window (which the hosts we build on refuse).

vm_assert_eq "$(cat /proc/1/comm)" systemd "PID 1"
vm_assert_eq "$(stat -fc %T /sys/fs/cgroup)" cgroup2fs "filesystem type of /sys/fs/cgroup"
vm_log "cgroup.controllers: $(vm_cgroup_read / cgroup.controllers)"
for c in memory cpuset; do
	vm_assert_file_matches /sys/fs/cgroup/cgroup.controllers "(^| )$c( |\$)"
done
vm_log "cgroup.subtree_control: $(vm_cgroup_read / cgroup.subtree_control)"

nodes=$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' | wc -l)
vm_assert_eq "$nodes" "$VMTEST_NODES" "NUMA nodes in /sys/devices/system/node"
vm_assert_file_content /sys/devices/system/node/online "0-$((VMTEST_NODES - 1))"
for n in /sys/devices/system/node/node[0-9]*; do
	vm_log "${n##*/}: cpus '$(cat "$n/cpulist")', $(awk '/MemTotal/ { print $4, $5 }' "$n/meminfo")"
done

# A trigger is accepted only while its fd stays open: write it from a
# descriptor this shell holds, then check the write succeeded and the fd
# still polls (a later read must not fail).
vm_assert_file_matches /proc/pressure/memory '^some avg10='
exec 3<>/proc/pressure/memory
if ! printf 'some 150000 1000000\0' >&3; then
	vm_fail "/proc/pressure/memory refused the trigger 'some 150000 1000000'"
fi
vm_log "ok: /proc/pressure/memory accepted 'some 150000 1000000' (1 s window)"
exec 3>&-

cg=/sys/fs/cgroup/vmtest-psi
mkdir "$cg"
exec 4<>"$cg/memory.pressure"
printf 'full 50000 1000000\0' >&4 || vm_fail "$cg/memory.pressure refused 'full 50000 1000000'"
vm_log "ok: $cg/memory.pressure accepted 'full 50000 1000000'"
exec 4>&-
rmdir "$cg"
