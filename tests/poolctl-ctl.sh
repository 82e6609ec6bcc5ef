#!/bin/sh
# poolctl's daemon verbs without a daemon: argument errors exit 2 before any
# connection, and a missing socket exits 3 with "poold is not running".
set -u
POOLCTL=${POOLCTL:-./poolctl}
fails=0
sock=/nonexistent-poold-test/control.sock

expect() { # STATUS DESCRIPTION CMD...
        want=$1 what=$2
        shift 2
        out=$("$@" 2>&1)
        got=$?
        if [ "$got" != "$want" ]; then
                echo "FAIL: $what: exit $got, want $want: $out"
                fails=$((fails + 1))
        else
                echo "ok: $what"
        fi
        LAST=$out
}

expect 2 "set without --pool" "$POOLCTL" set --socket $sock max 1G
expect 2 "set with an unknown field" "$POOLCTL" set --socket $sock --pool data weight 1G
expect 2 "set with a bad size" "$POOLCTL" set --socket $sock --pool data max 1X
expect 2 "set with a percentage" "$POOLCTL" set --socket $sock --pool data max 10%
expect 2 "set with a missing size" "$POOLCTL" set --socket $sock --pool data max
expect 2 "attach with a bad pid" "$POOLCTL" attach --socket $sock --pool data 12x
expect 2 "attach with pid 0" "$POOLCTL" attach --socket $sock --pool data 0
expect 2 "attach with two pids" "$POOLCTL" attach --socket $sock --pool data 1 2
expect 2 "run without a command" "$POOLCTL" run --socket $sock --pool data --
expect 2 "run without --pool" "$POOLCTL" run --socket $sock -- true
expect 2 "status with an argument" "$POOLCTL" status --socket $sock extra
expect 2 "reload with --json" "$POOLCTL" reload --socket $sock --json
expect 3 "status, no daemon" "$POOLCTL" status --socket $sock
case $LAST in
"poold is not running (no socket at $sock)") echo "ok: not-running message" ;;
*) echo "FAIL: not-running message: $LAST"; fails=$((fails + 1)) ;;
esac
expect 3 "reload, no daemon" "$POOLCTL" reload --socket $sock
expect 3 "set, no daemon" "$POOLCTL" set --socket $sock --pool data max 1G
expect 3 "run, no daemon" "$POOLCTL" run --socket $sock --pool data -- true
expect 3 "attach, no daemon" "$POOLCTL" attach --socket $sock --pool data 1

[ $fails = 0 ]
