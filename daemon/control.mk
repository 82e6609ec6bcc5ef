# daemon/control.mk: included by the top-level Makefile.am (paths relative to the top).
# The control socket: wire protocol (pure), peer credentials, the server on
# sd-event, and the client side used by poolctl and libpoold.

libpoolcore_la_SOURCES += \
	daemon/protocol.c daemon/protocol.h \
	daemon/peer.c daemon/peer.h \
	daemon/control.c daemon/control.h \
	client/ctl-client.c client/ctl-client.h

CONTROL_TEST_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS)

check_PROGRAMS += tests/check_protocol tests/check_control
TESTS += tests/check_protocol tests/check_control

tests_check_protocol_SOURCES = tests/check_protocol.c
tests_check_protocol_CFLAGS = $(CONTROL_TEST_CFLAGS)
tests_check_protocol_LDADD = $(TEST_LIBS) $(JSONC_LIBS)

tests_check_control_SOURCES = tests/check_control.c
tests_check_control_CFLAGS = $(CONTROL_TEST_CFLAGS)
tests_check_control_LDADD = $(TEST_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

# The client half must build from its two files with json-c alone, so
# libpoold can compile them in: this program proves it on every build.
check_PROGRAMS += tests/test_ctl_client_standalone
TESTS += tests/test_ctl_client_standalone
tests_test_ctl_client_standalone_SOURCES = \
	tests/test_ctl_client_standalone.c \
	client/ctl-client.c daemon/protocol.c
tests_test_ctl_client_standalone_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_test_ctl_client_standalone_LDADD = $(JSONC_LIBS)

EXTRA_DIST += docs/protocol.md
