#!/bin/bash
# vm: expect=error timeout=60
# A guest that dies under a scenario (kernel panic, power loss) leaves no
# exit code: that must be a failure, never a pass.

vm_log "self-test: powering the guest off under the scenario"
sync
echo o >/proc/sysrq-trigger
sleep 30
