#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: boots the test VM with the GPU and the NIC behind one PCIe
# switch, then on separate root ports, and in each runs `p2pctl topology`
# and `p2pctl share`: p2p through the switch, staging with its reason
# through the root ports. Prints what p2pctl prints, not the kernel log
# (kept in build/vm/demo-*.log, and checked for splats all the same).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
prepare_flavor testkernel >/dev/null

rc=0
for t in ${DEMO_TOPOLOGIES:-switch rootports}; do
	topology_args "$t"
	log=$build/vm/demo-$t.log
	case "$t" in
	switch) what="GPU and NIC behind one PCIe switch" ;;
	rootports) what="GPU and NIC on separate root ports (host bridge not allow-listed)" ;;
	*) what="topology $t" ;;
	esac
	echo "==== $what ===="
	P2PBUF_TESTS=none P2PBUF_SELFTEST=none P2PBUF_MODE=demo boot_topology "$t" "$log"
	sed -n '/^@@P2PBUF-DEMO-BEGIN/,/^@@P2PBUF-DEMO-END/p' "$log" |
		sed '/^@@P2PBUF-DEMO-BEGIN/d; /^\[ *[0-9.]*\]/d' |
		sed 's/^@@P2PBUF-DEMO-END rc=\(.*\)/(demo exit status \1)/'
	if ! grep -q '^@@P2PBUF-DEMO-END rc=0' "$log"; then
		echo "demo: the $t run failed; kernel log: $log" >&2
		rc=1
	fi
	if python3 "$here/results.py" "$log" >"$log.verdict" 2>&1; then :; else
		grep -E 'SPLAT|FAIL' "$log.verdict" >&2 || true
		rc=1
	fi
	echo
done
exit $rc
