/* SPDX-License-Identifier: MIT */
/* `p2pctl bench`: p2pbuf against its peers, measured in the same run. */
#ifndef P2PCTL_BENCH_H
#define P2PCTL_BENCH_H

int cmd_bench(int argc, char **argv);

#endif
