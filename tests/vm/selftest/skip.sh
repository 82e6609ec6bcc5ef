#!/bin/bash
# vm: expect=skip timeout=60
# exit 77 must be reported as a skip, with the reason.

vm_skip "self-test: skipping on purpose"
