#!/bin/bash
# vm: timeout=120
# The installed poolctl runs in the guest and checks the installed default
# configuration ($sysconfdir/poold/poold.conf), by default and by --config.

poolctl=$VMTEST_BINDIR/poolctl
conf=$VMTEST_SYSCONFDIR/poold/poold.conf
[[ -x $poolctl ]] || vm_skip "poolctl is not installed ($poolctl absent from ${VMTEST_DESTDIR:-the guest})"
[[ -f $conf ]] || vm_fail "poolctl is installed but its default config $conf is not"

vm_log "MemTotal: $(awk '/^MemTotal/ { print $2, $3 }' /proc/meminfo)"
vm_run "$poolctl" check || vm_fail "poolctl check on the default config exited with $?"

cp "$conf" "$VMTEST_TMPDIR/copy.conf"
vm_run "$poolctl" check --config "$VMTEST_TMPDIR/copy.conf" ||
	vm_fail "poolctl check --config $VMTEST_TMPDIR/copy.conf exited with $?"

if vm_run "$poolctl" check --config "$VMTEST_TMPDIR/no-such.conf"; then
	vm_fail "poolctl check --config on a missing file exited 0"
fi
vm_log "ok: poolctl check --config on a missing file failed"
