#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Golden-file tests of `poolctl check`, `poolctl plan` and `poold --check-config`.
#
# Each case below runs poolctl from the source tree (so the paths it prints
# are the relative ones given here, whatever the build directory) and
# compares, byte for byte:
#   tests/conf/NAME.out    standard output of the human form
#   tests/conf/NAME.err    its standard error (absent: must be empty)
#   tests/conf/NAME.json   standard output of --json (its standard error must be empty)
# and checks that --quiet prints nothing but the same errors.
# and the exit status against the one written in the case (not regenerated:
# --update cannot bless a config that should be refused). Every check case
# also runs `poold --check-config` with the same arguments, which must print
# exactly the same: the two share one code path.
#
# Configs used here set [Host] Total= (check never reads this host's MemTotal
# or NUMA nodes then) or are run through `plan --total --nodes`, so the output
# does not depend on the machine.
#
# Usage (automake runs it from the top build directory, with $srcdir set):
#   tests/golden.sh            compare
#   tests/golden.sh --update   rewrite the golden files, then review `git diff tests/conf`
# POOLCTL and POOLD may name the binaries; by default ./poolctl and ./poold
# of the current directory. `make golden-update` runs the update.

set -u

update=0
case "${1-}" in
--update) update=1 ;;
"") ;;
*) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

