# daemon/pressure.mk: included by the top-level Makefile.am (paths relative to the top).
# The shrink ladder on the daemon's loop (daemon/pressure.c: PSI triggers,
# sampling timer, shrink notices and acks) and its event log.

libpoolcore_la_SOURCES += \
	daemon/pressure.c daemon/pressure.h \
	daemon/eventlog.c daemon/eventlog.h

check_PROGRAMS += tests/check_pressure tests/check_eventlog
TESTS += tests/check_pressure tests/check_eventlog
tests_check_pressure_SOURCES = tests/check_pressure.c
tests_check_pressure_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS)
tests_check_pressure_LDADD = $(TEST_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
tests_check_eventlog_SOURCES = tests/check_eventlog.c
tests_check_eventlog_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS)
tests_check_eventlog_LDADD = $(TEST_LIBS) $(JSONC_LIBS)
