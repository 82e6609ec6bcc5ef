# policy/policy.mk: included by the top-level Makefile.am (paths relative to the top).
# The pressure policy: PSI readers and triggers, and the pure shrink-ladder
# controller that turns signals into targets and actions.

libpoolcore_la_SOURCES += \
	policy/psi.c policy/psi.h \
	policy/controller.c policy/controller.h \
	policy/signals.c policy/signals.h

check_PROGRAMS += tests/check_psi tests/check_psi_trigger tests/check_controller tests/check_signals
TESTS += tests/check_psi tests/check_psi_trigger tests/check_controller tests/check_signals

tests_check_signals_SOURCES = tests/check_signals.c
tests_check_signals_CFLAGS = $(TEST_CFLAGS)
tests_check_signals_LDADD = $(TEST_LIBS)

tests_check_controller_SOURCES = tests/check_controller.c
tests_check_controller_CFLAGS = $(TEST_CFLAGS)
tests_check_controller_LDADD = $(TEST_LIBS)

tests_check_psi_SOURCES = tests/check_psi.c
tests_check_psi_CFLAGS = $(TEST_CFLAGS)
tests_check_psi_LDADD = $(TEST_LIBS)

tests_check_psi_trigger_SOURCES = tests/check_psi_trigger.c
tests_check_psi_trigger_CFLAGS = $(TEST_CFLAGS)
tests_check_psi_trigger_LDADD = $(TEST_LIBS)

# Helpers for tests/vm/scenarios/psi-trigger.sh: built with the tree (not
# installed) so the guest finds them in the build dir it shares.
noinst_PROGRAMS += tests/psi-tool tests/psi-hog
tests_psi_tool_SOURCES = tests/psi-tool.c
tests_psi_tool_CFLAGS = $(AM_CFLAGS)
tests_psi_tool_LDADD = $(CORE_LIBS)
tests_psi_hog_SOURCES = tests/psi-hog.c

EXTRA_DIST += tests/vm/scenarios/psi-trigger.sh

# A directory in EXTRA_DIST is copied whole: every fixture file ships.
EXTRA_DIST += tests/fixtures/policy

# libFuzzer target for the pressure-file parser, pools/psi-parse.c (configure --enable-fuzzing
# with CC=clang); the corpus holds recorded and hand-made files.
EXTRA_DIST += tests/fuzz/corpus_psi
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_psi
tests_fuzz_fuzz_psi_SOURCES = tests/fuzz/fuzz_psi.c pools/psi-parse.c
tests_fuzz_fuzz_psi_CFLAGS = -std=c11 $(WARN_CFLAGS) -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
tests_fuzz_fuzz_psi_LDFLAGS = -fsanitize=fuzzer,address,undefined
endif
