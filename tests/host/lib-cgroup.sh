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
