# pools/model.mk: included by the top-level Makefile.am (paths relative to the top).
# The pool model: sizes, NUMA node sets, poold.conf (inih) and the budget.

libpoolcore_la_SOURCES += \
	pools/size.c pools/size.h \
	pools/duration.c pools/duration.h \
	pools/nodeset.c pools/nodeset.h \
	pools/config.c pools/config.h \
	pools/budget.c pools/budget.h

check_PROGRAMS += tests/check_size tests/check_duration tests/check_nodeset tests/check_config tests/check_budget
TESTS += tests/check_size tests/check_duration tests/check_nodeset tests/check_config tests/check_budget

tests_check_size_SOURCES = tests/check_size.c
tests_check_size_CFLAGS = $(TEST_CFLAGS)
tests_check_size_LDADD = $(TEST_LIBS)

tests_check_duration_SOURCES = tests/check_duration.c
tests_check_duration_CFLAGS = $(TEST_CFLAGS)
tests_check_duration_LDADD = $(TEST_LIBS)

tests_check_nodeset_SOURCES = tests/check_nodeset.c
tests_check_nodeset_CFLAGS = $(TEST_CFLAGS)
tests_check_nodeset_LDADD = $(TEST_LIBS)

tests_check_config_SOURCES = tests/check_config.c
tests_check_config_CFLAGS = $(TEST_CFLAGS)
tests_check_config_LDADD = $(TEST_LIBS)

tests_check_budget_SOURCES = tests/check_budget.c
tests_check_budget_CFLAGS = $(TEST_CFLAGS)
tests_check_budget_LDADD = $(TEST_LIBS)

# The default config (installed as /etc/poold/poold.conf) and the examples;
# tests/check_config and tests/check_budget load them from the source tree.
poolconfdir = $(sysconfdir)/poold
dist_poolconf_DATA = conf/poold.conf
poolexamplesdir = $(docdir)/examples
dist_poolexamples_DATA = conf/examples/512g-host.conf conf/examples/numa.conf

# libFuzzer target for the config parser, validation and budget
# (configure --enable-fuzzing with CC=clang). The model's sources are built
# into it with the fuzzer's coverage instrumentation; libpoolcore is not.
EXTRA_DIST += tests/fuzz/corpus_config/default.conf tests/fuzz/corpus_config/512g-host.conf \
	tests/fuzz/corpus_config/512g-refused.conf tests/fuzz/corpus_config/numa.conf \
	tests/fuzz/corpus_config/numa-bind.conf tests/fuzz/corpus_config/errors.conf \
	tests/fuzz/corpus_config/bom-crlf.conf
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c \
	pools/size.c pools/duration.c pools/nodeset.c pools/config.c pools/budget.c pools/diag.c pools/log.c
tests_fuzz_fuzz_config_CFLAGS = -std=c11 $(WARN_CFLAGS) $(INIH_CFLAGS) -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_config_LDADD = $(INIH_LIBS)
endif

# Benchmark of the budget engine (results in bench/RESULTS.md).
noinst_PROGRAMS += bench/bench_budget
bench_bench_budget_SOURCES = bench/bench_budget.c
bench_bench_budget_LDADD = $(CORE_LIBS)

dist_man_MANS += man/poold.conf.5
