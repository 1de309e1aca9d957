#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host half of `make check`: builds the test kernel (cached) and the modules
# for it and for Debian's stock kernel, boots one VM per topology, and judges
# the logs with results.py. TOPOLOGY and TESTS narrow the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/topologies.sh"
build=$repo/build
topologies=${TOPOLOGY:-$ALL_TOPOLOGIES}
tests=${TESTS:-*}
tests=${tests// /,}
mkdir -p "$build/vm"

# Modules for one kernel, built in a copy of the sources so two kernels'
# objects never mix.
build_modules() {
	local flavor=$1 kdir=$2 dir=$build/kmod-$1
	mkdir -p "$dir"
	rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		"$repo/Kbuild" "$repo/exporter" "$repo/importer" "$repo/uapi" \
		"$repo/tests" "$dir/src/"
	make -s -C "$kdir" M="$dir/src" W=1 P2PBUF_TEST_MODULES=m modules \
		>"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
	find "$dir/src" -name '*.ko' -exec cp {} "$dir/" \;
	if grep -E 'warning:|error:' "$dir/build.log" >&2; then
		echo "check: the modules for $flavor build with warnings" >&2
		return 1
	fi
}

need_flavor() {
	local t
	for t in $topologies; do
		topology_args "$t"
		[ "$KERNEL_FLAVOR" = "$1" ] && return 0
	done
	return 1
}

if need_flavor testkernel; then
	kbuild=$("$here/build-kernel.sh")
	krel=$(cat "$kbuild/include/config/kernel.release")
	build_modules testkernel "$kbuild"
	"$here/build-initramfs.sh" "$build/vm/initramfs-testkernel.gz"
fi
if need_flavor stock; then
	stock_rel=$(basename "$(ls /boot/vmlinuz-6.12.*+deb12-amd64 | sort -V | tail -n 1)")
	stock_rel=${stock_rel#vmlinuz-}
	build_modules stock "/usr/src/linux-headers-$stock_rel"
	"$here/build-initramfs.sh" "$build/vm/initramfs-stock.gz" "$stock_rel"
fi

logs=()
for t in $topologies; do
	topology_args "$t"
	log=$build/vm/$t.log
	rm -f "$log"
	if [ "$KERNEL_FLAVOR" = stock ]; then
		export P2PBUF_KERNEL=/boot/vmlinuz-$stock_rel
		export P2PBUF_MODROOT=
	else
		export P2PBUF_KERNEL=$kbuild/arch/x86/boot/bzImage
		export P2PBUF_MODROOT=$(dirname "$kbuild")/mods
	fi
	export P2PBUF_INITRD=$build/vm/initramfs-$KERNEL_FLAVOR.gz
	export P2PBUF_REPO=$repo P2PBUF_KMODS=$build/kmod-$KERNEL_FLAVOR
	if [ "$t" = detector ]; then
		export P2PBUF_TESTS=none P2PBUF_SELFTEST=splat
	else
		export P2PBUF_TESTS=$tests P2PBUF_SELFTEST=none
	fi
	start=$(date +%s)
	"$here/run-vm.sh" "$t" "$log" || echo "check: the $t VM exited with $?" >&2
	echo "check: $t took $(($(date +%s) - start)) s (log: $log)"
	logs+=("$log")
done

python3 "$here/results.py" "${logs[@]}"
