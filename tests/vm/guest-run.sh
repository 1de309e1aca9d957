#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of `make check`: runs inside the test VM, chrooted into the
# host's root (read-only over 9p). Loads the modules, runs the IGT binaries
# the manifest (tests/vm/manifest) names for this topology, fires the
# detector's deliberate splats, runs the demo where the manifest folds it
# in, then asks the kernel's debuggers what they saw and whether they are
# still alive. Everything goes to the serial console between @@P2PBUF
# markers that results.py reads.
set -u
arg() { sed -n "s/.*p2pbuf\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(arg repo)
topology=$(arg topology)
kmods=$(arg kmods)
modroot=$(arg modroot)
tests=$(arg tests)
selftest=$(arg selftest)
mode=$(arg mode)
demo=$(arg demo)
: "${mode:=test}"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp
# The tests judge decisions by the layout and kernel they expect
# (topologies.sh's TESTS_AS: stock73-iommu is judged as iommu); the
# manifest and the log use the VM's own name.
tests_as=$(arg tests_as)
export P2PBUF_TOPOLOGY=${tests_as:-$topology} P2PBUF_VM=$topology
export P2PBUF_KMOD_DIR=$kmods P2PBUF_REPO=$repo
export IGT_FORCE_DRIVER=p2pgpu

# Every process the guest starts costs a fraction of a second under the
# debug kernel in TCG: what runs once per device or per binary uses bash's
# own builtins.
uptime_s() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

# --- the manifest (format: its header) --------------------------------------
manifest_file=$here/manifest
declare -A groups=()
while read -r kind name list _; do
	[ "$kind" = group ] && groups[$name]=$list
done <"$manifest_file"

# in_topologies LIST: whether this topology is in LIST (names, @groups)
in_topologies() {
	local t
	for t in ${1//,/ }; do
		[[ $t == @* ]] && { in_topologies "${groups[${t#@}]:-}" && return 0; continue; }
		[ "$t" = "$topology" ] && return 0
	done
	return 1
}

# manifest KIND: the rest of every KIND line that applies to this topology
manifest() {
	local kind topos rest
	while read -r kind topos rest; do
		[ "$kind" = "$1" ] && in_topologies "$topos" && echo "$rest"
	done <"$manifest_file"
}

# manifest_has KIND: whether a KIND line applies to this topology
manifest_has() {
	[ -n "$(manifest "$1" | sed 's/^/+/')" ]
}

echo "@@P2PBUF-BEGIN topology=$topology kernel=$(uname -r) mode=$mode t=$(uptime_s)"
if [ ! -r "$manifest_file" ]; then
	echo "@@P2PBUF-MANIFEST-MISSING $manifest_file"
fi

# Environment of the tests: the manifest's, then what the host set on the
# command line (make check P2PBUF_FUZZ_SECONDS=400 is a deliberate choice).
# Here-strings, not process substitution: the guest's /dev has no /dev/fd.
while read -r -a kvs; do
	for kv in "${kvs[@]}"; do
		export "${kv?}"
	done
done <<<"$(manifest env)"
fuzz_seconds=$(arg fuzz_seconds)
stress_seconds=$(arg stress_seconds)
[ -n "$fuzz_seconds" ] && export P2PBUF_FUZZ_SECONDS=$fuzz_seconds
[ -n "$stress_seconds" ] && export P2PBUF_STRESS_SECONDS=$stress_seconds
echo "@@P2PBUF-ENV $(env | grep -E '^P2PBUF_(EXPECT|FUZZ|STRESS)' | sort | tr '\n' ' ')"

modprobe_dep() {
	modprobe ${modroot:+-d "$modroot"} "$1"
}

load_module() {
	local ko=$kmods/$1.ko dep params how='' load
	if [ ! -f "$ko" ]; then
		echo "@@P2PBUF-NOT-BUILT $1"
		return
	fi
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		modprobe_dep "$dep" || echo "@@P2PBUF-LOAD-FAIL $dep"
	done
	params=$(manifest module | sed -n "s/^$1 //p")
	load=(insmod "$ko")
	# Where DKMS installed it (the stock kernels): by name, as a user would.
	if [ -n "$modroot" ] &&
		compgen -G "$modroot/lib/modules/$(uname -r)/updates/dkms/$1.ko*" >/dev/null; then
		load=(modprobe -d "$modroot" "$1")
		how=" by name (modprobe, DKMS's install)"
	fi
	# shellcheck disable=SC2086 # one word per parameter
	if "${load[@]}" $params; then
		echo "@@P2PBUF-LOAD $1 ok$how${params:+ params: $params}"
		# DKMS-built modules (the stock kernels) carry DKMS's signing key.
		echo "@@P2PBUF-MODINFO $1 signer=$(modinfo -F signer "$ko")"
	else
		echo "@@P2PBUF-LOAD-FAIL $1"
	fi
}

# The drivers bind only the devices they are handed: hand them the VM's
# ivshmem (VRAM) and edu (NIC) functions, as an administrator would; the
# ivshmem below the root port p2pbuf.vfio_port (topologies.sh vfio_bar_dev)
# goes to vfio-pci instead.
vfio_port=$(arg vfio_port)
vfio_bdf=
hand_devices() {
	local dev vendor device
	for dev in /sys/bus/pci/devices/*; do
		read -r vendor <"$dev/vendor"
		read -r device <"$dev/device"
		case "$vendor:$device" in
		0x1af4:0x1110)
			if [ -n "$vfio_port" ] &&
				[ -d "/sys/devices/pci0000:00/$vfio_port/${dev##*/}" ]; then
				vfio_bdf=${dev##*/}
				echo vfio-pci >"$dev/driver_override"
			else
				echo p2pgpu >"$dev/driver_override"
			fi
			;;
		0x1234:0x11e8) echo p2prdma >"$dev/driver_override" ;;
		esac
	done
}
hand_devices

# vfio-pci from the kernel's own module tree, for p2prdma_vfio. QEMU's
# intel-iommu runs here without interrupt remapping (intremap=off), which
# type1 refuses unless told: the device's interrupts are never used.
# A kernel without vfio-pci (the 7.3 debug kernel) leaves the device
# unbound and the test says so.
hand_vfio() {
	local group="" why=""
	[ -n "$vfio_bdf" ] || return 0
	export P2PBUF_VFIO_BDF=$vfio_bdf
	if modprobe ${modroot:+-d "$modroot"} vfio_iommu_type1 allow_unsafe_interrupts=1 &&
		modprobe ${modroot:+-d "$modroot"} vfio-pci; then
		echo "$vfio_bdf" >/sys/bus/pci/drivers_probe
		why="vfio-pci loaded but did not bind it"
	else
		why="modprobe vfio-pci failed: this kernel has no vfio-pci"
	fi
	if [ -e "/sys/bus/pci/drivers/vfio-pci/$vfio_bdf" ]; then
		[ -L "/sys/bus/pci/devices/$vfio_bdf/iommu_group" ] &&
			group=$(readlink "/sys/bus/pci/devices/$vfio_bdf/iommu_group")
		echo "@@P2PBUF-VFIO $vfio_bdf bound to vfio-pci, IOMMU group ${group##*/}"
	else
		echo "@@P2PBUF-VFIO $vfio_bdf not bound to vfio-pci ($why)"
	fi
}
hand_vfio

# vgem is an in-kernel peer importer/exporter the tests compare against.
modprobe_dep vgem || echo "@@P2PBUF-LOAD-FAIL vgem"
load_module p2pgpu
load_module p2prdma

# selected NAME: whether TESTS (comma-separated globs) selects binary NAME
selected() {
	local g globs
	IFS=, read -r -a globs <<<"$tests"
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $1 == $g ]] && return 0
	done
	return 1
}