builddir=$(pwd)
: "${srcdir:=$(dirname "$0")/..}"
POOLCTL=${POOLCTL:-$builddir/poolctl}
POOLD=${POOLD:-$builddir/poold}
case "$POOLCTL" in /*) ;; *) POOLCTL=$builddir/$POOLCTL ;; esac
case "$POOLD" in /*) ;; *) POOLD=$builddir/$POOLD ;; esac

# 99: a hard error in automake's terms, not a failed comparison.
for b in "$POOLCTL" "$POOLD"; do
        [ -x "$b" ] || { echo "ERROR: $b not built (run from the build directory)"; exit 99; }
done
cd "$srcdir" || { echo "ERROR: cannot enter srcdir $srcdir"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golden.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

failed=0
cases=0
covered=" "

fail() {
        echo "FAIL: $*"
        failed=$((failed + 1))
}

# same EXPECTED ACTUAL WHAT: compares two files, shows the difference.
same() {
        if cmp -s "$1" "$2"; then
                return 0
        fi
        fail "$3 differs from $1:"
        diff -u "$1" "$2" | head -n 60
        return 1
}

# golden NAME EXIT ARGS...: one case, human and JSON.
golden() {
        name=$1 want=$2
        shift 2
        cases=$((cases + 1))
        covered="$covered$name "
        exp=tests/conf/$name

        "$POOLCTL" "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        "$POOLCTL" "$@" --json >"$tmp/json" 2>"$tmp/json.err"
        rc_json=$?

        [ "$rc" = "$want" ] || fail "$name: poolctl $* exited $rc, want $want"
        [ "$rc_json" = "$want" ] || fail "$name: poolctl $* --json exited $rc_json, want $want"
        [ -s "$tmp/json.err" ] && { fail "$name: --json wrote to stderr:"; cat "$tmp/json.err"; }

        if [ "$update" = 1 ]; then
                cp "$tmp/out" "$exp.out"
                cp "$tmp/json" "$exp.json"
                if [ -s "$tmp/err" ]; then cp "$tmp/err" "$exp.err"; else rm -f "$exp.err"; fi
                echo "updated: $exp.out $exp.json$([ -s "$tmp/err" ] && echo " $exp.err")"
        else
                same "$exp.out" "$tmp/out" "$name: stdout"
                same "$exp.json" "$tmp/json" "$name: --json stdout"
                if [ -f "$exp.err" ]; then
                        same "$exp.err" "$tmp/err" "$name: stderr"
                elif [ -s "$tmp/err" ]; then
                        fail "$name: unexpected stderr:"
                        cat "$tmp/err"
                fi
        fi

        # --quiet: nothing on stdout, the same errors and exit status.
        "$POOLCTL" "$@" --quiet >"$tmp/q.out" 2>"$tmp/q.err"
        rc=$?
        [ "$rc" = "$want" ] || fail "$name: poolctl $* --quiet exited $rc, want $want"
        [ -s "$tmp/q.out" ] && fail "$name: poolctl $* --quiet wrote to stdout"
        same "$tmp/err" "$tmp/q.err" "$name: --quiet stderr"

        # poold --check-config: the same path, the same bytes, except that
        # poold marks its error lines "<3>" for journald (stderr is a file
        # here, not a terminal).
        if [ "$1" = check ]; then
                shift
                "$POOLD" --check-config "$@" >"$tmp/d.out" 2>"$tmp/d.err"
                rc=$?
                [ "$rc" = "$want" ] || fail "$name: poold --check-config $* exited $rc, want $want"
                same "$tmp/out" "$tmp/d.out" "$name: poold --check-config stdout"
                if grep -v '^<3>' "$tmp/d.err" >/dev/null; then
                        fail "$name: poold --check-config stderr has lines without <3>:"
                        cat "$tmp/d.err"
                fi
                sed 's/^<3>//' "$tmp/d.err" >"$tmp/d.err.plain"
                same "$tmp/err" "$tmp/d.err.plain" "$name: poold --check-config stderr"
                "$POOLD" --check-config "$@" --json >"$tmp/d.json" 2>/dev/null
                same "$tmp/json" "$tmp/d.json" "$name: poold --check-config --json stdout"
                "$POOLD" --check-config --quiet "$@" >"$tmp/d.q.out" 2>"$tmp/d.q.err"
                rc=$?
                [ "$rc" = "$want" ] || fail "$name: poold --check-config --quiet $* exited $rc, want $want"
                [ -s "$tmp/d.q.out" ] && fail "$name: poold --check-config --quiet wrote to stdout"
                same "$tmp/d.err" "$tmp/d.q.err" "$name: poold --check-config --quiet stderr"
        fi
}

# usage WANT PROGRAM ARGS...: exit status only (messages are getopt's).
status() {
        want=$1
        shift
        cases=$((cases + 1))
        "$@" >"$tmp/u.out" 2>"$tmp/u.err"
        rc=$?
        [ "$rc" = "$want" ] || { fail "$* exited $rc, want $want"; cat "$tmp/u.err"; }
        if [ "$want" = 2 ] && [ ! -s "$tmp/u.err" ]; then
                fail "$*: usage error without a message"
        fi
}

# --- the cases ---------------------------------------------------------------

# The corrected 512 GB split of DESIGN.md: 65G reserved, 110G/50G/230G/57G.
golden split-512g 0 check --config tests/conf/split-512g.conf
# The original mistake: all 512 GB given to pool minimums. Refused.
golden all-512g 1 check --config tests/conf/all-512g.conf
# Percentages, a fixed pool, capped pools and unassigned bytes, drop-ins.
golden dropins 0 check --config tests/conf/dropins.conf
# Syntax and value errors: every one reported with its file:line.
golden bad-keys 1 check --config tests/conf/bad-keys.conf
# A missing file.
golden missing 1 check --config tests/conf/missing.conf
# NUMA-bound pools on a planned two-node machine.
golden numa-2node 0 plan --total 256G --nodes 2 --config tests/conf/numa-2node.conf
# A bound pool that does not fit its node.
golden numa-overbound 1 plan --total 64G --nodes 2 --config tests/conf/numa-overbound.conf
# The default configuration shipped in conf/, planned at 64G with one node.
if [ -f conf/poold.conf ]; then
        golden default-64g 0 plan --total 64G --nodes 1 --config conf/poold.conf
else
        echo "SKIP: default-64g: conf/poold.conf does not exist yet"
fi

# The examples shipped in conf/examples (installed for operators to copy).
golden example-512g-host 0 check --config conf/examples/512g-host.conf
golden example-numa 0 plan --total 256G --nodes 2 --config conf/examples/numa.conf

# Every config in tests/conf has a case.
for f in tests/conf/*.conf; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .conf)
        case "$covered" in *" $n "*) ;; *) fail "$f has no case in $0" ;; esac
done

# Command lines: 0 for help and version, 2 for usage errors.
status 0 "$POOLCTL" --help
status 0 "$POOLCTL" --version
status 0 "$POOLCTL" check --help
status 0 "$POOLCTL" plan --help
status 0 "$POOLD" --help
status 0 "$POOLD" --version
status 2 "$POOLCTL"
status 2 "$POOLCTL" frobnicate
status 2 "$POOLCTL" --bogus check
status 2 "$POOLCTL" check --bogus
status 2 "$POOLCTL" check extra-argument
status 2 "$POOLCTL" check --total 64G
status 2 "$POOLCTL" plan
status 2 "$POOLCTL" plan --total 12Q
status 2 "$POOLCTL" plan --total 10%
status 2 "$POOLCTL" plan --total 0
status 2 "$POOLCTL" plan --total 64G --nodes 0
status 2 "$POOLCTL" plan --total 64G --nodes 2x
status 2 "$POOLD" --bogus
status 2 "$POOLD" --json
status 2 "$POOLD" --quiet
status 2 "$POOLD" --check-config --json --quiet
status 2 "$POOLCTL" check --json --quiet
status 2 "$POOLD" --check-config extra-argument

if [ "$update" = 1 ]; then
        echo "golden files rewritten: review with git diff tests/conf"
fi
echo "$cases cases, $failed failures"
[ "$failed" = 0 ]
