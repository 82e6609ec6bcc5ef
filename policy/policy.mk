# policy/policy.mk: included by the top-level Makefile.am (paths relative to the top).
# The pressure policy: PSI readers and triggers, and the pure shrink-ladder
# controller that turns signals into targets and actions.

libpoolcore_la_SOURCES += \
	policy/psi.c policy/psi.h

check_PROGRAMS += tests/check_psi tests/check_psi_trigger
TESTS += tests/check_psi tests/check_psi_trigger

tests_check_psi_SOURCES = tests/check_psi.c
tests_check_psi_CFLAGS = $(TEST_CFLAGS)
tests_check_psi_LDADD = $(TEST_LIBS)

tests_check_psi_trigger_SOURCES = tests/check_psi_trigger.c
tests_check_psi_trigger_CFLAGS = $(TEST_CFLAGS)
tests_check_psi_trigger_LDADD = $(TEST_LIBS)

# A directory in EXTRA_DIST is copied whole: every fixture file ships.
EXTRA_DIST += tests/fixtures/policy
