# tests/vm/progs.mk: included by the top-level Makefile.am (paths relative to the top).
#
# Programs that VM scenarios run from the build tree: the guest sees the
# host's paths, so $VMTEST_BUILDDIR/tests/vm/PROG works there as it does
# here (the way scenarios already run tests/cgtool). They are noinst: built
# by a plain `make`, never installed, so `make install` ships nothing a user
# does not need and the scenario still finds them.

# Where a libpoold pool's pages land under each NUMA policy
# (scenarios/libpoold-numa.sh). Linked against libpoold.la, the shared
# library as an application gets it (libtool's wrapper finds the build's
# copy), and libnuma for move_pages(2).
noinst_PROGRAMS += tests/vm/numa-place
tests_vm_numa_place_SOURCES = tests/vm/numa-place.c
tests_vm_numa_place_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS)
tests_vm_numa_place_LDADD = libpoold.la $(NUMA_LIBS)
