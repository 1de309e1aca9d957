#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest half of `make bench`: `p2pctl bench` on the modules guest-run.sh
# loaded. Options come from build/vm/bench-args, written by bench.sh. The
# JSON goes to the console between markers for bench.sh to keep.
set -u
p2pctl=$P2PBUF_REPO/build/bin/p2pctl
args=()
if [ -f "$P2PBUF_REPO/build/vm/bench-args" ]; then
	read -r -a args <"$P2PBUF_REPO/build/vm/bench-args"
fi

# The map cost is measured on the largest VRAM buffer, registered pinned
# like udmabuf and the heaps are; the default pin cap is half of VRAM.
# udmabuf's own cap (64 MiB by default) must not hide a larger VRAM.
set_param() {
	if [ -w "$1" ]; then
		echo "$2" >"$1" && echo "bench: $1 = $(cat "$1")"
	else
		echo "bench: $1 not writable, left at its default"
	fi
}
set_param /sys/module/p2pgpu/parameters/vram_pin_limit_mb 65536
set_param /sys/module/udmabuf/parameters/size_limit_mb 65536
# the re-map latency and the map breakdown are read from kprobe events
if [ -d /sys/kernel/tracing ] && [ ! -e /sys/kernel/tracing/kprobe_events ]; then
	mount -t tracefs nodev /sys/kernel/tracing ||
		echo "bench: tracefs could not be mounted: no kernel timestamps"
fi
echo "bench: MemAvailable $(sed -n 's/^MemAvailable: *//p' /proc/meminfo), $(nproc) CPUs"

echo "\$ p2pctl bench ${args[*]}"
# BENCH_PERF=1 (bench.sh): where the time goes, by a system-wide profile of
# the run (cpu-clock sampling: TCG has no PMU), printed after it
perf=$P2PBUF_REPO/build/vm/bench-perf
if [ -f "$perf" ] && command -v perf >/dev/null; then
	perf record -q -a -g -o /tmp/perf.data -- \
		"$p2pctl" bench "${args[@]}" --json /tmp/bench.json
	rc=$?
	echo "@@P2PBUF-BENCH-PERF-BEGIN"
	perf report -i /tmp/perf.data --stdio --no-children --sort sym \
		--percent-limit 0.5 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60
	echo "@@P2PBUF-BENCH-PERF-END"
else
	"$p2pctl" bench "${args[@]}" --json /tmp/bench.json
	rc=$?
fi
if [ -s /tmp/bench.json ]; then
	echo "@@P2PBUF-BENCH-JSON-BEGIN"
	cat /tmp/bench.json
	echo "@@P2PBUF-BENCH-JSON-END"
fi
exit $rc
