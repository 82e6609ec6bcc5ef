# systemd/systemd.mk: units and their companions (included by Makefile.am).

systemdsystemunit_DATA = systemd/poold.service
dist_systemdsystemunit_DATA = systemd/poold.slice
tmpfilesdir = $(prefix)/lib/tmpfiles.d
dist_tmpfiles_DATA = systemd/tmpfiles.d/poold.conf
sysusersdir = $(prefix)/lib/sysusers.d
dist_sysusers_DATA = systemd/sysusers.d/poold.conf

EXTRA_DIST += systemd/poold.service.in
CLEANFILES += systemd/poold.service

# The unit names the binary and config where this build installs them.
systemd/poold.service: systemd/poold.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed \
		-e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(srcdir)/systemd/poold.service.in > $@.tmp && mv $@.tmp $@
