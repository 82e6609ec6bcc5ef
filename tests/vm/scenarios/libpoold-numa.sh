#!/bin/bash
# vm: timeout=300 nodes=2 mem=2048 cpus=2
# libpoold places a pool's pages where its NUMA policy says, measured page
# by page with move_pages(2) (tests/vm/numa-place, standalone pools, 64 MiB
# each, every page written): run on a node-0 CPU, bind:1 puts >= 99% on
# node 1, interleave:0-1 40-60% on each node, preferred:1 >= 95% on node 1
# (it has room), local >= 95% on node 0; run on a node-1 CPU, local follows
# to node 1 and bind:0 stays on node 0; after free, shrink and a second
# allocation, bind:1 and interleave:0-1 still hold (two pools in one
# process), and with POOL_OPEN_HUGEPAGES too, in huge pages. The kernel's numa_maps
# shows the policy on the arena's mapping, and NUMA balancing given 3 s
# moves nothing out of place. Then poold with NUMA=bind:1 in poold.conf
# gives the pool's slice cpuset.mems=1 (AllowedMemoryNodes=1), preferred:1
# leaves the slice on every node, and a policy-less program started with
# `poolctl run` in the bind:1 pool on a node-0 CPU gets its pages on node 1.
# Last, what a bind:1 pool whose Max exceeds node 1 gets when node 1 runs
# out: ENOMEM, or the OOM killer (numa-place alone; logged, not a failure).

prog=$VMTEST_BUILDDIR/tests/vm/numa-place
[[ -x $prog ]] || vm_skip "$prog is not built (run make in $VMTEST_BUILDDIR)"
vm_require_cmd taskset
((VMTEST_NODES >= 2)) || vm_skip "needs 2 NUMA nodes, the guest has $VMTEST_NODES"

# first_cpu NODE: the lowest CPU of NODE (run-scenario puts CPU c on node
# c mod N; read it rather than assume it).
first_cpu() {
	local list
	list=$(</sys/devices/system/node/node"$1"/cpulist)
	[[ -n $list ]] || vm_skip "node $1 has no CPU (cpus=$VMTEST_CPUS)"
	list=${list%%,*}
	printf '%s\n' "${list%%-*}"
}
cpu0=$(first_cpu 0)
cpu1=$(first_cpu 1)
vm_log "node0 CPUs $(</sys/devices/system/node/node0/cpulist), node1 CPUs $(</sys/devices/system/node/node1/cpulist)"
vm_log "kernel.numa_balancing=$(cat /proc/sys/kernel/numa_balancing 2>/dev/null || echo '?')"
for n in 0 1; do
	vm_log "node$n: $(grep -E 'MemTotal|MemFree' /sys/devices/system/node/node$n/meminfo | awk '{ printf "%s %d MiB  ", $3, $4 / 1024 }')"
done

# field LINE KEY: KEY's value in a numa-place line (key=value words).
field() {
	local kv
	for kv in $1; do
		if [[ $kv == "$2="* ]]; then
			printf '%s\n' "${kv#*=}"
			return 0
		fi
	done
	echo "FAIL: no $2= in '$1'" >&2
	return 1
}

# expect_share OUT SPEC NODE LO HI: in OUT, the pool opened with SPEC has
# between LO and HI per mille of its pages on NODE, and every page was found.
expect_share() {
	local line pages n absent
	line=$(grep -E "^pool=[^ ]+ spec=$2 " <<<"$1") || vm_fail "no line for spec $2 in: $1"
	pages=$(field "$line" pages)
	n=$(field "$line" "node$3")
	absent=$(field "$line" absent)
	((pages > 0)) || vm_fail "$2: no pages measured"
	vm_assert_eq "$absent" 0 "$2: pages move_pages did not find"
	local pm=$((n * 1000 / pages))
	((pm >= $4 && pm <= $5)) ||
		vm_fail "$2: node$3 holds $n of $pages pages ($pm per mille), expected $4-$5 per mille"
	vm_log "ok: $2: node$3 holds $n of $pages pages ($pm per mille, expected $4-$5)"
}

# expect_policy OUT SPEC POLICY: numa_maps' policy of the pool's mapping.
expect_policy() {
	local line
	line=$(grep -E "^pool=[^ ]+ spec=$2 " <<<"$1") || vm_fail "no line for spec $2 in: $1"
	vm_assert_eq "$(field "$line" policy)" "$3" "$2: the kernel's policy on the arena mapping"
}

