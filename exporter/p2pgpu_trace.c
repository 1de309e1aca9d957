// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu: its tracepoints are instantiated here and only here.
 */
#define CREATE_TRACE_POINTS
#include "p2pgpu_trace.h"
