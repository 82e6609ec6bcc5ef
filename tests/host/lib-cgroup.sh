# Shared by the cgroup host and VM tests (sourced, POSIX sh).
# Each check prints what it compared, so a log shows what was proved.
# FAILED is read by the sourcing script at its end.

# shellcheck disable=SC2034
FAILED=0

fail() {
        echo "FAIL: $*" >&2
        # shellcheck disable=SC2034
        FAILED=1
}

# check_eq WHAT GOT WANT
check_eq() {
        if [ "$2" = "$3" ]; then
                echo "ok: $1 = $3"
        else
                fail "$1: got '$2', want '$3'"
        fi
}

# check_file FILE WANT: the file's first line
check_file() {
        if [ ! -r "$1" ]; then
                fail "$1: missing"
                return
        fi
        check_eq "$1" "$(head -n 1 "$1")" "$2"
}

# check_fails WHAT CMD...: CMD must exit non-zero
check_fails() {
        what=$1
        shift
        if "$@" >/dev/null 2>&1; then
                fail "$what: succeeded, should have failed"
        else
                echo "ok: $what fails"
        fi
}

# check_ok WHAT CMD...: CMD must succeed
check_ok() {
        what=$1
        shift
        if out=$("$@" 2>&1); then
                echo "ok: $what"
        else
                fail "$what: $out"
        fi
}

# The cgroup of PID in the memory hierarchy (v1 "N:memory:/path" or v2 "0::/path").
memory_cgroup_of() {
        sed -n -e 's/^[0-9]*:memory:\(.*\)$/\1/p' -e 's/^0::\(.*\)$/\1/p' "/proc/$1/cgroup" | head -n 1
}

# The value of KEY= in cgtool's key=value output on stdin.
kv() {
        sed -n "s/^$1=//p"
}

# Host tests only: the CGTOOL and the test subtree they work under.

# require_root_v1 WHY [HINT]: exits 77 (skip) unless this is root (WHY:
# what needs it) and the memory controller is on a cgroup v1 hierarchy
# (HINT: where v2 is covered instead); sets MNT to its mount point.
require_root_v1() {
        if [ "$(id -u)" != 0 ]; then
                echo "SKIP: not root ($1)"
                exit 77
        fi
        info=$("$CGTOOL" detect) || { echo "SKIP: no cgroup memory hierarchy"; exit 77; }
        if [ "$(echo "$info" | kv memory_version)" != 1 ]; then
                echo "SKIP: the memory controller is not on cgroup v1 here${2:+ ($2)}"
                exit 77
        fi
        MNT=$(echo "$info" | kv memory_mount)
}

# kill_pool_members: SIGKILL to every process in a pool under $POOLS.
kill_pool_members() {
        for d in "$POOLS"/*/; do
                for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
                        kill -9 "$p" 2>/dev/null
                done
        done
}

# remove_test_root: removes the pools under $POOLS, $POOLS and $ROOT. v1
# refuses rmdir while a task is still inside: the members must be dead;
# tasks still exiting are waited for, 1 s at most. Returns 1, with a
# warning, if $ROOT stays.
remove_test_root() {
        for _ in 1 2 3 4 5; do
                for d in "$POOLS"/*/ "$POOLS" "$ROOT"; do
                        [ -d "$d" ] && rmdir "$d" 2>/dev/null
                done
                [ -d "$ROOT" ] || return 0
                sleep 0.2
        done
        echo "WARNING: could not remove $ROOT" >&2
        return 1
}
