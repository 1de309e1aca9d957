#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host half of `make check`: builds the test kernel (cached) and the modules
# for it and for Debian's stock kernel, boots one VM per topology, and judges
# the logs with results.py. TOPOLOGY and TESTS narrow the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
topologies=${TOPOLOGY:-$ALL_TOPOLOGIES}
topologies=${topologies//,/ }
tests=${TESTS:-*}
tests=${tests// /,}

for flavor in testkernel stock; do
	for t in $topologies; do
		topology_args "$t"
		if [ "$KERNEL_FLAVOR" = "$flavor" ]; then
			prepare_flavor "$flavor"
			break
		fi
	done
done

logs=()
for t in $topologies; do
	log=$build/vm/$t.log
	start=$(date +%s)
	# Host-side verdicts about this topology's kernel flavor (DKMS).
	rm -f "$log.host"
	if [ "$t" != static ] && topology_args "$t" &&
		[ -f "$build/vm/flavor-$KERNEL_FLAVOR.host" ]; then
		cp "$build/vm/flavor-$KERNEL_FLAVOR.host" "$log.host"
	fi
	if [ "$t" = static ]; then
		"$here/static-checks.sh" "$kbuild" "$build/kmod-testkernel/src" "$log"
		"$here/host-tests.sh" "$build" "$log"
	elif [ "$t" = demo ]; then
		# `make demo` itself, judged by what it shows a newcomer.
		set +e
		"$here/demo.sh" >"$log" 2>&1
		echo "@@P2PBUF-DEMO-RC $?" >>"$log"
		set -e
	elif [ "$t" = detector ]; then
		P2PBUF_TESTS=none P2PBUF_SELFTEST=splat P2PBUF_MODE=test \
			boot_topology "$t" "$log"
	else
		t_tests=$tests
		# multi is about more than one device of each: the reliability
		# suites (fuzz, faults, stress) run in the other topologies.
		if [ "$t" = multi ] && [ -z "${TESTS:-}" ]; then
			t_tests="p2pbuf_load,p2pctl_*,p2pgpu_*,p2prdma_*"
		fi
		P2PBUF_TESTS=$t_tests P2PBUF_SELFTEST=none P2PBUF_MODE=test \
			boot_topology "$t" "$log"
	fi
	echo "check: $t took $(($(date +%s) - start)) s (log: $log)"
	logs+=("$log")
done

python3 "$here/results.py" "${logs[@]}"
