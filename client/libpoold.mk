# client/libpoold.mk: included by the top-level Makefile.am (paths relative to the top).

# libpoold is built in two steps: every source goes into a convenience
# library, which the tests link so they reach the internals; the installed
# libpoold.so wraps it and exports only the API of poold.h (libpoold.sym).
# It links jemalloc, json-c and pthreads only: not libpoolcore, whose
# libcgroup and sd-bus have no business in client processes. The control
# socket's client (ctl-client.c, protocol.c: libc and json-c only) is
# compiled in for pools opened through poold.
# -fno-plt: pool_malloc() calls mallocx() through the GOT, one indirect
# jump fewer per allocation.
noinst_LTLIBRARIES += libpoold-internal.la
libpoold_internal_la_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS) $(JSONC_CFLAGS) -pthread -fno-plt
libpoold_internal_la_LIBADD = $(JEMALLOC_LIBS) $(JSONC_LIBS) -lpthread
libpoold_internal_la_SOURCES = \
	client/poold.h \
	client/libpoold/pool-internal.h \
	client/libpoold/budget-page.c client/libpoold/budget-page.h \
	client/libpoold/arena.c client/libpoold/arena.h \
	client/libpoold/front.c client/libpoold/front.h \
	client/libpoold/pool.c \
	client/libpoold/shrink.c \
	client/libpoold/connection.c \
	client/libpoold/cache.c \
	client/ctl-client.c client/ctl-client.h \
	daemon/protocol.c daemon/protocol.h

lib_LTLIBRARIES += libpoold.la
libpoold_la_SOURCES =
libpoold_la_LIBADD = libpoold-internal.la
libpoold_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-Wl,--version-script=$(top_srcdir)/client/libpoold/libpoold.sym
EXTRA_libpoold_la_DEPENDENCIES = client/libpoold/libpoold.sym
EXTRA_DIST += client/libpoold/libpoold.sym

# Installed as <poold/poold.h>.
pooldincludedir = $(includedir)/poold
pooldinclude_HEADERS = client/poold.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = client/libpoold.pc

dist_man_MANS += man/libpoold.3

# The budget page's layout and accounting are the daemon's too.
libpoolcore_la_SOURCES += client/libpoold/budget-page.c client/libpoold/budget-page.h

# The example a user copies: built so it keeps compiling, against the
# header laid out as installed (<poold/poold.h>).
noinst_PROGRAMS += client/examples/cache-example
client_examples_cache_example_SOURCES = client/examples/cache-example.c
client_examples_cache_example_CPPFLAGS = $(AM_CPPFLAGS) -I$(builddir)/client/include
client_examples_cache_example_LDADD = libpoold.la
client/examples/cache_example-cache-example.$(OBJEXT): client/include/poold/poold.h
client/include/poold/poold.h: $(top_srcdir)/client/poold.h
	$(AM_V_GEN)$(MKDIR_P) client/include/poold && cp $(top_srcdir)/client/poold.h $@
CLEANFILES += client/include/poold/poold.h

LIBPOOLD_TEST_CFLAGS = $(TEST_CFLAGS) $(JEMALLOC_CFLAGS) $(JSONC_CFLAGS) -I$(top_srcdir)/client/libpoold -pthread
LIBPOOLD_TEST_LIBS = libpoold-internal.la $(CHECK_LIBS) $(JSONC_LIBS) -lpthread

check_PROGRAMS += tests/check_budget_page tests/check_arena tests/check_cache tests/check_front
TESTS += tests/check_budget_page tests/check_arena tests/check_cache tests/check_front
tests_check_budget_page_SOURCES = tests/check_budget_page.c
tests_check_budget_page_CFLAGS = $(LIBPOOLD_TEST_CFLAGS)
tests_check_budget_page_LDADD = $(LIBPOOLD_TEST_LIBS)
tests_check_front_SOURCES = tests/check_front.c tests/libpoold-test.h
tests_check_front_CFLAGS = $(LIBPOOLD_TEST_CFLAGS)
tests_check_front_LDADD = $(LIBPOOLD_TEST_LIBS)
tests_check_arena_SOURCES = tests/check_arena.c tests/libpoold-test.h
tests_check_arena_CFLAGS = $(LIBPOOLD_TEST_CFLAGS)
tests_check_arena_LDADD = $(LIBPOOLD_TEST_LIBS)
tests_check_cache_SOURCES = tests/check_cache.c
tests_check_cache_CFLAGS = $(LIBPOOLD_TEST_CFLAGS)
tests_check_cache_LDADD = $(LIBPOOLD_TEST_LIBS)

# A pool opened through poold: a real control server with pages_verb_open
# (libpoolcore) in the test process, the client the installed libpoold.so
# (its internals, compiled into both, stay out of each other's way).
check_PROGRAMS += tests/check_pool_daemon
TESTS += tests/check_pool_daemon
tests_check_pool_daemon_SOURCES = tests/check_pool_daemon.c
tests_check_pool_daemon_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS)
tests_check_pool_daemon_LDADD = libpoold.la $(TEST_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

# Benchmarks link the installed form, libpoold.so, as a user would; the
# baselines call jemalloc and glibc directly.
noinst_PROGRAMS += bench/bench_alloc bench/bench_shrink
bench_bench_alloc_SOURCES = bench/bench_alloc.c
bench_bench_alloc_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS) -pthread
bench_bench_alloc_LDADD = libpoold.la $(JEMALLOC_LIBS) -lpthread -lm
bench_bench_shrink_SOURCES = bench/bench_shrink.c
bench_bench_shrink_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS) -pthread
bench_bench_shrink_LDADD = libpoold.la $(JEMALLOC_LIBS) -lpthread

# poolctl status's LIBPOOLD table (tests/check_status.c).
EXTRA_DIST += tests/conf/status-arena.json tests/conf/status-arena.out

# A libpoold client as an application links it (libpoold.so, <poold.h>
# only), driven by the host test against a real poold: two processes
# sharing a pool, ENOMEM at Max, a lowered target shrinking them, the charge
# of a killed one given back (skips, 77, unless root on cgroup v1).
check_PROGRAMS += tests/libpoold-tool
tests_libpoold_tool_SOURCES = tests/libpoold-tool.c
tests_libpoold_tool_LDADD = libpoold.la
TESTS += tests/host/libpoold-poold.sh
EXTRA_DIST += tests/host/libpoold-poold.sh
