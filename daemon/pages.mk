# daemon/pages.mk: included by the top-level Makefile.am (paths relative to the top).
# The daemon's budget pages (one memfd per pool) and the "open" verb that
# hands them to libpoold clients.

libpoolcore_la_SOURCES += daemon/pages.c daemon/pages.h

check_PROGRAMS += tests/check_pages
TESTS += tests/check_pages
tests_check_pages_SOURCES = tests/check_pages.c
tests_check_pages_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS)
tests_check_pages_LDADD = $(TEST_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