run_tests() {
	local bin name limit extra var args listed names kind topos rest
	local -A in_manifest=()
	shopt -s nullglob
	# A binary no "run" line names would never run anywhere: say so.
	while read -r kind topos name rest; do
		[ "$kind" = run ] && in_manifest[$name]=1
	done <"$manifest_file"
	for bin in "$repo"/build/igt/*; do
		name=${bin##*/}
		[ -n "${in_manifest[$name]:-}" ] || echo "@@P2PBUF-UNLISTED $name"
	done
	while read -r name limit extra; do
		[ -n "$name" ] || continue
		selected "$name" || continue
		bin=$repo/build/igt/$name
		if [ ! -x "$bin" ]; then
			echo "@@P2PBUF-MISSING $name"
			continue
		fi
		# "N+VAR": the suite's own time bound plus its fixed part.
		if [[ $limit == *+* ]]; then
			var=${limit#*+}
			limit=$((${limit%%+*} + ${!var:-0}))
		fi
		read -r -a args <<<"$extra"
		# What must report (listed at build time, on the host): a binary
		# that exits early cannot hide the rest. --run-subtest narrows it.
		mapfile -t names <"$repo/build/igt-subtests/$name"
		listed=${names[*]}
		[[ $extra =~ --run-subtest\ ([^ ]+) ]] &&
			listed=${BASH_REMATCH[1]//,/ }
		echo "@@P2PBUF-SUBTESTS $name $listed"
		echo "@@P2PBUF-TEST $name t=$(uptime_s) timeout=$limit"
		(cd /tmp && timeout --kill-after=10 "$limit" "$bin" "${args[@]}" 2>&1)
		echo "@@P2PBUF-TEST-END $name rc=$? t=$(uptime_s)"
	done <<<"$(manifest run)"
}

# The detector's deliberate splats, one of each kind the judge claims to
# catch. lockdep goes first: any later report that taints with
# LOCKDEP_NOW_UNRELIABLE (KASAN) switches lockdep off. Each write comes
# from a process of its own, so no stale copy of the leaked pointer stays
# on a live task's stack for kmemleak to find.
fire_splats() {
	local kind
	if ! insmod "$kmods/p2p_splat.ko"; then
		echo "@@P2PBUF-LOAD-FAIL p2p_splat"
		return
	fi
	for kind in $(manifest splats); do
		sh -c "echo 1 >/sys/kernel/debug/p2p_splat/$kind"
		echo "@@P2PBUF-SPLAT-FIRED $kind rc=$? t=$(uptime_s)"
	done
}

run_demo() {
	echo "@@P2PBUF-DEMO-BEGIN"
	bash "$here/guest-demo.sh"
	echo "@@P2PBUF-DEMO-END rc=$?"
}

case "$mode" in
demo)
	run_demo
	;;
