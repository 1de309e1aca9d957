#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernels.sh: the Debian kernels p2pbuf is built and tested against besides
# the debug test kernel (build-kernel.sh), from Debian's own packages, cached
# outside the repo in $P2PBUF_CACHE (/var/tmp/p2pbuf-cache):
#
#   headers-6.1         Debian 12's default kernel headers (newest 6.1 of
#                       bookworm), unpacked; prints the KDIR. Host gcc-12.
#   trixie-root         a minimal Debian 13 chroot with gcc-14 and the
#                       trixie-backports 7.3.4 headers (the stock 7.3 kernel
#                       was built by gcc-14; bookworm's gcc-12 rejects its
#                       -fmin-function-alignment); prints its path.
#   build-7.3 SRC [ARGS] make -C <7.3 headers> M=SRC ARGS inside the chroot
#                       (SRC is bind-mounted in a private mount namespace).
#   image-7.3           the stock 7.3.4 kernel and its modules, unpacked;
#                       prints the root (lib/modules/<release>/vmlinuz).
#   kdir-7.3            the 7.3 headers' path inside the chroot.
#   source-7.3          trixie-backports' linux-source-7.3 tarball (for the
#                       7.3 debug kernel of build-kernel.sh 7.3); prints it.
#   image-6.1           Debian 12's stock 6.1 kernel and modules, unpacked.
#
# lib.sh sources it for the kern_* functions (the stock61 and stock73
# flavors of make check); run it with one of the words above to fetch one
# piece by hand.
# The Debian mirror is the one this machine's apt uses: it is read from the
# apt sources at run time, never written down here.

KERN_CACHE=${P2PBUF_CACHE:-/var/tmp/p2pbuf-cache}
KERN_73_ABI=7.3.4+deb13
KERN_73_HEADERS=linux-headers-$KERN_73_ABI-amd64

# kern_mirror: every archive URI in this machine's apt sources.
kern_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; break}}'
} 2>/dev/null
# kern_mirror_uri [security]: the Debian (or Debian security) archive URI.
kern_mirror_uri() {
	local uris
	uris=$(kern_mirror | grep -E '/debian/?$' | head -n 1)
	[ "${1:-}" = security ] && uris=$(kern_mirror | grep -E '/debian-security/?$' | head -n 1)
	if [ -z "$uris" ]; then
		echo "kernels.sh: no Debian mirror in this machine's apt sources" >&2
		return 1
	fi
	echo "${uris%/}"
}

# kern_apt NAME: an apt-get/apt-cache option set for a private apt state in
# $KERN_CACHE/apt-NAME (sources written by kern_apt_setup), so the host's
# own apt state is left alone.
kern_apt() {
	local d=$KERN_CACHE/apt-$1
	echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null" \
		"-o Dir::State::Lists=$d/lists -o Dir::State::Status=$d/status" \
		"-o Dir::Cache=$d/cache -o APT::Architecture=amd64 -o APT::Sandbox::User=root"
}

# kern_apt_setup NAME "SUITE..." [security SUITE]: writes the private
# sources and updates them (a few seconds). A failed update keeps what the
# cache already knows, so a warm machine builds offline.
kern_apt_setup() {
	local name=$1 suites=$2 sec=${3:-} d=$KERN_CACHE/apt-$1 m s
	m=$(kern_mirror_uri)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	[ -f "$d/status" ] || : >"$d/status"
	for s in $suites; do
		echo "deb $m $s main"
	done >"$d/sources.list"
	if [ -n "$sec" ]; then
		echo "deb $(kern_mirror_uri security) $sec main" >>"$d/sources.list"
	fi
	# Lists younger than a day are kept: a warm run needs no network, and
	# two callers at once (make check's background kernel build) do not
	# fight over the lists' lock.
	if [ -n "$(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null)" ] &&
		cmp -s "$d/sources.list" "$d/sources.list.done"; then
		return 0
	fi
	# shellcheck disable=SC2046
	if apt-get $(kern_apt "$name") -q update >"$d/update.log" 2>&1; then
		cp "$d/sources.list" "$d/sources.list.done"
	else
		echo "kernels.sh: apt update for $name failed, using the cached lists" >&2
	fi
}

# kern_download NAME DIR PKG...: the packages' .debs into DIR (kept).
kern_download() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	# shellcheck disable=SC2046
	(cd "$dir" && apt-get $(kern_apt "$name") -q download "$@" >/dev/null)
}

