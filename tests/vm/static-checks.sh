#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# static-checks.sh KDIR SRCDIR OUT.log
# The kernel's own static checks on the drivers: sparse (make C=2 on a copy
# of the sources already built with W=1) and checkpatch --strict. Writes one
# "@@P2PBUF-STATIC <name> pass|fail" line per check for results.py, and the
# findings. kernel-doc -Wall checks that every documented ioctl, callback
# and uapi struct describes all of its parameters and members.
set -uo pipefail
kdir=$1 src=$2 out=$3
ksrc=$(readlink -f "$kdir/source" 2>/dev/null || echo "$kdir")
: >"$out"

report() { echo "@@P2PBUF-STATIC $1 $2" >>"$out"; }

sparse_log=$(mktemp)
make -s -C "$kdir" M="$src" C=2 P2PBUF_TEST_MODULES=m modules >"$sparse_log" 2>&1
if grep -E '(warning|error):' "$sparse_log" >>"$out"; then
	report sparse fail
else
	report sparse pass
fi
rm -f "$sparse_log"

checkpatch=$ksrc/scripts/checkpatch.pl
if [ -x "$checkpatch" ] || [ -f "$checkpatch" ]; then
	files=$(cd "$src" && ls exporter/*.[ch] importer/*.[ch] tests/kmod/*.c 2>/dev/null |
		grep -v '\.mod\.c$')
	cp_log=$(mktemp)
	(cd "$src" && perl "$checkpatch" --strict --no-tree --terse --show-types \
		-f $files) >"$cp_log" 2>&1
	# uapi headers cannot use BIT(): it is not part of the uapi.
	(cd "$src" && perl "$checkpatch" --strict --no-tree --terse --show-types \
		--ignore BIT_MACRO -f uapi/*.h) >>"$cp_log" 2>&1
	if grep -E ': (ERROR|WARNING|CHECK):' "$cp_log" >>"$out"; then
		report checkpatch fail
	else
		report checkpatch pass
	fi
	rm -f "$cp_log"
else
	echo "@@P2PBUF-STATIC checkpatch skip no scripts/checkpatch.pl in $ksrc" >>"$out"
fi

kerneldoc=$ksrc/scripts/kernel-doc
if [ -f "$kerneldoc" ]; then
	kd_log=$(mktemp)
	(cd "$src" && perl "$kerneldoc" -none -Wall exporter/*.[ch] \
		importer/*.[ch] uapi/*.h) >"$kd_log" 2>&1
	if grep -E '(warning|error):' "$kd_log" >>"$out"; then
		report kernel-doc fail
	else
		report kernel-doc pass
	fi
	rm -f "$kd_log"
else
	echo "@@P2PBUF-STATIC kernel-doc skip no scripts/kernel-doc in $ksrc" >>"$out"
fi