# run_place CPU ARGS...: numa-place pinned to CPU; output logged and saved.
run_place() {
	local cpu=$1 out start
	shift
	start=$(date +%s%N)
	vm_log "+ taskset -c $cpu numa-place $*" >&2
	# In a command substitution vm_fail would only leave the subshell.
	out=$(taskset -c "$cpu" "$prog" "$@") || { echo "FAIL: numa-place $* failed (rc $?)" >&2; return 1; }
	printf '%s\n' "$out" | sed "s/^/cpu$cpu: /" | tee -a "$VMTEST_RESULTS/numa-place.txt" >&2
	vm_log "($((($(date +%s%N) - start) / 1000000)) ms)" >&2
	printf '%s\n' "$out"
}

# 1. Every policy from a node-0 CPU: node-1 pages come from the policy
# alone, never from first touch. Measured after 3 s, so that automatic NUMA
# balancing (on by default with 2 nodes) has scanned them: it must not pull
# the node-1 pages to the CPU's node either.
out=$(run_place "$cpu0" --mib 64 --hold-ms 3000 bind:1 interleave:0-1 preferred:1 local)
expect_share "$out" bind:1 1 990 1000
expect_share "$out" interleave:0-1 0 400 600
expect_share "$out" interleave:0-1 1 400 600
expect_share "$out" preferred:1 1 950 1000
expect_share "$out" local 0 950 1000
expect_policy "$out" bind:1 bind:1
expect_policy "$out" interleave:0-1 interleave:0-1
expect_policy "$out" preferred:1 prefer:1
expect_policy "$out" local default

# 2. From a node-1 CPU: local follows the CPU, bind:0 does not.
out=$(run_place "$cpu1" --mib 64 local bind:0)
expect_share "$out" local 1 950 1000
expect_share "$out" bind:0 0 990 1000
expect_policy "$out" bind:0 bind:0

# 3. Reuse: allocate, free, shrink (pool_shrink_now: the pages go back to
# the kernel), allocate again from a node-0 CPU: the refaulted pages keep
# the policy. Both pools in one process: a shrink of one must leave the
# other's arena whole (libpoold's dalloc unmaps only whole mappings).
out=$(run_place "$cpu0" --mib 64 --reuse bind:1 interleave:0-1)
for spec in bind:1 interleave:0-1; do
	line=$(grep -E "^pool=[^ ]+ spec=$spec " <<<"$out") || vm_fail "no line for $spec"
	# What stays charged after the shrink is the arena's metadata (about
	# 2 MiB); jemalloc's decay may have given some pages back before it,
	# so released_mib alone need not reach 64.
	kept=$(field "$line" shrunk_charged_kib)
	((kept <= 8192)) || vm_fail "$spec: $kept KiB still charged after the shrink"
	vm_log "ok: $spec: $kept KiB charged after the shrink (released_mib $(field "$line" released_mib))"
	expect_policy "$out" "$spec" "$spec"
done
expect_share "$out" bind:1 1 990 1000
expect_share "$out" interleave:0-1 0 400 600
expect_share "$out" interleave:0-1 1 400 600

# 3b. POOL_OPEN_HUGEPAGES: the policy holds for huge pages too, and they
# are huge: of the 128 MiB the two pools wrote, at least half in
# AnonHugePages. Interleave goes by 2 MiB page then, 32 of them per pool,
# some 4 KiB pages between: the first run gave 586/414 per mille, so
# 300-700 (both nodes well used) is the check.
out=$(run_place "$cpu0" --mib 64 --hugepages bind:1 interleave:0-1)
expect_share "$out" bind:1 1 990 1000
expect_share "$out" interleave:0-1 0 300 700
expect_share "$out" interleave:0-1 1 300 700
expect_policy "$out" bind:1 bind:1
expect_policy "$out" interleave:0-1 interleave:0-1
line=$(grep -E "^pool=[^ ]+ spec=interleave:0-1 " <<<"$out")
huge=$(field "$line" anon_huge_kib)
((huge >= 65536)) || vm_fail "--hugepages: AnonHugePages $huge KiB, expected >= 65536 of 131072 written"
vm_log "ok: --hugepages: AnonHugePages $huge KiB of 131072 KiB written"

# 4. poold: NUMA= in poold.conf reaches the pool's slice, and confines a
# member that has no policy of its own.
poolctl=$VMTEST_BINDIR/poolctl
sock=''
[[ -x $poolctl ]] && sock=$(strings "$poolctl" | grep -m1 '/poold/control.sock$' || true)
if [[ ! -x $VMTEST_SBINDIR/poold || ! -f $VMTEST_UNITDIR/poold.service ]]; then
	vm_log "note: poold is not installed: the slice part is not checked"
elif [[ $sock != /run/poold/control.sock ]]; then
	vm_log "note: the build's socket is '$sock', not /run/poold (configure --runstatedir=/run): the slice part is not checked"
