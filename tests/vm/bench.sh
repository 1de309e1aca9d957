#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: boots the test VM once (GPU and NIC behind one PCIe switch)
# and runs `p2pctl bench` in it: map cost against udmabuf and the system
# dma-heap, re-maps in steady state, staging migration against memcpy, and
# per-operation cost with many live buffers. Every ratio comes from that one
# run. Prints p2pctl's tables and keeps its JSON (and the tables) as
# $BENCH_RESULTS/<date>-<topology>.{json,txt} (default bench-results/).
#
#   BENCH_TOPOLOGY   topology to boot (default stock73: Debian's unmodified
#                    7.3.4, P2PDMA, no debugging; GPU and NIC behind a switch)
#   BENCH_ARGS       p2pctl bench options (default: the full benchmark)
#   P2PBUF_VRAM_MB   VRAM BAR size (default 1024 here: the 1 GiB map row)
#   P2PBUF_VM_MEM    guest RAM (default 4G with 1 GiB of VRAM, else 2G)
#   BENCH_PERF       1: profile the run with perf in the guest (printed after it)
#   BENCH_TAG        suffix of the result files' names (an experiment's)
#   P2PBUF_VM_CPU, P2PBUF_VM_CMDLINE  see run-vm.sh; recorded in the results
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t=${BENCH_TOPOLOGY:-stock73}
topology_args "$t"
prepare_flavor "$KERNEL_FLAVOR" >/dev/null
results=${BENCH_RESULTS:-$repo/bench-results}
export P2PBUF_VRAM_MB=${P2PBUF_VRAM_MB:-1024}
# a 1 GiB udmabuf and heap buffer beside the guest's own use
if [ "$P2PBUF_VRAM_MB" -ge 1024 ]; then
	export P2PBUF_VM_MEM=${P2PBUF_VM_MEM:-4G}
fi
args=${BENCH_ARGS:---reps 10 --skip map --map-sizes 4K,64M,1G --remap 20 --size 64M --transfers 10000 --steady-budget 20 --scale 1000,10000 --warmup 2000 --sample 200 --scale-budget 300}
log=$build/vm/bench-$t.log
# the commit measured (taken now: the tree may move while the VM runs)
commit=$(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
# the guest reads its options from here (the checkout is visible to it)
echo "$args" >"$build/vm/bench-args"
rm -f "$build/vm/bench-perf"
[ -z "${BENCH_PERF:-}" ] || touch "$build/vm/bench-perf"
export P2PBUF_VM_TIMEOUT=${P2PBUF_VM_TIMEOUT:-3000}

echo "==== p2pctl bench in the $t VM (TCG; the full benchmark takes about 20 minutes) ===="
P2PBUF_TESTS=none P2PBUF_SELFTEST=none P2PBUF_MODE=bench boot_topology "$t" "$log" &
vm=$!
# progress while it runs: p2pctl's "bench:" lines from the serial console
sleep 1
tail -n +1 -F --pid=$vm "$log" 2>/dev/null |
	grep --line-buffered -a '^bench: ' | sed -u 's/\r$//' >&2 || true
wait $vm || true

body=$build/vm/bench-$t.out
tr -d '\r' <"$log" |
	sed -n '/^@@P2PBUF-BENCH-BEGIN/,/^@@P2PBUF-BENCH-END/p' |
	sed '/^@@P2PBUF-BENCH-BEGIN/d; /^\[ *[0-9.]*\]/d; /^bench: /d' >"$body"
sed '/^@@P2PBUF-BENCH-JSON-BEGIN/,/^@@P2PBUF-BENCH-JSON-END/d' "$body" |
	sed 's/^@@P2PBUF-BENCH-END rc=\(.*\)/(bench exit status \1)/'

rc=0
if ! grep -q '^@@P2PBUF-BENCH-END rc=0' "$body"; then
	echo "bench: the run failed or was incomplete; serial log: $log" >&2
	rc=1
fi
if python3 "$here/results.py" "$log" >"$log.verdict" 2>&1; then :; else
	grep -E 'SPLAT|FAIL' "$log.verdict" >&2 || true
	rc=1
fi

mkdir -p "$results"
stamp=$(date +%Y-%m-%d)${BENCH_TAG:+-$BENCH_TAG}
json=$results/$stamp-$t.json
sed -n '/^@@P2PBUF-BENCH-JSON-BEGIN/,/^@@P2PBUF-BENCH-JSON-END/p' "$body" |
	sed '1d;$d' >"$json.tmp"
# what the numbers were taken on, in both files
qemu=$(qemu-system-x86_64 --version | head -n 1)
release=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("kernel"))' \
	"$json.tmp" 2>/dev/null || echo unknown)
cpu=${P2PBUF_VM_CPU:-$QEMU_CPU}
if [ -s "$json.tmp" ] && python3 - "$json.tmp" "$t" "$qemu" "$commit" "$P2PBUF_VRAM_MB" \
	"${P2PBUF_VM_MEM:-2G}" "$args" "$cpu" "${P2PBUF_VM_CMDLINE:-}" >"$json" <<'PY'
import json, sys
path, topo, qemu, commit, vram, mem, args, cpu, extra = sys.argv[1:]
d = json.load(open(path))
d["run"] = {"kernel_release": d.get("kernel"), "qemu": qemu, "commit": commit,
            "topology": topo, "vram_mb": int(vram), "guest_ram": mem,
            "bench_args": args, "accel": "tcg", "cpu": cpu,
            "extra_cmdline": extra}
json.dump(d, sys.stdout, indent=4)
PY
then
	{
		echo "kernel $release, $qemu (TCG), commit $commit, topology $t, VRAM ${P2PBUF_VRAM_MB} MiB, guest RAM ${P2PBUF_VM_MEM:-2G}, -cpu $cpu${P2PBUF_VM_CMDLINE:+, kernel parameters added: $P2PBUF_VM_CMDLINE}"
		echo
	} >"$results/$stamp-$t.txt"
	sed '/^@@P2PBUF-BENCH-JSON-BEGIN/,/^@@P2PBUF-BENCH-JSON-END/d; /^@@P2PBUF-BENCH-END/d' \
		"$body" >>"$results/$stamp-$t.txt"
	echo "bench: results in $json and $results/$stamp-$t.txt"
else
	echo "bench: no valid JSON came out of the VM; serial log: $log" >&2
	rm -f "$json"
	rc=1
fi
rm -f "$json.tmp"
exit $rc
