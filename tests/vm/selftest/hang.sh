#!/bin/bash
# vm: expect=timeout timeout=15
# A scenario that never ends must be killed at its timeout and reported as
# failed. The short timeout keeps the cost of this self-test low.

vm_log "self-test: hanging on purpose"
sleep infinity