# kern_headers_61: Debian 12's newest 6.1 -amd64 headers, unpacked under
# $KERN_CACHE/debian-<abi>/ (the -amd64 Makefile includes the -common one
# by absolute path: pointed at the unpacked copy). Prints the KDIR.
kern_headers_61() {
	local abi root kdir
	kern_apt_setup bookworm "bookworm bookworm-updates" bookworm-security
	# shellcheck disable=SC2046
	abi=$(apt-cache $(kern_apt bookworm) depends linux-headers-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-headers-\(6\.1\..*\)-amd64$/\1/p' | head -n 1)
	if [ -z "$abi" ]; then
		abi=$(find "$KERN_CACHE" -maxdepth 1 -name 'debian-6.1.*' -printf '%f\n' |
			sed 's/^debian-//' | sort -V | tail -n 1)
	fi
	[ -n "$abi" ] || { echo "kernels.sh: no 6.1 headers known" >&2; return 1; }
	root=$KERN_CACHE/debian-$abi
	kdir=$root/usr/src/linux-headers-$abi-amd64
	if [ ! -f "$root/.complete" ]; then
		rm -rf "$root"
		kern_download bookworm "$root.debs" "linux-headers-$abi-amd64" \
			"linux-headers-$abi-common" "linux-kbuild-6.1"
		local deb
		for deb in "$root.debs"/*.deb; do
			dpkg-deb -x "$deb" "$root"
		done
		sed -i "s|^include /usr/src/|include $root/usr/src/|" "$kdir/Makefile"
		ls "$root.debs" >"$root/.complete"
		rm -rf "$root.debs"
	fi
	echo "$kdir"
}

# kern_trixie_version PKG PREFIX: the newest version of PKG in trixie(-
# backports); offline, the newest one the cache holds as PREFIX<version>.
kern_trixie_version() {
	local ver
	kern_apt_setup trixie "trixie trixie-backports"
	# shellcheck disable=SC2046
	ver=$(apt-cache $(kern_apt trixie) show "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -V | tail -n 1)
	if [ -z "$ver" ]; then
		ver=$(find "$KERN_CACHE" -maxdepth 1 -type d -name "$2*" -printf '%f\n' |
			sed "s/^$2//; s/_/~/" | sort -V | tail -n 1)
	fi
	[ -n "$ver" ] || { echo "kernels.sh: $1 unknown" >&2; return 1; }
	echo "$ver"
}

# kern_trixie_root: the Debian 13 build chroot with gcc-14 and the 7.3
# headers, built once per headers version (debootstrap minbase, ~2-5 min
# on a fresh machine). Prints its path.
kern_trixie_root() {
	local ver root m
	ver=$(kern_trixie_version "$KERN_73_HEADERS" trixie-root-) || return 1
	root=$KERN_CACHE/trixie-root-${ver//\~/_}
	if [ ! -f "$root/.complete" ]; then
		command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
		m=$(kern_mirror_uri)
		rm -rf "$root"
		debootstrap --variant=minbase \
			--include=gcc-14,make,libelf-dev,bc,bison,flex,kmod,sparse,xz-utils,perl \
			trixie "$root" "$m" >"$root.log" 2>&1 ||
			{ tail -n 20 "$root.log" >&2; return 1; }
		printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$m" "$m" \
			>"$root/etc/apt/sources.list"
		if ! chroot "$root" sh -c "apt-get -q update &&
			apt-get install -y -q --no-install-recommends $KERN_73_HEADERS=$ver &&
			apt-get clean" >>"$root.log" 2>&1; then
			tail -n 20 "$root.log" >&2
			return 1
		fi
		kern_checker_valid "$root/usr/lib/linux-kbuild-${KERN_73_ABI}/scripts"
		chroot "$root" dpkg-query -W >"$root/.complete"
	fi
	# DKMS, to build the shipped modules as an installed 7.3 machine does
	# (added to chroots made before it was needed).
	if [ ! -x "$root/usr/sbin/dkms" ] &&
		! chroot "$root" sh -c "apt-get -q update &&
			apt-get install -y -q --no-install-recommends dkms && apt-get clean" \
			>>"$root.log" 2>&1; then
		tail -n 20 "$root.log" >&2
		return 1
	fi
	echo "$root"
}

# kern_checker_valid SCRIPTS: Debian's linux-kbuild packages lack
# scripts/checker-valid.sh, which C=1/C=2 runs to see whether sparse works;
# without it kbuild skips sparse with a warning. A stand-in that, like the
# kernel's own, wants a checker that parses __typeof_unqual__ (7.x headers
# use it; trixie's sparse 0.6.4 does not parse it, so kbuild says "not up
# to date" and skips sparse there, as it would with the real script).
kern_checker_valid() {
	[ -e "$1/checker-valid.sh" ] && return
	cat >"$1/checker-valid.sh" <<'SH'
#!/bin/sh
# p2pbuf stand-in (tests/vm/kernels.sh) for the kernel's checker-valid.sh:
# a checker that reports nothing on this is valid.
printf 'int a;\n__typeof_unqual__(a) b;\n' >/tmp/checker-valid.$$.c
[ -z "$("$@" /tmp/checker-valid.$$.c 2>&1)" ] && echo 1
rm -f /tmp/checker-valid.$$.c
SH
	chmod +x "$1/checker-valid.sh"
}

kern_kdir_73() {
	echo "/usr/src/$KERN_73_HEADERS"
}

# kern_chroot73 DIR CMD...: CMD in the trixie chroot, DIR bind-mounted at
# /p2pbuf in a mount namespace of its own (the mounts go away with it).
kern_chroot73() {
	local dir root
	dir=$(realpath "$1")
	shift
	root=$(kern_trixie_root) || return 1
	mkdir -p "$root/p2pbuf"
	unshare -m sh -c 'mount --bind "$1" "$2/p2pbuf" && mount -t proc proc "$2/proc" &&
		shift 2 && exec chroot "$0" "$@"' \
		"$root" "$dir" "$root" "$@"
}

# kern_build_73 SRC [MAKE ARGS]: make -C <7.3 headers> M=/p2pbuf ARGS in the
# chroot; the objects land in SRC.
kern_build_73() {
	local src=$1
	shift
	kern_chroot73 "$src" make -C "$(kern_kdir_73)" M=/p2pbuf "$@"
}

# kern_image_73: the stock trixie-backports 7.3.4 kernel image and modules,
# unpacked under $KERN_CACHE/image-<version>/. Prints that root; the kernel
# is ROOT/lib/modules/7.3.4+deb13-amd64/vmlinuz.
kern_image_73() {
	local ver root deb
	ver=$(kern_trixie_version "linux-image-$KERN_73_ABI-amd64" "image-$KERN_73_ABI-") || return 1
	root=$KERN_CACHE/image-$KERN_73_ABI-${ver//\~/_}
	if [ ! -f "$root/.complete" ]; then
		rm -rf "$root"
		kern_download trixie "$root.debs" "linux-binary-$KERN_73_ABI-amd64" \
			"linux-modules-$KERN_73_ABI-amd64"
		for deb in "$root.debs"/*.deb; do
			dpkg-deb -x "$deb" "$root"
		done
		# trixie's merged /usr: modprobe -d and depmod -b want ROOT/lib.
		[ -e "$root/lib" ] || ln -s usr/lib "$root/lib"
		depmod -b "$root" "$KERN_73_ABI-amd64"
		ls "$root.debs" >"$root/.complete"
		rm -rf "$root.debs"
	fi
	echo "$root"
}

# kern_source_73: the linux-source-7.3 tarball of trixie-backports, under
# $KERN_CACHE/linux-source-<version>/ (167 MB download, once). Prints its
# path.
kern_source_73() {
	local ver root
	ver=$(kern_trixie_version linux-source-7.3 linux-source-) || return 1
	root=$KERN_CACHE/linux-source-${ver//\~/_}
	if [ ! -f "$root/.complete" ]; then
		rm -rf "$root"
		kern_download trixie "$root.debs" "linux-source-7.3=$ver" || return 1
		dpkg-deb --fsys-tarfile "$root.debs"/linux-source-7.3_*.deb |
			tar -x -C "$KERN_CACHE" --transform "s|^\./usr/src|linux-source-${ver//\~/_}|" \
				./usr/src/linux-source-7.3.tar.xz || return 1
		rm -rf "$root.debs"
		touch "$root/.complete"
	fi
	echo "$root/linux-source-7.3.tar.xz"
}

# kern_image_61: Debian 12's newest stock 6.1 kernel and its modules,
# unpacked under $KERN_CACHE/image-<abi>/ (after kern_headers_61, which
# sets up the bookworm apt state). Prints that root; the kernel is
# ROOT/boot/vmlinuz-<abi>-amd64.
kern_image_61() {
	local abi root deb
	abi=$(basename "$(kern_headers_61)")
	abi=${abi#linux-headers-}
	abi=${abi%-amd64}
	root=$KERN_CACHE/image-$abi
	if [ ! -f "$root/.complete" ]; then
		rm -rf "$root"
		kern_download bookworm "$root.debs" "linux-image-$abi-amd64"
		for deb in "$root.debs"/*.deb; do
			dpkg-deb -x "$deb" "$root"
		done
		depmod -b "$root" "$abi-amd64"
		ls "$root.debs" >"$root/.complete"
		rm -rf "$root.debs"
	fi
	echo "$root"
}

# kern_image FLAVOR: sets KERN_ROOT, KERN_RELEASE and KERN_IMAGE.
kern_image() {
	case "$1" in
	stock73)
		KERN_ROOT=$(kern_image_73) || return 1
		KERN_RELEASE=$KERN_73_ABI-amd64
		KERN_IMAGE=$KERN_ROOT/lib/modules/$KERN_RELEASE/vmlinuz
		;;
	stock61)
		KERN_ROOT=$(kern_image_61) || return 1
		KERN_RELEASE=$(ls "$KERN_ROOT/lib/modules")
		KERN_IMAGE=$KERN_ROOT/boot/vmlinuz-$KERN_RELEASE
		;;
	*)
		echo "kernels.sh: unknown flavor $1" >&2
		return 1
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	headers-6.1) kern_headers_61 ;;
	trixie-root) kern_trixie_root ;;
	kdir-7.3) kern_kdir_73 ;;
	build-7.3) shift; kern_build_73 "$@" ;;
	image-7.3) kern_image_73 ;;
	source-7.3) kern_source_73 ;;
	image-6.1) kern_image_61 ;;
	*)
		sed -n '3,/^$/s/^# \?//p' "$0" >&2
		exit 2
		;;
	esac
fi
