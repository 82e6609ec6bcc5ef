# tests/vm/vm.mk: included by the top-level Makefile.am (paths relative to the top).
#
# `make check-vm` installs the build into a DESTDIR inside the build tree,
# then boots one QEMU guest per scenario (systemd as PID 1, cgroup v2, two
# NUMA nodes) with that DESTDIR overlaid on the host's root. See
# tests/vm/README.md. Exits 77 where QEMU or a kernel is missing.
#   make check-vm VM_SCENARIOS=tests/vm/scenarios/guest-env.sh   one scenario
#   make check-vm VM_JOBS=2          guests at once (default: half the CPUs)

VMTEST_BUILDDIR = $(abs_top_builddir)/tests/vm/build
VMTEST_DESTDIR = $(VMTEST_BUILDDIR)/destdir
VM_SCENARIOS =
VM_JOBS =

# The install's output goes to tests/vm/build/install.log (shown if it fails)
# so that the scenario lines stay readable.
# Without QEMU, a kernel or busybox-static, run-all says what is missing and
# exits 77 (make then stops with "Error 77").
check-vm:
	@bash $(top_srcdir)/tests/vm/run-all --check
	@rm -rf $(VMTEST_DESTDIR) && mkdir -p $(VMTEST_BUILDDIR)
	@echo "check-vm: make install DESTDIR=$(VMTEST_DESTDIR)"
	@$(MAKE) $(AM_MAKEFLAGS) install DESTDIR=$(VMTEST_DESTDIR) >$(VMTEST_BUILDDIR)/install.log 2>&1 || \
		{ cat $(VMTEST_BUILDDIR)/install.log; exit 1; }
	@bash $(top_srcdir)/tests/vm/run-all --jobs "$(VM_JOBS)" \
		--srcdir $(abs_top_srcdir) --builddir $(abs_top_builddir) \
		--destdir $(VMTEST_DESTDIR) --prefix $(prefix) --bindir $(bindir) \
		--sbindir $(sbindir) --sysconfdir $(sysconfdir) \
		--unitdir $(systemdsystemunitdir) $(VM_SCENARIOS)

# The initramfs, the DESTDIR and the per-run directories (console logs).
clean-vm:
	rm -rf $(VMTEST_BUILDDIR)

# Only a prerequisite, no recipe: it adds to any other clean-local rule.
clean-local: clean-vm

.PHONY: check-vm clean-vm

# Whole directories, so scenarios added by anyone are shipped.
EXTRA_DIST += \
	tests/vm/README.md \
	tests/vm/packages.txt \
	tests/vm/common.sh \
	tests/vm/guest-wrapper \
	tests/vm/initramfs-init \
	tests/vm/lib.sh \
	tests/vm/run-all \
	tests/vm/run-scenario \
	tests/vm/scenarios \
	tests/vm/selftest
