# pools/model.mk: included by the top-level Makefile.am (paths relative to the top).
# The pool model: sizes, NUMA node sets, poold.conf (inih) and the budget.

libpoolcore_la_SOURCES += \
	pools/size.c pools/size.h \
	pools/nodeset.c pools/nodeset.h \
	pools/config.c pools/config.h \
	pools/budget.c pools/budget.h

check_PROGRAMS += tests/check_size tests/check_nodeset tests/check_config tests/check_budget
TESTS += tests/check_size tests/check_nodeset tests/check_config tests/check_budget

tests_check_size_SOURCES = tests/check_size.c
tests_check_size_CFLAGS = $(TEST_CFLAGS)
tests_check_size_LDADD = $(TEST_LIBS)

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
