#!/bin/bash
# SPDX-License-Identifier: MIT
# p2pctl against the LD_PRELOAD device mock: exit codes, JSON validity,
# decisions per mock topology, data verification (and its failure).
set -u
fail=0
check() { # expected-rc description cmd...
	local want=$1 what=$2 rc
	shift 2
	"$@" >/tmp/p2pctl-mock.out 2>/tmp/p2pctl-mock.err
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"; cat /tmp/p2pctl-mock.out /tmp/p2pctl-mock.err
		fail=1
	fi
}
json() { python3 -c 'import json,sys; d=json.load(open("/tmp/p2pctl-mock.out")); '"$1" || { echo "FAIL: json check $1"; cat /tmp/p2pctl-mock.out; fail=1; }; }
run() { env LD_PRELOAD="$MOCK" MOCK_TOPOLOGY="$T" "$CTL" "$@"; }
for T in switch rootports stock; do
	check 0 "$T devices" run devices
	check 0 "$T devices --json" run devices --json
	json 'assert d["gpus"][0]["pci"]=="0000:02:00.0" and d["nics"][0]["pci"]=="0000:03:00.0"'
	check 0 "$T topology" run topology
	check 0 "$T topology --json" run topology --json
	case $T in
	switch) json 'p=d["pairs"][0]; assert p["ok"] and p["decision"]=="p2p" and p["reason"]=="none" and p["bytes_via_system"]==0 and p["verified"]' ;;
	rootports) json 'p=d["pairs"][0]; assert p["decision"]=="staged" and p["reason"]=="no-common-switch" and p["bytes_via_system"]==4096' ;;
	stock) json 'p=d["pairs"][0]; assert p["reason"]=="kernel-no-p2pdma"' ;;
	esac
	check 0 "$T explain" run explain
	check 0 "$T share" run share --size 16384
	grep -q "data verified" /tmp/p2pctl-mock.out || { echo "FAIL: $T share text"; fail=1; }
	check 0 "$T share --json" run share --size 64K --json
	json 'assert d["verified"] and d["size"]==65536'
done
T=switch
check 4 "share with corrupted DMA" env MOCK_CORRUPT=1 LD_PRELOAD="$MOCK" "$CTL" share
check 4 "topology with corrupted DMA" env MOCK_CORRUPT=1 LD_PRELOAD="$MOCK" "$CTL" topology
check 3 "devices without devices" "$CTL" devices
check 2 "bad option" "$CTL" topology --bogus
check 0 "explain --all --json" "$CTL" explain --all --json
json 'assert len(d)==10 and all(len(r["explanation"])>40 for r in d)'
[ $fail = 0 ] && echo "p2pctl mock test: PASS" || echo "p2pctl mock test: FAIL"
exit $fail
