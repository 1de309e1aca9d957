#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# static-checks.sh KDIR SRCDIR OUT.log
# The kernel's own static checks on the drivers: sparse (make C=2 on a copy
# of the sources already built with W=1) and checkpatch --strict. Writes one
# "@@P2PBUF-STATIC <name> pass|fail" line per check for results.py, and the
# findings. kernel-doc -Wall checks that every documented ioctl, callback
# and uapi struct describes all of its parameters and members.
#
# A check that cannot run fails: a missing tool or a checker that exits
# non-zero without a finding proves nothing, so it is never a skip.
set -uo pipefail
kdir=$1 src=$2 out=$3
ksrc=$(readlink -f "$kdir/source" 2>/dev/null || echo "$kdir")
: >"$out"

report() { echo "@@P2PBUF-STATIC $*" >>"$out"; }

checkpatch=$ksrc/scripts/checkpatch.pl
kerneldoc=$ksrc/scripts/kernel-doc
missing=()
command -v sparse >/dev/null || missing+=(sparse)
command -v perl >/dev/null || missing+=(perl)
command -v python3 >/dev/null || missing+=("python3 (the judge, results.py)")
[ -f "$checkpatch" ] || missing+=("$checkpatch")
[ -f "$kerneldoc" ] || missing+=("$kerneldoc")
if ((${#missing[@]})); then
	report tools fail "missing: ${missing[*]}"
else
	report tools pass
fi

# run_check NAME FINDINGS-REGEX CMD...: fails on a finding, or on a non-zero
# exit that no finding explains (the checker itself broke).
run_check() {
	local name=$1 regex=$2 log rc
	shift 2
	log=$(mktemp)
	"$@" >"$log" 2>&1
	rc=$?
	if grep -E "$regex" "$log" >>"$out"; then
		report "$name" fail
	elif [ "$rc" != 0 ]; then
		tail -n 20 "$log" >>"$out"
		report "$name" fail "exit status $rc without a finding: the checker did not run"
	else
		report "$name" pass
	fi
	rm -f "$log"
}

run_check sparse '(warning|error):' \
	make -s -C "$kdir" M="$src" C=2 P2PBUF_TEST_MODULES=m modules

files=$(cd "$src" && ls exporter/*.[ch] importer/*.[ch] tests/kmod/*.c \
	compat/*.h compat/include/drm/ttm/*.h 2>/dev/null |
	grep -v '\.mod\.c$')
# checkpatch exits 1 on any finding; one of its lines must then say which.
checkpatch_all() {
	local rc=0
	# shellcheck disable=SC2086 # one word per file
	(cd "$src" && perl "$checkpatch" --strict --no-tree --terse --show-types \
		-f $files) || rc=$?
	# uapi headers cannot use BIT(): it is not part of the uapi.
	(cd "$src" && perl "$checkpatch" --strict --no-tree --terse --show-types \
		--ignore BIT_MACRO -f uapi/*.h) || rc=$?
	return "$rc"
}
run_check checkpatch ': (ERROR|WARNING|CHECK):' checkpatch_all

kerneldoc_all() {
	(cd "$src" && perl "$kerneldoc" -none -Wall exporter/*.[ch] \
		importer/*.[ch] uapi/*.h)
}
run_check kernel-doc '(warning|error):' kerneldoc_all
