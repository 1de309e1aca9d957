#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host half of `make check`: builds the test kernel (cached) and the modules
# for it and for Debian's stock kernel, boots one VM per topology, and judges
# the logs with results.py. TOPOLOGY and TESTS narrow the run.
#
# Time: CI kills a run at 90 minutes, so this one keeps its own deadline.
#   P2PBUF_JOBS       VMs booted at a time (default 2: a TCG guest uses
#                     ~1.1-1.4 of the 2 cores, so two keep both busy)
#   P2PBUF_DEADLINE   epoch second by which every VM must have finished
#                     (default: 75 minutes after make check started, as
#                     recorded by phase.sh); a topology that cannot start
#                     in time is reported as failed with the reason, and a
#                     running VM is stopped at the deadline
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
topologies=${TOPOLOGY:-$ALL_TOPOLOGIES}
topologies=${topologies//,/ }
tests=${TESTS:-*}
tests=${tests// /,}
jobs=${P2PBUF_JOBS:-2}
check_start=$(phase_started)
deadline=${P2PBUF_DEADLINE:-$((check_start + 75 * 60))}
# the shortest useful VM run: a boot, the module loads and one binary
min_vm_seconds=240

# flavor_of TOPOLOGY: its kernel flavor (static checks the debug kernels'
# builds: it starts once both are ready).
flavor_of() {
	if [ "$1" = static ]; then
		echo debug73
	else
		topology_args "$1" >/dev/null && echo "$KERNEL_FLAVOR"
	fi
}
flavor_needed() {
	local t
	for t in $topologies; do
		[ "$t" = static ] && [ "$1" = testkernel ] && return 0
		[ "$(flavor_of "$t")" = "$1" ] && return 0
	done
	return 1
}

# run_topology TOPOLOGY: one VM (or the static checks), its log in
# build/vm/TOPOLOGY.log and its wall time in build/vm/TOPOLOGY.time.
run_topology() {
	local t=$1 log=$build/vm/$1.log start
	start=$(date +%s)
	# Host-side verdicts about this topology's kernel flavor (DKMS).
	rm -f "$log.host"
	if [ "$t" != static ] && topology_args "$t" &&
		[ -f "$build/vm/flavor-$KERNEL_FLAVOR.host" ]; then
		cp "$build/vm/flavor-$KERNEL_FLAVOR.host" "$log.host"
	fi
	export P2PBUF_VM_TIMEOUT=$((deadline - start))
	((P2PBUF_VM_TIMEOUT < ${VM_TIMEOUT_CAP:-1500})) || P2PBUF_VM_TIMEOUT=${VM_TIMEOUT_CAP:-1500}
	if [ "$t" = static ]; then
		# The other kernels' checkers: sparse on Debian's 6.1 headers, the
		# 7.3 tree's checkpatch and kernel-doc.
		local others=() k61 no61=
		if k61=$(kern_headers_61) && build_modules static61 "$k61"; then
			others+=("6.1:$k61:$build/kmod-static61/src")
		else
			no61="the 6.1 headers could not be had or the W=1 build failed"
		fi
		others+=("7.3:$("$here/build-kernel.sh" 7.3):")
		"$here/static-checks.sh" "$kbuild" "$build/kmod-testkernel/src" "$log" "${others[@]}"
		[ -z "$no61" ] || echo "@@P2PBUF-STATIC sparse-6.1 fail $no61" >>"$log"
		"$here/host-tests.sh" "$build" "$log"
	elif [ "$t" = demo ]; then
		# `make demo` itself, judged by what it shows a newcomer.
		set +e
		"$here/demo.sh" >"$log" 2>&1
		echo "@@P2PBUF-DEMO-RC $?" >>"$log"
		set -e
	elif [ "$t" = detector ]; then
		# What runs and which splats fire: the manifest, never narrowed.
		P2PBUF_TESTS='*' P2PBUF_SELFTEST=splat P2PBUF_MODE=test \
			boot_topology "$t" "$log"
	else
		# What runs where is tests/vm/manifest's; TESTS only narrows it.
		# What `make demo` shows runs after the tests in the VMs that the
		# manifest names (switch, rootports) instead of in VMs of its own,
		# unless TESTS narrowed the run.
		P2PBUF_TESTS=$tests P2PBUF_SELFTEST=none P2PBUF_MODE=test \
			boot_topology "$t" "$log"
	fi
	echo "$(($(date +%s) - start))" >"$build/vm/$t.time"
}

# not_started TOPOLOGY REASON: a verdict instead of a kill by CI.
not_started() {
	rm -f "$build/vm/$1.log"
	echo "@@P2PBUF-HOST deadline@started fail $2" >"$build/vm/$1.log.host"
	echo "check: $1 NOT started: $2" >&2
}

# Debian's stock kernels need no build: their VMs run while the debug
# kernels build. The debug kernels' topologies go first once ready (they
# are the long ones: packing them early shortens the run).
declare -A pid_of=()
running=0
ready_debug=()
ready_stock=()
launch() {
	local t=$1 now
	now=$(date +%s)
	if ((deadline - now < min_vm_seconds)); then
		not_started "$t" "only $((deadline - now)) s left before make check's deadline"
		return
	fi
	echo "check: $t started" >&2
	run_topology "$t" >"$build/vm/$t.out" 2>&1 &
	pid_of[$!]=$t
	running=$((running + 1))
}
reaped() {
	local pid=$1 t=${pid_of[$1]}
	wait "$pid" || true
	unset "pid_of[$pid]"
	running=$((running - 1))
	cat "$build/vm/$t.out" >&2
	echo "check: $t took $(cat "$build/vm/$t.time" 2>/dev/null || echo '?') s (log: $build/vm/$t.log)" >&2
}
# take_first ARRAY: removes from ARRAY the topology that comes first in
# $topologies (ALL_TOPOLOGIES lists the long ones first) and sets $picked.
take_first() {
	local -n from=$1
	local t i
	for t in $topologies; do
		for i in "${!from[@]}"; do
			[ "${from[$i]}" = "$t" ] || continue
			unset "from[$i]"
			from=("${from[@]}")
			picked=$t
			return
		done
	done
}
# fill: reaps the finished VMs and starts ready topologies in the free
# slots, without waiting.
fill() {
	local pid
	for pid in "${!pid_of[@]}"; do
		kill -0 "$pid" 2>/dev/null || reaped "$pid"
	done
	while ((running < jobs)); do
		if ((${#ready_debug[@]})); then
			take_first ready_debug
			launch "$picked"
		elif ((${#ready_stock[@]})); then
			take_first ready_stock
			launch "$picked"
		else
			break
		fi
	done
}
# prepared FLAVOR: its topologies are ready to boot.
prepared() {
	local t
	for t in $topologies; do
		[ "$(flavor_of "$t")" = "$1" ] || continue
		case "$1" in
		testkernel|debug73) ready_debug+=("$t") ;;
		*) ready_stock+=("$t") ;;
		esac
	done
	fill
}
# not_ready FLAVOR WHY: its topologies fail with the reason.
not_ready() {
	local t
	for t in $topologies; do
		[ "$(flavor_of "$t")" = "$1" ] && not_started "$t" "$2"
	done
}

rm -f "$build"/vm/*.time "$build"/vm/*.out
# The debug kernels build in the background from the start (cached: a
# second build costs nothing; build-kernel.sh serializes callers).
flavor_needed testkernel && { "$here/build-kernel.sh" >/dev/null 2>&1 & }
flavor_needed debug73 && { "$here/build-kernel.sh" 7.3 >/dev/null 2>&1 & }
# The stock kernels first, even when the debug kernels are cached: two
# debug VMs side by side slow each other down (measured: switch 685 s next
# to a stock VM, 781 s next to rootports), so the stock VMs start beside
# the first debug ones.
for flavor in stock stock73 stock61 testkernel debug73; do
	flavor_needed "$flavor" || continue
	if phase "prepare-$flavor" prepare_flavor "$flavor"; then
		prepared "$flavor"
	else
		not_ready "$flavor" "the $flavor kernel, modules or initramfs could not be prepared (see above)"
	fi
done
while ((running > 0 || ${#ready_debug[@]} || ${#ready_stock[@]})); do
	fill
	((running > 0)) && sleep 2
done

logs=()
for t in $topologies; do
	logs+=("$build/vm/$t.log")
done
phase_report "$topologies"
python3 "$here/results.py" ${TESTS:+--tests "$tests"} "${logs[@]}"
