#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: boots Debian's unmodified kernels with a GPU and a NIC and in
# each runs `p2pctl topology` and `p2pctl share`: Debian 13's stock 7.3
# (trixie-backports, CONFIG_PCI_P2PDMA=y) does p2p through a PCIe switch and
# stages, with the reason, across root ports whose host bridge is not
# allow-listed; Debian 12's stock kernel stages, saying it lacks P2PDMA.
# Prints what p2pctl prints, not the kernel log (kept in
# build/vm/demo-*.log, and checked for splats all the same).
# DEMO_TOPOLOGIES picks others (e.g. "switch rootports": the debug kernel).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
topologies=${DEMO_TOPOLOGIES:-stock73 stock73-rootports stock}
declare -A prepared=()
for t in $topologies; do
	topology_args "$t"
	[ -n "${prepared[$KERNEL_FLAVOR]:-}" ] && continue
	prepare_flavor "$KERNEL_FLAVOR" >/dev/null
	prepared[$KERNEL_FLAVOR]=1
done

# demo_title TOPOLOGY: what the newcomer is looking at.
demo_title() {
	local layout kernel
	topology_args "$1"
	case "$1" in
	*rootports|stock|stock61) layout="GPU and NIC on separate root ports (host bridge not allow-listed)" ;;
	*hostbridge) layout="GPU and NIC on root ports of an allow-listed (AMD) host bridge" ;;
	*iommu) layout="GPU and NIC on root ports behind an IOMMU" ;;
	*) layout="GPU and NIC behind one PCIe switch" ;;
	esac
	case "$KERNEL_FLAVOR" in
	stock73) kernel="Debian 13's stock 7.3 kernel" ;;
	stock) kernel="Debian 12's stock 6.12 kernel" ;;
	stock61) kernel="Debian 12's stock 6.1 kernel" ;;
	*) kernel="the $KERNEL_FLAVOR debug kernel" ;;
	esac
	echo "[$1] $layout, $kernel"
}

rc=0
for t in $topologies; do
	log=$build/vm/demo-$t.log
	what=$(demo_title "$t")
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
