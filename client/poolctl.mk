# client/poolctl.mk: included by the top-level Makefile.am (paths relative to the top).
# Host figures (meminfo, NUMA nodes), the report (table, JSON), the check path
# shared by poolctl and poold, poolctl itself, and their tests.

libpoolcore_la_SOURCES += \
	pools/meminfo.c pools/meminfo.h \
	pools/numa-topology.c pools/numa-topology.h \
	pools/report.c pools/report.h \
	client/checkcmd.c client/checkcmd.h \
	client/status.c client/status.h

# One file per verb: add client/poolctl-<verb>.c here and a line to verbs[]
# in client/poolctl.c.
bin_PROGRAMS += poolctl
poolctl_SOURCES = \
	client/poolctl.c client/poolctl.h \
	client/poolctl-check.c \
	client/poolctl-ctl.c \
	client/poolctl-events.c
poolctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
poolctl_LDADD = $(CORE_LIBS)

dist_man_MANS += man/poolctl.8

check_PROGRAMS += tests/check_meminfo tests/check_report tests/check_checkcmd
TESTS += tests/check_meminfo tests/check_report tests/check_checkcmd tests/golden.sh

tests_check_meminfo_SOURCES = tests/check_meminfo.c
tests_check_meminfo_CFLAGS = $(TEST_CFLAGS)
tests_check_meminfo_LDADD = $(TEST_LIBS)

tests_check_report_SOURCES = tests/check_report.c
tests_check_report_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS)
tests_check_report_LDADD = $(TEST_LIBS) $(JSONC_LIBS)

tests_check_checkcmd_SOURCES = tests/check_checkcmd.c
tests_check_checkcmd_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS)
tests_check_checkcmd_LDADD = $(TEST_LIBS) $(JSONC_LIBS)

# Golden files: tests/conf/NAME.conf -> `poolctl check` -> NAME.out (+ .err,
# .json); compared byte for byte by tests/golden.sh. After a deliberate
# change of the output: `make golden-update`, then review `git diff tests/conf`.
dist_noinst_SCRIPTS += tests/golden.sh
EXTRA_DIST += \
	tests/conf/split-512g.conf tests/conf/split-512g.out tests/conf/split-512g.json \
	tests/conf/all-512g.conf tests/conf/all-512g.out tests/conf/all-512g.err tests/conf/all-512g.json \
	tests/conf/dropins.conf tests/conf/dropins.out tests/conf/dropins.json \
	tests/conf/dropins.conf.d/10-kv.conf tests/conf/dropins.conf.d/20-scratch.conf \
	tests/conf/bad-keys.conf tests/conf/bad-keys.out tests/conf/bad-keys.err tests/conf/bad-keys.json \
	tests/conf/missing.out tests/conf/missing.err tests/conf/missing.json \
	tests/conf/numa-2node.conf tests/conf/numa-2node.out tests/conf/numa-2node.json \
	tests/conf/numa-overbound.conf tests/conf/numa-overbound.out tests/conf/numa-overbound.err \
	tests/conf/numa-overbound.json \
	tests/conf/default-64g.out tests/conf/default-64g.json \
	tests/conf/example-512g-host.out tests/conf/example-512g-host.json \
	tests/conf/example-numa.out tests/conf/example-numa.json \
	tests/fixtures/checkcmd/host.conf tests/fixtures/checkcmd/planned.conf \
	tests/fixtures/proc-good/meminfo \
	tests/fixtures/proc-minimal/meminfo \
	tests/fixtures/proc-long-line/meminfo \
	tests/fixtures/proc-no-memtotal/meminfo \
	tests/fixtures/proc-no-available/meminfo \
	tests/fixtures/proc-garbage/meminfo \
	tests/fixtures/proc-no-unit/meminfo \
	tests/fixtures/proc-mb-unit/meminfo \
	tests/fixtures/proc-negative/meminfo \
	tests/fixtures/proc-duplicate/meminfo \
	tests/fixtures/proc-overflow/meminfo

.PHONY: golden-update
golden-update: poolctl$(EXEEXT) poold$(EXEEXT)
	srcdir=$(srcdir) $(SHELL) $(srcdir)/tests/golden.sh --update

# poolctl status: the human table rendered from fixed status documents
# (tests/conf/status-*.json -> status-*.out), and the daemon verbs' argument
# errors (exit 2) and "not running" (exit 3).
check_PROGRAMS += tests/check_status
TESTS += tests/check_status tests/poolctl-ctl.sh
tests_check_status_SOURCES = tests/check_status.c
tests_check_status_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS)
tests_check_status_LDADD = $(TEST_LIBS) $(JSONC_LIBS)
dist_noinst_SCRIPTS += tests/poolctl-ctl.sh
EXTRA_DIST += \
	tests/conf/status-cgroupfs.json tests/conf/status-cgroupfs.out \
	tests/conf/status-warnings.json tests/conf/status-warnings.out \
	tests/conf/status-pressure.json tests/conf/status-pressure.out
