# shellcheck shell=bash
# Host-side functions shared by run-scenario and run-all (sourced, bash).
#
# Nothing here writes outside the build tree: the initramfs, its staging
# directory and every run directory live under $VMTEST_BUILD
# (<builddir>/tests/vm/build).

VMTEST_QEMU=${VMTEST_QEMU:-qemu-system-x86_64}
# Modules the initramfs loads, in dependency order (PITFALLS.md, "The VM").
VMTEST_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay"
# Bumped when the initramfs layout changes, so old images are rebuilt.
VMTEST_INITRAMFS_FORMAT=1

vm_die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# Picks the kernel: $VMTEST_KERNEL if set, else the newest /boot/vmlinuz-*
# whose /lib/modules/<version>/kernel exists (the host may run another
# kernel than the one installed for the guest). Sets vm_kernel, vm_kver.
vm_find_kernel() {
	vm_kernel='' vm_kver=''
	if [[ -n ${VMTEST_KERNEL:-} ]]; then
		vm_kernel=$VMTEST_KERNEL
		vm_kver=${VMTEST_KVER:-${VMTEST_KERNEL##*/vmlinuz-}}
		return 0
	fi
	local k v
	while IFS= read -r k; do
		v=${k##*/vmlinuz-}
		if [[ -d /lib/modules/$v/kernel ]]; then
			vm_kernel=$k vm_kver=$v
		fi
	done < <(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V)
	[[ -n $vm_kernel ]]
}

# Prints what is missing to run a guest, one item a line; prints nothing
# when everything is there. Sets vm_kernel and vm_kver as a side effect.
vm_missing() {
	command -v "$VMTEST_QEMU" >/dev/null ||
		echo "QEMU: $VMTEST_QEMU not found (Debian package qemu-system-x86)"
	if ! vm_find_kernel; then
		echo "kernel: no /boot/vmlinuz-VERSION with /lib/modules/VERSION/kernel (Debian package linux-image-amd64), or set VMTEST_KERNEL"
	elif [[ ! -r $vm_kernel ]]; then
		echo "kernel: $vm_kernel is not readable"
	elif [[ ! -d /lib/modules/$vm_kver/kernel ]]; then
		echo "kernel modules: /lib/modules/$vm_kver/kernel not found (set VMTEST_KVER?)"
	else
		local m
		for m in $VMTEST_MODULES; do
			[[ -n $(vm_module_file "$m") ]] ||
				echo "kernel module: $m not found under /lib/modules/$vm_kver/kernel"
		done
	fi
	local busybox=${VMTEST_BUSYBOX:-/bin/busybox}
	if [[ ! -x $busybox ]]; then
		echo "busybox: $busybox not found (Debian package busybox-static)"
	elif ldd "$busybox" >/dev/null 2>&1; then
		echo "busybox: $busybox is dynamically linked (install busybox-static)"
	fi
	command -v cpio >/dev/null || echo "cpio: not found (Debian package cpio)"
	[[ -x /lib/systemd/systemd ]] || echo "systemd: /lib/systemd/systemd not found (Debian package systemd)"
	return 0
}

vm_module_file() {
	find "/lib/modules/$vm_kver/kernel" -name "$1.ko" -o -name "$1.ko.*" 2>/dev/null | head -n 1
}

# Builds $VMTEST_BUILD/initramfs-<kver>.cpio from busybox, the modules and
# initramfs-init, unless the inputs are unchanged. Prints its path.
vm_build_initramfs() {
	local out=$VMTEST_BUILD/initramfs-$vm_kver.cpio
	local busybox=${VMTEST_BUSYBOX:-/bin/busybox}
	local init=$VMTEST_HARNESSDIR/initramfs-init
	local stamp m f
	local -a files=()
	for m in $VMTEST_MODULES; do
		files+=("$(vm_module_file "$m")")
	done
	stamp=$({
		echo "format $VMTEST_INITRAMFS_FORMAT kver $vm_kver"
		stat -L -c '%n %s %Y' "$busybox" "${files[@]}"
		sha256sum <"$init"
	})
	if [[ -f $out && -f $out.stamp && $(<"$out.stamp") == "$stamp" ]]; then
		echo "$out"
		return 0
	fi

	local stage=$VMTEST_BUILD/initramfs.stage.$$
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,modules,newroot,hostroot,destdir,results,rw}
	ln -s bin "$stage/sbin"
	cp "$busybox" "$stage/bin/busybox"
	local applet
	for applet in $("$busybox" --list); do
		[[ $applet == busybox ]] || ln -s busybox "$stage/bin/$applet"
	done
	install -m 0755 "$init" "$stage/init"
	: >"$stage/modules/order"
	for f in "${files[@]}"; do
		m=${f##*/}
		# busybox insmod reads plain .ko only.
		case $f in
		*.ko) cp "$f" "$stage/modules/$m" ;;
		*.ko.xz) m=${m%.xz}; xz -dc "$f" >"$stage/modules/$m" ;;
		*.ko.zst) m=${m%.zst}; zstd -qdc "$f" >"$stage/modules/$m" ;;
		*.ko.gz) m=${m%.gz}; gzip -dc "$f" >"$stage/modules/$m" ;;
		*) vm_die "unknown module format: $f" ;;
		esac
		echo "$m" >>"$stage/modules/order"
	done
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out.tmp.$$" ||
		vm_die "cpio failed"
	rm -rf "$stage"
	mv -f "$out.tmp.$$" "$out"
	printf '%s\n' "$stamp" >"$out.stamp"
	echo "$out"
}

