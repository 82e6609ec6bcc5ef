# shellcheck shell=bash
# Helpers for VM scenarios. guest-wrapper sources this file and then the
# scenario, in one bash with `set -euo pipefail`, as root, in the guest.
#
# Exit codes: 0 pass, 77 skip, anything else fail.
# Environment (all absolute paths as the guest sees them, which are the
# host's own paths):
#   VMTEST_SRCDIR VMTEST_BUILDDIR   the project's source and build trees
#   VMTEST_PREFIX VMTEST_BINDIR VMTEST_SBINDIR VMTEST_SYSCONFDIR VMTEST_UNITDIR
#                                   where `make install` put things; the
#                                   installed files appear at these paths
#   VMTEST_DESTDIR                  the host's DESTDIR overlaid on / (for
#                                   messages; do not read files through it)
#   VMTEST_NODES VMTEST_MEM VMTEST_CPUS   the guest's shape (MiB for MEM)
#   VMTEST_TMPDIR                   scratch dir, empty at start
#   VMTEST_RESULTS                  the results share (rc, scenario.log)
#   VMTEST_NAME                     e.g. scenarios/guest-env

# vm_log MSG...: a line in the scenario's output.
vm_log() {
	printf '%s\n' "$*"
}

# vm_fail MSG...: fail the scenario with a reason.
vm_fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}

# vm_skip REASON...: skip the scenario (exit 77); the reason is what
# run-all prints next to SKIP.
vm_skip() {
	printf 'SKIP: %s\n' "$*"
	printf '%s\n' "$*" >"$VMTEST_RESULTS/skip-reason"
	exit 77
}

# vm_require_cmd CMD...: skip unless every CMD is on PATH or executable.
vm_require_cmd() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || vm_skip "$c is not installed"
	done
}

# vm_run CMD...: log the command line, then run it (its status is returned).
vm_run() {
	printf '+ %s\n' "$*"
	"$@"
}

# vm_wait_for SECONDS DESCRIPTION CMD...: run CMD every 0.1 s until it
# succeeds; fail with DESCRIPTION if it has not after SECONDS (may be
# fractional). Prints how long it took.
vm_wait_for() {
	local limit=$1 what=$2 start now limit_ns
	shift 2
	limit_ns=$(vm__ns "$limit")
	start=$(date +%s%N)
	while :; do
		if "$@" >/dev/null 2>&1; then
			now=$(date +%s%N)
			vm_log "ok: $what (after $(((now - start) / 1000000)) ms)"
			return 0
		fi
		now=$(date +%s%N)
		if ((now - start >= limit_ns)); then
			vm_fail "timed out after $limit s waiting for: $what"
		fi
		sleep 0.1
	done
}

# Seconds (a decimal) to nanoseconds. "%.0f", not "%d": mawk's %d stops at
# 2^31-1, which made every limit over 2.1 s a limit of 2.1 s.
vm__ns() {
	awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e9 }'
}

# vm_assert_eq ACTUAL EXPECTED DESCRIPTION
vm_assert_eq() {
	[[ $1 == "$2" ]] || vm_fail "$3: expected '$2', got '$1'"
	vm_log "ok: $3 = '$1'"
}

# vm_assert_file_content FILE EXPECTED: FILE holds exactly EXPECTED (one
# trailing newline ignored, as $(cat) does).
vm_assert_file_content() {
	[[ -r $1 ]] || vm_fail "$1: cannot read"
	local got
	got=$(<"$1")
	[[ $got == "$2" ]] || vm_fail "$1: expected '$2', got '$got'"
	vm_log "ok: $1 = '$got'"
}

# vm_assert_file_matches FILE ERE: some line of FILE matches ERE (grep -E).
vm_assert_file_matches() {
	[[ -r $1 ]] || vm_fail "$1: cannot read"
	grep -Eq -- "$2" "$1" || vm_fail "$1: no line matches /$2/ (content: $(head -c 400 "$1"))"
	vm_log "ok: $1 matches /$2/"
}

# vm_cgroup_read CGROUP FILE: print a cgroup v2 value; CGROUP is relative
# to /sys/fs/cgroup ("" or "/" for the root), e.g.
#   vm_cgroup_read poold.slice/poold-data.slice memory.max
vm_cgroup_read() {
	local path=/sys/fs/cgroup/${1#/}
	path=${path%/}/$2
	[[ -r $path ]] || vm_fail "cannot read $path"
	cat "$path"
}
