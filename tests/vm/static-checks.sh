#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# static-checks.sh KDIR SRCDIR OUT.log [LABEL:KDIR:SRCDIR ...]
# The kernel's own static checks on the drivers: sparse (make C=2 on a copy
# of the sources already built with W=1) and checkpatch --strict. Writes one
# "@@P2PBUF-STATIC <name> pass|fail" line per check for results.py, and the
# findings. kernel-doc -Wall checks that every documented ioctl, callback
# and uapi struct describes all of its parameters and members.
# Each LABEL:KDIR:SRCDIR is another kernel: sparse-LABEL against its
# headers (unless SRCDIR is empty: Debian's sparse 0.6.4 cannot parse 7.x
# headers' __typeof_unqual__) and, when KDIR is a full source tree, that kernel's own
# checkpatch-LABEL and kernel-doc-LABEL (newer kernels' checkpatch knows
# newer rules).
#
# A check that cannot run fails: a missing tool or a checker that exits
# non-zero without a finding proves nothing, so it is never a skip.
set -uo pipefail
kdir=$1 src=$2 out=$3
shift 3
others=("$@")
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
# checkpatch_all SCRIPT: exits 1 on any finding; one of its lines must then
# say which.
checkpatch_all() {
	local rc=0
	# shellcheck disable=SC2086 # one word per file
	(cd "$src" && perl "$1" --strict --no-tree --terse --show-types \
		-f $files) || rc=$?
	# uapi headers cannot use BIT(): it is not part of the uapi.
	(cd "$src" && perl "$1" --strict --no-tree --terse --show-types \
		--ignore BIT_MACRO -f uapi/*.h) || rc=$?
	return "$rc"
}
run_check checkpatch ': (ERROR|WARNING|CHECK):' checkpatch_all "$checkpatch"

# kerneldoc_all SCRIPT: perl before 6.15, python since; both run directly.
kerneldoc_all() {
	(cd "$src" && "$1" -none -Wall exporter/*.[ch] importer/*.[ch] uapi/*.h)
}
run_check kernel-doc '(warning|error):' kerneldoc_all "$kerneldoc"

for other in "${others[@]}"; do
	IFS=: read -r label okdir osrc <<<"$other"
	if [ -n "$osrc" ]; then
		run_check "sparse-$label" '(warning|error):' \
			make -s -C "$okdir" M="$osrc" C=2 P2PBUF_TEST_MODULES=m modules
	fi
	oksrc=$(readlink -f "$okdir/source" 2>/dev/null || echo "$okdir")
	[ -f "$oksrc/scripts/checkpatch.pl" ] || continue
	run_check "checkpatch-$label" ': (ERROR|WARNING|CHECK):' checkpatch_all \
		"$oksrc/scripts/checkpatch.pl"
	run_check "kernel-doc-$label" '(warning|error):' kerneldoc_all \
		"$oksrc/scripts/kernel-doc"
done
