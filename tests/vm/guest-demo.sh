#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest half of `make demo`: what a newcomer should see, via p2pctl only.
set -u
p2pctl=$P2PBUF_REPO/build/bin/p2pctl
run() {
	echo "\$ $*"
	"$@"
}
run "$p2pctl" devices &&
	run "$p2pctl" topology &&
	run "$p2pctl" share --size 16384
rc=$?
# What the NIC was really told to do, from its DMA registers and the BAR's
# sysfs range, not from the drivers: the demo's judge holds "Bytes through
# system memory" against it.
"$P2PBUF_REPO/build/bin-test/observe-lastdma" || rc=1
exit $rc
