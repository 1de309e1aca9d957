# SPDX-License-Identifier: GPL-2.0
#
# Shared by check.sh, demo.sh and bench.sh: build what a topology's VM needs
# and boot it. Source after setting $here (this directory).
repo=$(cd "$here/../.." && pwd)
build=$repo/build
. "$here/topologies.sh"
. "$here/kernels.sh"
mkdir -p "$build/vm"

# Modules for one kernel, built in a copy of the sources so two kernels'
# objects never mix. Any compiler warning (W=1) fails the build.
build_modules() {
	local flavor=$1 kdir=$2 dir=$build/kmod-$1
	mkdir -p "$dir"
	rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' --exclude=modules.order --exclude=Module.symvers \
		--exclude=generated \
		"$repo/Kbuild" "$repo/compat" "$repo/exporter" "$repo/importer" \
		"$repo/uapi" "$repo/tests" "$dir/src/"
	rm -f "$dir"/*.ko
	local rc=0
	if [ "$kdir" = chroot73 ]; then
		# Debian's 7.3 was built by gcc-14: its modules are built by the
		# same compiler, in the trixie chroot (kernels.sh).
		kern_chroot73 "$dir/src" make -C "$(kern_kdir_73)" M=/p2pbuf \
			-s W=1 P2PBUF_TEST_MODULES=m modules \
			>"$dir/build.log" 2>&1 || rc=$?
	else
		make -s -C "$kdir" M="$dir/src" W=1 P2PBUF_TEST_MODULES=m modules \
			>"$dir/build.log" 2>&1 || rc=$?
	fi
	if [ $rc -ne 0 ]; then
		cat "$dir/build.log" >&2
		return 1
	fi
	find "$dir/src" -name '*.ko' -exec cp {} "$dir/" \;
	if grep -E 'warning:|error:' "$dir/build.log" >&2; then
		echo "p2pbuf: the modules for $flavor build with warnings" >&2
		return 1
	fi
}

# dkms_build FLAVOR RELEASE KDIR MODULES: builds and installs the shipped
# modules the way an installed machine does (DKMS from the `make
# dkms-source` tree, in a private DKMS tree so the host's own is left
# alone) and puts them where the VM loads them from, in place of the plain
# builds. KDIR: the kernel's headers when they are not
# /lib/modules/RELEASE/build ("" when they are); "chroot73": DKMS runs in
# the trixie chroot, with the compiler Debian's 7.3 was built by. MODULES:
# the kernel's own /lib/modules/RELEASE. `dkms install` goes into a module
# root of its own (build/dkms-FLAVOR/root: DKMS's updates/dkms next to a
# link to the kernel's modules, depmod'ed) from which the guest loads
# p2pgpu and p2prdma by name with modprobe. The verdict goes to
# build/vm/flavor-FLAVOR.host, which check.sh hands to results.py.
dkms_build() {
	local flavor=$1 rel=$2 kdir=${3:-} kmodules=$4 dir=$build/dkms-$1 verdict=$build/vm/flavor-$1.host
	local version ko tree=$build/dkms-$1/tree rc=0
	version=$(sed -n 's/^VERSION := //p' "$repo/Makefile")
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/tree"
	if [ "$kdir" != chroot73 ] && ! command -v dkms >/dev/null; then
		echo "@@P2PBUF-HOST dkms@build fail dkms is not installed (install-deps.sh installs it)" >"$verdict"
		return
	fi
	make -s -C "$repo" dkms-source DKMS_SRC="$dir/src/p2pbuf-$version" >"$dir/build.log" 2>&1 || rc=$?
	if [ $rc = 0 ] && [ "$kdir" = chroot73 ]; then
		kern_chroot73 "$dir" dkms build -m p2pbuf -v "$version" -k "$rel" \
			--sourcetree /p2pbuf/src --dkmstree /p2pbuf/tree >>"$dir/build.log" 2>&1 || rc=$?
	elif [ $rc = 0 ]; then
		dkms build -m p2pbuf -v "$version" -k "$rel" --sourcetree "$dir/src" \
			--dkmstree "$tree" ${kdir:+--kernelsourcedir "$kdir"} >>"$dir/build.log" 2>&1 || rc=$?
	fi
	if [ $rc != 0 ]; then
		cat "$dir/build.log" >&2
		echo "@@P2PBUF-HOST dkms@build fail dkms build for $rel failed: $dir/build.log" >"$verdict"
		return
	fi
	# DKMS compresses as the kernel's modules are (xz on bookworm), or not.
	local built=$tree/p2pbuf/$version/$rel/x86_64/module
	for ko in p2pgpu p2prdma; do
		if [ -f "$built/$ko.ko.xz" ]; then
			xz -dc "$built/$ko.ko.xz" >"$build/kmod-$flavor/$ko.ko"
		elif [ -f "$built/$ko.ko" ]; then
			cp "$built/$ko.ko" "$build/kmod-$flavor/$ko.ko"
		else
			echo "@@P2PBUF-HOST dkms@build fail no $ko.ko from dkms in $built" >"$verdict"
			return
		fi
	done
	local mods=$dir/root/lib/modules/$rel f
	mkdir -p "$mods"
	ln -s "$kmodules/kernel" "$mods/kernel"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ ! -f "$kmodules/$f" ] || cp "$kmodules/$f" "$mods/"
	done
	if [ "$kdir" = chroot73 ]; then
		kern_chroot73 "$dir" dkms install -m p2pbuf -v "$version" -k "$rel" \
			--sourcetree /p2pbuf/src --dkmstree /p2pbuf/tree \
			--installtree /p2pbuf/root/lib/modules --no-depmod >>"$dir/build.log" 2>&1 || rc=$?
	else
		dkms install -m p2pbuf -v "$version" -k "$rel" --sourcetree "$dir/src" \
			--dkmstree "$tree" --installtree "$dir/root/lib/modules" --no-depmod \
			${kdir:+--kernelsourcedir "$kdir"} >>"$dir/build.log" 2>&1 || rc=$?
	fi
	[ $rc != 0 ] || depmod -b "$dir/root" "$rel" >>"$dir/build.log" 2>&1 || rc=$?
	if [ $rc != 0 ] || ! compgen -G "$mods/updates/dkms/p2pgpu.ko*" >/dev/null ||
		! compgen -G "$mods/updates/dkms/p2prdma.ko*" >/dev/null; then
		cat "$dir/build.log" >&2
		echo "@@P2PBUF-HOST dkms@build fail dkms install for $rel failed: $dir/build.log" >"$verdict"
		return
	fi
	echo "$dir/root" >"$dir/modroot"
	echo "@@P2PBUF-HOST dkms@build pass DKMS built and installed p2pgpu and p2prdma for $rel; the VM loads them by name with modprobe" >"$verdict"
}

stock_release() {
	local img
	img=$(ls /boot/vmlinuz-6.12.*+deb12-amd64 | sort -V | tail -n 1)
	echo "${img#/boot/vmlinuz-}"
}

# prepare_flavor FLAVOR (topologies.sh lists them): kernel, modules and
# initramfs, cached; records the kernel image and in-tree modules' root for
# boot_topology in build/vm/kernel-FLAVOR ("IMAGE MODROOT").
prepare_flavor() {
	local image modroot= kdir
	case "$1" in
	testkernel|debug73)
		if [ "$1" = testkernel ]; then
			kbuild=$("$here/build-kernel.sh")
			image=$kbuild
		else
			image=$("$here/build-kernel.sh" 7.3)
		fi
		build_modules "$1" "$image" || return 1
		modroot=$(dirname "$image")/mods
		image=$image/arch/x86/boot/bzImage
		"$here/build-initramfs.sh" "$build/vm/initramfs-$1.gz" || return 1
		;;
	stock)
		stock_rel=$(stock_release)
		build_modules stock "/usr/src/linux-headers-$stock_rel" || return 1
		dkms_build stock "$stock_rel" "" "/lib/modules/$stock_rel"
		image=/boot/vmlinuz-$stock_rel
		"$here/build-initramfs.sh" "$build/vm/initramfs-stock.gz" "$stock_rel" || return 1
		;;
	stock61|stock73)
		kern_image "$1" || return 1
		if [ "$1" = stock73 ]; then
			kdir=chroot73
		else
			kdir=$(kern_headers_61) || return 1
		fi
		build_modules "$1" "$kdir" || return 1
		dkms_build "$1" "$KERN_RELEASE" "$kdir" "$KERN_ROOT/lib/modules/$KERN_RELEASE"
		image=$KERN_IMAGE
		modroot=$KERN_ROOT
		"$here/build-initramfs.sh" "$build/vm/initramfs-$1.gz" \
			"$KERN_RELEASE" "$KERN_ROOT" || return 1
		;;
	*)
		echo "p2pbuf: unknown kernel flavor $1" >&2
		return 1
		;;
	esac
	# The stock kernels load from DKMS's install (dkms_build).
	if [ -f "$build/dkms-$1/modroot" ]; then
		modroot=$(cat "$build/dkms-$1/modroot")
	fi
	echo "$image $modroot" >"$build/vm/kernel-$1"
}

# boot_topology TOPOLOGY LOG: P2PBUF_TESTS/P2PBUF_SELFTEST/P2PBUF_MODE as set.
boot_topology() {
	local t=$1 log=$2
	topology_args "$t"
	read -r P2PBUF_KERNEL P2PBUF_MODROOT <"$build/vm/kernel-$KERNEL_FLAVOR"
	export P2PBUF_KERNEL P2PBUF_MODROOT
	export P2PBUF_INITRD=$build/vm/initramfs-$KERNEL_FLAVOR.gz
	export P2PBUF_REPO=$repo P2PBUF_KMODS=$build/kmod-$KERNEL_FLAVOR
	rm -f "$log" "$log.boot1" "$log.console"
	run_vm "$t" "$log"
	# A guest that never printed BEGIN failed before any of p2pbuf ran
	# (QEMU, the kernel's own boot, the 9p root): boot once more, and show
	# and keep the first log. A guest that got further is judged as it is.
	grep -qa '^@@P2PBUF-BEGIN' "$log" 2>/dev/null && return 0
	mv "$log" "$log.boot1" 2>/dev/null || : >"$log.boot1"
	{
		echo "p2pbuf: the $t guest never reached the harness; its log ($log.boot1) ends:"
		tail -n 25 "$log.boot1"
		echo "p2pbuf: booting $t a second time"
	} >&2
	run_vm "$t" "$log"
}

# run_vm TOPOLOGY LOG: one boot; the kernel's console is appended to LOG
# after the harness's output, so the judge reads one file: the markers, then
# every kernel message (the guest also dumps dmesg at its end).
run_vm() {
	"$here/run-vm.sh" "$1" "$2" || echo "p2pbuf: the $1 VM exited with $?" >&2
	{
		echo "@@P2PBUF-CONSOLE-BEGIN"
		cat "$2.console" 2>/dev/null
	} >>"$2"
	rm -f "$2.console"
}

# Wall time of each phase of `make check`, for its report: build/vm/phases
# holds "NAME SECONDS" lines and the run's start as "start EPOCH".
phases=$build/vm/phases

# phase_started: the epoch second make check started (phase.sh start).
phase_started() {
	local t
	t=$(awk '$1 == "start" {print $2}' "$phases" 2>/dev/null | tail -n 1)
	if [ -z "$t" ]; then
		t=$(date +%s)
		echo "start $t" >"$phases"
	fi
	echo "$t"
}

# phase NAME CMD...: runs CMD in this shell (it may set variables) and
# records its wall time.
phase() {
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	"$@" || rc=$?
	echo "$name $(($(date +%s) - start))" >>"$phases"
	return $rc
}

# phase_report TOPOLOGIES: the phases, then each topology's VM, then the
# whole run so far.
phase_report() {
	local t start
	start=$(phase_started)
	echo
	echo "time (s):"
	awk '$1 != "start" {printf "  %-22s %6d\n", $1, $2}' "$phases"
	for t in $1; do
		printf '  %-22s %6s\n' "topology $t" "$(cat "$build/vm/$t.time" 2>/dev/null || echo '-')"
	done
	printf '  %-22s %6d\n' "make check, wall" "$(($(date +%s) - start))"
}
