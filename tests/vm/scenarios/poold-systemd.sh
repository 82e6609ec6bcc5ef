#!/bin/bash
# vm: timeout=300 nodes=2 mem=2048
# poold as installed, under systemd as PID 1 on cgroup v2 with the systemd
# driver: `systemctl start poold` reaches READY; poold.slice and its
# poold-<pool>.slice children carry the budget's memory.min/high/max;
# `poolctl run` lands in poold-data.slice; restart, kill -9 of the main PID
# (Restart=on-failure) and daemon-reload keep the member and the limits; a
# broken config on `systemctl reload` keeps the old one and status says why;
# an unprivileged user reads status but cannot change anything.
#
# Needs a build configured with --runstatedir=/run (as distributions do):
# the unit's RuntimeDirectory=poold is /run/poold, and under
# ProtectSystem=strict poold cannot make its socket anywhere else.

poolctl=$VMTEST_BINDIR/poolctl
[[ -x $poolctl ]] || vm_skip "poolctl is not installed"
[[ -x $VMTEST_SBINDIR/poold ]] || vm_skip "poold is not installed"
[[ -f $VMTEST_UNITDIR/poold.service ]] || vm_skip "poold.service is not installed"
sock=$(strings "$poolctl" | grep -m1 '/poold/control.sock$' || true)
[[ $sock == /run/poold/control.sock ]] ||
	vm_skip "the build's socket is $sock, not under the unit's RuntimeDirectory (configure --runstatedir=/run)"

member=''
cleanup() {
	[[ -z $member ]] || kill -9 "$member" 2>/dev/null || true
	systemctl stop poold 2>/dev/null || true
	journalctl -u poold --no-pager -o cat 2>/dev/null | tail -40 | sed 's/^/journal: /' || true
}
trap cleanup EXIT

conf=$VMTEST_SYSCONFDIR/poold/poold.conf
mkdir -p "${conf%/*}"
# A fixed total so the figures are known: poolable = 1536M - 512M - 10% of
# 1536M (161061273) = 912680551; data: Min 128M, target = Max = 512M (its
# weight share is larger); kv: target = Max = 256M.
cat >"$conf" <<'EOC'
[Host]
Total=1536M
Slack=10%
CgroupDriver=systemd

[Reserve os]
Size=512M

[Pool data]
Min=128M
Max=512M
Weight=400

[Pool kv]
Max=256M
Weight=100
EOC
cp "$conf" "$VMTEST_TMPDIR/good.conf"

P=poold.slice
check_limits() {
	# The kernel keeps limits in pages: 912680551 reads back rounded down.
	vm_assert_eq "$(vm_cgroup_read $P memory.max)" $((912680551 / 4096 * 4096)) "$P memory.max (poolable)"
	vm_assert_eq "$(vm_cgroup_read $P/poold-data.slice memory.min)" 134217728 "data memory.min"
	vm_assert_eq "$(vm_cgroup_read $P/poold-data.slice memory.high)" 536870912 "data memory.high"
	vm_assert_eq "$(vm_cgroup_read $P/poold-data.slice memory.max)" 536870912 "data memory.max"
	vm_assert_eq "$(vm_cgroup_read $P/poold-kv.slice memory.max)" 268435456 "kv memory.max"
}

vm_run systemctl start poold
vm_assert_eq "$(systemctl is-active poold)" active "poold is active (READY=1 reached: Type=notify)"
vm_log "status: $(systemctl show -p StatusText --value poold)"
check_limits
vm_run "$poolctl" status

"$poolctl" run --pool data -- sleep 1000 &
vm_wait_for 10 "a member in poold-data.slice" \
	bash -c "cat /sys/fs/cgroup/$P/poold-data.slice/*/cgroup.procs 2>/dev/null | grep -q ."
member=$(cat /sys/fs/cgroup/$P/poold-data.slice/*/cgroup.procs | head -n1)
vm_assert_eq "$(cat /proc/"$member"/comm)" sleep "the member is the command"
vm_log "member $member in $(cat /proc/"$member"/cgroup)"

vm_run systemctl restart poold
vm_assert_eq "$(systemctl is-active poold)" active "active after restart"
kill -0 "$member" || vm_fail "member died on restart"
check_limits

main=$(systemctl show -p MainPID --value poold)
vm_run kill -9 "$main"
# TCG on a loaded host: a restart (1 s RestartSec, ExecStartPre, start)
# took 4 s in one run and over 20 s in another.
vm_wait_for 90 "poold restarted after kill -9" \
	bash -c "[[ \$(systemctl show -p MainPID --value poold) != $main && \$(systemctl is-active poold) == active ]]"
kill -0 "$member" || vm_fail "member died with poold's kill -9"
check_limits

vm_run systemctl daemon-reload
kill -0 "$member" || vm_fail "member died on daemon-reload"
check_limits
grep -qx "$member" /sys/fs/cgroup/$P/poold-data.slice/*/cgroup.procs || vm_fail "member left poold-data.slice"

printf '\n[Pool broken]\nMin=10Q\n' >>"$conf"
vm_run systemctl reload poold
# ExecReload= only sends SIGHUP: wait for poold's verdict.
vm_wait_for 20 "status reports the failed reload" \
	bash -c "'$poolctl' status --json | grep -q '\"last_reload_error\": \"'"
vm_assert_eq "$(systemctl is-active poold)" active "active after a bad reload"
"$poolctl" status --json >"$VMTEST_TMPDIR/status.json"
grep -q '"last_reload_error": ".*10Q' "$VMTEST_TMPDIR/status.json" || vm_fail "status does not say why the reload failed"
grep -q '"name": "broken"' "$VMTEST_TMPDIR/status.json" && vm_fail "the broken config was taken"
check_limits
cp "$VMTEST_TMPDIR/good.conf" "$conf"

rc=0
runuser -u nobody -- "$poolctl" status >/dev/null || rc=$?
vm_assert_eq "$rc" 0 "nobody: status"
rc=0
runuser -u nobody -- "$poolctl" set --pool data max 256M || rc=$?
vm_assert_eq "$rc" 4 "nobody: set"
vm_assert_eq "$(vm_cgroup_read $P/poold-data.slice memory.max)" 536870912 "data memory.max unchanged by nobody"

vm_run "$poolctl" set --pool data max 256M
vm_assert_eq "$(vm_cgroup_read $P/poold-data.slice memory.max)" 268435456 "root: set data max 256M"
