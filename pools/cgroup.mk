# pools/cgroup.mk: included by the top-level Makefile.am (paths relative to the top).
# Enforcement: the cgroup driver interface, its systemd (sd-bus) and cgroupfs
# (libcgroup) drivers, hierarchy detection, and cgroup memory statistics
# (with the pressure-file parser, pure, also used by policy/psi.c).

libpoolcore_la_SOURCES += \
	pools/cgroup.c pools/cgroup.h pools/cgroup-internal.h \
	pools/cgroup-detect.c pools/cgroup-detect.h \
	pools/cgroup-errno.c pools/cgroup-errno.h \
	pools/cgroup-util.c pools/cgroup-util.h \
	pools/cgroup-cgroupfs.c \
	pools/cgroup-systemd.c \
	pools/cgstat.c pools/cgstat.h \
	pools/psi-parse.c pools/psi-parse.h

CGROUP_TEST_CFLAGS = $(TEST_CFLAGS) $(LIBCGROUP_CFLAGS) $(LIBSYSTEMD_CFLAGS)
CGROUP_TEST_LIBS = $(TEST_LIBS) $(LIBCGROUP_LIBS) $(LIBSYSTEMD_LIBS) -lpthread

check_PROGRAMS += tests/check_cgstat tests/check_cgroup
TESTS += tests/check_cgstat tests/check_cgroup

tests_check_cgstat_SOURCES = tests/check_cgstat.c
tests_check_cgstat_CFLAGS = $(CGROUP_TEST_CFLAGS)
tests_check_cgstat_LDADD = $(CGROUP_TEST_LIBS)

tests_check_cgroup_SOURCES = tests/check_cgroup.c
tests_check_cgroup_CFLAGS = $(CGROUP_TEST_CFLAGS)
tests_check_cgroup_LDADD = $(CGROUP_TEST_LIBS)

# cgtool: drives one cgroup driver from the command line; used by the host
# and VM tests (and handy by hand). Not installed.
noinst_PROGRAMS += tests/cgtool
tests_cgtool_SOURCES = tests/cgtool.c
tests_cgtool_CFLAGS = $(AM_CFLAGS)
tests_cgtool_LDADD = $(CORE_LIBS)

# Host integration: real cgroups on this machine (root, cgroup v1 memory);
# skips (77) elsewhere.
TESTS += tests/host/cgroupfs-v1.sh
EXTRA_DIST += tests/host/cgroupfs-v1.sh tests/host/lib-cgroup.sh

EXTRA_DIST += \
	tests/fixtures/cgroup-v1 \
	tests/fixtures/cgroup-v2

# The VM scenarios tests/vm/scenarios/cgroup-*.sh ship with tests/vm (vm.mk).
