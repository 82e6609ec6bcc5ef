# daemon/daemon.mk: included by the top-level Makefile.am (paths relative to the top).
# poold's main. For now it only checks the configuration (--check-config),
# through client/checkcmd.c in libpoolcore, the same path as `poolctl check`.

sbin_PROGRAMS += poold
poold_SOURCES = daemon/poold.c
poold_CFLAGS = $(AM_CFLAGS)
poold_LDADD = $(CORE_LIBS)

dist_man_MANS += man/poold.8
