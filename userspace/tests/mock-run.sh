#!/bin/bash
# SPDX-License-Identifier: MIT
# p2pctl against the LD_PRELOAD device mock: exit codes, JSON validity,
# decisions per mock topology, data verification (and its failure), and
# every rough edge of issue 13 (bad input: one message naming the option,
# exit 2). Output goes to a private mktemp -d directory.
set -u
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pctl-mock.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out err=$tmp/err
check() { # expected-rc description cmd...
	local want=$1 what=$2 rc
	shift 2
	"$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"; cat "$out" "$err"
		fail=1
	fi
}
# has out|err REGEX description: the last command's stdout/stderr matches
has() {
	grep -Eq -- "$2" "$tmp/$1" || { echo "FAIL: $3: no /$2/ in its std$1:"; cat "$tmp/$1"; fail=1; }
}
hasnt() {
	! grep -Eq -- "$2" "$tmp/$1" || { echo "FAIL: $3: /$2/ in its std$1:"; cat "$tmp/$1"; fail=1; }
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); '"$1" "${2:-$out}" || { echo "FAIL: json check $1"; cat "${2:-$out}"; fail=1; }; }
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
	grep -q "data verified" "$out" || { echo "FAIL: $T share text"; fail=1; }
	check 0 "$T share --json" run share --size 64K --json
	json 'assert d["verified"] and d["size"]==65536'
done
T=switch
check 4 "share with corrupted DMA" env MOCK_CORRUPT=1 LD_PRELOAD="$MOCK" "$CTL" share
check 4 "topology with corrupted DMA" env MOCK_CORRUPT=1 LD_PRELOAD="$MOCK" "$CTL" topology
has out 'P2P!' "topology marks the pair whose data did not verify"
check 3 "devices without devices" "$CTL" devices
check 2 "bad option" "$CTL" topology --bogus
check 0 "explain --all --json" "$CTL" explain --all --json
json 'assert len(d)==11 and all(len(r["explanation"])>40 for r in d)'

