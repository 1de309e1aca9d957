#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what building p2pbuf and booting its test VMs needs on Debian 12.
# Idempotent: does nothing (and needs no root) when everything is present.
set -euo pipefail

pick_stock_kernel() {
	# The archive moves: take the newest 6.12 +deb12 amd64 headers there are.
	apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
		awk '{print $1}' | sort -V | tail -n 1
}

have_stock_headers() {
	compgen -G '/usr/src/linux-headers-6.12.*+deb12-amd64/Makefile' >/dev/null &&
		compgen -G '/boot/vmlinuz-6.12.*+deb12-amd64' >/dev/null
}

PKGS=(build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
      sparse pkg-config rsync dkms debootstrap qemu-system-x86 busybox-static linux-source-6.12
      libdrm-dev intel-gpu-tools python3)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)) && have_stock_headers; then
	exit 0
fi

if ((EUID != 0)); then
	echo "install-deps: need root to apt-get install: ${missing[*]} (and stock 6.12 headers)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if ! have_stock_headers; then
	missing+=("$(pick_stock_kernel)")
fi
echo "install-deps: installing ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"
