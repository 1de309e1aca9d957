// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: its tracepoints are instantiated here and only here.
 */
#define CREATE_TRACE_POINTS
#include "p2prdma_trace.h"