# --- sizes: one parser for share and bench ---------------------------------
check 0 "share --size 1G (G suffix, as bench takes)" run share --size 1G --json
json 'assert d["size"]==1<<30 and d["verified"]'
check 0 "share --size 0x4000" run share --size 0x4000 --json
json 'assert d["size"]==16384'
check 2 "share --size 1.5M" run share --size 1.5M
has err '^p2pctl share: --size: .1\.5M. has a fraction' "share --size 1.5M names the option"
check 2 "bench --size 1.5M" run bench --size 1.5M
has err '^p2pctl bench: --size: .1\.5M. has a fraction' "bench --size 1.5M names the option"
check 2 "share --size -4096" run share --size -4096
has err -- '--size: .-4096. is negative' "negative size"
check 2 "share --size 20000000T (overflows 64 bits)" run share --size 20000000T
has err -- '--size: .* out of range \(1 to 64G bytes\)' "overflowing size"
check 2 "share --size 4X" run share --size 4X
has err "unknown suffix 'X'" "unknown suffix"
check 2 "share --size 010 is not octal, 0 is not a size" run share --size 0
has err 'out of range' "zero size"
# --- counts -----------------------------------------------------------------
B=(bench --skip "map,steady,migrate,scale")
check 2 "bench --transfers -1" run "${B[@]}" --transfers -1
has err -- '--transfers: .-1. is negative' "negative transfers"
check 2 "bench --transfers 2^64" run "${B[@]}" --transfers 18446744073709551616
has err -- '--transfers: .* out of range' "overflowing transfers"
check 2 "bench --reps 0" run "${B[@]}" --reps 0
has err -- '--reps: .0. is out of range \(1 to 64\)' "--reps 0 says the range"
check 2 "bench --reps 100" run "${B[@]}" --reps 100
has err -- '--reps: .100. is out of range \(1 to 64\)' "--reps 100 says the range"
check 2 "bench --sample 0" run "${B[@]}" --sample 0
check 2 "bench --scale 100,10" run "${B[@]}" --scale 100,10
has err 'must rise' "falling scale levels"
check 0 "bench --reps 64" run "${B[@]}" --reps 64
check 2 "bench --map-sizes 4K,1.5M" run "${B[@]}" --map-sizes 4K,1.5M
has err -- "--map-sizes: .1\.5M. has a fraction" "bench --map-sizes names the option"
check 2 "bench --remap 65" run "${B[@]}" --remap 65
has err -- "--remap: .65. is out of range" "--remap above its maximum"
# --- device choice ----------------------------------------------------------
check 2 "topology --gpu (no value)" run topology --gpu
has err "'--gpu' requires a value" "--gpu without a value"
hasnt err "unknown option" "--gpu without a value"
check 2 "topology --gpu --json" run topology --gpu --json
has err -- "--gpu requires a value" "--gpu followed by an option"
check 3 "topology --gpu 99" run topology --gpu 99
has err 'there is no gpu99 \(found 1\)' "--gpu 99"
check 3 "bench --nic 7" run "${B[@]}" --nic 7
has err 'there is no nic7 \(found 1\)' "bench --nic 7"
check 2 "topology --gpu x" run topology --gpu x
has err "neither a device index" "--gpu x"
M3=(env LD_PRELOAD="$MOCK" MOCK_GPUS=3 MOCK_NICS=2 "$CTL")
check 0 "3 GPUs listed in PCI order" "${M3[@]}" devices --json
json 'p=[g["pci"] for g in d["gpus"]]; assert p==["0000:02:00.0","0000:12:00.0","0000:22:00.0"], p; assert [g["index"] for g in d["gpus"]]==[0,1,2]'
check 0 "topology --gpu 0000:12:00.0" "${M3[@]}" topology --gpu 0000:12:00.0 --json
json 'assert {p["gpu_pci"] for p in d["pairs"]}=={"0000:12:00.0"} and len(d["pairs"])==2'
check 0 "topology --gpu 22:00.0 --nic 0000:13:00.0" "${M3[@]}" topology --gpu 22:00.0 --nic 0000:13:00.0 --json
json 'assert [(p["gpu"],p["nic"],p["gpu_pci"],p["nic_pci"]) for p in d["pairs"]]==[(2,1,"0000:22:00.0","0000:13:00.0")]'
check 0 "topology --gpu gpu1" "${M3[@]}" topology --gpu gpu1 --json
json 'assert {p["gpu_pci"] for p in d["pairs"]}=={"0000:12:00.0"}'
check 3 "topology --gpu 0000:05:00.0" "${M3[@]}" topology --gpu 0000:05:00.0
has err 'there is no gpu at 0000:05:00.0 \(found 3\)' "absent PCI address"
check 0 "share --gpu 0000:22:00.0 --nic 1" "${M3[@]}" share --gpu 0000:22:00.0 --nic 1 --json
json 'assert d["gpu_pci"]=="0000:22:00.0" and d["nic_pci"]=="0000:13:00.0" and d["verified"]'
# --- explain ------------------------------------------------------------------
check 2 "explain --reason 99" "$CTL" explain --reason 99
has err -- "--reason: '99' is not a reason code \(0 to 9" "explain --reason 99"
check 2 "explain --reason 4294967296" "$CTL" explain --reason 4294967296
check 0 "explain --reason no-common-switch" "$CTL" explain --reason no-common-switch --json
json 'assert d[0]["code"]==3'
# --- bench --json like every other command -------------------------------------
check 0 "bench --json (stdout)" run "${B[@]}" --json
json 'assert d["schema"]=="p2pbuf-bench/1" and d["gpu"]["pci"]=="0000:02:00.0"'
check 0 "bench --json=FILE" run "${B[@]}" --json="$tmp/b.json"
json 'assert d["schema"]=="p2pbuf-bench/1"' "$tmp/b.json"
rm -f "$tmp/b.json"
check 0 "bench --json FILE (older form)" run "${B[@]}" --json "$tmp/b.json"
json 'assert d["schema"]=="p2pbuf-bench/1"' "$tmp/b.json"
# --- hints name the failed step -------------------------------------------------
check 1 "share, registration ENOSPC (pin cap)" env MOCK_FAIL=reg-dmabuf:ENOSPC LD_PRELOAD="$MOCK" "$CTL" share
has err 'could not register the dma-buf on the NIC' "share names the step"
has err 'hint: .*pin.*vram_pin_limit_mb' "registration ENOSPC hints at the pin cap"
hasnt err 'VRAM is full' "registration ENOSPC is not 'VRAM is full'"
check 1 "share, registration ENOMEM" env MOCK_FAIL=reg-dmabuf:ENOMEM LD_PRELOAD="$MOCK" "$CTL" share
has err 'hint: .*ulimit -l' "registration ENOMEM hints at the memlock limit"
check 1 "share, create ENOSPC" env MOCK_FAIL=create:ENOSPC LD_PRELOAD="$MOCK" "$CTL" share
has err 'hint: VRAM is full' "create ENOSPC is VRAM full"
check 1 "topology, transfer ETIMEDOUT" env MOCK_FAIL=transfer:ETIMEDOUT LD_PRELOAD="$MOCK" "$CTL" topology
has out 'ERR' "failed pair is ERR in the matrix"
has out 'probe failed at "DMA transfer"' "topology names the step"
has err "hint: the NIC's DMA engine did not finish" "topology hint"
check 1 "explain, reg-user ENOMEM" env MOCK_FAIL=reg-user:ENOMEM LD_PRELOAD="$MOCK" "$CTL" explain
has err 'hint: pinning user memory' "explain hint"
check 0 "devices, DRM interface 2" env MOCK_DRM_MAJOR=2 LD_PRELOAD="$MOCK" "$CTL" devices
has out 'p2pgpu interface 2\.0; this p2pctl speaks 1\.x' "devices names the interface versions"
check 1 "topology, DRM interface 2" env MOCK_DRM_MAJOR=2 LD_PRELOAD="$MOCK" "$CTL" topology
has err 'hint: the loaded p2pgpu speaks another interface version' "interface mismatch hint"
# --- compact matrix -----------------------------------------------------------
check 0 "topology 8x8" env LD_PRELOAD="$MOCK" MOCK_GPUS=8 MOCK_NICS=8 MOCK_TOPOLOGY=rootports "$CTL" topology
awk 'length > 80 { print "FAIL: topology 8x8 line of " length " columns: " $0; bad = 1 } END { exit bad }' "$out" || fail=1
has out '^gpu7 +NOSW( +NOSW){7}$' "8x8 row of short codes"
has out '^  NOSW +staged: no common switch' "legend"
hasnt out 'distance -?[0-9]' "compact form has no per-pair lines"
check 0 "topology --verbose" run topology --verbose
has out 'distance 4' "long form under --verbose"
# --- version ------------------------------------------------------------------
check 0 "--version" "$CTL" --version
has out "^p2pctl \(p2pbuf\) ${VERSION//./\\.}\$" "--version is the Makefile's VERSION"
[ $fail = 0 ] && echo "p2pctl mock test: PASS" || echo "p2pctl mock test: FAIL"
exit $fail
