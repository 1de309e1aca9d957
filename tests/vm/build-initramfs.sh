#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh OUT.cpio.gz [KERNEL_RELEASE [MODROOT]]
# A busybox initramfs whose /init (init.sh) mounts the host root over 9p.
# With a Debian kernel release, the 9p/virtio modules that kernel builds as
# modules (and virtio_pci, a module in 6.1) are put in too (uncompressed,
# in dependency order), from
# MODROOT/lib/modules (a kernel unpacked from its .debs) or /lib/modules.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "$1")
mkdir -p "$(dirname "$out")"
krel=${2:-}
modroot=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp"/{bin,sbin,proc,sys,dev,host,modules}
cp /bin/busybox "$tmp/bin/busybox"
for app in $("$tmp/bin/busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$tmp/bin/$app"
done
install -m 0755 "$here/init.sh" "$tmp/init"

if [ -n "$krel" ]; then
	: >"$tmp/modules/order"
	# A module modprobe does not know is built in (Debian's 7.3 packages
	# ship no modules.builtin; its virtio_pci is built in): init.sh's
	# mount of the 9p root fails loudly if it is really missing.
	for mod in virtio_pci 9pnet_virtio 9p; do
		modprobe ${modroot:+-d "$modroot"} -S "$krel" --show-depends "$mod" 2>/dev/null ||
			echo "build-initramfs: $mod is no module of $krel: taken as built in" >&2
	done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' |
		while read -r path; do
			name=$(basename "$path")
			name=${name%.xz}
			case "$path" in
			*.xz) xz -dc "$path" >"$tmp/modules/$name" ;;
			*) cp "$path" "$tmp/modules/$name" ;;
			esac
			echo "$name" >>"$tmp/modules/order"
		done
fi

(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
