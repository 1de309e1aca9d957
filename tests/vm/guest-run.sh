#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of `make check`: runs inside the test VM, chrooted into the
# host's root (read-only over 9p). Loads the modules, runs the IGT binaries,
# then asks the kernel's debuggers what they saw. Everything goes to the
# serial console between @@P2PBUF markers that results.py reads.
set -u
arg() { sed -n "s/.*p2pbuf\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
repo=$(arg repo)
topology=$(arg topology)
kmods=$(arg kmods)
modroot=$(arg modroot)
tests=$(arg tests)
selftest=$(arg selftest)
mode=$(arg mode)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp
export P2PBUF_TOPOLOGY=$topology P2PBUF_KMOD_DIR=$kmods P2PBUF_REPO=$repo
export IGT_FORCE_DRIVER=p2pgpu
# Bounded reliability suites, so that every topology fits CI's time: the
# fuzzer prints its seed and call count; the stress threads run this long.
# The host sets both, and their defaults (run-vm.sh; make check
# P2PBUF_FUZZ_SECONDS=400 for a long run).
P2PBUF_FUZZ_SECONDS=$(arg fuzz_seconds)
P2PBUF_STRESS_SECONDS=$(arg stress_seconds)
export P2PBUF_FUZZ_SECONDS P2PBUF_STRESS_SECONDS

echo "@@P2PBUF-BEGIN topology=$topology kernel=$(uname -r)"

modprobe_dep() {
	modprobe ${modroot:+-d "$modroot"} "$1"
}

load_module() {
	local ko=$kmods/$1.ko dep
	if [ ! -f "$ko" ]; then
		# Not a load failure: the tree has no sources for it yet.
		echo "@@P2PBUF-NOT-BUILT $1"
		return
	fi
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		modprobe_dep "$dep" || echo "@@P2PBUF-LOAD-FAIL $dep"
	done
	if insmod "$ko"; then
		echo "@@P2PBUF-LOAD $1 ok"
		# DKMS-built modules (the stock run) carry DKMS's signing key.
		echo "@@P2PBUF-MODINFO $1 signer=$(modinfo -F signer "$ko")"
	else
		echo "@@P2PBUF-LOAD-FAIL $1"
	fi
}

# The drivers bind only the devices they are handed: hand them the VM's
# ivshmem (VRAM) and edu (NIC) functions, as an administrator would.
hand_devices() {
	local dev id
	for dev in /sys/bus/pci/devices/*; do
		id=$(cat "$dev/vendor"):$(cat "$dev/device")
		case "$id" in
		0x1af4:0x1110) echo p2pgpu >"$dev/driver_override" ;;
		0x1234:0x11e8) echo p2prdma >"$dev/driver_override" ;;
		esac
	done
}
hand_devices

# vgem is an in-kernel peer importer/exporter the tests compare against.
modprobe_dep vgem || echo "@@P2PBUF-LOAD-FAIL vgem"
load_module p2pgpu
load_module p2prdma

run_tests() {
	local bin name match g globs
	shopt -s nullglob
	IFS=, read -r -a globs <<<"$tests"
	for bin in "$repo"/build/igt/*; do
		name=$(basename "$bin")
		match=0
		for g in "${globs[@]}"; do
			# shellcheck disable=SC2053 # a glob on purpose
			[[ $name == $g ]] && match=1
		done
		((match)) || continue
		# What must report (listed at build time, on the host): a binary
		# that exits early cannot hide the rest.
		echo "@@P2PBUF-SUBTESTS $name $(tr '\n' ' ' <"$repo/build/igt-subtests/$name")"
		echo "@@P2PBUF-TEST $name"
		(cd /tmp && timeout --kill-after=10 900 "$bin" 2>&1)
		echo "@@P2PBUF-TEST-END $name rc=$?"
	done
}

case "$mode" in
demo | bench)
	echo "@@P2PBUF-${mode^^}-BEGIN"
	bash "$(dirname "$0")/guest-$mode.sh"
	echo "@@P2PBUF-${mode^^}-END rc=$?"
	;;
*)
	run_tests
	;;
esac

if [ "$selftest" = splat ]; then
	# Proves the host-side detector fails a run on a real kernel splat.
	insmod "$kmods/p2p_splat.ko" && echo 1 >/sys/kernel/debug/p2p_splat/warn
fi

for m in p2prdma p2pgpu; do
	if grep -q "^$m " /proc/modules; then
		rmmod "$m" && echo "@@P2PBUF-UNLOAD $m ok" || echo "@@P2PBUF-UNLOAD-FAIL $m"
	fi
done

if [ "$mode" = test ] && [ -w /sys/kernel/debug/kmemleak ]; then
	# Objects must be older than kmemleak's minimum age to be reported,
	# and a second scan drops the transient ones.
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	sleep 1
	echo scan >/sys/kernel/debug/kmemleak
	echo "@@P2PBUF-KMEMLEAK-BEGIN"
	cat /sys/kernel/debug/kmemleak
	echo "@@P2PBUF-KMEMLEAK-END"
fi

echo "@@P2PBUF-TAINT $(cat /proc/sys/kernel/tainted)"
echo "@@P2PBUF-DMESG-BEGIN"
dmesg --color=never
echo "@@P2PBUF-DMESG-END"
echo "@@P2PBUF-END"