# The destdir is overlaid on the host's root, so a top-level directory in
# it hides whatever the host has at that path. `make install` with a unit
# dir of /lib/systemd/system creates a real DESTDIR/lib, which on a
# merged-/usr host (/lib -> usr/lib) would hide the whole of /usr/lib in the
# guest, libc included. Move such directories to where the host's symlink
# points. Idempotent.
vm_normalize_destdir() {
	local destdir=$1 d rel target changed=1
	[[ -d $destdir ]] || return 0
	while ((changed)); do
		changed=0
		while IFS= read -r d; do
			rel=${d#"$destdir"}
			if [[ -L $rel && -d $rel ]]; then
				target=$(readlink -f "$rel")
				mkdir -p "$destdir$target"
				cp -a "$d/." "$destdir$target/"
				rm -rf "$d"
				changed=1
				break
			fi
		done < <(find "$destdir" -mindepth 1 -type d)
	done
}

# Libraries in the destdir are not in the host's ld.so.cache, and ldconfig
# in the guest takes 20-40 s under TCG (it reads every library over 9p).
# Builds, in DIR, an ld.so.cache that lists the destdir's libraries at the
# paths the guest sees: `ldconfig -r` chroots into a copy of just those
# libraries (so it writes nothing outside DIR, not even its aux cache).
# Everything else is found in the system search path (/lib/x86_64-linux-gnu,
# /usr/lib/x86_64-linux-gnu, /lib, /usr/lib); directories that only the
# host's ld.so.conf.d adds are not searched in the guest.
# Prints the cache's path; prints nothing if the destdir has no shared
# library; fails if ldconfig cannot run here (chroot needs root).
vm_destdir_ldcache() {
	local destdir=$1 root=$2/ldroot d
	local -a dirs=()
	while IFS= read -r d; do
		dirs+=("${d#"$destdir"}")
	done < <(find "$destdir" \( -name '*.so' -o -name '*.so.*' \) -printf '%h\n' | sort -u)
	((${#dirs[@]})) || return 0
	rm -rf "$root"
	mkdir -p "$root/etc"
	printf '%s\n' "${dirs[@]}" >"$root/etc/ld.so.conf"
	for d in "${dirs[@]}"; do
		mkdir -p "$root$d"
		find "$destdir$d" -maxdepth 1 \( -name '*.so' -o -name '*.so.*' \) -exec cp -a {} "$root$d/" \;
	done
	command -v ldconfig >/dev/null || PATH=$PATH:/sbin:/usr/sbin
	ldconfig -r "$root" 2>/dev/null || return 1
	echo "$root/etc/ld.so.cache"
}

# Reads "# vm: key=value ..." header lines of a scenario. Sets vm_hdr_<key>.
vm_read_header() {
	local line kv
	# shellcheck disable=SC2034 # read by the caller
	vm_hdr_timeout='' vm_hdr_nodes='' vm_hdr_mem='' vm_hdr_cpus='' vm_hdr_expect=''
	while IFS= read -r line; do
		case $line in
		'# vm:'*) ;;
		'#'* | '') continue ;;
		*) break ;;
		esac
		for kv in ${line#'# vm:'}; do
			case $kv in
			timeout=* | nodes=* | mem=* | cpus=* | expect=*)
				[[ ${kv#*=} =~ ^[a-z0-9]+$ ]] || vm_die "$2: bad header value: $kv"
				printf -v "vm_hdr_${kv%%=*}" '%s' "${kv#*=}"
				;;
			*) vm_die "$2: unknown header key: $kv" ;;
			esac
		done
	done <"$1"
}

# Quotes a value for a POSIX shell (the busybox init sources the config).
vm_shquote() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}
