#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh [SERIES]
# Builds (once) the P2PDMA debug test kernel and prints its build directory.
# SERIES 6.12 (default): from Debian 12's linux-source-6.12 (installed by
# install-deps.sh); 7.3: from trixie-backports' linux-source-7.3 (fetched
# into the cache by kernels.sh). The result is cached outside the repo,
# keyed by the source package version and the fragment, so a second run
# costs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${P2PBUF_CACHE:-/var/tmp/p2pbuf-cache}
series=${1:-6.12}

# Fragment symbols a series no longer has (merge_config would drop them
# silently, and the check below refuses a dropped symbol), and what a
# series needs besides.
removed=
added=
case "$series" in
6.12)
	src_tar=/usr/src/linux-source-6.12.tar.xz
	[ -f "$src_tar" ] || { echo "build-kernel: $src_tar missing (install-deps.sh)" >&2; exit 1; }
	src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	;;
7.3)
	. "$here/kernels.sh"
	src_tar=$(kern_source_73)
	src_ver=$(basename "$(dirname "$src_tar")")
	# 7.1: dynamic dma-buf importers are always supported.
	removed=CONFIG_DMABUF_MOVE_NOTIFY
	# TTM is only built when an in-tree driver selects it, and 7.x's bochs
	# no longer does: vboxvideo (small, x86) does.
	# vfio-pci exports BARs as dma-bufs since 6.19: the interop test
	# (p2prdma_vfio) imports one.
	added='CONFIG_DRM_VBOXVIDEO=y
CONFIG_VFIO=m
CONFIG_VFIO_PCI=m
CONFIG_VFIO_PCI_DMABUF=y'
	;;
*)
	echo "build-kernel: unknown series $series (6.12 or 7.3)" >&2
	exit 2
	;;
esac
fragment=$(grep -v -x -E "(${removed:-^$})=.*" "$here/kernel.config")${added:+
$added}
# Fixes to upstream bugs that the tests run into, one file each with its
# reason (patches/SERIES/*.patch).
patches=
if [ -d "$here/patches/$series" ]; then
	patches=$(find "$here/patches/$series" -name '*.patch' | sort)
fi
# shellcheck disable=SC2086 # one word per patch
key=$( (printf '%s\n%s\n' "$src_ver" "$fragment"; [ -z "$patches" ] || cat $patches) |
	sha256sum | cut -c1-16)
out=$cache/kernel-$key
if [ -f "$out/.done" ]; then
	echo "$out/build"
	exit 0
fi

# Concurrent callers (parallel make check runs) wait for one build.
mkdir -p "$cache"
exec 9>"$cache/kernel-$key.lock"
flock 9
if [ -f "$out/.done" ]; then
	echo "$out/build"
	exit 0
fi

log=$cache/kernel-$key.log
rm -rf "$out"
mkdir -p "$out"
echo "build-kernel: building test kernel $src_ver ($key), log in $log" >&2
start=$(date +%s)
{
	tar -C "$out" -xf "$src_tar"
	srcdir=$(echo "$out"/linux-source-"$series")
	for p in $patches; do
		patch -d "$srcdir" -p1 <"$p"
	done
	printf '%s\n' "$fragment" >"$out/fragment.config"
	make -C "$srcdir" O="$out/build" tinyconfig
	"$srcdir"/scripts/kconfig/merge_config.sh -m -O "$out/build" \
		"$out/build/.config" "$out/fragment.config"
	make -C "$srcdir" O="$out/build" olddefconfig
} >"$log" 2>&1

# A symbol Kconfig silently dropped means a wrong fragment: refuse to go on.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=y|CONFIG_*=m) ;; *) continue ;; esac
	grep -qx "$line" "$out/build/.config" || { echo "build-kernel: $line not in .config" >&2; bad=1; }
done <"$out/fragment.config"
[ $bad = 0 ] || exit 1

make -C "$out/build" -j"$(nproc)" bzImage modules >>"$log" 2>&1 ||
	{ tail -n 40 "$log" >&2; exit 1; }
make -C "$out/build" INSTALL_MOD_PATH="$out/mods" modules_install >>"$log" 2>&1
echo "build-kernel: built in $(( $(date +%s) - start )) s" >&2
touch "$out/.done"
echo "$out/build"
