#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host-tests.sh BUILD OUT.log
# The tests that need no driver, run on the host: libp2pbuf's unit test,
# p2pctl's flows (exit codes, JSON, decisions, a corrupted transfer caught)
# against an LD_PRELOAD mock of the devices, and the unit test of
# results.py, the judge of every VM run; libp2pbuf against the mock
# (device order, open paths, iova), and `make install`/`uninstall` into a
# staged DESTDIR (make check-install). Appends one
# "@@P2PBUF-STATIC <name> pass|fail" line per test for results.py, and the
# output of a test that failed.
set -uo pipefail
build=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
userspace=$(cd "$here/../../userspace" && pwd)

run_host_test() {
	local name=$1 log
	shift
	log=$(mktemp)
	if "$@" >"$log" 2>&1; then
		echo "@@P2PBUF-STATIC $name pass" >>"$out"
	else
		cat "$log" >>"$out"
		echo "@@P2PBUF-STATIC $name fail" >>"$out"
	fi
	rm -f "$log"
}

run_host_test libp2pbuf-unit make -s -C "$userspace" BUILD="$build" test-unit
run_host_test p2pctl-mock make -s -C "$userspace" BUILD="$build" test-mock
run_host_test libp2pbuf-mock make -s -C "$userspace" BUILD="$build" test-lib-mock
run_host_test install make -s -C "$userspace/.." check-install
run_host_test vm-judge python3 "$here/test_results.py"
