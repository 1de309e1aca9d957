#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test VM's initramfs (busybox). Mounts the host's root over
# virtio-9p read-only, gives it writable scratch space and the kernel's
# pseudo filesystems, and runs the guest half of the harness there with the
# host's own binaries and libraries. Powers off whatever happens.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Kernels that build 9p as modules (Debian's stock kernel) get them here.
if [ -f /modules/order ]; then
	while read -r m; do
		insmod "/modules/$m" || echo "p2pbuf-init: insmod $m failed"
	done </modules/order
fi

arg() { sed -n "s/.*p2pbuf\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

mkdir -p /host
# The host root does not change under a run that reads it, so the guest may
# cache it: an IGT binary (45 libraries, ~20 MiB) then starts in ~2.5 s
# instead of ~12 s under the debug kernel.
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host; then
	echo "@@P2PBUF-FATAL cannot mount the host root over 9p"
	poweroff -f
fi
repo=$(arg repo)
# A writable /tmp for the guest hides the host's: keep the checkout (CI may
# clone it under /tmp) visible by binding it back on top.
mkdir -p /repo
mount --bind "/host$repo" /repo
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mount -t debugfs debugfs /host/sys/kernel/debug
mount -t tmpfs tmpfs /host/tmp
mkdir -p "/host$repo" 2>/dev/null
mount --bind /repo "/host$repo"
mount -t tmpfs tmpfs /host/run
mount -t tmpfs tmpfs /host/root
mkdir -p /host/dev/shm /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm

# Run a snapshot of the guest scripts: bash reads a script as it goes, and
# the host's copy may be edited while a VM runs.
cp -r "/host$repo/tests/vm" /host/run/p2pbuf-vm
# The harness and the tests write to the second serial port: the first is
# the kernel's console, whose messages would land inside their lines.
chroot /host /bin/bash /run/p2pbuf-vm/guest-run.sh >/dev/ttyS1 2>&1
echo "@@P2PBUF-POWEROFF"
poweroff -f
