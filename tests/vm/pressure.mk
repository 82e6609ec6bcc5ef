# tests/vm/pressure.mk: included by the top-level Makefile.am (paths relative to the top).
#
# Programs of the pressure scenario (tests/vm/scenarios/pressure-shrink.sh),
# run uninstalled from the build tree ($VMTEST_BUILDDIR/tests/vm/...: the
# guest sees the host's filesystem). noinst, so `make` (and `make install`,
# which check-vm runs) builds them.
#   model-alloc     the model: allocates a lot at once, times the watermark crossing
#   shrink-client   a cache in a pool that frees memory on poold's shrink events
#
# Never sanitized: ASan's shadow memory (1/8 of what is touched) and its
# reserved address space would change the very figures the scenario
# measures. Hence their own CFLAGS/LDFLAGS without $(SANITIZER_*).

noinst_PROGRAMS += tests/vm/model-alloc tests/vm/shrink-client

tests_vm_model_alloc_SOURCES = tests/vm/model-alloc.c
tests_vm_model_alloc_CFLAGS = -std=c11 $(WARN_CFLAGS)
tests_vm_model_alloc_LDFLAGS =

tests_vm_shrink_client_SOURCES = tests/vm/shrink-client.c
tests_vm_shrink_client_CFLAGS = -std=c11 $(WARN_CFLAGS) $(JSONC_CFLAGS)
tests_vm_shrink_client_LDFLAGS =
tests_vm_shrink_client_LDADD = $(JSONC_LIBS)

# The libpoold runs of pressure-shrink.sh hold the data pool's memory with
# tests/libpoold-tool, a check program (client/libpoold.mk) that neither
# `make` nor `make install` builds: check-vm builds it first.
check-vm: tests/libpoold-tool$(EXEEXT)
