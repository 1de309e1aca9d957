#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-install`: the install path, on the host, without touching it.
#  - a staged `make install DESTDIR=tmp PREFIX=/usr` puts the modules,
#    library, headers, pkg-config file, p2pctl, man page, completion and
#    udev rule under tmp and changes nothing outside it (no live depmod,
#    ldconfig or /usr/local write: mtimes checked against a marker);
#  - a program built only against the installed header and pkg-config file
#    links and runs, and reports the Makefile's VERSION;
#  - `make uninstall` with the same DESTDIR leaves no file behind;
#  - dkms.conf's BUILD_EXCLUSIVE_KERNEL takes 6.1 and later only;
#  - INSTALL_TEST_DKMS=1: `make dkms` in a private DKMS tree succeeds twice
#    (rebuilding) and after a new commit replaces the old registration;
#    `make dkms-remove` leaves none. Needs dkms and KDIR's headers.
# shellcheck disable=SC2015 # ok() always succeeds: A && ok || bad is if-then-else
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pbuf-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
bad() { echo "FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

version=$(sed -n 's/^VERSION := //p' "$repo/Makefile")
# shellcheck disable=SC2016 # $(KDIR) is make's, not the shell's
kdir=$(make -s -C "$repo" -f Makefile -f - print-kdir <<<'print-kdir: ; @echo $(KDIR)')
kver=$(cat "$kdir/include/config/kernel.release" 2>/dev/null)

# --- dkms.conf kernel range ---------------------------------------------------
re=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' "$repo/dkms.conf")
for k in 6.1.0-18-amd64 6.1.158 6.9.12 6.10.0 6.12.118+deb12-amd64 6.19.0-rc1 7.0.0 7.3.4+bpo-amd64 8.1.0 10.0.0; do
	[[ $k =~ $re ]] || bad "BUILD_EXCLUSIVE_KERNEL refuses $k"
done
for k in 6.0.12-1-amd64 5.10.0-28-amd64 5.19.0 4.19.0-26-amd64 3.16.0 16.0; do
	[[ $k =~ $re ]] && [ "$k" != 16.0 ] && bad "BUILD_EXCLUSIVE_KERNEL takes $k"
done
ok "dkms.conf takes kernels >= 6.1 only ($re)"

# --- the README's QEMU lines are the harness's -----------------------------------
for t in switch rootports; do
	# shellcheck source=tests/vm/topologies.sh disable=SC1091
	devs=$(source "$repo/tests/vm/topologies.sh" && topology_args "$t" >/dev/null 2>&1 &&
		for ((i = 0; i < ${#QEMU_DEVICES[@]}; i++)); do
			[ "${QEMU_DEVICES[i]}" = -device ] && echo "${QEMU_DEVICES[i + 1]}"
		done)
	[ -n "$devs" ] || bad "no -device lines from topology_args $t"
	while read -r dev; do
		sed 's/ *\\$//' "$repo/README.md" | grep -qxF -- "  -device $dev" ||
			bad "README.md lacks the $t layout's -device $dev"
	done <<<"$devs"
done
[ "$fail" = 0 ] && ok "README's QEMU -device lines match tests/vm/topologies.sh (switch, rootports)"

# --- CPPFLAGS (Debian's hardening flags come through it) reach every compile ----
n=$(make -s -B -n -C "$repo/userspace" BUILD="$tmp/cpp" CPPFLAGS=-DP2PBUF_CPPFLAGS_SEEN 2>/dev/null |
	grep -E '(^| )(cc|gcc)( |$).* -c ' | grep -vc P2PBUF_CPPFLAGS_SEEN)
m=$(make -s -B -n -C "$repo/userspace" BUILD="$tmp/cpp" CPPFLAGS=-DP2PBUF_CPPFLAGS_SEEN 2>/dev/null |
	grep -E '(^| )(cc|gcc)( |$).* -c ' | grep -c P2PBUF_CPPFLAGS_SEEN)
[ "$n" = 0 ] && [ "$m" -gt 0 ] && ok "CPPFLAGS reach all $m userspace compiles" ||
	bad "CPPFLAGS missing from $n of $((n + m)) userspace compiles"

# --- staged install -----------------------------------------------------------
dest=$tmp/root
mkdir -p "$dest"
touch "$tmp/marker"
sleep 1
if ! make -s -C "$repo" install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	bad "make install DESTDIR=... failed"
fi
for f in usr/lib/libp2pbuf.so.0 usr/lib/libp2pbuf.so usr/lib/libp2pbuf.a \
	usr/lib/pkgconfig/libp2pbuf.pc usr/include/p2pbuf/p2pbuf.h \
	usr/include/p2pbuf/p2pgpu_drm.h usr/include/p2pbuf/p2prdma.h usr/bin/p2pctl \
	usr/share/man/man1/p2pctl.1 usr/share/bash-completion/completions/p2pctl \
	etc/udev/rules.d/70-p2prdma.rules; do
	[ -e "$dest/$f" ] || bad "staged install has no /$f"
done
for m in p2pgpu p2prdma; do
	ls "$dest/lib/modules/$kver/extra/p2pbuf/"*"/$m.ko"* >/dev/null 2>&1 ||
		bad "staged install has no /lib/modules/$kver/extra/p2pbuf/*/$m.ko*"
done
# nothing outside DESTDIR: the places an install writes to on a live system
touched=$(find /usr/local /etc/udev/rules.d "/lib/modules/$kver" /usr/src /var/lib/dkms \
	-maxdepth 3 -newer "$tmp/marker" 2>/dev/null | grep -v '^/usr/local/src' | head)
[ -z "$touched" ] || bad "staged install touched the live system: $touched"
[ -e /etc/ld.so.cache ] && [ /etc/ld.so.cache -nt "$tmp/marker" ] && bad "staged install ran ldconfig"
[ "$fail" = 0 ] && ok "staged install: everything under DESTDIR, nothing outside"
grep -q "^Version: $version\$" "$dest/usr/lib/pkgconfig/libp2pbuf.pc" ||
	bad "libp2pbuf.pc does not say Version: $version"

# --- a program built only against what was installed --------------------------
cat >"$tmp/user.c" <<'C'
#include <stdio.h>
#include <p2pbuf.h>
int main(void)
{
	struct p2pbuf_gpu_info info = { 0 };
	char pci[P2PBUF_PCI_ADDR_LEN];

	if (p2pbuf_pci_parse("3:0.1", pci) || p2pbuf_gpu_info_ex(NULL, &info, sizeof(info)) != -22)
		return 1;
	printf("%s %s %d\n", p2pbuf_version(), pci, p2pbuf_gpu_list(NULL, 0) >= 0);
	return 0;
}
C
# the .pc as installed, its /usr moved under DESTDIR (PKG_CONFIG_SYSROOT_DIR
# or --define-variable would move libdrm's too)
mkdir -p "$tmp/pc"
sed "s|=/usr|=$dest/usr|" "$dest/usr/lib/pkgconfig/libp2pbuf.pc" >"$tmp/pc/libp2pbuf.pc"
# shellcheck disable=SC2086 # $flags: pkg-config's words
if flags=$(PKG_CONFIG_PATH=$tmp/pc pkg-config --cflags --libs libp2pbuf) &&
	cc -o "$tmp/user" "$tmp/user.c" $flags >"$tmp/cc.log" 2>&1; then
	got=$(LD_LIBRARY_PATH=$dest/usr/lib "$tmp/user")
	[ "$got" = "$version 0000:03:00.1 1" ] && ok "program built against the installed header and .pc runs: $got" ||
		bad "installed-library program printed '$got', expected '$version 0000:03:00.1 1'"
	LD_LIBRARY_PATH=$dest/usr/lib ldd "$tmp/user" | grep -q "$dest/usr/lib/libp2pbuf.so.0" ||
		bad "the program did not load the installed libp2pbuf.so.0"
else
	cat "$tmp/cc.log"
	bad "cannot build against the installed libp2pbuf (pkg-config: ${flags:-})"
fi
n=$(nm -D --defined-only "$dest/usr/lib/libp2pbuf.so.0" | grep -c ' T p2pbuf_')
# P2PBUF_0 and the nodes added after it (P2PBUF_0.3, ...: libp2pbuf.map)
v=$(objdump -T "$dest/usr/lib/libp2pbuf.so.0" | grep -cE 'P2PBUF_0(\.[0-9]+)* .*p2pbuf_')
[ "$n" -ge 33 ] && [ "$n" = "$v" ] && ok "$n exported symbols, all in version nodes P2PBUF_0*" ||
	bad "$n exported symbols, $v of them in P2PBUF_0*"

# --- uninstall ----------------------------------------------------------------
if ! make -s -C "$repo" uninstall DESTDIR="$dest" PREFIX=/usr DKMS=true >"$tmp/uninstall.log" 2>&1; then
	cat "$tmp/uninstall.log"
	bad "make uninstall DESTDIR=... failed"
fi
left=$(find "$dest" ! -type d | head)
[ -z "$left" ] && ok "uninstall removed every installed file" || bad "uninstall left: $left"

# --- DKMS, in a private tree ----------------------------------------------------
if [ "${INSTALL_TEST_DKMS:-0}" = 1 ]; then
	d=$tmp/dkms
	mkdir -p "$d/src" "$d/tree" "$d/inst/$kver"
	args=(DKMS_SRC_ROOT="$d/src" DESTDIR="$d/root" PREFIX=/usr
	      DKMS_FLAGS="--dkmstree $d/tree --sourcetree $d/src --installtree $d/inst --no-depmod --no-initrd")
	rev=$(git -C "$repo" rev-parse --short=10 HEAD)
	for run in 1 2; do
		if make -s -C "$repo" dkms "${args[@]}" >"$tmp/dkms$run.log" 2>&1 &&
			ls "$d/inst/$kver/updates/dkms/p2pgpu.ko"* >/dev/null 2>&1; then
			ok "make dkms run $run: p2pbuf/$version.g$rev built and installed"
		else
			tail -30 "$tmp/dkms$run.log"
			bad "make dkms run $run failed"
		fi
	done
	grep -q "removing DKMS p2pbuf/$version.g$rev" "$tmp/dkms2.log" ||
		bad "the second make dkms did not re-register (rebuild) p2pbuf/$version.g$rev"
	# a new commit (git pull): a new version replaces the old one
	if make -s -C "$repo" dkms "${args[@]}" GIT_REV=0123456789 >"$tmp/dkms3.log" 2>&1; then
		st=$(dkms status p2pbuf --dkmstree "$d/tree" --sourcetree "$d/src" 2>/dev/null)
		echo "$st" | grep -q "p2pbuf/$version.g0123456789.*installed" &&
			! echo "$st" | grep -q "g$rev" && [ ! -e "$d/src/p2pbuf-$version.g$rev" ] &&
			ok "a new commit replaces the registration: $st" ||
			bad "after a new commit: $st"
	else
		tail -30 "$tmp/dkms3.log"
		bad "make dkms after a new commit failed"
	fi
	make -s -C "$repo" dkms-remove "${args[@]}" >"$tmp/dkms4.log" 2>&1 || bad "make dkms-remove failed"
	st=$(dkms status p2pbuf --dkmstree "$d/tree" --sourcetree "$d/src" 2>/dev/null)
	[ -z "$st" ] && ok "make dkms-remove leaves no registration" || bad "after dkms-remove: $st"
fi
[ "$fail" = 0 ] && echo "install test: PASS" || echo "install test: FAIL"
exit $fail