bench)
	echo "@@P2PBUF-BENCH-BEGIN"
	bash "$here/guest-bench.sh"
	echo "@@P2PBUF-BENCH-END rc=$?"
	;;
*)
	run_tests
	# The demo after the tests, where the manifest folds it in, unless the
	# run was narrowed (TESTS) or the host said p2pbuf.demo=0/1.
	if [ -z "$demo" ] && [ "$tests" = '*' ] && manifest_has demo; then
		demo=1
	fi
	[ "$demo" = 1 ] && run_demo
	;;
esac

if manifest_has splats || [ "$selftest" = splat ]; then
	fire_splats
fi

for m in p2prdma p2pgpu; do
	if grep -q "^$m " /proc/modules; then
		rmmod "$m" && echo "@@P2PBUF-UNLOAD $m ok" || echo "@@P2PBUF-UNLOAD-FAIL $m"
	fi
done

# kmemleak: objects must be older than its minimum age (5 s) to be
# reported, and a second scan drops the transient ones. A refused scan
# means kmemleak switched itself off: the judge fails that in a debug
# kernel.
kmemleak=absent
if [ -e /sys/kernel/debug/kmemleak ]; then
	sleep 6
	if echo scan >/sys/kernel/debug/kmemleak && sleep 1 &&
		echo scan >/sys/kernel/debug/kmemleak; then
		kmemleak=scanned
	else
		kmemleak=scan-refused
	fi
	echo "@@P2PBUF-KMEMLEAK-BEGIN"
	cat /sys/kernel/debug/kmemleak || kmemleak=unreadable
	echo "@@P2PBUF-KMEMLEAK-END"
fi

# Whether the debuggers were still alive at the end: a lockdep report
# switches lockdep off (debug_locks 0) and may leave no taint, the DMA-API
# checker prints only its first error but counts them all.
lockdep=$(awk '/debug_locks:/ { print $2 }' /proc/lockdep_stats 2>/dev/null)
dma_errors=$(cat /sys/kernel/debug/dma-api/error_count 2>/dev/null)
dma_disabled=$(cat /sys/kernel/debug/dma-api/disabled 2>/dev/null)
echo "@@P2PBUF-DEBUGGERS lockdep_debug_locks=${lockdep:-absent}" \
	"dma_api_error_count=${dma_errors:-absent} dma_api_disabled=${dma_disabled:-absent}" \
	"kmemleak=$kmemleak"

echo "@@P2PBUF-TAINT $(cat /proc/sys/kernel/tainted)"
echo "@@P2PBUF-DMESG-BEGIN"
dmesg --color=never
echo "@@P2PBUF-DMESG-END"
echo "@@P2PBUF-END t=$(uptime_s)"
