# daemon/daemon.mk: included by the top-level Makefile.am (paths relative to the top).
