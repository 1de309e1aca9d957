#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh TOPOLOGY LOG
# Boots one test VM under TCG (KVM does not work on the build machines). The
# harness's and the tests' output (the guest's second serial port) goes to
# LOG, the kernel's console (the first) to LOG.console: with every kernel
# message on the console, sharing one port would cut IGT's result lines in
# the middle. Inputs from the environment:
#   P2PBUF_KERNEL, P2PBUF_INITRD   kernel image and initramfs
#   P2PBUF_REPO                    this checkout (seen at the same path in the guest)
#   P2PBUF_KMODS                   directory of the modules built for that kernel
#   P2PBUF_MODROOT                 modprobe -d root for in-tree modules ("" = /)
#   P2PBUF_TESTS                   glob(s) of test binaries, comma separated
#   P2PBUF_SELFTEST                "splat" to fire the detector's test trigger
#   P2PBUF_MODE                    test (default), demo or bench
#   P2PBUF_DEMO                    1/0: run what `make demo` shows after the
#                                  tests, or not (default: where the manifest
#                                  says, when the run is not narrowed)
#   P2PBUF_VRAM_MB                 VRAM BAR size (default 64)
#   P2PBUF_VM_MEM                  guest RAM (default 2G)
#   P2PBUF_VM_CPU                  QEMU -cpu model instead of the topology's
#   P2PBUF_VM_CMDLINE              more kernel parameters (experiments:
#                                  `make bench` with init_on_alloc=0, say)
#   P2PBUF_FUZZ_SECONDS            p2pbuf_fuzz's time bound (default: the manifest's)
#   P2PBUF_STRESS_SECONDS          p2pbuf_stress's threads bound (default: the manifest's)
#   P2PBUF_VM_TIMEOUT              seconds before the VM is killed (default 1500)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/topologies.sh"
topo=$1
log=$2
topology_args "$topo"

# ignore_loglevel: every kernel message reaches the serial log, so a splat
# cannot hide below the console level. iomem=relaxed: the tests read the
# BAR and the NIC's DMA registers through sysfs while the drivers own them
# (Debian's stock kernel has IO_STRICT_DEVMEM).
cmdline="console=ttyS0 ignore_loglevel log_buf_len=4M panic=-1 oops=panic"
cmdline+=" iomem=relaxed kmemleak=on $EXTRA_CMDLINE${P2PBUF_VM_CMDLINE:+ $P2PBUF_VM_CMDLINE}"
cmdline+=" p2pbuf.repo=$P2PBUF_REPO p2pbuf.topology=$topo p2pbuf.tests_as=$TESTS_AS"
cmdline+=" p2pbuf.kmods=$P2PBUF_KMODS p2pbuf.modroot=${P2PBUF_MODROOT:-}"
cmdline+=" p2pbuf.tests=${P2PBUF_TESTS:-*} p2pbuf.selftest=${P2PBUF_SELFTEST:-none}"
cmdline+=" p2pbuf.mode=${P2PBUF_MODE:-test} p2pbuf.demo=${P2PBUF_DEMO:-}"
cmdline+="${VFIO_PORT:+ p2pbuf.vfio_port=$VFIO_PORT}"
# Only what the user set: tests/vm/manifest has each topology's defaults.
cmdline+="${P2PBUF_FUZZ_SECONDS:+ p2pbuf.fuzz_seconds=$P2PBUF_FUZZ_SECONDS}"
cmdline+="${P2PBUF_STRESS_SECONDS:+ p2pbuf.stress_seconds=$P2PBUF_STRESS_SECONDS}"

exec timeout --kill-after=10 "${P2PBUF_VM_TIMEOUT:-1500}" \
	qemu-system-x86_64 -machine q35 -accel tcg -cpu "${P2PBUF_VM_CPU:-$QEMU_CPU}" -smp 2 -m "${P2PBUF_VM_MEM:-2G}" \
	-kernel "$P2PBUF_KERNEL" -initrd "$P2PBUF_INITRD" -append "$cmdline" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-object memory-backend-ram,id=vram,size="${P2PBUF_VRAM_MB:-64}"M,share=on \
	"${QEMU_DEVICES[@]}" \
	-nic none -display none -monitor none -serial file:"$log.console" \
	-serial file:"$log" -no-reboot
