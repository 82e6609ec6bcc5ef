#!/bin/bash
# vm: timeout=120
# The installed unit files pass `systemd-analyze verify` under the guest's
# systemd (PID 1). It exits 0 on unknown keys, so any stderr is a failure;
# it also needs the ExecStart= binaries to exist, which the overlay provides.

units=()
missing=()
for u in poold.service poold.slice; do
	if [[ -f $VMTEST_UNITDIR/$u ]]; then
		units+=("$VMTEST_UNITDIR/$u")
	else
		missing+=("$u")
	fi
done
((${#missing[@]} == 0)) || vm_skip "not installed in $VMTEST_UNITDIR: ${missing[*]}"

err=$VMTEST_TMPDIR/verify.err
rc=0
vm_run systemd-analyze verify --man=no "${units[@]}" 2>"$err" || rc=$?
if ((rc != 0)) || [[ -s $err ]]; then
	cat "$err"
	vm_fail "systemd-analyze verify exited with $rc and wrote $(wc -l <"$err") lines to stderr"
fi
vm_log "ok: systemd-analyze verify --man=no ${units[*]}: no complaints"