else
	cleanup() {
		systemctl stop poold 2>/dev/null || true
		journalctl -u poold --no-pager -o cat 2>/dev/null | tail -20 | sed 's/^/journal: /' || true
	}
	trap cleanup EXIT
	conf=$VMTEST_SYSCONFDIR/poold/poold.conf
	mkdir -p "${conf%/*}"
	cat >"$conf" <<'EOC'
[Host]
Total=1536M
Slack=10%
CgroupDriver=systemd

[Reserve os]
Size=512M

[Pool near]
Max=256M
NUMA=bind:1

[Pool pref]
Max=128M
NUMA=preferred:1
EOC
	vm_run systemctl start poold
	vm_assert_eq "$(systemctl is-active poold)" active "poold is active"
	S=poold.slice
	vm_assert_file_content /sys/fs/cgroup/$S/poold-near.slice/cpuset.mems 1
	vm_assert_file_content /sys/fs/cgroup/$S/poold-near.slice/cpuset.mems.effective 1
	vm_assert_eq "$(systemctl show -P AllowedMemoryNodes poold-near.slice)" 1 "poold-near.slice AllowedMemoryNodes"
	# preferred: is a preference, not a confinement (daemon/manager.c).
	pref=/sys/fs/cgroup/$S/poold-pref.slice
	[[ -d $pref ]] || vm_fail "$pref does not exist"
	[[ ! -e $pref/cpuset.mems || -z $(<"$pref/cpuset.mems") ]] ||
		vm_fail "$pref/cpuset.mems: expected empty (all nodes), got '$(<"$pref/cpuset.mems")'"
	[[ ! -e $pref/cpuset.mems.effective ]] || vm_assert_file_content "$pref/cpuset.mems.effective" 0-1

	vm_log "+ poolctl run --pool near -- taskset -c $cpu0 numa-place --mib 64 --hold-ms 3000 local"
	out=$("$poolctl" run --pool near -- taskset -c "$cpu0" "$prog" --mib 64 --hold-ms 3000 local) ||
		vm_fail "poolctl run numa-place failed (rc $?)"
	printf '%s\n' "$out" | sed "s/^/near, cpu$cpu0: /" | tee -a "$VMTEST_RESULTS/numa-place.txt"
	# Its own policy is still the default: the cgroup, not mbind, moved it.
	expect_policy "$out" local default
	expect_share "$out" local 1 990 1000
	vm_run systemctl stop poold
fi

# 5. A bind:1 pool whose Max is larger than node 1. The budget cannot see a
# node run out, so the kernel's mempolicy-constrained OOM killer may come
# before Max: either outcome is logged (for results), anything else (a
# crash, another errno, the guest's own processes killed) fails. In a
# service of its own: systemd stops a service one of whose processes was
# OOM-killed (OOMPolicy=stop), and that would be vmtest.service;
# OOMScoreAdjust=1000 makes numa-place the victim.
total1=$(awk '/MemTotal/ { print int($4 / 1024) }' /sys/devices/system/node/node1/meminfo)
max=$((total1 + 256))
vm_log "+ numa-place --max-mib $max --until-enomem bind:1 (node1: $total1 MiB), on CPU $cpu0, in a service"
start=$(date +%s%N)
rc=0
out=$(systemd-run --wait --pipe --collect --unit=numa-place-oom -p OOMScoreAdjust=1000 \
	taskset -c "$cpu0" "$prog" --max-mib "$max" --until-enomem bind:1 2>"$VMTEST_TMPDIR/oom.err") || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
sed 's/^/systemd-run: /' "$VMTEST_TMPDIR/oom.err"
kills=$(dmesg | grep -E 'Out of memory: Killed process [0-9]+ \(' || true)
printf '%s\n' "$kills" | sed '/^$/d; s/^/dmesg: /'
printf 'bind:1 max_mib=%s node1_mib=%s rc=%s ms=%s out=%s kills=%s\n' "$max" "$total1" "$rc" "$ms" "$out" \
	"$(wc -l <<<"$kills")" >>"$VMTEST_RESULTS/numa-place.txt"
if [[ $rc == 0 ]]; then
	[[ $out == *" errno=ENOMEM "* ]] || vm_fail "numa-place ended without ENOMEM: $out"
	vm_log "ok: ENOMEM at Max before node 1 ran out: $out ($ms ms)"
else
	[[ -n $kills ]] || vm_fail "numa-place failed (rc $rc, '$out') and nothing was OOM-killed"
	grep -Eqv 'Killed process [0-9]+ \(numa-place\)' <<<"$kills" &&
		vm_fail "the OOM killer took something other than numa-place: $kills"
	vm_log "note: node 1 ran out before Max $max MiB: the kernel OOM-killed numa-place, not the guest ($ms ms)"
fi
