# daemon/daemon.mk: included by the top-level Makefile.am (paths relative to the top).
# poold: a small main (daemon/poold.c) over the manager (daemon/manager.c:
# config, budget, cgroup driver, control verbs, signals, stats on sd-event).
# --check-config goes through client/checkcmd.c, the same path as
# `poolctl check`.

libpoolcore_la_SOURCES += daemon/manager.c daemon/manager.h

sbin_PROGRAMS += poold
poold_SOURCES = daemon/poold.c
poold_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(JSONC_CFLAGS)
poold_LDADD = $(CORE_LIBS) $(LIBSYSTEMD_LIBS) $(JSONC_LIBS)

dist_man_MANS += man/poold.8

# poold on this host's real cgroup v1 hierarchy (skips elsewhere).
TESTS += tests/host/poold-cgroupfs.sh
EXTRA_DIST += tests/host/poold-cgroupfs.sh

check_PROGRAMS += tests/check_manager
TESTS += tests/check_manager
tests_check_manager_SOURCES = tests/check_manager.c
tests_check_manager_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS)
tests_check_manager_LDADD = $(TEST_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
