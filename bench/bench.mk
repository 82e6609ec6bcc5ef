# bench/bench.mk: included by the top-level Makefile.am (paths relative to the top).

# poold's idle CPU and RSS and `poolctl status` latency with 64 pools, on
# this kind of host (root, cgroup v1 memory, cgroupfs driver under a private
# CgroupRoot; skips otherwise). `make bench-daemon` from a build directory;
# figures go to bench/RESULTS.md.
EXTRA_DIST += bench/bench-daemon.sh
bench-daemon: poold$(EXEEXT) poolctl$(EXEEXT) tests/cgtool$(EXEEXT)
	srcdir=$(abs_top_srcdir) $(SHELL) $(srcdir)/bench/bench-daemon.sh
.PHONY: bench-daemon
