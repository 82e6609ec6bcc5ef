#!/bin/bash
# vm: expect=fail timeout=60
# A failing assertion must be reported as a failure (and the guest must
# power off at once, not sit until the timeout).

vm_log "self-test: about to fail on purpose"
vm_assert_eq "actual" "expected" "a value that differs on purpose"
vm_log "not reached"
