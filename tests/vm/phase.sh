#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# phase.sh start | phase.sh NAME CMD...
# The Makefile's side of make check's time report (lib.sh's phase): "start"
# begins a run's record; otherwise CMD runs and its wall time is recorded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
if [ "$1" = start ]; then
	echo "start $(date +%s)" >"$phases"
	exit 0
fi
phase "$@"
