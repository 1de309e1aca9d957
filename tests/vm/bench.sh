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
#   BENCH_TOPOLOGY   topology to boot (default switch), with its kernel
#   BENCH_ARGS       p2pctl bench options (default: the full benchmark)
#   P2PBUF_VRAM_MB   VRAM BAR size (default 64)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t=${BENCH_TOPOLOGY:-switch}
topology_args "$t"
prepare_flavor "$KERNEL_FLAVOR" >/dev/null
results=${BENCH_RESULTS:-$repo/bench-results}
args=${BENCH_ARGS:---reps 3 --transfers 10000 --steady-budget 60 --scale 1000,10000,100000 --sample 200 --scale-budget 900}
log=$build/vm/bench-$t.log
# the guest reads its options from here (the checkout is visible to it)
echo "$args" >"$build/vm/bench-args"
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
stamp=$(date +%Y-%m-%d)
json=$results/$stamp-$t.json
sed -n '/^@@P2PBUF-BENCH-JSON-BEGIN/,/^@@P2PBUF-BENCH-JSON-END/p' "$body" |
	sed '1d;$d' >"$json.tmp"
if [ -s "$json.tmp" ] && python3 -m json.tool "$json.tmp" >"$json"; then
	sed '/^@@P2PBUF-BENCH-JSON-BEGIN/,/^@@P2PBUF-BENCH-JSON-END/d; /^@@P2PBUF-BENCH-END/d' \
		"$body" >"$results/$stamp-$t.txt"
	echo "bench: results in $json and $results/$stamp-$t.txt"
else
	echo "bench: no valid JSON came out of the VM; serial log: $log" >&2
	rm -f "$json"
	rc=1
fi
rm -f "$json.tmp"
exit $rc
